//! Stops: `DELETE /v1/stop` (200 once READY or ERROR, 202 and deferred before, 410 once gone),
//! self-stop with the injected URL and raw token, bulk stop by filters, unknown ids, and
//! concurrent stops that apply once.

mod support;

use std::thread;
use std::time::Duration;

use edgegap_emulator::{Emulator, EmulatorHandle, Route};
use serde_json::json;
use support::{
    Answer, api, deploy, deploy_body, deploy_ready, deploy_tagged, emulator, game_emulator,
    quick_emulator, send, status_of, stepped_emulator, wait_status,
};

/// `DELETE /v1/stop/{id}`, asserting `status` and a message that names the deployment.
fn stop(emu: &EmulatorHandle, id: &str, status: u16) -> Answer {
    let stop = api(emu, "DELETE", &format!("/v1/stop/{id}"), None);
    assert_eq!(stop.status, status, "{stop:?}");
    assert!(stop.message().contains(id), "{stop:?}");
    stop
}

#[test]
fn stop_ready_then_gone() {
    let emu = game_emulator();
    let id = deploy(&emu, &deploy_body("game", "v1"));
    wait_status(&emu, &id, "Status.READY");
    let stop = stop(&emu, &id, 200);
    assert_eq!(stop.json["deployment_summary"]["request_id"], json!(id));
    assert_eq!(
        stop.json["deployment_summary"]["current_status"],
        "Status.READY"
    );
    wait_status(&emu, &id, "Status.TERMINATED");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(info.stopped_by.as_deref(), Some("api"));
    assert_eq!(
        info.transitions[6..],
        ["Status.TERMINATING", "Status.TERMINATED"]
    );
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None).json;
    assert_eq!(status["current_status"], "Status.TERMINATED");
    assert!(status["removal_time"].is_string());
    assert_eq!(status["running"], false);
    let again = api(&emu, "DELETE", &format!("/v1/stop/{id}"), None);
    assert_eq!(
        (again.status, again.json["message"].as_str()),
        (410, Some("Instance Already terminated"))
    );
}

#[test]
fn stop_errored_deployment_answers_200() {
    let emu = game_emulator();
    let id = deploy(&emu, &deploy_body("game", "broken"));
    wait_status(&emu, &id, "Status.ERROR");
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 200);
    wait_status(&emu, &id, "Status.TERMINATED");
}

#[test]
fn stop_before_ready_is_deferred_until_ready() {
    let emu = stepped_emulator(Duration::from_millis(30));
    let id = deploy(&emu, &deploy_body("game", "v1"));
    let stop = stop(&emu, &id, 202);
    assert!(stop.json.get("deployment_summary").is_none());
    wait_status(&emu, &id, "Status.TERMINATED");
    let info = emu.deployment(&id).expect("known");
    assert!(
        info.transitions.iter().any(|s| s == "Status.READY"),
        "{info:?}"
    );
    assert_eq!(
        info.transitions.last().map(String::as_str),
        Some("Status.TERMINATED")
    );
}

#[test]
fn unknown_ids_answer_the_configured_status() {
    let emu = game_emulator();
    for (method, path) in [
        ("GET", "/v1/status/000000000000"),
        ("DELETE", "/v1/stop/000000000000"),
    ] {
        let answer = api(&emu, method, path, None);
        assert_eq!(answer.status, 404, "{path}");
        assert!(answer.json["message"].is_string());
    }
    let live = Emulator::builder()
        .unknown_deployment_status(400)
        .start()
        .expect("starts");
    assert_eq!(status_of(&live, "GET", "/v1/status/000000000000"), 400);
    assert_eq!(status_of(&live, "DELETE", "/v1/stop/000000000000"), 400);
    assert!(
        Emulator::builder()
            .unknown_deployment_status(500)
            .start()
            .is_err()
    );
}

