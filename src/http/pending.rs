//! What an engine and its caller share: how the engine is built ([`EngineOptions`]), when a
//! request may start and must end ([`Timing`]), and the handle on its answer
//! ([`PendingResponse`], with the [`Ticket`] that orders "started" against "given up").

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};

use crate::api::{EdgegapError, HttpResponse};
use crate::time::Instant;

/// Largest answer body read by default: 8 MiB (Edgegap's largest answers, container logs and
/// long deployment lists, are far below).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How an engine is built. Two equal options build equivalent engines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EngineOptions {
    /// Worker threads, and so requests on the wire at once (at least 1).
    pub max_in_flight: usize,
    /// Extra root certificates (PEM), trusted in addition to Mozilla's roots (the browser
    /// ignores them: its own trust store decides).
    pub root_certificates: Vec<String>,
    /// Largest answer body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_in_flight: 8,
            root_certificates: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What a worker sends back: the answer (any status) or why there is none.
pub(crate) type Reply = Result<HttpResponse, EdgegapError>;

/// When a request handed to an engine may start and how long it may take once started.
/// Time spent waiting for a worker counts only against `start_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// A request no worker started by then is answered [`EdgegapError::Timeout`] and never
    /// sent.
    pub start_by: Instant,
    /// Answered by then at the latest, however late it started (`None`: no fixed end).
    pub answer_by: Option<Instant>,
    /// Once started, answered within this (`None`: no limit of its own).
    pub timeout: Option<Duration>,
}

impl Timing {
    /// Answered by `deadline`, counting from now: the time waiting for a worker included.
    pub(crate) fn by(deadline: Instant) -> Self {
        Self {
            start_by: deadline,
            answer_by: Some(deadline),
            timeout: None,
        }
    }

    /// When a request that started at `started` must be answered by; for one not started
    /// yet, `start_by` (`None`: never).
    pub(crate) fn end(&self, started: Option<Instant>) -> Option<Instant> {
        let Some(started) = started else {
            return Some(self.start_by);
        };
        let relative = self.timeout.and_then(|t| started.checked_add(t));
        match (self.answer_by, relative) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What a request's sender and its [`PendingResponse`] share: whether the caller gave up on
/// the answer, and when the request actually started (left the queue for the wire). One lock
/// orders the two, so a request is either started before the caller gives up (and the caller
/// learns when), or never sent.
#[derive(Debug, Default)]
pub(crate) struct Ticket(Mutex<TicketState>);

#[derive(Debug, Default)]
struct TicketState {
    abandoned: bool,
    started: Option<Instant>,
    /// In the browser: the fetch to abort when the caller gives up.
    #[cfg(target_arch = "wasm32")]
    engine: Option<std::task::Waker>,
    /// In the browser: the caller awaiting the answer ([`super::send`]).
    #[cfg(target_arch = "wasm32")]
    caller: Option<std::task::Waker>,
}

impl Ticket {
    fn state(&self) -> std::sync::MutexGuard<'_, TicketState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the request started at `now`, unless the caller already gave up: whether to send.
    pub(crate) fn start(&self, now: Instant) -> bool {
        let mut state = self.state();
        if state.abandoned {
            return false;
        }
        state.started.get_or_insert(now);
        true
    }

    /// When the request started, if it has.
    fn started(&self) -> Option<Instant> {
        self.state().started
    }

    /// Gives up on the answer; when the request started, if it ever did (then no later).
    /// In the browser this wakes the fetch, which aborts.
    fn abandon(&self) -> Option<Instant> {
        let mut state = self.state();
        state.abandoned = true;
        #[cfg(target_arch = "wasm32")]
        if let Some(engine) = state.engine.take() {
            engine.wake();
        }
        state.started
    }

    /// In the browser: ready once the caller gave up (the fetch is then aborted).
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn poll_abandoned(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let mut state = self.state();
        if state.abandoned {
            return std::task::Poll::Ready(());
        }
        state.engine = Some(cx.waker().clone());
        std::task::Poll::Pending
    }

    /// In the browser: the answer was sent; wakes a caller awaiting it.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn answered(&self) {
        if let Some(caller) = self.state().caller.take() {
            caller.wake();
        }
    }

    /// In the browser: `cx` is woken when the answer is sent.
    #[cfg(target_arch = "wasm32")]
    fn wake_on_answer(&self, cx: &std::task::Context<'_>) {
        self.state().caller = Some(cx.waker().clone());
    }
}

/// An answer on its way. Poll with [`PendingResponse::try_take`]; drop it to discard the
/// answer (a request still waiting for a worker is then not sent at all).
#[derive(Debug)]
pub struct PendingResponse {
    rx: Receiver<Reply>,
    ticket: Arc<Ticket>,
}

impl PendingResponse {
    pub(crate) fn new(rx: Receiver<Reply>, ticket: Arc<Ticket>) -> Self {
        Self { rx, ticket }
    }

    /// The answer, once it has arrived. A worker that vanished without answering resolves as
    /// a transport error that may have been sent.
    pub fn try_take(&self) -> Option<Result<HttpResponse, EdgegapError>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(vanished())),
        }
    }

    /// Waits at most `timeout` for the answer (`None` when it has not arrived by then).
    #[cfg_attr(
        target_arch = "wasm32",
        expect(dead_code, reason = "the browser never blocks: `send` polls instead")
    )]
    pub(crate) fn wait(&self, timeout: Duration) -> Option<Reply> {
        match self.rx.recv_timeout(timeout) {
            Ok(result) => Some(result),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Some(Err(vanished())),
        }
    }

    /// In the browser: the answer, or `Pending` with `cx` woken when it arrives.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn poll_reply(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Reply> {
        // Registered before looking, so an answer sent in between still wakes `cx`.
        self.ticket.wake_on_answer(cx);
        match self.try_take() {
            Some(reply) => std::task::Poll::Ready(reply),
            None => std::task::Poll::Pending,
        }
    }

    /// When the request left the engine's queue for the wire, once it has.
    pub(crate) fn started(&self) -> Option<Instant> {
        self.ticket.started()
    }

    /// Gives up on the answer: a request still waiting for a worker is then never sent.
    /// Returns when the request started, if it did (the rate limiter counts it from then).
    pub(crate) fn abandon(&self) -> Option<Instant> {
        self.ticket.abandon()
    }
}

impl Drop for PendingResponse {
    fn drop(&mut self) {
        self.ticket.abandon();
    }
}

/// The answer of a worker that ended without sending one.
fn vanished() -> EdgegapError {
    EdgegapError::transport(true, "the HTTP worker ended without an answer")
}
