//! [`GatewayConfig`]: everything the gateway is told, as one serde struct. The TOML file
//! (`--config`), the environment overrides and the [`GatewayBuilder`](crate::GatewayBuilder)
//! all fill this same struct.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use bevy_edgegap::api::EndpointClass;
use serde::Deserialize;

use crate::error::GatewayError;

/// A secret read from configuration (organisation token, HS256 secret, owner key): text in
/// the TOML file, any bytes from the builder. `Debug` prints `***`; the value is only
/// reachable inside the crate.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(Vec<u8>);

impl SecretText {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_bytes())
    }

    /// Wraps a secret that may not be text (an HS256 key).
    pub fn from_bytes(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    /// The secret as text ("" when it is not UTF-8: tokens always are).
    pub(crate) fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.trim_ascii().is_empty()
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The whole configuration. Every field has a default; `upstream.token`, an allowed app
/// version and a player-token key (or `auth.anonymous`) are needed to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Where to listen (default `127.0.0.1:0`: loopback, a free port; the binary's example
    /// config uses `0.0.0.0:8080`).
    pub bind: SocketAddr,
    /// Edgegap (or the emulator).
    pub upstream: UpstreamConfig,
    /// How players authenticate.
    pub auth: AuthConfig,
    /// What players may deploy.
    pub policy: Policy,
    /// The global upstream budget, per endpoint, in requests per second.
    pub budget: Budget,
    /// Peers whose `X-Forwarded-For` is believed: IPs or CIDR blocks (`10.0.0.0/8`).
    pub trusted_proxies: Vec<String>,
    /// The key of the owner-tag hash. Default: derived from the organisation token, so owner
    /// tags stay the same across restarts; set it to keep them across a token rotation.
    pub owner_key: Option<SecretText>,
    /// Rebuild the per-player live counts from Edgegap's deployment list at start (default
    /// `true`).
    pub rebuild_on_start: bool,
    /// The status view (coalescing, long-poll) and webhooks.
    pub status: StatusConfig,
    /// Redis (or Valkey) shared by every replica (`rediss://host:port/db` with TLS,
    /// `redis://` without; `GATEWAY_REDIS_URL` overrides it): idempotency keys, live quotas,
    /// the upstream budget and the status view. Unset: all of it in memory, for one gateway
    /// process. Redis must be private to the gateway (see the README's threat model).
    pub redis_url: Option<SecretText>,
    /// The prefix of every Redis key and of the pub/sub channel (`GATEWAY_REDIS_PREFIX`
    /// overrides it). Default: `edgegap-gateway:` + 12 hex digits derived from the owner key,
    /// so gateways of two environments sharing one Redis never share a key (a budget, a
    /// quota, a status record); the gateway logs it at start, for the Redis ACL.
    pub redis_prefix: Option<String>,
    /// A PEM file of the certificate authority that signed the Redis server's certificate
    /// (`rediss://` only; relative to the config file). Default: the system's trust store.
    pub redis_ca_file: Option<String>,
    /// Allows `http://` (Edgegap, `status.public_url`) and `redis://` to hosts other than
    /// loopback (default `false`: only TLS leaves the machine). For a private network you
    /// trust, never for the internet.
    pub allow_plaintext: bool,
    /// The gateway's own HTTP server: timeouts, caps on connections and held requests.
    pub http: HttpConfig,
    /// Browser pages allowed to call the gateway (CORS): full origins
    /// (`https://game.example.com`) or `https://*.domain` for its subdomains;
    /// `GATEWAY_CORS_ORIGINS` (comma-separated) replaces the list. Empty (the default): no
    /// CORS header at all. Preflight is answered for these origins only (403 otherwise),
    /// allowing `authorization`, `content-type` and `idempotency-key`; answers name the
    /// origin itself (never `*`), expose `Retry-After`, and never allow credentials. A bare
    /// `*`, `null`, a path or an entry without a scheme stops the gateway from starting.
    pub allowed_cors_origins: Vec<String>,
}

