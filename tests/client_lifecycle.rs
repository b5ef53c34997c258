//! Deployments as entities: deploy → READY → stop → TERMINATED, the ERROR path, the ready
//! timeout, tracking, status polls that meet a hostile or broken answer (a huge `Retry-After`,
//! a truncated body, a `404` for a deployment seen alive), stops, and the orphan guard.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, Status, StopDeployment};
use bevy_edgegap::prelude::*;
use edgegap_emulator::{
    AppVersion, Emulator, EmulatorBuilder, EmulatorHandle, Fault, FaultKind, Route,
};
use support::stub::{Answer, Stub, status_body, status_stub};
use support::{
    app, call, collect, config, game_v1, quick, run_for, run_until, seen, seen_in, until_created,
};

const LIMIT: Duration = Duration::from_secs(20);

/// `game`/`v1`, `game`/`broken` (ERROR after a few steps) and `game`/`stuck` (never READY),
/// 20 ms a lifecycle step.
fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(
            AppVersion::simulated("game", "broken").fail_with("Pull image timeout exceeded"),
        )
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .lifecycle_step(Duration::from_millis(20))
}

fn emulator() -> EmulatorHandle {
    builder().start().expect("the emulator starts")
}

fn deploy_request(version: &str) -> DeployRequest {
    DeployRequest::new("game", version).user_ip("1.2.3.4")
}

