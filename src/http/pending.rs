//! What an engine and its caller share: how the engine is built ([`EngineOptions`]), when a
//! request may start and must end ([`Timing`]), where its answer goes ([`ReplyTo`]: a channel
//! shared by every request of one caller, the request's token in it, and the [`Ticket`] that
//! orders "started" against "given up"), and [`PendingResponse`], the handle of a request
//! sent alone.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

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

/// A success answer decoded where it arrived (an engine's worker thread), for its caller to
/// downcast to the type its [`Decode`] produced.
pub(crate) type Decoded = Box<dyn Any + Send + Sync>;

/// Decodes a success answer where it arrives, off the caller's thread (the client plugin's
/// frame never pays for JSON decoding). `None`: not decoded there (not a success), the caller
/// decodes.
pub(crate) trait Decode: Send + Sync {
    /// The decoded answer, if `response` is a success.
    fn decode_answer(&self, response: &HttpResponse) -> Option<Decoded>;
}

/// What an engine hands back for one request: its token and its reply (with the decoded
/// answer when the request carried a [`Decode`] and the answer is a success).
pub(crate) struct Answered {
    pub token: u64,
    pub reply: Reply,
    pub decoded: Option<Decoded>,
}

/// Where an engine answers one request.
pub(crate) struct ReplyTo {
    /// The caller's channel, shared by all its requests.
    pub to: Sender<Answered>,
    /// This request's token on it.
    pub token: u64,
    /// Shared with the caller: whether it gave up, and when the request started.
    pub ticket: Arc<Ticket>,
    /// Decodes a success answer on arrival.
    pub decode: Option<Arc<dyn Decode>>,
    /// Wakes the caller once its answer waits in the channel.
    pub wake: Option<Arc<Wake>>,
}

impl ReplyTo {
    /// Answers the request (decoding a success with its [`Decode`]); a caller that is gone
    /// discards it.
    pub(crate) fn answer(self, reply: Reply) {
        // A decoder that panics costs the decoded answer only: the caller decodes again.
        let decoded = match (&reply, &self.decode) {
            (Ok(response), Some(decode)) => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    decode.decode_answer(response)
                }))
                .ok()
                .flatten()
            }
            _ => None,
        };
        // Decoded, the body and headers are not needed any more (only a failure's are read):
        // freed here rather than on the caller's thread.
        let reply = match (reply, &decoded) {
            (Ok(mut response), Some(_)) => {
                response.body = Vec::new();
                response.headers = Vec::new();
                Ok(response)
            }
            (reply, _) => reply,
        };
        let sent = self.to.send(Answered {
            token: self.token,
            reply,
            decoded,
        });
        #[cfg(target_arch = "wasm32")]
        self.ticket.answered();
        // After the answer is in the channel, never before: the woken caller finds it there.
        if let (Ok(()), Some(wake)) = (sent, &self.wake) {
            wake.answered();
        }
    }
}

/// A caller's wake hook, called from wherever an answer arrives (an engine's worker thread
/// natively) to tell the caller an answer waits for it.
pub(crate) type WakeFn = Arc<dyn Fn() + Send + Sync>;

/// Calls a caller's [`WakeFn`] when answers wait in its channel: once, until the caller
/// [`rearm`](Wake::rearm)s it right before it next looks (so a burst of answers costs one
/// call). The hook runs with no lock held, on the thread that sent the answer; a hook that
/// panics costs nothing but that call.
pub(crate) struct Wake {
    hook: WakeFn,
    /// Whether the hook was called since the caller last rearmed it.
    called: AtomicBool,
}

impl Wake {
    /// A wake calling `hook`.
    pub(crate) fn new(hook: WakeFn) -> Self {
        Self {
            hook,
            called: AtomicBool::new(false),
        }
    }

    /// The hook it calls.
    pub(crate) fn hook(&self) -> &WakeFn {
        &self.hook
    }

    /// The caller is about to look at its channel: the next answer calls the hook again.
    pub(crate) fn rearm(&self) {
        // A swap, not a store: it reads the flag an answer's sender set, so that answer is
        // visible to the look that follows (or it arrives later and calls the hook again).
        self.called.swap(false, Ordering::SeqCst);
    }

