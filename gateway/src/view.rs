//! The gateway's status view: one upstream status read per deployment per interval, however
//! many clients ask (coalescing), and wake-ups for the requests held by long-poll — shared by
//! every gateway using the same [`Store`].
//!
//! Each deployment someone asked about here has an [`Entry`]: the latest [`Snapshot`]
//! (Edgegap's answer and when the read was sent) in a `watch` channel, and a lock that lets one
//! task at a time look further. A reader that finds a snapshot fresh enough is answered from
//! it; otherwise it takes the lock, looks again, then asks the store ([`Store::claim_read`]):
//! another gateway's record fresh enough is used as is; otherwise this gateway takes the
//! deployment's read lock and reads upstream, or waits for the gateway that holds it. Every
//! record put in the store reaches every gateway as a [`ViewEvent`], which refreshes its
//! entry and wakes its held requests; so do stops and webhooks.
//!
//! With the in-memory store, all of this stays in the process. When the shared store cannot
//! answer, the gateway falls back to its own view: a snapshot it holds is used while fresh,
//! and a read it needs goes upstream through the budget (which lives in the store too, so
//! clients get 503 with `Retry-After` rather than a status older than the interval).
//!
//! A read made for a player's request is charged to that player's read budget
//! ([`Upstream::charge_player`]) by the task that sends it, so requests served from the view or
//! from another's read cost nothing. A time from the store is believed up to the allowed clock
//! skew ahead of this gateway's clock, and counts as now at most: a record dated later is not
//! used. Webhook confirmations are coalesced per deployment: three at once, then one per
//! interval, the latest arrival kept for the next one.

mod listed;
pub(crate) mod pages;
mod sweep;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bevy_edgegap::api::{
    DeploymentStatus, EdgegapError, Endpoint, GetStatus, HttpResponse, Status,
};
use tokio::sync::watch;

use crate::error::UpstreamError;
use crate::store::{ReadClaim, StatusRecord, Store, ViewEvent};
use crate::upstream::Upstream;
use sweep::{Observed, Order, Sweeper};

/// How long an entry nobody asked about is kept (also how long the store keeps records).
const IDLE_EXPIRY: Duration = Duration::from_secs(120);
/// How long the store keeps a deployment's status record, and the invalidation a stop leaves
/// (as long: a record from before a stop never outlives it). Longer than [`IDLE_EXPIRY`]: a
/// replica asked about a deployment nobody asked about for minutes (a stop, a quota check)
/// learns whose it is from the record instead of reading upstream again.
const RECORD_KEEP: Duration = Duration::from_secs(600);
/// While another gateway reads, how often the store is asked again (its record's event
/// usually arrives first).
const BUSY_POLL: Duration = Duration::from_millis(50);
/// Webhook confirmations of one deployment made at once before they are spaced out (one per
/// interval): a deployment's own webhooks (ready, error, terminated) never wait.
const CONFIRM_BURST: f64 = 3.0;

/// One upstream read of a status: Edgegap's answer (from a status read, or made from the list
/// by `view/listed.rs`), and when the read was sent.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) result: Result<(DeploymentStatus, HttpResponse), EdgegapError>,
    pub(crate) at: Instant,
    /// Since when its `current_status` is known: `at`, unless the list only said "not READY
    /// yet" and the status was kept from an earlier read.
    pub(crate) known_since: Instant,
    /// Whether Edgegap said this exact status (a status read, or READY in the list); `false`
    /// for a status the list only did not contradict.
    pub(crate) exact: bool,
}

impl Snapshot {
    /// A status read (or another gateway's) sent at `at`.
    fn read(result: Result<(DeploymentStatus, HttpResponse), EdgegapError>, at: Instant) -> Self {
        Self {
            result,
            at,
            known_since: at,
            exact: true,
        }
    }

    /// Its `current_status`, when it is a status.
    pub(crate) fn status(&self) -> Option<&Status> {
        self.result.as_ref().ok().map(|(s, _)| &s.current_status)
    }
}

type Latest = Option<Arc<Snapshot>>;

