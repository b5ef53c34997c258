//! [`MatchmakerConfig`]: which matchmaker, with which token, and how patiently.

use std::time::Duration;

use bevy::ecs::resource::Resource;

use crate::api::{EdgegapError, MatchmakerAccess, Secret};
use crate::http::RetryPolicy;

/// The client's matchmaker configuration, copied into a resource of the same type by
/// [`MatchmakerPlugin`](super::MatchmakerPlugin): the matchmaker's "API URL" and token from
/// its dashboard page (the token is meant to ship in game clients: it gives no access to the
/// Edgegap account). `Debug` prints the token as `***`. Every call reads the resource when it
/// is issued, so it can change at run time.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct MatchmakerConfig {
    /// The matchmaker's base URL.
    pub base_url: String,
    /// The matchmaker's token, sent raw (`Authorization: <token>`; a pasted `Bearer ` or
    /// `token ` prefix is dropped).
    pub token: Secret,
    /// Time between two polls of a matchmaking entity (default 1 s, Edgegap's SDKs' pace),
    /// plus up to a tenth of it at random so that many clients do not poll in step.
    pub poll_interval: Duration,
    /// The longest wait between two polls after failures or a `429` (default 10 s; a
    /// `Retry-After` above it is cut to it).
    pub max_poll_interval: Duration,
    /// Requests per second this client sends to the matchmaker at most, polls included
    /// (default 10; `None`: unlimited). Polls beyond it wait their turn, oldest first.
    pub rate_limit: Option<u32>,
    /// Requests on the wire at once (default 4): the matchmaker transport's own workers,
    /// apart from the organisation API's.
    pub max_in_flight: usize,
    /// Time allowed for one call, retries included (default 10 s).
    pub deadline: Duration,
    /// Retries of one call: `429` (after `Retry-After`) and, for polls, leaves and ready
    /// changes, `5xx` (default [`RetryPolicy::default`]). A create is never sent twice once it
    /// may have been processed.
    pub retry: RetryPolicy,
}

impl MatchmakerConfig {
    /// The matchmaker at `base_url` with `token`, other settings at their defaults.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            token: Secret::new(token.into()),
            poll_interval: Duration::from_secs(1),
            max_poll_interval: Duration::from_secs(10),
            rate_limit: Some(10),
            max_in_flight: 4,
            deadline: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }

    /// Reads `EDGEGAP_MATCHMAKER_URL` and `EDGEGAP_MATCHMAKER_TOKEN` (what
    /// `edgegap-emulator` prints). Missing values are not an error here: every call then
    /// resolves with [`EdgegapError::Config`].
    pub fn from_env() -> Self {
        let var = |key| std::env::var(key).unwrap_or_default();
        Self::new(
            var("EDGEGAP_MATCHMAKER_URL"),
            var("EDGEGAP_MATCHMAKER_TOKEN"),
        )
    }

    /// Time between two polls (default 1 s).
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Requests per second at most (default 10; `None`: unlimited).
    #[must_use]
    pub fn with_rate_limit(mut self, per_second: impl Into<Option<u32>>) -> Self {
        self.rate_limit = per_second.into();
        self
    }

    /// The base URL and token as the API layer takes them.
    pub fn access(&self) -> MatchmakerAccess {
        MatchmakerAccess::new(self.base_url.clone(), self.token.clone())
    }

    /// Checks what a call needs: an `http(s)://` base URL, a token, a non-zero deadline,
    /// poll interval and in-flight cap. The error never contains the token.
    pub fn validate(&self) -> Result<(), EdgegapError> {
        self.access().validate()?;
        if self.deadline.is_zero() || self.poll_interval.is_zero() || self.max_in_flight == 0 {
            return Err(EdgegapError::Config(
                "the matchmaker's deadline, poll interval and max_in_flight must not be zero"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl Default for MatchmakerConfig {
    /// [`MatchmakerConfig::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}
