//! The browser engine (`wasm32`): every request goes out through the browser's `fetch`, with
//! an `AbortController` per request. This is the one place that says how the browser differs
//! from native; the README's "In the browser" section links here.
//!
//! # What is the same as native
//!
//! The transport above the engine is the same code on both: the FIFO queue, the in-flight
//! cap ([`EdgegapConfig::max_in_flight`](crate::client::EdgegapConfig)), the client-side rate
//! limits, the retry rule ([`RetryPolicy`](super::RetryPolicy)), the budget and the typed
//! [`EdgegapError`]s. The engine itself keeps the same contract:
//!
//! - **In-flight cap.** At most `max_in_flight` fetches are open at once; the rest wait in the
//!   engine's own FIFO and start the moment one ends (from the fetch's completion, not the
//!   next frame). A request its caller gave up on (its [`Ticket`]: a dropped
//!   [`PendingResponse`](super::PendingResponse), or the transport), or whose
//!   [`Timing::start_by`] passed, while it waited is not sent at all.
//! - **A deadline that really cancels.** Each fetch races a timer set to the end of its
//!   [`Timing`]: when the timer wins, the fetch is aborted (`AbortController::abort`: the
//!   browser closes the connection or cancels the stream) and the call resolves as
//!   [`EdgegapError::Timeout`]. A caller giving up on the answer (the transport's deadline,
//!   the owner is gone, a dropped `PendingResponse`) aborts it too. A late answer is never
//!   delivered.
//! - **Each request resolves once.** Its answer goes to its caller's channel ([`ReplyTo`],
//!   with the attempt's token) exactly once (or never, when nobody waits for it any more);
//!   nothing is dropped for back-pressure.
//! - **Dropping a task cancels it on wasm.** Each fetch runs in its own future, spawned with
//!   `wasm_bindgen_futures::spawn_local` (not a Bevy `Task` that a drop would cancel), which
//!   owns everything the call needs until it resolves; the engine's queue is drained from
//!   there, so even an engine the client replaced finishes what it was given.
//! - **Bodies** are read as a stream up to [`EngineOptions::max_body_bytes`]; past the cap the
//!   fetch is aborted and the call is a transport error, as natively. A redirect is not
//!   followed (`redirect: "manual"`), as natively; the browser does not show where it pointed,
//!   so it is a transport error rather than the 3xx answer.
//! - **No header value in any error.** A header the browser refuses is named, never shown.
//!
//! # What differs, and why
//!
//! - **No keep-alive control.** The browser owns the connections: their reuse, HTTP/2, how
//!   long they stay idle. The native engine's pool of kept-alive workers has no equivalent.
//! - **The browser's TLS roots.** Certificates are checked by the browser's trust store;
//!   [`EdgegapConfig::with_root_certificate`](crate::client::EdgegapConfig::with_root_certificate)
//!   is ignored (one warning when the engine is built). Test a self-signed gateway by trusting
//!   its certificate in the browser.
//! - **The browser's own connection limit.** Over HTTP/1.1 a browser opens about six
//!   connections per host, whatever `max_in_flight` says; a long-poll status request holds one
//!   for its whole wait. Requests over that limit wait inside the browser, and that wait
//!   counts against their deadline (the engine cannot see it).
//! - **CORS.** A page can only read answers from a server that allows its origin. The gateway
//!   does when told to (`allowed_cors_origins`); Edgegap's deployment API never does, on
//!   purpose (the organisation token must not be in a browser), so in the browser use
//!   [`EdgegapConfig::gateway`](crate::client::EdgegapConfig::gateway). Answers without
//!   `Access-Control-Allow-Origin` — a refused origin, or a proxy's error page without CORS
//!   headers — reach the client as a transport error, not as the HTTP status.
//! - **Which failures were "certainly not sent".** `fetch` rejects every network failure
//!   (refused connection, DNS, TLS, CORS) with the same `TypeError` and does not say which
//!   (so that a page cannot probe the network). The engine therefore reports them all as
//!   [`EdgegapError::Transport`] with `may_have_been_sent: true`: a deploy that failed that way
//!   is reconciled, never sent twice — where natively a refused connection is known to be
//!   unsent and retried. Only a request the browser refused to build (a bad URL, a header it
//!   does not accept) is `may_have_been_sent: false`.
//! - **Response headers.** A cross-origin answer shows only the CORS-safelisted headers and
//!   those the server lists in `Access-Control-Expose-Headers` (the gateway exposes
//!   `Retry-After`).
//! - **The exit guard cannot wait.** A frame cannot block in a browser (answers arrive only
//!   after it returns), so on `AppExit` the stops are sent but not awaited, and closing the
//!   tab sends nothing at all: a server must stop itself when its players are gone
//!   (`EdgegapServerPlugin`'s self-stop), as it should anyway.
//! - **Worker threads.** None: fetches are asynchronous on the page's (or the worker's) event
//!   loop, so the engine starts no thread and blocks nothing.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use js_sys::{Array, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, ReadableStreamDefaultReader, Request, RequestCache,
    RequestCredentials, RequestInit, RequestMode, RequestRedirect, Response, ResponseType,
};