#[test]
fn self_stop_with_the_injected_url_and_raw_token() {
    let emu = game_emulator();
    let id = deploy(&emu, &deploy_body("game", "v1"));
    wait_status(&emu, &id, "Status.READY");
    let env = emu.deployment(&id).expect("known").env;
    let url = env["ARBITRIUM_DELETE_URL"].clone();
    let token = env["ARBITRIUM_DELETE_TOKEN"].clone();
    assert!(
        url.starts_with(&format!("{}/v1/self/stop/{id}/", emu.base_url())),
        "{url}"
    );
    assert_eq!(token.len(), 32);
    assert_eq!(send("DELETE", &url, None, None).status, 401);
    assert_eq!(
        send("DELETE", &url, Some(&format!("token {token}")), None).status,
        401
    );
    assert_eq!(
        send("DELETE", &url, Some("token test-token"), None).status,
        401,
        "API token is not the delete token"
    );
    let wrong_key = format!("{}/v1/self/stop/{id}/999999999", emu.base_url());
    assert_eq!(send("DELETE", &wrong_key, Some(&token), None).status, 404);
    let ok = send("DELETE", &url, Some(&token), None);
    assert_eq!(ok.status, 200, "{ok:?}");
    wait_status(&emu, &id, "Status.TERMINATED");
    assert_eq!(
        emu.deployment(&id).expect("known").stopped_by.as_deref(),
        Some("self")
    );
    assert_eq!(send("DELETE", &url, Some(&token), None).status, 410);
    assert_eq!(emu.request_count(Route::SelfStop), 6);
}

#[test]
fn bulk_stop_filters_are_anded() {
    let emu = emulator();
    let a = deploy_tagged(&emu, "v1", &["red", "big"]);
    let b = deploy_tagged(&emu, "v1", &["red"]);
    let c = deploy_tagged(&emu, "v1", &["blue"]);
    let filters = json!({"filters": [
        {"field": "deployment_tags", "filter_type": "any", "values": ["red"]},
        {"field": "request_id", "filter_type": "not", "values": [b]},
    ]});
    let answer = api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&filters));
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.json, json!({"processable": [{"request_id": a}]}));
    wait_status(&emu, &a, "Status.TERMINATED");
    assert_eq!(
        emu.deployment(&a).expect("known").stopped_by.as_deref(),
        Some("bulk")
    );
    let all = json!({"filters": [{"field": "deployment_tags", "filter_type": "all", "values": ["red", "big"]}]});
    assert_eq!(
        api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&all)).json["processable"],
        json!([]),
        "terminated ones are not processable"
    );
    let by_id =
        json!({"filters": [{"field": "request_id", "filter_type": "any", "values": [b, c]}]});
    let answer = api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&by_id));
    assert_eq!(answer.json["processable"].as_array().map(Vec::len), Some(2));
    for bad in [
        json!({}),
        json!({"filters": [{"field": "status", "filter_type": "any", "values": []}]}),
        json!({"filters": [{"field": "request_id", "filter_type": "some", "values": []}]}),
        json!({"filters": [{"field": "request_id", "filter_type": "any"}]}),
    ] {
        assert_eq!(
            api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&bad)).status,
            400,
            "{bad}"
        );
    }
    let legacy = Emulator::builder()
        .token("t")
        .bulk_stop_status(200)
        .start()
        .expect("starts");
    let answer = api(&legacy, "POST", "/v1/deployments/bulk-stop", Some(&by_id));
    assert_eq!(
        (answer.status, answer.json["processable"].clone()),
        (200, json!([]))
    );
}

#[test]
fn concurrent_stops_stop_once() {
    let emu = quick_emulator();
    for _ in 0..20 {
        let id = deploy_ready(&emu);
        let (token, base) = (emu.token(), emu.base_url());
        let env = emu.deployment(&id).expect("known").env;
        let (self_url, delete_token) = (
            env["ARBITRIUM_DELETE_URL"].clone(),
            env["ARBITRIUM_DELETE_TOKEN"].clone(),
        );
        let api_url = format!("{base}/v1/stop/{id}");
        let api_auth = format!("token {token}");
        let answers: Vec<(u16, &str)> = thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|i| {
                    let (api_url, api_auth) = (&api_url, &api_auth);
                    let (self_url, delete_token) = (&self_url, &delete_token);
                    scope.spawn(move || {
                        if i % 2 == 0 {
                            (send("DELETE", api_url, Some(api_auth), None).status, "api")
                        } else {
                            (
                                send("DELETE", self_url, Some(delete_token), None).status,
                                "self",
                            )
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        wait_status(&emu, &id, "Status.TERMINATED");
        let info = emu.deployment(&id).expect("known");
        let terminating = info
            .transitions
            .iter()
            .filter(|s| *s == "Status.TERMINATING")
            .count();
        assert_eq!(terminating, 1, "{info:?}");
        let winners: Vec<&str> = answers
            .iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, who)| *who)
            .collect();
        assert_eq!(winners.len(), 1, "one stop wins: {answers:?}");
        assert_eq!(info.stopped_by.as_deref(), Some(winners[0]), "{answers:?}");
    }
}
