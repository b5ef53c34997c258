//! Reconcile: an uncertain deploy (answered after its deadline, with a garbled body, or not at
//! all) is found by its correlation tag and adopted (or stopped when no longer wanted), and
//! never leaks its server; a `422` that names its deployment is stopped; every stop call
//! resolves exactly once; the startup sweep; phase markers; paging that a hostile list cannot
//! loop.

mod support;

use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::StopDeployment;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Fault, FaultKind, Route};
use support::stub::{Answer, Seen, Stub, status_body};
use support::{
    app, call, collect, config, game_v1, quick, run_for, run_until, seen, seen_in, until_created,
};

const LIMIT: Duration = Duration::from_secs(20);
const DEADLINE: Duration = Duration::from_millis(300);

fn emulator(faults: Vec<Fault>) -> EmulatorHandle {
    let mut builder = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::from_millis(20));
    for fault in faults {
        builder = builder.fault(fault);
    }
    builder.start().expect("the emulator starts")
}

/// The first deploy is answered after its deadline (the deployment is created then).
fn late_deploy() -> EmulatorHandle {
    emulator(vec![
        Fault::new(
            Route::DeployV2,
            FaultKind::Latency(DEADLINE + Duration::from_millis(400)),
        )
        .times(1),
    ])
}

#[test]
fn an_uncertain_deploy_is_found_by_its_tag_and_adopted_with_markers_along_the_way() {
    let emu = late_deploy();
    let mut app = app(quick(config(&emu)).with_deadline(DEADLINE));
    collect::<DeploymentCreated>(&mut app);
    collect::<DeploymentReady>(&mut app);
    collect::<DeploymentTerminated>(&mut app);
    let d = call(&mut app, |e| e.deploy(game_v1()));
    assert!(app.world().get::<Deploying>(d).is_some());
    run_until(&mut app, "Reconciling", LIMIT, |w| {
        w.get::<Reconciling>(d).is_some()
    });
    run_until(&mut app, "READY after adoption", LIMIT, |w| {
        !seen_in::<DeploymentReady>(w).is_empty()
    });
    assert_eq!(seen::<DeploymentCreated>(&app)[0].entity, d);
    assert!(app.world().get::<Running>(d).is_some());
    assert_eq!(emu.request_count(Route::DeployV2), 1, "not re-sent");
    assert!(emu.request_count(Route::ListDeployments) >= 1);
    let id = seen::<DeploymentCreated>(&app)[0].request_id.clone();
    assert_eq!(emu.deployments().len(), 1);
    assert_eq!(emu.deployments()[0].request_id, id.as_str());

    call(&mut app, move |e| e.stop_deployment(d));
    app.update();
    assert!(app.world().get::<Stopping>(d).is_some());
    run_until(&mut app, "TERMINATED", LIMIT, |w| {
        !seen_in::<DeploymentTerminated>(w).is_empty()
    });
    assert!(app.world().get::<Ended>(d).is_some());
}

/// Deploys once with `config`, waits until the emulator created the deployment and the app
/// settled its uncertain deploy (adopted it, `DeploymentCreated`, or gave up on it,
/// `DeploymentFailed`), exits, and checks that every deployment the emulator holds is stopped.
fn deploy_exit_and_leave_nothing_running(emu: &EmulatorHandle, config: EdgegapConfig) {
    let mut app = app(config);
    collect::<DeploymentCreated>(&mut app);
    collect::<DeploymentFailed>(&mut app);
    call(&mut app, |e| e.deploy(game_v1()));
    until_created(&mut app, emu, 1);
    run_until(
        &mut app,
        "the uncertain deploy adopted or given up",
        LIMIT,
        |w| {
            !seen_in::<DeploymentCreated>(w).is_empty()
                || !seen_in::<DeploymentFailed>(w).is_empty()
        },
    );
    app.world_mut().write_message(AppExit::Success);
    app.update();
    assert!(
        !emu.deployments().is_empty(),
        "the deploy created a deployment"
    );
    let left = emu.not_terminated(Duration::from_secs(5));
    assert!(left.is_empty(), "deployments left: {left:?}");
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
    let config = quick(config(&emu)).with_deadline(Duration::from_millis(300));
    deploy_exit_and_leave_nothing_running(&emu, config);
}