/// The gateway's own HTTP server: every socket a client opens is bounded in time and number.
/// A load balancer in front must enforce its own timeouts too (see the README).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpConfig {
    /// How long a client has to send a request's headers, in milliseconds (default 10000):
    /// from the moment the gateway waits for a request (a new connection, or a keep-alive
    /// connection after an answer) until the headers are complete. Half-sent headers and
    /// silent connections are closed after it.
    pub header_read_timeout_ms: u64,
    /// How long a keep-alive connection may stay idle between requests, in milliseconds
    /// (default 10000; the header-read timeout also bounds it, so the smaller of the two
    /// applies).
    pub idle_timeout_ms: u64,
    /// How long a request that is not held by long-poll may take, in milliseconds (default
    /// 30000); then it is answered 503 with `Retry-After`. A deploy cut off this way still
    /// finishes in the background: retry it with the same `Idempotency-Key`.
    pub request_timeout_ms: u64,
    /// Open client connections at most (default 768); further ones wait in the listen
    /// backlog. Keep it below the process's file-descriptor limit (`ulimit -n`), which the
    /// upstream and Redis connections share.
    pub max_connections: usize,
    /// Long-poll requests held at once, all players together (default 512); further ones are
    /// answered at once with the current status.
    pub max_held: usize,
    /// Long-poll requests held at once per player (default 8); further ones are answered at
    /// once with the current status.
    pub max_held_per_player: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connections: 768,
            max_held: 512,
            max_held_per_player: 8,
        }
    }
}

/// The most `http.max_connections` may be (far above any file-descriptor limit).
const MAX_CONNECTIONS: usize = 1 << 20;

impl HttpConfig {
    fn check(&self) -> Result<(), GatewayError> {
        for (name, value) in [
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
        ] {
            if value == 0 {
                return Err(GatewayError::Config(format!(
                    "http.{name} must be at least 1"
                )));
            }
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(GatewayError::Config(format!(
                "http.max_connections must be 1 to {MAX_CONNECTIONS}"
            )));
        }
        Ok(())
    }
}

/// How the gateway reads statuses: one upstream read per deployment per `interval_ms`, however
/// many clients ask; long-poll; webhooks pointing at the gateway itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StatusConfig {
    /// How old a status answered from the view may be, in milliseconds (default 1000, at
    /// least 50). Without webhooks, also how often a held long-poll request re-reads upstream.
    pub interval_ms: u64,
    /// With webhooks (a `public_url`), how often a held long-poll request re-reads upstream
    /// in case a webhook is lost, in milliseconds (default 10000; never less than
    /// `interval_ms`). Webhooks wake held requests at once, so this is only a safety net.
    pub fallback_ms: u64,
    /// The gateway's public base URL as Edgegap can reach it (`https://gw.example.com`;
    /// `GATEWAY_PUBLIC_URL` overrides it). When set, every deploy gets
    /// `webhook_on_ready`/`_on_error`/`_on_terminated` pointing at
    /// `<public_url>/webhooks/<secret>`, and a webhook wakes the long-polling clients at once.
    pub public_url: Option<String>,
    /// The webhook path secret (`GATEWAY_WEBHOOK_SECRET` overrides it): 16 to 128 characters
    /// of `A-Z a-z 0-9 - _`. Default: derived from the owner key, so every replica and every
    /// restart agree on it.
    pub webhook_secret: Option<SecretText>,
    /// How long a player may still read (or stop) one of their deployments after it left their
    /// live set (stopped, terminated, in error), in seconds (default 3600). Beyond it, and for
    /// any id the player is not known to own, status and stop answer 404 without asking
    /// Edgegap.
    pub ended_visible_secs: u64,
    /// How far ahead of this gateway's clock a time read from the shared store may be, in
    /// milliseconds (default 2000): replicas' clocks differ this much at most. A status record
    /// dated later is not used; one within it counts as read now.
    pub max_clock_skew_ms: u64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            interval_ms: 1000,
            fallback_ms: 10_000,
            public_url: None,
            webhook_secret: None,
            ended_visible_secs: 3600,
            max_clock_skew_ms: 2000,
        }
    }
}

