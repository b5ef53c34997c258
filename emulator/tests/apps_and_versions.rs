//! Applications and app versions through the API, with Edgegap's codes: 409 for a duplicate,
//! 404 for an unknown one, 400 naming the field, a version created through the API deployable
//! at once; a version a matchmaker deploys cannot be deleted (409). Versions declared to the
//! builder are listed too.

mod support;

use std::time::Duration;

use edgegap_emulator::{AppVersion, Emulator, Route};
use serde_json::{Value, json};
use support::{
    api, assert_pagination, deploy, deploy_body, matchmaker_emulator, size_only_config, status_of,
    wait_status,
};

fn emulator() -> edgegap_emulator::EmulatorHandle {
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("declared", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts")
}

/// Creates app `name` (asserting 200).
fn new_app(emu: &edgegap_emulator::EmulatorHandle, name: &str) {
    let made = api(
        emu,
        "POST",
        "/v1/app",
        Some(&json!({"name": name, "is_active": true, "image": ""})),
    );
    assert_eq!(made.status, 200, "{made:?}");
}

fn version_body(name: &str) -> Value {
    json!({
        "name": name,
        "docker_repository": "registry.edgegap.com",
        "docker_image": "my-org/my-game",
        "docker_tag": name,
        "private_username": "robot$my-org+pull",
        "private_token": "pull-Secret-55",
        "req_cpu": 256,
        "req_memory": 512,
        "max_duration": 60,
        "ports": [{"port": 7777, "protocol": "UDP", "to_check": false, "name": "gameport"}],
        "envs": [
            {"key": "MAP", "value": "forest", "is_secret": false},
            {"key": "STEAM_KEY", "value": "steam-Secret-56", "is_secret": true}
        ]
    })
}

#[test]
fn applications_are_created_read_renamed_listed_and_deleted() {
    let emu = emulator();
    let create = |body: Value| api(&emu, "POST", "/v1/app", Some(&body));
    let made = create(json!({"name": "my-game", "is_active": true, "image": ""}));
    assert_eq!(made.status, 200, "{made:?}");
    assert_eq!(made.json["name"], "my-game");
    assert_eq!(made.json["is_active"], true);
    for key in ["create_time", "last_updated"] {
        assert!(
            made.json[key].as_str().is_some_and(|t| t.len() == 26),
            "{key}"
        );
    }
    // Duplicate: 409. Names of 2 or 65 characters, missing keys, wrong types: 400.
    let again = create(json!({"name": "my-game", "is_active": true, "image": ""}));
    assert_eq!(again.status, 409, "{again:?}");
    assert!(again.json["message"].as_str().is_some());
    for body in [
        json!({"name": "ab", "is_active": true, "image": ""}),
        json!({"name": "a".repeat(65), "is_active": true, "image": ""}),
        json!({"name": "my-other", "is_active": true}),
        json!({"name": "my-other", "is_active": "yes", "image": ""}),
        json!(["my-other"]),
    ] {
        let refused = create(body.clone());
        assert_eq!(refused.status, 400, "{body}: {refused:?}");
        // v1 errors are `{"message"}` only.
        assert_eq!(
            refused.json.as_object().map(|o| o.len()),
            Some(1),
            "{refused:?}"
        );
    }
    assert_eq!(api(&emu, "GET", "/v1/app/my-game", None).status, 200);
    assert_eq!(api(&emu, "GET", "/v1/app/nope", None).status, 404);

    // The declared app is listed, then ours.
    let list = api(&emu, "GET", "/v1/apps", None);
    assert_eq!(list.status, 200);
    assert_eq!(list.json["total_count"], 2);
    assert_eq!(list.json["applications"][0]["name"], "declared");
    assert_eq!(list.json["applications"][1]["name"], "my-game");
    assert_pagination(&list.json);
    let page = api(&emu, "GET", "/v1/apps?page=2&limit=1", None);
    assert_eq!(page.json["applications"][0]["name"], "my-game");
    assert_eq!(api(&emu, "GET", "/v1/apps?page=0", None).status, 400);

    // Rename (onto a taken name: 409), deactivate.
    let taken = api(
        &emu,
        "PATCH",
        "/v1/app/my-game",
        Some(&json!({"name": "declared"})),
    );
    assert_eq!(taken.status, 409);
    let renamed = api(
        &emu,
        "PATCH",
        "/v1/app/my-game",
        Some(&json!({"name": "my-game-2", "is_active": false})),
    );
    assert_eq!(renamed.status, 200, "{renamed:?}");
    assert_eq!(renamed.json["is_active"], false);
    assert_eq!(api(&emu, "GET", "/v1/app/my-game", None).status, 404);
    assert_eq!(
        api(
            &emu,
            "PATCH",
            "/v1/app/nope",
            Some(&json!({"is_active": true}))
        )
        .status,
        404
    );

    let deleted = api(&emu, "DELETE", "/v1/app/my-game-2", None);
    assert_eq!(deleted.status, 200);
    assert!(deleted.text.is_empty(), "{deleted:?}");
    assert_eq!(api(&emu, "DELETE", "/v1/app/my-game-2", None).status, 404);
    assert_eq!(emu.request_count(Route::CreateApp), 7);
}

#[test]
fn a_version_made_through_the_api_is_read_listed_and_deployed() {
    let emu = emulator();
    new_app(&emu, "my-game");
    // An unknown app: 404.
    let orphan = api(
        &emu,
        "POST",
        "/v1/app/nope/version",
        Some(&version_body("v1")),
    );
    assert_eq!(orphan.status, 404, "{orphan:?}");
    let made = api(
        &emu,
        "POST",
        "/v1/app/my-game/version",
        Some(&version_body("v1")),
    );
    assert_eq!(made.status, 200, "{made:?}");
    assert_eq!(made.json["success"], true);
    let version = &made.json["version"];
    assert_eq!(version["name"], "v1");
    assert_eq!(version["req_cpu"], 256);
    assert_eq!(version["docker_image"], "my-org/my-game");
    assert_eq!(version["ports"][0]["name"], "gameport");
    assert_eq!(version["ports"][0]["to_check"], false);
    assert_eq!(version["ports"][0]["tls_upgrade"], false);
    // As Edgegap's example: the registry token comes back; a secret value does not.
    assert_eq!(version["private_token"], "pull-Secret-55");
    assert_eq!(version["envs"][1]["is_secret"], true);
    assert!(!made.text.contains("steam-Secret-56"), "{made:?}");
    assert_eq!(version["envs"][0]["value"], "forest");

    let duplicate = api(
        &emu,
        "POST",
        "/v1/app/my-game/version",
        Some(&version_body("v1")),
    );
    assert_eq!(duplicate.status, 409, "{duplicate:?}");

    let got = api(&emu, "GET", "/v1/app/my-game/version/v1", None);
    assert_eq!(got.status, 200);
    assert_eq!(got.json["name"], "v1");
    assert_eq!(status_of(&emu, "GET", "/v1/app/my-game/version/v9"), 404);
    assert_eq!(status_of(&emu, "GET", "/v1/app/nope/version/v1"), 404);

    // Deployable at once: a registry the emulator cannot reach runs simulated, with the
    // version's ports, envs (secret ones included) and resources.
    let id = deploy(&emu, &deploy_body("my-game", "v1"));
    wait_status(&emu, &id, "Status.READY");
    let info = emu.deployment(&id).expect("deployment");
    assert_eq!(info.env["MAP"], "forest");
    assert_eq!(info.env["STEAM_KEY"], "steam-Secret-56");
    assert_eq!(info.env["ARBITRIUM_DEPLOYMENT_VCPU_UNITS"], "256");
    assert_eq!(info.env["ARBITRIUM_DEPLOYMENT_MEMORY_MB"], "512");
    assert!(info.ports.contains_key("gameport"));
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None);
    assert_eq!(status.json["max_duration"], 60);

    // Listed (page 1 of 2 by one), updated, renamed, deleted.
    api(
        &emu,
        "POST",
        "/v1/app/my-game/version",
        Some(&version_body("v2")),
    );
    let list = api(&emu, "GET", "/v1/app/my-game/versions?limit=1", None);
    assert_eq!(list.json["total_count"], 2);
    assert_eq!(list.json["versions"][0]["name"], "v1");
    assert_eq!(list.json["pagination"]["has_next"], true);
    assert_eq!(api(&emu, "GET", "/v1/app/nope/versions", None).status, 404);
    let retag = api(
        &emu,
        "PATCH",
        "/v1/app/my-game/version/v1",
        Some(&json!({"docker_tag": "build-7", "time_to_deploy": 30})),
    );
    assert_eq!(retag.status, 200, "{retag:?}");
    assert_eq!(retag.json["version"]["docker_tag"], "build-7");
    assert_eq!(retag.json["version"]["time_to_deploy"], 30);
    assert_eq!(retag.json["version"]["req_cpu"], 256, "the rest is kept");
    let clash = api(
        &emu,
        "PATCH",
        "/v1/app/my-game/version/v1",
        Some(&json!({"name": "v2"})),
    );
    assert_eq!(clash.status, 409);
    let off = api(
        &emu,
        "PATCH",
        "/v1/app/my-game/version/v2",
        Some(&json!({"is_active": false})),
    );
    assert_eq!(off.status, 200);
    let refused = api(
        &emu,
        "POST",
        "/v2/deployments",
        Some(&deploy_body("my-game", "v2")),
    );
    assert_eq!(refused.status, 400, "an inactive version is not deployable");
    let deleted = api(&emu, "DELETE", "/v1/app/my-game/version/v1", None);
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json["success"], true);
    assert_eq!(status_of(&emu, "DELETE", "/v1/app/my-game/version/v1"), 404);
    let gone = api(
        &emu,
        "POST",
        "/v2/deployments",
        Some(&deploy_body("my-game", "v1")),
    );
    assert_eq!(gone.status, 400, "{gone:?}");
    // The deployment made from it keeps running.
    assert_eq!(
        emu.deployment(&id).map(|d| d.status).as_deref(),
        Some("Status.READY")
    );
}

