//! The one way this crate sends HTTP, for the client and the server plugin alike, and
//! [`RetryPolicy`], the one rule for what is retried.
//!
//! # The engine
//!
//! Natively an [`Engine`] is a pool of persistent worker threads fed by a
//! [`crossbeam_channel`] queue, sharing one [`ureq`] agent: its connections are kept alive and
//! reused (one TCP and TLS handshake per worker, not per call), TLS is rustls. An engine never
//! runs more worker threads than its `max_in_flight`, and starts them only as requests need
//! them; it sends every request with a timeout taken from that request's deadline, so a hung
//! server holds a worker until the deadline and not longer.
//!
//! The documented constant on top of the cap is zero: host names are resolved on the worker's
//! own thread (ureq's default resolver would start a helper thread per lookup). A hung system
//! resolver therefore holds its worker past the deadline, though the call itself still
//! resolves as [`EdgegapError::Timeout`] on time. Sockets: one per busy worker, plus up to
//! `max_in_flight` idle kept-alive connections.
//!
//! The client plugin owns one engine (`max_in_flight` workers, its extra root certificates,
//! its body cap, see `EdgegapConfig`); the server plugin's self-stop and context calls, and
//! [`spawn_request`], share one default engine, built on first use.
//!
//! In the browser (`wasm32`) the engine sends through `ehttp`'s `fetch` backend instead: no
//! threads, no pool of its own, root certificates are the browser's. That backend is not built
//! in this repository's CI (no wasm target is installed there).
//!
//! # Time
//!
//! One model for every call, client or server:
//!
//! - **Budget**: the time allowed from a call's first send (when a worker starts it, not when
//!   it was queued or handed to the engine) to its final answer, retries and their backoff
//!   included. A first attempt no worker started within the whole budget is not sent at all. Past it the call resolves as [`EdgegapError::Timeout`]. (The
//!   client's `EdgegapConfig::deadline`; for server calls, the retry policy's
//!   [`max_elapsed`](RetryPolicy::max_elapsed) plus one attempt timeout.)
//! - **Attempt timeout** (optional): the longest one attempt may wait for its answer, never
//!   more than what is left of the budget. A timed-out attempt is retried like any other
//!   [`EdgegapError::Timeout`] (idempotent calls only). The server plugin's `attempt_timeout`.
//! - **Retries** follow [`RetryPolicy::next_attempt`]: the error must be retryable, attempts
//!   and `max_elapsed` not used up, and the next attempt must be able to start before the
//!   budget ends.
//!
//! Each attempt reaches the engine with its [`Timing`]: when it must start by, and how long it
//! may take once started (the earlier of the budget's and the attempt timeout's end); the
//! worker hands what is left of it to ureq as the connect, TLS, write, read and body timeout.
//!
//! # Errors
//!
//! A transport failure's [`may_have_been_sent`](EdgegapError::may_have_been_sent) is decided
//! by the kind of error, never its text: a failure to resolve, connect or set up TLS happened
//! before the request was written (`false`); anything later may have reached the server
//! (`true`). No error message ever contains a header value.

#[cfg(not(target_arch = "wasm32"))]
mod native;
mod retry;
#[cfg(target_arch = "wasm32")]
mod wasm;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::platform::time::Instant;
use crossbeam_channel::{Receiver, TryRecvError};

#[cfg(not(target_arch = "wasm32"))]
pub use self::native::Engine;
pub use self::retry::RetryPolicy;
#[cfg(target_arch = "wasm32")]
pub use self::wasm::Engine;
use crate::api::{EdgegapError, HttpRequest, HttpResponse};

/// Largest answer body read by default: 8 MiB (Edgegap's largest answers, container logs and
/// long deployment lists, are far below).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How an [`Engine`] is built. Two equal options build equivalent engines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
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
type Reply = Result<HttpResponse, EdgegapError>;