#[test]
fn a_deploy_answered_with_a_garbled_body_does_not_leak_its_server() {
    let emu = emulator(vec![
        Fault::new(Route::DeployV2, FaultKind::MalformedJson).times(1),
    ]);
    deploy_exit_and_leave_nothing_running(&emu, quick(config(&emu)));
}

#[test]
fn a_stop_during_a_reconcile_resolves_once_and_stops_what_is_found() {
    let emu = late_deploy();
    let mut app = app(quick(config(&emu)).with_deadline(DEADLINE));
    collect::<EdgegapResponse<StopDeployment>>(&mut app);
    collect::<DeploymentCreated>(&mut app);
    let d = call(&mut app, |e| e.deploy(game_v1()));
    run_until(&mut app, "Reconciling", LIMIT, |w| {
        w.get::<Reconciling>(d).is_some()
    });
    let stop = call(&mut app, move |e| e.stop_deployment(d));
    run_until(&mut app, "the stop call resolved", LIMIT, |w| {
        seen_in::<EdgegapResponse<StopDeployment>>(w)
            .iter()
            .any(|r| r.entity == stop)
    });
    let id = emu.deployments()[0].request_id.clone();
    assert!(
        emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(5)),
        "what the reconcile found was stopped"
    );
    run_for(&mut app, Duration::from_millis(200));
    let answers = seen::<EdgegapResponse<StopDeployment>>(&app);
    assert_eq!(answers.iter().filter(|r| r.entity == stop).count(), 1);
    assert!(
        answers
            .iter()
            .find(|r| r.entity == stop)
            .unwrap()
            .result
            .is_ok()
    );
    assert!(
        seen::<DeploymentCreated>(&app).is_empty(),
        "not adopted: a stop was asked for"
    );
}

#[test]
fn a_repeated_stop_deployment_resolves_each_call_once() {
    let emu = emulator(Vec::new());
    let mut app = app(quick(config(&emu)));
    collect::<EdgegapResponse<StopDeployment>>(&mut app);
    collect::<DeploymentCreated>(&mut app);
    let d = call(&mut app, |e| e.deploy(game_v1()));
    run_until(&mut app, "created", LIMIT, |w| {
        !seen_in::<DeploymentCreated>(w).is_empty()
    });
    let stops: Vec<Entity> = (0..3)
        .map(|_| call(&mut app, move |e| e.stop_deployment(d)))
        .collect();
    run_until(&mut app, "every stop call resolved", LIMIT, |w| {
        let got = &seen_in::<EdgegapResponse<StopDeployment>>(w);
        stops.iter().all(|s| got.iter().any(|r| r.entity == *s))
    });
    run_for(&mut app, Duration::from_millis(200));
    let got = seen::<EdgegapResponse<StopDeployment>>(&app);
    for s in &stops {
        assert_eq!(got.iter().filter(|r| r.entity == *s).count(), 1);
    }
}

#[test]
fn a_422_that_names_its_deployment_is_followed_and_stopped() {
    let emu = emulator(vec![
        Fault::new(Route::DeployV2, FaultKind::CouldNotAllocate).times(1),
    ]);
    let mut app = app(quick(config(&emu)));
    collect::<DeploymentFailed>(&mut app);
    collect::<DeploymentTerminated>(&mut app);
    let d = call(&mut app, |e| e.deploy(game_v1()));
    run_until(&mut app, "TERMINATED", LIMIT, |w| {
        !seen_in::<DeploymentTerminated>(w).is_empty()
    });
    let failed = &seen::<DeploymentFailed>(&app)[0];
    assert_eq!(failed.entity, d);
    assert!(failed.request_id.is_some());
    assert!(failed.server_may_exist && failed.stopped, "{failed:?}");
    let id = emu.deployments()[0].request_id.clone();
    assert_eq!(failed.request_id.as_ref().unwrap().as_str(), id);
    assert_eq!(emu.deployment(&id).unwrap().status, "Status.TERMINATED");
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
    call(&mut app, |e| e.deploy(game_v1()));
    run_until(&mut app, "the stop of the 422's deployment", LIMIT, |_| {
        stub.seen()
            .iter()
            .any(|r| r.method == "DELETE" && r.path == "/v1/stop/abc")
    });
}

