//! What bevy_edgegap's integration tests share, on top of the public
//! [`bevy_edgegap::test_utils`] (re-exported here: [`app`], [`call`], [`result_of`],
//! [`run_until`]). Every test file reaches it with `mod support;`.
//!
//! Here: client configs for the emulator, message collectors, [`ask`] (a call and its result),
//! [`run_for`] (for "nothing more happens" checks) and deployments made straight over HTTP
//! ([`deploy`], [`deploy_ready`]). In submodules: a scripted HTTP [`stub`], a misbehaving
//! [`raw`] TCP server, real server [`process`]es, the self-stop reordering proxy
//! ([`reorder`]) and [`examples`] built as binaries.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test file uses a different subset"
)]

pub mod examples;
pub mod logs;
pub mod process;
pub mod raw;
pub mod reorder;
pub mod stub;

use std::time::{Duration, Instant};

use bevy::ecs::message::{Message, Messages};
use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, EdgegapError, Endpoint, Secret};
use bevy_edgegap::http::send;
use bevy_edgegap::prelude::*;
pub use bevy_edgegap::test_utils::{app, call, result_of, run_until};
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Route};
use futures_lite::future::block_on;

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

/// Makes one call and runs frames until its result arrives: [`call`], then [`result_of`].
pub fn ask<E: Endpoint>(
    app: &mut App,
    f: impl FnOnce(&mut Edgegap) -> Entity + Send + Sync + 'static,
) -> Result<E::Output, EdgegapError>
where
    E::Output: Clone,
{
    let entity = call(app, f);
    result_of::<E>(app, entity)
}

/// Runs frames until a message `M` is written, and returns it (the first of that frame; the
/// frame's others are dropped). Fails after `within`.
pub fn next_message<M: Message>(app: &mut App, within: Duration) -> M {
    let mut found = None;
    run_until(app, std::any::type_name::<M>(), within, |world| {
        found = world.resource_mut::<Messages<M>>().drain().next();
        found.is_some()
    });
    found.expect("run_until returns once a message is found")
}

/// Waits without running frames (what the engine's threads do on their own) until `done`
/// holds; fails with `what` after `within`.
pub fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < within,
            "gave up after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Writes `message` and runs one frame, no more: the request that frame asked for must be on
/// its way to `route` all the same (waited for without frames, at most 5 s).
pub fn one_frame_sends<M: Message>(app: &mut App, message: M, emu: &EmulatorHandle, route: Route) {
    app.world_mut().write_message(message);
    app.update();
    wait_until(
        &format!(
            "the request of the frame that wrote `{}`",
            ShortName::of::<M>()
        ),
        Duration::from_secs(5),
        || emu.request_count(route) > 0,
    );
}

/// Runs frames for `window` of wall time. Only for checks that something does *not* happen
/// (no second result, no more polls): a slow machine can make such a check pass when it
/// should not, never fail when it should pass. To wait for something, use [`run_until`].
pub fn run_for(app: &mut App, window: Duration) {
    let start = Instant::now();
    while start.elapsed() < window {
        app.update();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs frames until the emulator holds `n` deployments (at most 20 s).
pub fn until_created(app: &mut App, emu: &EmulatorHandle, n: usize) {
    let within = Duration::from_secs(20);
    run_until(app, "the emulator created the deployment", within, |_| {
        emu.deployments().len() >= n
    });
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

/// The messages of type `M` seen so far (see [`collect`]).
pub fn seen<M: Message + Clone>(app: &App) -> &[M] {
    seen_in(app.world())
}

/// [`seen`], from a [`World`] (in a [`run_until`] condition).
pub fn seen_in<M: Message + Clone>(world: &World) -> &[M] {
    &world.resource::<Seen<M>>().0
}

/// An emulator with one simulated version `game`/`v1` (UDP `gameport`), no rate limits and an
/// instant lifecycle.
pub fn simulated_emulator() -> EmulatorHandle {
    emulator_with(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
}

/// An emulator with `version` only, no rate limits and an instant lifecycle.
pub fn emulator_with(version: AppVersion) -> EmulatorHandle {
    Emulator::builder()
        .app_version(version)
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("emulator starts")
}

/// The plain deploy these tests make: `game`/`v1` near one player.
pub fn game_v1() -> DeployRequest {
    DeployRequest::new("game", "v1").user_ip("1.2.3.4")
}

/// Deploys `request` straight over HTTP, without the client plugin (a deployment made
/// "elsewhere", or one a server test needs), and returns the new deployment's id without
/// waiting for READY.
pub fn deploy(emu: &EmulatorHandle, request: DeployRequest) -> String {
    let http = request
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .expect("a valid deploy");
    let answer = block_on(send(http)).expect("the emulator answers");
    request
        .decode(&answer)
        .expect("deploy accepted")
        .request_id
        .to_string()
}

/// [`deploy`], then waits until the emulator reports it READY.
pub fn deploy_ready(emu: &EmulatorHandle, request: DeployRequest) -> String {
    let id = deploy(emu, request);
    assert!(
        emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)),
        "`{id}` never became READY"
    );
    id
}

/// A [`simulated_emulator`] and one READY deployment of [`game_v1`] on it: where a server test
/// starts.
pub fn ready_deployment() -> (EmulatorHandle, String) {
    let emu = simulated_emulator();
    let id = deploy_ready(&emu, game_v1());
    (emu, id)
}

/// Waits (10 s at most) until deployment `id` is TERMINATED, and checks that its own server
/// stopped it (`stopped_by` = self).
pub fn assert_self_stopped(emu: &EmulatorHandle, id: &str) {
    assert!(
        emu.wait_for_status(id, "Status.TERMINATED", Duration::from_secs(10)),
        "`{id}` was not terminated"
    );
    assert_eq!(
        emu.deployment(id)
            .expect("a known deployment")
            .stopped_by
            .as_deref(),
        Some("self")
    );
}