impl StatusConfig {
    fn check(&self) -> Result<(), GatewayError> {
        if self.interval_ms < 50 {
            return Err(GatewayError::Config(
                "status.interval_ms must be at least 50".into(),
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(GatewayError::Config(format!(
                "status.public_url `{url}` must start with http:// or https://"
            )));
        }
        if let Some(secret) = &self.webhook_secret {
            let secret = secret.bytes();
            if !(16..=128).contains(&secret.len())
                || !secret
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            {
                return Err(GatewayError::Config(
                    "status.webhook_secret must be 16 to 128 characters of A-Z a-z 0-9 - _".into(),
                ));
            }
        }
        Ok(())
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream: UpstreamConfig::default(),
            auth: AuthConfig::default(),
            policy: Policy::default(),
            budget: Budget::default(),
            trusted_proxies: Vec::new(),
            owner_key: None,
            rebuild_on_start: true,
            status: StatusConfig::default(),
            redis_url: None,
            redis_prefix: None,
            redis_ca_file: None,
            allow_plaintext: false,
            http: HttpConfig::default(),
            allowed_cors_origins: Vec::new(),
        }
    }
}

/// Edgegap's address and the organisation token.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct UpstreamConfig {
    /// Default `https://api.edgegap.com`; `EDGEGAP_BASE_URL` overrides it.
    pub base_url: String,
    /// The organisation token; `EDGEGAP_TOKEN` overrides it. Prefer the variable to the file.
    pub token: SecretText,
    /// Deadline of one upstream call, in seconds (default 15).
    pub timeout_secs: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.edgegap.com".into(),
            token: SecretText::default(),
            timeout_secs: 15,
        }
    }
}

/// Which algorithm a configured public key verifies. Exactly one algorithm is accepted per
/// gateway, so a token signed with another (`none`, or HS256 keyed with the public key) is
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// Ed25519 (`EdDSA`), PEM `PUBLIC KEY`.
    EdDSA,
    /// ECDSA P-256 with SHA-256, PEM `PUBLIC KEY`.
    ES256,
    /// RSA PKCS#1 v1.5 with SHA-256, PEM `PUBLIC KEY` or `RSA PUBLIC KEY`.
    RS256,
}

/// How player tokens are verified.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Shared HS256 secret (`GATEWAY_HS256_SECRET` overrides it).
    pub hs256_secret: Option<SecretText>,
    /// Algorithm of `public_key_pem` / `public_key_file`.
    pub public_key_algorithm: Option<KeyAlgorithm>,
    /// The auth backend's public key, PEM text.
    pub public_key_pem: Option<String>,
    /// The auth backend's public key, a PEM file (relative to the config file).
    pub public_key_file: Option<String>,
    /// Accepted `iss` values; when set, `iss` is required.
    pub issuers: Vec<String>,
    /// Accepted `aud` values; when set, `aud` is required.
    pub audiences: Vec<String>,
    /// Tolerated clock skew on `exp`, `nbf` and `iat`, in seconds (default 30).
    pub leeway_secs: u64,
    /// The oldest token accepted, in seconds since its `iat` (default: no limit). When set,
    /// `iat` is required: a token minted long ago (or with `exp` far in the future) is refused.
    pub max_token_age_secs: Option<u64>,
    /// Development only: callers without a valid token are the player `anon:<their IP>`.
    /// Warns at start.
    pub anonymous: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            public_key_algorithm: None,
            public_key_pem: None,
            public_key_file: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway_secs: 30,
            max_token_age_secs: None,
            anonymous: false,
        }
    }
}

/// One application version clients may deploy (`version = "*"` allows every version).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedVersion {
    /// Application name.
    pub application: String,
    /// Version name, or `*`.
    pub version: String,
}

/// What a client may deploy and how much.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// Allowed application versions; anything else is 403.
    pub allow: Vec<AllowedVersion>,
    /// Environment variable names clients may set (default none).
    pub env_keys: Vec<String>,
    /// Tags clients may set (default none). The gateway's owner tag is always added.
    pub tags: Vec<String>,
    /// Whether clients may set `webhook_on_*` (default `false`).
    pub webhooks: bool,
    /// Whether clients may set `resources` (default `false`).
    pub resources: bool,
    /// Whether clients' own `users` are kept (default `false`: the gateway always uses the
    /// caller's address).
    pub client_users: bool,
    /// Live deployments per player (default 1).
    pub max_live_per_player: u32,
    /// Deploys per player per minute (default 6, as a burst, refilled evenly).
    pub deploys_per_minute: u32,
    /// How long an `Idempotency-Key` is remembered, in seconds (default 600).
    pub idempotency_window_secs: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            env_keys: Vec::new(),
            tags: Vec::new(),
            webhooks: false,
            resources: false,
            client_users: false,
            max_live_per_player: 1,
            deploys_per_minute: 6,
            idempotency_window_secs: 600,
        }
    }
}

