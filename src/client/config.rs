//! [`EdgegapConfig`]: where to send, with which token, and how patiently.

use std::time::Duration;

use bevy::ecs::resource::Resource;

use crate::api::{
    Auth, Credentials, EdgegapError, Endpoint, FleetDeployPath, GATEWAY_ROUTES, GatewayCaller,
    GatewayRoute, HttpRequest, Method, Secret, Target,
};
use crate::http::RetryPolicy;
use crate::transport::RateLimits;

/// Edgegap's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.edgegap.com";

/// How often a tracked deployment's status is polled: `initial`, growing by `multiplier` after
/// each poll that saw no change, up to `max`. A change resets it to `initial`.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    /// First interval, and the interval after a change (default 1 s).
    pub initial: Duration,
    /// Longest interval (default 5 s).
    pub max: Duration,
    /// Growth per unchanged poll (default 1.5).
    pub multiplier: f64,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(5),
            multiplier: 1.5,
        }
    }
}

impl PollPolicy {
    /// The interval after `current` when nothing changed.
    pub fn next(&self, current: Duration) -> Duration {
        current
            .mul_f64(self.multiplier.max(1.0))
            .clamp(self.initial.min(self.max), self.max)
    }
}

/// Whom the client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EdgegapMode {
    /// Edgegap's API (or `edgegap-emulator`) with the organisation token
    /// (`Authorization: token <key>`). For tools, lobbies and servers you run.
    #[default]
    Direct,
    /// An `edgegap-gateway` with a player's token (`Authorization: Bearer <token>`): what a
    /// shipped game uses. It serves deploy, status and stop (so deployment tracking and
    /// `stop_deployment`); any other call resolves at once with [`EdgegapError::Config`].
    /// Deploys may omit `users` and carry an `Idempotency-Key`, identical on every re-send.
    Gateway,
}

/// The client's configuration, copied into a resource of the same type by
/// [`EdgegapClientPlugin`](super::EdgegapClientPlugin). Start from [`EdgegapConfig::new`],
/// [`EdgegapConfig::gateway`] or [`EdgegapConfig::from_env`] and change what you need with the
/// `with_*` methods (each documents its default). Every call reads the resource when it is
/// issued, so it can change at run time, e.g. for a token received after login:
///
/// ```
/// # use bevy::prelude::*;
/// # use bevy_edgegap::prelude::*;
/// fn on_login(mut config: ResMut<EdgegapConfig>) {
///     let updated = config.clone().with_token("player-token-from-login");
///     *config = updated;
/// }
/// ```
///
/// `Debug` prints the token as `***`.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct EdgegapConfig {
    pub(crate) base_url: String,
    pub(crate) token: Secret,
    pub(crate) mode: EdgegapMode,
    pub(crate) deadline: Duration,
    pub(crate) max_in_flight: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limits: RateLimits,
    pub(crate) poll: PollPolicy,
    pub(crate) long_poll: Option<Duration>,
    pub(crate) ready_timeout: Option<Duration>,
    pub(crate) fleet_deploy_path: Option<FleetDeployPath>,
    pub(crate) exit_stop_wait: Duration,
    pub(crate) stop_on_error: bool,
    pub(crate) max_reconciles: u32,
    pub(crate) unobserved_after: u32,
    pub(crate) instance_tag: String,
    pub(crate) startup_sweep: bool,
    pub(crate) root_certificates: Vec<String>,
    pub(crate) max_body_bytes: usize,
}

