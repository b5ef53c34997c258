//! A hostile client against the gateway: every trick is refused with the right status, nothing
//! it is refused reaches Edgegap (counted on the emulator), and the organisation token appears
//! in no answer (checked on every answer by `support::send`) and no log line.

mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use edgegap_emulator::{Fault, FaultKind, Route};
use edgegap_gateway::Gateway;
use serde_json::json;
use support::*;

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn bad_tokens_are_401_and_nothing_reaches_edgegap() {
    let emu = emulator();
    let gw = gateway(&emu);
    let before = emu.requests().len();
    let claims = json!({ "sub": "mallory", "exp": now() + 600 });
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&claims)
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("garbled", Some("Bearer not.a.jwt".into())),
        ("empty bearer", Some("Bearer ".into())),
        ("wrong scheme", Some(format!("Basic {}", token("mallory")))),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                signed(SECRET, &json!({ "sub": "mallory", "exp": now() - 3600 }))
            )),
        ),
        (
            "wrong key",
            Some(format!(
                "Bearer {}",
                signed(b"some-other-secret-of-some-other-game!", &claims)
            )),
        ),
        ("alg none", Some(format!("Bearer {alg_none}"))),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                signed(SECRET, &json!({ "sub": "mallory" }))
            )),
        ),
        (
            "no sub",
            Some(format!(
                "Bearer {}",
                signed(SECRET, &json!({ "exp": now() + 600 }))
            )),
        ),
        ("org token as bearer", Some(format!("Bearer {ORG_TOKEN}"))),
        (
            "org token, Edgegap style",
            Some(format!("token {ORG_TOKEN}")),
        ),
    ];
    let body = json!({ "application": APP, "version": VERSION }).to_string();
    for (name, auth) in &cases {
        let mut headers = Vec::new();
        if let Some(auth) = auth {
            headers.push(("Authorization", auth.as_str()));
        }
        let base = gw.base_url();
        for (method, url, body) in [
            (
                "POST",
                format!("{base}/v2/deployments"),
                Some(body.as_str()),
            ),
            ("GET", format!("{base}/v1/status/a69f8e3e0555"), None),
            ("DELETE", format!("{base}/v1/stop/a69f8e3e0555"), None),
        ] {
            let answer = send(method, &url, &headers, body);
            assert_eq!(answer.status, 401, "{name} {method}: {}", answer.text);
        }
    }
    assert_eq!(
        emu.requests().len(),
        before,
        "a refused client reached Edgegap: {:?}",
        &emu.requests()[before..]
    );
    assert!(emu.deployments().is_empty());
    // Both forms were recognised (Bearer, and Edgegap's own `token` scheme), 3 calls each.
    let warnings = logs()
        .matches("sent the organisation token as its player token")
        .count();
    assert!(
        warnings >= 6,
        "the gateway did not warn about each leaked organisation token: {warnings}"
    );
}

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
fn another_players_deployment_is_404_and_untouched() {
    let emu = emulator();
    let gw = gateway(&emu);
    let (alice, bob) = (token("alice"), token("bob"));
    let id = deploy(&gw, &alice, Some("a-1")).request_id();
    let ready = wait_ready(&gw, &alice, &id);
    assert_eq!(
        ready.json["request_id"],
        id.as_str(),
        "Edgegap's status object, forwarded"
    );

    for answer in [status(&gw, &bob, &id), stop(&gw, &bob, &id)] {
        assert_eq!(answer.status, 404, "{}", answer.text);
        assert_eq!(answer.message(), "deployment not found");
    }
    // An unknown id answers exactly the same, so bob cannot tell the two apart.
    let unknown = status(&gw, &bob, "0123456789ab");
    assert_eq!(
        (unknown.status, unknown.text.clone()),
        (404, status(&gw, &bob, &id).text)
    );
    // Ids that are not ids never reach Edgegap.
    let before = upstream_calls(&emu);
    assert_eq!(status(&gw, &bob, "..%2F..%2Fv1%2Fdeployments").status, 404);
    assert_eq!(upstream_calls(&emu), before);

    let info = emu.deployment(&id).unwrap();
    assert_eq!(info.status, "Status.READY");
    assert_eq!(info.stopped_by, None, "bob stopped alice's server");

    let stopped = stop(&gw, &alice, &id);
    assert!(matches!(stopped.status, 200 | 202), "{}", stopped.text);
    assert!(emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)));
    assert_eq!(
        emu.deployment(&id).unwrap().stopped_by.as_deref(),
        Some("api")
    );
}

