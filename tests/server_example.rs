//! `examples/dedicated_server.rs` as a deployment of the emulator: a UDP client plays its
//! match (`HELLO`, `PING n` → `PONG n`, `BYE`); the server self-stops, hears `SIGTERM` and exits 0.
#![cfg(unix)]

#[path = "support/direct.rs"]
mod direct;

#[path = "support/examples.rs"]
mod examples;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Route};

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

#[test]
fn the_example_plays_a_match_then_stops_its_own_deployment() {
    let emu = Emulator::builder()
        .app_version(
            AppVersion::command(
                "game",
                "v1",
                examples::example_binary("dedicated_server"),
                Vec::<String>::new(),
            )
            .port("gameport", 7777, "UDP")
            .env("MATCH_ROUNDS", "3")
            .grace_period(Duration::from_secs(5)),
        )
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .unwrap();
    let id = direct::deploy(&emu, direct::game_v1());
    let bound = Instant::now() + Duration::from_secs(30);
    while !logs(&emu, &id).contains("listening on") {
        assert!(
            Instant::now() < bound,
            "the example never listened; logs:\n{}",
            logs(&emu, &id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let port = emu.deployment(&id).unwrap().env["ARBITRIUM_PORT_GAMEPORT_EXTERNAL"].clone();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.connect(format!("127.0.0.1:{port}")).unwrap();

    assert_eq!(exchange(&socket, "HELLO"), "WELCOME 3");
    assert!(exchange(&socket, "NONSENSE").starts_with("ERR"));
    assert_eq!(exchange(&socket, "PING 1"), "PONG 1");
    assert_eq!(exchange(&socket, "PING 2"), "PONG 2");
    assert_eq!(exchange(&socket, "PING 3"), "PONG 3");
    assert_eq!(receive(&socket), "BYE");

    assert!(
        emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(15)),
        "not terminated; logs:\n{}",
        logs(&emu, &id)
    );
    let bound = Instant::now() + Duration::from_secs(10);
    while emu.deployment(&id).unwrap().exit_code.is_none() {
        assert!(
            Instant::now() < bound,
            "still running; logs:\n{}",
            logs(&emu, &id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let info = emu.deployment(&id).unwrap();
    let logs = logs(&emu, &id);
    assert_eq!(info.exit_code, Some(0), "logs:\n{logs}");
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "logs:\n{logs}");
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    assert!(logs.contains("shutting down"), "logs:\n{logs}");
}
