//! What a player may deploy, and how much: only allowed application versions and body fields
//! (403 otherwise, malformed bodies 400, and nothing reaches Edgegap), a quota of live servers
//! and a deploy rate per player (429 with `Retry-After`).

mod support;

use std::time::Duration;

use edgegap_emulator::Route;
use serde_json::json;
use support::*;

#[test]
fn forbidden_deploys_are_403_and_nothing_reaches_edgegap() {
    let emu = emulator();
    let gw = gateway(&emu);
    let player = token("mallory");
    let before = emu.requests().len();
    for body in [
        json!({ "application": "other", "version": VERSION }),
        json!({ "application": APP, "version": "v2" }),
        json!({ "application": APP, "version": VERSION,
                "environment_variables": [{ "key": "ADMIN", "value": "1", "is_hidden": false }] }),
        json!({ "application": APP, "version": VERSION, "tags": ["vip"] }),
        json!({ "application": APP, "version": VERSION, "webhook_on_ready": { "url": "http://evil.example" } }),
        json!({ "application": APP, "version": VERSION, "resources": { "cpu_units": 8192, "memory_mib": 16384 } }),
        json!({ "application": APP, "version": VERSION, "private_host_ids": ["h1"] }),
    ] {
        let answer = deploy_body(&gw, &player, None, &body);
        assert_eq!(answer.status, 403, "{body}: {}", answer.text);
    }
    // Malformed bodies are 400, and also stop at the gateway.
    for body in [json!([]), json!({ "application": APP })] {
        assert_eq!(deploy_body(&gw, &player, None, &body).status, 400);
    }
    assert_eq!(emu.requests().len(), before);
    assert_eq!(emu.request_count(Route::DeployV2), 0);
}

#[test]
fn the_live_quota_is_429_and_frees_up_when_a_server_ends() {
    let emu = emulator();
    // Quota checks read the gateway's view: a short interval, so it catches up soon.
    let interval = Duration::from_millis(50);
    let gw = builder(&emu).status_interval(interval).start().unwrap();
    let alice = token("alice");
    let first = deploy(&gw, &alice, Some("k1")).request_id();
    let refused = deploy(&gw, &alice, Some("k2"));
    assert_retry_later(&refused, 429);
    assert_eq!(
        emu.deployments().len(),
        1,
        "the quota let a second server through"
    );

    // Another player has a quota of their own.
    let bob = deploy(&gw, &token("bob"), None);
    assert_eq!(bob.status, 202, "{}", bob.text);

    // The server ends without the gateway (it stopped itself): Edgegap is asked (once the
    // view is older than the interval), and the slot is free again.
    assert!(emu.wait_for_status(&first, "Status.READY", Duration::from_secs(10)));
    let direct = ureq::delete(&format!("{}/v1/stop/{first}", emu.base_url()))
        .set("Authorization", &format!("token {ORG_TOKEN}"))
        .call();
    assert!(direct.is_ok());
    assert!(emu.wait_for_status(&first, "Status.TERMINATED", Duration::from_secs(10)));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let again = loop {
        std::thread::sleep(interval * 2);
        let again = deploy(&gw, &alice, Some("k3"));
        if again.status != 429 || std::time::Instant::now() > deadline {
            break again;
        }
    };
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(emu.deployments().len(), 3);
}

#[test]
fn the_per_player_deploy_rate_is_429() {
    let emu = emulator();
    let gw = builder(&emu)
        .max_live_per_player(10)
        .deploys_per_minute(2)
        .start()
        .unwrap();
    let alice = token("alice");
    assert_eq!(deploy(&gw, &alice, None).status, 202);
    assert_eq!(deploy(&gw, &alice, None).status, 202);
    let third = deploy(&gw, &alice, None);
    assert_eq!(third.status, 429, "{}", third.text);
    let retry: u64 = third.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "Retry-After {retry}");
    assert_eq!(emu.request_count(Route::DeployV2), 2);
}

#[test]
fn a_body_over_64_kib_is_a_json_413() {
    let emu = emulator();
    let gw = gateway(&emu);
    let padding = "x".repeat(70 * 1024);
    let body = json!({ "application": APP, "version": VERSION, "padding": padding });
    // `send` checks every error answer is `{"message"}`.
    let answer = deploy_body(&gw, &token("alice"), None, &body);
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(emu.request_count(Route::DeployV2), 0);
}