/// What observers saw, in order: (event, target entity, the event's `entity` field).
#[derive(Resource, Default)]
struct Order(Vec<(&'static str, Entity)>);

fn record_order(app: &mut App) {
    app.init_resource::<Order>();
    app.add_observer(|e: On<DeploymentCreated>, mut o: ResMut<Order>| {
        assert_eq!(e.event_target(), e.entity);
        o.0.push(("created", e.entity));
    });
    app.add_observer(|e: On<DeploymentStatusChanged>, mut o: ResMut<Order>| {
        o.0.push(("changed", e.entity));
    });
    app.add_observer(|e: On<DeploymentReady>, mut o: ResMut<Order>| {
        o.0.push(("ready", e.entity));
    });
    app.add_observer(|e: On<DeploymentFailed>, mut o: ResMut<Order>| {
        o.0.push(("failed", e.entity));
    });
    app.add_observer(|e: On<DeploymentTerminated>, mut o: ResMut<Order>| {
        o.0.push(("terminated", e.entity));
    });
    collect::<DeploymentCreated>(app);
    collect::<DeploymentStatusChanged>(app);
    collect::<DeploymentReady>(app);
    collect::<DeploymentFailed>(app);
    collect::<DeploymentTerminated>(app);
}

fn deployment(app: &App, entity: Entity) -> Deployment {
    app.world()
        .get::<Deployment>(entity)
        .expect("the deployment entity lives")
        .clone()
}

fn request_id(app: &App, entity: Entity) -> String {
    deployment(app, entity)
        .request_id()
        .expect("the deploy answered")
        .to_string()
}

#[test]
fn deploy_ready_stop_terminated_in_order_on_the_right_entity() {
    let emu = emulator();
    let mut app = app(config(&emu));
    record_order(&mut app);
    collect::<EdgegapResponse<DeployRequest>>(&mut app);

    #[derive(Resource, Default)]
    struct ReadyHere(Option<Entity>);
    app.init_resource::<ReadyHere>();

    let entity = call(&mut app, |eg| eg.deploy(deploy_request("v1")));
    app.world_mut().entity_mut(entity).observe(
        |ready: On<DeploymentReady>, mut here: ResMut<ReadyHere>| {
            here.0 = Some(ready.event_target());
        },
    );
    // An unrelated deployment entity must not see this one's events.
    let other = app.world_mut().spawn_empty().id();
    app.world_mut()
        .entity_mut(other)
        .observe(|_: On<DeploymentReady>| panic!("observer on the wrong entity"));

    run_until(&mut app, "READY", LIMIT, |w| {
        w.get::<Deployment>(entity)
            .is_some_and(|d| d.status().is_ready())
    });
    assert_eq!(app.world().resource::<ReadyHere>().0, Some(entity));
    let d = deployment(&app, entity);
    let id = request_id(&app, entity);
    assert_eq!(emu.deployment(&id).unwrap().status, "Status.READY");
    let address = d.address("gameport").expect("gameport is mapped");
    assert!(address.port > 0);
    assert!(d.last().is_some_and(|s| s.is_ready()));

    let deploys = seen::<EdgegapResponse<DeployRequest>>(&app);
    assert_eq!(deploys.len(), 1);
    assert_eq!(deploys[0].entity, entity);
    assert_eq!(
        deploys[0].result.as_ref().unwrap().request_id.as_str(),
        id.as_str()
    );

    call(&mut app, move |eg| eg.stop_deployment(entity));
    run_until(&mut app, "TERMINATED", LIMIT, |w| {
        w.get::<Deployment>(entity)
            .is_some_and(|d| *d.status() == Status::Terminated)
    });
    assert_eq!(
        emu.deployment(&id).unwrap().stopped_by.as_deref(),
        Some("api")
    );

    let order = &app.world().resource::<Order>().0;
    assert!(order.iter().all(|(_, e)| *e == entity), "{order:?}");
    let names: Vec<&str> = order.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.first(), Some(&"created"), "{names:?}");
    assert_eq!(names.last(), Some(&"terminated"), "{names:?}");
    let ready_at = names.iter().position(|n| *n == "ready").unwrap();
    assert_eq!(names.iter().filter(|n| **n == "ready").count(), 1);
    assert_eq!(
        names[ready_at - 1],
        "changed",
        "READY follows its status change"
    );
    assert!(!names.contains(&"failed"));

    // Messages tell the same story.
    assert_eq!(seen::<DeploymentCreated>(&app).len(), 1);
    assert_eq!(seen::<DeploymentReady>(&app).len(), 1);
    assert_eq!(seen::<DeploymentTerminated>(&app).len(), 1);
    let changes = seen::<DeploymentStatusChanged>(&app);
    assert!(
        changes.windows(2).all(|w| w[0].to == w[1].from),
        "{changes:?}"
    );
    assert_eq!(changes.last().unwrap().to, Status::Terminated);

    // Polling stopped at the terminal state.
    assert!(!deployment(&app, entity).is_polled());
    let polls = emu.request_count(Route::Status);
    run_for(&mut app, Duration::from_millis(400));
    assert_eq!(emu.request_count(Route::Status), polls);
}

#[test]
fn error_status_fails_the_deployment_stops_it_at_once_and_follows_it_to_terminated() {
    let emu = emulator();
    let mut app = app(config(&emu));
    record_order(&mut app);
    let entity = call(&mut app, |eg| eg.deploy(deploy_request("broken")));
    run_until(&mut app, "DeploymentTerminated", LIMIT, |w| {
        !seen_in::<DeploymentTerminated>(w).is_empty()
    });
    let failed = &seen::<DeploymentFailed>(&app)[0];
    assert_eq!(failed.entity, entity);
    match &failed.reason {
        FailureReason::Error(Some(detail)) => assert!(detail.contains("Pull image"), "{detail}"),
        other => panic!("unexpected reason {other:?}"),
    }
    assert!(failed.server_may_exist && failed.stopped, "{failed:?}");
    let d = deployment(&app, entity);
    assert_eq!(*d.status(), Status::Terminated);
    assert!(d.has_failed());
    assert!(app.world().get::<Ended>(entity).is_some());
    assert!(seen::<DeploymentReady>(&app).is_empty());
    assert_eq!(emu.request_count(Route::Stop), 1);
}

#[test]
fn an_error_deployment_is_stopped_without_waiting_for_exit() {
    let emu = builder().without_rate_limits().start().unwrap();
    let mut app = app(quick(config(&emu)));
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

/// An app whose deployment (of the `broken` version) has been seen failing with ERROR.
fn errored_deployment() -> (EmulatorHandle, App, Entity, String) {
    let emu = emulator();
    let mut app = app(config(&emu).with_stop_on_error(false));
    record_order(&mut app);
    let entity = call(&mut app, |eg| eg.deploy(deploy_request("broken")));
    run_until(&mut app, "DeploymentFailed", LIMIT, |w| {
        !seen_in::<DeploymentFailed>(w).is_empty()
    });
    let id = request_id(&app, entity);
    (emu, app, entity, id)
}

#[test]
fn without_stop_on_error_an_error_deployment_is_left_alone_and_polling_ends() {
    let (emu, app, entity, _) = errored_deployment();
    let failed = &seen::<DeploymentFailed>(&app)[0];
    assert!(failed.server_may_exist && !failed.stopped, "{failed:?}");
    let d = deployment(&app, entity);
    assert_eq!(*d.status(), Status::Error);
    assert!(!d.is_polled());
    assert_eq!(emu.request_count(Route::Stop), 0);
}

#[test]
fn a_stopped_error_deployment_is_followed_to_terminated() {
    let (emu, mut app, entity, id) = errored_deployment();
    call(&mut app, move |eg| eg.stop_deployment(entity));
    run_until(&mut app, "DeploymentTerminated", LIMIT, |w| {
        !seen_in::<DeploymentTerminated>(w).is_empty()
    });
    assert_eq!(seen::<DeploymentTerminated>(&app)[0].entity, entity);
    assert_eq!(*deployment(&app, entity).status(), Status::Terminated);
    assert_eq!(emu.deployment(&id).unwrap().status, "Status.TERMINATED");
    assert_eq!(emu.request_count(Route::Stop), 1);
}

#[test]
fn app_exit_stops_error_deployments_too() {
    let (emu, mut app, _, id) = errored_deployment();
    assert_eq!(emu.deployment(&id).unwrap().status, "Status.ERROR");
    app.world_mut().write_message(AppExit::Success);
    app.update();
    assert!(
        emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(5)),
        "the errored deployment the app created was stopped on exit"
    );
}

#[test]
fn ready_timeout_fails_and_stops_the_deployment() {
    let emu = emulator();
    let mut app = app(config(&emu).with_ready_timeout(Some(Duration::from_millis(600))));
    record_order(&mut app);
    let entity = call(&mut app, |eg| eg.deploy(deploy_request("stuck")));
    run_until(&mut app, "DeploymentFailed", LIMIT, |w| {
        !seen_in::<DeploymentFailed>(w).is_empty()
    });
    let failed = seen::<DeploymentFailed>(&app)[0].clone();
    assert_eq!(failed.entity, entity);
    assert_eq!(
        failed.reason,
        FailureReason::ReadyTimeout(Duration::from_millis(600))
    );
    let id = request_id(&app, entity);
    run_until(&mut app, "the stuck deployment to terminate", LIMIT, |w| {
        w.get::<Deployment>(entity)
            .is_some_and(|d| *d.status() == Status::Terminated)
    });
    assert_eq!(
        emu.deployment(&id).unwrap().stopped_by.as_deref(),
        Some("api")
    );
    assert_eq!(seen::<DeploymentFailed>(&app).len(), 1, "failed once");
}

#[test]
fn no_ready_after_the_ready_timeout_failed_and_stopped_the_deployment() {
    // DEPLOYING until the stop the ready timeout sends, READY after: the stop is accepted but
    // applied late.
    let stopped = Arc::new(AtomicBool::new(false));
    let stub = Stub::start(move |request, _| match request.method.as_str() {
        "POST" => Answer::json(202, r#"{"request_id":"abc"}"#),
        "DELETE" => {
            stopped.store(true, Ordering::SeqCst);
            Answer::json(202, r#"{"message":"will be processed soon"}"#)
        }
        _ if !stopped.load(Ordering::SeqCst) => Answer::json(200, status_body("abc", "DEPLOYING")),
        _ => Answer::json(200, status_body("abc", "READY")),
    });
    let config = quick(EdgegapConfig::new(stub.base_url.clone(), "t"))
        .with_ready_timeout(Some(Duration::from_millis(100)));
    let mut app = app(config);
    collect::<DeploymentReady>(&mut app);
    collect::<DeploymentFailed>(&mut app);
    collect::<DeploymentStatusChanged>(&mut app);
    call(&mut app, |e| e.deploy(game_v1()));
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
fn track_follows_a_deployment_made_elsewhere_and_stop_by_id_follows_it_to_terminated() {
    let emu = emulator();
    let id = support::deploy(&emu, support::game_v1());
    let mut app = app(config(&emu));
    record_order(&mut app);
    let track_id = id.clone();
    let entity = call(&mut app, move |eg| eg.track(track_id));
    assert!(app.world().get::<StopOnExit>(entity).is_none());
    run_until(&mut app, "READY", LIMIT, |w| {
        w.get::<Deployment>(entity)
            .is_some_and(|d| d.status().is_ready())
    });
    assert!(!deployment(&app, entity).created_here());
    let stop_id = id.clone();
    let stop_call = call(&mut app, move |eg| eg.stop(stop_id));
    run_until(&mut app, "TERMINATED", LIMIT, |w| {
        w.get::<Deployment>(entity)
            .is_some_and(|d| *d.status() == Status::Terminated)
    });
    assert!(
        app.world().get_entity(stop_call).is_err(),
        "a call entity is despawned after delivery"
    );
    assert_eq!(seen::<DeploymentTerminated>(&app).len(), 1);
    assert_eq!(seen::<DeploymentTerminated>(&app)[0].entity, entity);
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
    // The 429 is handled: the poll is either scheduled again or resolved.
    run_until(&mut app, "the 429 handled", LIMIT, |w| {
        let stats = w.resource::<EdgegapStats>();
        stats.retries + stats.resolved > 0
    });
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
fn app_exit_stops_the_deployments_the_app_created() {
    let emu = emulator();
    let mut app = app(config(&emu));
    let ours = call(&mut app, |eg| eg.deploy(deploy_request("v1")));
    let kept = call(&mut app, |eg| eg.deploy(deploy_request("v1")));
    app.world_mut().entity_mut(kept).remove::<StopOnExit>();
    run_until(&mut app, "both READY", LIMIT, |w| {
        [ours, kept].iter().all(|&e| {
            w.get::<Deployment>(e)
                .is_some_and(|d| d.status().is_ready())
        })
    });
    let ours_id = request_id(&app, ours);
    let kept_id = request_id(&app, kept);
    app.world_mut().write_message(AppExit::Success);
    app.update();
    assert!(
        emu.wait_for_status(&ours_id, "Status.TERMINATED", Duration::from_secs(5)),
        "the deployment the app created was stopped on exit"
    );
    assert_eq!(
        emu.deployment(&ours_id).unwrap().stopped_by.as_deref(),
        Some("api")
    );
    assert_eq!(emu.deployment(&kept_id).unwrap().status, "Status.READY");
}

#[test]
fn stop_on_despawn_stops_the_deployment() {
    let emu = emulator();
    let mut app = app(config(&emu));
    let entity = call(&mut app, |eg| eg.deploy(deploy_request("v1")));
    app.world_mut().entity_mut(entity).insert(StopOnDespawn);
    run_until(&mut app, "READY", LIMIT, |w| {
        w.get::<Deployment>(entity)
            .is_some_and(|d| d.status().is_ready())
    });
    let id = request_id(&app, entity);
    app.world_mut().despawn(entity);
    run_until(&mut app, "the stop", LIMIT, |_| {
        emu.deployment(&id)
            .is_some_and(|d| d.stopped_by.as_deref() == Some("api"))
    });
}

#[test]
fn stop_before_the_deploy_answered_goes_out_once_it_has() {
    let emu = emulator();
    let mut app = app(config(&emu));
    record_order(&mut app);
    let entity = call(&mut app, |eg| {
        let entity = eg.deploy(deploy_request("v1"));
        eg.stop_deployment(entity);
        entity
    });
    run_until(&mut app, "TERMINATED", LIMIT, |w| {
        w.get::<Deployment>(entity)
            .is_some_and(|d| *d.status() == Status::Terminated)
    });
    assert_eq!(emu.request_count(Route::DeployV2), 1);
    assert!(seen::<DeploymentTerminated>(&app).len() == 1);
}

#[test]
fn two_stops_before_the_deploy_answered_both_resolve() {
    let emu = builder()
        .without_rate_limits()
        .fault(
            Fault::new(
                Route::DeployV2,
                FaultKind::Latency(Duration::from_millis(300)),
            )
            .times(1),
        )
        .start()
        .unwrap();
    let mut app = app(quick(config(&emu)));
    collect::<EdgegapResponse<StopDeployment>>(&mut app);
    let deployment = call(&mut app, |e| e.deploy(game_v1()));
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
fn a_deployment_despawned_while_its_deploy_is_on_the_wire_is_stopped_once_created() {
    let emu = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .lifecycle_step(Duration::from_millis(20))
        .fault(edgegap_emulator::Fault::new(
            Route::DeployV2,
            edgegap_emulator::FaultKind::Latency(Duration::from_millis(300)),
        ))
        .start()
        .unwrap();
    let mut app = app(config(&emu));
    collect::<EdgegapResponse<DeployRequest>>(&mut app);
    let entity = call(&mut app, |eg| eg.deploy(deploy_request("v1")));
    app.update();
    assert_eq!(
        app.world().resource::<EdgegapStats>().in_flight,
        1,
        "the deploy is on the wire"
    );
    app.world_mut().despawn(entity);
    run_until(&mut app, "the orphan to be stopped", LIMIT, |_| {
        emu.deployments()
            .iter()
            .any(|d| d.stopped_by.as_deref() == Some("api"))
    });
    assert!(
        seen::<EdgegapResponse<DeployRequest>>(&app).is_empty(),
        "nothing is delivered to a despawned entity"
    );
}
