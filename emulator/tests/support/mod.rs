//! Helpers shared by the emulator's integration tests: a tiny HTTP client over ureq, the
//! emulators most tests start, and waits with a deadline.
#![allow(dead_code, reason = "each test file uses a different subset")]

pub mod oci;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edgegap_emulator::{
    AppVersion, Emulator, EmulatorBuilder, EmulatorHandle, PrivateHost, player_count_rule,
};
use serde_json::{Value, json};

pub use edgegap_test_services::http::Answer;

/// Sends `method url` with `Authorization: <auth>` (if any) and a raw body (if any).
pub fn send(method: &str, url: &str, auth: Option<&str>, body: Option<&str>) -> Answer {
    let auth: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    send_with(method, url, &auth, body)
}

/// Sends `method url` with `headers` and a raw body (if any).
pub fn send_with(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    edgegap_test_services::http::send(method, url, headers, body, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("transport error: {e}"))
}

/// An API call with `Authorization: token <emu.token()>`.
pub fn api(emu: &EmulatorHandle, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let auth = format!("token {}", emu.token());
    let body = body.map(Value::to_string);
    send(
        method,
        &format!("{}{path}", emu.base_url()),
        Some(&auth),
        body.as_deref(),
    )
}

/// The status of an API call without a body.
pub fn status_of(emu: &EmulatorHandle, method: &str, path: &str) -> u16 {
    api(emu, method, path, None).status
}

/// `GET /v1/deployment/{id}/container-logs` (asserting 200): the logs object.
pub fn container_logs(emu: &EmulatorHandle, id: &str) -> Value {
    let logs = api(
        emu,
        "GET",
        &format!("/v1/deployment/{id}/container-logs"),
        None,
    );
    assert_eq!(logs.status, 200, "container logs answered {logs:?}");
    logs.json
}

/// A v2 deploy body for `app`/`version`.
pub fn deploy_body(app: &str, version: &str) -> Value {
    serde_json::json!({
        "application": app,
        "version": version,
        "users": [{"user_type": "ip_address", "user_data": {"ip_address": "75.28.35.192"}}],
    })
}

/// Deploys and returns the request id (asserting 202).
pub fn deploy(emu: &EmulatorHandle, body: &Value) -> String {
    let answer = api(emu, "POST", "/v2/deployments", Some(body));
    assert_eq!(answer.status, 202, "deploy answered {answer:?}");
    answer.json["request_id"]
        .as_str()
        .expect("request_id")
        .to_owned()
}

/// Loops until `check` is true; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `Status.X` of `id`, with a clear failure.
pub fn wait_status(emu: &EmulatorHandle, id: &str, status: &str) {
    assert!(
        emu.wait_for_status(id, status, Duration::from_secs(10)),
        "deployment {id} never reached {status}: {:?}",
        emu.deployment(id)
    );
}

/// A fresh temporary folder for this test process (`tag` tells tests apart).
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgegap-emulator-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Starts the `edgegap-emulator` binary on `config` (TOML text); returns the child and the
/// base URL and token it printed.
pub fn spawn_binary(tag: &str, config: &str) -> (Child, String, String) {
    let (child, printed) = spawn_binary_printing(tag, config, 3);
    let value = |key: &str| {
        printed
            .iter()
            .find_map(|(k, v)| (k == key).then(|| v.clone()))
            .unwrap_or_else(|| panic!("{key} printed"))
    };
    (child, value("EDGEGAP_BASE_URL"), value("EDGEGAP_TOKEN"))
}