/// One deployment in the view.
#[derive(Debug)]
pub(crate) struct Entry {
    latest: watch::Sender<Latest>,
    /// Snapshots from reads sent before this are not used (set after a stop).
    not_before: Mutex<Option<Instant>>,
    /// One task at a time looks beyond the latest snapshot.
    fetch: tokio::sync::Mutex<()>,
    /// Webhook confirmations: one confirming task at a time, spaced out.
    confirming: Mutex<Confirming>,
    /// Proven READY webhooks believed (`service/webhook.rs`), spaced out as confirmations.
    beliefs: Mutex<Bucket>,
    /// The last stop this gateway sent for the deployment; held while one is sent, so one
    /// stop per deployment is in flight (`service/stop.rs`).
    stops: tokio::sync::Mutex<Option<LastStop>>,
    /// The page of the list it was last seen on (`view/sweep.rs`).
    page: Mutex<Option<(Order, u32)>>,
    /// When the latest webhook about it arrived (the READY notification latency).
    webhook_at: Mutex<Option<Instant>>,
    /// Whether this gateway answered a player READY already (the latency is counted once).
    ready_told: AtomicBool,
}

/// The last upstream stop of a deployment: Edgegap's answer, and when it came.
#[derive(Debug, Clone)]
pub(crate) struct LastStop {
    pub(crate) answered_at: Instant,
    pub(crate) answer: Result<HttpResponse, EdgegapError>,
}

/// What the confirming task of a deployment does next ([`Entry::next_confirmation`]).
#[derive(Debug, PartialEq)]
pub(crate) enum Confirmation {
    /// Read a status sent at or after this (the latest webhook's arrival).
    Read(Instant),
    /// Out of confirmations for now: look again after this.
    Wait(Duration),
    /// Nothing to confirm: the task ends.
    Done,
}

#[derive(Debug)]
struct Confirming {
    /// The latest webhook not confirmed yet.
    pending: Option<Instant>,
    /// Whether a confirming task runs.
    running: bool,
    /// Confirmations available now.
    bucket: Bucket,
}

/// Webhooks of one deployment handled now: [`CONFIRM_BURST`] at once, one more per interval.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn new() -> Self {
        Self {
            tokens: CONFIRM_BURST,
            refilled: Instant::now(),
        }
    }

    /// Refilled for the time since the last look: one per `every`.
    fn refill(&mut self, every: Duration) {
        let now = Instant::now();
        let earned = now.duration_since(self.refilled).as_secs_f64() / every.as_secs_f64();
        self.tokens = (self.tokens + earned).min(CONFIRM_BURST);
        self.refilled = now;
    }

    /// Takes one if there is one.
    fn take(&mut self) -> bool {
        let available = self.tokens >= 1.0;
        if available {
            self.tokens -= 1.0;
        }
        available
    }
}

impl Entry {
    fn new() -> Self {
        Self {
            latest: watch::channel(None).0,
            not_before: Mutex::new(None),
            fetch: tokio::sync::Mutex::new(()),
            confirming: Mutex::new(Confirming {
                pending: None,
                running: false,
                bucket: Bucket::new(),
            }),
            beliefs: Mutex::new(Bucket::new()),
            stops: tokio::sync::Mutex::new(None),
            page: Mutex::new(None),
            webhook_at: Mutex::new(None),
            ready_told: AtomicBool::new(false),
        }
    }

    fn set_page(&self, order: Order, page: u32) {
        *self.page.lock().unwrap_or_else(PoisonError::into_inner) = Some((order, page));
    }