/// When a request handed to an [`Engine`] may start and how long it may take once started.
/// Time spent waiting for a worker counts only against `start_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
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
    pub fn by(deadline: Instant) -> Self {
        Self {
            start_by: deadline,
            answer_by: Some(deadline),
            timeout: None,
        }
    }

    /// When a request that started at `started` must be answered by; for one not started
    /// yet, `start_by` (`None`: never).
    pub fn end(&self, started: Option<Instant>) -> Option<Instant> {
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

    /// Whether the caller gave up on the answer.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn is_abandoned(&self) -> bool {
        self.state().abandoned
    }

    /// When the request started, if it has.
    fn started(&self) -> Option<Instant> {
        self.state().started
    }

    /// Gives up on the answer; when the request started, if it ever did (then no later).
    fn abandon(&self) -> Option<Instant> {
        let mut state = self.state();
        state.abandoned = true;
        state.started
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
    fn new(rx: Receiver<Reply>, ticket: Arc<Ticket>) -> Self {
        Self { rx, ticket }
    }

    /// The answer, once it has arrived. A worker that vanished without answering resolves as
    /// a transport error that may have been sent.
    pub fn try_take(&self) -> Option<Reply> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(EdgegapError::transport(
                true,
                "the HTTP worker ended without an answer",
            ))),
        }
    }

    /// Waits at most `timeout` for the answer (`None` when it has not arrived by then).
    pub fn wait(&self, timeout: Duration) -> Option<Reply> {
        match self.rx.recv_timeout(timeout) {
            Ok(result) => Some(result),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Some(Err(
                EdgegapError::transport(true, "the HTTP worker ended without an answer"),
            )),
        }
    }

    /// When the request left the engine's queue for the wire, once it has.
    pub fn started(&self) -> Option<Instant> {
        self.ticket.started()
    }

    /// Gives up on the answer: a request still waiting for a worker is then never sent.
    /// Returns when the request started, if it did (the rate limiter counts it from then).
    pub fn abandon(&self) -> Option<Instant> {
        self.ticket.abandon()
    }
}

impl Drop for PendingResponse {
    fn drop(&mut self) {
        self.ticket.abandon();
    }
}

/// How long [`spawn_request`] and [`send`] allow a request: a minute.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends `request` on the shared default engine, to be answered within
/// [`DEFAULT_REQUEST_TIMEOUT`]. Never blocks.
pub fn spawn_request(request: HttpRequest) -> PendingResponse {
    spawn_request_within(request, DEFAULT_REQUEST_TIMEOUT)
}

/// Sends `request` on the shared default engine, to be answered within `timeout`.
pub fn spawn_request_within(request: HttpRequest, timeout: Duration) -> PendingResponse {
    let now = Instant::now();
    shared_engine().submit(request, Timing::by(instant_after(now, Some(timeout))))
}

/// `now + after`, checked: `None` or a sum too large to represent gives a century from now
/// (as good as never for a request), and failing that `now` itself. Never panics.
pub(crate) fn instant_after(now: Instant, after: Option<Duration>) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    after
        .and_then(|after| now.checked_add(after))
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

/// Sends `request` and waits for the answer (any status code is an answer), at most
/// [`DEFAULT_REQUEST_TIMEOUT`]. Natively this blocks the polling thread until the shared
/// engine answers: call it from `block_on` on a thread of your own, never from a system.
#[cfg(not(target_arch = "wasm32"))]
pub async fn send(request: HttpRequest) -> Result<HttpResponse, EdgegapError> {
    spawn_request(request)
        .wait(DEFAULT_REQUEST_TIMEOUT)
        .unwrap_or(Err(EdgegapError::Timeout))
}

/// Sends `request` and awaits the answer (any status code is an answer).
#[cfg(target_arch = "wasm32")]
pub async fn send(request: HttpRequest) -> Result<HttpResponse, EdgegapError> {
    let pending = spawn_request(request);
    futures_lite::future::poll_fn(|cx| match pending.try_take() {
        Some(reply) => std::task::Poll::Ready(reply),
        None => {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// The engine shared by [`spawn_request`] and the server plugin's calls.
pub(crate) fn shared_engine() -> &'static Engine {
    #[cfg(not(target_arch = "wasm32"))]
    return native::shared_engine();
    #[cfg(target_arch = "wasm32")]
    return wasm::shared_engine();
}
