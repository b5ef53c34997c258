//! The transport of both plugins: a FIFO queue in front of a bounded number of in-flight
//! requests, client-side rate limits per [`EndpointClass`], deadlines, and retries — the one
//! retry driver of the crate. The client plugin runs one for all its calls; the server
//! plugin's self-stop and context calls each run a one-call transport (`server::call`).
//!
//! It knows nothing of Bevy: a [`Job`] names its owner with any `O` (the client's entity,
//! `()` for a server call) and carries a payload `P` of the caller's; [`Transport::poll`] hands
//! back `(owner, payload, result)` as an [`Outcome`], and the caller delivers it (the client
//! plugin writes it to its `World` in `client::request`). Three files: this one (the queue),
//! `transport/job.rs` (one call and its attempts), `transport/rate.rs` (rate limits per
//! class).
//!
//! Nothing here is ever dropped for back-pressure: a request over the in-flight cap or over
//! its class's rate budget waits in the queue. The engine gets up to sixteen times its worker
//! count ([`handed_cap`]): each worker one request on the wire and the next ones in line, so
//! it starts the next one the moment it finishes, without waiting for the next frame. A
//! call's budget runs from its real start, not from when it was handed over. A request handed
//! over counts in its class's rate window from then until one second after its real start
//! ([`RateLimiter`]), so waiting for a worker never lets more than the limit start in any
//! second. Every job resolves exactly once — with an answer, a typed error, or silently when
//! its owner is gone (cancelled), unless it follows orphans ([`Job::follow_orphan`]).
//!
//! Time is the wall clock ([`crate::time::Instant`]: std's natively, `web_time`'s in the
//! browser) throughout: deadlines, backoff and rate windows are real time, whatever the app's
//! `Time` does. The functions take `now` so the logic can be tested without sleeping.
//!
//! Sending goes through an engine only (see [`crate::http`] for the engine and for the time
//! model: a call's budget, its optional per-attempt timeout, and the retry rule). Every
//! `Instant` sum is checked: a delay too large to represent means "never", not a panic.

// The server plugin runs one-call transports: the queue's client-only parts (stats, the
// client's engine, calls resolved before sending, owners that can be gone) go unused there.
#![cfg_attr(
    not(feature = "client"),
    expect(
        dead_code,
        reason = "stats, engine options, rate classes and owners are used by the client plugin"
    )
)]

mod job;
mod rate;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use tracing::{debug, trace};

use self::job::Queued;
pub(crate) use self::job::{Job, Payload};
pub use self::rate::RateLimits;
use self::rate::{PerClass, RateLimiter};
use crate::api::{EdgegapError, EndpointClass, HttpRequest, HttpResponse, api_error};
use crate::http::{
    Answered, Decoded, Engine, EngineOptions, ReplyTo, Ticket, Timing, Wake, WakeFn, shared_engine,
};
use crate::time::Instant;

/// How many requests a transport hands to its engine at once, per worker: one on the wire and
/// fifteen next in line, so a worker that finishes starts the next request at once instead of
/// waiting for the next frame to hand it one, even when a frame comes late — on a busy machine
/// the game's thread can be off the CPU for milliseconds (measured with
/// `benches/client_throughput.rs`, plugin over a plain agent: one next in line 1.55–1.73×,
/// three 1.37–1.46× on an idle machine; on a machine loaded 6–12 on 2 cores, three 1.54 and
/// fifteen 1.39, medians of 8 alternated invocations). The workers (and so requests on the
/// wire) stay at `max_in_flight`; time spent waiting for a worker does not count against a
/// call's budget ([`Queued::timing`]), and a request given up on while it waits is never sent.
const HANDED_PER_WORKER: usize = 16;

/// Requests handed to the engine at most, for `max_in_flight` workers.
fn handed_cap(max_in_flight: usize) -> usize {
    max_in_flight.max(1).saturating_mul(HANDED_PER_WORKER)
}

struct InFlight<O, P> {
    queued: Queued<O, P>,
    /// Its answer's token on the transport's channel (one per attempt: a late answer to an
    /// earlier attempt is never taken for this one's).
    token: u64,
    /// Shared with the worker: when it started; giving it up.
    ticket: Arc<Ticket>,
    /// When it was handed to the engine.
    sent_at: Instant,
    /// When it must start, and be answered, by.
    timing: Timing,
    /// Counted by its class's rate limiter as unstarted: handed over under a limit, its
    /// start not recorded yet.
    pinned: bool,
}

impl<O, P> InFlight<O, P> {
    /// When it must be answered by, if it has started; when it must start by, if not
    /// (`None`: never).
    fn deadline(&self) -> Option<Instant> {
        self.timing.end(self.ticket.started())
    }

    /// The earliest its deadline can be, looked at `now`: a request not started yet may start
    /// any moment and then have only its timeout.
    fn earliest_deadline(&self, now: Instant) -> Option<Instant> {
        match self.ticket.started() {
            Some(started) => self.timing.end(Some(started)),
            None => min_instant(Some(self.timing.start_by), self.timing.end(Some(now))),
        }
    }
}

/// A job's end, handed back by [`Transport::poll`] for the caller to deliver.
pub(crate) struct Outcome<O, P> {
    /// Who the result is for (gone already if the job follows orphans).
    pub owner: O,
    /// The job's payload, back to its caller.
    pub payload: P,
    /// The final answer (any status: the last attempt's) or the error that ended the call.
    pub result: Result<HttpResponse, EdgegapError>,
    /// The answer, decoded by the engine's worker with the payload's decoder
    /// ([`Payload::decoder`]) when it is a success (its body and headers are then emptied).
    pub decoded: Option<Decoded>,
}