#[test]
fn the_live_quota_is_429_and_frees_up_when_a_server_ends() {
    let emu = emulator();
    let gw = gateway(&emu);
    let alice = token("alice");
    let first = deploy(&gw, &alice, Some("k1")).request_id();
    let refused = deploy(&gw, &alice, Some("k2"));
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.header("Retry-After").is_some());
    assert_eq!(
        emu.deployments().len(),
        1,
        "the quota let a second server through"
    );

    // Another player has a quota of their own.
    let bob = deploy(&gw, &token("bob"), None);
    assert_eq!(bob.status, 202, "{}", bob.text);

    // The server ends without the gateway (it stopped itself): Edgegap is asked, and the slot
    // is free again.
    assert!(emu.wait_for_status(&first, "Status.READY", Duration::from_secs(10)));
    let direct = ureq::delete(&format!("{}/v1/stop/{first}", emu.base_url()))
        .set("Authorization", &format!("token {ORG_TOKEN}"))
        .call();
    assert!(direct.is_ok());
    assert!(emu.wait_for_status(&first, "Status.TERMINATED", Duration::from_secs(10)));
    let again = deploy(&gw, &alice, Some("k3"));
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
fn an_idempotency_key_replay_creates_one_server() {
    let emu = emulator();
    let gw = builder(&emu).max_live_per_player(5).start().unwrap();
    let (alice, bob) = (token("alice"), token("bob"));
    let first = deploy(&gw, &alice, Some("match-42"));
    assert_eq!(first.status, 202, "{}", first.text);
    let id = first.request_id();
    for _ in 0..3 {
        let replay = deploy(&gw, &alice, Some("match-42"));
        assert_eq!((replay.status, replay.request_id()), (202, id.clone()));
    }
    assert_eq!(emu.request_count(Route::DeployV2), 1);
    assert_eq!(emu.deployments().len(), 1);
    // The same key from another player is another deploy.
    let other = deploy(&gw, &bob, Some("match-42")).request_id();
    assert_ne!(other, id);
    assert_eq!(emu.deployments().len(), 2);
    // Keys must be printable ASCII, at most 64 characters.
    for key in ["x".repeat(65), "with space".into()] {
        let answer = deploy(&gw, &alice, Some(&key));
        assert_eq!(answer.status, 400, "{key:?}: {}", answer.text);
    }
    assert_eq!(emu.request_count(Route::DeployV2), 2);
}

#[test]
fn edgegap_failures_are_502_or_503_with_retry_after() {
    let emu = emulator();
    let gw = builder(&emu).max_live_per_player(5).start().unwrap();
    let alice = token("alice");
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::Status(500)).times(1));
    let failed = deploy(&gw, &alice, Some("k"));
    assert_eq!(failed.status, 502, "{}", failed.text);
    assert!(failed.header("Retry-After").is_some());
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::Html502).times(1));
    assert_eq!(deploy(&gw, &alice, Some("k")).status, 502);
    emu.add_fault(
        Fault::new(
            Route::DeployV2,
            FaultKind::RateLimited {
                retry_after: Duration::from_secs(3),
            },
        )
        .times(1),
    );
    let limited = deploy(&gw, &alice, Some("k"));
    assert_eq!(limited.status, 503, "{}", limited.text);
    assert_eq!(limited.header("Retry-After"), Some("3"));
    // A failed deploy released the key and the live slot: the retry goes through.
    let ok = deploy(&gw, &alice, Some("k"));
    assert_eq!(ok.status, 202, "{}", ok.text);
    assert_eq!(emu.deployments().len(), 1);
}