impl Policy {
    /// Whether `application` at `version` may be deployed.
    pub(crate) fn allows(&self, application: &str, version: &str) -> bool {
        self.allow
            .iter()
            .any(|a| a.application == application && (a.version == version || a.version == "*"))
    }
}

/// The gateway's own upstream budget, in requests per second, shared by all players. Each
/// is capped at Edgegap's documented limit
/// ([`EndpointClass::documented_limit`]); stop has none documented.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Budget {
    /// `POST /v2/deployments` (at most 40).
    pub deploy_per_second: u32,
    /// `GET /v1/status` (at most 20), also used by ownership checks before a stop.
    pub status_per_second: u32,
    /// `GET /v1/deployments` (at most 10), used by the rebuild at start.
    pub list_per_second: u32,
    /// `DELETE /v1/stop` (default 20).
    pub stop_per_second: u32,
    /// How long a request may wait for budget before it is answered 503, in milliseconds
    /// (default 1000).
    pub max_wait_ms: u64,
    /// Upstream status reads one player's requests may cause, per second (default 2, with a
    /// burst of three times as many): reads of the player's own deployments when the view
    /// has nothing fresh (plain, long-poll, before a stop, quota checks). Beyond it the player
    /// gets 429 with `Retry-After`, and the others keep the global budget.
    pub player_reads_per_second: u32,
}

impl Default for Budget {
    fn default() -> Self {
        let limit = |class: EndpointClass| class.documented_limit().unwrap_or(20);
        Self {
            deploy_per_second: limit(EndpointClass::Deploy),
            status_per_second: limit(EndpointClass::Status),
            list_per_second: limit(EndpointClass::List),
            stop_per_second: 20,
            max_wait_ms: 1000,
            player_reads_per_second: 2,
        }
    }
}

