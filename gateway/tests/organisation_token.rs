//! The organisation token stays in the gateway: in no answer (checked on every answer by
//! `support::send`) and no log line, at trace level, through a full flow with failures; a
//! wrong one is reported as such without leaking either.

mod support;

use edgegap_emulator::{Fault, FaultKind, Route};
use support::*;

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
    // Edgegap fails the list the status is read through, then the status read that follows.
    for read in [Route::ListDeployments, Route::Status] {
        emu.add_fault(Fault::new(read, FaultKind::Status(503)).times(1));
    }
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
fn a_gateway_with_a_wrong_organisation_token_says_so_without_leaking_either() {
    let emu = emulator();
    let gw = builder(&emu)
        .upstream(emu.base_url(), "not-the-org-token")
        .start()
        .unwrap();
    let answer = deploy(&gw, &token("alice"), None);
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert!(!answer.text.contains("not-the-org-token"));
    assert!(!logs().contains("not-the-org-token"));
}