    fn page(&self) -> Option<(Order, u32)> {
        *self.page.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the latest webhook about it arrived at this gateway, if one did.
    fn webhook_at(&self) -> Option<Instant> {
        *self
            .webhook_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the list may say its status: not known to be over (stopping, stopped, failed,
    /// unknown to Edgegap).
    fn listable(&self) -> bool {
        match self.latest.borrow().as_deref().map(|s| &s.result) {
            None => true,
            Some(Ok((status, _))) => !matches!(
                status.current_status,
                Status::Terminating | Status::Terminated | Status::Error
            ),
            Some(Err(error)) => !error.is_not_found(),
        }
    }

    /// The last stop sent, locked: one stop per deployment at a time.
    pub(crate) async fn stops(&self) -> tokio::sync::MutexGuard<'_, Option<LastStop>> {
        self.stops.lock().await
    }

    /// A webhook about this deployment arrived at `at`. `true`: no confirming task runs, the
    /// caller starts one ([`Entry::next_confirmation`] tells it what to do).
    pub(crate) fn confirm(&self, at: Instant) -> bool {
        let mut confirming = self
            .confirming
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        confirming.pending = Some(confirming.pending.map_or(at, |p| p.max(at)));
        let mut webhook_at = self
            .webhook_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *webhook_at = Some(webhook_at.map_or(at, |w| w.max(at)));
        !std::mem::replace(&mut confirming.running, true)
    }

    /// Whether a proven READY webhook may be believed now: three at once, then one per
    /// `every` (a flood of them, should a proof leak, costs the store little).
    pub(crate) fn take_belief(&self, every: Duration) -> bool {
        let mut beliefs = self.beliefs.lock().unwrap_or_else(PoisonError::into_inner);
        beliefs.refill(every.max(Duration::from_millis(1)));
        beliefs.take()
    }

    /// What the confirming task does next; `every`: one confirmation per this, after the burst.
    pub(crate) fn next_confirmation(&self, every: Duration) -> Confirmation {
        let every = every.max(Duration::from_millis(1));
        let mut confirming = self
            .confirming
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        confirming.bucket.refill(every);
        if confirming.pending.is_none() || !self.has_waiters() {
            confirming.pending = None;
            confirming.running = false;
            return Confirmation::Done;
        }
        if !confirming.bucket.take() {
            return Confirmation::Wait(every.mul_f64(1.0 - confirming.bucket.tokens));
        }
        confirming
            .pending
            .take()
            .map_or(Confirmation::Done, Confirmation::Read)
    }

    fn not_before(&self) -> MutexGuard<'_, Option<Instant>> {
        self.not_before
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The latest snapshot if its read was sent at or after `fresh_after` (and after the last
    /// invalidation).
    fn fresh(&self, fresh_after: Instant) -> Option<Arc<Snapshot>> {
        let not_before = *self.not_before();
        self.latest
            .borrow()
            .as_ref()
            .filter(|s| s.at >= fresh_after && not_before.is_none_or(|nb| s.at >= nb))
            .cloned()
    }

    /// Whether `snapshot` is still the latest, usable one (no newer read, no invalidation).
    pub(crate) fn is_current(&self, snapshot: &Arc<Snapshot>) -> bool {
        let not_before = *self.not_before();
        not_before.is_none_or(|nb| snapshot.at >= nb)
            && self
                .latest
                .borrow()
                .as_ref()
                .is_some_and(|latest| Arc::ptr_eq(latest, snapshot))
    }

    /// A receiver woken by every new snapshot or invalidation.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Latest> {
        self.latest.subscribe()
    }

    /// Whether a request is looking at this entry right now (held ones included).
    pub(crate) fn has_waiters(&self) -> bool {
        self.latest.receiver_count() > 0
    }

    /// Makes `snapshot` the latest if it is newer and not from before an invalidation (which
    /// wakes the held requests).
    fn offer(&self, snapshot: &Arc<Snapshot>) {
        self.offer_quietly(snapshot, false);
    }

    /// [`Entry::offer`]; `quiet`: the held requests are not woken (the status did not
    /// change), though they find the newer snapshot when they look.
    fn offer_quietly(&self, snapshot: &Arc<Snapshot>, quiet: bool) {
        if self.not_before().is_some_and(|nb| snapshot.at < nb) {
            return;
        }
        self.latest.send_if_modified(|latest| {
            let newer = latest.as_ref().is_none_or(|l| l.at < snapshot.at);
            if newer {
                *latest = Some(Arc::clone(snapshot));
            }
            newer && !quiet
        });
    }

    /// Snapshots from reads sent before `at` are out of date; wakes the held requests if that
    /// changes anything.
    fn invalidate(&self, at: Instant) {
        let mut not_before = self.not_before();
        if not_before.is_none_or(|nb| at > nb) {
            *not_before = Some(at);
            drop(not_before);
            self.latest.send_modify(|_| {});
        }
    }
}

/// Converts instants to microseconds since the Unix epoch and back through one fixed pair, so
/// a read made here converts back to exactly its instant.
#[derive(Debug)]
struct Clock {
    base: Instant,
    base_us: i128,
}

impl Clock {
    fn new() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            base: Instant::now(),
            base_us: i128::try_from(since_epoch.as_micros()).unwrap_or(0),
        }
    }

