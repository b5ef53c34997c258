//! Self-stop: `DELETE $ARBITRIUM_DELETE_URL` with the raw `ARBITRIUM_DELETE_TOKEN`
//! ([`api::SelfStop`]), once per app, retried within a bounded time; and a last blocking
//! attempt when the process panics or exits with an error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::log::{debug, error, info, warn};
use bevy::prelude::*;

use super::ServerConfig;
use super::call::{Call, Outcome};
use super::env::ArbitriumEnv;
use crate::api::{self, EdgegapError, Endpoint, HttpRequest, StopResponse};

/// Ask Edgegap to stop this deployment (`DELETE $ARBITRIUM_DELETE_URL`): write it from any
/// system, or let [`EdgegapServerPlugin::self_stop_on_enter`](super::EdgegapServerPlugin::self_stop_on_enter)
/// write it when the match ends.
///
/// The call goes out once per app, however often this is written; it is retried on
/// connection errors, `429` and `5xx` for a bounded time (self-stop is idempotent). The result
/// arrives as [`SelfStopCompleted`] or [`SelfStopFailed`]; after a failure, writing it again
/// starts a new attempt. Not on Edgegap (no [`ArbitriumEnv`]) it is a logged no-op.
///
/// Not to be confused with [`api::SelfStop`], the engine-free endpoint value this sends.
/// Edgegap answers by sending `SIGTERM`: see [`ShutdownRequested`](super::ShutdownRequested).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SelfStop;

/// Edgegap accepted the self-stop (`200`/`202`), or the deployment was already terminated
/// (`410`). Both a [`Message`] and a global [`Event`] (for observers). Expect `SIGTERM` next — it may also arrive before this message: a server that
/// exits on [`ShutdownRequested`](super::ShutdownRequested) may never see it.
#[derive(Message, Event, Debug, Clone, PartialEq)]
pub struct SelfStopCompleted {
    /// `true` when Edgegap answered `410`: the deployment was already terminated.
    pub already_terminated: bool,
    /// The answer, when Edgegap accepted the stop.
    pub response: Option<StopResponse>,
    /// Attempts made, the first included.
    pub attempts: u32,
}

/// The self-stop did not go through: a non-retryable answer (`401`, `403`, `404`, …), or
/// retries ran out. The deployment keeps running until its max duration. Both a [`Message`]
/// and a global [`Event`] (for observers).
#[derive(Message, Event, Debug, Clone, PartialEq)]
pub struct SelfStopFailed {
    /// What went wrong (never contains the token).
    pub error: EdgegapError,
    /// Attempts made, the first included (0 when nothing could be sent).
    pub attempts: u32,
}

/// What the panic hook and the error-exit path share with the systems.
pub(crate) struct LastResort {
    request: Mutex<Option<HttpRequest>>,
    /// Set once Edgegap confirmed the stop: nothing more to do.
    done: AtomicBool,
    timeout: Duration,
}

impl LastResort {
    /// One blocking attempt, bounded by `timeout`; never panics.
    fn attempt(&self, why: &str) {
        if self.done.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(request) = self.request.lock().ok().and_then(|r| r.clone()) else {
            return;
        };
        eprintln!("bevy_edgegap: {why}: attempting a self-stop");
        let (tx, rx) = crossbeam_channel::bounded(1);
        let spawned = std::thread::Builder::new()
            .name("edgegap-last-self-stop".into())
            .spawn(move || {
                let result = futures_lite::future::block_on(crate::http::send(request));
                let _ = tx.send(result.map(|r| r.status));
            });
        if spawned.is_err() {
            eprintln!("bevy_edgegap: could not start the self-stop thread");
            return;
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(status)) => eprintln!("bevy_edgegap: self-stop answered `{status}`"),
            Ok(Err(error)) => eprintln!("bevy_edgegap: self-stop failed: {error}"),
            Err(_) => eprintln!(
                "bevy_edgegap: self-stop got no answer within `{:?}`",
                self.timeout
            ),
        }
    }
}

enum Phase {
    Idle,
    Running(Box<Call<api::SelfStop>>),
    Done,
}

/// The app's self-stop: idle, running, or done.
#[derive(Resource)]
pub(crate) struct SelfStopper {
    phase: Phase,
    last_resort: Option<Arc<LastResort>>,
}

