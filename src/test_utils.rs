//! Helpers for testing an app that uses this crate, headless: the recipe of bevy_replicon's
//! `test_app` module and of Bevy's `tests/how_to_test_apps.rs`. This crate's own integration
//! tests and benches use them; so can a game's tests. Nothing here runs in a shipped game.
//!
//! - [`app`]: `App::new()` + `MinimalPlugins` + [`EdgegapClientPlugin`], finished.
//! - [`call`]: one [`Edgegap`] call from a one-shot system, returning its entity.
//! - [`result_of`]: runs frames until that call's [`EdgegapResponse`] arrives, and returns it.
//! - [`run_until`]: runs frames until a condition on the [`World`] holds, and fails with a
//!   message when a wall-clock bound runs out. Wait for a state with it; never sleep and then
//!   assert.
//!
//! ```
//! use bevy_edgegap::api::{EdgegapError, GetStatus};
//! use bevy_edgegap::prelude::*;
//! use bevy_edgegap::test_utils::{app, call, result_of};
//!
//! // An empty token: every call resolves as a `Config` error, on the next frame.
//! let mut app = app(EdgegapConfig::new("http://127.0.0.1:9", ""));
//! let status = call(&mut app, |edgegap| edgegap.status("0123456789ab"));
//! let result = result_of::<GetStatus>(&mut app, status);
//! assert!(matches!(result, Err(EdgegapError::Config(_))));
//! ```
//!
//! These are plain public functions rather than a cargo feature: a package cannot list itself
//! as a dev-dependency to turn a feature on for its own tests, and a test target that required
//! a feature would be skipped by a plain `cargo test`. [`run_until`] needs either the `client`
//! or the `server` feature; the rest needs `client`.

use std::time::{Duration, Instant};

use bevy::app::App;
use bevy::ecs::world::World;
#[cfg(feature = "client")]
use {
    crate::api::{EdgegapError, Endpoint},
    crate::client::{Edgegap, EdgegapClientPlugin, EdgegapConfig, EdgegapResponse},
    bevy::ecs::entity::Entity,
    bevy::ecs::observer::On,
    bevy::ecs::system::RunSystemOnce,
    std::sync::{Arc, Mutex},
};

/// How long [`result_of`] waits beyond the app's [`EdgegapConfig::with_deadline`]: time in the
/// queue (behind the in-flight cap or a rate budget) does not count against the deadline.
#[cfg(feature = "client")]
pub const RESULT_MARGIN: Duration = Duration::from_secs(20);

/// `App::new()` with `MinimalPlugins` and
/// [`EdgegapClientPlugin::new(config)`](EdgegapClientPlugin::new), finished and cleaned up,
/// ready for [`App::update`].
#[cfg(feature = "client")]
pub fn app(config: EdgegapConfig) -> App {
    let mut app = App::new();
    app.add_plugins(bevy::MinimalPlugins)
        .add_plugins(EdgegapClientPlugin::new(config));
    app.finish();
    app.cleanup();
    app
}

/// Makes one call with the [`Edgegap`] parameter, from a one-shot system, and returns the
/// entity the call returned. No frame runs: the result arrives during later updates.
///
/// # Panics
///
/// When the app has no [`EdgegapClientPlugin`].
#[cfg(feature = "client")]
pub fn call(
    app: &mut App,
    f: impl FnOnce(&mut Edgegap) -> Entity + Send + Sync + 'static,
) -> Entity {
    let mut f = Some(f);
    app.world_mut()
        .run_system_once(move |mut edgegap: Edgegap| {
            (f.take().expect("a one-shot system runs once"))(&mut edgegap)
        })
        .expect("the app has the EdgegapClientPlugin")
}

/// Runs frames until the [`EdgegapResponse<E>`] of the call `entity` stands for arrives, and
/// returns its result. Use it right after [`call`] (or after the system that made the call),
/// before the frame that could deliver it. Waits for at most the app's configured deadline
/// plus [`RESULT_MARGIN`].
///
/// # Panics
///
/// When `entity` does not exist, when nothing arrives in time, and when the call resolves more
/// than once.
#[cfg(feature = "client")]
pub fn result_of<E: Endpoint>(app: &mut App, entity: Entity) -> Result<E::Output, EdgegapError>
where
    E::Output: Clone,
{
    let what = std::any::type_name::<E>();
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&results);
    app.world_mut()
        .get_entity_mut(entity)
        .unwrap_or_else(|_| {
            panic!("{what}: the call entity {entity} does not exist (already delivered?)")
        })
        .observe(move |response: On<EdgegapResponse<E>>| {
            sink.lock()
                .expect("result_of's observer")
                .push(response.result.clone());
        });
    let within = app
        .world()
        .get_resource::<EdgegapConfig>()
        .map_or(Duration::ZERO, |config| config.deadline)
        + RESULT_MARGIN;
    run_until(app, what, within, |_| {
        !results.lock().expect("result_of's results").is_empty()
    });
    let mut results = results.lock().expect("result_of's results");
    assert_eq!(results.len(), 1, "{what}: one result per call");
    results.pop().expect("one result")
}

/// Runs frames (an [`App::update`] each, 1 ms apart) until `done` holds for the world after a
/// frame. Fails with `what` when it still does not after `within` of wall time.
///
/// ```
/// use std::time::Duration;
///
/// use bevy::prelude::*;
/// use bevy_edgegap::test_utils::run_until;
///
/// let mut app = App::new();
/// app.add_plugins(MinimalPlugins);
/// run_until(&mut app, "ten frames", Duration::from_secs(10), |world| {
///     world.resource::<bevy::diagnostic::FrameCount>().0 >= 10
/// });
/// ```
///
/// # Panics
///
/// When `within` runs out, with a message naming `what`.
pub fn run_until(
    app: &mut App,
    what: &str,
    within: Duration,
    mut done: impl FnMut(&mut World) -> bool,
) {
    let start = Instant::now();
    loop {
        app.update();
        if done(app.world_mut()) {
            return;
        }
        assert!(
            start.elapsed() < within,
            "gave up after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