    /// An answer waits in the channel: calls the hook unless it was called since the last
    /// [`Wake::rearm`].
    pub(crate) fn answered(&self) {
        if self.called.swap(true, Ordering::SeqCst) {
            return;
        }
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.hook)())).is_err() {
            tracing::warn!("the wake hook panicked; the answer waits for the next frame");
        }
    }
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wake")
            .field("called", &self.called.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

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

/// What a request's sender and its caller share: whether the caller gave up on the answer,
/// and when the request actually started (left the queue for the wire). One atomic orders the
/// two, so a request is either started before the caller gives up (and the caller learns
/// when), or never sent.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// When the request was handed over: starts are kept as nanoseconds after it.
    since: Instant,
    /// [`WAITING`], [`ABANDONED`] (never started), or 1 + the start in nanoseconds after
    /// `since`.
    state: AtomicU64,
    /// In the browser: whether the caller gave up (started or not: an open fetch is then
    /// aborted), and who to wake.
    #[cfg(target_arch = "wasm32")]
    wakers: std::sync::Mutex<Wakers>,
}

/// In the browser: the fetch to abort when the caller gives up, and the caller awaiting the
/// answer ([`super::send`]).
#[cfg(target_arch = "wasm32")]
#[derive(Debug, Default)]
struct Wakers {
    gave_up: bool,
    engine: Option<std::task::Waker>,
    caller: Option<std::task::Waker>,
}

const WAITING: u64 = 0;
const ABANDONED: u64 = u64::MAX;

