//! The [`Store`] trait and the values its methods exchange (see the `store` module).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bevy_edgegap::api::{HttpResponse, RequestId};

/// The store could not answer (a shared store unreachable, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shared state unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// What a [`Store`] method returns: a boxed future, so the trait stays object-safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody used the key within the window: the caller deploys, then calls
    /// [`Store::finish_idempotency`].
    New,
    /// A deploy with this key is under way.
    InProgress,
    /// A deploy with this key was claimed longer ago than `stale` and never finished: its
    /// gateway died mid-deploy. The caller now holds the claim; that deploy may have created
    /// a deployment, so look for it before deploying again.
    Abandoned,
    /// A deploy with this key created this deployment.
    Done(RequestId),
}

/// One upstream status answer, as replicas share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    /// When the read was sent, in microseconds since the Unix epoch (replicas' clocks are
    /// assumed synchronised, as for token expiry; skew only changes how old a shared record
    /// may be).
    pub read_at_us: u64,
    /// Edgegap's answer, as received.
    pub response: HttpResponse,
}

/// What [`Store::claim_read`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadClaim {
    /// A record read late enough: use it, read nothing.
    Fresh(StatusRecord),
    /// The caller holds the read lock: it reads upstream, then calls [`Store::put_record`] (or
    /// [`Store::release_read`] when the read produced no answer).
    Read,
    /// Another gateway is reading this deployment: wait for its record.
    Busy,
}

/// A change to the status view, delivered to every gateway using the store (the sender too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewEvent {
    /// A new status record of `id`.
    Record {
        /// The deployment.
        id: String,
        /// What was read.
        record: StatusRecord,
    },
    /// `id` was stopped at `at_us`: records read before are out of date.
    Invalidated {
        /// The deployment.
        id: String,
        /// When, in microseconds since the Unix epoch.
        at_us: u64,
    },
    /// A webhook about `id` arrived at `at_us`. Gateways holding requests on `id` confirm it
    /// with one read sent after `at_us` (one for all of them, through the read lock).
    Webhook {
        /// The deployment.
        id: String,
        /// When, in microseconds since the Unix epoch.
        at_us: u64,
    },
}

/// Receives every [`ViewEvent`] (see [`Store::listen`]).
pub type ViewListener = Arc<dyn Fn(ViewEvent) + Send + Sync>;

/// Shared gateway state. `owner` is always a player's owner tag, never a raw player id.
pub trait Store: Send + Sync + 'static {
    /// Claims `(owner, key)` for `window` unless it is already claimed or done. A claim
    /// older than `stale` (longer than any deploy takes) that never finished is taken over:
    /// [`Claim::Abandoned`].
    fn claim_idempotency<'a>(
        &'a self,
        owner: &'a str,
        key: &'a str,
        window: Duration,
        stale: Duration,
    ) -> StoreFuture<'a, Claim>;
    /// Records the deploy's outcome: `Some(id)` remembers it for `window`; `None` releases the
    /// key (the deploy certainly created nothing).
    fn finish_idempotency<'a>(
        &'a self,
        owner: &'a str,
        key: &'a str,
        outcome: Option<RequestId>,
        window: Duration,
    ) -> StoreFuture<'a, ()>;
    /// Reserves one live slot if `live + reserved < max`; `false` when full. A reservation
    /// never committed (its gateway died, or a deploy's outcome is unknown) is forgotten after
    /// `hold`.
    fn reserve_live<'a>(
        &'a self,
        owner: &'a str,
        max: u32,
        hold: Duration,
    ) -> StoreFuture<'a, bool>;
    /// Turns a reservation into the live deployment `id` (`None`: gives the reservation back).
    fn commit_live<'a>(&'a self, owner: &'a str, id: Option<RequestId>) -> StoreFuture<'a, ()>;
    /// The owner's live deployments.
    fn live<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<RequestId>>;
    /// Forgets a live deployment (stopped, terminated, errored, gone). Its owner still owns it
    /// for `keep` ([`Store::owns`]), to read how it ended.
    fn remove_live<'a>(
        &'a self,
        owner: &'a str,
        id: &'a RequestId,
        keep: Duration,
    ) -> StoreFuture<'a, ()>;
    /// Whether `owner` is known to own `id`: one of its live deployments, or one removed less
    /// than its `keep` ago. The gateway asks Edgegap about nothing else for that owner.
    fn owns<'a>(&'a self, owner: &'a str, id: &'a RequestId) -> StoreFuture<'a, bool>;
    /// Adds live deployments found upstream (the rebuild at start).
    fn add_live(&self, found: Vec<(String, RequestId)>) -> StoreFuture<'_, ()>;
    /// Takes one token from bucket `name` (refilled at `per_second`, holding at most `burst`).
    /// `Ok(wait)`: the token is yours once `wait` has passed (zero: now); a wait longer than
    /// `max_wait` takes nothing and answers `Err(retry_after)`.
    fn acquire<'a>(
        &'a self,
        name: &'a str,
        per_second: f64,
        burst: u32,
        max_wait: Duration,
    ) -> StoreFuture<'a, Result<Duration, Duration>>;

    /// The status record of `id` if it was read at or after `fresh_after_us` (and after the
    /// last [`ViewEvent::Invalidated`]); otherwise takes the read lock of `id` for `lock`
    /// ([`ReadClaim::Read`]) unless another gateway holds it ([`ReadClaim::Busy`]).
    fn claim_read<'a>(
        &'a self,
        id: &'a str,
        fresh_after_us: u64,
        lock: Duration,
    ) -> StoreFuture<'a, ReadClaim>;
    /// Keeps `record` as the record of `id` for `keep` unless a newer one (or a later
    /// invalidation) is there, releases the read lock, and delivers [`ViewEvent::Record`].
    fn put_record<'a>(
        &'a self,
        id: &'a str,
        record: StatusRecord,
        keep: Duration,
    ) -> StoreFuture<'a, ()>;
    /// Releases the read lock of `id` without a record (the read got no answer).
    fn release_read<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()>;
    /// Delivers `event` to every listener. [`ViewEvent::Invalidated`] also makes the records
    /// read before it unusable (kept for `keep`).
    fn publish(&self, event: ViewEvent, keep: Duration) -> StoreFuture<'_, ()>;
    /// Calls `listener` with every [`ViewEvent`] from now on, the ones this process publishes
    /// included. Called from within the gateway's Tokio runtime (a shared store may spawn its
    /// subscriber there); events may be lost while the store is unreachable. The future
    /// resolves once events are delivered (a shared store: subscribed), or fails when the
    /// store cannot subscribe yet; it keeps trying on its own either way. The gateway waits
    /// for it (bounded) before it serves, so a replica hears every event from its first
    /// request on.
    fn listen(&self, listener: ViewListener) -> StoreFuture<'_, ()>;
    /// Whether the store answers now (`GET /readyz`). Default: always (an embedded store).
    fn health(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}
