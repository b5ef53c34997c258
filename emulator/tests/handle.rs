//! What a test reads from `EmulatorHandle`: base URL and token, the request log (bounded),
//! requests in flight, connections accepted, and an idempotent shutdown.

mod support;

use std::time::Duration;

use edgegap_emulator::{AppVersion, Emulator, Fault, FaultKind, Route};
use support::{api, deploy, deploy_body, game_emulator, quick_emulator, send};

#[test]
fn base_url_and_token() {
    let emu = game_emulator();
    assert!(emu.base_url().starts_with("http://127.0.0.1:"));
    assert!(!emu.base_url().ends_with('/'));
    assert_eq!(emu.token(), "test-token");
    let random = Emulator::builder().start().expect("starts");
    assert_eq!(random.token().len(), 32);
}

#[test]
fn the_request_log_is_bounded_by_bytes_and_truncates_paths() {
    let emu = Emulator::builder()
        .token("t")
        .without_rate_limits()
        .request_log_bytes(64 * 1024)
        .start()
        .expect("starts");
    let long = format!("/v1/status/{}", "a".repeat(60_000));
    for _ in 0..300 {
        let answer = send("GET", &format!("{}{long}", emu.base_url()), None, None);
        assert_eq!(answer.status, 401);
    }
    assert_eq!(
        emu.request_count(Route::Status),
        300,
        "every request counted"
    );
    let log = emu.requests();
    let bytes: usize = log.iter().map(|r| r.path.len() + r.method.len()).sum();
    assert!(bytes <= 64 * 1024, "{bytes} bytes kept");
    assert!(!log.is_empty(), "the newest requests are kept");
    for request in &log {
        assert!(request.path.len() <= 1024, "{} bytes", request.path.len());
        assert!(request.path.starts_with("/v1/status/aaa"));
        assert_eq!(request.status, 401);
    }
}

#[test]
fn peak_in_flight_sees_concurrent_requests() {
    let emu = quick_emulator();
    emu.add_fault(Fault::new(
        Route::Locations,
        FaultKind::Latency(Duration::from_millis(300)),
    ));
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| assert_eq!(api(&emu, "GET", "/v1/locations", None).status, 200));
        }
    });
    assert!(emu.peak_in_flight() >= 2, "peak {}", emu.peak_in_flight());
    let _ = deploy(&emu, &deploy_body("game", "v1"));
}

#[test]
fn connections_accepted_counts_connections_not_requests() {
    let emu = quick_emulator();
    // `api` builds a new agent per call: one connection each.
    for _ in 0..3 {
        assert_eq!(api(&emu, "GET", "/v1/locations", None).status, 200);
    }
    assert_eq!(emu.connections_accepted(), 3);
    // One keep-alive agent: five requests over one connection.
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    for _ in 0..5 {
        let response = agent
            .get(&format!("{}/v1/locations", emu.base_url()))
            .set("Authorization", &format!("token {}", emu.token()))
            .call()
            .expect("answers");
        assert_eq!(response.status(), 200);
        let _ = response.into_string();
    }
    assert_eq!(emu.connections_accepted(), 4);
}

#[test]
fn shutdown_is_idempotent_and_closes_the_port() {
    let emu = game_emulator();
    let url = emu.base_url();
    emu.shutdown();
    emu.shutdown();
    let result = ureq::get(&format!("{url}/v1/status/x"))
        .timeout(Duration::from_secs(2))
        .call();
    assert!(
        matches!(result, Err(ureq::Error::Transport(_))),
        "server still answering: {result:?}"
    );
}

#[test]
fn debug_of_the_builder_and_the_handle_never_shows_a_token() {
    let builder = Emulator::builder()
        .token("api-secret-0123456789")
        .matchmaker_token("mm-secret-0123456789");
    let shown = format!("{builder:?}");
    assert!(!shown.contains("api-secret"), "{shown}");
    assert!(!shown.contains("mm-secret"), "{shown}");
    let emu = builder.start().expect("starts");
    let shown = format!("{emu:?}");
    assert!(!shown.contains("api-secret"), "{shown}");
    assert!(!shown.contains("mm-secret"), "{shown}");
    assert!(shown.contains(&emu.base_url()), "{shown}");
}

#[test]
fn debug_of_app_versions_never_shows_a_variables_value() {
    let builder = Emulator::builder().app_version(
        AppVersion::simulated("game", "v1")
            .env("STEAM_KEY", "steam-secret-0123456789")
            .env("MAP", "forest"),
    );
    let shown = format!("{builder:?}");
    assert!(!shown.contains("steam-secret"), "{shown}");
    assert!(shown.contains("STEAM_KEY"), "the names stay: {shown}");
}
