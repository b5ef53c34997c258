//! Webhooks are POSTed with the status JSON to a local receiver; an unreachable one never
//! blocks the API.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle};
use serde_json::{Value, json};
use support::{api, deploy, deploy_body, quick_emulator, status_of, wait_status};

/// One received webhook: method, path (with query), JSON body.
type Hook = (String, String, Value);

/// A local HTTP receiver answering 200 to everything; returns its base URL.
fn receiver() -> (String, mpsc::Receiver<Hook>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or("").to_owned(),
                    parts.next().unwrap_or("").to_owned(),
                );
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                let _ = tx.send((
                    method,
                    path,
                    serde_json::from_slice(&body).unwrap_or(Value::Null),
                ));
            });
        }
    });
    (url, rx)
}

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .app_version(
            AppVersion::simulated("game", "broken").fail_with("Pull image timeout exceeded"),
        )
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .webhook_timeout(Duration::from_secs(2))
        .start()
        .expect("starts")
}

fn next(rx: &mpsc::Receiver<Hook>) -> Hook {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a webhook within 10 s")
}

#[test]
fn ready_and_terminated_webhooks_carry_the_status() {
    let emu = emulator();
    let (url, rx) = receiver();
    let mut body = deploy_body("game", "v1");
    body["webhook_on_ready"] = json!({"url": format!("{url}/ready?key=1")});
    body["webhook_on_error"] = json!({"url": format!("{url}/error")});
    body["webhook_on_terminated"] = json!({"url": format!("{url}/terminated")});
    let id = deploy(&emu, &body);
    let (method, path, status) = next(&rx);
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("POST", "/ready?key=1"),
        "query string kept"
    );
    assert_eq!(status["request_id"], json!(id));
    assert_eq!(status["current_status"], "Status.READY");
    assert_eq!(status["running"], true);
    assert!(status["ports"].is_object() && status["fqdn"].is_string());
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 200);
    let (_, path, status) = next(&rx);
    assert_eq!(path, "/terminated");
    assert_eq!(status["current_status"], "Status.TERMINATED");
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "no error webhook"
    );
}

#[test]
fn error_webhook_and_v1_webhook_url() {
    let emu = emulator();
    let (url, rx) = receiver();
    let mut body = deploy_body("game", "broken");
    body["webhook_on_ready"] = json!({"url": format!("{url}/ready")});
    body["webhook_on_error"] = json!({"url": format!("{url}/error")});
    let id = deploy(&emu, &body);
    let (_, path, status) = next(&rx);
    assert_eq!(path, "/error");
    assert_eq!(
        (status["request_id"].clone(), status["error"].clone()),
        (json!(id), json!(true))
    );
    assert_eq!(status["error_detail"], "Pull image timeout exceeded");
    let v1 = json!({"app_name": "game", "version_name": "v1", "webhook_url": format!("{url}/v1")});
    assert_eq!(api(&emu, "POST", "/v1/deploy", Some(&v1)).status, 200);
    let (_, path, status) = next(&rx);
    assert_eq!(
        (path.as_str(), status["current_status"].as_str()),
        ("/v1", Some("Status.READY"))
    );
}

#[test]
fn unreachable_webhook_never_blocks_the_api() {
    let emu = emulator();
    let closed = TcpListener::bind("127.0.0.1:0").expect("binds");
    let dead = format!("http://{}/hook", closed.local_addr().expect("address"));
    drop(closed);
    // A receiver that accepts and never answers: the webhook times out in the background.
    let silent = TcpListener::bind("127.0.0.1:0").expect("binds");
    let silent_url = format!("http://{}/hook", silent.local_addr().expect("address"));
    let started = Instant::now();
    let mut ids = Vec::new();
    for url in [&dead, &silent_url, &"https://127.0.0.1:1/tls".to_owned()] {
        let mut body = deploy_body("game", "v1");
        body["webhook_on_ready"] = json!({"url": url});
        ids.push(deploy(&emu, &body));
    }
    for id in &ids {
        wait_status(&emu, id, "Status.READY");
        assert_eq!(status_of(&emu, "GET", &format!("/v1/status/{id}")), 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "API slowed by webhooks: {:?}",
        started.elapsed()
    );
    drop(silent);
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
