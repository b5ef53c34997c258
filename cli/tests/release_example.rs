//! The whole loop offline: `cargo edgegap release --example dedicated_server --dev --base none`
//! into a real registry (`docker-registry`) and an in-process emulator configured only through
//! its API (no app version given to its builder): the release makes the app and the version;
//! `cargo edgegap deploy --wait` deploys it, the emulator pulls the image and runs it; a UDP
//! client plays the example's match (`HELLO`, `PING n`, `BYE`); the server stops its own
//! deployment (`TERMINATED`, stopped by `self`).
//!
//! Also: an independent client (`skopeo`) reads `linux`/`amd64` and the entrypoint back, and a
//! second release of the unchanged binary uploads no layer bytes, counted on the registry's
//! side (its access log).
//!
//! The debug build is the workspace's own (same target directory), so a warm `cargo test`
//! reuses it.

mod support;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use edgegap_emulator::EmulatorHandle;
use edgegap_test_services::{Registry, RegistryRequest};
use serde_json::json;
use support::{Outcome, api, cli, run, skopeo_inspect, wait_until, with_api};

const LIMIT: Duration = Duration::from_secs(1200);

fn release(registry: &Registry, emulator: &EmulatorHandle, version: &str) -> Outcome {
    let mut command = cli();
    command
        .args(["release", "--example", "dedicated_server", "--dev"])
        .args(["--base", "none", "--app", "dedicated-server", "--json"])
        .args(["--version", version])
        .env("EDGEGAP_REGISTRY", registry.host())
        .env("EDGEGAP_REGISTRY_PROJECT", "proj");
    with_api(&mut command, emulator);
    run(command, LIMIT)
}

/// The registry's requests once everything before now is in its access log: a marker
/// request is sent and waited for (the log is written as requests finish).
fn settled(registry: &Registry, marker: &str) -> Vec<RegistryRequest> {
    let mut stream = TcpStream::connect(("127.0.0.1", registry.port())).expect("connect");
    write!(
        stream,
        "GET /v2/{marker}/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let _ = stream.read_to_end(&mut Vec::new());
    wait_until(
        Duration::from_secs(10),
        "the marker in the access log",
        || registry.requests().iter().any(|r| r.path.contains(marker)),
    );
    registry.requests()
}

fn uploads(requests: &[RegistryRequest]) -> usize {
    requests.iter().filter(|r| r.is_blob_upload()).count()
}

/// Sends `message` until an answer comes (the server may still be binding its port), for at
/// most `within`; the answer.
fn ask(socket: &UdpSocket, message: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 512];
    loop {
        socket.send(message.as_bytes()).expect("send");
        match socket.recv(&mut buf) {
            Ok(n) => return String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) => assert!(
                Instant::now() < deadline,
                "no answer to `{message}` within {within:?}: {e}"
            ),
        }
    }
}

/// Deploys `version` through `cargo edgegap deploy --wait`, plays the example's match over UDP
/// and waits for the server to stop its own deployment.
fn deploy_and_play(emulator: &EmulatorHandle, version: &str) {
    let mut command = cli();
    command.args([
        "deploy",
        "--app",
        "dedicated-server",
        "--version",
        version,
        "--ip",
        "1.2.3.4",
        "--wait",
        "--json",
    ]);
    with_api(&mut command, emulator);
    let deployed = run(command, LIMIT);
    assert_eq!(deployed.code, 0, "{deployed:#?}");
    let line = deployed.json();
    let id = line["request_id"].as_str().expect("request_id").to_owned();
    let address = line["addresses"]["gameport"]
        .as_str()
        .unwrap_or_else(|| panic!("a gameport address: {line}"))
        .to_owned();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    socket.connect(&address).expect("connect");
    let logs = || emulator.logs(&id).unwrap_or_default();
    let welcome = ask(&socket, "HELLO", Duration::from_secs(30));
    assert_eq!(welcome, "WELCOME 3", "logs:\n{}", logs());
    for round in 1..=3 {
        let pong = ask(&socket, &format!("PING {round}"), Duration::from_secs(10));
        assert_eq!(pong, format!("PONG {round}"), "logs:\n{}", logs());
    }
    // After the last `PONG` the server says `BYE` (and again to anything sent after).
    let bye = ask(&socket, "PING 4", Duration::from_secs(10));
    assert_eq!(bye, "BYE", "logs:\n{}", logs());
    wait_until(
        Duration::from_secs(60),
        "the server stopped its own deployment",
        || {
            emulator
                .deployment(&id)
                .is_some_and(|d| d.status == "Status.TERMINATED")
        },
    );
    let info = emulator.deployment(&id).expect("deployment");
    assert_eq!(
        info.stopped_by.as_deref(),
        Some("self"),
        "logs:\n{}",
        logs()
    );
    assert_eq!(info.exit_code, Some(0), "logs:\n{}", logs());
}