pub(crate) fn setup(app: &mut App, config: &ServerConfig) {
    let env = app.world().get_resource::<ArbitriumEnv>();
    let request = env
        .filter(|env| env.can_self_stop())
        .and_then(|env| endpoint(env).to_request("", &api::Secret::default()).ok());
    let last_resort = if config.self_stop_on_panic {
        request.map(|request| {
            let shared = Arc::new(LastResort {
                request: Mutex::new(Some(request)),
                done: AtomicBool::new(false),
                timeout: config.last_resort_timeout,
            });
            install_panic_hook(shared.clone());
            shared
        })
    } else {
        None
    };
    app.insert_resource(SelfStopper {
        phase: Phase::Idle,
        last_resort,
    });
}

fn endpoint(env: &ArbitriumEnv) -> api::SelfStop {
    api::SelfStop::new(
        env.delete_url.clone().unwrap_or_default(),
        env.delete_token.clone().unwrap_or_default(),
    )
}

fn install_panic_hook(shared: Arc<LastResort>) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        shared.attempt("the server panicked");
    }));
}

/// Starts the self-stop when asked. Runs in [`EdgegapServerSystems::Send`](super::EdgegapServerSystems::Send).
pub(crate) fn start_self_stop(
    mut requests: MessageReader<SelfStop>,
    env: Option<Res<ArbitriumEnv>>,
    config: Res<ServerConfig>,
    mut stopper: ResMut<SelfStopper>,
    mut failed: MessageWriter<SelfStopFailed>,
    mut commands: Commands,
) {
    if requests.read().count() == 0 {
        return;
    }
    let Some(env) = env else {
        info!("not running on edgegap: self-stop skipped");
        return;
    };
    match stopper.phase {
        Phase::Running(_) => {
            debug!("self-stop already in progress");
            return;
        }
        Phase::Done => {
            debug!("self-stop already done");
            return;
        }
        Phase::Idle => {}
    }
    let started = Call::start(
        endpoint(&env),
        config.self_stop_retry.clone(),
        config.attempt_timeout,
        "self-stop",
    );
    match started {
        Ok(call) => {
            info!("self-stopping deployment `{}`", env.request_id());
            stopper.phase = Phase::Running(Box::new(call));
        }
        Err(error) => {
            error!("self-stop of `{}` impossible: {error}", env.request_id());
            let result = SelfStopFailed { error, attempts: 0 };
            commands.trigger(result.clone());
            failed.write(result);
        }
    }
}

/// Polls the self-stop call. Runs in [`EdgegapServerSystems::Receive`](super::EdgegapServerSystems::Receive).
pub(crate) fn poll_self_stop(
    mut stopper: ResMut<SelfStopper>,
    mut completed: MessageWriter<SelfStopCompleted>,
    mut failed: MessageWriter<SelfStopFailed>,
    mut commands: Commands,
) {
    let Phase::Running(call) = &mut stopper.phase else {
        return;
    };
    let Some(Outcome { result, attempts }) = call.poll(Instant::now()) else {
        return;
    };
    let done = match result {
        Ok(response) => {
            info!(
                "self-stop accepted (`{}`) after `{attempts}` attempt(s)",
                response.http_status
            );
            let result = SelfStopCompleted {
                already_terminated: false,
                response: Some(response),
                attempts,
            };
            commands.trigger(result.clone());
            completed.write(result);
            true
        }
        Err(error) if error.is_already_terminated() => {
            info!("self-stop: the deployment was already terminated");
            let result = SelfStopCompleted {
                already_terminated: true,
                response: None,
                attempts,
            };
            commands.trigger(result.clone());
            completed.write(result);
            true
        }
        Err(error) => {
            error!("self-stop failed after `{attempts}` attempt(s): {error}");
            let result = SelfStopFailed { error, attempts };
            commands.trigger(result.clone());
            failed.write(result);
            false
        }
    };
    if done {
        stopper.phase = Phase::Done;
        if let Some(last) = &stopper.last_resort {
            last.done.store(true, Ordering::SeqCst);
        }
    } else {
        stopper.phase = Phase::Idle;
    }
}

/// On an error exit, one last blocking self-stop attempt (with `self_stop_on_panic`).
/// Runs in [`EdgegapServerSystems::Exit`](super::EdgegapServerSystems::Exit).
pub(crate) fn self_stop_on_error_exit(
    mut exits: MessageReader<AppExit>,
    stopper: Res<SelfStopper>,
) {
    if !exits.read().any(AppExit::is_error) {
        return;
    }
    if let Some(last) = &stopper.last_resort {
        warn!("the app exits with an error: attempting a self-stop");
        last.attempt("the server exits with an error");
    }
}