use super::pending::{EngineOptions, Reply, ReplyTo, Ticket, Timing};
use crate::api::{EdgegapError, HttpRequest, HttpResponse};
use crate::time::Instant;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (a page's `window` and a worker's scope both have it).
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(request: &Request) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: i32) -> Result<i32, JsValue>;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: i32);
}

/// One request handed to the engine.
struct Work {
    /// Shared with the caller, who keeps it for a retry.
    request: Arc<HttpRequest>,
    timing: Timing,
    /// Where the answer goes, with the [`Ticket`] saying whether anybody still waits for it.
    reply: ReplyTo,
}

/// The engine's queue and its count of open fetches.
#[derive(Default)]
struct Slots {
    queue: VecDeque<Work>,
    open: usize,
}

/// What the engine and its running fetches share.
struct Shared {
    cap: usize,
    max_body_bytes: usize,
    slots: Mutex<Slots>,
}

impl Shared {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Sends through the browser's `fetch`, at most `max_in_flight` at once.
pub(crate) struct Engine {
    shared: Arc<Shared>,
    options: EngineOptions,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slots = self.shared.slots();
        f.debug_struct("Engine")
            .field("max_in_flight", &self.shared.cap)
            .field("open", &slots.open)
            .field("queued", &slots.queue.len())
            .field("max_body_bytes", &self.shared.max_body_bytes)
            .finish()
    }
}

impl Engine {
    /// An engine with `options`. Never fails in the browser: root certificates are not
    /// checked, because the browser's trust store decides (one warning says so).
    pub(crate) fn new(options: EngineOptions) -> Result<Self, EdgegapError> {
        if !options.root_certificates.is_empty() {
            tracing::warn!(
                "`{}` extra root certificates are ignored in the browser: its own trust store decides",
                options.root_certificates.len()
            );
        }
        Ok(Self::with(options))
    }

    fn with(options: EngineOptions) -> Self {
        Self {
            shared: Arc::new(Shared {
                cap: options.max_in_flight.max(1),
                max_body_bytes: options.max_body_bytes,
                slots: Mutex::new(Slots::default()),
            }),
            options,
        }
    }

    /// The options this engine was built with.
    pub(crate) fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Queues `request`, to start and be answered within `timing` (see [`Timing`]), the
    /// answer going to `reply`. Never blocks; starts it at once when fewer than
    /// `max_in_flight` fetches are open.
    pub(crate) fn send(&self, request: Arc<HttpRequest>, timing: Timing, reply: ReplyTo) {
        self.shared.slots().queue.push_back(Work {
            request,
            timing,
            reply,
        });
        start_next(&self.shared);
    }
}