#[test]
fn the_startup_sweep_stops_what_an_earlier_run_left_behind() {
    let emu = emulator(Vec::new());
    let config = quick(config(&emu)).with_instance_tag("lobby-test-1");
    {
        let mut first = app(config.clone());
        collect::<DeploymentCreated>(&mut first);
        let d = call(&mut first, |e| e.deploy(game_v1()));
        first.world_mut().entity_mut(d).remove::<StopOnExit>();
        run_until(&mut first, "created", LIMIT, |w| {
            !seen_in::<DeploymentCreated>(w).is_empty()
        });
        // The first run ends without stopping it.
    }
    let id = emu.deployments()[0].request_id.clone();
    assert!(
        emu.deployments()[0]
            .tags
            .contains(&"lobby-test-1".to_owned())
    );
    let mut second = app(config.with_startup_sweep(true));
    run_until(&mut second, "the sweep stopped it", LIMIT, |_| {
        emu.deployment(&id)
            .is_some_and(|d| d.stopped_by.is_some() || d.status == "Status.TERMINATED")
    });
    assert_eq!(emu.request_count(Route::BulkStop), 1);
}

/// The deploy's correlation tag (`bx-…`), read from the deploy body the stub received.
fn correlation_tag(before: &[Seen]) -> String {
    let deploy = before
        .iter()
        .find(|r| r.method == "POST")
        .expect("the deploy came first");
    let body: serde_json::Value = serde_json::from_str(&deploy.body).unwrap();
    body["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .find(|t| t.starts_with("bx-"))
        .expect("a correlation tag")
        .to_owned()
}

/// Deploy answers `503` (uncertain); the list answers `page(n, correlation tag)`.
fn listing_stub(page: impl Fn(u32, &str) -> String + Send + Sync + 'static) -> Stub {
    Stub::start(move |request, before| {
        if request.method == "POST" {
            return Answer::json(503, r#"{"message":"busy"}"#);
        }
        if request.method == "DELETE" {
            return Answer::json(202, r#"{"message":"will be processed soon"}"#);
        }
        if let Some(query) = request.path.strip_prefix("/v1/deployments?") {
            let n = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            return Answer::json(200, page(n, &correlation_tag(before)));
        }
        Answer::json(200, status_body("found", "READY"))
    })
}

fn list_pages(stub: &Stub) -> Vec<String> {
    stub.seen()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/deployments?"))
        .map(|r| r.path)
        .collect()
}

#[test]
fn an_uncertain_deploy_is_found_on_a_later_page_when_only_the_total_says_there_is_one() {
    // The 2024 shape: `pagination: {}` and a total.
    let stub = listing_stub(|page, tag| match page {
        1 => r#"{"data":[{"request_id":"other","tags":["x"]}],"total_count":150,"pagination":{}}"#
            .to_owned(),
        _ => format!(
            r#"{{"data":[{{"request_id":"found","tags":["{tag}"]}}],"total_count":150,"pagination":{{}}}}"#
        ),
    });
    let mut app = app(quick(EdgegapConfig::new(stub.base_url.clone(), "t")));
    collect::<DeploymentCreated>(&mut app);
    let d = call(&mut app, |e| e.deploy(game_v1()));
    run_until(&mut app, "adopted from page 2", LIMIT, |w| {
        !seen_in::<DeploymentCreated>(w).is_empty()
    });
    let created = &seen::<DeploymentCreated>(&app)[0];
    assert_eq!((created.entity, created.request_id.as_str()), (d, "found"));
    assert_eq!(
        list_pages(&stub),
        [
            "/v1/deployments?page=1&limit=100",
            "/v1/deployments?page=2&limit=100"
        ]
    );
}

#[test]
fn a_list_that_points_back_at_the_same_page_is_not_walked_again() {
    // A hostile or broken answer: "page 1, next page 1, there is more", forever.
    let stub = listing_stub(|_, _| {
        r#"{"data":[{"request_id":"other","tags":["x"]}],
            "pagination":{"number":1,"next_page_number":1,"has_next":true}}"#
            .to_owned()
    });
    let config = quick(EdgegapConfig::new(stub.base_url.clone(), "t")).with_max_reconciles(1);
    let mut app = app(config);
    collect::<DeploymentFailed>(&mut app);
    call(&mut app, |e| e.deploy(game_v1()));
    run_until(&mut app, "the deploy reported failed", LIMIT, |w| {
        !seen_in::<DeploymentFailed>(w).is_empty()
    });
    let pages = list_pages(&stub);
    assert!(!pages.is_empty());
    assert!(
        pages
            .iter()
            .all(|p| p == "/v1/deployments?page=1&limit=100"),
        "{pages:?}"
    );
}
