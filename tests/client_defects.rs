//! One focused test per defect found by trying the client plugin with fault injection (issue
//! 9). Each uses only names that existed before the fix, so each can be run against the old
//! code, where it fails.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, EdgegapError, GetStatus, HttpResponse, StopDeployment};
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Fault, FaultKind, Route};
use support::stub::{Answer, Stub, status_body};
use support::{app, ask, call, collect, quick, run_for, run_until, seen, seen_in};

const LIMIT: Duration = Duration::from_secs(20);

fn emulator(faults: Vec<Fault>) -> EmulatorHandle {
    let mut builder = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(
            AppVersion::simulated("game", "broken").fail_with("Pull image timeout exceeded"),
        )
        .without_rate_limits()
        .lifecycle_step(Duration::from_millis(20));
    for fault in faults {
        builder = builder.fault(fault);
    }
    builder.start().expect("the emulator starts")
}

fn deploy_request() -> DeployRequest {
    DeployRequest::new("game", "v1").user_ip("1.2.3.4")
}

fn exit(app: &mut App) {
    app.world_mut().write_message(AppExit::Success);
    app.update();
}

/// After `AppExit`, every deployment the emulator holds is stopped or terminated.
fn assert_nothing_left_running(emu: &EmulatorHandle) {
    let deployments = emu.deployments();
    assert!(!deployments.is_empty(), "the deploy created a deployment");
    for d in deployments {
        assert!(
            emu.wait_for_status(&d.request_id, "Status.TERMINATED", Duration::from_secs(5)),
            "deployment `{}` left `{}`",
            d.request_id,
            d.status
        );
    }
}

/// Runs until the emulator holds `n` deployments.
fn until_created(app: &mut App, emu: &EmulatorHandle, n: usize) {
    run_until(app, "the emulator created the deployment", LIMIT, |_| {
        emu.deployments().len() >= n
    });
}

#[test]
fn a_deploy_answered_after_its_deadline_does_not_leak_its_server() {
    let emu = emulator(vec![
        Fault::new(
            Route::DeployV2,
            FaultKind::Latency(Duration::from_millis(900)),
        )
        .times(1),
    ]);
    let mut app = app(quick(support::config(&emu)).with_deadline(Duration::from_millis(300)));
    call(&mut app, |e| e.deploy(deploy_request()));
    until_created(&mut app, &emu, 1);
    run_for(&mut app, Duration::from_millis(1500));
    exit(&mut app);
    assert_nothing_left_running(&emu);
}

#[test]
fn a_deploy_answered_with_a_garbled_body_does_not_leak_its_server() {
    let emu = emulator(vec![
        Fault::new(Route::DeployV2, FaultKind::MalformedJson).times(1),
    ]);
    let mut app = app(quick(support::config(&emu)));
    call(&mut app, |e| e.deploy(deploy_request()));
    until_created(&mut app, &emu, 1);
    run_for(&mut app, Duration::from_millis(1000));
    exit(&mut app);
    assert_nothing_left_running(&emu);
}

/// A stub that answers status `first` once, then READY forever.
fn status_stub(first: impl Fn() -> Answer + Send + Sync + 'static) -> Stub {
    let answered = Arc::new(AtomicBool::new(false));
    Stub::start(move |request, _| {
        if request.path.starts_with("/v1/status/") && !answered.swap(true, Ordering::SeqCst) {
            return first();
        }
        Answer::json(200, status_body("abc", "READY"))
    })
}