/// Starts queued requests while fewer than the cap are open. A request nobody waits for, or
/// whose start-by time has passed, is resolved (or dropped) without being sent.
fn start_next(shared: &Arc<Shared>) {
    loop {
        let work = {
            let mut slots = shared.slots();
            if slots.open >= shared.cap {
                return;
            }
            let Some(work) = slots.queue.pop_front() else {
                return;
            };
            work
        };
        let now = Instant::now();
        if now >= work.timing.start_by {
            work.reply.answer(Err(EdgegapError::Timeout));
            continue; // not sent: too late to start
        }
        if !work.reply.ticket.start(now) {
            continue; // nobody waits for the answer: not sent at all
        }
        shared.slots().open += 1;
        let slot = Slot(shared.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let end = work.timing.end(Some(now));
            let limit = slot.0.max_body_bytes;
            let answer = exchange(&work.request, end, &work.reply.ticket, limit).await;
            if let Some(answer) = answer {
                work.reply.answer(answer);
            }
            // Frees the slot and starts the next request, however the fetch ended.
            drop(slot);
        });
    }
}

/// One open fetch's place under the cap: freed (and the next request started) when dropped,
/// however the fetch ended.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.slots().open -= 1;
        start_next(&self.0);
    }
}

/// How a race between an awaited step, the deadline and the caller ended.
enum Raced<T> {
    Done(T),
    Deadline,
    Abandoned,
}

/// Awaits `step` unless the deadline `end` passes or the caller gives up first.
async fn race<T>(step: impl Future<Output = T>, end: Option<Instant>, ticket: &Ticket) -> Raced<T> {
    use futures_lite::future::or;
    let done = async { Raced::Done(step.await) };
    let deadline = async {
        sleep_until(end).await;
        Raced::Deadline
    };
    let abandoned = async {
        std::future::poll_fn(|cx| ticket.poll_abandoned(cx)).await;
        Raced::Abandoned
    };
    or(done, or(deadline, abandoned)).await
}

/// Sends `request` and reads its answer, aborting the fetch at `end` or when the caller gives
/// up. `None`: the caller gave up (nothing to deliver).
async fn exchange(
    request: &HttpRequest,
    end: Option<Instant>,
    ticket: &Ticket,
    max_body_bytes: usize,
) -> Option<Reply> {
    let Ok(controller) = AbortController::new() else {
        return Some(Err(unsent(
            "the browser could not create an AbortController",
        )));
    };
    let outgoing = match build(request, &controller) {
        Ok(outgoing) => outgoing,
        Err(error) => return Some(Err(error)),
    };
    let Ok(promise) = global_fetch(&outgoing) else {
        return Some(Err(unsent("this JavaScript environment has no `fetch`")));
    };
    // From here on, every way out that leaves the fetch open aborts it.
    let outcome = race(JsFuture::from(promise), end, ticket).await;
    let response = match outcome {
        Raced::Done(Ok(value)) => match value.dyn_into::<Response>() {
            Ok(response) => response,
            Err(_) => return Some(Err(sent("`fetch` resolved to something not a Response"))),
        },
        Raced::Done(Err(_)) => return Some(Err(rejected())),
        Raced::Deadline => {
            controller.abort();
            return Some(Err(EdgegapError::Timeout));
        }
        Raced::Abandoned => {
            controller.abort();
            return None;
        }
    };
    if response.type_() == ResponseType::Opaqueredirect {
        controller.abort();
        return Some(Err(sent(
            "the server answered with a redirect, which is not followed",
        )));
    }
    let status = response.status();
    let headers = read_headers(&response.headers());
    match read_body(&response, end, ticket, max_body_bytes).await {
        Ok(body) => Some(Ok(HttpResponse {
            status,
            headers,
            body,
        })),
        Err(end) => {
            controller.abort();
            match end {
                BodyEnd::Deadline => Some(Err(EdgegapError::Timeout)),
                BodyEnd::Abandoned => None,
                BodyEnd::TooLarge => Some(Err(sent(format!(
                    "the answer's body is larger than `{max_body_bytes}` bytes"
                )))),
                BodyEnd::Failed => {
                    Some(Err(sent("the connection failed while reading the answer")))
                }
            }
        }
    }
}

