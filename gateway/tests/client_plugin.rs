//! The `bevy_edgegap` client plugin in gateway mode, end to end: a headless Bevy app holding
//! only a player token deploys through the gateway to the emulator, sees READY, stops, sees
//! TERMINATED. The deploy carries no `users` (the gateway fills them) and an
//! `Idempotency-Key`.

mod support;

use std::time::{Duration, Instant};

use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use bevy_edgegap::api::DeployRequest;
use bevy_edgegap::prelude::*;
use edgegap_emulator::Route;
use support::*;

const LIMIT: Duration = Duration::from_secs(20);

fn run_until(app: &mut App, what: &str, mut done: impl FnMut(&World) -> bool) {
    let start = Instant::now();
    loop {
        app.update();
        if done(app.world()) {
            return;
        }
        assert!(start.elapsed() < LIMIT, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn status_of(world: &World, entity: Entity) -> Option<Status> {
    world.get::<Deployment>(entity).map(|d| d.status().clone())
}

#[test]
fn the_client_plugin_deploys_and_stops_through_the_gateway() {
    let emu = emulator();
    let gw = gateway(&emu);
    let config = EdgegapConfig::gateway(gw.base_url(), token("alice")).with_poll(PollPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        multiplier: 1.5,
    });
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(EdgegapClientPlugin::new(config));
    app.finish();
    app.cleanup();

    #[derive(Resource)]
    struct Deploying(Entity);
    app.add_systems(Startup, |mut edgegap: Edgegap, mut commands: Commands| {
        let entity = edgegap.deploy(DeployRequest::new(APP, VERSION));
        commands.insert_resource(Deploying(entity));
    });
    app.update();
    let entity = app.world().resource::<Deploying>().0;

    run_until(&mut app, "READY", |w| {
        status_of(w, entity) == Some(Status::Ready)
    });
    let id = app
        .world()
        .get::<Deployment>(entity)
        .and_then(|d| d.request_id().cloned())
        .expect("a request id");
    let info = emu.deployment(id.as_str()).expect("the emulator has it");
    assert_eq!(info.status, "Status.READY");
    assert!(
        info.tags
            .iter()
            .any(|t| t.starts_with(edgegap_gateway::OWNER_TAG_PREFIX)),
        "no owner tag: {:?}",
        info.tags
    );
    let address = app
        .world()
        .get::<Deployment>(entity)
        .and_then(|d| d.address("gameport"))
        .expect("gameport address");
    assert!(address.port > 0);

    app.world_mut()
        .run_system_once(move |mut edgegap: Edgegap| edgegap.stop_deployment(entity))
        .unwrap();
    run_until(&mut app, "TERMINATED", |w| {
        status_of(w, entity) == Some(Status::Terminated)
    });
    assert_eq!(
        emu.deployment(id.as_str()).unwrap().stopped_by.as_deref(),
        Some("api")
    );
    assert_eq!(emu.request_count(Route::DeployV2), 1);
    assert_eq!(emu.deployments().len(), 1);
}
