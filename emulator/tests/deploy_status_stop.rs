//! Auth, v2 deploy and its validation, status objects, the lifecycle order, stop and self-stop.

mod common;

use std::time::Duration;

use common::{api, deploy, deploy_body, send, wait_status, wait_until};
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Route};
use serde_json::{Value, json};

const ORDER: [&str; 6] = [
    "Status.INITIALIZING",
    "Status.SEEKING",
    "Status.SEEKED",
    "Status.SCANNING",
    "Status.DEPLOYING",
    "Status.READY",
];

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("test-token")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(
            AppVersion::simulated("game", "broken").fail_with("Pull image timeout exceeded"),
        )
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("emulator starts")
}

#[test]
fn base_url_and_token() {
    let emu = emulator();
    assert!(emu.base_url().starts_with("http://127.0.0.1:"));
    assert!(!emu.base_url().ends_with('/'));
    assert_eq!(emu.token(), "test-token");
    let random = Emulator::builder().start().expect("starts");
    assert_eq!(random.token().len(), 32);
}

#[test]
fn auth_needs_the_token_scheme() {
    let emu = emulator();
    let url = format!("{}/v2/deployments", emu.base_url());
    let body = deploy_body("game", "v1").to_string();
    for auth in [
        None,
        Some("Bearer test-token"),
        Some("test-token"),
        Some("token wrong"),
        Some("token "),
    ] {
        let answer = send("POST", &url, auth, Some(&body));
        assert_eq!(answer.status, 401, "auth {auth:?}: {answer:?}");
        assert!(answer.json["message"].is_string(), "{answer:?}");
    }
    let status = send(
        "GET",
        &format!("{}/v1/status/abc", emu.base_url()),
        Some("Bearer test-token"),
        None,
    );
    assert_eq!(status.status, 401);
    assert_eq!(
        send("POST", &url, Some("token test-token"), Some(&body)).status,
        202
    );
    assert!(
        emu.deployments().len() == 1,
        "only the authorised deploy created a deployment"
    );
    assert_eq!(emu.request_count(Route::DeployV2), 6);
}

#[test]
fn deploy_answers_a_request_id_and_status_reaches_ready_in_order() {
    let emu = emulator();
    let id = deploy(&emu, &deploy_body("game", "v1"));
    assert_eq!(id.len(), 12);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{id}"
    );
    wait_status(&emu, &id, "Status.READY");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(info.transitions, ORDER);
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None);
    assert_eq!(status.status, 200);
    let s = &status.json;
    for key in [
        "request_id",
        "fqdn",
        "app_name",
        "app_version",
        "current_status",
        "last_status",
        "running",
        "whitelisting_active",
        "start_time",
        "removal_time",
        "elapsed_time",
        "max_duration",
        "error",
        "error_detail",
        "ports",
        "public_ip",
        "location",
        "tags",
    ] {
        assert!(s.get(key).is_some(), "status lacks `{key}`: {s}");
    }
    assert_eq!(s["request_id"], json!(id));
    assert_eq!(s["fqdn"], json!(format!("{id}.pr.edgegap.net")));
    assert_eq!(s["current_status"], "Status.READY");
    assert_eq!(s["last_status"], "Status.DEPLOYING");
    assert_eq!(s["running"], true);
    assert_eq!(s["error"], false);
    assert_eq!(s["public_ip"], "127.0.0.1");
    assert_eq!(s["max_duration"], 1440);
    assert_eq!(s["whitelisting_active"], false);
    let port = &s["ports"]["gameport"];
    let external = port["external"].as_u64().expect("external");
    assert_eq!(port["internal"], 7777);
    assert_eq!(port["protocol"], "UDP");
    assert_eq!(port["name"], "gameport");
    assert_eq!(port["tls_upgrade"], false);
    assert_eq!(port["link"], json!(format!("127.0.0.1:{external}")));
    let start = s["start_time"].as_str().expect("start_time");
    assert_eq!(start.len(), 26, "`YYYY-MM-DD HH:MM:SS.ffffff`: {start}");
}

#[test]
fn lifecycle_steps_one_status_per_step() {
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .without_rate_limits()
        .lifecycle_step(Duration::from_millis(40))
        .start()
        .expect("starts");
    let id = deploy(&emu, &deploy_body("game", "v1"));
    let mut seen: Vec<String> = Vec::new();
    wait_until("READY", Duration::from_secs(10), || {
        let s = api(&emu, "GET", &format!("/v1/status/{id}"), None).json["current_status"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        s == "Status.READY"
    });
    let positions: Vec<usize> = seen
        .iter()
        .map(|s| ORDER.iter().position(|o| o == s).expect("known status"))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "statuses out of order: {seen:?}"
    );
    assert!(
        seen.len() >= 3,
        "a 40 ms step should show intermediate statuses: {seen:?}"
    );
    assert_eq!(emu.deployment(&id).expect("known").transitions, ORDER);
}