/// The browser's `Request` for `request`: CORS mode, no cookies, redirects not followed, no
/// HTTP cache, aborted by `controller`.
fn build(request: &HttpRequest, controller: &AbortController) -> Result<Request, EdgegapError> {
    let headers =
        Headers::new().map_err(|_| unsent("the browser could not create request headers"))?;
    for (name, value) in &request.headers {
        if headers.append(name, value).is_err() {
            return Err(unsent(if is_token(name) {
                format!("the value of header `{name}` has characters not allowed in HTTP headers")
            } else {
                format!("`{name}` is not a valid HTTP header name")
            }));
        }
    }
    let init = RequestInit::new();
    init.set_method(request.method.as_str());
    init.set_headers(&headers);
    if !request.body.is_empty() {
        init.set_body(&Uint8Array::from(request.body.as_slice()));
    }
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_redirect(RequestRedirect::Manual);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&controller.signal()));
    Request::new_with_str_and_init(&request.url, &init)
        .map_err(|_| unsent("the request URL is not a valid URL"))
}

/// Whether `name` is an HTTP token (RFC 9110), as a header name must be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The answer's headers the page may read (names lower-case, as the browser gives them).
fn read_headers(headers: &Headers) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in headers.entries().into_iter().flatten() {
        let pair = Array::from(&entry);
        if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            out.push((name, value));
        }
    }
    out
}

/// Why reading a body stopped short.
enum BodyEnd {
    Deadline,
    Abandoned,
    TooLarge,
    Failed,
}

/// Reads the body as a stream, at most `limit` bytes, racing each chunk against the deadline
/// and the caller.
async fn read_body(
    response: &Response,
    end: Option<Instant>,
    ticket: &Ticket,
    limit: usize,
) -> Result<Vec<u8>, BodyEnd> {
    let Some(stream) = response.body() else {
        return Ok(Vec::new()); // a null body (204)
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = match race(JsFuture::from(reader.read()), end, ticket).await {
            Raced::Done(Ok(chunk)) => chunk,
            Raced::Done(Err(_)) => return Err(BodyEnd::Failed),
            Raced::Deadline => return Err(BodyEnd::Deadline),
            Raced::Abandoned => return Err(BodyEnd::Abandoned),
        };
        let done = Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|done| done.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(body);
        }
        let bytes = Reflect::get(&chunk, &JsValue::from_str("value"))
            .ok()
            .and_then(|value| value.dyn_into::<Uint8Array>().ok())
            .ok_or(BodyEnd::Failed)?;
        let start = body.len();
        let len = bytes.length() as usize;
        if start.saturating_add(len) > limit {
            return Err(BodyEnd::TooLarge);
        }
        body.resize(start + len, 0);
        bytes.copy_to(&mut body[start..]);
    }
}

/// Waits until `end` (forever when `None`). Long waits are split: a browser timer cannot wait
/// more than about 24.8 days.
async fn sleep_until(end: Option<Instant>) {
    let Some(end) = end else {
        return std::future::pending().await;
    };
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        Sleep::new(end - now).await;
    }
}

/// A `setTimeout` as a future; the timer is cleared when the future is dropped first. If the
/// timer cannot be set it never fires: the transport still applies the deadline itself and
/// then gives up on the call, which aborts the fetch.
struct Sleep {
    id: Option<i32>,
    fired: JsFuture,
}

impl Sleep {
    fn new(delay: Duration) -> Self {
        // Whole milliseconds, rounded up, so a timer never fires before its end.
        let millis = delay.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let mut id = None;
        let promise = Promise::new(&mut |resolve, _reject| {
            id = set_timeout(&resolve, millis).ok();
        });
        Self {
            id,
            fired: JsFuture::from(promise),
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.id.is_none() {
            return Poll::Pending;
        }
        match Pin::new(&mut self.fired).poll(cx) {
            Poll::Ready(_) => {
                self.id = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            clear_timeout(id);
        }
    }
}

/// `fetch` rejected: the browser says only that the request failed (refused, unreachable,
/// TLS, or its CORS check), never which.
fn rejected() -> EdgegapError {
    sent(
        "the browser's fetch failed: the server is unreachable, or its answer does not allow \
         this page's origin (CORS)",
    )
}

fn unsent(message: impl Into<String>) -> EdgegapError {
    EdgegapError::transport(false, message)
}

fn sent(message: impl Into<String>) -> EdgegapError {
    EdgegapError::transport(true, message)
}

/// The engine behind [`spawn_request`](super::spawn_request): default options, created on
/// first use.
pub(super) fn shared_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::with(EngineOptions::default()))
}
