//! Graceful shutdown: `SIGTERM` (Edgegap's stop) and `SIGINT` (Ctrl-C) become a
//! [`ShutdownRequested`] message; the app exits with [`AppExit::Success`] once the grace
//! window has passed, unless it exited first.

use std::time::Duration;

use bevy::log::{info, warn};
use bevy::prelude::*;

use super::config::ServerConfig;
use crate::time::Instant;

/// Why the server is asked to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownReason {
    /// `SIGTERM`: Edgegap (or the emulator) is stopping the deployment.
    Terminate,
    /// `SIGINT`: Ctrl-C in a terminal. A second Ctrl-C ends the process at once (code 130).
    Interrupt,
    /// Written by the game itself.
    Requested,
}

/// The server should wrap up: save, tell players, close connections. Written within one frame
/// of `SIGTERM`/`SIGINT` (native unix); the game may also write it itself. The first one
/// starts the grace window: after `grace`, the plugin writes [`AppExit::Success`], unless the
/// app exited first. Edgegap's minimum termination grace is 5 s, so the default (4 s) exits
/// before a `SIGKILL`.
#[derive(Message, Debug, Clone, PartialEq)]
pub struct ShutdownRequested {
    /// Time left before the plugin exits the app.
    pub grace: Duration,
    /// What asked for it.
    pub reason: ShutdownReason,
}

/// The grace window, once started.
#[derive(Resource, Default)]
pub(crate) struct ShutdownTimer {
    exit_at: Option<Instant>,
    exited: bool,
    seen: SignalCounts,
}

/// Signals caught so far, process-wide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SignalCounts {
    terminate: usize,
    interrupt: usize,
}

#[cfg(unix)]
mod signals {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock};

    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    use super::SignalCounts;

    static TERMINATE: AtomicUsize = AtomicUsize::new(0);
    static INTERRUPT: AtomicUsize = AtomicUsize::new(0);
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

    /// Installs the handlers once per process: a thread counts the signals, the frames poll.
    pub(super) fn install() -> Result<(), String> {
        INSTALLED
            .get_or_init(|| {
                // A second Ctrl-C ends the process at once, as terminals expect.
                let interrupted = Arc::new(AtomicBool::new(false));
                signal_hook::flag::register_conditional_shutdown(SIGINT, 130, interrupted.clone())
                    .map_err(|e| e.to_string())?;
                signal_hook::flag::register(SIGINT, interrupted).map_err(|e| e.to_string())?;
                let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|e| e.to_string())?;
                std::thread::Builder::new()
                    .name("edgegap-signals".into())
                    .spawn(move || {
                        for signal in signals.forever() {
                            let counter = if signal == SIGTERM {
                                &TERMINATE
                            } else {
                                &INTERRUPT
                            };
                            counter.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    pub(super) fn counts() -> SignalCounts {
        SignalCounts {
            terminate: TERMINATE.load(Ordering::SeqCst),
            interrupt: INTERRUPT.load(Ordering::SeqCst),
        }
    }
}

#[cfg(not(unix))]
mod signals {
    use super::SignalCounts;

    pub(super) fn install() -> Result<(), String> {
        Err("signals are only handled on unix".into())
    }

    pub(super) fn counts() -> SignalCounts {
        SignalCounts::default()
    }
}

pub(crate) fn setup(app: &mut App, config: &ServerConfig) {
    let mut timer = ShutdownTimer::default();
    if config.handle_signals {
        match signals::install() {
            Ok(()) => {
                bevy::log::debug!("listening for `SIGTERM` and `SIGINT`");
                // Only signals caught from now on count for this app.
                timer.seen = signals::counts();
            }
            Err(e) => warn!("graceful shutdown on signals is unavailable: {e}"),
        }
    }
    app.insert_resource(timer);
}

/// Turns new signals into [`ShutdownRequested`]. Runs in
/// [`EdgegapServerSystems::Signals`](super::EdgegapServerSystems::Signals).
pub(crate) fn watch_signals(
    config: Res<ServerConfig>,
    mut timer: ResMut<ShutdownTimer>,
    mut requested: MessageWriter<ShutdownRequested>,
) {
    if !config.handle_signals {
        return;
    }
    let now = signals::counts();
    if now == timer.seen {
        return;
    }
    if now.terminate > timer.seen.terminate {
        requested.write(ShutdownRequested {
            grace: config.grace,
            reason: ShutdownReason::Terminate,
        });
    }
    if now.interrupt > timer.seen.interrupt {
        requested.write(ShutdownRequested {
            grace: config.grace,
            reason: ShutdownReason::Interrupt,
        });
    }
    timer.seen = now;
}

/// Starts the grace window on the first [`ShutdownRequested`]. Runs in
/// [`EdgegapServerSystems::Signals`](super::EdgegapServerSystems::Signals).
pub(crate) fn start_grace(
    mut requests: MessageReader<ShutdownRequested>,
    mut timer: ResMut<ShutdownTimer>,
) {
    for request in requests.read() {
        if timer.exit_at.is_none() {
            info!(
                "shutdown requested (`{:?}`): exiting within `{:?}`",
                request.reason, request.grace
            );
            timer.exit_at = Some(Instant::now() + request.grace);
        }
    }
}

/// Exits once the grace window has passed. Runs in
/// [`EdgegapServerSystems::Exit`](super::EdgegapServerSystems::Exit).
pub(crate) fn exit_after_grace(mut timer: ResMut<ShutdownTimer>, mut exit: MessageWriter<AppExit>) {
    if timer.exited {
        return;
    }
    if timer.exit_at.is_some_and(|at| Instant::now() >= at) {
        info!("grace period over: exiting");
        timer.exited = true;
        exit.write(AppExit::Success);
    }
}

/// The state `on_shutdown_enter` asks for.
#[derive(Resource)]
pub(crate) struct ShutdownState<S: bevy::state::state::FreelyMutableState>(pub S);

/// Sets the configured state once, on the first [`ShutdownRequested`]. Runs in
/// [`EdgegapServerSystems::Signals`](super::EdgegapServerSystems::Signals).
pub(crate) fn enter_on_shutdown<S: bevy::state::state::FreelyMutableState>(
    mut requests: MessageReader<ShutdownRequested>,
    target: Res<ShutdownState<S>>,
    next: Option<ResMut<NextState<S>>>,
    mut entered: Local<bool>,
) {
    if requests.read().count() == 0 || *entered {
        return;
    }
    *entered = true;
    match next {
        Some(mut next) => next.set(target.0.clone()),
        None => warn!(
            "`on_shutdown_enter({:?})`: the state is not initialised (`init_state`)",
            target.0
        ),
    }
}