    fn nanos(&self, at: Instant) -> i128 {
        match at.checked_duration_since(self.base) {
            Some(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX / 2),
            None => -i128::try_from((self.base - at).as_nanos()).unwrap_or(i128::MAX / 2),
        }
    }

    fn to_u64(us: i128) -> u64 {
        u64::try_from(us.max(0)).unwrap_or(u64::MAX)
    }

    /// `at` in µs, rounded down.
    fn floor_us(&self, at: Instant) -> u64 {
        Self::to_u64(self.base_us + self.nanos(at).div_euclid(1000))
    }

    /// `at` in µs, rounded up.
    fn ceil_us(&self, at: Instant) -> u64 {
        Self::to_u64(self.base_us + (self.nanos(at) + 999).div_euclid(1000))
    }

    /// The instant of `us`.
    fn instant(&self, us: u64) -> Instant {
        let delta = i128::from(us) - self.base_us;
        let magnitude = Duration::from_micros(u64::try_from(delta.unsigned_abs()).unwrap_or(0));
        if delta >= 0 {
            self.base + magnitude
        } else {
            self.base.checked_sub(magnitude).unwrap_or(self.base)
        }
    }
}

/// Every deployment this gateway was asked about lately, and the shared store behind.
pub(crate) struct StatusView {
    entries: Mutex<(HashMap<String, Arc<Entry>>, u64)>,
    /// Bulk reads through the list (`[status] list_reads`).
    sweeper: Option<Arc<Sweeper>>,
    interval: Duration,
    hold_interval: Duration,
    store: Arc<dyn Store>,
    /// How long a read lock is held at most (budget wait + upstream timeout).
    lock_for: Duration,
    /// How far ahead of this clock a time from the store is believed.
    skew: Duration,
    clock: Clock,
}

/// Releases a shared read lock unless a record released it.
struct ReadLock {
    store: Option<Arc<dyn Store>>,
    id: String,
}

impl Drop for ReadLock {
    fn drop(&mut self) {
        if let Some(store) = self.store.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let id = std::mem::take(&mut self.id);
            runtime.spawn(async move {
                if let Err(error) = store.release_read(&id).await {
                    tracing::debug!("releasing the read lock of `{id}`: {error}");
                }
            });
        }
    }
}

/// Decodes an upstream status answer, keeping the raw answer of a success.
fn decode(
    id: &str,
    answer: Result<HttpResponse, EdgegapError>,
) -> Result<(DeploymentStatus, HttpResponse), EdgegapError> {
    answer.and_then(|response| {
        GetStatus::new(id)
            .decode(&response)
            .map(|status| (status, response))
    })
}

impl StatusView {
    /// `interval`: how old an answered status may be; `hold_interval`: how often a held
    /// request re-reads when nothing wakes it.
    /// `skew`: how far ahead of this gateway's clock a time from the store is believed.
    /// `list_reads`: statuses are read through the list, a status on the way to READY kept
    /// this long without a status read (`None`: one status read per deployment each time).
    pub(crate) fn new(
        interval: Duration,
        hold_interval: Duration,
        store: Arc<dyn Store>,
        lock_for: Duration,
        skew: Duration,
        list_reads: Option<Duration>,
    ) -> Self {
        Self {
            entries: Mutex::new((HashMap::new(), 0)),
            sweeper: list_reads.map(|stale| Arc::new(Sweeper::new(interval, stale))),
            interval,
            hold_interval: hold_interval.max(interval),
            store,
            lock_for,
            skew,
            clock: Clock::new(),
        }
    }

    /// How old a snapshot may be for an ordinary read.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }

    /// How often a held request re-reads when no event wakes it.
    pub(crate) fn hold_interval(&self) -> Duration {
        self.hold_interval
    }

