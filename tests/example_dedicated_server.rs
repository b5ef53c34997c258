//! `examples/dedicated_server.rs` as a deployment of the emulator: a UDP client plays its
//! match (`HELLO`, `PING n` → `PONG n`, `BYE`); the server self-stops, hears `SIGTERM` and exits 0.
//! And a player who joins and goes silent: the match is empty, and the example's
//! `stop_when_empty_for` policy stops the deployment.
#![cfg(unix)]

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use edgegap_emulator::{DeploymentInfo, EmulatorHandle, Route};
use support::process::command_version;

fn logs(emu: &EmulatorHandle, id: &str) -> String {
    emu.logs(id).unwrap_or_default()
}

fn exchange(socket: &UdpSocket, message: &str) -> String {
    socket.send(message.as_bytes()).unwrap();
    receive(socket)
}

fn receive(socket: &UdpSocket) -> String {
    let mut buf = [0u8; 512];
    let len = socket
        .recv(&mut buf)
        .expect("the server answers within 5 s");
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// The example as a deployment, with `env` added; returns the emulator and the deployment.
fn deploy_example(env: &[(&str, &str)]) -> (EmulatorHandle, String) {
    let program = support::examples::example_binary("dedicated_server");
    let emu = support::emulator_with(command_version(program, Vec::<String>::new(), env));
    let id = support::deploy(&emu, support::game_v1());
    (emu, id)
}

/// A UDP socket connected to the example's game port, once it listens.
fn connect(emu: &EmulatorHandle, id: &str) -> UdpSocket {
    let bound = Instant::now() + Duration::from_secs(30);
    while !logs(emu, id).contains("listening on") {
        assert!(
            Instant::now() < bound,
            "the example never listened; logs:\n{}",
            logs(emu, id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let port = emu.deployment(id).unwrap().env["ARBITRIUM_PORT_GAMEPORT_EXTERNAL"].clone();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.connect(format!("127.0.0.1:{port}")).unwrap();
    socket
}

#[test]
fn a_match_everybody_left_stops_its_deployment() {
    let (emu, id) = deploy_example(&[("EMPTY_STOP_SECS", "1"), ("PLAYER_TIMEOUT_SECS", "1")]);
    let socket = connect(&emu, &id);
    assert_eq!(exchange(&socket, "HELLO"), "WELCOME 3");
    // Then silence: the player times out, the match is empty, the policy stops it.
    let (info, seen) = wait_for_exit(&emu, &id, Duration::from_secs(30));
    assert_eq!(info.exit_code, Some(0), "logs:\n{seen}");
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "logs:\n{seen}");
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    assert!(seen.contains("joined"), "logs:\n{seen}");
    let reason = "the match has been empty for `1s`";
    assert!(seen.contains(reason), "no `{reason}` in the logs:\n{seen}");
}

#[test]
fn the_example_plays_a_match_then_stops_its_own_deployment() {
    let (emu, id) = deploy_example(&[("MATCH_ROUNDS", "3")]);
    let socket = connect(&emu, &id);

    assert_eq!(exchange(&socket, "HELLO"), "WELCOME 3");
    assert!(exchange(&socket, "NONSENSE").starts_with("ERR"));
    assert_eq!(exchange(&socket, "PING 1"), "PONG 1");
    assert_eq!(exchange(&socket, "PING 2"), "PONG 2");
    assert_eq!(exchange(&socket, "PING 3"), "PONG 3");
    assert_eq!(receive(&socket), "BYE");

    let (info, logs) = wait_for_exit(&emu, &id, Duration::from_secs(25));
    assert_eq!(info.exit_code, Some(0), "logs:\n{logs}");
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "logs:\n{logs}");
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    assert!(logs.contains("shutting down"), "logs:\n{logs}");
    assert!(
        emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)),
        "exited but not terminated"
    );
}

/// Waits until the process has exited, reading its logs meanwhile: they may not be readable
/// once the deployment is terminated. Returns the deployment and the last logs read.
fn wait_for_exit(emu: &EmulatorHandle, id: &str, within: Duration) -> (DeploymentInfo, String) {
    let mut seen = String::new();
    let bound = Instant::now() + within;
    loop {
        let now = logs(emu, id);
        if !now.is_empty() {
            seen = now;
        }
        let info = emu.deployment(id).unwrap();
        if info.exit_code.is_some() {
            // Whatever the process wrote last, if still there.
            let last = logs(emu, id);
            return (info, if last.is_empty() { seen } else { last });
        }
        assert!(
            Instant::now() < bound,
            "the server did not exit within {within:?}; logs:\n{seen}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
