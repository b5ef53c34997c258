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

/// The builder every test starts from: this emulator, `game`/`v1`, HS256 with [`SECRET`].
pub fn builder(emu: &EmulatorHandle) -> GatewayBuilder {
    capture_logs();
    Gateway::builder()
        .upstream(emu.base_url(), emu.token())
        .allow(APP, VERSION)
        .hs256_secret(SECRET)
        .max_live_per_player(1)
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
