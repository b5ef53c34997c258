//! A match whose deployment fails goes back to searching and is deployed again, up to
//! `max_deployment_retry_count` retries (2 in these configs), then is cancelled.

mod support;

use edgegap_emulator::{AppVersion, Fault, FaultKind, Route};
use support::{duel, duel_config, matchmaker_builder};

fn config() -> String {
    duel_config()
}

#[test]
fn a_deployment_in_error_is_retried_then_host_assigned() {
    let emu = matchmaker_builder(&config())
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .fault(Fault::new(Route::DeployV2, FaultKind::CouldNotAllocate).times(1))
        .start()
        .expect("starts");
    let [a, b] = duel(&emu, "HOST_ASSIGNED");
    assert_eq!(a["assignment"], b["assignment"]);
    let deployments = emu.deployments();
    assert_eq!(deployments.len(), 2, "{deployments:?}");
    let (failed, retried) = (&deployments[0], &deployments[1]);
    assert_eq!(failed.status, "Status.ERROR");
    assert_eq!(
        failed.error_detail.as_deref(),
        Some("Couldn't allocate a server")
    );
    assert_eq!(retried.status, "Status.READY");
    assert_eq!(
        a["assignment"]["fqdn"],
        format!("{}.pr.edgegap.net", retried.request_id)
    );
    assert_eq!(
        failed.env["MM_TICKET_IDS"], retried.env["MM_TICKET_IDS"],
        "the same players"
    );
    assert_ne!(failed.env["MM_MATCH_ID"], retried.env["MM_MATCH_ID"]);
    assert_eq!(emu.faults_injected(Route::DeployV2), 1);
}

#[test]
fn a_refused_deploy_call_is_retried() {
    let emu = matchmaker_builder(&config())
        .app_version(AppVersion::simulated("game", "v1"))
        .fault(Fault::new(Route::DeployV2, FaultKind::Status(503)).times(2))
        .start()
        .expect("starts");
    duel(&emu, "HOST_ASSIGNED");
    assert_eq!(emu.faults_injected(Route::DeployV2), 2);
    assert_eq!(
        emu.deployments().len(),
        1,
        "a refused call makes no deployment"
    );
}

#[test]
fn a_match_is_cancelled_after_its_last_retry() {
    let emu = matchmaker_builder(&config())
        .app_version(AppVersion::simulated("game", "v1").fail_with("Pull image timeout exceeded"))
        .start()
        .expect("starts");
    let [a, _] = duel(&emu, "CANCELLED");
    assert!(a["assignment"].is_null());
    let deployments = emu.deployments();
    assert_eq!(
        deployments.len(),
        3,
        "one attempt and two retries: {deployments:?}"
    );
    assert!(deployments.iter().all(|d| d.status == "Status.ERROR"));
}
