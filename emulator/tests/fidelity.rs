//! Strict where Edgegap is strict: `Allow` on 405, v1 error bodies, documented list items, the
//! official list filter, logs gone after termination, tag name length, metrics time format,
//! unknown private fleets.

mod common;

use std::time::Duration;

use common::{api, deploy, deploy_body, deploy_ready, wait_status};
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, PrivateHost};
use serde_json::json;

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(AppVersion::simulated("game", "slow"))
        .private_host("fleet-a", PrivateHost::new("alpha-1"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts")
}

#[test]
fn method_not_allowed_names_the_allowed_methods() {
    let emu = emulator();
    let url = emu.base_url();
    for (method, path, allow) in [
        ("GET", "/v2/deployments", "POST"),
        ("PUT", "/v1/status/abc", "GET"),
        ("POST", "/v1/deployments/abc/tags/x", "GET, PATCH, DELETE"),
        ("DELETE", "/v1/deployments/abc/tags", "GET, POST"),
    ] {
        let response = ureq::request(method, &format!("{url}{path}"))
            .set("Authorization", "token t")
            .call();
        let Err(ureq::Error::Status(405, response)) = response else {
            panic!("{method} {path}: expected 405, got {response:?}");
        };
        assert_eq!(response.header("Allow"), Some(allow), "{method} {path}");
    }
}

#[test]
fn v1_errors_are_message_only_and_v2_errors_keep_details() {
    let emu = emulator();
    for (method, path, body) in [
        ("POST", "/v1/deploy", Some(json!({"app_name": 3}))),
        ("GET", "/v1/deployments?page=0", None),
        (
            "POST",
            "/v1/deployments/bulk-stop",
            Some(json!({"filters": []})),
        ),
        ("GET", "/v1/metrics/deployment/x?steps=zz", None),
    ] {
        let answer = api(&emu, method, path, body.as_ref());
        assert_eq!(answer.status / 100, 4, "{path}: {answer:?}");
        let object = answer.json.as_object().expect("a JSON object");
        assert_eq!(
            object.keys().collect::<Vec<_>>(),
            ["message"],
            "{path}: v1's Error schema is {{\"message\"}} only: {answer:?}"
        );
    }
    let v2 = api(
        &emu,
        "POST",
        "/v2/deployments",
        Some(&json!({"application": 1})),
    );
    assert_eq!(v2.status, 400);
    assert!(v2.json["details"].is_object(), "{v2:?}");
}

#[test]
fn list_items_carry_only_documented_fields() {
    let emu = emulator();
    deploy_ready(&emu);
    let list = api(&emu, "GET", "/v1/deployments", None);
    let item = list.json["data"][0].as_object().expect("one item").clone();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "fqdn",
            "is_joinable_by_session",
            "ports",
            "public_ip",
            "ready",
            "request_id",
            "sockets",
            "sockets_usage",
            "start_time",
            "tags",
        ]
    );
}

#[test]
fn the_official_status_filter_example_works_as_documented() {
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    let a = deploy_ready(&emu);
    let stuck = deploy(&emu, &deploy_body("game", "stuck"));
    wait_status(&emu, &stuck, "Status.DEPLOYING");
    // The OAS1 example, URL-encoded exactly as a client would send it.
    let answer = api(
        &emu,
        "GET",
        "/v1/deployments?query=%7B%22filters%22%3A%5B%7B%22field%22%3A%22status%22%2C%22operator%22%3A%22eq%22%2C%22value%22%3A%22ready%22%7D%5D%7D",
        None,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    let ids: Vec<&str> = answer.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|d| d["request_id"].as_str())
        .collect();
    assert_eq!(ids, [a.as_str()]);
    assert_eq!(answer.json["total_count"], 1);
}

#[test]
fn container_logs_are_gone_once_terminated_unless_configured() {
    for keep in [false, true] {
        let mut builder = Emulator::builder()
            .token("t")
            .app_version(AppVersion::simulated("game", "v1"))
            .without_rate_limits()
            .lifecycle_step(Duration::ZERO);
        if keep {
            builder = builder.logs_after_termination(true);
        }
        let emu = builder.start().expect("starts");
        let id = deploy_ready(&emu);
        let path = format!("/v1/deployment/{id}/container-logs");
        assert_eq!(api(&emu, "GET", &path, None).status, 200);
        assert_eq!(
            api(&emu, "DELETE", &format!("/v1/stop/{id}"), None).status,
            200
        );
        wait_status(&emu, &id, "Status.TERMINATED");
        let after = api(&emu, "GET", &path, None);
        if keep {
            assert_eq!(after.status, 200, "{after:?}");
            assert!(after.json["logs"].is_string());
        } else {
            assert_eq!(after.status, 404, "{after:?}");
            assert!(
                after.json["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("terminated")),
                "{after:?}"
            );
        }
        assert!(emu.logs(&id).is_some(), "the handle still sees the logs");
    }
}

#[test]
fn tag_names_longer_than_twenty_are_refused_and_the_limit_is_configurable() {
    let emu = emulator();
    let id = deploy_ready(&emu);
    let base = format!("/v1/deployments/{id}/tags");
    let long = api(&emu, "POST", &base, Some(&json!({"name": "x".repeat(21)})));
    assert_eq!(long.status, 400, "{long:?}");
    assert!(
        long.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("20")),
        "{long:?}"
    );
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
fn metrics_times_need_the_documented_fractional_seconds() {
    let emu = emulator();
    let id = deploy_ready(&emu);
    let with = |start: &str, end: &str| {
        api(
            &emu,
            "GET",
            &format!("/v1/metrics/deployment/{id}?start_time={start}&end_time={end}&steps=1m"),
            None,
        )
    };
    let ok = with("2026-01-01%2000:00:00.00", "2026-01-01%2000:10:00.000000");
    assert_eq!(ok.status, 200, "{ok:?}");
    for (start, end) in [
        ("2026-01-01%2000:00:00", "2026-01-01%2000:10:00.0"),
        ("2026-01-01%2000:00:00.0", "2026-01-01%2000:10:00"),
        ("2026-01-01T00:00:00.0Z", "2026-01-01%2000:10:00.0"),
        ("2026-01-01%2000:00:00.1234567", "2026-01-01%2000:10:00.0"),
    ] {
        let answer = with(start, end);
        assert_eq!(answer.status, 400, "{start} {end}: {answer:?}");
        assert!(
            answer.json["message"]
                .as_str()
                .is_some_and(|m| m.contains("%Y-%m-%d %H:%M:%S.%f")),
            "{answer:?}"
        );
    }
}

#[test]
fn unknown_private_fleet_answers_a_documented_400() {
    let emu = emulator();
    let unknown = api(&emu, "GET", "/v2/private-fleets/nope/hosts", None);
    assert_eq!(unknown.status, 400, "{unknown:?}");
    assert!(unknown.json["message"].is_string() && unknown.json["details"].is_object());
    assert_eq!(
        api(&emu, "GET", "/v2/private-fleets/fleet-a/hosts", None).status,
        200
    );
}