#[test]
fn a_gateway_with_a_wrong_organisation_token_says_so_without_leaking_either() {
    let emu = emulator();
    let gw = Gateway::builder()
        .upstream(emu.base_url(), "not-the-org-token")
        .allow(APP, VERSION)
        .hs256_secret(SECRET)
        .start()
        .unwrap();
    let answer = deploy(&gw, &token("alice"), None);
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert!(!answer.text.contains("not-the-org-token"));
    assert!(!logs().contains("not-the-org-token"));
}

#[test]
fn health_and_unserved_routes() {
    let emu = emulator();
    let gw = gateway(&emu);
    let health = send("GET", &format!("{}/healthz", gw.base_url()), &[], None);
    assert_eq!(health.status, 200);
    let auth = format!("Bearer {}", token("alice"));
    for (method, path) in [
        ("GET", "/v1/deployments"),
        ("POST", "/v1/deployments/bulk-stop"),
        ("GET", "/v1/locations"),
    ] {
        let answer = send(
            method,
            &format!("{}{path}", gw.base_url()),
            &[("Authorization", &auth)],
            None,
        );
        assert_eq!(answer.status, 404, "{method} {path}");
    }
    assert_eq!(upstream_calls(&emu), 0);
}

#[test]
fn the_organisation_token_is_in_no_log_line() {
    let emu = emulator();
    // A short status interval, so each read below goes upstream once the view is stale.
    let interval = std::time::Duration::from_millis(50);
    let gw = builder(&emu)
        .max_live_per_player(2)
        .status_interval(interval)
        .start()
        .unwrap();
    // A full flow at trace level, with failures, then look at everything logged.
    let alice = token("alice");
    let id = deploy(&gw, &alice, Some("x")).request_id();
    wait_ready(&gw, &alice, &id);
    emu.add_fault(Fault::new(Route::Status, FaultKind::Status(503)).times(1));
    std::thread::sleep(interval * 2);
    assert_eq!(status(&gw, &alice, &id).status, 502);
    std::thread::sleep(interval * 2);
    assert_eq!(status(&gw, &token("bob"), &id).status, 404);
    assert!(matches!(stop(&gw, &alice, &id).status, 200 | 202));
    send(
        "POST",
        &format!("{}/v2/deployments", gw.base_url()),
        &[("Authorization", &format!("Bearer {ORG_TOKEN}"))],
        Some("{}"),
    );
    gw.shutdown();
    let logs = logs();
    assert!(
        logs.contains(&format!("deployed `{id}`")),
        "nothing captured: {logs}"
    );
    assert!(
        logs.contains("upstream request"),
        "trace lines missing: {logs}"
    );
    assert!(
        !logs.contains(ORG_TOKEN),
        "the organisation token is in the log"
    );
}

#[test]
fn a_deploy_edgegap_made_but_answered_unreadably_is_found_not_repeated() {
    let emu = emulator();
    let gw = gateway(&emu);
    let alice = token("alice");
    // Edgegap creates the deployment, then its answer cannot be read: the gateway does not
    // know the id, but the deployment carries alice's owner tag.
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::MalformedJson).times(1));
    let first = deploy(&gw, &alice, Some("k"));
    assert_eq!(first.status, 202, "{}", first.text);
    let id = first.request_id();
    assert_eq!(emu.deployments().len(), 1);
    assert_eq!(emu.deployments()[0].request_id, id);
    // The client's retry gets the same server, and the quota counts it.
    let retry = deploy(&gw, &alice, Some("k"));
    assert_eq!((retry.status, retry.request_id()), (202, id.clone()));
    assert_eq!(deploy(&gw, &alice, Some("other")).status, 429);
    assert_eq!(emu.deployments().len(), 1, "a second server was created");
    assert_eq!(status(&gw, &alice, &id).status, 200);
}