impl Default for EdgegapConfig {
    /// [`EdgegapConfig::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

/// Builder methods: each sets one setting and documents its default; an optional setting
/// takes the value or `None` (`impl Into<Option<_>>`); a list setting adds one item per call.
impl EdgegapConfig {
    /// A configuration for `base_url` with `token`, other settings at their defaults.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            token: Secret::new(token.into()),
            mode: EdgegapMode::Direct,
            deadline: Duration::from_secs(10),
            max_in_flight: 8,
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::documented(),
            poll: PollPolicy::default(),
            long_poll: Some(crate::api::AwaitStatusChange::MAX_WAIT),
            ready_timeout: Some(Duration::from_secs(300)),
            fleet_deploy_path: None,
            exit_stop_wait: Duration::from_secs(2),
            root_certificates: Vec::new(),
            max_body_bytes: crate::http::DEFAULT_MAX_BODY_BYTES,
            stop_on_error: true,
            max_reconciles: 6,
            unobserved_after: 5,
            instance_tag: crate::api::unique_tag("bi-"),
            startup_sweep: false,
        }
    }

    /// A configuration for an `edgegap-gateway` at `gateway_url`, authenticating with the
    /// player's `player_token` (`Authorization: Bearer <token>`; redacted like the API token).
    /// See [`EdgegapMode::Gateway`] for what it serves.
    pub fn gateway(gateway_url: impl Into<String>, player_token: impl Into<String>) -> Self {
        Self::new(gateway_url, player_token).with_mode(EdgegapMode::Gateway)
    }

    /// Reads `EDGEGAP_TOKEN` and `EDGEGAP_BASE_URL` (default [`DEFAULT_BASE_URL`]). A missing
    /// token is not an error here: every call then resolves as [`EdgegapError::Config`].
    pub fn from_env() -> Self {
        let base_url = std::env::var("EDGEGAP_BASE_URL")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let token = std::env::var("EDGEGAP_TOKEN").unwrap_or_default();
        Self::new(base_url, token)
    }

    /// The API base URL, no trailing slash needed (default [`DEFAULT_BASE_URL`]).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The organisation API token (without the `token ` prefix), or in
    /// [`EdgegapMode::Gateway`] the player's token for the gateway.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Secret::new(token.into());
        self
    }

    /// Edgegap directly (the default), or an `edgegap-gateway` ([`EdgegapConfig::gateway`]).
    #[must_use]
    pub fn with_mode(mut self, mode: EdgegapMode) -> Self {
        self.mode = mode;
        self
    }

    /// Time allowed for one call from its first send to its answer, retries included
    /// (default 10 s). Time waiting in the queue does not count. Past it the call resolves as
    /// [`EdgegapError::Timeout`].
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Requests on the wire at once (default 8): the engine's worker threads. Fifteen times as
    /// many are handed to the engine next in line, so a worker that finishes starts the next
    /// call without waiting for a frame; the rest waits in a FIFO queue. Waiting, in either,
    /// does not count against [`EdgegapConfig::with_deadline`].
    #[must_use]
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// What is retried and how long to wait (default [`RetryPolicy::default`]).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side rate limits (default: Edgegap's documented limits,
    /// [`RateLimits::documented`]).
    #[must_use]
    pub fn with_rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Status polling of tracked deployments (default [`PollPolicy::default`]).
    #[must_use]
    pub fn with_poll(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// In [`EdgegapMode::Gateway`], how long the gateway may hold a status poll until the
    /// status changes (a long-poll, [`AwaitStatusChange`](crate::api::AwaitStatusChange);
    /// default 25 s, the gateway's maximum). A change then reaches the game as soon as the
    /// gateway learns it, with one request per deployment per hold instead of one per
    /// [`EdgegapConfig::with_poll`] interval. `None` polls at intervals, as in direct mode. At
    /// most half of [`EdgegapConfig::with_max_in_flight`] (rounded down: none with a single
    /// worker) are held at once, so a worker is always free for deploys and stops; other
    /// deployments are polled at intervals meanwhile.
    #[must_use]
    pub fn with_long_poll(mut self, wait: impl Into<Option<Duration>>) -> Self {
        self.long_poll = wait.into();
        self
    }

    /// A deployment this app created that is not READY this long after the deploy was issued
    /// is reported failed and stopped (default 5 min; `None` waits forever).
    #[must_use]
    pub fn with_ready_timeout(mut self, ready_timeout: impl Into<Option<Duration>>) -> Self {
        self.ready_timeout = ready_timeout.into();
        self
    }

    /// When set, overrides the path form of every
    /// [`FleetDeployRequest`](crate::api::FleetDeployRequest) (default `None`: each request's
    /// own).
    #[must_use]
    pub fn with_fleet_deploy_path(mut self, path: impl Into<Option<FleetDeployPath>>) -> Self {
        self.fleet_deploy_path = path.into();
        self
    }

    /// On `AppExit`, how long to reconcile uncertain deploys and wait for the stops of
    /// deployments this app created (default 2 s; the exit frame blocks at most this long).
    #[must_use]
    pub fn with_exit_stop_wait(mut self, wait: Duration) -> Self {
        self.exit_stop_wait = wait;
        self
    }

    /// Stop a deployment at once when it reaches `ERROR` (default `true`; Edgegap otherwise
    /// deletes it only "after some time"), and follow it to TERMINATED.
    #[must_use]
    pub fn with_stop_on_error(mut self, stop: bool) -> Self {
        self.stop_on_error = stop;
        self
    }

    /// Searches for the deployment of an uncertain deploy before it is reported failed
    /// (default 6, over about 16 s; the exit searches once more).
    #[must_use]
    pub fn with_max_reconciles(mut self, searches: u32) -> Self {
        self.max_reconciles = searches;
        self
    }

    /// Status polls in a row that must fail before
    /// [`DeploymentUnobserved`](super::DeploymentUnobserved) is reported (default 5). Polling
    /// goes on regardless.
    #[must_use]
    pub fn with_unobserved_after(mut self, failures: u32) -> Self {
        self.unobserved_after = failures;
        self
    }

    /// The tag every deploy of this app instance carries (direct mode; at most 20
    /// characters), e.g. a stable `lobby-eu-1`. Default: a fresh random `bi-…` per
    /// configuration. Set a stable one to let [`EdgegapConfig::with_startup_sweep`] find what
    /// an earlier run left behind.
    #[must_use]
    pub fn with_instance_tag(mut self, tag: impl Into<String>) -> Self {
        self.instance_tag = tag.into();
        self
    }

    /// At startup, bulk-stop every deployment carrying the
    /// [instance tag](EdgegapConfig::with_instance_tag) (default `false`: only with a stable
    /// tag of your own).
    #[must_use]
    pub fn with_startup_sweep(mut self, sweep: bool) -> Self {
        self.startup_sweep = sweep;
        self
    }

    /// Trusts `pem` (one PEM certificate) as a root, in addition to Mozilla's roots, for a
    /// corporate TLS proxy or a test server (default none; ignored in the browser). Call once
    /// per certificate. A certificate that does not parse fails every call with
    /// [`EdgegapError::Config`].
    #[must_use]
    pub fn with_root_certificate(mut self, pem: impl Into<String>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// The largest answer body read, in bytes (default 8 MiB); a longer body fails the call
    /// with [`EdgegapError::Transport`].
    #[must_use]
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// The API base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The token (redacted in `Debug`; [`Secret::expose`] reads it).
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// Edgegap directly, or an `edgegap-gateway`.
    pub fn mode(&self) -> EdgegapMode {
        self.mode
    }

    /// The tag every deploy of this app instance carries (direct mode).
    pub fn instance_tag(&self) -> &str {
        &self.instance_tag
    }

    /// Checks what a call needs: a token, an `http(s)://` base URL, a non-zero deadline and
    /// in-flight cap. The error never contains the token.
    pub fn validate(&self) -> Result<(), EdgegapError> {
        if self.token.is_empty() {
            return Err(EdgegapError::Config(
                "no API token: set EDGEGAP_TOKEN or EdgegapConfig's token".into(),
            ));
        }
        // Visible ASCII, space and tab only: anything else cannot travel in a header value.
        // The message never shows the token.
        if self
            .token
            .expose()
            .bytes()
            .any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b)))
        {
            return Err(EdgegapError::Config(
                "the token contains characters not allowed in an HTTP header value".into(),
            ));
        }
        let base = self.base_url.trim();
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || base.len() <= "https://".len()
        {
            return Err(EdgegapError::Config(format!(
                "the base URL `{base}` must be an http:// or https:// URL"
            )));
        }
        if base.chars().any(char::is_whitespace) {
            return Err(EdgegapError::Config(format!(
                "the base URL `{base}` contains whitespace"
            )));
        }
        if self.deadline.is_zero() {
            return Err(EdgegapError::Config("the deadline is zero".into()));
        }
        if self.max_in_flight == 0 {
            return Err(EdgegapError::Config("max_in_flight is zero".into()));
        }
        if self.mode == EdgegapMode::Direct && !self.instance_tag.is_empty() {
            crate::api::validate::tag_name("instance_tag", &self.instance_tag)
                .map_err(|e| EdgegapError::Config(e.to_string()))?;
        }
        Ok(())
    }
}

