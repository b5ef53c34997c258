//! Deployments as entities against the emulator: deploy → READY → stop → TERMINATED, the
//! ERROR path, the ready timeout, tracking, and the orphan guard.

mod support;

use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, Endpoint, Status};
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Route};
use support::{app, call, collect, config, run_for, run_until, seen, seen_in};

const LIMIT: Duration = Duration::from_secs(15);

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(
            AppVersion::simulated("game", "broken").fail_with("Pull image timeout exceeded"),
        )
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .lifecycle_step(Duration::from_millis(20))
        .start()
        .expect("the emulator starts")
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

/// Deploys directly over HTTP (a deployment made "elsewhere").
fn deploy_elsewhere(emu: &EmulatorHandle) -> String {
    let request = deploy_request("v1")
        .to_request(
            &emu.base_url(),
            &bevy_edgegap::api::Secret::new(emu.token()),
        )
        .unwrap();
    let answer = futures_lite::future::block_on(bevy_edgegap::http::send(request)).unwrap();
    deploy_request("v1")
        .decode(&answer)
        .unwrap()
        .request_id
        .to_string()
}

#[test]
fn track_follows_a_deployment_made_elsewhere_and_stop_by_id_follows_it_to_terminated() {
    let emu = emulator();
    let id = deploy_elsewhere(&emu);
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