/// Counters the plugin exposes as `EdgegapStats` and Bevy diagnostics.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Counters {
    pub sent: u64,
    pub resolved: u64,
    pub retries: u64,
    pub rate_limit_waits: u64,
    pub timeouts: u64,
    pub cancelled: u64,
    pub last_latency: Option<Duration>,
}

/// The queue, the in-flight set, limiters and counters, for jobs owned by `O` carrying `P`.
pub(crate) struct Transport<O, P> {
    next_seq: u64,
    next_token: u64,
    /// One FIFO per class, ordered by `seq` (retries keep their place).
    queues: PerClass<VecDeque<Queued<O, P>>>,
    /// Retries waiting for their backoff.
    delayed: Vec<Queued<O, P>>,
    in_flight: Vec<InFlight<O, P>>,
    /// Resolved without sending (bad config, validation) or waiting for delivery.
    resolved: Vec<Outcome<O, P>>,
    limiters: PerClass<RateLimiter>,
    queued: usize,
    pub counters: Counters,
    /// The engine this transport sends with; `None` until configured (the shared default
    /// engine is used then), `Err` when its options were refused (bad root certificate).
    engine: Option<Result<Engine, (EngineOptions, EdgegapError)>>,
    /// Where the engine answers this transport's requests, made with the first one (so an
    /// empty transport costs no allocation).
    answers: Option<(Sender<Answered>, Receiver<Answered>)>,
    /// No request in flight reaches its deadline before then (`None`: none can).
    next_deadline: Option<Instant>,
    /// Called when an answer waits for the next [`Transport::poll`] ([`Transport::use_wake`]).
    wake: Option<Arc<Wake>>,
}

impl<O, P> Default for Transport<O, P> {
    fn default() -> Self {
        Self {
            next_seq: 0,
            next_token: 0,
            queues: PerClass::default(),
            delayed: Vec::new(),
            in_flight: Vec::new(),
            resolved: Vec::new(),
            limiters: PerClass::default(),
            queued: 0,
            counters: Counters::default(),
            engine: None,
            answers: None,
            next_deadline: None,
            wake: None,
        }
    }
}

impl<O: Copy, P: Payload> Transport<O, P> {
    /// Jobs waiting to be sent (retries in backoff included; a job whose owner is gone counts
    /// until its turn comes).
    pub(crate) fn queued(&self) -> usize {
        self.queued + self.delayed.len()
    }

    /// Requests handed to the engine: on the wire, or next in line for a worker.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether there is nothing to do at all.
    pub(crate) fn is_idle(&self) -> bool {
        self.queued == 0
            && self.delayed.is_empty()
            && self.in_flight.is_empty()
            && self.resolved.is_empty()
    }

    /// How many more requests of `class` could start now, after those already queued.
    pub(crate) fn spare(
        &mut self,
        class: EndpointClass,
        limits: &RateLimits,
        max_in_flight: usize,
        now: Instant,
    ) -> usize {
        self.note_starts();
        let slots = handed_cap(max_in_flight).saturating_sub(self.in_flight.len() + self.queued);
        let unstarted = self.unstarted()[class];
        let tokens = self.limiters[class]
            .available(limits.get(class), now, unstarted)
            .saturating_sub(self.queues[class].len());
        slots.min(tokens)
    }

    /// When a request of `class` held back by its rate budget may next start: when the
    /// earliest start in its window leaves it (`None`: unlimited, or nothing recorded, so only
    /// an answer freeing a slot makes room). Call after [`Transport::spare`].
    pub(crate) fn next_room(&self, class: EndpointClass, limits: &RateLimits) -> Option<Instant> {
        limits.get(class)?;
        self.limiters[class].next_expiry()
    }

    /// Adds a job at the back of its class's queue.
    pub(crate) fn enqueue(&mut self, job: Job<O, P>) {
        trace!("queued `{}` `{}`", job.label, job.path());
        let class = job.class;
        self.queues[class].push_back(Queued::new(job, self.next_seq));
        self.next_seq += 1;
        self.queued += 1;
    }

    /// Resolves a call without sending it (it is handed back by the next
    /// [`Transport::poll`], and the wake hook is called for it).
    pub(crate) fn resolve_now(&mut self, owner: O, payload: P, error: EdgegapError) {
        self.resolved.push(Outcome {
            owner,
            payload,
            result: Err(error),
            decoded: None,
        });
        if let Some(wake) = &self.wake {
            wake.answered();
        }
    }

    /// Calls `hook` when an answer waits for the next [`Transport::poll`]: from the engine's
    /// thread the answer arrived on, once until that poll (`None`: nobody to wake). Requests
    /// already handed to the engine keep the hook they were sent with.
    pub(crate) fn use_wake(&mut self, hook: Option<&WakeFn>) {
        match (hook, &self.wake) {
            (None, _) => self.wake = None,
            (Some(hook), Some(wake)) if Arc::ptr_eq(hook, wake.hook()) => {}
            (Some(hook), _) => self.wake = Some(Arc::new(Wake::new(Arc::clone(hook)))),
        }
    }

    fn requeue(&mut self, queued: Queued<O, P>) {
        let queue = &mut self.queues[queued.job.class];
        let at = queue.partition_point(|q| q.seq < queued.seq);
        queue.insert(at, queued);
        self.queued += 1;
    }

