//! One server per intent: the same `Idempotency-Key` from the same player answers the same
//! server, and a deploy Edgegap made but answered unreadably is found by its owner tag, not
//! made again. (A replica killed mid-deploy: `faults.rs`.)

mod support;

use edgegap_emulator::{Fault, FaultKind, Route};
use support::*;

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

#[test]
fn a_failed_list_after_an_uncertain_deploy_keeps_the_claim() {
    let emu = emulator();
    let mut config = builder(&emu).config().clone();
    // The longest upstream call (budget wait + timeout + 1 s) is 3 s: after it, a claim
    // nobody finished is looked into.
    config.upstream.timeout_secs = 1;
    let gw = edgegap_gateway::GatewayBuilder::from_config(config)
        .start()
        .unwrap();
    let alice = token("alice");
    // Edgegap makes the server but its answer is unreadable, and the list that would find it
    // fails: the gateway cannot know whether a server exists.
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::MalformedJson).times(1));
    emu.add_fault(Fault::new(Route::ListDeployments, FaultKind::Status(500)).times(1));
    let uncertain = deploy(&gw, &alice, Some("k"));
    assert_retry_later(&uncertain, 503);
    assert_eq!(emu.deployments().len(), 1);
    // Retrying with the same key never makes a second server: it gets the one that exists.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let retry = loop {
        let retry = deploy(&gw, &alice, Some("k"));
        if retry.status != 503 || std::time::Instant::now() > deadline {
            break retry;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(emu.deployments().len(), 1, "a second server");
    assert_eq!(retry.request_id(), emu.deployments()[0].request_id);
}
