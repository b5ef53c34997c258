//! One call to an injected-URL endpoint, polled each frame, never blocking: a one-call
//! [`Transport`] on the shared engine, so the server plugin's calls are sent, timed and retried
//! exactly like the client's (see [`crate::http`] for the time model). The endpoint is the
//! job's payload: the transport judges answers with it and hands it back to decode the last.
//!
//! The call's budget is the policy's [`max_elapsed`](RetryPolicy::max_elapsed) plus one
//! `attempt_timeout` (a retry may start until `max_elapsed`, and then gets a whole attempt);
//! each attempt waits at most `attempt_timeout`.

use std::time::Duration;

use bevy::log::trace;

use crate::api::{EdgegapError, Endpoint, Secret};
use crate::http::RetryPolicy;
use crate::time::Instant;
use crate::transport::{Job, RateLimits, Transport};

/// An endpoint call in progress.
pub(crate) struct Call<E: Endpoint> {
    /// One job, owned by nobody in particular (`()`): it is never cancelled.
    transport: Transport<(), E>,
    what: &'static str,
}

/// How a call ended.
pub(crate) struct Outcome<T> {
    pub result: Result<T, EdgegapError>,
    pub attempts: u32,
}

impl<E: Endpoint> Call<E> {
    /// Prepares the call; fails at once (nothing sent) when the endpoint does not validate.
    pub fn start(
        endpoint: E,
        policy: RetryPolicy,
        attempt_timeout: Duration,
        what: &'static str,
    ) -> Result<Self, EdgegapError> {
        // Injected-URL endpoints authenticate with their own token; the base URL is unused.
        let request = endpoint.to_request("", &Secret::default())?;
        let budget = policy
            .max_elapsed
            .map_or(Duration::MAX, |max| max.saturating_add(attempt_timeout));
        let mut transport = Transport::default();
        transport.enqueue(Job {
            owner: (),
            class: endpoint.class(),
            idempotent: endpoint.idempotent(),
            request: request.into(),
            payload: endpoint,
            budget,
            attempt_timeout: Some(attempt_timeout),
            retry: policy,
            label: what,
            secret_url: true,
            follow_orphan: false,
        });
        Ok(Self { transport, what })
    }

    /// Advances the call; `Some` once it has ended.
    pub fn poll(&mut self, now: Instant) -> Option<Outcome<E::Output>> {
        // Sends the first attempt, or a retry whose backoff is over.
        self.transport
            .dispatch(&RateLimits::none(), 1, now, |()| true);
        let outcome = self.transport.poll(now, |()| true).pop()?;
        let attempts = self.transport.counters.sent as u32;
        let result = outcome.result.and_then(|response| {
            trace!(
                "{}: answer `{}`: {}",
                self.what,
                response.status,
                String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(1000)
                    .collect::<String>()
            );
            outcome.payload.decode(&response)
        });
        Some(Outcome { result, attempts })
    }
}