    /// Collects answers, applies deadlines and retries, and drops requests whose owner is gone
    /// (queued ones are dropped when their turn comes, by [`Transport::dispatch`]). Returns the
    /// outcomes to deliver, in resolution order. Costs nothing per request in flight but the
    /// owner check: answers come through one channel, and deadlines are looked at only once
    /// the earliest one may have passed.
    pub(crate) fn poll(&mut self, now: Instant, alive: impl Fn(O) -> bool) -> Vec<Outcome<O, P>> {
        // Before looking: an answer that arrives from now on wakes the caller again.
        if let Some(wake) = &self.wake {
            wake.rearm();
        }
        let mut out = std::mem::take(&mut self.resolved);
        if self.in_flight.is_empty() && self.delayed.is_empty() {
            return out;
        }
        // Cancelled: the owner is gone. Nothing is delivered. A request on the wire that
        // follows orphans is kept to its answer.
        let before = self.in_flight.len() + self.delayed.len();
        let mut i = 0;
        while i < self.in_flight.len() {
            let job = &self.in_flight[i].queued.job;
            if alive(job.owner) || job.follow_orphan {
                i += 1;
            } else {
                let flight = self.in_flight.swap_remove(i);
                self.settle(&flight);
            }
        }
        self.delayed.retain(|q| alive(q.job.owner));
        let cancelled = before - (self.in_flight.len() + self.delayed.len());
        if cancelled > 0 {
            debug!("cancelled `{cancelled}` edgegap calls whose owner is gone");
            self.counters.cancelled += cancelled as u64;
        }

        // Answers, then deadlines.
        let answers = self.answers.take();
        if let Some((_, answers)) = &answers {
            // One allocation for the batch instead of regrowing (and moving) it answer by answer.
            out.reserve(answers.len());
            while let Ok(answered) = answers.try_recv() {
                let Some(i) = self
                    .in_flight
                    .iter()
                    .position(|f| f.token == answered.token)
                else {
                    continue; // given up on (cancelled, timed out): discarded
                };
                let flight = self.in_flight.swap_remove(i);
                self.answered(flight, answered.reply, answered.decoded, now, &mut out);
            }
        }
        self.answers = answers;
        if self.next_deadline.is_some_and(|at| now >= at) {
            self.next_deadline = None;
            let mut i = 0;
            while i < self.in_flight.len() {
                if self.in_flight[i].deadline().is_some_and(|end| now >= end) {
                    let flight = self.in_flight.swap_remove(i);
                    self.answered(flight, Err(EdgegapError::Timeout), None, now, &mut out);
                } else {
                    let next = self.in_flight[i].earliest_deadline(now);
                    self.next_deadline = min_instant(self.next_deadline, next);
                    i += 1;
                }
            }
        }

        // Retries whose backoff ended go back to their place in the queue.
        let mut k = 0;
        while k < self.delayed.len() {
            if self.delayed[k].not_before.is_none_or(|t| t <= now) {
                let queued = self.delayed.swap_remove(k);
                self.requeue(queued);
            } else {
                k += 1;
            }
        }
        out
    }

    /// What became of `flight`: `answer` (an answer, or a timeout), resolved or retried.
    fn answered(
        &mut self,
        flight: InFlight<O, P>,
        answer: Result<HttpResponse, EdgegapError>,
        decoded: Option<Decoded>,
        now: Instant,
        out: &mut Vec<Outcome<O, P>>,
    ) {
        // Abandoning the ticket discards a late answer (a request that never left the
        // engine's queue is not sent at all).
        let started = self.settle(&flight);
        let InFlight {
            mut queued,
            sent_at,
            ..
        } = flight;
        // The budget runs from the first attempt's real start (never started: from when
        // it was handed over).
        let first_sent = *queued.first_sent.get_or_insert(started.unwrap_or(sent_at));
        self.counters.last_latency =
            Some(now.saturating_duration_since(started.unwrap_or(sent_at)));
        let budget_spent = queued.budget_end(first_sent).is_some_and(|end| now >= end);
        let job = &queued.job;
        if matches!(answer, Err(EdgegapError::Timeout)) {
            self.counters.timeouts += 1;
            debug!(
                "`{}` `{}`: attempt `{}` timed out (budget `{:?}`)",
                job.label,
                job.path(),
                queued.attempts,
                job.budget
            );
            if budget_spent {
                self.finish(queued, Err(EdgegapError::Timeout), None, out);
                return;
            }
        }
        let failure = match &answer {
            Ok(response) if job.payload.is_success(response.status) => None,
            Ok(response) => Some(api_error(response)),
            Err(error) => Some(error.clone()),
        };
        let retry_at = failure.as_ref().and_then(|error| {
            let delay = job.retry.next_attempt(
                error,
                job.idempotent,
                queued.attempts,
                now.saturating_duration_since(first_sent),
                job.budget,
            )?;
            debug!(
                "`{}` `{}`: attempt `{}` failed ({error}); retrying in `{delay:?}`",
                job.label,
                job.path(),
                queued.attempts
            );
            now.checked_add(delay)
        });
        match retry_at {
            Some(at) => {
                self.counters.retries += 1;
                queued.not_before = Some(at);
                self.delayed.push(queued);
            }
            None => self.finish(queued, answer, decoded, out),
        }
    }

    /// Gives up on `flight`'s answer, and counts it in its rate window from its real start
    /// (not at all if it never started). Returns that start.
    fn settle(&mut self, flight: &InFlight<O, P>) -> Option<Instant> {
        // (A request whose start is already counted is not counted twice.)
        let started = flight.ticket.abandon();
        if flight.pinned
            && let Some(at) = started
        {
            self.limiters[flight.queued.job.class].record(at);
        }
        started
    }

    /// Requests handed over under a rate limit whose start is not recorded yet, per class.
    fn unstarted(&self) -> PerClass<usize> {
        let mut counts = PerClass::default();
        for flight in self.in_flight.iter().filter(|f| f.pinned) {
            counts[flight.queued.job.class] += 1;
        }
        counts
    }

