//! [`EdgegapWake`]: lets an answer wake an app whose loop waits between frames.

use std::sync::Arc;

use bevy::ecs::resource::Resource;
use bevy::ecs::world::World;

use crate::http::WakeFn;

/// A hook the client calls when a result is ready for the app, so that an app whose loop
/// waits between frames runs the frame that delivers it now rather than at its next tick.
/// Insert it as a resource (any time; removing it stops the calls); both
/// [`EdgegapClientPlugin`](super::EdgegapClientPlugin) and
/// [`MatchmakerPlugin`](super::MatchmakerPlugin) use it.
///
/// It is called from the HTTP worker thread the answer arrived on (from the game's thread for
/// a call refused before sending), with no lock of the app held, once per batch: after it was
/// called, answers arriving before the plugin next looks do not call it again. Keep it short
/// and non-blocking (send an event, notify a condition variable). A hook that panics is
/// caught and logged; the answer then waits for the next frame.
///
/// With winit's reactive modes (`WinitSettings::desktop_app()`), wake the event loop
/// through its proxy. `bevy_edgegap` does not depend on `bevy_winit`; with the `bevy_winit`
/// feature of `bevy` (Bevy 0.19):
///
/// ```ignore
/// use bevy::prelude::*;
/// use bevy::winit::{EventLoopProxyWrapper, WinitSettings, WinitUserEvent};
/// use bevy_edgegap::client::EdgegapWake;
/// use bevy_edgegap::prelude::*;
///
/// let mut app = App::new();
/// app.add_plugins(DefaultPlugins)
///     .insert_resource(WinitSettings::desktop_app())
///     .add_plugins(EdgegapClientPlugin::default());
/// // `WinitPlugin` (in `DefaultPlugins`) inserted the proxy while it was built.
/// let proxy = (**app.world().resource::<EventLoopProxyWrapper>()).clone();
/// app.insert_resource(EdgegapWake::new(move || {
///     let _ = proxy.send_event(WinitUserEvent::WakeUp);
/// }));
/// app.run();
/// ```
///
/// A headless server that sleeps to its tick can block on a condition variable the hook
/// notifies (as `benches/client_throughput.rs`'s "frames woken by answers" loop does):
///
/// ```
/// use std::sync::{Arc, Condvar, Mutex};
/// use bevy::prelude::*;
/// use bevy_edgegap::client::EdgegapWake;
/// use bevy_edgegap::prelude::*;
///
/// let woken = Arc::new((Mutex::new(false), Condvar::new()));
/// let hook = Arc::clone(&woken);
/// let mut app = App::new();
/// app.add_plugins(MinimalPlugins)
///     .add_plugins(EdgegapClientPlugin::new(EdgegapConfig::new("http://127.0.0.1:9", "t")))
///     .insert_resource(EdgegapWake::new(move || {
///         *hook.0.lock().unwrap() = true;
///         hook.1.notify_one();
///     }));
/// // The game loop: a frame, then sleep until the next tick or an answer, whichever is first.
/// # for _ in 0..2 {
/// app.update();
/// let (lock, condvar) = &*woken;
/// let tick = std::time::Duration::from_millis(50);
/// let (mut woken, _) = condvar.wait_timeout_while(lock.lock().unwrap(), tick, |w| !*w).unwrap();
/// *woken = false;
/// # }
/// ```
///
/// The hook covers answers (and timeouts, which the HTTP workers enforce themselves). Retries
/// waiting for their backoff and status polls due later are started by a frame: a loop that
/// waits should still run one at least every few seconds (winit's reactive modes take such a
/// wait) or it delays them.
#[derive(Resource, Clone)]
pub struct EdgegapWake(pub(crate) WakeFn);

impl EdgegapWake {
    /// A wake hook calling `hook`.
    pub fn new(hook: impl Fn() + Send + Sync + 'static) -> Self {
        Self(Arc::new(hook))
    }
}

impl std::fmt::Debug for EdgegapWake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EdgegapWake(..)")
    }
}

/// The app's wake hook, if it has one.
pub(crate) fn hook(world: &World) -> Option<&WakeFn> {
    world.get_resource::<EdgegapWake>().map(|wake| &wake.0)
}
