//! `cargo run --example matchmaking` as a process: four players matched on one server, a
//! fifth refused, the match played, the server stopped by itself, exit 0.
#![cfg(unix)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn four_players_one_server_one_refused_exit_0() {
    let mut child = Command::new(support::examples::example_binary("matchmaking"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the example still runs after 90 s (it must never hang)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.success(),
        "{status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in [
        "the client holds the matchmaker's token only, no Edgegap token",
        "dave joins carol's party with its group id",
        "one server for the four: 1 deployment(s)",
        "eve: HELLO -> REFUSED",
        "eve: left",
        "BYE: match over",
        "server exited with code 0 (stopped by: self)",
        "expecting 4 players",
        "refused ticket",
        "done: 4 players matched on one server",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout.matches("host assigned 127.0.0.1:").count(),
        4,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("server | admitted ticket").count(),
        4,
        "{stdout}"
    );
}
