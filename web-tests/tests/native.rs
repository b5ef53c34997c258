//! The browser scenarios, natively: the same assertions `tests/browser.rs` makes in headless
//! Chromium hold here, so the browser behaves as native does. (The CORS scenario is browser
//! only: natively there is no CORS check.)
#![cfg(not(target_arch = "wasm32"))]

use std::sync::OnceLock;

use edgegap_web_tests::scenarios;
use edgegap_web_tests::services::Services;
use futures_lite::future::block_on;

/// One set of services for this test process (each scenario has its own player and fault
/// names, so they run in parallel).
fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| Services::start(&[]))
}

#[test]
fn deploys_sees_ready_and_stops() {
    block_on(scenarios::deploys_sees_ready_and_stops(&services().setup));
}

#[test]
fn an_html_502_is_an_api_error_with_its_body() {
    block_on(scenarios::an_html_502_is_an_api_error_with_its_body(
        &services().setup,
    ));
}

#[test]
fn a_hung_answer_times_out_and_is_cancelled() {
    block_on(scenarios::a_hung_answer_times_out_and_is_cancelled(
        &services().setup,
    ));
}

#[test]
fn a_deploy_past_its_deadline_resolves_once() {
    block_on(scenarios::a_deploy_past_its_deadline_resolves_once(
        &services().setup,
    ));
}

#[test]
fn the_in_flight_cap_holds() {
    block_on(scenarios::the_in_flight_cap_holds(&services().setup));
}

#[test]
fn a_refusal_keeps_its_retry_after() {
    block_on(scenarios::a_refusal_keeps_its_retry_after(
        &services().setup,
    ));
}

#[test]
fn an_answer_over_the_body_cap_is_refused() {
    block_on(scenarios::an_answer_over_the_body_cap_is_refused(
        &services().setup,
    ));
}

#[test]
fn two_players_land_on_one_server() {
    let services = services();
    let assigned = block_on(scenarios::two_players_land_on_one_server(&services.setup));
    // Natively the harness can also look at the server: one deployment, made by the
    // matchmaker for both tickets, is the one the assignment names.
    let fqdn = assigned[0].assignment.fqdn.clone().expect("an FQDN");
    let server: Vec<_> = services
        .matches(edgegap_web_tests::DUEL_PROFILE)
        .into_iter()
        .filter(|d| fqdn.starts_with(&format!("{}.", d.request_id)))
        .collect();
    assert_eq!(server.len(), 1, "the assignment's server: {fqdn}");
    let tickets: Vec<String> =
        serde_json::from_str(&server[0].env["MM_TICKET_IDS"]).expect("MM_TICKET_IDS is JSON");
    for player in &assigned {
        let ticket = player.ticket_id.as_ref().expect("a ticket");
        assert!(tickets.contains(ticket), "{ticket} not in {tickets:?}");
    }
    assert_eq!(tickets.len(), 2, "{tickets:?}");
}
