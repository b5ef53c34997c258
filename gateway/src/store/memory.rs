//! [`MemoryStore`]: the embedded [`Store`], for one gateway process (or several gateways in
//! one process sharing it).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bevy_edgegap::api::RequestId;

use super::contract::{
    Claim, ReadClaim, StatusRecord, Store, StoreFuture, ViewEvent, ViewListener,
};

#[derive(Debug)]
enum Idempotency {
    /// Claimed at this instant.
    Pending(Instant),
    Done(RequestId),
}

#[derive(Debug, Default)]
struct Live {
    ids: BTreeSet<RequestId>,
    /// Reservations not committed yet: when each expires.
    reserved: Vec<Instant>,
    /// Deployments removed from `ids`: until when their owner still owns them.
    ended: HashMap<RequestId, Instant>,
}

impl Live {
    /// Forgets expired reservations and ended deployments.
    fn expire(&mut self, now: Instant) {
        self.reserved.retain(|expires| *expires > now);
        self.ended.retain(|_, expires| *expires > now);
    }

    fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.reserved.is_empty() && self.ended.is_empty()
    }
}

#[derive(Debug)]
struct Bucket {
    /// When the bucket will be full again if nobody takes more; tokens = burst − (full_at −
    /// now) × rate. Past `full_at`, it is full.
    full_at: Instant,
}

#[derive(Debug, Default)]
struct State {
    idempotency: HashMap<(String, String), (Idempotency, Instant)>,
    live: HashMap<String, Live>,
    buckets: HashMap<String, Bucket>,
    /// Status records by deployment, with when they expire.
    records: HashMap<String, (StatusRecord, Instant)>,
    /// Invalidation times (µs) by deployment, with when they expire.
    not_before: HashMap<String, (u64, Instant)>,
    /// Read locks by deployment: when they expire.
    reading: HashMap<String, Instant>,
    operations: u64,
}

impl State {
    /// Drops expired keys and full buckets now and then, so memory follows activity.
    fn sweep(&mut self, now: Instant) {
        self.operations = self.operations.wrapping_add(1);
        if !self.operations.is_multiple_of(1024) {
            return;
        }
        self.idempotency.retain(|_, (_, expires)| *expires > now);
        self.buckets.retain(|_, b| b.full_at > now);
        self.live.retain(|_, l| {
            l.expire(now);
            !l.is_empty()
        });
        self.records.retain(|_, (_, expires)| *expires > now);
        self.not_before.retain(|_, (_, expires)| *expires > now);
        self.reading.retain(|_, expires| *expires > now);
    }
}

