//! What `edgegap-gateway`'s integration tests and its load bench share (a dev-only crate,
//! not published): an emulator upstream with the test app versions, the players' calls over
//! HTTP through [`send`] (which checks every answer for the organisation token), waiting with
//! a deadline ([`wait_until`], [`wait_ready`]), a `redis-server` of our own ([`Redis`]) and
//! `edgegap-gateway` processes ([`GatewayProcess`]).
//!
//! A crate rather than `#[path]` includes: the bench (`benches/load.rs`) and every test file
//! depend on it like on any library, and nothing test-only enters the gateway's own API.
//! What only the tests need (in-process gateways with captured logs) is in
//! `gateway/tests/support/mod.rs`, which re-exports this crate.
#![warn(missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use edgegap_emulator::{AppVersion, Emulator, EmulatorBuilder, EmulatorHandle, Route};
use edgegap_gateway::GatewayHandle;
use serde_json::{Value, json};

/// The organisation token: only the emulator and the gateway know it.
pub const ORG_TOKEN: &str = "org-token-7f3a9c1e5b2d4f60";
/// The player-token secret shared with the "auth backend" (these tests).
pub const SECRET: &[u8] = b"player-token-secret-for-the-gateway-tests";
/// The application every test gateway allows.
pub const APP: &str = "game";
/// The version of [`APP`] every test gateway allows (`v2` and `other`/`v1` exist upstream but
/// are not allowed).
pub const VERSION: &str = "v1";
/// A version of [`APP`] whose deployments stay `Status.DEPLOYING` until the test opens their
/// gate ([`open_gate`]); READY follows. Tests that need a status that has not moved on yet use
/// it, instead of assuming they are faster than the emulator's lifecycle. Test gateways that
/// deploy it allow it explicitly.
pub const GATED: &str = "gated";

/// An emulator with the test app versions (`game`/`v1`; `game`/`v2` and `other`/`v1`, which
/// test gateways do not allow; and [`GATED`]), each step of the lifecycle at once, Edgegap's
/// rate limits on.
pub fn emulator() -> EmulatorHandle {
    emulator_with(|b| b)
}

/// [`emulator`], changed by `tweak` before it starts (a lifecycle step, another version, …).
pub fn emulator_with(tweak: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> EmulatorHandle {
    tweak(
        Emulator::builder()
            .token(ORG_TOKEN)
            .app_version(AppVersion::simulated(APP, VERSION).port("gameport", 7777, "UDP"))
            .app_version(AppVersion::simulated(APP, "v2").port("gameport", 7777, "UDP"))
            .app_version(AppVersion::simulated("other", VERSION).port("gameport", 7777, "UDP"))
            // The gate port is the test's to open.
            .app_version(AppVersion::gated(APP, GATED, "gate", 7000).port("gameport", 7777, "UDP"))
            .lifecycle_step(Duration::ZERO),
    )
    .start()
    .expect("emulator starts")
}

/// A valid player token.
pub fn token(player: &str) -> String {
    edgegap_gateway::dev_token(SECRET, player, Duration::from_secs(600)).unwrap()
}

pub use edgegap_test_services::http::Answer;

/// Sends a request with these headers. Every answer is checked: the organisation token is in
/// no header and no body, and errors are `{"message"}`.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    try_send(method, url, headers, body).unwrap_or_else(|e| panic!("transport error: {e}"))
}

