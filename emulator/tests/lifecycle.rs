//! A deployment's statuses: `INITIALIZING` to `READY` in order, one per lifecycle step; `ERROR`
//! for a failing version; `DEPLOYING` forever for a stuck one.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{api, deploy, deploy_body, game_emulator, stepped_emulator, wait_status, wait_until};

const ORDER: [&str; 6] = [
    "Status.INITIALIZING",
    "Status.SEEKING",
    "Status.SEEKED",
    "Status.SCANNING",
    "Status.DEPLOYING",
    "Status.READY",
];

#[test]
fn deploy_answers_a_request_id_and_status_reaches_ready_in_order() {
    let emu = game_emulator();
    let id = deploy(&emu, &deploy_body("game", "v1"));
    assert_eq!(id.len(), 12);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{id}"
    );
    wait_status(&emu, &id, "Status.READY");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(info.transitions, ORDER);
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None);
    assert_eq!(status.status, 200);
    let s = &status.json;
    for key in [
        "request_id",
        "fqdn",
        "app_name",
        "app_version",
        "current_status",
        "last_status",
        "running",
        "whitelisting_active",
        "start_time",
        "removal_time",
        "elapsed_time",
        "max_duration",
        "error",
        "error_detail",
        "ports",
        "public_ip",
        "location",
        "tags",
    ] {
        assert!(s.get(key).is_some(), "status lacks `{key}`: {s}");
    }
    assert_eq!(s["request_id"], json!(id));
    assert_eq!(s["fqdn"], json!(format!("{id}.pr.edgegap.net")));
    assert_eq!(s["current_status"], "Status.READY");
    assert_eq!(s["last_status"], "Status.DEPLOYING");
    assert_eq!(s["running"], true);
    assert_eq!(s["error"], false);
    assert_eq!(s["public_ip"], "127.0.0.1");
    assert_eq!(s["max_duration"], 1440);
    assert_eq!(s["whitelisting_active"], false);
    let port = &s["ports"]["gameport"];
    let external = port["external"].as_u64().expect("external");
    assert_eq!(port["internal"], 7777);
    assert_eq!(port["protocol"], "UDP");
    assert_eq!(port["name"], "gameport");
    assert_eq!(port["tls_upgrade"], false);
    assert_eq!(port["link"], json!(format!("127.0.0.1:{external}")));
    let start = s["start_time"].as_str().expect("start_time");
    assert_eq!(start.len(), 26, "`YYYY-MM-DD HH:MM:SS.ffffff`: {start}");
}

#[test]
fn lifecycle_steps_one_status_per_step() {
    let emu = stepped_emulator(Duration::from_millis(40));
    let id = deploy(&emu, &deploy_body("game", "v1"));
    let mut seen: Vec<String> = Vec::new();
    wait_until("READY", Duration::from_secs(10), || {
        let s = api(&emu, "GET", &format!("/v1/status/{id}"), None).json["current_status"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        s == "Status.READY"
    });
    let positions: Vec<usize> = seen
        .iter()
        .map(|s| ORDER.iter().position(|o| o == s).expect("known status"))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "statuses out of order: {seen:?}"
    );
    assert!(
        seen.len() >= 3,
        "a 40 ms step should show intermediate statuses: {seen:?}"
    );
    assert_eq!(emu.deployment(&id).expect("known").transitions, ORDER);
}

#[test]
fn failing_and_stuck_versions() {
    let emu = game_emulator();
    let broken = deploy(&emu, &deploy_body("game", "broken"));
    wait_status(&emu, &broken, "Status.ERROR");
    let s = api(&emu, "GET", &format!("/v1/status/{broken}"), None).json;
    assert_eq!(s["error"], true);
    assert_eq!(s["running"], false);
    assert_eq!(s["error_detail"], "Pull image timeout exceeded");
    let stuck = deploy(&emu, &deploy_body("game", "stuck"));
    wait_status(&emu, &stuck, "Status.DEPLOYING");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        emu.deployment(&stuck).expect("known").status,
        "Status.DEPLOYING"
    );
    let stop = api(&emu, "DELETE", &format!("/v1/stop/{stuck}"), None);
    assert_eq!(stop.status, 202, "{stop:?}");
    wait_status(&emu, &stuck, "Status.TERMINATED");
}
