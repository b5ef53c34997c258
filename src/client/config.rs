//! [`EdgegapConfig`]: where to send, with which token, and how patiently.

use std::time::Duration;

use bevy::ecs::resource::Resource;

use crate::api::{EdgegapError, FleetDeployPath, Secret};
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

/// The client's configuration, copied into a resource of the same type by
/// [`EdgegapClientPlugin`](super::EdgegapClientPlugin). Change the resource at run time (e.g.
/// a token received after login); every call reads it when it is issued.
///
/// `Debug` prints the token as `***`.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct EdgegapConfig {
    /// API base URL, no trailing slash needed (default [`DEFAULT_BASE_URL`]).
    pub base_url: String,
    /// The organisation API token (without the `token ` prefix).
    pub token: Secret,
    /// Time allowed for one call from its first send to its answer, retries included
    /// (default 10 s). Time waiting in the queue does not count. Past it the call resolves as
    /// [`EdgegapError::Timeout`].
    pub deadline: Duration,
    /// Requests on the wire at once (default 8); more wait in a FIFO queue.
    pub max_in_flight: usize,
    /// What is retried and how long to wait (default [`RetryPolicy::default`]).
    pub retry: RetryPolicy,
    /// Client-side rate limits (default: Edgegap's documented limits).
    pub rate_limits: RateLimits,
    /// Status polling of tracked deployments.
    pub poll: PollPolicy,
    /// A deployment this app created that is not READY this long after the deploy was issued
    /// is reported failed and stopped (default 5 min; `None` waits forever).
    pub ready_timeout: Option<Duration>,
    /// When set, overrides the path form of every [`FleetDeployRequest`](crate::api::FleetDeployRequest).
    pub fleet_deploy_path: Option<FleetDeployPath>,
    /// On `AppExit`, how long to wait for the stops of deployments this app created
    /// (default 2 s; the exit frame blocks at most this long).
    pub exit_stop_wait: Duration,
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
            deadline: Duration::from_secs(10),
            max_in_flight: 8,
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::documented(),
            poll: PollPolicy::default(),
            ready_timeout: Some(Duration::from_secs(300)),
            fleet_deploy_path: None,
            exit_stop_wait: Duration::from_secs(2),
            root_certificates: Vec::new(),
            max_body_bytes: crate::http::DEFAULT_MAX_BODY_BYTES,
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
        Ok(())
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
