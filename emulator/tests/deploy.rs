//! Deploys: the v2 body's validation (each problem named, v1 field names refused, nothing
//! created on a refusal) and the legacy `POST /v1/deploy`.

mod support;

use edgegap_emulator::EmulatorHandle;
use serde_json::{Value, json};
use support::{api, deploy, deploy_body, emulator, game_emulator, send};

fn expect_400(emu: &EmulatorHandle, body: &str, names: &str) {
    let answer = send(
        "POST",
        &format!("{}/v2/deployments", emu.base_url()),
        Some("token test-token"),
        Some(body),
    );
    assert_eq!(answer.status, 400, "{body}: {answer:?}");
    let message = answer.message();
    assert!(
        answer.json["details"].is_object(),
        "details object: {answer:?}"
    );
    let all = format!("{message} {}", answer.json["details"]);
    assert!(all.contains(names), "`{names}` not named for {body}: {all}");
}

#[test]
fn deploy_validation_names_the_problem() {
    let emu = game_emulator();
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
fn legacy_v1_deploy() {
    let emu = emulator();
    let body = json!({
        "app_name": "game", "version_name": "v1", "ip_list": ["1.2.3.4"], "tags": ["legacy"],
        "env_vars": [{"key": "A", "value": "1", "is_hidden": "true"}],
        "filters": [{"field": "country", "values": ["Canada"], "filter_type": "any"}],
    });
    let answer = api(&emu, "POST", "/v1/deploy", Some(&body));
    assert_eq!(answer.status, 200, "{answer:?}");
    let a = &answer.json;
    let id = a["request_id"].as_str().expect("request_id").to_owned();
    assert_eq!(a["request_dns"], json!(format!("{id}.pr.edgegap.net")));
    assert_eq!(
        (a["request_app"].as_str(), a["request_version"].as_str()),
        (Some("game"), Some("v1"))
    );
    assert_eq!(a["request_user_count"], 1);
    assert_eq!(a["container_log_storage"]["enabled"], false);
    assert_eq!(a["filters"][0]["field"], "country");
    assert_eq!(a["tags"], json!(["legacy"]));
    assert_eq!(emu.deployment(&id).expect("known").env["A"], "1");
    let latest = api(
        &emu,
        "POST",
        "/v1/deploy",
        Some(&json!({"app_name": "game"})),
    );
    assert_eq!(
        latest.json["request_version"], "stuck",
        "no version_name: the last declared version"
    );
    assert_eq!(
        api(
            &emu,
            "POST",
            "/v1/deploy",
            Some(&json!({"app_name": "nope"}))
        )
        .status,
        404
    );
    assert_eq!(
        api(
            &emu,
            "POST",
            "/v1/deploy",
            Some(&json!({"app_name": "game", "version_name": "x"}))
        )
        .status,
        400
    );
    let missing = api(
        &emu,
        "POST",
        "/v1/deploy",
        Some(&json!({"version_name": "v1"})),
    );
    assert_eq!(missing.status, 400);
    assert!(missing.message().contains("app_name"), "{missing:?}");
    let both = json!({"app_name": "game", "ip_list": ["1.2.3.4"], "geo_ip_list": [{"ip": "1.2.3.4", "latitude": 1.0, "longitude": 2.0}]});
    assert_eq!(api(&emu, "POST", "/v1/deploy", Some(&both)).status, 400);
    let bad_filter = json!({"app_name": "game", "filters": [{"field": "planet", "values": [], "filter_type": "any"}]});
    assert_eq!(
        api(&emu, "POST", "/v1/deploy", Some(&bad_filter)).status,
        400
    );
}
