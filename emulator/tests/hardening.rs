//! Hardened where clients are hostile: overflowing numbers, huge paths, slow bodies, header
//! injection through webhook URLs, concurrent stops, and processes that outlive their parent.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use common::{
    alive, api, deploy, deploy_body, deploy_ready, quick_emulator, send, spawn_binary, temp_dir,
    wait_status, wait_until,
};
use edgegap_emulator::{AppVersion, Emulator, Route};
use serde_json::json;

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
fn the_request_log_is_bounded_by_bytes_and_truncates_paths() {
    let emu = Emulator::builder()
        .token("t")
        .without_rate_limits()
        .request_log_bytes(64 * 1024)
        .start()
        .expect("starts");
    let long = format!("/v1/status/{}", "a".repeat(60_000));
    for _ in 0..300 {
        let answer = send("GET", &format!("{}{long}", emu.base_url()), None, None);
        assert_eq!(answer.status, 401);
    }
    assert_eq!(
        emu.request_count(Route::Status),
        300,
        "every request counted"
    );
    let log = emu.requests();
    let bytes: usize = log.iter().map(|r| r.path.len() + r.method.len()).sum();
    assert!(bytes <= 64 * 1024, "{bytes} bytes kept");
    assert!(!log.is_empty(), "the newest requests are kept");
    for request in &log {
        assert!(request.path.len() <= 1024, "{} bytes", request.path.len());
        assert!(request.path.starts_with("/v1/status/aaa"));
        assert_eq!(request.status, 401);
    }
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

#[test]
fn webhook_urls_must_be_urls() {
    let emu = quick_emulator();
    for url in [
        "http://127.0.0.1:9/hook\r\nX-Injected: 1",
        "http://127.0.0.1:9/hook\nX",
        "http://exa mple.com/",
        "http:///nohost",
        "http://host:99999/",
        "http://host/\u{7f}",
    ] {
        for field in [
            "webhook_on_ready",
            "webhook_on_error",
            "webhook_on_terminated",
        ] {
            let mut body = deploy_body("game", "v1");
            body[field] = json!({ "url": url });
            let answer = api(&emu, "POST", "/v2/deployments", Some(&body));
            assert_eq!(answer.status, 400, "{field} {url:?}: {answer:?}");
        }
        let v1 = json!({"app_name": "game", "version_name": "v1", "webhook_url": url});
        let answer = api(&emu, "POST", "/v1/deploy", Some(&v1));
        assert_eq!(answer.status, 400, "v1 {url:?}: {answer:?}");
    }
    assert!(emu.deployments().is_empty());
    let mut fine = deploy_body("game", "v1");
    fine["webhook_on_ready"] = json!({"url": "https://example.com:8443/hooks/ready?x=1"});
    deploy(&emu, &fine);
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

#[test]
fn grandchildren_die_when_the_emulator_process_is_killed() {
    let pid_file = temp_dir("grandchild").join("grandchild.pid");
    let _ = std::fs::remove_file(&pid_file);
    let config = format!(
        "token = \"t\"\nlifecycle_step_ms = 0\n[[app_versions]]\napp = \"g\"\nversion = \"v\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"sleep 300 & echo $! > {}; wait\"]\n",
        pid_file.display()
    );
    let (mut child, base, token) = spawn_binary("grandchild", &config);
    let body = deploy_body("g", "v").to_string();
    let deployed = send(
        "POST",
        &format!("{base}/v2/deployments"),
        Some(&format!("token {token}")),
        Some(&body),
    );
    assert_eq!(deployed.status, 202, "{deployed:?}");
    let grandchild = read_pid(&pid_file);
    assert!(alive(grandchild));
    child.kill().expect("SIGKILL to the emulator");
    child.wait().expect("reaped");
    wait_until(
        "the grandchild to die with the emulator",
        Duration::from_secs(10),
        || !alive(grandchild),
    );
}

/// Reads the pid a script wrote to `path`, waiting for it.
fn read_pid(path: &std::path::Path) -> i32 {
    let mut pid = None;
    wait_until("a pid file", Duration::from_secs(10), || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        pid.is_some()
    });
    pid.expect("pid")
}

#[test]
fn the_whole_process_group_ends_with_a_stop_or_an_exit() {
    let dir = temp_dir("groups");
    let (stopped_pid, exited_pid) = (dir.join("stopped.pid"), dir.join("exited.pid"));
    let _ = std::fs::remove_file(&stopped_pid);
    let _ = std::fs::remove_file(&exited_pid);
    let emu = Emulator::builder()
        .token("t")
        .app_version(
            AppVersion::command(
                "game",
                "stopped",
                "/bin/sh",
                [
                    "-c".to_owned(),
                    format!(
                        "sleep 300 & echo $! > {}; trap 'exit 0' TERM; while :; do sleep 0.05; done",
                        stopped_pid.display()
                    ),
                ],
            )
            .grace_period(Duration::from_secs(2)),
        )
        .app_version(AppVersion::command(
            "game",
            "exits",
            "/bin/sh",
            [
                "-c".to_owned(),
                format!(
                    "sleep 300 & echo $! > {}; sleep 0.3; exit 0",
                    exited_pid.display()
                ),
            ],
        ))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    let stopped = deploy(&emu, &deploy_body("game", "stopped"));
    wait_status(&emu, &stopped, "Status.READY");
    let grandchild = read_pid(&stopped_pid);
    assert!(alive(grandchild));
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{stopped}"), None).status,
        200
    );
    wait_status(&emu, &stopped, "Status.TERMINATED");
    wait_until(
        "the stopped server's child to die",
        Duration::from_secs(10),
        || !alive(grandchild),
    );
    let exits = deploy(&emu, &deploy_body("game", "exits"));
    let grandchild = read_pid(&exited_pid);
    wait_status(&emu, &exits, "Status.TERMINATED");
    assert_eq!(emu.deployment(&exits).expect("known").exit_code, Some(0));
    wait_until(
        "the exited server's child to die",
        Duration::from_secs(10),
        || !alive(grandchild),
    );
}
