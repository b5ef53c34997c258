//! One call to an injected-URL endpoint, retried by [`RetryPolicy`] and sent with
//! [`spawn_request`]: polled each frame, never blocking.

use std::time::{Duration, Instant};

use bevy::log::{debug, trace};

use crate::api::{EdgegapError, Endpoint, HttpRequest, Secret};
use crate::http::{PendingResponse, RetryPolicy, spawn_request};

/// An endpoint call in progress.
pub(crate) struct Call<E: Endpoint> {
    endpoint: E,
    request: HttpRequest,
    policy: RetryPolicy,
    attempt_timeout: Duration,
    started: Instant,
    attempts: u32,
    pending: Option<(PendingResponse, Instant)>,
    next_at: Option<Instant>,
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
        Ok(Self {
            endpoint,
            request,
            policy,
            attempt_timeout,
            started: Instant::now(),
            attempts: 0,
            pending: None,
            next_at: Some(Instant::now()),
            what,
        })
    }

    /// Advances the call; `Some` once it has ended.
    pub fn poll(&mut self, now: Instant) -> Option<Outcome<E::Output>> {
        if let Some(at) = self.next_at
            && now >= at
        {
            self.next_at = None;
            self.attempts += 1;
            debug!("{}: attempt `{}`", self.what, self.attempts);
            // `HttpRequest`'s Debug redacts `Authorization`.
            trace!("{}: sending {:?}", self.what, self.request);
            self.pending = Some((
                spawn_request(self.request.clone()),
                now + self.attempt_timeout,
            ));
        }
        let (pending, deadline) = self.pending.as_ref()?;
        let result = match pending.try_take() {
            Some(Ok(response)) => {
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
            Some(Err(error)) => Err(error),
            None if now >= *deadline => Err(EdgegapError::Timeout),
            None => return None,
        };
        // Dropping the pending response discards a late answer.
        self.pending = None;
        match result {
            Ok(output) => Some(Outcome {
                result: Ok(output),
                attempts: self.attempts,
            }),
            Err(error) => {
                let idempotent = self.endpoint.idempotent();
                if self
                    .policy
                    .should_retry(&error, idempotent, self.attempts, now - self.started)
                {
                    let delay = self.policy.delay(self.attempts, error.retry_after());
                    debug!(
                        "{}: attempt `{}` failed ({error}); retrying in `{delay:?}`",
                        self.what, self.attempts
                    );
                    self.next_at = Some(now + delay);
                    None
                } else {
                    Some(Outcome {
                        result: Err(error),
                        attempts: self.attempts,
                    })
                }
            }
        }
    }
}