impl Ticket {
    /// A ticket for a request handed over at `since`.
    pub(crate) fn new(since: Instant) -> Self {
        Self {
            since,
            state: AtomicU64::new(WAITING),
            #[cfg(target_arch = "wasm32")]
            wakers: std::sync::Mutex::default(),
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn wakers(&self) -> std::sync::MutexGuard<'_, Wakers> {
        self.wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn at(&self, state: u64) -> Option<Instant> {
        match state {
            WAITING | ABANDONED => None,
            nanos => self.since.checked_add(Duration::from_nanos(nanos - 1)),
        }
    }

    /// Marks the request started at `now`, unless the caller already gave up: whether to send.
    pub(crate) fn start(&self, now: Instant) -> bool {
        let nanos = now.saturating_duration_since(self.since).as_nanos();
        let state = u64::try_from(nanos)
            .unwrap_or(u64::MAX - 2)
            .min(u64::MAX - 2)
            + 1;
        match self
            .state
            .compare_exchange(WAITING, state, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(ABANDONED) => false,
            Err(_) => true, // started already
        }
    }

    /// When the request started, if it has.
    pub(crate) fn started(&self) -> Option<Instant> {
        self.at(self.state.load(Ordering::Acquire))
    }

    /// Gives up on the answer; when the request started, if it ever did (then no later).
    /// In the browser this wakes the fetch, which aborts.
    pub(crate) fn abandon(&self) -> Option<Instant> {
        let started = match self.state.compare_exchange(
            WAITING,
            ABANDONED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => None,
            Err(state) => self.at(state),
        };
        #[cfg(target_arch = "wasm32")]
        {
            let mut wakers = self.wakers();
            wakers.gave_up = true;
            if let Some(engine) = wakers.engine.take() {
                engine.wake();
            }
        }
        started
    }

    /// In the browser: ready once the caller gave up (the fetch is then aborted).
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn poll_abandoned(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let mut wakers = self.wakers();
        if wakers.gave_up {
            return std::task::Poll::Ready(());
        }
        wakers.engine = Some(cx.waker().clone());
        std::task::Poll::Pending
    }

    /// In the browser: the answer was sent; wakes a caller awaiting it.
    #[cfg(target_arch = "wasm32")]
    fn answered(&self) {
        let caller = self.wakers().caller.take();
        if let Some(caller) = caller {
            caller.wake();
        }
    }

    /// In the browser: `cx` is woken when the answer is sent.
    #[cfg(target_arch = "wasm32")]
    fn wake_on_answer(&self, cx: &std::task::Context<'_>) {
        self.wakers().caller = Some(cx.waker().clone());
    }
}

/// An answer on its way. Poll with [`PendingResponse::try_take`]; drop it to discard the
/// answer (a request still waiting for a worker is then not sent at all).
#[derive(Debug)]
pub struct PendingResponse {
    rx: Receiver<Answered>,
    ticket: Arc<Ticket>,
}

impl PendingResponse {
    /// A request handed over at `now`: the handle, and where the engine answers it.
    pub(crate) fn new(now: Instant) -> (Self, ReplyTo) {
        let (to, rx) = crossbeam_channel::bounded(1);
        let ticket = Arc::new(Ticket::new(now));
        let reply = ReplyTo {
            to,
            token: 0,
            ticket: Arc::clone(&ticket),
            decode: None,
            wake: None,
        };
        (Self { rx, ticket }, reply)
    }

    /// The answer, once it has arrived. A worker that vanished without answering resolves as
    /// a transport error that may have been sent.
    pub fn try_take(&self) -> Option<Result<HttpResponse, EdgegapError>> {
        match self.rx.try_recv() {
            Ok(answered) => Some(answered.reply),
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
            Ok(answered) => Some(answered.reply),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_started_or_abandoned_never_both() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let started = Ticket::new(t0);
        assert_eq!(started.started(), None);
        assert!(started.start(at(5)));
        assert!(started.start(at(9)), "a second start changes nothing");
        assert_eq!(started.started(), Some(at(5)));
        assert_eq!(started.abandon(), Some(at(5)), "abandoned after its start");
        assert_eq!(started.started(), Some(at(5)));

        let dropped = Ticket::new(t0);
        assert_eq!(dropped.abandon(), None);
        assert!(!dropped.start(at(1)), "never sent once abandoned");
        assert_eq!(dropped.started(), None);

        let at_once = Ticket::new(t0);
        assert!(at_once.start(t0));
        assert_eq!(
            at_once.started(),
            Some(t0),
            "a start at the handover is a start"
        );
    }

    /// A decoder that panics on the worker costs the decoded answer only: the reply arrives
    /// with its body, for the caller to decode (and report) itself; a decoder that works
    /// frees the body on the worker.
    #[test]
    fn a_panicking_decoder_still_answers_with_the_body() {
        struct Panics;
        impl Decode for Panics {
            fn decode_answer(&self, _: &HttpResponse) -> Option<Decoded> {
                panic!("a hostile answer")
            }
        }
        struct Works;
        impl Decode for Works {
            fn decode_answer(&self, response: &HttpResponse) -> Option<Decoded> {
                Some(Box::new(response.status))
            }
        }
        let (to, answers) = crossbeam_channel::unbounded();
        let decoders: [Arc<dyn Decode>; 2] = [Arc::new(Panics), Arc::new(Works)];
        for (token, decode) in (1..).zip(decoders) {
            let reply_to = ReplyTo {
                to: to.clone(),
                token,
                ticket: Arc::new(Ticket::new(Instant::now())),
                decode: Some(decode),
                wake: None,
            };
            // The panic is caught; its message still goes to stderr.
            reply_to.answer(Ok(HttpResponse::new(200, r#"{"ok":true}"#)));
        }
        let panicked = answers.try_recv().expect("answered despite the panic");
        assert_eq!(panicked.token, 1);
        assert!(panicked.decoded.is_none());
        let body = panicked.reply.expect("the success itself").body;
        assert_eq!(body, br#"{"ok":true}"#);
        let decoded = answers.try_recv().expect("answered");
        assert_eq!(decoded.token, 2);
        let status = decoded.decoded.expect("decoded").downcast::<u16>().ok();
        assert_eq!(status.as_deref(), Some(&200));
        assert!(decoded.reply.expect("the success").body.is_empty());
    }

    /// A wake calls its hook once until rearmed, after the answer is in the channel; a hook
    /// that panics is caught (the worker calling it lives on) and the answer still arrives.
    #[test]
    fn a_wake_calls_its_hook_once_per_rearm_and_survives_a_panic() {
        use std::sync::atomic::AtomicU32;
        let (to, answers) = crossbeam_channel::unbounded::<Answered>();
        let calls = Arc::new(AtomicU32::new(0));
        let (counter, seen) = (Arc::clone(&calls), answers.clone());
        let wake = Arc::new(Wake::new(Arc::new(move || {
            assert!(
                !seen.is_empty(),
                "called before the answer was in the channel"
            );
            counter.fetch_add(1, Ordering::SeqCst);
        })));
        let reply_to = |token| ReplyTo {
            to: to.clone(),
            token,
            ticket: Arc::new(Ticket::new(Instant::now())),
            decode: None,
            wake: Some(Arc::clone(&wake)),
        };
        reply_to(1).answer(Ok(HttpResponse::new(200, "{}")));
        reply_to(2).answer(Ok(HttpResponse::new(200, "{}")));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one call until rearmed");
        wake.rearm();
        assert_eq!(answers.try_iter().count(), 2);
        reply_to(3).answer(Err(EdgegapError::Timeout));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "rearmed: called again");

        let panics = Wake::new(Arc::new(|| panic!("a hostile hook")));
        panics.answered();
        panics.rearm();
        panics.answered();
    }
}
