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