fn expect_400(emu: &EmulatorHandle, body: &str, names: &str) {
    let answer = send(
        "POST",
        &format!("{}/v2/deployments", emu.base_url()),
        Some("token test-token"),
        Some(body),
    );
    assert_eq!(answer.status, 400, "{body}: {answer:?}");
    let message = answer.json["message"].as_str().unwrap_or_default();
    assert!(
        answer.json["details"].is_object(),
        "details object: {answer:?}"
    );
    let all = format!("{message} {}", answer.json["details"]);
    assert!(all.contains(names), "`{names}` not named for {body}: {all}");
}

#[test]
fn deploy_validation_names_the_problem() {
    let emu = emulator();
    let good = deploy_body("game", "v1");
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body.to_string()
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().expect("object").remove(key);
        body.to_string()
    };
    expect_400(&emu, "{not json", "JSON");
    expect_400(&emu, "", "body");
    expect_400(&emu, "[1, 2]", "body");
    expect_400(&emu, &without("users"), "users");
    expect_400(&emu, &without("application"), "application");
    expect_400(&emu, &with("users", json!([])), "users");
    expect_400(
        &emu,
        &with("users", json!([{"user_type": "postcode", "user_data": {}}])),
        "user_type",
    );
    expect_400(
        &emu,
        &with(
            "users",
            json!([{"user_type": "ip_address", "user_data": {"ip_address": "x"}}]),
        ),
        "ip_address",
    );
    expect_400(
        &emu,
        &with(
            "users",
            json!([{"user_type": "geo_coordinates", "user_data": {"latitude": 1}}]),
        ),
        "user_data",
    );
    expect_400(&emu, &with("application", json!(5)), "invalid type");
    expect_400(
        &emu,
        &with("environment_variables", json!([{"key": "A", "value": "b"}])),
        "is_hidden",
    );
    expect_400(
        &emu,
        &with("resources", json!({"cpu_units": 50, "memory_mib": 100})),
        "cpu_units",
    );
    expect_400(
        &emu,
        &with("resources", json!({"cpu_units": 100, "memory_mib": 300})),
        "memory_mib",
    );
    expect_400(
        &emu,
        &with("webhook_on_ready", json!({"url": "ftp://x"})),
        "webhook_on_ready",
    );
    expect_400(&emu, &with("app_name", json!("game")), "app_name");
    expect_400(&emu, &with("ip_list", json!(["1.2.3.4"])), "ip_list");
    expect_400(&emu, &with("version", json!("nope")), "Invalid Application");
    expect_400(
        &emu,
        &with("application", json!("other")),
        "Invalid Application",
    );
    assert!(
        emu.deployments().is_empty(),
        "no invalid deploy created a deployment"
    );
    let ok = json!({
        "application": "game", "version": "v1",
        "users": [{"user_type": "geo_coordinates", "user_data": {"latitude": 45.5, "longitude": -73.5}}],
        "require_cached_locations": null,
        "resources": {"cpu_units": 1024, "memory_mib": 2048},
        "environment_variables": [{"key": "A", "value": "b", "is_hidden": true}],
        "tags": ["x"],
        "unknown_future_field": 1
    });
    deploy(&emu, &ok);
}

#[test]
fn failing_and_stuck_versions() {
    let emu = emulator();
    let broken = deploy(&emu, &deploy_body("game", "broken"));
    wait_status(&emu, &broken, "Status.ERROR");
    let s = api(&emu, "GET", &format!("/v1/status/{broken}"), None).json;
    assert_eq!(s["error"], true);
    assert_eq!(s["running"], false);
    assert_eq!(s["error_detail"], "Pull image timeout exceeded");
    let stuck = deploy(&emu, &deploy_body("game", "stuck"));
    wait_status(&emu, &stuck, "Status.DEPLOYING");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        emu.deployment(&stuck).expect("known").status,
        "Status.DEPLOYING"
    );
    let stop = api(&emu, "DELETE", &format!("/v1/stop/{stuck}"), None);
    assert_eq!(stop.status, 202, "{stop:?}");
    wait_status(&emu, &stuck, "Status.TERMINATED");
}

#[test]
fn stop_ready_then_gone() {
    let emu = emulator();
    let id = deploy(&emu, &deploy_body("game", "v1"));
    wait_status(&emu, &id, "Status.READY");
    let stop = api(&emu, "DELETE", &format!("/v1/stop/{id}"), None);
    assert_eq!(stop.status, 200, "{stop:?}");
    assert!(
        stop.json["message"]
            .as_str()
            .is_some_and(|m| m.contains(&id))
    );
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
    let emu = emulator();
    let id = deploy(&emu, &deploy_body("game", "broken"));
    wait_status(&emu, &id, "Status.ERROR");
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{id}"), None).status,
        200
    );
    wait_status(&emu, &id, "Status.TERMINATED");
}