    /// Requests handed over that have started since the last look are counted in their rate
    /// window from their real start.
    fn note_starts(&mut self) {
        for flight in &mut self.in_flight {
            if flight.pinned
                && let Some(at) = flight.ticket.started()
            {
                flight.pinned = false;
                self.limiters[flight.queued.job.class].record(at);
            }
        }
    }

    fn finish(
        &mut self,
        queued: Queued<O, P>,
        result: Result<HttpResponse, EdgegapError>,
        decoded: Option<Decoded>,
        out: &mut Vec<Outcome<O, P>>,
    ) {
        self.counters.resolved += 1;
        out.push(Outcome {
            owner: queued.job.owner,
            payload: queued.job.payload,
            result,
            decoded,
        });
    }

    /// Uses an engine built with these options from now on (rebuilt only when they
    /// changed). Requests already on the wire finish on the engine that sent them.
    pub(crate) fn use_engine(
        &mut self,
        max_in_flight: usize,
        root_certificates: &[String],
        max_body_bytes: usize,
    ) {
        let current = match &self.engine {
            Some(Ok(engine)) => Some(engine.options()),
            Some(Err((options, _))) => Some(options),
            None => None,
        };
        if current.is_some_and(|o| {
            o.max_in_flight == max_in_flight.max(1)
                && o.root_certificates == root_certificates
                && o.max_body_bytes == max_body_bytes
        }) {
            return;
        }
        let options = EngineOptions {
            max_in_flight: max_in_flight.max(1),
            root_certificates: root_certificates.to_vec(),
            max_body_bytes,
        };
        self.engine = Some(Engine::new(options.clone()).map_err(|error| (options, error)));
    }

    /// Hands queued jobs to the engine, oldest first, while the rate budgets allow and the
    /// engine has fewer than [`handed_cap`] (each worker one on the wire, the next in line),
    /// on the engine set by [`Transport::use_engine`] (the shared default engine before). A
    /// job whose owner is gone (`alive`) is dropped when its turn comes, unsent.
    pub(crate) fn dispatch(
        &mut self,
        limits: &RateLimits,
        max_in_flight: usize,
        now: Instant,
        alive: impl Fn(O) -> bool,
    ) {
        let engine = self.engine.take();
        match &engine {
            Some(Ok(engine)) => self.dispatch_with(limits, max_in_flight, now, alive, |r, t, a| {
                engine.send(r, t, a)
            }),
            None => self.dispatch_with(limits, max_in_flight, now, alive, |r, t, a| {
                shared_engine().send(r, t, a)
            }),
            Some(Err((_, error))) => {
                self.dispatch_with(limits, max_in_flight, now, alive, |_, _, reply| {
                    reply.answer(Err(error.clone()))
                })
            }
        }
        self.engine = engine;
    }

    /// [`Transport::dispatch`] with a custom sender (tests).
    fn dispatch_with(
        &mut self,
        limits: &RateLimits,
        max_in_flight: usize,
        now: Instant,
        alive: impl Fn(O) -> bool,
        mut send: impl FnMut(Arc<HttpRequest>, Timing, ReplyTo),
    ) {
        let cap = handed_cap(max_in_flight);
        if self.queued == 0 {
            return;
        }
        self.note_starts();
        let unstarted = self.unstarted();
        let mut available = PerClass::<usize>::default();
        for (class, queue) in self.queues.iter() {
            if !queue.is_empty() {
                available[class] =
                    self.limiters[class].available(limits.get(class), now, unstarted[class]);
            }
        }
        let to = self
            .answers
            .get_or_insert_with(crossbeam_channel::unbounded)
            .0
            .clone();
        // A late answer to a request given up on may have used the wake since the last poll:
        // the answers to these requests wake the caller again.
        if let Some(wake) = &self.wake {
            wake.rearm();
        }
        let mut cancelled = 0;
        while self.in_flight.len() < cap && self.queued > 0 {
            // The oldest head among the classes with budget left.
            let mut best: Option<(EndpointClass, u64)> = None;
            for (class, queue) in self.queues.iter() {
                if let Some(head) = queue.front()
                    && available[class] > 0
                    && best.is_none_or(|(_, seq)| head.seq < seq)
                {
                    best = Some((class, head.seq));
                }
            }
            let Some((class, _)) = best else { break };
            let Some(mut queued) = self.queues[class].pop_front() else {
                break;
            };
            self.queued -= 1;
            if !alive(queued.job.owner) {
                cancelled += 1;
                continue;
            }
            available[class] -= 1;
            let pinned = limits.get(class).is_some();
            queued.attempts += 1;
            let timing = queued.timing(now);
            self.counters.sent += 1;
            trace!(
                "sending `{}` `{}` (attempt `{}`)",
                queued.job.label,
                queued.job.path(),
                queued.attempts
            );
            let token = self.next_token;
            self.next_token += 1;
            let ticket = Arc::new(Ticket::new(now));
            let reply = ReplyTo {
                to: to.clone(),
                token,
                ticket: Arc::clone(&ticket),
                decode: queued.job.payload.decoder(),
                wake: self.wake.clone(),
            };
            send(Arc::clone(&queued.job.request), timing, reply);
            let flight = InFlight {
                queued,
                token,
                ticket,
                sent_at: now,
                timing,
                pinned,
            };
            self.next_deadline = min_instant(self.next_deadline, flight.earliest_deadline(now));
            self.in_flight.push(flight);
        }
        if cancelled > 0 {
            debug!("cancelled `{cancelled}` queued edgegap calls whose owner is gone");
            self.counters.cancelled += cancelled;
        }
        // Jobs still waiting only because of a rate budget.
        for class in EndpointClass::ALL {
            if available[class] == 0 {
                for queued in self.queues[class]
                    .iter_mut()
                    .filter(|q| !q.counted_rate_wait)
                {
                    queued.counted_rate_wait = true;
                    self.counters.rate_limit_waits += 1;
                }
            }
        }
    }
}

