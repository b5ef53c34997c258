//! Fault injection: every kind, `times(n)`, seeded probabilities, each one counted.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use edgegap_emulator::{AppVersion, Emulator, Fault, FaultKind, PrivateHost, Route};
use serde_json::json;
use support::{api, deploy, deploy_body, quick_emulator, status_of, wait_status};

#[test]
fn status_fault_times_n_then_normal() {
    let emu = Emulator::builder()
        .token("t")
        .without_rate_limits()
        .fault(Fault::new(Route::Status, FaultKind::Status(503)).times(3))
        .start()
        .expect("starts");
    for _ in 0..3 {
        let answer = api(&emu, "GET", "/v1/status/000000000000", None);
        assert_eq!(answer.status, 503);
        assert!(answer.json["message"].is_string(), "{answer:?}");
    }
    assert_eq!(status_of(&emu, "GET", "/v1/status/000000000000"), 404);
    assert_eq!(emu.faults_injected(Route::Status), 3);
    assert_eq!(emu.request_count(Route::Status), 4);
    assert_eq!(emu.faults_injected(Route::Stop), 0);
}

#[test]
fn rate_limited_fault_sets_retry_after() {
    let emu = quick_emulator();
    emu.add_fault(
        Fault::new(
            Route::DeployV2,
            FaultKind::RateLimited {
                retry_after: Duration::from_millis(1500),
            },
        )
        .times(1),
    );
    let answer = api(
        &emu,
        "POST",
        "/v2/deployments",
        Some(&deploy_body("game", "v1")),
    );
    assert_eq!(answer.status, 429);
    assert_eq!(
        answer.header("retry-after"),
        Some("2"),
        "rounded up to whole seconds"
    );
    assert!(answer.json["message"].is_string());
    assert!(emu.deployments().is_empty(), "a 429 deploy creates nothing");
    assert_eq!(emu.faults_injected(Route::DeployV2), 1);
}

#[test]
fn html_502_and_malformed_json() {
    let emu = quick_emulator();
    emu.add_fault(Fault::new(Route::Locations, FaultKind::Html502).times(1));
    let answer = api(&emu, "GET", "/v1/locations", None);
    assert_eq!(answer.status, 502);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(answer.text.contains("502 Bad Gateway"));
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::MalformedJson).times(1));
    let broken = api(
        &emu,
        "POST",
        "/v2/deployments",
        Some(&deploy_body("game", "v1")),
    );
    assert_eq!(broken.status, 202, "success status kept");
    assert!(
        serde_json::from_str::<serde_json::Value>(&broken.text).is_err(),
        "body parses: {}",
        broken.text
    );
    assert_eq!(emu.deployments().len(), 1, "the deploy itself happened");
    assert_eq!(emu.faults_injected(Route::Locations), 1);
    assert_eq!(emu.faults_injected(Route::DeployV2), 1);
}

#[test]
fn latency_delays_the_normal_answer() {
    let emu = quick_emulator();
    emu.add_fault(Fault::new(
        Route::Locations,
        FaultKind::Latency(Duration::from_millis(300)),
    ));
    let started = Instant::now();
    let answer = api(&emu, "GET", "/v1/locations", None);
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(emu.faults_injected(Route::Locations), 1);
    emu.clear_faults();
    assert_eq!(api(&emu, "GET", "/v1/locations", None).status, 200);
    assert_eq!(emu.faults_injected(Route::Locations), 1);
}

#[test]
fn hang_closes_the_connection_without_an_answer() {
    let emu = quick_emulator();
    emu.add_fault(Fault::global(FaultKind::Hang(Duration::from_millis(200))).times(1));
    let address = emu.base_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET /v1/locations HTTP/1.1\r\nHost: x\r\nAuthorization: token t\r\n\r\n"
    )
    .expect("writes");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    assert!(read.is_ok(), "closed rather than timed out: {read:?}");
    assert!(
        answer.is_empty(),
        "got an answer: {}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(emu.faults_injected(Route::Locations), 1);
    assert_eq!(emu.requests()[0].status, 0, "recorded as unanswered");
    assert_eq!(
        api(&emu, "GET", "/v1/locations", None).status,
        200,
        "next request is fine"
    );
}

