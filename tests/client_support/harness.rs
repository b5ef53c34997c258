//! Shared by the `client_*` tests: a headless app with the client plugin, an update loop
//! with a wall-clock bound, and message collectors.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::time::{Duration, Instant};

use bevy::ecs::message::Message;
use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::EmulatorHandle;

/// A config pointing at `emu`, with quick polls.
pub fn config(emu: &EmulatorHandle) -> EdgegapConfig {
    EdgegapConfig::new(emu.base_url(), emu.token()).with_poll(PollPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        multiplier: 1.5,
    })
}

/// `config` without client rate limits and with very quick polls (for scripted stubs).
pub fn quick(config: EdgegapConfig) -> EdgegapConfig {
    config
        .with_rate_limits(RateLimits::none())
        .with_poll(PollPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            multiplier: 1.5,
        })
}

/// `App::new()` + `MinimalPlugins` + the client plugin.
pub fn app(config: EdgegapConfig) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(EdgegapClientPlugin::new(config));
    app.finish();
    app.cleanup();
    app
}

/// Runs frames until `done` holds, failing with `what` after `limit` of wall time.
pub fn run_until(
    app: &mut App,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&mut World) -> bool,
) {
    let start = Instant::now();
    loop {
        app.update();
        if done(app.world_mut()) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs frames for `duration` of wall time.
pub fn run_for(app: &mut App, duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        app.update();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Every message of type `M` seen so far, in order.
#[derive(Resource)]
pub struct Seen<M: Message + Clone>(pub Vec<M>);

/// Collects every `M` into [`Seen<M>`] (read in `Last`).
pub fn collect<M: Message + Clone>(app: &mut App) {
    app.insert_resource(Seen::<M>(Vec::new()));
    app.add_systems(
        Last,
        |mut reader: MessageReader<M>, mut seen: ResMut<Seen<M>>| {
            seen.0.extend(reader.read().cloned());
        },
    );
}

/// The messages of type `M` seen so far.
pub fn seen<M: Message + Clone>(app: &App) -> &[M] {
    &app.world().resource::<Seen<M>>().0
}

/// Issues one call from a one-shot system and returns its entity.
pub fn call(
    app: &mut App,
    f: impl FnOnce(&mut Edgegap) -> Entity + Send + Sync + 'static,
) -> Entity {
    let mut f = Some(f);
    let id = app
        .world_mut()
        .register_system(move |mut edgegap: Edgegap| {
            (f.take().expect("called once"))(&mut edgegap)
        });
    let entity = app
        .world_mut()
        .run_system(id)
        .expect("the call system runs");
    app.world_mut().flush();
    entity
}

/// Issues one call and runs frames until its [`EdgegapResponse<E>`] arrives; returns it.
pub fn result_of<E>(
    app: &mut App,
    f: impl FnOnce(&mut Edgegap) -> Entity + Send + Sync + 'static,
) -> Result<E::Output, bevy_edgegap::api::EdgegapError>
where
    E: bevy_edgegap::api::Endpoint,
    E::Output: Clone,
{
    if !app.world().contains_resource::<Seen<EdgegapResponse<E>>>() {
        collect::<EdgegapResponse<E>>(app);
    }
    let entity = call(app, f);
    let what = std::any::type_name::<E>();
    run_until(app, Duration::from_secs(15), what, |w| {
        w.resource::<Seen<EdgegapResponse<E>>>()
            .0
            .iter()
            .any(|r| r.entity == entity)
    });
    let seen = &app.world().resource::<Seen<EdgegapResponse<E>>>().0;
    let mine: Vec<_> = seen.iter().filter(|r| r.entity == entity).collect();
    assert_eq!(mine.len(), 1, "{what}: one result per call");
    mine[0].result.clone()
}