#[test]
fn a_huge_retry_after_on_a_status_poll_neither_panics_nor_stops_polling() {
    let stub = status_stub(|| {
        Answer::json(429, r#"{"message":"slow down"}"#)
            .header("Retry-After", "18446744073709551615")
    });
    let mut app = app(quick(EdgegapConfig::new(stub.base_url.clone(), "t")));
    let tracked = call(&mut app, |e| e.track("abc"));
    run_until(&mut app, "the 429", LIMIT, |_| !stub.seen().is_empty());
    run_for(&mut app, Duration::from_millis(200));
    let d = app.world().get::<Deployment>(tracked).unwrap();
    assert!(d.is_polled(), "still followed after the 429");
    assert!(!d.has_failed());
}

#[test]
fn a_truncated_status_body_does_not_fail_a_healthy_server() {
    let stub = status_stub(|| Answer::json(200, r#"{"request_id":"abc","current_st"#));
    let mut app = app(quick(EdgegapConfig::new(stub.base_url.clone(), "t")));
    collect::<DeploymentReady>(&mut app);
    collect::<DeploymentFailed>(&mut app);
    let tracked = call(&mut app, |e| e.track("abc"));
    run_until(&mut app, "READY", LIMIT, |w| {
        !seen_in::<DeploymentReady>(w).is_empty()
    });
    assert_eq!(seen::<DeploymentReady>(&app)[0].entity, tracked);
    assert!(seen::<DeploymentFailed>(&app).is_empty());
}

#[test]
fn two_stops_before_the_deploy_answered_both_resolve() {
    let emu = emulator(vec![
        Fault::new(
            Route::DeployV2,
            FaultKind::Latency(Duration::from_millis(300)),
        )
        .times(1),
    ]);
    let mut app = app(quick(support::config(&emu)));
    collect::<EdgegapResponse<StopDeployment>>(&mut app);
    let deployment = call(&mut app, |e| e.deploy(deploy_request()));
    let first = call(&mut app, move |e| e.stop_deployment(deployment));
    let second = call(&mut app, move |e| e.stop_deployment(deployment));
    run_until(&mut app, "both stop calls resolved", LIMIT, |w| {
        let got = &seen_in::<EdgegapResponse<StopDeployment>>(w);
        got.iter().any(|r| r.entity == first) && got.iter().any(|r| r.entity == second)
    });
    let got = seen::<EdgegapResponse<StopDeployment>>(&app);
    assert_eq!(got.iter().filter(|r| r.entity == first).count(), 1);
    assert_eq!(got.iter().filter(|r| r.entity == second).count(), 1);
}

#[test]
fn no_ready_after_the_ready_timeout_failed_and_stopped_the_deployment() {
    // DEPLOYING for the first 10 polls, READY after; the stop is accepted but applied late.
    let polls = Arc::new(AtomicUsize::new(0));
    let stub = Stub::start(move |request, _| match request.method.as_str() {
        "POST" => Answer::json(202, r#"{"request_id":"abc"}"#),
        "DELETE" => Answer::json(202, r#"{"message":"will be processed soon"}"#),
        _ if polls.fetch_add(1, Ordering::SeqCst) < 10 => {
            Answer::json(200, status_body("abc", "DEPLOYING"))
        }
        _ => Answer::json(200, status_body("abc", "READY")),
    });
    let config = quick(EdgegapConfig::new(stub.base_url.clone(), "t"))
        .with_ready_timeout(Some(Duration::from_millis(100)));
    let mut app = app(config);
    collect::<DeploymentReady>(&mut app);
    collect::<DeploymentFailed>(&mut app);
    collect::<DeploymentStatusChanged>(&mut app);
    call(&mut app, |e| e.deploy(deploy_request()));
    run_until(&mut app, "READY seen by a poll", LIMIT, |w| {
        seen_in::<DeploymentStatusChanged>(w)
            .iter()
            .any(|c| c.to == Status::Ready)
    });
    assert_eq!(seen::<DeploymentFailed>(&app).len(), 1);
    assert!(
        seen::<DeploymentReady>(&app).is_empty(),
        "DeploymentReady after the deployment failed and was asked to stop"
    );
}

#[test]
fn a_422_that_names_its_deployment_is_stopped() {
    let stub = Stub::start(|request, _| match request.method.as_str() {
        "POST" => Answer::json(
            422,
            r#"{"request_id":"abc","message":"Could not allocate a server"}"#,
        ),
        "DELETE" => Answer::json(202, r#"{"message":"will be processed soon"}"#),
        _ => Answer::json(200, status_body("abc", "ERROR")),
    });
    let mut app = app(quick(EdgegapConfig::new(stub.base_url.clone(), "t")));
    call(&mut app, |e| e.deploy(deploy_request()));
    run_until(&mut app, "the stop of the 422's deployment", LIMIT, |_| {
        stub.seen()
            .iter()
            .any(|r| r.method == "DELETE" && r.path == "/v1/stop/abc")
    });
}

#[test]
fn an_error_deployment_is_stopped_without_waiting_for_exit() {
    let emu = emulator(Vec::new());
    let mut app = app(quick(support::config(&emu)));
    call(&mut app, |e| {
        e.deploy(DeployRequest::new("game", "broken").user_ip("1.2.3.4"))
    });
    until_created(&mut app, &emu, 1);
    let id = emu.deployments()[0].request_id.clone();
    run_until(&mut app, "the ERROR deployment stopped", LIMIT, |_| {
        emu.deployment(&id)
            .is_some_and(|d| d.status == "Status.TERMINATED")
    });
}

#[test]
fn a_404_for_a_deployment_seen_alive_is_terminated_not_failed() {
    let stub = status_stub(|| Answer::json(200, status_body("abc", "READY")));
    let gone = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&gone);
    let purged = Stub::start(move |_, before| {
        if before.is_empty() || !flag.load(Ordering::SeqCst) {
            Answer::json(200, status_body("abc", "READY"))
        } else {
            Answer::json(404, r#"{"message":"Deployment not found"}"#)
        }
    });
    drop(stub);
    let mut app = app(quick(EdgegapConfig::new(purged.base_url.clone(), "t")));
    collect::<DeploymentTerminated>(&mut app);
    collect::<DeploymentFailed>(&mut app);
    collect::<DeploymentReady>(&mut app);
    let tracked = call(&mut app, |e| e.track("abc"));
    run_until(&mut app, "READY", LIMIT, |w| {
        !seen_in::<DeploymentReady>(w).is_empty()
    });
    gone.store(true, Ordering::SeqCst);
    run_until(&mut app, "TERMINATED", LIMIT, |w| {
        !seen_in::<DeploymentTerminated>(w).is_empty()
    });
    assert_eq!(seen::<DeploymentTerminated>(&app)[0].entity, tracked);
    assert!(seen::<DeploymentFailed>(&app).is_empty());
}

#[test]
fn dot_dot_is_not_a_request_id() {
    let stub = status_stub(|| Answer::json(200, "{}"));
    let mut app = app(quick(EdgegapConfig::new(stub.base_url.clone(), "t")));
    for bad in ["..", ".", "a/b"] {
        let result = ask::<GetStatus>(&mut app, move |e| e.status(bad));
        assert!(
            matches!(result, Err(EdgegapError::Invalid { .. })),
            "{bad:?}: {result:?}"
        );
    }
    assert!(stub.seen().is_empty(), "nothing was sent");
}

#[test]
fn a_key_with_the_token_prefix_is_not_prefixed_twice() {
    let stub = status_stub(|| Answer::json(200, status_body("abc", "READY")));
    let mut app = app(quick(EdgegapConfig::new(
        stub.base_url.clone(),
        "token abc123",
    )));
    let _ = ask::<GetStatus>(&mut app, |e| e.status("abc"));
    assert_eq!(stub.seen()[0].header("authorization"), Some("token abc123"));
}

#[test]
fn a_token_that_cannot_be_a_header_is_a_config_error_that_hides_it() {
    let config = EdgegapConfig::new("http://127.0.0.1:9", "s3cret\r\nX-Evil: 1");
    let error = config.validate().unwrap_err();
    assert!(matches!(error, EdgegapError::Config(_)), "{error:?}");
    assert!(!error.to_string().contains("s3cret"));
}

#[test]
fn retry_after_as_an_http_date_is_read() {
    let response =
        HttpResponse::new(429, "{}").with_header("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT");
    let wait = response.retry_after().expect("an HTTP date is understood");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
}

#[test]
fn tag_names_over_twenty_characters_are_refused() {
    let request = deploy_request().tag("a".repeat(21));
    assert!(matches!(
        request.validate(),
        Err(EdgegapError::Invalid { .. })
    ));
    assert!(deploy_request().tag("a".repeat(20)).validate().is_ok());
}
