//! Deployment tags (create, read, update, delete; name length) and the context API with the raw
//! injected context token.

mod support;

use std::time::Duration;

use edgegap_emulator::{AppVersion, Emulator, Route};
use serde_json::json;
use support::{
    api, assert_pagination, deploy_body, deploy_ready, deploy_tagged, emulator, send, status_of,
};

#[test]
fn deployment_tags_crud() {
    let emu = emulator();
    let id = deploy_tagged(&emu, "v1", &["initial"]);
    let base = format!("/v1/deployments/{id}/tags");
    let created = api(&emu, "POST", &base, Some(&json!({"name": "v1.0.0"})));
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.json["name"], "v1.0.0");
    assert!(created.json["create_time"].is_string() && created.json["last_updated"].is_string());
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": "v1.0.0"}))).status,
        409
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": ""}))).status,
        400
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": "x".repeat(21)}))).status,
        400
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": "x".repeat(20)}))).status,
        200
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"label": "x"}))).status,
        400
    );
    let listed = api(&emu, "GET", &base, None);
    assert_eq!(listed.status, 200);
    let names: Vec<&str> = listed.json["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["initial", "v1.0.0", &"x".repeat(20)]);
    assert_eq!(
        (
            listed.json["total_count"].as_u64(),
            listed.json["count"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert_pagination(&listed.json);
    assert_eq!(
        api(&emu, "GET", &format!("{base}/v1.0.0"), None).json["name"],
        "v1.0.0"
    );
    assert_eq!(api(&emu, "GET", &format!("{base}/nope"), None).status, 404);
    let renamed = api(
        &emu,
        "PATCH",
        &format!("{base}/v1.0.0"),
        Some(&json!({"name": "v1.0.1"})),
    );
    assert_eq!(
        (renamed.status, renamed.json["name"].as_str()),
        (200, Some("v1.0.1"))
    );
    assert_eq!(
        api(
            &emu,
            "PATCH",
            &format!("{base}/v1.0.1"),
            Some(&json!({"name": "initial"}))
        )
        .status,
        409
    );
    assert_eq!(
        api(
            &emu,
            "PATCH",
            &format!("{base}/nope"),
            Some(&json!({"name": "z"}))
        )
        .status,
        404
    );
    let deleted = api(&emu, "DELETE", &format!("{base}/v1.0.1"), None);
    assert_eq!((deleted.status, deleted.text.as_str()), (204, ""));
    assert_eq!(status_of(&emu, "DELETE", &format!("{base}/v1.0.1")), 404);
    assert_eq!(
        status_of(&emu, "GET", "/v1/deployments/000000000000/tags"),
        404
    );
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None).json;
    assert_eq!(status["tags"], json!(["initial", "x".repeat(20)]));
    assert_eq!(
        emu.deployment(&id).expect("known").env["ARBITRIUM_DEPLOYMENT_TAGS"],
        "initial",
        "env fixed at start"
    );
    for route in [
        Route::CreateTag,
        Route::ListTags,
        Route::GetTag,
        Route::UpdateTag,
        Route::DeleteTag,
    ] {
        assert!(emu.request_count(route) > 0, "{route:?}");
    }
}

#[test]
fn tag_names_longer_than_twenty_are_refused_and_the_limit_is_configurable() {
    let emu = emulator();
    let id = deploy_ready(&emu);
    let base = format!("/v1/deployments/{id}/tags");
    let long = api(&emu, "POST", &base, Some(&json!({"name": "x".repeat(21)})));
    assert_eq!(long.status, 400, "{long:?}");
    assert!(long.message().contains("20"), "{long:?}");
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": "x".repeat(20)}))).status,
        200
    );
    let mut body = deploy_body("game", "v1");
    body["tags"] = json!(["y".repeat(21)]);
    let deploy_long = api(&emu, "POST", "/v2/deployments", Some(&body));
    assert_eq!(deploy_long.status, 400, "{deploy_long:?}");
    let lenient = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .max_tag_length(40)
        .start()
        .expect("starts");
    let id = deploy_ready(&lenient);
    let path = format!("/v1/deployments/{id}/tags");
    assert_eq!(
        api(
            &lenient,
            "POST",
            &path,
            Some(&json!({"name": "x".repeat(40)}))
        )
        .status,
        200
    );
    assert_eq!(
        api(
            &lenient,
            "POST",
            &path,
            Some(&json!({"name": "x".repeat(41)}))
        )
        .status,
        400
    );
}

#[test]
fn context_api_with_the_raw_context_token() {
    let emu = emulator();
    let id = deploy_tagged(&emu, "v1", &["tag1"]);
    let env = emu.deployment(&id).expect("known").env;
    let url = env["ARBITRIUM_CONTEXT_URL"].clone();
    let token = env["ARBITRIUM_CONTEXT_TOKEN"].clone();
    let context = send("GET", &url, Some(&token), None);
    assert_eq!(context.status, 200, "{context:?}");
    let c = &context.json;
    for key in [
        "request_id",
        "public_ip",
        "status",
        "ready",
        "whitelisting_active",
        "fqdn",
        "ports",
        "location",
        "tags",
    ] {
        assert!(c.get(key).is_some(), "context lacks `{key}`");
    }
    assert_eq!(
        (c["status"].as_str(), c["ready"].as_bool()),
        (Some("Status.READY"), Some(true))
    );
    assert_eq!(send("GET", &url, None, None).status, 401);
    assert_eq!(
        send("GET", &url, Some("token t"), None).status,
        401,
        "the API token is not the context token"
    );
    assert_eq!(
        send(
            "GET",
            &format!("{}/v1/context/{id}/0999999", emu.base_url()),
            Some(&token),
            None
        )
        .status,
        404
    );
    let body = json!({"name": "from-server"}).to_string();
    let created = send("POST", &format!("{url}/tags"), Some(&token), Some(&body));
    assert_eq!(
        (created.status, created.json["name"].as_str()),
        (200, Some("from-server"))
    );
    assert_eq!(
        send("POST", &format!("{url}/tags"), Some(&token), Some(&body)).status,
        409
    );
    // Deleted once: a second delete finds nothing.
    for expected in [204, 404] {
        let deleted = send(
            "DELETE",
            &format!("{url}/tags/from-server"),
            Some(&token),
            None,
        );
        assert_eq!(deleted.status, expected, "{deleted:?}");
    }
    assert_eq!(
        send("DELETE", &format!("{url}/tags/tag1"), Some("wrong"), None).status,
        401
    );
}
