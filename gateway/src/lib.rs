//! `edgegap-gateway`: the one process that holds Edgegap's organisation token, so that shipped
//! game clients never do.
//!
//! Players authenticate with a JWT from the game's own auth backend (`Authorization: Bearer`).
//! The gateway speaks the subset of Edgegap's API the `bevy_edgegap` client plugin uses —
//! `POST /v2/deployments`, `GET /v1/status/{request_id}`, `DELETE /v1/stop/{request_id}` — with
//! Edgegap's bodies (plus `POST /webhooks/{secret}` for Edgegap and `GET /healthz`: the one
//! list is [`bevy_edgegap::api::GATEWAY_ROUTES`], which the client plugin reads too; anything
//! else is 404), and applies a policy on the way:
//!
//! - **which application versions** may be deployed, and which body fields a client may set
//!   (by default no environment variables, webhooks, tags or resources); everything else is
//!   403 and nothing reaches Edgegap;
//! - **`users`** is filled with the caller's address (the socket peer, or `X-Forwarded-For`
//!   from configured trusted proxies), so servers land near the player;
//! - **ownership**: every deployment carries an owner tag, a keyed hash of the player id
//!   (`gw-` + 16 hex digits). Status and stop of a deployment the caller does not own answer
//!   404, exactly like an unknown one. Ownership is read from Edgegap's status object, so a
//!   restarted gateway loses nothing; live counts are rebuilt from Edgegap's list at start;
//! - **limits**: live deployments per player (default 1), deploys per player per minute, and a
//!   global budget within Edgegap's documented rate limits;
//! - **idempotent deploys**: the same `Idempotency-Key` from the same player within the window
//!   answers the same `request_id` and creates no second server. A deploy Edgegap may have
//!   made without an answer the gateway could read (timeout, unreadable body, 5xx) is looked
//!   up by the player's owner tag in Edgegap's list and answered with its id, not repeated.
//!
//! Errors are `{"message"}`: 401 (token missing, invalid, expired), 403 (not allowed), 404
//! (unknown or not yours), 429 + `Retry-After` (quota or rate), 502/503 + `Retry-After`
//! (Edgegap failing, budget exhausted). The organisation token never appears in an answer, an
//! error or a log line.
//!
//! ```no_run
//! use edgegap_gateway::Gateway;
//!
//! let gateway = Gateway::builder()
//!     .upstream("https://api.edgegap.com", std::env::var("EDGEGAP_TOKEN")?)
//!     .allow("my-game", "1.0.0")
//!     .hs256_secret(std::env::var("PLAYER_TOKEN_SECRET")?)
//!     .max_live_per_player(1)
//!     .start()?; // synchronous: the gateway owns its runtime thread
//! println!("game clients use EdgegapConfig::gateway(\"{}\", player_jwt)", gateway.base_url());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Many players waiting: the status view, long-poll and webhooks
//!
//! - **Coalescing.** Status answers come from the gateway's view of each deployment: at most
//!   one upstream status read per deployment per interval ([`GatewayBuilder::status_interval`],
//!   default 1 s), however many clients ask; concurrent askers share the one read. A stop
//!   makes the view of that deployment out of date at once.
//! - **Long-poll.** `GET /v1/status/{request_id}?since=<Status.X>&wait=<seconds>` is held
//!   until the deployment's `current_status` differs from `since` (in Edgegap's spelling,
//!   e.g. `Status.READY`; `READY` also parses), or until `wait` seconds have passed (whole
//!   seconds, capped at 25; default 25 when only `since` is given). The answer is the normal
//!   status JSON, with the new status, or the unchanged one at timeout. Without `since`, or
//!   with `wait=0`, it is answered at once, exactly like a plain `GET`. Without webhooks, a
//!   held request re-reads (coalesced) once per interval; it is woken at once by a believed or
//!   confirmed webhook, or a stop. Ownership is checked before holding (404 otherwise); a bad `wait` is
//!   400.
//! - **Webhooks.** With a public URL ([`GatewayBuilder::public_url`]), every deploy carries
//!   `webhook_on_ready`, `webhook_on_error` and `webhook_on_terminated` pointing at
//!   `<public_url>/webhooks/<secret>?owner=<tag>&proof=<hex>` (a client's own webhook, where
//!   the policy allows one, is kept). The secret is unguessable: configured, or derived from
//!   the owner key so every replica agrees; the proof is a MAC of the owner tag under the
//!   owner key. A webhook with a wrong secret is 404. A READY webhook with its owner's proof,
//!   the owner's tag in its body and the deployment in the owner's live set is believed: its
//!   body is the status, as if read when it arrived, and it wakes the waiters on every
//!   replica with no upstream read. Any other webhook is not believed: when someone waits on
//!   that deployment, ONE upstream status read (shared with any read sent after the webhook
//!   arrived) refreshes the view, and that read wakes the waiters. A forged webhook costs one
//!   status read and changes nothing.
//!
//! - **Webhooks instead of polling.** With webhooks, a held request re-reads only every
//!   [`StatusConfig::fallback_ms`] (default 10 s), in case a webhook is lost: a player
//!   waiting for READY typically costs one upstream read (the first ask).
//!
//! Shared state (idempotency keys, live counts, rate buckets, the status view) lives behind
//! the [`Store`] trait; [`MemoryStore`] is the default, for one process. Replicas share it
//! through Redis or Valkey: [`GatewayBuilder::redis`] ([`RedisStore`]). Then the status view
//! is shared too: one upstream read per deployment per interval across all replicas (the
//! latest record of each deployment and a short read lock live in Redis), and a webhook or a
//! stop arriving at one replica wakes the requests held on every replica (Redis pub/sub).
//! Redis is a trust boundary: its status records are authenticated (HMAC keyed from the owner
//! key), its times believed at most [`StatusConfig::max_clock_skew_ms`] ahead, its keys
//! prefixed per environment ([`RedisStore`] has the details); it must still be private to the
//! gateway.
//!
//! # Under attack: one player cannot starve the others
//!
//! - **Upstream budget.** A status or stop of an id the caller is not known to own (its live
//!   deployments and those ended within [`StatusConfig::ended_visible_secs`]) is 404 without
//!   an upstream read; the reads a player's requests do cause are capped per player
//!   ([`config::Budget::player_reads_per_second`], then 429); a stop reaches Edgegap once per
//!   deployment (from the view when it is stopping or terminated; one in flight); webhook
//!   confirmations and quota checks read the coalescing view.
//! - **Sockets** ([`config::HttpConfig`]): hyper with a timer (header-read and idle
//!   timeouts), a request timeout on every route but a held long-poll, caps on held
//!   long-polls per player and in all (the excess answered at once with the current status),
//!   and on open connections ([`GatewayHandle::open_connections`]).
//! - **Start-up checks.** No player-token key, a placeholder secret (`change-me`), an HS256
//!   secret under 32 bytes, or plaintext (`http://`, `redis://`) to a host that is not
//!   loopback (unless [`GatewayConfig::allow_plaintext`]) refuse to start; tokens checked for
//!   neither issuer nor audience are warned about.
//! - **Tokens.** `exp` and `nbf` are checked, `iat` against
//!   [`config::AuthConfig::max_token_age_secs`] when set; with more than one issuer the player
//!   id is `["iss","sub"]`; a `sub` with control characters or surrounding whitespace is 401
//!   (letter case and Unicode normalisation are the auth backend's: `sub` must be a stable
//!   account id).
//! - **Readiness.** `GET /readyz` is 503 while the shared store or Edgegap does not answer;
//!   `GET /healthz` is liveness only.
#![warn(missing_docs)]