#[test]
fn stop_before_ready_is_deferred_until_ready() {
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .without_rate_limits()
        .lifecycle_step(Duration::from_millis(30))
        .start()
        .expect("starts");
    let id = deploy(&emu, &deploy_body("game", "v1"));
    let stop = api(&emu, "DELETE", &format!("/v1/stop/{id}"), None);
    assert_eq!(stop.status, 202, "{stop:?}");
    assert!(
        stop.json["message"]
            .as_str()
            .is_some_and(|m| m.contains(&id))
    );
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
    let emu = emulator();
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
    assert_eq!(
        api(&live, "GET", "/v1/status/000000000000", None).status,
        400
    );
    assert_eq!(
        api(&live, "DELETE", "/v1/stop/000000000000", None).status,
        400
    );
    assert!(
        Emulator::builder()
            .unknown_deployment_status(500)
            .start()
            .is_err()
    );
}

#[test]
fn self_stop_with_the_injected_url_and_raw_token() {
    let emu = emulator();
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
fn injected_environment_of_a_simulated_deployment() {
    let emu = Emulator::builder()
        .app_version(
            AppVersion::simulated("game", "v1")
                .port("gameport", 7777, "UDP")
                .port("Web Port", 8080, "TCP")
                .env("FROM_VERSION", "version")
                .env("OVERRIDDEN", "version"),
        )
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    let mut body = deploy_body("game", "v1");
    body["environment_variables"] =
        json!([{"key": "OVERRIDDEN", "value": "deploy", "is_hidden": false}]);
    body["tags"] = json!(["a", "b"]);
    let id = deploy(&emu, &body);
    let info = emu.deployment(&id).expect("known");
    let env = &info.env;
    assert_eq!(env["ARBITRIUM_REQUEST_ID"], id);
    assert_eq!(env["ARBITRIUM_PUBLIC_IP"], "127.0.0.1");
    let mapping: Value = serde_json::from_str(&env["ARBITRIUM_PORTS_MAPPING"]).expect("JSON");
    let external = info.ports["gameport"].1;
    assert_eq!(
        mapping["ports"]["gameport"],
        json!({"name": "gameport", "internal": 7777, "external": external, "protocol": "UDP"})
    );
    assert_eq!(env["ARBITRIUM_PORT_GAMEPORT_INTERNAL"], "7777");
    assert_eq!(
        env["ARBITRIUM_PORT_GAMEPORT_EXTERNAL"],
        external.to_string()
    );
    assert_eq!(env["ARBITRIUM_PORT_GAMEPORT_PROTOCOL"], "UDP");
    assert_eq!(env["ARBITRIUM_PORT_WEB_PORT_INTERNAL"], "8080");
    assert!(
        env["ARBITRIUM_CONTEXT_URL"].starts_with(&format!("{}/v1/context/{id}/", emu.base_url()))
    );
    assert_eq!(env["ARBITRIUM_CONTEXT_TOKEN"].len(), 32);
    let location: Value =
        serde_json::from_str(&env["ARBITRIUM_DEPLOYMENT_LOCATION"]).expect("JSON");
    assert!(location["city"].is_string() && location["latitude"].is_number());
    assert_eq!(env["ARBITRIUM_DEPLOYMENT_TAGS"], "a,b");
    for key in [
        "ARBITRIUM_HOST_ID",
        "ARBITRIUM_HOST_BASE_CLOCK_FREQUENCY",
        "ARBITRIUM_DEPLOYMENT_VCPU_UNITS",
        "ARBITRIUM_DEPLOYMENT_MEMORY_MB",
        "ARBITRIUM_BEACON_ENABLED",
    ] {
        assert!(env.contains_key(key), "{key} missing");
    }
    assert_eq!(env["FROM_VERSION"], "version");
    assert_eq!(env["OVERRIDDEN"], "deploy", "deploy env wins");
}

#[test]
fn unknown_paths_and_methods() {
    let emu = emulator();
    assert_eq!(api(&emu, "GET", "/v3/anything", None).status, 404);
    assert_eq!(api(&emu, "GET", "/v2/deployments", None).status, 405);
    assert_eq!(
        send(
            "GET",
            &format!("{}/v3/anything", emu.base_url()),
            None,
            None
        )
        .status,
        401
    );
    assert_eq!(emu.request_count(Route::Unknown), 3);
    let requests = emu.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        (
            requests[0].method.as_str(),
            requests[0].path.as_str(),
            requests[0].status
        ),
        ("GET", "/v3/anything", 404)
    );
    assert_eq!(requests[1].status, 405);
}

#[test]
fn shutdown_is_idempotent_and_closes_the_port() {
    let emu = emulator();
    let url = emu.base_url();
    emu.shutdown();
    emu.shutdown();
    let result = ureq::get(&format!("{url}/v1/status/x"))
        .timeout(Duration::from_secs(2))
        .call();
    assert!(
        matches!(result, Err(ureq::Error::Transport(_))),
        "server still answering: {result:?}"
    );
}