/// [`send`], with a transport error (no answer) as `Err`.
pub fn try_send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer, String> {
    let answer =
        edgegap_test_services::http::send(method, url, headers, body, Duration::from_secs(20))?;
    let Answer {
        status,
        headers,
        text,
        json,
    } = &answer;
    for (name, value) in headers {
        assert!(
            !value.contains(ORG_TOKEN) && !name.contains(ORG_TOKEN),
            "the organisation token leaked in header `{name}`"
        );
    }
    assert!(
        !text.contains(ORG_TOKEN),
        "the organisation token leaked: {text}"
    );
    if *status >= 400 {
        assert!(
            json["message"].is_string(),
            "error {status} without a {{\"message\"}}: {text}"
        );
    }
    Ok(answer)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Something serving the gateway's API: an in-process gateway, or a URL (a child process).
pub trait Gw {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    fn base_url(&self) -> String;
}

impl Gw for GatewayHandle {
    fn base_url(&self) -> String {
        GatewayHandle::base_url(self)
    }
}

/// A gateway reached by URL (`http://127.0.0.1:PORT`).
pub struct Url(pub String);

impl Gw for Url {
    fn base_url(&self) -> String {
        self.0.clone()
    }
}

impl<T: Gw + ?Sized> Gw for &T {
    fn base_url(&self) -> String {
        (**self).base_url()
    }
}

/// `GET /v1/status/{id}?<query>`.
pub fn status_query(gw: &impl Gw, token: &str, id: &str, query: &str) -> Answer {
    let auth = format!("Bearer {token}");
    send(
        "GET",
        &format!("{}/v1/status/{id}?{query}", gw.base_url()),
        &[("Authorization", &auth)],
        None,
    )
}

/// The `current_status` of a 200 answer.
pub fn current(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json["current_status"]
        .as_str()
        .unwrap_or_else(|| panic!("no current_status in {}", answer.text))
        .to_owned()
}

/// How long one Redis call may take in the gateways tests start (`redis_timeout_ms`). The
/// production default (1 s) fails a call when the machine stalls that long, which a loaded CI
/// machine does now and then; tests are about behaviour, not Redis's speed, so they wait it
/// out. (`tests/redis_replicas.rs` shows both sides of the timeout with a paused Redis.)
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(15);

/// The environment variable `name` parsed as a `T` (a bench's setting), else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A loopback address no one listens on right now, never one this process handed out
/// before ([`edgegap_test_services::free_port`]).
pub fn free_address() -> std::net::SocketAddr {
    (
        std::net::Ipv4Addr::LOCALHOST,
        edgegap_test_services::free_port(),
    )
        .into()
}

/// `POST /v2/deployments` for `game`/`v1` with this token and optional key.
pub fn deploy(gw: &impl Gw, token: &str, key: Option<&str>) -> Answer {
    deploy_body(
        gw,
        token,
        key,
        &json!({ "application": APP, "version": VERSION }),
    )
}

/// `POST /v2/deployments` of [`GATED`]: the deployment stops at `Status.DEPLOYING` until
/// [`open_gate`].
pub fn deploy_gated(gw: &impl Gw, token: &str) -> Answer {
    deploy_body(
        gw,
        token,
        None,
        &json!({ "application": APP, "version": GATED }),
    )
}

/// Opens the gate of `id` (a deployment of [`GATED`]): the emulator turns it READY once it
/// connects to the returned listener, so keep that alive until READY.
pub fn open_gate(emu: &EmulatorHandle, id: &str) -> std::net::TcpListener {
    emu.open_port(id, "gate")
        .unwrap_or_else(|e| panic!("`{id}` is no deployment of `{GATED}` with its gate free: {e}"))
}

/// `POST /v2/deployments` with this body, token and optional key.
pub fn deploy_body(gw: &impl Gw, token: &str, key: Option<&str>, body: &Value) -> Answer {
    let auth = bearer(token);
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(key) = key {
        headers.push(("Idempotency-Key", key));
    }
    send(
        "POST",
        &format!("{}/v2/deployments", gw.base_url()),
        &headers,
        Some(&body.to_string()),
    )
}

/// `GET /v1/status/{id}`.
pub fn status(gw: &impl Gw, token: &str, id: &str) -> Answer {
    as_player(gw, "GET", &format!("/v1/status/{id}"), token)
}

/// `DELETE /v1/stop/{id}`.
pub fn stop(gw: &impl Gw, token: &str, id: &str) -> Answer {
    as_player(gw, "DELETE", &format!("/v1/stop/{id}"), token)
}

/// A body-less request to `path` with this player token.
fn as_player(gw: &impl Gw, method: &str, path: &str, token: &str) -> Answer {
    let auth = bearer(token);
    send(
        method,
        &format!("{}{path}", gw.base_url()),
        &[("Authorization", &auth)],
        None,
    )
}

/// Polls the gateway until `id` is READY (503s from the budget and 429s from the player's own
/// read budget are waited out).
pub fn wait_ready(gw: &impl Gw, token: &str, id: &str) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = status(gw, token, id);
        match answer.status {
            200 if answer.json["current_status"] == "Status.READY" => return answer,
            200 | 429 | 503 => {}
            other => panic!("status of {id}: {other} {}", answer.text),
        }
        assert!(Instant::now() < deadline, "{id} never became READY");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Requests the emulator received on the three routes the gateway uses.
pub fn upstream_calls(emu: &EmulatorHandle) -> usize {
    [Route::DeployV2, Route::Status, Route::Stop]
        .into_iter()
        .map(|r| emu.request_count(r))
        .sum()
}

/// Upstream reads of statuses: status reads and pages of the list (the gateway reads statuses
/// in bulk through the list, and one status read each only for what the list cannot say).
pub fn upstream_reads(emu: &EmulatorHandle) -> usize {
    emu.request_count(Route::Status) + emu.request_count(Route::ListDeployments)
}

/// `GET /metrics` of a gateway (Prometheus text format); panics (failing the caller) on
/// anything but 200.
pub fn scrape(gw: &impl Gw) -> String {
    let answer = send("GET", &format!("{}/metrics", gw.base_url()), &[], None);
    assert_eq!(answer.status, 200, "GET /metrics: {}", answer.text);
    answer.text
}

/// The sum of the samples of metric `name` in a scrape whose labels include every
/// `label="value"` of `with` (0 when there are none).
pub fn metric_sum(scrape: &str, name: &str, with: &[(&str, &str)]) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, labels) = match series.split_once('{') {
                Some((metric, labels)) => (metric, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let wanted = metric == name
                && with.iter().all(|(label, value)| {
                    labels
                        .split(',')
                        .any(|pair| pair == format!("{label}=\"{value}\""))
                });
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// The upstream calls to `endpoint` (`deploy`, `status`, `list`, `stop`) a gateway's scrape
/// counts.
pub fn upstream_counted(scrape: &str, endpoint: &str) -> usize {
    metric_sum(
        scrape,
        "edgegap_gateway_upstream_calls_total",
        &[("endpoint", endpoint)],
    ) as usize
}

/// The emulator route of each upstream endpoint class the gateway's metrics name.
pub const UPSTREAM_ROUTES: [(&str, Route); 4] = [
    ("deploy", Route::DeployV2),
    ("status", Route::Status),
    ("list", Route::ListDeployments),
    ("stop", Route::Stop),
];

/// Waits until `check` holds, for at most 10 s.
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A `redis-server` of our own on a free loopback port, killed on drop: the workspace's one
/// way to start it (`edgegap-test-services`, whose programs `cargo xtask test` installs).
pub use edgegap_test_services::{Redis, Spawned, free_port, require};

/// An `edgegap-gateway` binary of our own in front of `emu`, sharing `redis_url`; killed with
/// SIGKILL on drop (or by [`GatewayProcess::kill`]).
pub struct GatewayProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the process printed it.
    pub url: String,
}

impl GatewayProcess {
    /// Starts the `edgegap-gateway` binary at `binary` (a test's or bench's
    /// `env!("CARGO_BIN_EXE_edgegap-gateway")`) with `extra_toml` appended to a minimal config
    /// (`game`/`v1` allowed), secrets from the environment, then `env` (which wins over the
    /// defaults, e.g. `GATEWAY_BIND`), and waits for its `GATEWAY_URL`.
    pub fn start(
        binary: &str,
        emu: &EmulatorHandle,
        redis_url: &str,
        extra_toml: &str,
        env: &[(&str, String)],
    ) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "edgegap-gateway-test-{}-{n}.toml",
            std::process::id()
        ));
        std::fs::write(
            &path,
            format!(
                "rebuild_on_start = false\nredis_timeout_ms = {}\n{extra_toml}\n\n[[policy.allow]]\napplication = \"{APP}\"\nversion = \"{VERSION}\"\n",
                REDIS_TIMEOUT.as_millis()
            ),
        )
        .unwrap();
        let mut child = Command::new(binary)
            .arg("--config")
            .arg(&path)
            .env("EDGEGAP_BASE_URL", emu.base_url())
            .env("EDGEGAP_TOKEN", emu.token())
            .env("GATEWAY_HS256_SECRET", std::str::from_utf8(SECRET).unwrap())
            .env("GATEWAY_REDIS_URL", redis_url)
            .env("GATEWAY_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "edgegap_gateway=error")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the edgegap-gateway binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the gateway printed GATEWAY_URL")
                .unwrap();
            if let Some(url) = line.strip_prefix("GATEWAY_URL=") {
                break url.to_owned();
            }
        };
        // Keep reading, so the gateway never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let _ = std::fs::remove_file(&path);
        Self { child, url }
    }

    /// The process id (to read its RSS).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reaped.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gw for GatewayProcess {
    fn base_url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
