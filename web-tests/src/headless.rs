//! [`Headless`]: a Bevy app with `MinimalPlugins` and the client plugin
//! ([`bevy_edgegap::test_utils`]) or the matchmaker plugin, driven frame by frame with a wall-clock bound. Its waits are
//! async (`test_utils::run_until` blocks, which a browser cannot): [`sleep`] between frames
//! hands the browser its event loop back (that is when `fetch` answers arrive).

use std::time::Duration;

use bevy::ecs::message::Message;
use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use bevy_edgegap::test_utils;
use web_time::Instant;

/// A headless app running the client plugin.
pub struct Headless {
    /// The app (query its world between frames).
    pub app: App,
}

/// The messages of type `M` seen so far.
#[derive(Resource)]
struct Seen<M>(Vec<M>);

impl Headless {
    /// `MinimalPlugins` and [`EdgegapClientPlugin`] with `config`, ready to update
    /// ([`bevy_edgegap::test_utils::app`]).
    pub fn new(config: EdgegapConfig) -> Self {
        Self {
            app: test_utils::app(config),
        }
    }

    /// `MinimalPlugins` and [`MatchmakerPlugin`] with `config` (no organisation token, no
    /// gateway), ready to update.
    pub fn matchmaker(config: MatchmakerConfig) -> Self {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(MatchmakerPlugin::new(config));
        app.finish();
        app.cleanup();
        Self { app }
    }

    /// Makes one call with the [`Matchmaker`] parameter (between frames) and returns its
    /// entity.
    ///
    /// # Panics
    /// When the app has no [`MatchmakerPlugin`].
    pub fn search(
        &mut self,
        call: impl FnOnce(&mut Matchmaker) -> Entity + Send + Sync + 'static,
    ) -> Entity {
        let mut call = Some(call);
        self.app
            .world_mut()
            .run_system_once(move |mut matchmaker: Matchmaker| {
                (call.take().expect("a one-shot system runs once"))(&mut matchmaker)
            })
            .expect("the app has the MatchmakerPlugin")
    }

    /// Keeps every `M` message from now on (read them with [`Headless::seen`]).
    pub fn collect<M: Message + Clone>(&mut self) -> &mut Self {
        self.app.insert_resource(Seen::<M>(Vec::new()));
        self.app.add_systems(
            Last,
            |mut reader: MessageReader<M>, mut seen: ResMut<Seen<M>>| {
                seen.0.extend(reader.read().cloned());
            },
        );
        self
    }

    /// The `M` messages seen so far (after [`Headless::collect`]).
    pub fn seen<M: Message + Clone>(&self) -> Vec<M> {
        self.app
            .world()
            .get_resource::<Seen<M>>()
            .map(|seen| seen.0.clone())
            .unwrap_or_default()
    }

    /// Makes one call with the [`Edgegap`] parameter (between frames) and returns its entity
    /// ([`bevy_edgegap::test_utils::call`]).
    pub fn call(
        &mut self,
        call: impl FnOnce(&mut Edgegap) -> Entity + Send + Sync + 'static,
    ) -> Entity {
        test_utils::call(&mut self.app, call)
    }

    /// Updates until `done` holds, at most `limit` of wall-clock time.
    ///
    /// # Panics
    /// When `limit` passes first, naming `what`.
    pub async fn until(
        &mut self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&World) -> bool,
    ) -> Duration {
        until_all(std::slice::from_mut(self), what, limit, |apps| {
            done(apps[0].app.world())
        })
        .await
    }

    /// Updates for `time` of wall-clock time.
    pub async fn run_for(&mut self, time: Duration) {
        let start = Instant::now();
        while start.elapsed() < time {
            self.app.update();
            sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Updates every app in `apps`, one frame each in turn (several clients in one page), until
/// `done` holds, at most `limit` of wall-clock time.
///
/// # Panics
/// When `limit` passes first, naming `what`.
pub async fn until_all(
    apps: &mut [Headless],
    what: &str,
    limit: Duration,
    mut done: impl FnMut(&[Headless]) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        for headless in apps.iter_mut() {
            headless.app.update();
        }
        if done(apps) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "gave up waiting for {what} after {limit:?}"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

/// How many `M` messages `world` has seen (after [`Headless::collect`]).
pub fn seen_count<M: Message>(world: &World) -> usize {
    world
        .get_resource::<Seen<M>>()
        .map_or(0, |seen| seen.0.len())
}

/// Waits `time`: natively by blocking the thread, in the browser with a `setTimeout` (which
/// lets the page's event loop run: fetch answers and timers).
pub async fn sleep(time: Duration) {
    #[cfg(not(target_arch = "wasm32"))]
    std::thread::sleep(time);
    #[cfg(target_arch = "wasm32")]
    {
        let millis = time.as_millis().min(i32::MAX as u128) as i32;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = set_timeout(&resolve, millis);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: i32) -> i32;
}