/// Starts the `edgegap-emulator` binary on `config` (TOML text, written as `emulator.toml` in
/// this test's folder) and reads its first `lines` lines of output; returns the child and the
/// `KEY=VALUE` pairs printed.
pub fn spawn_binary_printing(
    tag: &str,
    config: &str,
    lines: usize,
) -> (Child, Vec<(String, String)>) {
    let path = temp_dir(tag).join("emulator.toml");
    std::fs::write(&path, config).expect("config written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgegap-emulator"))
        .args(["--config", path.to_str().expect("utf-8 path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let output = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let printed = output
        .take(lines)
        .map(|line| line.expect("a line"))
        .filter_map(|line| {
            line.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    (child, printed)
}

/// A builder with token `t`, one simulated version `game`/`v1` and no rate limits: what a test
/// of one setting (a lifecycle step, a body limit) starts from.
pub fn game_v1_builder() -> EmulatorBuilder {
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .without_rate_limits()
}

/// [`game_v1_builder`] with lifecycle steps of `step`, started.
pub fn stepped_emulator(step: Duration) -> EmulatorHandle {
    game_v1_builder()
        .lifecycle_step(step)
        .start()
        .expect("starts")
}

/// [`game_v1_builder`] with zero-time lifecycle steps, started.
pub fn quick_emulator() -> EmulatorHandle {
    stepped_emulator(Duration::ZERO)
}

/// Deploys `game`/`v1` and waits until it is READY.
pub fn deploy_ready(emu: &EmulatorHandle) -> String {
    let id = deploy(emu, &deploy_body("game", "v1"));
    wait_status(emu, &id, "Status.READY");
    id
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: impl Into<i64>) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.into()))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// The emulator most endpoint tests use: token `t`; simulated versions `game`/`v1` (port
/// `gameport` 7777/UDP), `game`/`v2`, `other`/`v1` and, declared last, `game`/`stuck` (never
/// READY); private fleet `fleet-a` with `alpha-1` (ACTIVE, Toronto) and `alpha-2` (PENDING); no
/// rate limits; zero-time lifecycle steps.
pub fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(AppVersion::simulated("game", "v2"))
        .app_version(AppVersion::simulated("other", "v1"))
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .private_host(
            "fleet-a",
            PrivateHost::new("alpha-1").place("Toronto", "Canada", "North America", 43.6, -79.3),
        )
        .private_host("fleet-a", PrivateHost::new("alpha-2").status("PENDING"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts")
}

/// An emulator with token `test-token` and one app, `game`: `v1` (port `gameport` 7777/UDP),
/// `broken` (fails with "Pull image timeout exceeded") and `stuck` (never READY); no rate
/// limits; zero-time lifecycle steps.
pub fn game_emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("test-token")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(
            AppVersion::simulated("game", "broken").fail_with("Pull image timeout exceeded"),
        )
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("emulator starts")
}

/// An emulator with token `t` serving `versions`; no rate limits; zero-time lifecycle steps.
pub fn command_emulator(versions: Vec<AppVersion>) -> EmulatorHandle {
    versions
        .into_iter()
        .fold(
            Emulator::builder()
                .token("t")
                .without_rate_limits()
                .lifecycle_step(Duration::ZERO),
            |b, v| b.app_version(v),
        )
        .start()
        .expect("starts")
}

/// A command version `game`/`version` running `/bin/sh -c body`, with a 2 s grace period.
pub fn script(version: &str, body: &str) -> AppVersion {
    AppVersion::command("game", version, "/bin/sh", ["-c", body])
        .grace_period(Duration::from_secs(2))
}

/// A [`command_emulator`] serving [`script`] `version` alone, and one deployment of it (not
/// waited on).
pub fn script_deployment(version: &str, body: &str) -> (EmulatorHandle, String) {
    deployment_of(script(version, body), version)
}

/// A [`command_emulator`] serving `app_version` (version `version` of `game`) alone, and one
/// deployment of it (not waited on).
pub fn deployment_of(app_version: AppVersion, version: &str) -> (EmulatorHandle, String) {
    let emu = command_emulator(vec![app_version]);
    let id = deploy(&emu, &deploy_body("game", version));
    (emu, id)
}

/// [`deployment_of`] a [`script`] `version` that sleeps without opening its TCP port `game`,
/// which must accept before READY: the deployment stays DEPLOYING (waited for).
pub fn port_waiting_deployment(version: &str) -> (EmulatorHandle, String) {
    let waiting = script(version, "exec sleep 30")
        .port("game", 7777, "TCP")
        .wait_for_port(true);
    let (emu, id) = deployment_of(waiting, version);
    wait_status(&emu, &id, "Status.DEPLOYING");
    (emu, id)
}

/// A path in this test process's temporary folder.
pub fn temp_file(name: &str) -> PathBuf {
    temp_dir("test").join(name)
}

/// The six keys of Edgegap's `pagination` object.
const PAGINATION_KEYS: [&str; 6] = [
    "number",
    "next_page_number",
    "previous_page_number",
    "paginator",
    "has_next",
    "has_previous",
];

/// Asserts that an answer's `pagination` has all six keys.
pub fn assert_pagination(value: &Value) {
    for key in PAGINATION_KEYS {
        assert!(
            value["pagination"].get(key).is_some(),
            "pagination lacks `{key}`: {value}"
        );
    }
}

/// Deploys `game`/`version` with `tags` and waits until it is READY (DEPLOYING for `stuck`).
pub fn deploy_tagged(emu: &EmulatorHandle, version: &str, tags: &[&str]) -> String {
    let mut body = deploy_body("game", version);
    body["tags"] = json!(tags);
    let id = deploy(emu, &body);
    wait_status(
        emu,
        &id,
        if version == "stuck" {
            "Status.DEPLOYING"
        } else {
            "Status.READY"
        },
    );
    id
}

/// The matchmaker token of [`matchmaker_emulator`].
pub const MM_TOKEN: &str = "mm-secret-token-4f1c";

/// A matchmaker configuration (3.3.2) with one profile `name` deploying `game`/`v1`: `rules`
/// is the `rules.initial` object, `expansions` the `rules.expansions` one; tickets expire after
/// 5 minutes and are removed a minute later; groups idle for 5 minutes are removed.
pub fn mm_config(name: &str, rules: Value, expansions: Value) -> String {
    let mut config = edgegap_emulator::matchmaker_config(name, ("game", "v1"), rules, expansions);
    config["inspect"] = true.into();
    config["max_deployment_retry_count"] = 2.into();
    config["allowed_cors_origins"] = json!([
        "https://play.example.com",
        "https://*.my-game.com",
        "localhost"
    ]);
    config.to_string()
}

/// An emulator builder with a matchmaker on `config`, token [`MM_TOKEN`], a manual matchmaker
/// clock, API token `t`, no rate limits, zero-time lifecycle steps, and no app version yet.
pub fn matchmaker_builder(config: &str) -> EmulatorBuilder {
    Emulator::builder()
        .token("t")
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .matchmaker(config)
        .matchmaker_token(MM_TOKEN)
        .matchmaker_manual_clock()
}

/// [`matchmaker_builder`] serving `game`/`v1` (simulated, port `gameport` 7777/UDP), started.
pub fn matchmaker_emulator(config: &str) -> EmulatorHandle {
    matchmaker_builder(config)
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .start()
        .expect("starts")
}

/// A matchmaker call with `Authorization: <MM_TOKEN>` (raw).
pub fn mm(emu: &EmulatorHandle, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let body = body.map(Value::to_string);
    send(
        method,
        &format!("{}{path}", emu.matchmaker_url()),
        Some(MM_TOKEN),
        body.as_deref(),
    )
}

/// `POST /groups` for `profile` with `attributes`, ready or not; asserts 201 and returns the
/// member answer.
pub fn create_group(emu: &EmulatorHandle, profile: &str, attributes: Value, ready: bool) -> Value {
    let body = json!({ "profile": profile, "is_ready": ready, "attributes": attributes });
    let answer = mm(emu, "POST", "/groups", Some(&body));
    assert_eq!(answer.status, 201, "create group answered {answer:?}");
    answer.json
}

/// `POST /tickets` (a solo player, the deprecated way); asserts 201 and returns the ticket.
pub fn create_ticket(emu: &EmulatorHandle, profile: &str, attributes: Value) -> Value {
    let body = json!({ "profile": profile, "attributes": attributes });
    let answer = mm(emu, "POST", "/tickets", Some(&body));
    assert_eq!(answer.status, 201, "create ticket answered {answer:?}");
    answer.json
}

/// Two solo players ready in profile `duel` ([`create_group`]), once both are `status`
/// ([`wait_member`]): their member answers.
pub fn duel(emu: &EmulatorHandle, status: &str) -> [Value; 2] {
    let a = create_group(emu, "duel", json!({}), true);
    let b = create_group(emu, "duel", json!({}), true);
    [wait_member(emu, &a, status), wait_member(emu, &b, status)]
}

/// `POST /groups/{gid}/members`; asserts 201 and returns the member answer.
pub fn join_group(
    emu: &EmulatorHandle,
    gid: &str,
    profile: &str,
    attributes: Value,
    ready: bool,
) -> Value {
    let body = json!({ "profile": profile, "is_ready": ready, "attributes": attributes });
    let answer = mm(emu, "POST", &format!("/groups/{gid}/members"), Some(&body));
    assert_eq!(answer.status, 201, "join answered {answer:?}");
    answer.json
}

/// The member path of a member answer.
pub fn member_path(member: &Value) -> String {
    format!(
        "/groups/{}/members/{}",
        member["group_id"].as_str().expect("group_id"),
        member["member_id"].as_str().expect("member_id")
    )
}

/// `PATCH` a member's `is_ready` (what a player's "Ready" button sends).
pub fn set_ready(emu: &EmulatorHandle, member: &Value, ready: bool) -> Answer {
    mm(
        emu,
        "PATCH",
        &member_path(member),
        Some(&json!({ "is_ready": ready })),
    )
}

/// Polls a member until its `status` is `status`; returns that answer (panics after 10 s).
pub fn wait_member(emu: &EmulatorHandle, member: &Value, status: &str) -> Value {
    let path = member_path(member);
    let mut last = Value::Null;
    wait_until(
        &format!("{path} to be {status}"),
        Duration::from_secs(10),
        || {
            last = mm(emu, "GET", &path, None).json;
            last["status"] == status
        },
    );
    last
}

/// [`mm_config`] with one profile `name` whose only rule is its size: `team_count` teams of
/// `min..=max` players; no expansion.
pub fn size_only_config(name: &str, team_count: u32, min: u32, max: u32) -> String {
    mm_config(
        name,
        json!({ "match_size": player_count_rule(team_count, min, max) }),
        json!({}),
    )
}

/// [`size_only_config`] `duel`: two teams of one player.
pub fn duel_config() -> String {
    size_only_config("duel", 2, 1, 1)
}

/// A `KEY=VALUE` file (what `env > file` writes) as pairs.
pub fn read_env_file(path: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}