/// The in-memory [`Store`]: one process, lost on restart (live counts are rebuilt from
/// Edgegap at start; idempotency keys only protect retries within one process's lifetime).
///
/// Several gateways in one process may share one `MemoryStore`
/// ([`GatewayBuilder::store`](crate::GatewayBuilder::store)): they then share status records,
/// read locks and view events like replicas sharing Redis.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    listeners: Mutex<Vec<ViewListener>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; recover the data if it ever did.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state, swept of what expired by now, and that now.
    fn swept(&self) -> (Instant, MutexGuard<'_, State>) {
        let now = Instant::now();
        let mut state = self.state();
        state.sweep(now);
        (now, state)
    }

    fn deliver(&self, event: &ViewEvent) {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        for listener in listeners {
            listener(event.clone());
        }
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl Store for MemoryStore {
    fn claim_idempotency<'a>(
        &'a self,
        owner: &'a str,
        key: &'a str,
        window: Duration,
        stale: Duration,
    ) -> StoreFuture<'a, Claim> {
        let (now, mut state) = self.swept();
        let slot = (owner.to_owned(), key.to_owned());
        let claim = match state.idempotency.get(&slot) {
            Some((Idempotency::Done(id), expires)) if *expires > now => Claim::Done(id.clone()),
            Some((Idempotency::Pending(at), expires)) if *expires > now => {
                if now.duration_since(*at) < stale {
                    Claim::InProgress
                } else {
                    Claim::Abandoned
                }
            }
            _ => Claim::New,
        };
        if matches!(claim, Claim::New | Claim::Abandoned) {
            state
                .idempotency
                .insert(slot, (Idempotency::Pending(now), now + window));
        }
        ready(claim)
    }

    fn finish_idempotency<'a>(
        &'a self,
        owner: &'a str,
        key: &'a str,
        outcome: Option<RequestId>,
        window: Duration,
    ) -> StoreFuture<'a, ()> {
        let slot = (owner.to_owned(), key.to_owned());
        let mut state = self.state();
        match outcome {
            Some(id) => {
                state
                    .idempotency
                    .insert(slot, (Idempotency::Done(id), Instant::now() + window));
            }
            None => {
                state.idempotency.remove(&slot);
            }
        }
        ready(())
    }

    fn reserve_live<'a>(
        &'a self,
        owner: &'a str,
        max: u32,
        hold: Duration,
    ) -> StoreFuture<'a, bool> {
        let (now, mut state) = self.swept();
        let live = state.live.entry(owner.to_owned()).or_default();
        live.expire(now);
        let used = live.ids.len().saturating_add(live.reserved.len());
        let ok = used < usize::try_from(max).unwrap_or(usize::MAX);
        if ok {
            live.reserved.push(now + hold);
        }
        ready(ok)
    }

    fn commit_live<'a>(&'a self, owner: &'a str, id: Option<RequestId>) -> StoreFuture<'a, ()> {
        let mut state = self.state();
        let live = state.live.entry(owner.to_owned()).or_default();
        // The oldest reservation: any one stands for this deploy's.
        if !live.reserved.is_empty() {
            live.reserved.remove(0);
        }
        if let Some(id) = id {
            live.ended.remove(&id);
            live.ids.insert(id);
        }
        ready(())
    }

    fn live<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<RequestId>> {
        let state = self.state();
        let ids = state
            .live
            .get(owner)
            .map(|l| l.ids.iter().cloned().collect())
            .unwrap_or_default();
        ready(ids)
    }

    fn remove_live<'a>(
        &'a self,
        owner: &'a str,
        id: &'a RequestId,
        keep: Duration,
    ) -> StoreFuture<'a, ()> {
        let now = Instant::now();
        let mut state = self.state();
        let live = state.live.entry(owner.to_owned()).or_default();
        live.expire(now);
        live.ids.remove(id);
        live.ended.insert(id.clone(), now + keep);
        ready(())
    }

    fn owns<'a>(&'a self, owner: &'a str, id: &'a RequestId) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        let state = self.state();
        let owned = state.live.get(owner).is_some_and(|live| {
            live.ids.contains(id) || live.ended.get(id).is_some_and(|expires| *expires > now)
        });
        ready(owned)
    }

    fn add_live(&self, found: Vec<(String, RequestId)>) -> StoreFuture<'_, ()> {
        let mut state = self.state();
        for (owner, id) in found {
            state.live.entry(owner).or_default().ids.insert(id);
        }
        ready(())
    }

    fn acquire<'a>(
        &'a self,
        name: &'a str,
        per_second: f64,
        burst: u32,
        max_wait: Duration,
    ) -> StoreFuture<'a, Result<Duration, Duration>> {
        let (now, mut state) = self.swept();
        let interval = Duration::from_secs_f64(1.0 / per_second.max(1e-6));
        let burst_span = interval * burst.max(1);
        let bucket = state
            .buckets
            .entry(name.to_owned())
            .or_insert(Bucket { full_at: now });
        // Taking one token moves "full again" one interval later; the token is available once
        // full_at − burst_span has passed.
        let full_at = bucket.full_at.max(now) + interval;
        let available_at = full_at.checked_sub(burst_span).unwrap_or(now);
        let wait = available_at.saturating_duration_since(now);
        let answer = if wait <= max_wait {
            bucket.full_at = full_at;
            Ok(wait)
        } else {
            Err(wait - max_wait)
        };
        ready(answer)
    }

    fn claim_read<'a>(
        &'a self,
        id: &'a str,
        fresh_after_us: u64,
        lock: Duration,
    ) -> StoreFuture<'a, ReadClaim> {
        let (now, mut state) = self.swept();
        let not_before = state
            .not_before
            .get(id)
            .filter(|(_, expires)| *expires > now)
            .map_or(0, |(at, _)| *at);
        let fresh = state
            .records
            .get(id)
            .filter(|(record, expires)| {
                *expires > now
                    && record.read_at_us >= fresh_after_us
                    && record.read_at_us >= not_before
            })
            .map(|(record, _)| record.clone());
        let claim = match fresh {
            Some(record) => ReadClaim::Fresh(record),
            None if state.reading.get(id).is_some_and(|expires| *expires > now) => ReadClaim::Busy,
            None => {
                state.reading.insert(id.to_owned(), now + lock);
                ReadClaim::Read
            }
        };
        ready(claim)
    }

    fn put_record<'a>(
        &'a self,
        id: &'a str,
        record: StatusRecord,
        keep: Duration,
    ) -> StoreFuture<'a, ()> {
        let now = Instant::now();
        let kept = {
            let mut state = self.state();
            state.reading.remove(id);
            let not_before = state.not_before.get(id).map_or(0, |(at, _)| *at);
            let newer = state
                .records
                .get(id)
                .is_none_or(|(old, expires)| *expires <= now || old.read_at_us < record.read_at_us);
            let kept = newer && record.read_at_us >= not_before;
            if kept {
                state
                    .records
                    .insert(id.to_owned(), (record.clone(), now + keep));
            }
            kept
        };
        if kept {
            self.deliver(&ViewEvent::Record {
                id: id.to_owned(),
                record,
            });
        }
        ready(())
    }

    fn release_read<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        self.state().reading.remove(id);
        ready(())
    }

    fn publish(&self, event: ViewEvent, keep: Duration) -> StoreFuture<'_, ()> {
        if let ViewEvent::Invalidated { id, at_us } = &event {
            let mut state = self.state();
            state.records.remove(id);
            let expires = Instant::now() + keep;
            let entry = state.not_before.entry(id.clone()).or_insert((0, expires));
            *entry = (entry.0.max(*at_us), expires);
        }
        self.deliver(&event);
        ready(())
    }

    fn listen(&self, listener: ViewListener) -> StoreFuture<'_, ()> {
        self.listeners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(listener);
        ready(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bevy_edgegap::api::HttpResponse;

    use super::*;

    fn now<T>(future: StoreFuture<'_, T>) -> T {
        // MemoryStore's futures are always ready.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut future = future;
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(value) => value.unwrap(),
            std::task::Poll::Pending => panic!("MemoryStore futures are ready at once"),
        }
    }

    const STALE: Duration = Duration::from_secs(60);

    #[test]
    fn idempotency_keys_are_per_owner_and_released_on_failure() {
        let store = MemoryStore::new();
        let window = Duration::from_secs(60);
        assert_eq!(
            now(store.claim_idempotency("a", "k", window, STALE)),
            Claim::New
        );
        assert_eq!(
            now(store.claim_idempotency("a", "k", window, STALE)),
            Claim::InProgress
        );
        assert_eq!(
            now(store.claim_idempotency("b", "k", window, STALE)),
            Claim::New
        );
        now(store.finish_idempotency("a", "k", Some("id1".into()), window));
        assert_eq!(
            now(store.claim_idempotency("a", "k", window, STALE)),
            Claim::Done("id1".into())
        );
        now(store.finish_idempotency("b", "k", None, window));
        assert_eq!(
            now(store.claim_idempotency("b", "k", window, STALE)),
            Claim::New
        );
        // An expired key is new again.
        assert_eq!(
            now(store.claim_idempotency("c", "k", Duration::ZERO, STALE)),
            Claim::New
        );
        assert_eq!(
            now(store.claim_idempotency("c", "k", window, STALE)),
            Claim::New
        );
        // A claim older than `stale` that never finished is taken over, once.
        assert_eq!(
            now(store.claim_idempotency("d", "k", window, Duration::ZERO)),
            Claim::New
        );
        assert_eq!(
            now(store.claim_idempotency("d", "k", window, Duration::ZERO)),
            Claim::Abandoned
        );
        assert_eq!(
            now(store.claim_idempotency("d", "k", window, STALE)),
            Claim::InProgress
        );
    }

    #[test]
    fn live_slots_count_reservations_and_deployments() {
        let store = MemoryStore::new();
        assert!(now(store.reserve_live("a", 2, STALE)));
        assert!(now(store.reserve_live("a", 2, STALE)));
        assert!(!now(store.reserve_live("a", 2, STALE)));
        now(store.commit_live("a", Some("x".into())));
        now(store.commit_live("a", None));
        assert_eq!(now(store.live("a")), vec![RequestId::from("x")]);
        assert!(now(store.reserve_live("a", 2, STALE)));
        assert!(!now(store.reserve_live("a", 2, STALE)));
        now(store.commit_live("a", None));
        assert!(now(store.owns("a", &"x".into())));
        assert!(!now(store.owns("b", &"x".into())));
        now(store.remove_live("a", &"x".into(), STALE));
        // Ended, but still its owner's for `keep`.
        assert!(now(store.owns("a", &"x".into())));
        now(store.remove_live("a", &"w".into(), Duration::ZERO));
        assert!(!now(store.owns("a", &"w".into())));
        now(store.add_live(vec![("a".into(), "y".into()), ("b".into(), "z".into())]));
        assert_eq!(now(store.live("a")), vec![RequestId::from("y")]);
        assert_eq!(now(store.live("b")), vec![RequestId::from("z")]);
        assert!(now(store.owns("b", &"z".into())));
        // A reservation nobody commits expires after its hold.
        assert!(now(store.reserve_live("c", 1, Duration::ZERO)));
        assert!(now(store.reserve_live("c", 1, STALE)));
        assert!(!now(store.reserve_live("c", 1, STALE)));
    }

    #[test]
    fn status_records_read_locks_and_events_are_shared_by_its_gateways() {
        let store = MemoryStore::new();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&heard);
        now(store.listen(Arc::new(move |event| sink.lock().unwrap().push(event))));
        let (lock, keep) = (Duration::from_secs(5), Duration::from_secs(60));
        let record = |at: u64| StatusRecord {
            read_at_us: at,
            response: HttpResponse::new(200, "{}"),
        };
        assert_eq!(now(store.claim_read("d", 100, lock)), ReadClaim::Read);
        assert_eq!(now(store.claim_read("d", 100, lock)), ReadClaim::Busy);
        now(store.put_record("d", record(150), keep));
        assert_eq!(
            now(store.claim_read("d", 100, lock)),
            ReadClaim::Fresh(record(150))
        );
        assert_eq!(now(store.claim_read("d", 151, lock)), ReadClaim::Read);
        // Older than the record: kept out, and not announced; the lock is released.
        now(store.put_record("d", record(140), keep));
        assert_eq!(
            now(store.claim_read("d", 0, lock)),
            ReadClaim::Fresh(record(150))
        );
        let stopped = ViewEvent::Invalidated {
            id: "d".into(),
            at_us: 200,
        };
        now(store.publish(stopped.clone(), keep));
        assert_eq!(now(store.claim_read("d", 0, lock)), ReadClaim::Read);
        now(store.put_record("d", record(190), keep));
        assert_eq!(now(store.claim_read("d", 0, lock)), ReadClaim::Read);
        now(store.release_read("d"));
        assert_eq!(now(store.claim_read("d", 0, lock)), ReadClaim::Read);
        assert_eq!(
            *heard.lock().unwrap(),
            vec![
                ViewEvent::Record {
                    id: "d".into(),
                    record: record(150)
                },
                stopped
            ]
        );
    }

    #[test]
    fn buckets_give_a_burst_then_space_tokens_out() {
        let store = MemoryStore::new();
        let no_wait = Duration::ZERO;
        // One token per 64 s (exact in f64): the calls below take far less, whatever the
        // machine, and every bound subtracts the time they did take.
        let (rate, interval) = (1.0 / 64.0, Duration::from_secs(64));
        let started = Instant::now();
        for _ in 0..3 {
            assert_eq!(
                now(store.acquire("b", rate, 3, no_wait)),
                Ok(Duration::ZERO)
            );
        }
        // The fourth token is an interval after the first: refused without waiting, granted
        // with a wait.
        let refused = now(store.acquire("b", rate, 3, no_wait)).unwrap_err();
        assert!(
            refused <= interval && refused >= interval - started.elapsed(),
            "{refused:?}"
        );
        let wait = now(store.acquire("b", rate, 3, interval * 2)).unwrap();
        assert!(
            wait <= interval && wait >= interval - started.elapsed(),
            "{wait:?}"
        );
        // The granted wait moved the next token one more interval out.
        let next = now(store.acquire("b", rate, 3, no_wait)).unwrap_err();
        assert!(
            next <= interval * 2 && next >= interval * 2 - started.elapsed(),
            "{next:?}"
        );
        // Other buckets are independent.
        assert_eq!(
            now(store.acquire("c", rate, 1, no_wait)),
            Ok(Duration::ZERO)
        );
    }
}
