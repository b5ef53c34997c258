//! One call to an injected-URL endpoint, polled each frame, never blocking: a one-call
//! [`Transport`] on the shared engine, so the server plugin's calls are sent, timed and retried
//! exactly like the client's (see [`crate::http`] for the time model).
//!
//! The call's budget is the policy's [`max_elapsed`](RetryPolicy::max_elapsed) plus one
//! `attempt_timeout` (a retry may start until `max_elapsed`, and then gets a whole attempt);
//! each attempt waits at most `attempt_timeout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::ecs::entity::Entity;
use bevy::ecs::world::World;
use bevy::log::trace;

use crate::api::{EdgegapError, Endpoint, HttpResponse, Secret};
use crate::http::RetryPolicy;
use crate::transport::{Delivery, Job, RateLimits, Transport};

/// An endpoint call in progress.
pub(crate) struct Call<E: Endpoint> {
    endpoint: Arc<E>,
    transport: Transport,
    what: &'static str,
}

/// How a call ended.
pub(crate) struct Outcome<T> {
    pub result: Result<T, EdgegapError>,
    pub attempts: u32,
}

/// The transport's view of the endpoint: what counts as a success. The outcome itself is
/// taken by [`Call::poll`], never delivered to a world.
struct Judge<E>(Arc<E>);

impl<E: Endpoint> Delivery for Judge<E> {
    fn is_success(&self, status: u16) -> bool {
        self.0.is_success(status)
    }

    fn deliver(
        self: Box<Self>,
        _world: &mut World,
        _owner: Entity,
        _result: Result<HttpResponse, EdgegapError>,
    ) {
    }
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
        let endpoint = Arc::new(endpoint);
        let budget = policy
            .max_elapsed
            .map_or(Duration::MAX, |max| max.saturating_add(attempt_timeout));
        let job = Job::new(
            Entity::PLACEHOLDER,
            endpoint.class(),
            endpoint.idempotent(),
            request,
            Box::new(Judge(endpoint.clone())),
            budget,
            policy,
            what,
        )
        .with_attempt_timeout(attempt_timeout)
        .with_secret_url();
        let mut transport = Transport::default();
        transport.enqueue(job);
        Ok(Self {
            endpoint,
            transport,
            what,
        })
    }

    /// Advances the call; `Some` once it has ended.
    pub fn poll(&mut self, now: Instant) -> Option<Outcome<E::Output>> {
        // Sends the first attempt, or a retry whose backoff is over.
        self.transport.dispatch(&RateLimits::none(), 1, now);
        let outcome = self.transport.poll(now, |_| true).pop()?;
        let attempts = self.transport.counters.sent as u32;
        let result = match outcome.result {
            Ok(response) => {
                trace!(
                    "{}: answer `{}`: {}",
                    self.what,
                    response.status,
                    String::from_utf8_lossy(&response.body)
                        .chars()
                        .take(1000)
                        .collect::<String>()
                );
                self.endpoint.decode(&response)
            }
            Err(error) => Err(error),
        };
        Some(Outcome { result, attempts })
    }
}