impl Budget {
    fn check(&self) -> Result<(), GatewayError> {
        for (name, value, class) in [
            ("deploy", self.deploy_per_second, EndpointClass::Deploy),
            ("status", self.status_per_second, EndpointClass::Status),
            ("list", self.list_per_second, EndpointClass::List),
            ("stop", self.stop_per_second, EndpointClass::Other),
        ] {
            if value == 0 {
                return Err(GatewayError::Config(format!(
                    "budget.{name}_per_second must be at least 1"
                )));
            }
            if let Some(limit) = class.documented_limit()
                && value > limit
            {
                return Err(GatewayError::Config(format!(
                    "budget.{name}_per_second is {value}; Edgegap documents at most {limit}/s"
                )));
            }
        }
        if self.player_reads_per_second == 0 {
            return Err(GatewayError::Config(
                "budget.player_reads_per_second must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl GatewayConfig {
    /// Reads a TOML file. Relative `auth.public_key_file` paths resolve against its folder.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, GatewayError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| GatewayError::Config(format!("cannot read `{}`: {e}", path.display())))?;
        let mut config = Self::from_toml(&text)?;
        if let Some(dir) = path.parent() {
            for file in [&mut config.auth.public_key_file, &mut config.redis_ca_file]
                .into_iter()
                .flatten()
            {
                *file = dir.join(&*file).to_string_lossy().into_owned();
            }
        }
        Ok(config)
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, GatewayError> {
        toml::from_str(text).map_err(|e| GatewayError::Config(format!("invalid config: {e}")))
    }

    /// Applies the environment overrides: `EDGEGAP_TOKEN`, `EDGEGAP_BASE_URL`, `GATEWAY_BIND`,
    /// `GATEWAY_HS256_SECRET`, `GATEWAY_OWNER_KEY`, `GATEWAY_PUBLIC_KEY_FILE`,
    /// `GATEWAY_PUBLIC_URL`, `GATEWAY_WEBHOOK_SECRET`, `GATEWAY_REDIS_URL`,
    /// `GATEWAY_REDIS_PREFIX`, `GATEWAY_CORS_ORIGINS`.
    pub fn apply_env(&mut self) -> Result<(), GatewayError> {
        self.apply_vars(|name| std::env::var(name).ok())
    }

    /// [`GatewayConfig::apply_env`] with the variables read through `var` (for tests).
    pub(crate) fn apply_vars(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), GatewayError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(token) = var("EDGEGAP_TOKEN") {
            self.upstream.token = SecretText::new(token.trim());
        }
        if let Some(url) = var("EDGEGAP_BASE_URL") {
            self.upstream.base_url = url.trim().to_owned();
        }
        if let Some(bind) = var("GATEWAY_BIND") {
            self.bind = bind.trim().parse().map_err(|_| {
                GatewayError::Config(format!("GATEWAY_BIND `{bind}` is not an address:port"))
            })?;
        }
        if let Some(secret) = var("GATEWAY_HS256_SECRET") {
            self.auth.hs256_secret = Some(SecretText::new(secret));
        }
        if let Some(key) = var("GATEWAY_OWNER_KEY") {
            self.owner_key = Some(SecretText::new(key));
        }
        if let Some(file) = var("GATEWAY_PUBLIC_KEY_FILE") {
            self.auth.public_key_file = Some(file);
        }
        if let Some(url) = var("GATEWAY_PUBLIC_URL") {
            self.status.public_url = Some(url.trim().trim_end_matches('/').to_owned());
        }
        if let Some(url) = var("GATEWAY_REDIS_URL") {
            self.redis_url = Some(SecretText::new(url.trim()));
        }
        if let Some(prefix) = var("GATEWAY_REDIS_PREFIX") {
            self.redis_prefix = Some(prefix.trim().to_owned());
        }
        if let Some(secret) = var("GATEWAY_WEBHOOK_SECRET") {
            self.status.webhook_secret = Some(SecretText::new(secret.trim()));
        }
        if let Some(origins) = var(crate::cors::ENV) {
            self.allowed_cors_origins = crate::cors::from_env(&origins);
        }
        Ok(())
    }

    /// Checks what can be checked without starting.
    pub(crate) fn check(&self) -> Result<(), GatewayError> {
        if self.upstream.token.is_empty() {
            return Err(GatewayError::Config(
                "no organisation token: set EDGEGAP_TOKEN or upstream.token".into(),
            ));
        }
        let base = self.upstream.base_url.trim();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(GatewayError::Config(format!(
                "upstream.base_url `{base}` must start with http:// or https://"
            )));
        }
        self.check_secrets()?;
        self.check_plaintext()?;
        if self.policy.allow.is_empty() {
            return Err(GatewayError::Config(
                "no application version is allowed: add one with allow(app, version) or [[policy.allow]]"
                    .into(),
            ));
        }
        if self.policy.max_live_per_player == 0 || self.policy.deploys_per_minute == 0 {
            return Err(GatewayError::Config(
                "policy.max_live_per_player and policy.deploys_per_minute must be at least 1"
                    .into(),
            ));
        }
        self.budget.check()?;
        self.http.check()?;
        crate::cors::check(&self.allowed_cors_origins)?;
        self.status.check()
    }

    /// No placeholder from an example file, and an HS256 secret long enough to resist
    /// guessing: a gateway that starts with either lets anyone sign tokens for any player.
    fn check_secrets(&self) -> Result<(), GatewayError> {
        let secrets = [
            ("upstream.token (EDGEGAP_TOKEN)", Some(&self.upstream.token)),
            (
                "auth.hs256_secret (GATEWAY_HS256_SECRET)",
                self.auth.hs256_secret.as_ref(),
            ),
            ("owner_key (GATEWAY_OWNER_KEY)", self.owner_key.as_ref()),
            (
                "status.webhook_secret (GATEWAY_WEBHOOK_SECRET)",
                self.status.webhook_secret.as_ref(),
            ),
        ];
        for (name, secret) in secrets {
            if secret.is_some_and(SecretText::is_placeholder) {
                return Err(GatewayError::Config(format!(
                    "{name} is a placeholder (`{PLACEHOLDER}…`): set a real secret"
                )));
            }
        }
        if let Some(secret) = &self.auth.hs256_secret
            && secret.bytes().len() < MIN_HS256_SECRET_BYTES
        {
            return Err(GatewayError::Config(format!(
                "auth.hs256_secret (GATEWAY_HS256_SECRET) is {} bytes; at least \
                 {MIN_HS256_SECRET_BYTES} random bytes are needed (e.g. `openssl rand -base64 48`)",
                secret.bytes().len()
            )));
        }
        Ok(())
    }

    /// `http://` and `redis://` only to loopback, unless `allow_plaintext`.
    fn check_plaintext(&self) -> Result<(), GatewayError> {
        if self.allow_plaintext {
            return Ok(());
        }
        let redis = self.redis_url.as_ref().map(SecretText::expose);
        let urls = [
            ("upstream.base_url", Some(self.upstream.base_url.as_str())),
            ("status.public_url", self.status.public_url.as_deref()),
            ("redis_url", redis),
        ];
        for (name, url) in urls {
            if let Some(host) = url.and_then(plaintext_remote_host) {
                return Err(GatewayError::Config(format!(
                    "{name} sends plaintext to `{host}`, which is not loopback: use https:// \
                     (rediss:// for Redis), or set allow_plaintext = true for a private network"
                )));
            }
        }
        Ok(())
    }
}

/// What every example secret starts with; a secret containing it is refused.
const PLACEHOLDER: &str = "change-me";
/// The shortest HS256 secret accepted (RFC 7518 §3.2: a key as long as the hash).
const MIN_HS256_SECRET_BYTES: usize = 32;

impl SecretText {
    /// Whether this is an example file's placeholder rather than a secret.
    fn is_placeholder(&self) -> bool {
        self.bytes()
            .windows(PLACEHOLDER.len())
            .any(|w| w.eq_ignore_ascii_case(PLACEHOLDER.as_bytes()))
    }
}

/// The host of a plaintext URL (`http://`, `redis://`) that is not loopback; `None` for TLS,
/// loopback, local sockets and anything else.
fn plaintext_remote_host(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("redis")) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials (`redis://:password@host`) are never part of the answer.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback());
    (!loopback).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config that starts: a token and an allowed version.
    fn minimal() -> GatewayConfig {
        let mut config = GatewayConfig::default();
        config.upstream.token = SecretText::new("t");
        config.policy.allow.push(AllowedVersion {
            application: "a".into(),
            version: "*".into(),
        });
        config
    }