#[test]
fn versions_breaking_the_spec_rules_get_400_naming_the_field() {
    let emu = emulator();
    new_app(&emu, "my-game");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = version_body("v1");
        change(&mut body);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&|b| b["req_cpu"] = json!(99)), "req_cpu"),
        (with(&|b| b["req_memory"] = json!(99)), "req_memory"),
        (with(&|b| b["req_memory"] = json!(513)), "req_memory"),
        (with(&|b| b["name"] = json!("")), "name"),
        (with(&|b| b["name"] = json!("v".repeat(65))), "name"),
        (with(&|b| b["time_to_deploy"] = json!(14)), "time_to_deploy"),
        (with(&|b| b["max_duration"] = json!(1441)), "max_duration"),
        (
            with(&|b| b["restart_policy"] = json!("sometimes")),
            "restart_policy",
        ),
        (
            with(&|b| b["ports"] = json!([{"port": 60000, "protocol": "UDP", "name": "g"}])),
            "ports[0].port",
        ),
        (
            with(&|b| b["ports"] = json!([{"port": 1, "protocol": "QUIC", "name": "g"}])),
            "ports[0].protocol",
        ),
        (
            with(&|b| b["ports"] = json!([{"port": 0, "protocol": "TCP"}])),
            "ports[0].name",
        ),
        (
            with(&|b| {
                b["ports"] =
                    json!([{"port": 1, "protocol": "UDP", "name": "g", "tls_upgrade": true}])
            }),
            "ports[0].tls_upgrade",
        ),
        (
            with(&|b| b["envs"] = json!([{"key": "", "value": "x"}])),
            "envs[0].key",
        ),
        (
            with(&|b| b["envs"] = json!([{"key": "K", "value": "x".repeat(4097)}])),
            "envs[0].value",
        ),
        (
            with(&|b| {
                b.as_object_mut()
                    .unwrap()
                    .remove("docker_tag")
                    .map(drop)
                    .unwrap_or(())
            }),
            "docker_tag",
        ),
        (with(&|b| b["req_cpu"] = json!("lots")), "req_cpu"),
    ];
    for (body, field) in cases {
        let answer = api(&emu, "POST", "/v1/app/my-game/version", Some(&body));
        assert_eq!(answer.status, 400, "{field}: {answer:?}");
        let message = answer.message();
        assert!(message.contains(field), "{field}: {message}");
    }
    assert_eq!(
        api(&emu, "GET", "/v1/app/my-game/versions", None).json["total_count"],
        0,
        "nothing was made"
    );
    // A patch that breaks a rule changes nothing.
    api(
        &emu,
        "POST",
        "/v1/app/my-game/version",
        Some(&version_body("v1")),
    );
    let patch = api(
        &emu,
        "PATCH",
        "/v1/app/my-game/version/v1",
        Some(&json!({"max_duration": 5000})),
    );
    assert_eq!(patch.status, 400);
    assert_eq!(
        api(&emu, "GET", "/v1/app/my-game/version/v1", None).json["max_duration"],
        60
    );
}

