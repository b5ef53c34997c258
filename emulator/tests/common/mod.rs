//! Helpers shared by the emulator's integration tests: a tiny HTTP client over ureq.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::time::{Duration, Instant};

use edgegap_emulator::EmulatorHandle;
use serde_json::Value;

/// An answer: status, headers we care about, body as JSON (or `Value::Null` + raw text).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub text: String,
    pub json: Value,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

fn finish(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let retry_after = response.header("Retry-After").map(str::to_owned);
    let content_type = response.header("Content-Type").map(str::to_owned);
    let text = response.into_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        content_type,
        text,
        json,
    }
}

/// Sends `method url` with `Authorization: <auth>` (if any) and a raw body (if any).
pub fn send(method: &str, url: &str, auth: Option<&str>, body: Option<&str>) -> Answer {
    let mut request = agent().request(method, url);
    if let Some(auth) = auth {
        request = request.set("Authorization", auth);
    }
    let result = match body {
        Some(body) => request
            .set("Content-Type", "application/json")
            .send_string(body),
        None => request.call(),
    };
    finish(result)
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
