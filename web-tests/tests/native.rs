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