#[test]
fn verify_image_answers_424_when_the_manifest_cannot_be_fetched() {
    let emu = emulator();
    new_app(&emu, "my-game");
    // Nothing listens there (a port just freed), and a registry off loopback is out of reach.
    let port = edgegap_test_services::free_port();
    for repository in [
        format!("127.0.0.1:{port}"),
        "registry.edgegap.com".to_owned(),
    ] {
        let mut body = version_body("v1");
        body["docker_repository"] = json!(repository);
        body["verify_image"] = json!(true);
        let answer = api(&emu, "POST", "/v1/app/my-game/version", Some(&body));
        assert_eq!(answer.status, 424, "{repository}: {answer:?}");
        assert!(!answer.text.contains("pull-Secret-55"), "{answer:?}");
    }
    assert_eq!(
        api(&emu, "GET", "/v1/app/my-game/versions", None).json["total_count"],
        0
    );
}

#[test]
fn declared_versions_are_listed_and_a_matchmakers_cannot_be_deleted() {
    let config = size_only_config("casual", 1, 2, 4);
    let emu = matchmaker_emulator(&config);
    let version = api(&emu, "GET", "/v1/app/game/version/v1", None);
    assert_eq!(version.status, 200, "{version:?}");
    assert_eq!(version.json["ports"][0]["name"], "gameport");
    assert_eq!(version.json["ports"][0]["port"], 7777);
    for (method, path, body) in [
        ("DELETE", "/v1/app/game/version/v1", None),
        ("DELETE", "/v1/app/game", None),
        (
            "PATCH",
            "/v1/app/game/version/v1",
            Some(json!({"name": "v9"})),
        ),
        ("PATCH", "/v1/app/game", Some(json!({"name": "game-9"}))),
    ] {
        let answer = api(&emu, method, path, body.as_ref());
        assert_eq!(answer.status, 409, "{method} {path}: {answer:?}");
        assert!(answer.message().contains("matchmaker"), "{answer:?}");
    }
    assert_eq!(status_of(&emu, "GET", "/v1/app/game/version/v1"), 200);
    // Other changes to it are fine.
    let patch = api(
        &emu,
        "PATCH",
        "/v1/app/game/version/v1",
        Some(&json!({"max_duration": 30})),
    );
    assert_eq!(patch.status, 200, "{patch:?}");
}
