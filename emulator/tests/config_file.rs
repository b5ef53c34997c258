//! The TOML config (the shipped examples parse and serve) and the `edgegap-emulator` binary.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use edgegap_emulator::{Emulator, Route};
use serde_json::json;
use support::{api, deploy, deploy_body, send, spawn_binary, status_of, wait_status};

fn asset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("assets")
        .join(name)
}

#[test]
fn example_config_serves_what_it_declares() {
    let emu = Emulator::from_config_file(asset("emulator.toml"))
        .expect("example parses")
        .bind("127.0.0.1:0".parse().expect("address"))
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    assert_eq!(emu.token(), "local-dev-token");
    let id = deploy(&emu, &deploy_body("my-game", "1.0.0"));
    wait_status(&emu, &id, "Status.READY");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(info.env["GAME_MODE"], "ranked");
    assert_eq!(info.ports["web"].0, 8080);
    let broken = deploy(&emu, &deploy_body("my-game", "broken"));
    wait_status(&emu, &broken, "Status.ERROR");
    let hosts = api(&emu, "GET", "/v2/private-fleets/my-fleet/hosts", None);
    assert_eq!(
        hosts.json["data"][0]["host_id"],
        "alpha-north-america-95fab093"
    );
    let locations = api(&emu, "GET", "/v1/locations?tags=true", None).json;
    assert_eq!(locations["total_count"], 2);
    assert_eq!(
        locations["locations"][0]["tags"],
        json!([{"key": "tier", "value": "1"}])
    );
    assert!(info.env["ARBITRIUM_DEPLOYMENT_LOCATION"].contains("Montreal"));
}

#[test]
fn process_example_parses() {
    assert!(Emulator::from_config_file(asset("emulator-process.toml")).is_ok());
}

#[test]
fn config_covers_limits_faults_and_errors() {
    let text = r#"
        token = "x"
        unknown_deployment_status = 400
        bulk_stop_status = 200
        [rate_limits]
        enabled = false
        locations = 1
        [[faults]]
        route = "status"
        kind = "status"
        status = 503
        times = 1
        [[faults]]
        kind = "latency"
        delay_ms = 1
        probability = 1.0
    "#;
    let emu = Emulator::from_config_str(text)
        .expect("parses")
        .start()
        .expect("starts");
    assert_eq!(status_of(&emu, "GET", "/v1/status/000000000000"), 503);
    assert_eq!(status_of(&emu, "GET", "/v1/status/000000000000"), 400);
    assert_eq!(api(&emu, "GET", "/v1/locations", None).status, 200);
    assert_eq!(api(&emu, "GET", "/v1/locations", None).status, 429);
    assert_eq!(
        emu.faults_injected(Route::Status),
        2,
        "the status fault, then the global latency"
    );
    for bad in [
        "tokn = \"typo\"",
        "[[faults]]\nkind = \"explode\"",
        "[[faults]]\nkind = \"latency\"",
        "[[faults]]\nroute = \"nowhere\"\nkind = \"html_502\"",
        "[rate_limits]\nstatuss = 3",
        "[[app_versions]]\napp = \"a\"",
        "lifecycle_step_ms = -1",
    ] {
        let result = Emulator::from_config_str(bad);
        assert!(result.is_err(), "accepted: {bad}");
    }
    let dup = "[[app_versions]]\napp = \"a\"\nversion = \"1\"\n[[app_versions]]\napp = \"a\"\nversion = \"1\"";
    assert!(
        Emulator::from_config_str(dup)
            .expect("parses")
            .start()
            .is_err(),
        "duplicate version refused at start"
    );
    assert!(Emulator::from_config_file("/nonexistent/emulator.toml").is_err());
}

#[test]
fn binary_prints_url_and_token_and_stops_on_sigterm() {
    let (mut child, base, token) = spawn_binary(
        "bin",
        "token = \"bin-token\"\nlifecycle_step_ms = 0\n[[app_versions]]\napp = \"g\"\nversion = \"v\"\ncommand = \"/bin/sleep\"\nargs = [\"30\"]\n",
    );
    assert_eq!(token, "bin-token");
    let body = deploy_body("g", "v").to_string();
    let deployed = send(
        "POST",
        &format!("{base}/v2/deployments"),
        Some("token bin-token"),
        Some(&body),
    );
    assert_eq!(deployed.status, 202, "{deployed:?}");
    let id = deployed.json["request_id"].as_str().expect("id").to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = send(
            "GET",
            &format!("{base}/v1/status/{id}"),
            Some("token bin-token"),
            None,
        );
        if status.json["current_status"] == "Status.READY" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never READY: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sending SIGTERM to the child we spawned.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "binary did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let gone = ureq::get(&format!("{base}/v1/status/{id}"))
        .timeout(Duration::from_secs(2))
        .call();
    assert!(matches!(gone, Err(ureq::Error::Transport(_))));
    let help = Command::new(env!("CARGO_BIN_EXE_edgegap-emulator"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("--config"));
    let bad = Command::new(env!("CARGO_BIN_EXE_edgegap-emulator"))
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
}
