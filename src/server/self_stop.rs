//! Self-stop: `DELETE $ARBITRIUM_DELETE_URL` with the raw `ARBITRIUM_DELETE_TOKEN`
//! ([`api::SelfStopDeployment`], built and checked once at start), through one once-only path whatever
//! asked for it (the game, a state, a policy), retried within a bounded time; and a last
//! blocking attempt when a panic ends the app or it exits with an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bevy::ecs::system::SystemParam;
use bevy::log::{debug, error, info, warn};
use bevy::prelude::*;

use super::announce::Announce;
use super::call::{Call, Outcome};
use super::config::ServerConfig;
use super::env::ArbitriumEnv;
use super::shutdown::{ShutdownReason, ShutdownRequested};
use crate::api::{self, EdgegapError, Endpoint, HttpRequest, StopResponse};
use crate::time::Instant;

/// Ask Edgegap to stop this deployment (`DELETE $ARBITRIUM_DELETE_URL`): write it from any
/// system, or let [`EdgegapServerPlugin::self_stop_on_enter`](super::EdgegapServerPlugin::self_stop_on_enter)
/// or a match-lifecycle policy ask for it.
///
/// The call goes out once per app, however often this is written, in the frame it is written
/// (the first attempt is sent from [`EdgegapServerSystems::Send`](super::EdgegapServerSystems::Send));
/// it is retried on connection errors, `429` and `5xx` for a bounded time (self-stop is
/// idempotent). The result arrives as [`SelfStopCompleted`] or [`SelfStopFailed`], with the
/// [`SelfStopReason`] of the first request; after a failure, writing it again starts a new
/// attempt. Not on Edgegap (no [`ArbitriumEnv`]) it is a logged no-op.
///
/// What it sends is [`api::SelfStopDeployment`], the engine-free endpoint value (formerly
/// also named `SelfStop`). Edgegap answers by sending `SIGTERM`: see [`ShutdownRequested`].
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SelfStop;

/// Edgegap accepted the self-stop (`200`/`202`), the deployment was already terminated
/// (`410`), or `SIGTERM` arrived while the self-stop was under way. Both a [`Message`] and a
/// global [`Event`] (for observers).
///
/// Edgegap may send `SIGTERM` before it answers: then this is written in the same frame as the
/// [`ShutdownRequested`], with [`sigterm_first`](Self::sigterm_first) set, so a server that
/// exits on either sees both.
#[derive(Message, Event, Debug, Clone, PartialEq)]
pub struct SelfStopCompleted {
    /// Why the server stopped itself.
    pub reason: SelfStopReason,
    /// `true` when Edgegap answered `410`: the deployment was already terminated.
    pub already_terminated: bool,
    /// `true` when `SIGTERM` arrived before Edgegap's answer: the deployment is stopping, the
    /// answer was not awaited (`response` is `None`).
    pub sigterm_first: bool,
    /// The answer, when Edgegap accepted the stop.
    pub response: Option<StopResponse>,
    /// Attempts made, the first included (0 when `sigterm_first`: the answer was not read).
    pub attempts: u32,
}

/// The self-stop did not go through: a missing or invalid injected variable (nothing sent,
/// an [`EdgegapError::Invalid`] naming it), a non-retryable answer (`401`, `403`, `404`, …), or
/// retries ran out. The deployment keeps running until its max duration. Both a [`Message`]
/// and a global [`Event`] (for observers).
#[derive(Message, Event, Debug, Clone, PartialEq)]
pub struct SelfStopFailed {
    /// Why the server tried to stop itself.
    pub reason: SelfStopReason,
    /// What went wrong (never contains the token).
    pub error: EdgegapError,
    /// Attempts made, the first included (0 when nothing could be sent).
    pub attempts: u32,
}

/// Why the server stopped its own deployment: on [`SelfStopCompleted`],
/// [`SelfStopFailed`] and in the log line that starts the self-stop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelfStopReason {
    /// The game wrote [`SelfStop`].
    Requested,
    /// The app entered a state given to
    /// [`self_stop_on_enter`](super::EdgegapServerPlugin::self_stop_on_enter) (its `Debug` form).
    StateEntered(String),
    /// [`stop_if_no_player_within`](super::EdgegapServerPlugin::stop_if_no_player_within):
    /// nobody joined within this time from the start.
    NoPlayerWithin(Duration),
    /// [`stop_when_empty_for`](super::EdgegapServerPlugin::stop_when_empty_for): the match has
    /// been empty this long after players had joined.
    EmptyFor(Duration),
    /// [`max_match_duration`](super::EdgegapServerPlugin::max_match_duration): the server has
    /// run this long.
    MaxMatchDuration(Duration),
    /// The no-show policy: none of the players the matchmaker sent arrived within this grace
    /// period (see [`PlayerNoShow`](super::PlayerNoShow)).
    NoShow(Duration),
}

