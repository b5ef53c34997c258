//! The `edgegap-gateway` binary: `--emulator` serves at once with development defaults,
//! environment overrides apply, and SIGTERM stops it gracefully with exit code 0.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

#[test]
fn the_binary_runs_in_front_of_an_emulator_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgegap-gateway"))
        .arg("--emulator")
        .env("GATEWAY_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "edgegap_gateway=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    /// Kills the gateway if the test fails before its SIGTERM.
    struct Reap(u32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
    let reap = Reap(child.id());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut player) = (None, None);
    while url.is_none() || player.is_none() {
        let line = lines
            .next()
            .expect("the gateway printed GATEWAY_URL and PLAYER_TOKEN")
            .unwrap();
        if let Some(value) = line.strip_prefix("GATEWAY_URL=") {
            url = Some(value.to_owned());
        }
        if let Some(value) = line.strip_prefix("PLAYER_TOKEN=") {
            player = value.split_whitespace().next().map(str::to_owned);
        }
    }
    let (url, player) = (url.unwrap(), player.unwrap());
    // GATEWAY_BIND=127.0.0.1:0 was honoured: a free port, not the default 8080.
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":8080"), "GATEWAY_BIND was ignored: {url}");

    let body = r#"{"application":"my-game","version":"1.0.0"}"#;
    let auth = format!("Bearer {player}");
    let answer = send(
        "POST",
        &format!("{url}/v2/deployments"),
        &[("Authorization", &auth), ("Idempotency-Key", "k")],
        Some(body),
    );
    assert_eq!(answer.status, 202, "{}", answer.text);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::mem::forget(reap);
    assert!(status.success(), "{status:?}");
}
