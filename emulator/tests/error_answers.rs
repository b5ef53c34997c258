//! How a request is refused: 401 without `Authorization: token <key>`, 404 and 405 (with
//! `Allow`) for unknown paths and methods, v1's `{"message"}` against v2's `details`, 400 naming
//! the problem (bad JSON, overflowing numbers), 408 for a body that never arrives, 413.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use edgegap_emulator::{Emulator, Route};
use serde_json::json;
use support::{
    api, deploy_body, deploy_ready, emulator, game_emulator, game_v1_builder, quick_emulator, send,
};

#[test]
fn auth_needs_the_token_scheme() {
    let emu = game_emulator();
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
fn unknown_paths_and_methods() {
    let emu = game_emulator();
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
fn bad_input_never_panics_and_names_the_problem() {
    let emu = game_v1_builder()
        .max_body_bytes(4096)
        .start()
        .expect("starts");
    let huge =
        json!({"application": "game", "version": "v1", "users": [], "pad": "x".repeat(10_000)});
    let answer = api(&emu, "POST", "/v2/deployments", Some(&huge));
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(answer.json["message"].is_string());
    let url = format!("{}/v2/deployments", emu.base_url());
    for body in [
        "null",
        "\"string\"",
        "{\"application\": null}",
        "{\"application\": \"game\", \"version\": \"v1\", \"users\": {}}",
        "{\"application\": \"game\", \"version\": \"v1\", \"users\": [{\"user_type\": 1}]}",
        "\u{0}\u{1}",
        "{\"application\": \"\u{e9}\", \"version\": \"v1\", \"users\": [{\"user_type\": \"ip_address\", \"user_data\": null}]}",
    ] {
        let answer = send("POST", &url, Some("token t"), Some(body));
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        assert!(
            answer.json["message"].is_string() && answer.json["details"].is_object(),
            "{answer:?}"
        );
    }
    for path in [
        "/v1/status/%ff%fe",
        "/v1/deployments/%00/tags/%zz",
        "/v1/metrics/deployment/x?start_time=%e9%e9&steps=%ff",
        "/v1/deployments?query=%ff&page=99999999999999999999999",
    ] {
        let answer = api(&emu, "GET", path, None);
        assert!((400..500).contains(&answer.status), "{path}: {answer:?}");
    }
    assert_eq!(
        api(&emu, "GET", "/v1/locations", None).status,
        200,
        "still serving"
    );
}

#[test]
fn overflowing_numbers_get_a_400_with_a_message() {
    let emu = quick_emulator();
    let id = deploy_ready(&emu);
    let metrics = format!("/v1/metrics/deployment/{id}");
    for path in [
        "/v1/deployments?page=18446744073709551615".to_owned(),
        "/v1/deployments?page=18446744073709551615&limit=1".to_owned(),
        "/v1/deployments?page=9223372036854775807&limit=1000".to_owned(),
        format!("/v1/deployments/{id}/tags?page=18446744073709551615"),
        format!("{metrics}?steps=300000000000000d"),
        format!("{metrics}?steps=300000000000000000h"),
        format!("{metrics}?steps=99999999999999999999s"),
        format!(
            "{metrics}?start_time=9999-12-31%2023:00:00.0&end_time=9999-12-31%2023:59:59.9&steps=200000000000000d"
        ),
        "/v1/deployments?query=%7B%22filters%22%3A%5B%7B%22field%22%3A%22created_at%22%2C%22operator%22%3A%22gt%22%2C%22value%22%3A%2299999999999999-01-01%2000%3A00%3A00%22%7D%5D%7D".to_owned(),
    ] {
        let answer = api(&emu, "GET", &path, None);
        assert_eq!(answer.status, 400, "{path}: {answer:?}");
        assert!(answer.json["message"].is_string(), "{path}: {answer:?}");
    }
    assert_eq!(api(&emu, "GET", "/v1/deployments", None).status, 200);
}

#[test]
fn a_body_that_never_arrives_gets_408() {
    let emu = Emulator::builder()
        .token("t")
        .without_rate_limits()
        .body_timeout(Duration::from_millis(200))
        .start()
        .expect("starts");
    let address = emu.base_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout set");
    stream
        .write_all(
            b"POST /v2/deployments HTTP/1.1\r\nHost: x\r\nAuthorization: token t\r\nContent-Length: 100\r\n\r\n{",
        )
        .expect("written");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    assert!(emu.deployments().is_empty());
}