impl EdgegapConfig {
    /// Builds `endpoint`'s request for this configuration: checks the configuration, the
    /// call (refused at once when the gateway does not serve it) and the request, then adds
    /// the auth header and, when given, the `Idempotency-Key`.
    pub(crate) fn build<E: Endpoint>(
        &self,
        endpoint: &E,
        idempotency_key: Option<&str>,
    ) -> Result<HttpRequest, EdgegapError> {
        self.validate()?;
        let mut request = match self.mode {
            EdgegapMode::Direct => endpoint.to_request(&self.base_url, &self.token)?,
            EdgegapMode::Gateway => {
                let target = endpoint.target();
                if endpoint.auth() != Auth::ApiToken
                    || !served_by_gateway(endpoint.method(), &target)
                {
                    let what = match &target {
                        Target::Path(path) => path.as_str(),
                        Target::Url(_) => "an injected URL",
                    };
                    let served: Vec<String> = GATEWAY_ROUTES
                        .iter()
                        .filter(|route| route.caller == GatewayCaller::Player)
                        .map(GatewayRoute::describe)
                        .collect();
                    return Err(EdgegapError::Config(format!(
                        "the gateway does not serve `{} {what}` (only {})",
                        endpoint.method().as_str(),
                        served.join(", ")
                    )));
                }
                endpoint.to_request_as(&self.base_url, Credentials::Bearer(&self.token))?
            }
        };
        if let Some(key) = idempotency_key {
            request
                .headers
                .push(("Idempotency-Key".to_owned(), key.to_owned()));
        }
        Ok(request)
    }
}