/// The earlier of two optional instants (`None` is "never").
fn min_instant(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::api::Method;
    use crate::http::RetryPolicy;

    /// Records what was delivered.
    type Delivered = Vec<(u32, Result<u16, EdgegapError>)>;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Delivered>>);

    impl Sink {
        /// The owners delivered so far, in order.
        fn owners(&self) -> Vec<u32> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .map(|(owner, _)| *owner)
                .collect()
        }
    }

    /// A payload that says where its outcome is recorded.
    struct Probe(Sink);

    impl Payload for Probe {
        fn is_success(&self, status: u16) -> bool {
            (200..300).contains(&status)
        }
    }

    fn request() -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: "http://127.0.0.1:9/v1/status/abc".into(),
            headers: vec![("Authorization".into(), "token secret".into())],
            body: Vec::new(),
        }
    }

    fn job(owner: u32, class: EndpointClass, idempotent: bool, sink: &Sink) -> Job<u32, Probe> {
        Job {
            owner,
            class,
            idempotent,
            request: Arc::new(request()),
            payload: Probe(sink.clone()),
            budget: Duration::from_secs(10),
            attempt_timeout: None,
            retry: RetryPolicy::default(),
            label: "Probe",
            secret_url: false,
            follow_orphan: false,
        }
    }

    /// A sender whose answers the test controls.
    #[derive(Default)]
    struct Wire {
        senders: Vec<Line>,
        /// Each request's ticket: the test starts one that waited for a worker.
        starts: Vec<Arc<Ticket>>,
    }

    /// One request's answer line, as the engine's worker holds it.
    #[derive(Clone)]
    struct Line(crossbeam_channel::Sender<Answered>, u64);

    impl Line {
        fn send(&self, reply: Result<HttpResponse, EdgegapError>) -> Result<(), ()> {
            let answered = Answered {
                token: self.1,
                reply,
                decoded: None,
            };
            self.0.send(answered).map_err(|_| ())
        }
    }

    impl Wire {
        /// Puts the request on the wire at `now`.
        fn send(&mut self, reply: ReplyTo, now: Instant) {
            self.queue(reply, Some(now));
        }

        /// Takes the request, started at `started` (`None`: waiting for a worker; the test
        /// starts it later through `starts`).
        fn queue(&mut self, reply: ReplyTo, started: Option<Instant>) {
            if let Some(at) = started {
                reply.ticket.start(at);
            }
            self.senders.push(Line(reply.to, reply.token));
            self.starts.push(reply.ticket);
        }

        /// Answers every request on the wire with `status`.
        fn answer_all(&self, status: u16) {
            for line in &self.senders {
                line.send(Ok(HttpResponse::new(status, "{}"))).unwrap();
            }
        }

        /// Dispatches `t`'s queue under `limits` with `max_in_flight`, at `now`, every owner
        /// alive; each request taken as [`Wire::queue`] takes it.
        fn dispatch(
            &mut self,
            t: &mut Transport<u32, Probe>,
            limits: &RateLimits,
            max_in_flight: usize,
            now: Instant,
            started: Option<Instant>,
        ) {
            t.dispatch_with(
                limits,
                max_in_flight,
                now,
                |_| true,
                |_, _, a| self.queue(a, started),
            );
        }
    }

    /// What a caller does with the outcomes: here, records them in their payload's sink.
    fn deliver_all(outcomes: Vec<Outcome<u32, Probe>>) {
        for o in outcomes {
            o.payload
                .0
                .0
                .lock()
                .unwrap()
                .push((o.owner, o.result.map(|r| r.status)));
        }
    }

    /// A transport under test, the wire its requests go out on, and where its outcomes are
    /// recorded.
    #[derive(Default)]
    struct Rig {
        sink: Sink,
        t: Transport<u32, Probe>,
        wire: Wire,
    }

    impl Rig {
        /// Queues a job of `owner`'s.
        fn enqueue(&mut self, owner: u32, class: EndpointClass, idempotent: bool) {
            let job = job(owner, class, idempotent, &self.sink);
            self.t.enqueue(job);
        }

        /// Hands the queue to the wire under `limits` with `max_in_flight` workers, at `now`
        /// (`started`: as [`Wire::queue`] takes it).
        fn dispatch(
            &mut self,
            limits: &RateLimits,
            max_in_flight: usize,
            now: Instant,
            started: Option<Instant>,
        ) {
            self.wire
                .dispatch(&mut self.t, limits, max_in_flight, now, started);
        }

        /// Hands the queue over at `now` with no rate limit and 8 workers, each request
        /// started at once.
        fn send(&mut self, now: Instant) {
            self.dispatch(&RateLimits::none(), 8, now, Some(now));
        }

        /// Polls at `now`, every owner alive, and records what it hands back.
        fn poll(&mut self, now: Instant) {
            deliver_all(self.t.poll(now, |_| true));
        }

        /// What was delivered so far.
        fn delivered(&self) -> Delivered {
            self.sink.0.lock().unwrap().clone()
        }
    }

    #[test]
    fn over_the_cap_waits_and_nothing_is_lost() {
        let mut r = Rig::default();
        let limits = RateLimits::none();
        let now = Instant::now();
        // Four workers: four on the wire and the rest of the cap next in line; four more
        // wait in the transport's queue.
        let cap = handed_cap(4);
        assert_eq!(cap, 4 * HANDED_PER_WORKER);
        let total = cap + 4;
        for i in 0..total {
            r.enqueue(i as u32 + 1, EndpointClass::Status, true);
        }
        r.dispatch(&limits, 4, now, Some(now));
        assert_eq!(r.t.in_flight(), cap);
        assert_eq!(r.t.queued(), 4);
        let mut answered = 0;
        while answered < total {
            let tx = r.wire.senders[answered].clone();
            tx.send(Ok(HttpResponse::new(200, "{}"))).unwrap();
            answered += 1;
            r.poll(now);
            r.dispatch(&limits, 4, now, Some(now));
            assert!(r.t.in_flight() <= handed_cap(4));
        }
        // Every one, FIFO: delivered in the order they were queued.
        assert_eq!(r.sink.owners(), (1..=total as u32).collect::<Vec<_>>());
        assert!(r.t.is_idle());
    }

    #[test]
    fn rate_limit_defers_but_keeps_order() {
        let mut r = Rig::default();
        let limits = RateLimits::none().with(EndpointClass::Status, Some(3));
        let start = Instant::now();
        for i in 0..7 {
            r.enqueue(i + 1, EndpointClass::Status, true);
        }
        r.enqueue(100, EndpointClass::Other, true);
        r.dispatch(&limits, 64, start, Some(start));
        // 3 status + the unlimited one that was behind them.
        assert_eq!(r.t.in_flight(), 4);
        assert_eq!(r.t.counters.rate_limit_waits, 4);
        r.dispatch(
            &limits,
            64,
            start + Duration::from_millis(999),
            Some(start + Duration::from_millis(999)),
        );
        assert_eq!(r.t.in_flight(), 4, "no new start inside the same second");
        r.dispatch(
            &limits,
            64,
            start + Duration::from_secs(1),
            Some(start + Duration::from_secs(1)),
        );
        assert_eq!(r.t.in_flight(), 7);
        assert_eq!(r.t.queued(), 1);
    }

    /// A request handed to the engine counts in its class's window from the moment it is
    /// handed over until a second after its real start, so one that waited for a worker
    /// cannot let a later one start in the same second; one never sent stops counting.
    #[test]
    fn requests_waiting_for_a_worker_count_until_a_second_after_their_start() {
        let mut r = Rig::default();
        let limits = RateLimits::none().with(EndpointClass::Status, Some(2));
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        for i in 0..6 {
            r.enqueue(i + 1, EndpointClass::Status, true);
        }
        r.dispatch(&limits, 8, at(0), None);
        assert_eq!(r.wire.senders.len(), 2);
        // Still waiting for a worker 1.5 s later: both still count.
        r.dispatch(&limits, 8, at(1500), None);
        assert_eq!(
            r.wire.senders.len(),
            2,
            "unstarted requests hold their place"
        );
        // They start at 1.6 s: nothing more until 2.6 s.
        r.wire.starts[0].start(at(1600));
        r.wire.starts[1].start(at(1600));
        r.dispatch(&limits, 8, at(2000), None);
        assert_eq!(r.wire.senders.len(), 2, "counted from the real start");
        r.dispatch(&limits, 8, at(2600), None);
        assert_eq!(r.wire.senders.len(), 4);
        // The two new ones time out without ever leaving the queue (their budget is 10 s):
        // never sent, they stop counting at once.
        r.poll(at(12_600));
        r.dispatch(&limits, 8, at(12_600), None);
        assert!(r.wire.senders.len() >= 6, "{}", r.wire.senders.len());
    }

    /// A call's budget runs from its real start: time waiting for a worker does not count,
    /// but a call no worker started within its whole budget times out without being sent.
    #[test]
    fn the_budget_runs_from_the_real_start() {
        let mut r = Rig::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Budgets of 10 s.
        r.enqueue(1, EndpointClass::Status, true);
        r.enqueue(2, EndpointClass::Status, true);
        r.dispatch(&RateLimits::none(), 8, at(0), None);
        // The first starts after waiting 5 s for a worker; the second never does.
        r.wire.starts[0].start(at(5_000));
        r.poll(at(9_999));
        assert_eq!(r.t.in_flight(), 2);
        r.poll(at(10_000));
        assert_eq!(
            r.t.in_flight(),
            1,
            "the unstarted one timed out at its budget"
        );
        r.poll(at(14_999));
        assert_eq!(r.t.in_flight(), 1, "started at 5 s: 10 s from then");
        r.poll(at(15_000));
        assert_eq!(r.t.in_flight(), 0);
        let got = r.delivered();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|(_, r)| *r == Err(EdgegapError::Timeout)));
    }

    #[test]
    fn deadline_resolves_as_timeout_and_late_answer_is_discarded() {
        let mut r = Rig::default();
        let start = Instant::now();
        let mut j = job(1, EndpointClass::Deploy, false, &r.sink);
        j.budget = Duration::from_secs(2);
        r.t.enqueue(j);
        r.send(start);
        r.poll(start + Duration::from_millis(1999));
        assert!(r.delivered().is_empty());
        r.poll(start + Duration::from_secs(2));
        assert_eq!(r.delivered().as_slice(), &[(1, Err(EdgegapError::Timeout))]);
        // The late answer goes nowhere, and the deploy is not sent again.
        let _ = r.wire.senders[0].send(Ok(HttpResponse::new(202, "{}")));
        r.send(start + Duration::from_secs(3));
        r.poll(start + Duration::from_secs(3));
        assert_eq!(r.wire.senders.len(), 1);
        assert_eq!(r.delivered().len(), 1);
        assert!(r.t.is_idle());
    }

    #[test]
    fn rate_limited_answers_are_retried_after_retry_after() {
        let mut r = Rig::default();
        let start = Instant::now();
        r.enqueue(1, EndpointClass::Deploy, false);
        r.send(start);
        r.wire.senders[0]
            .send(Ok(HttpResponse::new(429, r#"{"message":"slow down"}"#)
                .with_header("Retry-After", "1")))
            .unwrap();
        r.poll(start);
        assert!(r.delivered().is_empty());
        assert_eq!(r.t.counters.retries, 1);
        r.poll(start + Duration::from_millis(500));
        r.send(start + Duration::from_millis(500));
        assert_eq!(r.wire.senders.len(), 1, "not before Retry-After");
        r.poll(start + Duration::from_secs(1));
        r.send(start + Duration::from_secs(1));
        assert_eq!(r.wire.senders.len(), 2);
        r.wire.senders[1]
            .send(Ok(HttpResponse::new(202, r#"{"request_id":"x"}"#)))
            .unwrap();
        r.poll(start + Duration::from_secs(1));
        assert_eq!(r.delivered().as_slice(), &[(1, Ok(202))]);
    }

    #[test]
    fn a_post_that_may_have_been_processed_is_not_retried() {
        let mut r = Rig::default();
        let now = Instant::now();
        r.enqueue(1, EndpointClass::Deploy, false);
        r.enqueue(2, EndpointClass::Status, true);
        r.send(now);
        r.wire.answer_all(503);
        r.poll(now);
        let got = r.delivered();
        assert_eq!(got.len(), 1, "only the deploy resolves; the GET is retried");
        assert_eq!(got[0].0, 1);
        assert_eq!(r.t.counters.retries, 1);
    }

    #[test]
    fn despawned_owner_cancels_without_delivery() {
        let mut r = Rig::default();
        let now = Instant::now();
        r.enqueue(1, EndpointClass::Status, true);
        r.enqueue(2, EndpointClass::Status, true);
        r.dispatch(&RateLimits::none(), 1, now, Some(now));
        let (gone, queued_gone) = (1, 2);
        r.wire.senders[0]
            .send(Ok(HttpResponse::new(200, "{}")))
            .unwrap();
        deliver_all(r.t.poll(now, |e| e != gone && e != queued_gone));
        assert!(r.delivered().is_empty());
        assert_eq!(r.t.counters.cancelled, 2);
        assert!(r.t.is_idle());
    }

    #[test]
    fn a_timed_out_attempt_is_retried_until_the_budget_ends() {
        let mut r = Rig::default();
        let start = Instant::now();
        let mut j = job(1, EndpointClass::Status, true, &r.sink);
        j.attempt_timeout = Some(Duration::from_secs(1));
        j.budget = Duration::from_millis(2500);
        j.retry = RetryPolicy {
            jitter: 0.0,
            initial_backoff: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        r.t.enqueue(j);
        let at = |ms: u64| start + Duration::from_millis(ms);
        r.send(at(0));
        r.poll(at(999));
        assert_eq!(r.t.counters.retries, 0);
        // The first attempt times out at 1 s: retried after 100 ms.
        r.poll(at(1000));
        assert_eq!(r.t.counters.retries, 1);
        r.poll(at(1100));
        r.send(at(1100));
        assert_eq!(r.wire.senders.len(), 2);
        // The second times out at 2.1 s; a retry at 2.3 s still fits the 2.5 s budget.
        r.poll(at(2100));
        r.poll(at(2300));
        r.send(at(2300));
        assert_eq!(r.wire.senders.len(), 3);
        assert!(r.delivered().is_empty());
        // The third attempt is cut by the budget, not its own timeout: the call ends.
        r.poll(at(2500));
        assert_eq!(r.delivered().as_slice(), &[(1, Err(EdgegapError::Timeout))]);
        assert!(r.t.is_idle());
    }

    #[test]
    fn huge_budgets_and_retry_after_never_overflow() {
        let mut r = Rig::default();
        let now = Instant::now();
        let mut j = job(1, EndpointClass::Status, true, &r.sink);
        j.attempt_timeout = Some(Duration::MAX);
        j.budget = Duration::MAX;
        j.retry.max_backoff = Duration::MAX;
        r.t.enqueue(j);
        r.send(now);
        r.wire.senders[0]
            .send(Ok(
                HttpResponse::new(429, "{}").with_header("Retry-After", "18446744073709551615")
            ))
            .unwrap();
        // The attempt's end cannot be represented and `Retry-After` is clamped where it is
        // parsed (`MAX_RETRY_AFTER`): no panic, nothing resolved early, and the retry goes out
        // once the clamped delay is over instead of never.
        r.poll(now);
        assert!(r.delivered().is_empty());
        let later = now + crate::api::MAX_RETRY_AFTER + Duration::from_secs(1);
        r.poll(later);
        r.send(later);
        assert_eq!(r.wire.senders.len(), 2, "the retry went out");
    }

    /// A request on the wire that follows orphans is kept to its answer after its owner is
    /// gone, and handed back for that owner; one that does not is cancelled. Neither is sent
    /// again: a follower's retry waits in backoff, where a gone owner cancels it.
    #[test]
    fn a_job_that_follows_orphans_is_kept_to_its_answer() {
        let mut r = Rig::default();
        let now = Instant::now();
        let mut deploy = job(1, EndpointClass::Deploy, false, &r.sink);
        deploy.follow_orphan = true;
        r.t.enqueue(deploy);
        r.enqueue(2, EndpointClass::Status, true);
        let mut follower = job(3, EndpointClass::Status, true, &r.sink);
        follower.follow_orphan = true;
        r.t.enqueue(follower);
        r.send(now);
        assert_eq!(r.t.in_flight(), 3);
        // Every owner is gone before any answer.
        deliver_all(r.t.poll(now, |_| false));
        assert_eq!(
            r.t.counters.cancelled, 1,
            "only the one that does not follow"
        );
        assert_eq!(r.t.in_flight(), 2);
        r.wire.senders[0]
            .send(Ok(HttpResponse::new(202, r#"{"request_id":"x"}"#)))
            .unwrap();
        r.wire.senders[2]
            .send(Ok(HttpResponse::new(503, "{}")))
            .unwrap();
        deliver_all(r.t.poll(now, |_| false));
        assert_eq!(r.delivered().as_slice(), &[(1, Ok(202))]);
        // The follower's 503 went to backoff; its gone owner cancels it there.
        assert_eq!(r.t.counters.retries, 1);
        deliver_all(r.t.poll(now + Duration::from_secs(30), |_| false));
        assert_eq!(r.t.counters.cancelled, 2);
        assert!(r.t.is_idle());
        assert_eq!(r.wire.senders.len(), 3, "nothing was sent again");
    }

    /// A queued job whose owner is gone is dropped, unsent, when its turn comes, and takes no
    /// place in the rate budget.
    #[test]
    fn a_queued_job_whose_owner_is_gone_is_never_sent() {
        let mut r = Rig::default();
        let limits = RateLimits::none().with(EndpointClass::Status, Some(1));
        let t0 = Instant::now();
        for i in 1..=3 {
            r.enqueue(i, EndpointClass::Status, true);
        }
        r.dispatch(&limits, 8, t0, Some(t0));
        assert_eq!((r.t.in_flight(), r.t.queued()), (1, 2));
        let later = t0 + Duration::from_secs(1);
        r.t.dispatch_with(
            &limits,
            8,
            later,
            |owner| owner != 2,
            |_, _, a| r.wire.send(a, later),
        );
        assert_eq!(
            r.wire.senders.len(),
            2,
            "the third went out in the second's place"
        );
        assert_eq!((r.t.in_flight(), r.t.queued()), (2, 0));
        assert_eq!(r.t.counters.cancelled, 1);
        r.wire.answer_all(200);
        r.poll(later);
        assert_eq!(r.sink.owners(), vec![1, 3]);
        assert!(r.t.is_idle());
    }

    /// Each attempt has its own token: the late answer of an attempt that timed out is not
    /// taken for the retry's.
    #[test]
    fn a_late_answer_is_never_taken_for_the_retrys() {
        let mut r = Rig::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut j = job(1, EndpointClass::Status, true, &r.sink);
        j.attempt_timeout = Some(Duration::from_secs(1));
        j.retry = RetryPolicy {
            jitter: 0.0,
            initial_backoff: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        r.t.enqueue(j);
        r.send(at(0));
        r.poll(at(1000));
        assert_eq!(r.t.counters.retries, 1, "the first attempt timed out");
        r.poll(at(1100));
        r.send(at(1100));
        assert_eq!(r.wire.senders.len(), 2);
        // The first attempt's answer comes late, a 500: it is discarded.
        r.wire.senders[0]
            .send(Ok(HttpResponse::new(500, "{}")))
            .unwrap();
        r.poll(at(1200));
        assert!(r.delivered().is_empty());
        assert_eq!(r.t.in_flight(), 1);
        r.wire.senders[1]
            .send(Ok(HttpResponse::new(200, "{}")))
            .unwrap();
        r.poll(at(1300));
        assert_eq!(r.delivered().as_slice(), &[(1, Ok(200))]);
    }

    /// The wake hook is called once per batch of answers until the next poll, and a late
    /// answer to a request given up on (which calls it while nothing is in flight) never
    /// swallows the wake of the requests dispatched after it.
    #[test]
    fn answers_call_the_wake_once_per_batch_and_a_late_one_swallows_no_wake() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&calls);
        let hook: WakeFn = Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let called = || calls.load(Ordering::SeqCst);
        let mut r = Rig::default();
        r.t.use_wake(Some(&hook));
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Hands the queue over at `now`, every request started at once, and returns the
        // answer lines as the engine's workers hold them.
        let dispatch = |t: &mut Transport<u32, Probe>, now: Instant| {
            let mut replies = Vec::new();
            t.dispatch_with(
                &RateLimits::none(),
                8,
                now,
                |_| true,
                |_, _, reply| {
                    reply.ticket.start(now);
                    replies.push(reply);
                },
            );
            replies
        };
        let ok = || Ok(HttpResponse::new(200, "{}"));

        // Two answers before the caller looks: one call.
        r.enqueue(1, EndpointClass::Status, true);
        r.enqueue(2, EndpointClass::Status, true);
        for reply in dispatch(&mut r.t, at(0)) {
            reply.answer(ok());
        }
        assert_eq!(called(), 1, "one call for the batch");
        r.poll(at(1));
        assert_eq!(r.delivered().len(), 2);

        // A request times out; its late answer arrives while nothing is in flight.
        let mut late = job(3, EndpointClass::Status, true, &r.sink);
        late.budget = Duration::from_millis(100);
        r.t.enqueue(late);
        let late = dispatch(&mut r.t, at(2));
        r.poll(at(200));
        assert!(r.t.is_idle());
        for reply in late {
            reply.answer(ok());
        }
        assert_eq!(
            called(),
            2,
            "the late answer calls it (the caller finds nothing)"
        );

        // The next request's answer wakes the caller again.
        r.enqueue(4, EndpointClass::Status, true);
        for reply in dispatch(&mut r.t, at(300)) {
            reply.answer(ok());
        }
        assert_eq!(called(), 3, "the late answer swallowed no wake");
        r.poll(at(301));
        assert_eq!(r.sink.owners(), vec![1, 2, 3, 4]);

        // A call resolved without sending calls it too; without a hook nothing does.
        r.t.resolve_now(5, Probe(r.sink.clone()), EdgegapError::Timeout);
        assert_eq!(called(), 4);
        r.t.use_wake(None);
        r.poll(at(302));
        r.t.resolve_now(6, Probe(r.sink.clone()), EdgegapError::Timeout);
        assert_eq!(called(), 4);
    }
}