    /// The entry of `id`, created if needed. Entries idle for long and held by nobody are
    /// dropped now and then, so memory follows activity.
    pub(crate) fn entry(&self, id: &str) -> Arc<Entry> {
        let now = Instant::now();
        let mut guard = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (entries, operations) = &mut *guard;
        *operations = operations.wrapping_add(1);
        if operations.is_multiple_of(1024) {
            entries.retain(|_, entry| {
                let recent = entry
                    .latest
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| now.duration_since(s.at) < IDLE_EXPIRY);
                recent || Arc::strong_count(entry) > 1
            });
        }
        Arc::clone(
            entries
                .entry(id.to_owned())
                .or_insert_with(|| Arc::new(Entry::new())),
        )
    }

    /// The entry of `id` if someone asked about it here lately.
    fn existing(&self, id: &str) -> Option<Arc<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0
            .get(id)
            .cloned()
    }

    /// The snapshot of `id` in this view if it is no older than the interval: nothing is read
    /// and no entry is made.
    pub(crate) fn fresh(&self, id: &str) -> Option<Arc<Snapshot>> {
        self.existing(id)?.fresh(self.fresh_after())
    }

    /// Deployments in this view asked about within [`IDLE_EXPIRY`] and not known to be over
    /// (`GET /metrics`).
    pub(crate) fn live(&self) -> usize {
        let now = Instant::now();
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .0
            .values()
            .filter(|entry| {
                let latest = entry.latest.borrow();
                latest
                    .as_ref()
                    .is_some_and(|s| now.duration_since(s.at) < IDLE_EXPIRY)
                    && entry.listable()
            })
            .count()
    }

    /// A player is answered `snapshot` of `entry` now: when it is the first READY this
    /// gateway answers for it, how long since the first sign of READY here (the latest
    /// webhook, when it came at most the longest call before the read that showed READY, else
    /// that read).
    pub(crate) fn ready_told(&self, entry: &Entry, snapshot: &Snapshot) -> Option<Duration> {
        if !snapshot.status().is_some_and(Status::is_ready)
            || entry.ready_told.swap(true, Ordering::Relaxed)
        {
            return None;
        }
        let read = snapshot.at;
        let sign = entry
            .webhook_at()
            .filter(|w| *w <= read && read.duration_since(*w) <= self.lock_for)
            .unwrap_or(read);
        Some(sign.elapsed())
    }

    /// Reads sent at or after this are no older than the interval.
    fn fresh_after(&self) -> Instant {
        let now = Instant::now();
        now.checked_sub(self.interval).unwrap_or(now)
    }

    /// A snapshot of `id` no older than the interval; an upstream read it needs is charged to
    /// `payer` (an owner tag).
    pub(crate) async fn read(
        &self,
        upstream: &Upstream,
        id: &str,
        payer: Option<&str>,
    ) -> Result<Arc<Snapshot>, UpstreamError> {
        let entry = self.entry(id);
        self.read_entry(upstream, id, &entry, self.fresh_after(), payer, false)
            .await
    }

    /// The latest snapshot of `id` of any age (since its last invalidation), from this view or
    /// the store, else one read now: what a stop needs to know whose the deployment is and
    /// whether it is already stopping. The owner tag never changes; an older status only
    /// means the stop is sent to Edgegap, which answers it.
    pub(crate) async fn known(
        &self,
        upstream: &Upstream,
        id: &str,
        payer: Option<&str>,
    ) -> Result<Arc<Snapshot>, UpstreamError> {
        let entry = self.entry(id);
        let any_age = self.clock.instant(0);
        let status = |s: &Arc<Snapshot>| s.result.is_ok();
        if let Some(snapshot) = entry.fresh(any_age).filter(status) {
            return Ok(snapshot);
        }
        // Another gateway's record, of any age (since the last invalidation).
        match self.store.claim_read(id, 0, self.lock_for).await {
            Ok(ReadClaim::Fresh(record)) => {
                if let Some(snapshot) = self.snapshot_of(id, record).filter(status) {
                    entry.offer(&snapshot);
                    return Ok(entry.fresh(any_age).filter(status).unwrap_or(snapshot));
                }
            }
            // Nothing known anywhere: one status read (the list would be walked from its
            // newest page for a deployment that may be far down it), shared as any.
            Ok(ReadClaim::Read) => {
                return self.read_upstream(upstream, id, &entry, true, payer).await;
            }
            Ok(ReadClaim::Busy) | Err(_) => {}
        }
        // Another gateway reads it, or no store: a read, as for a status.
        self.read_entry(upstream, id, &entry, self.fresh_after(), payer, false)
            .await
    }

    /// This gateway deployed `id` now (bulk reads learn where new deployments are listed).
    pub(crate) fn deployed(&self, id: &str) {
        if let Some(sweeper) = &self.sweeper {
            sweeper.deployed(id);
        }
    }

    /// The snapshot of a record from the store, dated no later than now; `None` for a record
    /// dated beyond the allowed skew (a clock far ahead, or a forgery), which is not used.
    fn snapshot_of(&self, id: &str, record: StatusRecord) -> Option<Arc<Snapshot>> {
        let now = Instant::now();
        let at = self.clock.instant(record.read_at_us);
        if at > now + self.skew {
            tracing::warn!(
                "a status record of `{id}` from the shared store is dated {:?} ahead; not used",
                at - now
            );
            return None;
        }
        Some(Arc::new(Snapshot::read(
            decode(id, Ok(record.response)),
            at.min(now),
        )))
    }

    /// A snapshot of `entry` whose read was sent at or after `fresh_after`: from this view,
    /// from the store (another gateway's read), from a page of the list (bulk reads: one read
    /// for many deployments, `view/sweep.rs`), or from one upstream status read, however many
    /// callers, here or on other gateways, ask at once; that read is charged to `payer` (an
    /// owner tag). A budget refusal is returned, not kept. `confirm`: a webhook's confirmation,
    /// which only a status Edgegap said exactly, or another status than the one known, answers
    /// (the list cannot say ERROR).
    pub(crate) async fn read_entry(
        &self,
        upstream: &Upstream,
        id: &str,
        entry: &Entry,
        fresh_after: Instant,
        payer: Option<&str>,
        confirm: bool,
    ) -> Result<Arc<Snapshot>, UpstreamError> {
        let since = if confirm {
            entry
                .latest
                .borrow()
                .as_ref()
                .and_then(|s| s.status().cloned())
        } else {
            None
        };
        let answers = |snapshot: &Arc<Snapshot>| {
            !confirm || snapshot.exact || snapshot.status() != since.as_ref()
        };
        if let Some(snapshot) = entry.fresh(fresh_after).filter(answers) {
            return Ok(snapshot);
        }
        let _one_at_a_time = entry.fetch.lock().await;
        let mut changes = entry.subscribe();
        let mut listed = self.sweeper.is_some() && entry.listable();
        let mut payer = payer;
        loop {
            changes.borrow_and_update();
            if let Some(snapshot) = entry.fresh(fresh_after).filter(answers) {
                return Ok(snapshot);
            }
            let wanted = entry
                .not_before()
                .map_or(fresh_after, |nb| nb.max(fresh_after));
            let claim = self
                .store
                .claim_read(id, self.clock.ceil_us(wanted), self.lock_for)
                .await;
            let locked = match claim {
                Ok(ReadClaim::Fresh(record)) => {
                    let Some(snapshot) = self.snapshot_of(id, record) else {
                        return self.read_upstream(upstream, id, entry, false, payer).await;
                    };
                    entry.offer(&snapshot);
                    // Records are statuses Edgegap said exactly (a read, READY in the list).
                    return Ok(entry.fresh(fresh_after).filter(answers).unwrap_or(snapshot));
                }
                Ok(ReadClaim::Busy) => {
                    // Another gateway reads: its record's event wakes us.
                    let _ = tokio::time::timeout(BUSY_POLL, changes.changed()).await;
                    continue;
                }
                Ok(ReadClaim::Read) => true,
                Err(error) => {
                    tracing::debug!("{error}; reading `{id}` without the shared view");
                    false
                }
            };
            if !listed {
                return self.read_upstream(upstream, id, entry, locked, payer).await;
            }
            if locked && let Err(error) = self.store.release_read(id).await {
                tracing::debug!("releasing the read lock of `{id}`: {error}");
            }
            // One page read for many deployments, charged to the player like a status read.
            if let Some(owner) = payer.take() {
                upstream.charge_player(owner).await?;
            }
            match self
                .observe(id, entry, wanted, confirm, since.clone())
                .await
            {
                Observed::Listed => {}
                Observed::CannotSay | Observed::Unavailable => listed = false,
            }
        }
    }

    /// Waits for a page of the list sent at or after `after` to say the status of `id`
    /// (bounded by the longest an upstream call takes).
    async fn observe(
        &self,
        id: &str,
        entry: &Entry,
        after: Instant,
        urgent: bool,
        since: Option<Status>,
    ) -> Observed {
        let Some(sweeper) = &self.sweeper else {
            return Observed::Unavailable;
        };
        // A page read lately may list it already (it was not asked about here then).
        if let Some(observed) = self.listed_lately(id, entry, after, since.as_ref()) {
            return observed;
        }
        let observed = sweeper.demand(id, after, entry.page(), urgent, since);
        match tokio::time::timeout(self.lock_for, observed).await {
            Ok(Ok(observed)) => observed,
            _ => {
                sweeper.forget(id);
                Observed::Unavailable
            }
        }
    }

    /// One upstream read of `id` (holding its shared read lock when `locked`), charged to
    /// `payer`, shared through the store.
    async fn read_upstream(
        &self,
        upstream: &Upstream,
        id: &str,
        entry: &Entry,
        locked: bool,
        payer: Option<&str>,
    ) -> Result<Arc<Snapshot>, UpstreamError> {
        let mut lock = ReadLock {
            store: locked.then(|| Arc::clone(&self.store)),
            id: id.to_owned(),
        };
        if let Some(owner) = payer {
            upstream.charge_player(owner).await?;
        }
        // Dated when it was sent, after any wait for budget; a call that got no answer is
        // dated when it was asked for.
        let asked = Instant::now();
        // A call refused before it was sent (budget, store) is returned, not kept.
        let (answer, sent) = match upstream.call_stamped(&GetStatus::new(id)).await {
            Ok((response, sent)) => (Ok(response), sent),
            Err(UpstreamError::Edgegap(error)) => (Err(error), asked),
            Err(refused) => return Err(refused),
        };
        let read_at_us = self.clock.floor_us(sent);
        let at = self.clock.instant(read_at_us);
        let snapshot = Arc::new(Snapshot::read(decode(id, answer.clone()), at));
        entry.offer(&snapshot);
        if let (Ok(response), Some(store)) = (answer, lock.store.take()) {
            let record = StatusRecord {
                read_at_us,
                response,
            };
            if let Err(error) = store.put_record(id, record, RECORD_KEEP).await {
                tracing::debug!("sharing the status of `{id}`: {error}");
                lock.store = Some(store);
            }
        }
        Ok(snapshot)
    }

    /// Edgegap's proven READY webhook for `id` (`service/webhook.rs`; its `entry` here) arrived
    /// at `arrived`, carrying `status` (decoded from `response`): kept as a status read sent
    /// then, here and in the store, which wakes the requests held on it on every replica. Like a read's
    /// record, it is dropped where a newer read or a later stop is known.
    pub(crate) async fn believe(
        &self,
        id: &str,
        entry: &Entry,
        status: DeploymentStatus,
        response: HttpResponse,
        arrived: Instant,
    ) {
        let read_at_us = self.clock.floor_us(arrived);
        let at = self.clock.instant(read_at_us);
        let snapshot = Arc::new(Snapshot::read(Ok((status, response.clone())), at));
        entry.offer(&snapshot);
        let record = StatusRecord {
            read_at_us,
            response,
        };
        if let Err(error) = self.store.put_record(id, record, RECORD_KEEP).await {
            tracing::debug!("sharing the READY webhook of `{id}`: {error}");
        }
    }

    /// Forgets what is known of `id` (after a stop), here and on every gateway, so the next
    /// read goes upstream.
    pub(crate) async fn invalidate(&self, id: &str) {
        let now = Instant::now();
        if let Some(entry) = self.existing(id) {
            entry.invalidate(now);
        }
        let event = ViewEvent::Invalidated {
            id: id.to_owned(),
            at_us: self.clock.floor_us(now),
        };
        if let Err(error) = self.store.publish(event, RECORD_KEEP).await {
            tracing::warn!("the stop of `{id}` reaches the other replicas' views late: {error}");
        }
    }

    /// A webhook about `id` arrived now: every gateway holding requests on it confirms it with
    /// one read (one for all, through the read lock). Returns the confirming task this
    /// gateway must start when the store could not pass the event on.
    pub(crate) async fn webhook(&self, id: &str) -> Option<(String, Arc<Entry>)> {
        let now = Instant::now();
        let event = ViewEvent::Webhook {
            id: id.to_owned(),
            at_us: self.clock.floor_us(now),
        };
        match self.store.publish(event.clone(), IDLE_EXPIRY).await {
            Ok(()) => None,
            Err(error) => {
                tracing::warn!("a webhook reaches only this replica: {error}");
                self.apply(event)
            }
        }
    }

    /// Applies an event from the store. For a webhook about a deployment someone here waits
    /// on, when no confirming task runs for it, returns the one to start: `(id, entry)`
    /// ([`Entry::next_confirmation`]).
    pub(crate) fn apply(&self, event: ViewEvent) -> Option<(String, Arc<Entry>)> {
        match event {
            ViewEvent::Record { id, record } if Order::parse(&id).is_some() => {
                let at = self.clock.instant(record.read_at_us);
                if at > Instant::now() + self.skew {
                    tracing::warn!("a page record `{id}` from the shared store is dated ahead");
                } else {
                    let at = at.min(Instant::now());
                    let applied = self.apply_page(&id, at, record.read_at_us, &record.response);
                    self.share(applied.unwrap_or_default());
                }
                None
            }
            ViewEvent::Record { id, record } => {
                if let Some(entry) = self.existing(&id)
                    && let Some(snapshot) = self.snapshot_of(&id, record)
                {
                    entry.offer(&snapshot);
                }
                None
            }
            ViewEvent::Invalidated { id, at_us } => {
                if let Some(entry) = self.existing(&id) {
                    entry.invalidate(self.clock.instant(at_us).min(Instant::now()));
                }
                None
            }
            ViewEvent::Webhook { id, at_us } => {
                let entry = self.existing(&id).filter(|e| e.has_waiters())?;
                let after = self.clock.instant(at_us).min(Instant::now());
                entry.confirm(after).then_some((id, entry))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn a_record_from_the_store_is_dated_no_later_than_now_nor_believed_beyond_the_skew() {
        let skew = Duration::from_secs(2);
        let view = StatusView::new(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Arc::new(MemoryStore::new()),
            Duration::from_secs(5),
            skew,
            None,
        );
        let now = view.clock.floor_us(Instant::now());
        let record = |read_at_us| StatusRecord {
            read_at_us,
            response: HttpResponse::new(200, "{}"),
        };
        let ahead = view.snapshot_of("d", record(now + 1_000_000)).unwrap();
        assert!(
            ahead.at <= Instant::now(),
            "a record within the skew counts as now"
        );
        let past = view.snapshot_of("d", record(now - 1_000_000)).unwrap();
        assert!(past.at < ahead.at);
        assert!(view.snapshot_of("d", record(now + 60_000_000)).is_none());
    }

    #[test]
    fn webhook_confirmations_come_three_at_once_then_one_per_interval() {
        let entry = Entry::new();
        let every = Duration::from_secs(3600);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        // Nobody waits: nothing to confirm.
        assert!(entry.confirm(at(0)));
        assert_eq!(entry.next_confirmation(every), Confirmation::Done);
        let waiting = entry.subscribe();
        assert!(entry.confirm(at(1)));
        // A confirming task runs: later webhooks join it, the latest arrival is kept.
        assert!(!entry.confirm(at(3)));
        assert!(!entry.confirm(at(2)));
        assert_eq!(entry.next_confirmation(every), Confirmation::Read(at(3)));
        for ms in [4, 5] {
            assert!(!entry.confirm(at(ms)));
            assert_eq!(entry.next_confirmation(every), Confirmation::Read(at(ms)));
        }
        assert!(!entry.confirm(at(6)));
        assert!(matches!(
            entry.next_confirmation(every),
            Confirmation::Wait(wait) if wait > Duration::from_secs(3000) && wait <= every
        ));
        drop(waiting);
        assert_eq!(entry.next_confirmation(every), Confirmation::Done);
        // The task ended: the next webhook starts one again.
        assert!(entry.confirm(at(7)));
    }

    #[test]
    fn the_clock_converts_back_exactly_and_rounds_the_right_way() {
        let clock = Clock::new();
        let now = Instant::now();
        let us = clock.floor_us(now);
        let back = clock.instant(us);
        assert!(back <= now && now - back < Duration::from_micros(1));
        assert_eq!(clock.floor_us(back), us);
        assert_eq!(clock.ceil_us(back), us);
        assert_eq!(clock.ceil_us(back + Duration::from_nanos(1)), us + 1);
        let earlier = now - Duration::from_millis(5);
        assert!(clock.floor_us(earlier) < us);
        assert_eq!(clock.instant(clock.floor_us(earlier)), {
            let e = clock.instant(clock.floor_us(earlier));
            assert!(e <= earlier);
            e
        });
    }
}
