//! The gateway's status view: one upstream status read per deployment per interval, however
//! many clients ask (coalescing), and wake-ups for the requests held by long-poll.
//!
//! Each deployment someone asked about has an [`Entry`]: the latest [`Snapshot`] (Edgegap's
//! answer and when the read started) in a `watch` channel, and a lock that lets one read at a
//! time go upstream. A reader that finds a snapshot fresh enough is answered from it; otherwise
//! it takes the lock, looks again (another reader may have just read), and only then reads.
//! Every new snapshot is sent on the channel, which wakes the held requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bevy_edgegap::api::{DeploymentStatus, EdgegapError, GetStatus, HttpResponse};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::upstream::Upstream;

/// How long an entry nobody asked about is kept.
const IDLE_EXPIRY: Duration = Duration::from_secs(120);

/// One upstream status read: Edgegap's answer, and when the read was sent.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) result: Result<(DeploymentStatus, HttpResponse), EdgegapError>,
    pub(crate) at: Instant,
}

type Latest = Option<Arc<Snapshot>>;

/// One deployment in the view.
#[derive(Debug)]
pub(crate) struct Entry {
    latest: watch::Sender<Latest>,
    /// Snapshots from reads sent before this are not used (set after a stop).
    not_before: Mutex<Instant>,
    /// One upstream read at a time.
    fetch: tokio::sync::Mutex<()>,
}

impl Entry {
    fn new(now: Instant) -> Self {
        Self {
            latest: watch::channel(None).0,
            not_before: Mutex::new(now),
            fetch: tokio::sync::Mutex::new(()),
        }
    }

    fn not_before(&self) -> MutexGuard<'_, Instant> {
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
            .filter(|s| s.at >= fresh_after && s.at >= not_before)
            .cloned()
    }

    /// Whether `snapshot` is still the latest, usable one (no newer read, no invalidation).
    pub(crate) fn is_current(&self, snapshot: &Arc<Snapshot>) -> bool {
        let not_before = *self.not_before();
        snapshot.at >= not_before
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
}

/// Every deployment the gateway was asked about lately.
pub(crate) struct StatusView {
    entries: Mutex<(HashMap<String, Arc<Entry>>, u64)>,
    interval: Duration,
}

impl StatusView {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            entries: Mutex::new((HashMap::new(), 0)),
            interval,
        }
    }

    /// How old a snapshot may be for an ordinary read.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
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
                .or_insert_with(|| Arc::new(Entry::new(now))),
        )
    }

    /// The entry of `id` if someone asked about it lately.
    pub(crate) fn existing(&self, id: &str) -> Option<Arc<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0
            .get(id)
            .cloned()
    }

    /// A snapshot of `id` no older than the interval: from the view, or one upstream read
    /// shared by everyone asking at the same time.
    pub(crate) async fn read(
        &self,
        upstream: &Upstream,
        id: &str,
    ) -> Result<Arc<Snapshot>, ApiError> {
        let entry = self.entry(id);
        let fresh_after = Instant::now()
            .checked_sub(self.interval)
            .unwrap_or_else(Instant::now);
        read_entry(upstream, id, &entry, fresh_after).await
    }

    /// Forgets what is known of `id` (after a stop), so the next read goes upstream.
    pub(crate) fn invalidate(&self, id: &str) {
        if let Some(entry) = self.existing(id) {
            *entry.not_before() = Instant::now();
            entry.latest.send_modify(|_| {});
        }
    }
}

/// A snapshot of `entry` whose read was sent at or after `fresh_after`, reading upstream at
/// most once however many callers ask at once. A budget refusal is returned, not kept.
pub(crate) async fn read_entry(
    upstream: &Upstream,
    id: &str,
    entry: &Entry,
    fresh_after: Instant,
) -> Result<Arc<Snapshot>, ApiError> {
    if let Some(snapshot) = entry.fresh(fresh_after) {
        return Ok(snapshot);
    }
    let _one_at_a_time = entry.fetch.lock().await;
    if let Some(snapshot) = entry.fresh(fresh_after) {
        return Ok(snapshot);
    }
    let at = Instant::now();
    let result = upstream.call(&GetStatus::new(id)).await?;
    let snapshot = Arc::new(Snapshot { result, at });
    entry.latest.send_replace(Some(Arc::clone(&snapshot)));
    Ok(snapshot)
}
