//! [`EdgegapConfig`]: where to send, with which token, and how patiently.

use std::time::Duration;

use bevy::ecs::resource::Resource;

use crate::api::{
    Auth, Credentials, EdgegapError, Endpoint, FleetDeployPath, HttpRequest, Secret, Target,
    served_by_gateway,
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
/// [`EdgegapClientPlugin`](super::EdgegapClientPlugin). Change the resource at run time (e.g.
/// a token received after login); every call reads it when it is issued.
///
/// `Debug` prints the token as `***`.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct EdgegapConfig {
    /// API base URL, no trailing slash needed (default [`DEFAULT_BASE_URL`]).
    pub base_url: String,
    /// The organisation API token (without the `token ` prefix), or in
    /// [`EdgegapMode::Gateway`] the player's token for the gateway.
    pub token: Secret,
    /// Edgegap directly, or an `edgegap-gateway` ([`EdgegapConfig::gateway`]).
    pub mode: EdgegapMode,
    /// Time allowed for one call from its first send to its answer, retries included
    /// (default 10 s). Time waiting in the queue does not count. Past it the call resolves as
    /// [`EdgegapError::Timeout`].
    pub deadline: Duration,
    /// Requests on the wire at once (default 8): the engine's worker threads. Three times as
    /// many are handed to the engine next in line, so a worker that finishes starts the next
    /// call without waiting for a frame; the rest waits in a FIFO queue. Waiting, in either,
    /// does not count against [`EdgegapConfig::deadline`].
    pub max_in_flight: usize,
    /// What is retried and how long to wait (default [`RetryPolicy::default`]).
    pub retry: RetryPolicy,
    /// Client-side rate limits (default: Edgegap's documented limits).
    pub rate_limits: RateLimits,
    /// Status polling of tracked deployments.
    pub poll: PollPolicy,
    /// In [`EdgegapMode::Gateway`], how long the gateway may hold a status poll until the
    /// status changes (a long-poll, [`AwaitStatusChange`](crate::api::AwaitStatusChange);
    /// default 25 s, the gateway's maximum). A change then reaches the game as soon as the
    /// gateway learns it, with one request per deployment per hold instead of one per
    /// [`EdgegapConfig::poll`] interval. `None` polls at intervals, as in direct mode. At most
    /// half of [`EdgegapConfig::max_in_flight`] (rounded down: none with a single worker) are
    /// held at once, so a worker is always free for deploys and stops; other deployments are
    /// polled at intervals meanwhile.
    pub long_poll: Option<Duration>,
    /// A deployment this app created that is not READY this long after the deploy was issued
    /// is reported failed and stopped (default 5 min; `None` waits forever).
    pub ready_timeout: Option<Duration>,
    /// When set, overrides the path form of every [`FleetDeployRequest`](crate::api::FleetDeployRequest).
    pub fleet_deploy_path: Option<FleetDeployPath>,
    /// On `AppExit`, how long to reconcile uncertain deploys and wait for the stops of
    /// deployments this app created (default 2 s; the exit frame blocks at most this long).
    pub exit_stop_wait: Duration,
    /// Stop a deployment at once when it reaches `ERROR` (default `true`; Edgegap otherwise
    /// deletes it only "after some time"), and follow it to TERMINATED.
    pub stop_on_error: bool,
    /// Searches for the deployment of an uncertain deploy before it is reported failed
    /// (default 6, over about 16 s; the exit searches once more).
    pub max_reconciles: u32,
    /// Status polls in a row that must fail before [`DeploymentUnobserved`](super::DeploymentUnobserved)
    /// is reported (default 5). Polling goes on regardless.
    pub unobserved_after: u32,
    /// The tag every deploy of this app instance carries (direct mode; at most 20
    /// characters). Default: a fresh random `bi-…` per configuration. Set a stable one to let
    /// [`EdgegapConfig::startup_sweep`] find what an earlier run left behind.
    pub instance_tag: String,
    /// At startup, bulk-stop every deployment carrying [`EdgegapConfig::instance_tag`]
    /// (default `false`: only with a stable tag of your own).
    pub startup_sweep: bool,
    /// Extra root certificates (PEM) trusted in addition to Mozilla's roots, for a
    /// corporate TLS proxy or a test server (default none). Ignored in the browser.
    pub root_certificates: Vec<String>,
    /// Largest answer body read, in bytes (default 8 MiB); a longer body fails the call with
    /// [`EdgegapError::Transport`].
    pub max_body_bytes: usize,
}

impl Default for EdgegapConfig {
    /// [`EdgegapConfig::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

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
        Self {
            mode: EdgegapMode::Gateway,
            ..Self::new(gateway_url, player_token)
        }
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

    /// Sets the per-call deadline.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets [`EdgegapConfig::long_poll`] (gateway mode only; `None`: interval polls).
    #[must_use]
    pub fn with_long_poll(mut self, wait: Option<Duration>) -> Self {
        self.long_poll = wait;
        self
    }

    /// Sets the in-flight cap.
    #[must_use]
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the client-side rate limits.
    #[must_use]
    pub fn with_rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Sets the status-poll policy.
    #[must_use]
    pub fn with_poll(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Sets the ready timeout (`None`: wait forever).
    #[must_use]
    pub fn with_ready_timeout(mut self, ready_timeout: Option<Duration>) -> Self {
        self.ready_timeout = ready_timeout;
        self
    }

    /// Overrides the private-fleet deploy path form.
    #[must_use]
    pub fn with_fleet_deploy_path(mut self, path: FleetDeployPath) -> Self {
        self.fleet_deploy_path = Some(path);
        self
    }

    /// Sets how long the exit frame may wait for orphan stops.
    #[must_use]
    pub fn with_exit_stop_wait(mut self, wait: Duration) -> Self {
        self.exit_stop_wait = wait;
        self
    }

    /// Sets whether `ERROR` deployments are stopped at once.
    #[must_use]
    pub fn with_stop_on_error(mut self, stop: bool) -> Self {
        self.stop_on_error = stop;
        self
    }

    /// Sets how many searches an uncertain deploy gets before it is reported failed.
    #[must_use]
    pub fn with_max_reconciles(mut self, searches: u32) -> Self {
        self.max_reconciles = searches;
        self
    }

    /// Sets this instance's tag (at most 20 characters), e.g. a stable `lobby-eu-1`.
    #[must_use]
    pub fn with_instance_tag(mut self, tag: impl Into<String>) -> Self {
        self.instance_tag = tag.into();
        self
    }

    /// Turns the startup sweep of [`EdgegapConfig::instance_tag`] on or off.
    #[must_use]
    pub fn with_startup_sweep(mut self, sweep: bool) -> Self {
        self.startup_sweep = sweep;
        self
    }

    /// Trusts `pem` (one PEM certificate) as a root, in addition to Mozilla's roots. A
    /// certificate that does not parse fails every call with [`EdgegapError::Config`].
    #[must_use]
    pub fn with_root_certificate(mut self, pem: impl Into<String>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Sets the largest answer body read, in bytes.
    #[must_use]
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
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
                    return Err(EdgegapError::Config(format!(
                        "the gateway does not serve `{} {what}` (only deploy, status and stop)",
                        endpoint.method().as_str()
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