impl std::fmt::Display for SelfStopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Requested => write!(f, "requested by the game"),
            Self::StateEntered(state) => write!(f, "entered state `{state}`"),
            Self::NoPlayerWithin(limit) => write!(f, "no player joined within `{limit:?}`"),
            Self::EmptyFor(limit) => write!(f, "the match has been empty for `{limit:?}`"),
            Self::MaxMatchDuration(limit) => {
                write!(f, "the match reached its maximum duration `{limit:?}`")
            }
            Self::NoShow(grace) => {
                write!(f, "no matched player arrived within `{grace:?}`")
            }
        }
    }
}

/// What the panic and error-exit paths share with the systems: the request, rendered once
/// from the one [`api::SelfStopDeployment`].
pub(crate) struct LastResort {
    request: HttpRequest,
    /// Set once Edgegap confirmed the stop, or once tried: nothing more to do.
    done: AtomicBool,
    timeout: Duration,
}

impl LastResort {
    /// One blocking attempt, bounded by `timeout`; never panics; at most once.
    fn attempt(&self, why: &str) {
        if self.done.swap(true, Ordering::SeqCst) {
            return;
        }
        let request = self.request.clone();
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
    Running {
        call: Box<Call<api::SelfStopDeployment>>,
        reason: SelfStopReason,
    },
    Done,
}

/// The app's self-stop: what to send, what asked for it, and how far it got.
#[derive(Resource)]
pub(crate) struct SelfStopper {
    /// The one DELETE, built and checked once from the injected variables; `None` off Edgegap.
    endpoint: Option<Result<api::SelfStopDeployment, EdgegapError>>,
    /// The first request not yet started.
    requested: Option<SelfStopReason>,
    phase: Phase,
    /// `SIGTERM` arrived: the deployment is stopping.
    terminated: bool,
    last_resort: Option<Arc<LastResort>>,
}

impl SelfStopper {
    /// Asks for a self-stop; the first reason wins until it starts.
    pub(crate) fn request(&mut self, reason: SelfStopReason) {
        if self.requested.is_none() {
            self.requested = Some(reason);
        }
    }
}

impl Drop for SelfStopper {
    /// A panic that ends the app unwinds out of its update and drops the world: that, and only
    /// that, is the panic `self_stop_on_panic` acts on.
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(last) = &self.last_resort
        {
            last.attempt("a panic ended the server");
        }
    }
}

pub(crate) fn setup(app: &mut App, config: &ServerConfig) {
    let endpoint = app
        .world()
        .get_resource::<ArbitriumEnv>()
        .map(ArbitriumEnv::self_stop_endpoint);
    let last_resort = match &endpoint {
        Some(Ok(endpoint)) if config.self_stop_on_panic => endpoint
            .to_request("", &api::Secret::default())
            .ok()
            .map(|request| {
                Arc::new(LastResort {
                    request,
                    done: AtomicBool::new(false),
                    timeout: config.last_resort_timeout,
                })
            }),
        _ => None,
    };
    #[cfg(panic = "abort")]
    if let Some(last) = &last_resort {
        // No unwinding, no drop: every panic ends the process, so the hook is the moment.
        install_panic_hook(Arc::clone(last));
    }
    app.insert_resource(SelfStopper {
        endpoint,
        requested: None,
        phase: Phase::Idle,
        terminated: false,
        last_resort,
    });
}

#[cfg(panic = "abort")]
fn install_panic_hook(shared: Arc<LastResort>) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        shared.attempt("the server panicked");
    }));
}

/// The system behind [`EdgegapServerPlugin::self_stop_on_enter`](super::EdgegapServerPlugin::self_stop_on_enter).
pub(crate) fn request_on_enter(state: String) -> impl FnMut(ResMut<SelfStopper>) {
    move |mut stopper| stopper.request(SelfStopReason::StateEntered(state.clone()))
}

/// Writes the results, as messages and as global events.
#[derive(SystemParam)]
pub(crate) struct Report<'w, 's> {
    completed: Announce<'w, 's, SelfStopCompleted>,
    failed: Announce<'w, 's, SelfStopFailed>,
}