    #[test]
    fn env_overrides_the_file_and_the_token_never_prints() {
        let mut config = GatewayConfig::from_toml(
            r#"
            bind = "0.0.0.0:8080"
            [upstream]
            token = "from-file"
            [[policy.allow]]
            application = "game"
            version = "v1"
            "#,
        )
        .unwrap();
        config
            .apply_vars(|name| match name {
                "EDGEGAP_TOKEN" => Some("from-env".into()),
                "GATEWAY_BIND" => Some("127.0.0.1:9000".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.upstream.token.expose(), "from-env");
        assert_eq!(config.bind, SocketAddr::from(([127, 0, 0, 1], 9000)));
        assert!(!format!("{config:?}").contains("from-env"));
        config.check().unwrap();
    }

    #[test]
    fn budgets_above_the_documented_limits_are_refused() {
        let mut config = minimal();
        config.budget.status_per_second = 21;
        let error = config.check().unwrap_err().to_string();
        assert!(error.contains("at most 20"), "{error}");
        config.budget.status_per_second = 20;
        config.check().unwrap();
        assert!(config.policy.allows("a", "anything"));
        assert!(!config.policy.allows("b", "v1"));
    }

    #[test]
    fn the_example_config_parses_and_carries_no_secret() {
        let mut config =
            GatewayConfig::from_toml(include_str!("../../assets/gateway.toml")).unwrap();
        assert!(config.auth.hs256_secret.is_none(), "a shipped secret");
        assert!(config.owner_key.is_none() && config.status.webhook_secret.is_none());
        config.upstream.token = SecretText::new("t");
        // The player-token key comes from the operator (GATEWAY_HS256_SECRET).
        config
            .apply_vars(|name| {
                (name == "GATEWAY_HS256_SECRET").then(|| "k".repeat(MIN_HS256_SECRET_BYTES))
            })
            .unwrap();
        config.check().unwrap();
        assert!(config.policy.allows("my-game", "1.0.0"));
        assert_eq!(config.policy.max_live_per_player, 1);
    }

    #[test]
    fn placeholders_and_short_hs256_secrets_are_refused() {
        let mut config = minimal();
        for (secret, refused) in [
            (
                "change-me-to-a-long-random-secret-from-your-auth-backend",
                true,
            ),
            (
                "a-long-random-secret-but-CHANGE-ME-anyway-please-0123",
                true,
            ),
            ("thirty-one-bytes-is-one-too-few", true),
            ("thirty-two-bytes-is-just-enough!", false),
        ] {
            config.auth.hs256_secret = Some(SecretText::new(secret));
            let result = config.check();
            assert_eq!(result.is_err(), refused, "{secret}: {result:?}");
            if let Err(error) = result {
                assert!(!error.to_string().contains(secret), "{error}");
            }
        }
        config.owner_key = Some(SecretText::new("change-me"));
        assert!(config.check().is_err());
    }

    #[test]
    fn plaintext_leaves_the_machine_only_when_allowed() {
        for (url, remote) in [
            ("http://127.0.0.1:8090", None),
            ("http://localhost:8090/", None),
            ("http://[::1]:8090", None),
            ("http://[::ffff:127.0.0.1]:8090", None),
            ("https://api.edgegap.com", None),
            ("rediss://10.0.0.7:6379/0", None),
            ("redis+unix:///run/redis.sock", None),
            ("http://10.0.0.5:8080", Some("10.0.0.5")),
            ("HTTP://gw.example.com", Some("gw.example.com")),
            ("redis://:hunter2@10.0.0.7:6379/0", Some("10.0.0.7")),
            ("redis://[2001:db8::1]:6379", Some("2001:db8::1")),
        ] {
            assert_eq!(plaintext_remote_host(url).as_deref(), remote, "{url}");
        }
        let mut config = minimal();
        config.redis_url = Some(SecretText::new("redis://:hunter2@10.0.0.7:6379/0"));
        let error = config.check().unwrap_err().to_string();
        assert!(
            error.contains("10.0.0.7") && !error.contains("hunter2"),
            "{error}"
        );
        config.allow_plaintext = true;
        config.check().unwrap();
    }

    #[test]
    fn webhook_settings_come_from_toml_or_env_and_are_checked() {
        let mut config = GatewayConfig::from_toml(
            r#"
            [upstream]
            token = "t"
            [[policy.allow]]
            application = "game"
            version = "v1"
            [status]
            interval_ms = 500
            public_url = "https://gw.example.com"
            "#,
        )
        .unwrap();
        config.check().unwrap();
        assert_eq!(config.status.interval_ms, 500);
        config
            .apply_vars(|name| match name {
                "GATEWAY_PUBLIC_URL" => Some("https://10.0.0.5:8080/".into()),
                "GATEWAY_WEBHOOK_SECRET" => Some("short".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            config.status.public_url.as_deref(),
            Some("https://10.0.0.5:8080")
        );
        let error = config.check().unwrap_err().to_string();
        assert!(error.contains("webhook_secret"), "{error}");
        assert!(!format!("{config:?}").contains("short"));
        config.status.webhook_secret = Some(SecretText::new("a-long_Secret-0123456789"));
        config.check().unwrap();
        config.status.public_url = Some("gw.example.com".into());
        assert!(config.check().is_err());
        config.status.public_url = None;
        config.status.interval_ms = 10;
        assert!(config.check().is_err());
    }

    #[test]
    fn http_bounds_come_from_toml_and_are_checked() {
        let mut config = minimal();
        config.http = GatewayConfig::from_toml(
            "[http]\nheader_read_timeout_ms = 500\nmax_held_per_player = 2\n",
        )
        .unwrap()
        .http;
        assert_eq!(config.http.header_read_timeout_ms, 500);
        assert_eq!(config.http.max_held_per_player, 2);
        assert_eq!(config.http.max_connections, 768);
        config.check().unwrap();
        config.http.request_timeout_ms = 0;
        assert!(config.check().is_err());
        config.http.request_timeout_ms = 1;
        config.http.max_connections = usize::MAX;
        assert!(config.check().is_err());
        config.http.max_connections = 0;
        assert!(config.check().is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = GatewayConfig::from_toml("[policy]\nmax_live = 3\n").unwrap_err();
        assert!(error.to_string().contains("max_live"), "{error}");
    }
}
