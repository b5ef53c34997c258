//! The client plugin in headless Chromium (`wasm-bindgen-test`), against the services the
//! harness started (`cargo xtask test-web`; their URLs come in `EDGEGAP_WEB_SETUP` at build
//! time). The same scenarios run natively in `tests/native.rs`.
#![cfg(target_arch = "wasm32")]

use edgegap_web_tests::{Setup, scenarios};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn deploys_sees_ready_and_stops() {
    scenarios::deploys_sees_ready_and_stops(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn an_html_502_is_an_api_error_with_its_body() {
    scenarios::an_html_502_is_an_api_error_with_its_body(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn a_hung_answer_times_out_and_is_cancelled() {
    scenarios::a_hung_answer_times_out_and_is_cancelled(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn a_deploy_past_its_deadline_resolves_once() {
    scenarios::a_deploy_past_its_deadline_resolves_once(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn pages_from_origins_not_allowed_are_refused() {
    scenarios::pages_from_origins_not_allowed_are_refused(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn the_in_flight_cap_holds() {
    scenarios::the_in_flight_cap_holds(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn a_refusal_keeps_its_retry_after() {
    scenarios::a_refusal_keeps_its_retry_after(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn an_answer_over_the_body_cap_is_refused() {
    scenarios::an_answer_over_the_body_cap_is_refused(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn two_players_land_on_one_server() {
    scenarios::two_players_land_on_one_server(&Setup::from_build()).await;
}

#[wasm_bindgen_test]
async fn a_matchmaker_refusing_the_origin_fails_typed() {
    scenarios::a_matchmaker_refusing_the_origin_fails_typed(&Setup::from_build()).await;
}
