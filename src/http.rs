//! The one way this crate sends HTTP, for the client and the server plugin alike, and
//! [`RetryPolicy`], the one rule for what is retried.
//!
//! # The engine
//!
//! Natively an engine (`Engine`, internal) is a pool of persistent worker threads fed by a
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
//! In the browser (`wasm32`) the engine sends through the browser's `fetch` instead, with the
//! same cap, queue and deadlines (an `AbortController` per request cancels it at its end).
//! Every way it differs from native — connections, TLS roots, CORS, which failures are known
//! to be unsent — is listed in one place: the module docs of `src/http/wasm.rs` (built only
//! for `wasm32`). CI builds it and runs it in headless Chromium (`cargo xtask test-web`).
//!
//! # Time
//!
//! One model for every call, client or server, on the wall clock (`std::time::Instant`
//! natively, `web_time::Instant` in the browser), whatever the app's `Time` does:
//!
//! - **Budget**: the time allowed from a call's first send (when a worker starts it, not when
//!   it was queued or handed to the engine) to its final answer, retries and their backoff
//!   included. A first attempt no worker started within the whole budget is not sent at all.
//!   Past it the call resolves as [`EdgegapError::Timeout`]. (The client's
//!   `EdgegapConfig::deadline`; for server calls, the retry policy's
//!   [`max_elapsed`](RetryPolicy::max_elapsed) plus one attempt timeout.)
//! - **Attempt timeout** (optional): the longest one attempt may wait for its answer, never
//!   more than what is left of the budget. A timed-out attempt is retried like any other
//!   [`EdgegapError::Timeout`] (idempotent calls only). The server plugin's `attempt_timeout`.
//! - **Retries** follow [`RetryPolicy::next_attempt`]: the error must be retryable, attempts
//!   and `max_elapsed` not used up, and the next attempt must be able to start before the
//!   budget ends.
//!
//! Each attempt reaches the engine with its `Timing`: when it must start by, and how long it
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
mod pending;
mod retry;
#[cfg(target_arch = "wasm32")]
mod wasm;

use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use self::native::Engine;
pub(crate) use self::pending::{
    Answered, Decode, Decoded, EngineOptions, ReplyTo, Ticket, Timing, Wake, WakeFn,
};
pub use self::pending::{DEFAULT_MAX_BODY_BYTES, PendingResponse};
pub use self::retry::RetryPolicy;
#[cfg(target_arch = "wasm32")]
pub(crate) use self::wasm::Engine;
use crate::api::{EdgegapError, HttpRequest, HttpResponse};
use crate::time::{self, Instant};

/// How long [`spawn_request`] and [`send`] allow a request: a minute.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends `request` on the shared default engine, to be answered within
/// [`DEFAULT_REQUEST_TIMEOUT`]. Never blocks.
pub fn spawn_request(request: HttpRequest) -> PendingResponse {
    let now = Instant::now();
    let deadline = time::after(now, Some(DEFAULT_REQUEST_TIMEOUT));
    let (pending, reply) = PendingResponse::new(now);
    shared_engine().send(std::sync::Arc::new(request), Timing::by(deadline), reply);
    pending
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

/// Sends `request` and awaits the answer (any status code is an answer), at most
/// [`DEFAULT_REQUEST_TIMEOUT`]. In the browser the future is woken when the answer arrives;
/// dropping it aborts the request.
#[cfg(target_arch = "wasm32")]
pub async fn send(request: HttpRequest) -> Result<HttpResponse, EdgegapError> {
    let pending = spawn_request(request);
    std::future::poll_fn(|cx| pending.poll_reply(cx)).await
}

/// The engine shared by [`spawn_request`] and the server plugin's calls.
pub(crate) fn shared_engine() -> &'static Engine {
    #[cfg(not(target_arch = "wasm32"))]
    return native::shared_engine();
    #[cfg(target_arch = "wasm32")]
    return wasm::shared_engine();
}