#[test]
fn probability_faults_are_seeded() {
    let run = || {
        let emu = Emulator::builder()
            .token("t")
            .without_rate_limits()
            .seed(42)
            .fault(Fault::global(FaultKind::Status(500)).probability(0.5))
            .start()
            .expect("starts");
        (0..40)
            .map(|_| api(&emu, "GET", "/v1/locations", None).status)
            .collect::<Vec<_>>()
    };
    let first = run();
    let errors = first.iter().filter(|s| **s == 500).count();
    assert!((5..=35).contains(&errors), "{errors} of 40 at p = 0.5");
    assert_eq!(first, run(), "same seed, same sequence");
}

#[test]
fn could_not_allocate_creates_an_errored_deployment_and_answers_422() {
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .private_host("fleet", PrivateHost::new("host-a"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .fault(Fault::new(Route::DeployV2, FaultKind::CouldNotAllocate).times(2))
        .fault(Fault::new(Route::FleetDeploy, FaultKind::CouldNotAllocate).times(1))
        .start()
        .expect("starts");
    // A bad body still gets its 400 (and no deployment), even while the fault fires.
    let bad = api(
        &emu,
        "POST",
        "/v2/deployments",
        Some(&json!({"application": "game"})),
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(emu.deployments().is_empty());
    let mut body = deploy_body("game", "v1");
    body["tags"] = json!(["lobby-7", "eu"]);
    let answer = api(&emu, "POST", "/v2/deployments", Some(&body));
    assert_eq!(answer.status, 422, "{answer:?}");
    assert_eq!(answer.json["message"], "Couldn't allocate a server");
    let id = answer.json["request_id"]
        .as_str()
        .expect("a request_id in the 422")
        .to_owned();
    let info = emu.deployment(&id).expect("the deployment exists");
    assert_eq!(info.status, "Status.ERROR");
    assert_eq!(info.tags, ["lobby-7", "eu"]);
    assert_eq!(
        info.error_detail.as_deref(),
        Some("Couldn't allocate a server")
    );
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None).json;
    assert_eq!(status["current_status"], "Status.ERROR");
    assert_eq!(status["error"], true);
    let listed = api(&emu, "GET", "/v1/deployments", None).json;
    assert_eq!(listed["data"][0]["request_id"], json!(id), "{listed}");
    assert_eq!(listed["data"][0]["tags"], json!(["lobby-7", "eu"]));
    let stop = api(&emu, "DELETE", &format!("/v1/stop/{id}"), None);
    assert_eq!(stop.status, 200, "{stop:?}");
    wait_status(&emu, &id, "Status.TERMINATED");
    assert_eq!(
        emu.deployment(&id).expect("known").stopped_by.as_deref(),
        Some("api")
    );
    // The private-fleet deploy fails the same way; then both routes answer normally again.
    let mut fleet_body = deploy_body("game", "v1");
    fleet_body["private_host_ids"] = json!(["host-a"]);
    let fleet = api(
        &emu,
        "POST",
        "/v2/private-fleets/deployments",
        Some(&fleet_body),
    );
    assert_eq!(fleet.status, 422, "{fleet:?}");
    let fleet_id = fleet.json["request_id"].as_str().expect("request_id");
    assert_eq!(
        emu.deployment(fleet_id).expect("exists").status,
        "Status.ERROR"
    );
    deploy(&emu, &deploy_body("game", "v1"));
    assert_eq!(
        api(
            &emu,
            "POST",
            "/v2/private-fleets/deployments",
            Some(&fleet_body)
        )
        .status,
        202
    );
    assert_eq!(emu.faults_injected(Route::DeployV2), 2);
    assert_eq!(emu.faults_injected(Route::FleetDeploy), 1);
}