mod auth;
pub mod config;
mod cors;
mod error;
mod metrics;
mod secret;
mod serve;
mod service;
pub mod store;
mod upstream;
mod view;

pub use auth::{OWNER_TAG_PREFIX, dev_token};
pub use config::{AllowedVersion, GatewayConfig, KeyAlgorithm, SecretText, StatusConfig};
pub use error::GatewayError;
pub use store::{MemoryStore, RedisStore, Store, ViewListener};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

/// How long the rebuild at start may take before the gateway serves anyway.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(20);
/// How long start waits for the store to deliver view events (a shared store: subscribed)
/// before it serves anyway.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(3);

/// Entry point: [`Gateway::builder`].
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// A builder with the defaults of [`GatewayConfig`].
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::from_config(GatewayConfig::default())
    }
}

/// Configures and starts a gateway. Setters fill the same [`GatewayConfig`] as the TOML file.
#[must_use]
pub struct GatewayBuilder {
    config: GatewayConfig,
    store: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GatewayBuilder {
    /// A builder starting from `config` (e.g. [`GatewayConfig::from_file`]).
    pub fn from_config(config: GatewayConfig) -> Self {
        Self {
            config,
            store: None,
        }
    }

    /// The configuration so far.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Edgegap's base URL (or an emulator's) and the organisation token.
    pub fn upstream(mut self, base_url: impl Into<String>, token: impl Into<String>) -> Self {
        self.config.upstream.base_url = base_url.into();
        self.config.upstream.token = SecretText::new(token);
        self
    }

    /// Allows deploys of `application` at `version` (`"*"`: any version). Repeatable.
    pub fn allow(mut self, application: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.policy.allow.push(AllowedVersion {
            application: application.into(),
            version: version.into(),
        });
        self
    }

    /// Verifies player tokens with this HS256 secret.
    pub fn hs256_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.config.auth.hs256_secret = Some(SecretText::from_bytes(secret));
        self
    }

