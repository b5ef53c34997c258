//! What only the gateway's integration tests need, on top of `edgegap-gateway-testkit` (the
//! emulator upstream, players' HTTP calls, Redis, gateway processes; re-exported here, and
//! shared with `benches/load.rs`): in-process gateways with every log line captured, and
//! hand-signed tokens.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use edgegap_emulator::EmulatorHandle;
use edgegap_gateway::{Gateway, GatewayBuilder, GatewayHandle};
pub use edgegap_gateway_testkit::*;
use serde_json::Value;

/// This package's binary, for [`GatewayProcess::start`].
pub const GATEWAY_BINARY: &str = env!("CARGO_BIN_EXE_edgegap-gateway");

/// Every log line of this test process (tracing, captured once per process).
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (gateway and its HTTP stack at `trace`).
pub fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "edgegap_gateway=trace,reqwest=trace,hyper_util=trace,axum=trace",
            ))
            .with_ansi(false)
            .with_writer(|| Capture)
            .init();
    });
}

/// The captured log so far.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// A builder for this emulator and `game`/`v1` with no way for players to authenticate yet:
/// the test says how (the builder of the tests of player authentication).
pub fn keyless_builder(emu: &EmulatorHandle) -> GatewayBuilder {
    capture_logs();
    Gateway::builder()
        .upstream(emu.base_url(), emu.token())
        .allow(APP, VERSION)
}

/// The builder every test starts from: [`keyless_builder`], HS256 with [`SECRET`], and a
/// Redis call allowed [`REDIS_TIMEOUT`] (when a test adds Redis).
pub fn builder(emu: &EmulatorHandle) -> GatewayBuilder {
    keyless_builder(emu)
        .hs256_secret(SECRET)
        .max_live_per_player(1)
        .redis_timeout(REDIS_TIMEOUT)
}

/// Asserts `answer` says to try again later: `status`, with a `Retry-After`.
pub fn assert_retry_later(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert!(
        answer.header("retry-after").is_some(),
        "no Retry-After: {answer:?}"
    );
}

/// Two gateways from [`builder`] sharing the Redis at `redis_url`: replicas.
pub fn replicas(emu: &EmulatorHandle, redis_url: &str) -> [GatewayHandle; 2] {
    [(); 2].map(|()| {
        builder(emu)
            .redis(redis_url)
            .start()
            .expect("replica starts")
    })
}

/// A gateway from [`builder`], started.
pub fn gateway(emu: &EmulatorHandle) -> GatewayHandle {
    builder(emu).start().expect("gateway starts")
}

/// Seconds since the Unix epoch (for `exp`).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An HS256 token with these claims, signed with `secret`.
pub fn signed(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// Sends `GET /v1/status/{id}?<query>` to `gw` from another thread, waits until `gw` holds it
/// (long-poll), runs `meanwhile`, and returns the held request's answer. What `meanwhile`
/// returns (a gate's listener) lives until that answer.
pub fn while_held<T>(
    gw: &GatewayHandle,
    token: &str,
    id: &str,
    query: &str,
    meanwhile: impl FnOnce() -> T,
) -> Answer {
    let before = gw.held_requests();
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| status_query(gw, token, id, query));
        wait_until("the status request to be held", || {
            gw.held_requests() > before
        });
        let kept = meanwhile();
        let answer = waiter.join().expect("the held request's thread");
        drop(kept);
        answer
    })
}

/// A raw TCP connection to `gw`, for what an HTTP client library will not send (several lines
/// of one header, half a request, nothing at all).
pub fn connect(gw: &impl Gw) -> std::net::TcpStream {
    let address = gw.base_url().trim_start_matches("http://").to_owned();
    std::net::TcpStream::connect(address).expect("the gateway accepts TCP connections")
}

/// Reads one HTTP/1.1 answer from `stream` (its body by `Content-Length`): status and body.
pub fn read_answer(stream: &mut std::net::TcpStream) -> (u16, String) {
    use std::io::Read;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("not an HTTP answer: {head}"));
                let body = String::from_utf8_lossy(&bytes[end + 4..end + 4 + length]);
                return (status, body.into_owned());
            }
        }
        let n = stream.read(&mut buf).expect("an answer before 20 s");
        assert!(n > 0, "the connection closed before a whole answer");
        bytes.extend_from_slice(&buf[..n]);
    }
}

/// Sends `request` (raw HTTP/1.1 text, `\r\n` line ends) on a new connection and reads the
/// answer.
pub fn raw_request(gw: &impl Gw, request: &str) -> (u16, String) {
    use std::io::Write;
    let mut stream = connect(gw);
    stream.write_all(request.as_bytes()).unwrap();
    read_answer(&mut stream)
}

/// Whether the gateway closes `stream` (end of stream, or reset) within `within`; whatever it
/// answered meanwhile is read and dropped.
pub fn closed_by_gateway(stream: &mut std::net::TcpStream, within: std::time::Duration) -> bool {
    use std::io::Read;
    let deadline = std::time::Instant::now() + within;
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if std::time::Instant::now() >= deadline {
                    return false;
                }
            }
            Err(_) => return true,
        }
    }
}

/// A connection to the Redis at `url`, as anyone who can write to it (an attacker, another
/// environment) has one.
pub fn redis_writer(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("the test's redis-server answers")
}

/// Every key in the Redis behind `connection`.
pub fn redis_keys(connection: &mut redis::Connection) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(connection).unwrap();
    keys.sort();
    keys
}

/// The one key ending with `suffix`.
pub fn redis_key(connection: &mut redis::Connection, suffix: &str) -> String {
    let found: Vec<String> = redis_keys(connection)
        .into_iter()
        .filter(|k| k.ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "keys ending with `{suffix}`: {found:?}");
    found[0].clone()
}

/// The owner tag the gateway put on `id`.
pub fn owner_tag(emu: &EmulatorHandle, id: &str) -> String {
    emu.deployment(id)
        .unwrap()
        .tags
        .into_iter()
        .find(|t| t.starts_with(edgegap_gateway::OWNER_TAG_PREFIX))
        .unwrap_or_else(|| panic!("`{id}` has no owner tag"))
}

/// Alice's two deployments, made through `gateways` in turn and READY upstream, polled by
/// `clients` threads of `polls` status requests each, alternating deployments and gateways;
/// every answer says READY about the deployment asked. Returns Alice's token, the two
/// deployments and the upstream reads the polls cost.
pub fn poll_two_ready(
    emu: &EmulatorHandle,
    gateways: &[&GatewayHandle],
    clients: usize,
    polls: usize,
) -> (String, [String; 2], usize) {
    let alice = token("alice");
    let ids = [0, 1].map(|i| deploy(gateways[i % gateways.len()], &alice, None).request_id());
    for id in &ids {
        assert!(emu.wait_for_status(id, "Status.READY", std::time::Duration::from_secs(10)));
    }
    let before = upstream_reads(emu);
    std::thread::scope(|scope| {
        for client in 0..clients {
            let (alice, ids) = (&alice, &ids);
            scope.spawn(move || {
                for poll in 0..polls {
                    let id = &ids[(client + poll) % 2];
                    let gw = gateways[(client / 2 + poll) % gateways.len()];
                    let answer = status(gw, alice, id);
                    assert_eq!(current(&answer), "Status.READY");
                    assert_eq!(answer.json["request_id"], id.as_str());
                }
            });
        }
    });
    let reads = upstream_reads(emu) - before;
    (alice, ids, reads)
}