/// The self-stop has an answer: report it; `Done` unless it failed.
fn finish(
    stopper: &mut SelfStopper,
    reason: SelfStopReason,
    outcome: Outcome<StopResponse>,
    report: &mut Report,
) {
    let Outcome { result, attempts } = outcome;
    let done = match result {
        Ok(response) => {
            info!(
                "self-stop accepted (`{}`) after `{attempts}` attempt(s)",
                response.http_status
            );
            report.completed.send(SelfStopCompleted {
                reason,
                already_terminated: false,
                sigterm_first: false,
                response: Some(response),
                attempts,
            });
            true
        }
        Err(error) if error.is_already_terminated() => {
            info!("self-stop: the deployment was already terminated");
            report.completed.send(SelfStopCompleted {
                reason,
                already_terminated: true,
                sigterm_first: false,
                response: None,
                attempts,
            });
            true
        }
        Err(error) => {
            error!("self-stop ({reason}) failed after `{attempts}` attempt(s): {error}");
            report.failed.send(SelfStopFailed {
                reason,
                error,
                attempts,
            });
            false
        }
    };
    stopper.phase = if done { Phase::Done } else { Phase::Idle };
    if done && let Some(last) = &stopper.last_resort {
        last.done.store(true, Ordering::SeqCst);
    }
}

/// `SIGTERM` came before the answer: the stop is under way.
fn stopped_by_sigterm(stopper: &mut SelfStopper, reason: SelfStopReason, report: &mut Report) {
    info!("self-stop ({reason}): `SIGTERM` arrived first, the deployment is stopping");
    stopper.phase = Phase::Done;
    if let Some(last) = &stopper.last_resort {
        last.done.store(true, Ordering::SeqCst);
    }
    report.completed.send(SelfStopCompleted {
        reason,
        already_terminated: false,
        sigterm_first: true,
        response: None,
        attempts: 0,
    });
}

/// Starts the self-stop when asked, and sends its first attempt in the same frame. Runs in
/// [`EdgegapServerSystems::Send`](super::EdgegapServerSystems::Send).
pub(crate) fn start_self_stop(
    mut requests: MessageReader<SelfStop>,
    env: Option<Res<ArbitriumEnv>>,
    config: Res<ServerConfig>,
    mut stopper: ResMut<SelfStopper>,
    mut report: Report,
) {
    if requests.read().count() > 0 {
        stopper.request(SelfStopReason::Requested);
    }
    let Some(reason) = stopper.requested.take() else {
        return;
    };
    match stopper.phase {
        Phase::Running { .. } => {
            debug!("self-stop ({reason}): already in progress");
            return;
        }
        Phase::Done => {
            debug!("self-stop ({reason}): already done");
            return;
        }
        Phase::Idle => {}
    }
    let (Some(env), Some(endpoint)) = (env, stopper.endpoint.clone()) else {
        info!("not running on edgegap: self-stop ({reason}) skipped");
        return;
    };
    if stopper.terminated {
        stopped_by_sigterm(&mut stopper, reason, &mut report);
        return;
    }
    info!("self-stopping deployment `{}`: {reason}", env.request_id());
    let started = endpoint.and_then(|endpoint| {
        Call::start(
            endpoint,
            config.self_stop_retry.clone(),
            config.attempt_timeout,
            "self-stop",
        )
    });
    match started {
        Ok(mut call) => match call.poll(Instant::now()) {
            // `poll` sends the first attempt now; an answer this fast is reported at once.
            Some(outcome) => finish(&mut stopper, reason, outcome, &mut report),
            None => {
                stopper.phase = Phase::Running {
                    call: Box::new(call),
                    reason,
                }
            }
        },
        Err(error) => {
            error!("self-stop of `{}` impossible: {error}", env.request_id());
            report.failed.send(SelfStopFailed {
                reason,
                error,
                attempts: 0,
            });
        }
    }
}

/// Notes `SIGTERM` and polls the self-stop call. Runs in
/// [`EdgegapServerSystems::Receive`](super::EdgegapServerSystems::Receive), after the signals.
pub(crate) fn poll_self_stop(
    mut shutdowns: MessageReader<ShutdownRequested>,
    mut stopper: ResMut<SelfStopper>,
    mut report: Report,
) {
    if shutdowns
        .read()
        .any(|request| request.reason == ShutdownReason::Terminate)
    {
        stopper.terminated = true;
    }
    let Phase::Running { call, reason } = &mut stopper.phase else {
        return;
    };
    let reason = reason.clone();
    match call.poll(Instant::now()) {
        Some(outcome) => finish(&mut stopper, reason, outcome, &mut report),
        None if stopper.terminated => stopped_by_sigterm(&mut stopper, reason, &mut report),
        None => {}
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