    /// Verifies player tokens with a public key in PEM form (`EdDSA`, `ES256` or `RS256`).
    pub fn public_key_pem(mut self, algorithm: KeyAlgorithm, pem: impl Into<String>) -> Self {
        self.config.auth.public_key_algorithm = Some(algorithm);
        self.config.auth.public_key_pem = Some(pem.into());
        self
    }

    /// Accepts only tokens whose `iss` is `issuer` (repeatable; makes `iss` required).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.config.auth.issuers.push(issuer.into());
        self
    }

    /// Accepts only tokens whose `aud` contains `audience` (repeatable; makes `aud` required).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.auth.audiences.push(audience.into());
        self
    }

    /// Tolerated clock skew on `exp` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.config.auth.leeway_secs = leeway.as_secs();
        self
    }

    /// Development only: callers without a valid token become the player `anon:<their IP>`.
    /// The gateway warns at start.
    pub fn anonymous(mut self, enabled: bool) -> Self {
        self.config.auth.anonymous = enabled;
        self
    }

    /// Live deployments per player (default 1).
    pub fn max_live_per_player(mut self, max: u32) -> Self {
        self.config.policy.max_live_per_player = max;
        self
    }

    /// Deploys per player per minute (default 6).
    pub fn deploys_per_minute(mut self, per_minute: u32) -> Self {
        self.config.policy.deploys_per_minute = per_minute;
        self
    }

    /// How long an `Idempotency-Key` is remembered (default 10 minutes).
    pub fn idempotency_window(mut self, window: Duration) -> Self {
        self.config.policy.idempotency_window_secs = window.as_secs();
        self
    }

    /// Lets clients set the environment variable `key`.
    pub fn allow_env(mut self, key: impl Into<String>) -> Self {
        self.config.policy.env_keys.push(key.into());
        self
    }

    /// Lets clients set the tag `tag`.
    pub fn allow_tag(mut self, tag: impl Into<String>) -> Self {
        self.config.policy.tags.push(tag.into());
        self
    }

    /// The global upstream budget for deploys and status reads, in requests per second
    /// (each at most Edgegap's documented limit: 40 and 20).
    pub fn budget(mut self, deploys_per_second: u32, status_per_second: u32) -> Self {
        self.config.budget.deploy_per_second = deploys_per_second;
        self.config.budget.status_per_second = status_per_second;
        self
    }

    /// Believes `X-Forwarded-For` from this proxy (an IP or a CIDR block). Repeatable.
    pub fn trusted_proxy(mut self, proxy: impl Into<String>) -> Self {
        self.config.trusted_proxies.push(proxy.into());
        self
    }

    /// The owner-tag key (default: derived from the organisation token).
    pub fn owner_key(mut self, key: impl Into<String>) -> Self {
        self.config.owner_key = Some(SecretText::new(key));
        self
    }

    /// Where to listen (default `127.0.0.1:0`).
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.config.bind = address;
        self
    }

    /// Whether to rebuild live counts from Edgegap's list at start (default `true`).
    pub fn rebuild_on_start(mut self, rebuild: bool) -> Self {
        self.config.rebuild_on_start = rebuild;
        self
    }

    /// How old a status answered from the gateway's view may be (default 1 s): one upstream
    /// status read per deployment per `interval`, however many clients ask. Also how often a
    /// held long-poll request re-reads upstream when there are no webhooks.
    pub fn status_interval(mut self, interval: Duration) -> Self {
        self.config.status.interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// With webhooks, how often a held long-poll request re-reads upstream in case a webhook
    /// is lost (default 10 s; never less than the status interval).
    pub fn webhook_fallback(mut self, every: Duration) -> Self {
        self.config.status.fallback_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The gateway's public base URL as Edgegap reaches it. Deploys then carry webhooks
    /// pointing at `<url>/webhooks/<secret>`, which wake long-polling clients at once.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        let url: String = url.into();
        self.config.status.public_url = Some(url.trim().trim_end_matches('/').to_owned());
        self
    }

    /// The webhook path secret (default: derived from the owner key; see
    /// [`StatusConfig::webhook_secret`]).
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.config.status.webhook_secret = Some(SecretText::new(secret));
        self
    }

    /// How long one Redis call may take (default 1 s; the config key `redis_timeout_ms`).
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.config.redis_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Lets browser pages from `origin` call the gateway (CORS; repeatable): a full origin
    /// (`https://game.example.com`) or `https://*.domain` for its subdomains. See
    /// [`GatewayConfig::allowed_cors_origins`].
    pub fn cors_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.allowed_cors_origins.push(origin.into());
        self
    }

    /// Uses `store` for shared state instead of a fresh [`MemoryStore`].
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Shares state with every replica using the same Redis (or Valkey) server at `url`
    /// (`redis://host:port/db`; the config key `redis_url`): idempotency keys, live quotas,
    /// the upstream budget and the status view (records, read locks, wake-ups). Without it
    /// the state lives in memory, for one process. While Redis is unreachable, calls that
    /// need it answer 503 with `Retry-After` (a status this replica read within the interval
    /// is still answered); the gateway reconnects by itself.
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.config.redis_url = Some(SecretText::new(url.into()));
        self
    }

    /// Binds, rebuilds the live counts, and serves on a runtime thread of its own.
    /// Synchronous: returns once the gateway accepts connections.
    pub fn start(self) -> Result<GatewayHandle, GatewayError> {
        let config = self.config;
        config.check()?;
        let store: Arc<dyn Store> = match (self.store, &config.redis_url) {
            (Some(store), _) => store,
            (None, Some(_)) => {
                let redis = RedisStore::for_config(&config)?;
                tracing::info!(
                    "sharing state through Redis under the key prefix `{}` (its ACL: keys \
                     `~{0}*`, channels `&{0}*`)",
                    redis.prefix()
                );
                Arc::new(redis)
            }
            (None, None) => Arc::new(MemoryStore::new()),
        };
        let verifier = auth::Verifier::new(&config.auth)?;
        let metrics = Arc::new(metrics::Metrics::new());
        let upstream = upstream::Upstream::new(
            &config.upstream,
            config.budget.clone(),
            Arc::clone(&store),
            Arc::clone(&metrics),
        )
        .map_err(|e| GatewayError::Config(format!("cannot build the HTTP client: {e}")))?;
        let owner_key = auth::OwnerKey::new(config.owner_key.as_ref(), &config.upstream.token);
        let webhook_secret = config
            .status
            .webhook_secret
            .as_ref()
            .map_or_else(|| owner_key.webhook_secret(), |s| s.expose().to_owned());
        let webhook_url = config
            .status
            .public_url
            .as_ref()
            .map(|base| format!("{base}/webhooks/{webhook_secret}"));
        // The longest an upstream call takes: the budget wait plus the timeout, and a second.
        let longest_call = Duration::from_millis(config.budget.max_wait_ms)
            + Duration::from_secs(config.upstream.timeout_secs.max(1) + 1);
        let (stop_tx, stop_rx) = watch::channel(false);
        let held = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let upstream = Arc::new(upstream);
        let status_view = Arc::new(view::StatusView::new(
            Duration::from_millis(config.status.interval_ms),
            Duration::from_millis(if webhook_url.is_some() {
                config.status.fallback_ms
            } else {
                config.status.interval_ms
            }),
            Arc::clone(&store),
            longest_call,
            Duration::from_millis(config.status.max_clock_skew_ms),
            config
                .status
                .list_reads
                .then(|| Duration::from_secs(config.status.not_ready_read_secs)),
        ));
        let state = Arc::new(service::AppState {
            upstream: Arc::clone(&upstream),
            view: Arc::clone(&status_view),
            metrics,
            open: Arc::clone(&open),
            longest_call,
            ended_visible: Duration::from_secs(config.status.ended_visible_secs),
            webhook_secret,
            webhook_url: webhook_url.clone(),
            stopping: stop_rx.clone(),
            owner_key: owner_key.clone(),
            proxies: auth::TrustedProxies::parse(&config.trusted_proxies)?,
            verifier,
            policy: config.policy.clone(),
            store,
            holds: service::Holds::new(
                Arc::clone(&held),
                config.http.max_held,
                config.http.max_held_per_player,
            ),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("edgegap-gateway")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(config.bind))?;
        // View events from every gateway sharing the store (this one's included).
        let events = view_listener(&state, runtime.handle().clone());
        let listening = runtime.block_on(async {
            // A slow store gets its own timeout, thrice (a connection, a subscription, slack).
            let patience = LISTEN_TIMEOUT.max(Duration::from_millis(config.redis_timeout_ms) * 3);
            tokio::time::timeout(patience, state.store.listen(events)).await
        });
        match listening {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(
                "not hearing other replicas yet ({error}); retrying in the background"
            ),
            Err(_) => tracing::warn!(
                "subscribing to other replicas' view events timed out; retrying in the background"
            ),
        }
        let address = listener.local_addr()?;
        if state.verifier.unscoped() {
            tracing::warn!(
                "edgegap-gateway on http://{address}: player tokens are checked for neither \
                 issuer nor audience, so any token signed with this key is a player, whoever \
                 minted it for whatever service; set auth.issuers and/or auth.audiences"
            );
        }
        if state.verifier.anonymous() {
            tracing::warn!(
                "ANONYMOUS MODE: callers without a valid player token are identified by their \
                 address. For local development only; never expose this gateway"
            );
        }
        if config.rebuild_on_start {
            let rebuilt = runtime.block_on(async {
                tokio::time::timeout(REBUILD_TIMEOUT, service::rebuild(&state)).await
            });
            match rebuilt {
                Ok(Ok(n)) => tracing::info!("rebuilt live counts: {n} owned deployment(s)"),
                Ok(Err(e)) => tracing::warn!(
                    "could not rebuild live counts from Edgegap ({e}); quotas are checked \
                     against Edgegap as players deploy"
                ),
                Err(_) => tracing::warn!("rebuilding live counts timed out; serving anyway"),
            }
        }
        // Bulk status reads: the pages of the list the view waits for.
        runtime.spawn(view::pages::run(status_view, upstream, stop_rx.clone()));
        let router = cors::wrap(
            service::router(state, &config),
            &config.allowed_cors_origins,
        )?;
        let limits = serve::Limits::from(&config.http);
        let serving = Arc::clone(&open);
        let thread = std::thread::Builder::new()
            .name("edgegap-gateway".into())
            .spawn(move || {
                runtime.block_on(serve::serve(listener, router, stop_rx, limits, serving));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        tracing::info!("edgegap-gateway listening on http://{address}");
        Ok(GatewayHandle {
            address,
            held,
            open,
            webhook_url,
            owner_key,
            stop: stop_tx,
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// Applies view events to `state`'s view; a webhook someone here waits on gets its confirming
/// read.
fn view_listener(state: &Arc<service::AppState>, runtime: tokio::runtime::Handle) -> ViewListener {
    let state = Arc::downgrade(state);
    Arc::new(move |event| {
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Some((id, entry)) = state.view.apply(event) {
            runtime.spawn(service::confirm_webhooks(state, id, entry));
        }
    })
}

/// A running gateway. Dropping it (or [`GatewayHandle::shutdown`]) stops it gracefully:
/// requests in flight get up to 10 s to finish; held long-poll requests are answered at once.
pub struct GatewayHandle {
    address: SocketAddr,
    held: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    webhook_url: Option<String>,
    owner_key: auth::OwnerKey,
    stop: watch::Sender<bool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The webhook URL carries the path secret.
        f.debug_struct("GatewayHandle")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl GatewayHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash): the client plugin's gateway URL.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Where the gateway's deploys point their webhooks (`<public_url>/webhooks/<secret>`),
    /// when a public URL is configured. Contains the path secret: do not log it.
    #[must_use]
    pub fn webhook_url(&self) -> Option<&str> {
        self.webhook_url.as_deref()
    }

    /// The webhook URL the deploys of the player with owner tag `owner` carry: the
    /// [`webhook_url`](GatewayHandle::webhook_url) with `?owner=<tag>&proof=<hex>`, the proof
    /// that makes their READY webhook believed without an upstream read. Contains secrets: do
    /// not log it.
    #[must_use]
    pub fn webhook_url_for(&self, owner: &str) -> Option<String> {
        let base = self.webhook_url.as_deref()?;
        Some(self.owner_key.webhook_url(base, owner))
    }

    /// Status requests held by long-poll (`?since=&wait=`) right now: waiting for their
    /// deployment to move on. Each is counted from when it starts waiting until it is
    /// answered or its client goes away.
    #[must_use]
    pub fn held_requests(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Client connections open right now (at most `http.max_connections`).
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Stops the gateway and waits for it. Idempotent; also done on drop.
    pub fn shutdown(&self) {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(thread) = thread {
            self.stop.send_replace(true);
            if thread.join().is_err() {
                tracing::error!("the gateway's runtime thread panicked");
            }
            tracing::info!("edgegap-gateway stopped");
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

// Here, above both the store and the configuration, so the store never imports the config,
// the owner key or the errors that import it (no module circle).
impl RedisStore {
    /// The store the gateway configured by `config` uses: `redis_url`, `redis_prefix`,
    /// `redis_ca_file`, `redis_timeout_ms`, the secret derived from the owner key,
    /// `status.max_clock_skew_ms`. Another process holding the same config (a replica, a tool) shares its state.
    pub fn for_config(config: &crate::GatewayConfig) -> Result<Self, crate::GatewayError> {
        use crate::GatewayError;
        let url = config
            .redis_url
            .as_ref()
            .ok_or_else(|| GatewayError::Config("no redis_url".into()))?;
        let owner_key =
            crate::auth::OwnerKey::new(config.owner_key.as_ref(), &config.upstream.token);
        let mut store = Self::new(url.expose(), &owner_key.redis_secret())
            .map_err(|e| GatewayError::Config(format!("invalid redis URL: {e}")))?
            .with_max_clock_skew(Duration::from_millis(config.status.max_clock_skew_ms))
            .with_timeout(Duration::from_millis(config.redis_timeout_ms));
        if let Some(file) = &config.redis_ca_file {
            let pem = std::fs::read(file).map_err(|e| {
                GatewayError::Config(format!("cannot read redis_ca_file `{file}`: {e}"))
            })?;
            store = store
                .with_root_certificate(pem)
                .map_err(|e| GatewayError::Config(format!("redis_ca_file `{file}`: {e}")))?;
        }
        if let Some(prefix) = &config.redis_prefix {
            store = store.with_prefix(prefix);
        }
        Ok(store)
    }
}
