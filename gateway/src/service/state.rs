//! [`AppState`]: everything the handlers share, in one `Arc`; and [`Holds`], the long-poll
//! requests held now, capped per player and in all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::{OwnerKey, TrustedProxies, Verifier};
use crate::config::Policy;
use crate::metrics::{Gauges, Metrics};
use crate::store::Store;
use crate::upstream::Upstream;
use crate::view::StatusView;

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) upstream: Arc<Upstream>,
    /// Coalesced status reads (through the list, in bulk) and long-poll wake-ups.
    pub(crate) view: Arc<StatusView>,
    /// What the gateway does, counted (`GET /metrics`).
    pub(crate) metrics: Arc<Metrics>,
    /// Client connections open now (for `GET /metrics`).
    pub(crate) open: Arc<AtomicUsize>,
    /// The path secret of `POST /webhooks/{secret}`.
    pub(crate) webhook_secret: String,
    /// `<public_url>/webhooks/<secret>`, set on every deploy; `None`: no webhooks.
    pub(crate) webhook_url: Option<String>,
    /// `true` once the gateway stops: held requests are answered at once.
    pub(crate) stopping: watch::Receiver<bool>,
    pub(crate) verifier: Verifier,
    pub(crate) policy: Policy,
    pub(crate) owner_key: OwnerKey,
    pub(crate) proxies: TrustedProxies,
    pub(crate) store: Arc<dyn Store>,
    /// The longest an upstream call takes (budget wait + timeout, and a second): an
    /// idempotency claim older than this was abandoned by a dead replica.
    pub(crate) longest_call: Duration,
    /// How long a player still owns a deployment that left their live set
    /// (`status.ended_visible_secs`).
    pub(crate) ended_visible: Duration,
    /// Status requests held by long-poll right now, capped
    /// ([`GatewayHandle::held_requests`](crate::GatewayHandle::held_requests)).
    pub(crate) holds: Holds,
}

/// The long-poll requests held now: at most `max` in all and `max_per_player` per player
/// (`http.max_held`, `http.max_held_per_player`), so one token cannot hold the gateway's
/// sockets. Per gateway process.
pub(crate) struct Holds {
    /// All held requests (read by the handle).
    count: Arc<AtomicUsize>,
    by_player: Mutex<HashMap<String, usize>>,
    max: usize,
    max_per_player: usize,
}

/// One held request ([`Holds::try_hold`]); released when dropped.
pub(crate) struct Hold<'a> {
    holds: &'a Holds,
    owner: String,
}

impl AppState {
    /// Every metric in the text format, the gauges as they are now.
    pub(crate) fn render_metrics(&self) -> String {
        self.metrics.render(&Gauges {
            held: Arc::clone(&self.holds.count),
            open: Arc::clone(&self.open),
            live: self.view.live(),
        })
    }
}

impl Holds {
    pub(crate) fn new(count: Arc<AtomicUsize>, max: usize, max_per_player: usize) -> Self {
        Self {
            count,
            by_player: Mutex::new(HashMap::new()),
            max,
            max_per_player,
        }
    }

    /// A slot for one more request of `owner` to hold, or `None` when the player, or the
    /// gateway, holds as many as allowed: that request is answered at once instead.
    pub(crate) fn try_hold(&self, owner: &str) -> Option<Hold<'_>> {
        let mut by_player = self
            .by_player
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mine = by_player.get(owner).copied().unwrap_or(0);
        if mine >= self.max_per_player || self.count.load(Ordering::Relaxed) >= self.max {
            return None;
        }
        by_player.insert(owner.to_owned(), mine + 1);
        self.count.fetch_add(1, Ordering::Relaxed);
        Some(Hold {
            holds: self,
            owner: owner.to_owned(),
        })
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let mut by_player = self
            .holds
            .by_player
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(mine) = by_player.get_mut(&self.owner) {
            *mine -= 1;
            if *mine == 0 {
                by_player.remove(&self.owner);
            }
        }
        self.holds.count.fetch_sub(1, Ordering::Relaxed);
    }
}
