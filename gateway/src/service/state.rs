//! [`AppState`]: everything the handlers share, in one `Arc`.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::{OwnerKey, TrustedProxies, Verifier};
use crate::config::Policy;
use crate::store::Store;
use crate::upstream::Upstream;
use crate::view::StatusView;

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) upstream: Upstream,
    /// Coalesced status reads and long-poll wake-ups.
    pub(crate) view: StatusView,
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
    /// Status requests held by long-poll right now
    /// ([`GatewayHandle::held_requests`](crate::GatewayHandle::held_requests)).
    pub(crate) held: Arc<AtomicUsize>,
}