/// Whether an `edgegap-gateway` serves `method` on `target` to a player: one of the
/// [`GatewayCaller::Player`] routes of [`GATEWAY_ROUTES`](crate::api::GATEWAY_ROUTES)
/// (deploy, status, stop), nothing else.
fn served_by_gateway(method: Method, target: &Target) -> bool {
    let Target::Path(path) = target else {
        return false;
    };
    GatewayRoute::serves_player(method.as_str(), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let config = EdgegapConfig::new("http://127.0.0.1:1", "sup3r-s3cret");
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("sup3r-s3cret"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn bad_config_is_a_typed_error_without_the_token() {
        let no_token = EdgegapConfig::new("http://127.0.0.1:1", "  ");
        assert!(matches!(no_token.validate(), Err(EdgegapError::Config(_))));
        let bad_url = EdgegapConfig::new("ftp://example.com", "sup3r-s3cret");
        let error = bad_url.validate().unwrap_err();
        assert!(matches!(error, EdgegapError::Config(_)));
        assert!(!error.to_string().contains("sup3r-s3cret"));
        assert!(
            EdgegapConfig::new("http://127.0.0.1:1", "t")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn every_builder_method_sets_its_own_setting() {
        let poll = PollPolicy {
            initial: Duration::from_millis(7),
            ..PollPolicy::default()
        };
        let retry = RetryPolicy {
            max_attempts: 9,
            ..RetryPolicy::default()
        };
        let config = EdgegapConfig::new("http://127.0.0.1:1", "a")
            .with_base_url("http://127.0.0.1:2")
            .with_token("b")
            .with_mode(EdgegapMode::Gateway)
            .with_deadline(Duration::from_secs(1))
            .with_max_in_flight(2)
            .with_retry(retry.clone())
            .with_rate_limits(RateLimits::none())
            .with_poll(poll.clone())
            .with_long_poll(None)
            .with_ready_timeout(Duration::from_secs(3))
            .with_fleet_deploy_path(FleetDeployPath::ColonDeploy)
            .with_exit_stop_wait(Duration::from_secs(4))
            .with_stop_on_error(false)
            .with_max_reconciles(5)
            .with_unobserved_after(6)
            .with_instance_tag("lobby-1")
            .with_startup_sweep(true)
            .with_root_certificate("pem-1")
            .with_root_certificate("pem-2")
            .with_max_body_bytes(10);
        let expected = EdgegapConfig {
            base_url: "http://127.0.0.1:2".into(),
            token: Secret::new("b"),
            mode: EdgegapMode::Gateway,
            deadline: Duration::from_secs(1),
            max_in_flight: 2,
            retry,
            rate_limits: RateLimits::none(),
            poll,
            long_poll: None,
            ready_timeout: Some(Duration::from_secs(3)),
            fleet_deploy_path: Some(FleetDeployPath::ColonDeploy),
            exit_stop_wait: Duration::from_secs(4),
            stop_on_error: false,
            max_reconciles: 5,
            unobserved_after: 6,
            instance_tag: "lobby-1".into(),
            startup_sweep: true,
            root_certificates: vec!["pem-1".into(), "pem-2".into()],
            max_body_bytes: 10,
        };
        assert_eq!(config, expected);
        assert_eq!(
            (config.base_url(), config.token().expose(), config.mode()),
            ("http://127.0.0.1:2", "b", EdgegapMode::Gateway)
        );
        assert_eq!(config.instance_tag(), "lobby-1");
        let gateway = EdgegapConfig::gateway("http://127.0.0.1:3", "player");
        assert_eq!(gateway.mode(), EdgegapMode::Gateway);
    }

    #[test]
    fn poll_interval_grows_to_its_cap() {
        let poll = PollPolicy::default();
        let mut interval = poll.initial;
        let mut seen = vec![interval];
        for _ in 0..10 {
            interval = poll.next(interval);
            seen.push(interval);
        }
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*seen.last().unwrap(), poll.max);
        assert!(seen[1] > poll.initial);
    }
}