#[test]
fn the_example_is_released_deployed_played_and_stops_itself() {
    let registry = Registry::start();
    let emulator = api();
    let started = Instant::now();
    let first = release(&registry, &emulator, "first");
    let first_time = started.elapsed();
    assert_eq!(first.code, 0, "{first:#?}");
    let line = first.json();
    let reference = format!("{}/proj/dedicated-server:first", registry.host());
    assert_eq!(line["image"], reference);
    assert_eq!(line["platform"], "linux/amd64");
    assert_eq!(line["entrypoint"], json!(["/app/dedicated_server"]));
    assert_eq!(line["exposed_ports"], json!(["7777/udp"]));
    assert_eq!(line["uploaded_blobs"], 2, "layer and config: {line}");
    assert_eq!(line["app_created"], true, "{line}");
    assert_eq!(line["version_action"], "created", "{line}");
    assert_eq!(
        emulator.app_versions(),
        [("dedicated-server".to_owned(), "first".to_owned())]
    );
    let size = line["size"].as_u64().expect("a size");

    // An independent client reads it back.
    let inspect = skopeo_inspect(&reference, false);
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Digest"], line["digest"]);
    let config = skopeo_inspect(&reference, true);
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/app/dedicated_server"])
    );

    // Deployed from the registry by the emulator, played, stopped by itself.
    let played = Instant::now();
    deploy_and_play(&emulator, "first");
    let played = played.elapsed();

    let after_first = settled(&registry, "after-first");
    let first_uploads = uploads(&after_first);
    assert!(
        first_uploads >= 2,
        "the registry saw the first release's uploads: {after_first:#?}"
    );

    // The same binary under a new tag: every blob is already there; a new version.
    let started = Instant::now();
    let second = release(&registry, &emulator, "second");
    let second_time = started.elapsed();
    assert_eq!(second.code, 0, "{second:#?}");
    let line = second.json();
    assert_eq!(line["uploaded_blobs"], 0, "{line}");
    assert_eq!(line["uploaded_bytes"], 0, "{line}");
    assert_eq!(line["reused_blobs"], 2, "{line}");
    assert_eq!(line["app_created"], false, "{line}");
    assert_eq!(line["version_action"], "created", "{line}");
    let after_second = settled(&registry, "after-second");
    assert_eq!(
        uploads(&after_second),
        first_uploads,
        "the registry saw no upload for the second release: {:#?}",
        &after_second[after_first.len()..]
    );
    assert!(
        after_second[after_first.len()..]
            .iter()
            .any(|r| r.method == "PUT" && r.path.ends_with("/manifests/second")),
        "the new tag was put"
    );

    // The same tag again: nothing at all is written, the version is kept.
    let third = release(&registry, &emulator, "second");
    assert_eq!(third.code, 0, "{third:#?}");
    assert_eq!(third.json()["unchanged"], true);
    assert_eq!(third.json()["version_action"], "unchanged");
    let after_third = settled(&registry, "after-third");
    assert!(
        !after_third[after_second.len()..]
            .iter()
            .any(|r| matches!(r.method.as_str(), "PUT" | "POST" | "PATCH")),
        "{:#?}",
        &after_third[after_second.len()..]
    );
    assert_eq!(emulator.app_versions().len(), 2);
    eprintln!(
        "dedicated_server (--dev, --base none): image {size} bytes; first release {first_time:?}, deploy + match + self-stop {played:?}, second (unchanged binary, new tag) {second_time:?}"
    );
}
