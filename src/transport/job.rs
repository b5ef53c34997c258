//! One call on its way through the transport: [`Job`], what the caller asks for (a named
//! struct: every field is spelled out where a job is made), and [`Queued`], the job with the
//! transport's record of its attempts.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{Endpoint, EndpointClass, HttpRequest};
use crate::http::{Decode, RetryPolicy, Timing};
use crate::time::{self, Instant};

/// What the transport needs of a job's payload: which answers are a success (anything else
/// may be retried), and optionally how the engine's worker decodes one. The payload itself
/// travels with the job and comes back in its outcome.
pub(crate) trait Payload: Send + Sync + 'static {
    /// Whether `status` is a success for the call.
    fn is_success(&self, status: u16) -> bool;

    /// Decodes a success where it arrives (see [`crate::http::Decode`]); `None`: the caller
    /// decodes the outcome itself.
    fn decoder(&self) -> Option<Arc<dyn Decode>> {
        None
    }
}

/// An endpoint is its own payload: the server plugin's calls get it back to decode with.
impl<E: Endpoint> Payload for E {
    fn is_success(&self, status: u16) -> bool {
        Endpoint::is_success(self, status)
    }
}

/// One call, as its caller hands it to the transport. `O` names who the result is for (the
/// call is cancelled once the owner is gone); `P` is the caller's, returned with the result.
pub(crate) struct Job<O, P> {
    /// Who the result is for.
    pub owner: O,
    /// Rate-limit class.
    pub class: EndpointClass,
    /// Whether sending it twice is harmless.
    pub idempotent: bool,
    /// The request (contains the token: never log it whole), shared with the engine for each
    /// attempt.
    pub request: Arc<HttpRequest>,
    /// Returned with the outcome; judges which answers are a success.
    pub payload: P,
    /// The call's budget: time allowed from the first attempt's start to the final answer,
    /// retries included (see [`crate::http`]).
    pub budget: Duration,
    /// The longest one attempt may wait for its answer (`None`: the rest of the budget).
    pub attempt_timeout: Option<Duration>,
    /// Retry rule.
    pub retry: RetryPolicy,
    /// A short name for logs (`GetStatus`), never containing the token.
    pub label: &'static str,
    /// The URL is an injected one whose path is a secret (self-stop, context): logs show only
    /// its scheme and host.
    pub secret_url: bool,
    /// A request already on the wire is followed to its answer when its owner is gone (a
    /// deploy: the deployment it creates must be stopped); the outcome is then returned for
    /// an owner that no longer exists.
    pub follow_orphan: bool,
}

impl<O, P> Job<O, P> {
    /// What logs show of the URL: its path (the token travels in a header, never in the URL),
    /// or for an injected URL only `scheme://host/***`.
    pub(crate) fn path(&self) -> Cow<'_, str> {
        if self.secret_url {
            return crate::api::redacted_url(&self.request.url).into();
        }
        self.request
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(&self.request.url)
            .into()
    }
}

/// A job and the transport's record of it.
pub(crate) struct Queued<O, P> {
    pub job: Job<O, P>,
    /// Its place in the FIFO (a retry keeps it).
    pub seq: u64,
    /// Attempts handed to the engine so far.
    pub attempts: u32,
    /// When the first attempt started (or, never started, was handed over).
    pub first_sent: Option<Instant>,
    /// A retry waits until then.
    pub not_before: Option<Instant>,
    /// Counted once in `rate_limit_waits`.
    pub counted_rate_wait: bool,
}

impl<O, P> Queued<O, P> {
    /// `job`, at place `seq`, not attempted yet.
    pub(crate) fn new(job: Job<O, P>, seq: u64) -> Self {
        Self {
            job,
            seq,
            attempts: 0,
            first_sent: None,
            not_before: None,
            counted_rate_wait: false,
        }
    }

    /// When the call's budget ends, counted from `first_sent` (`None`: too far to
    /// represent, never).
    pub(crate) fn budget_end(&self, first_sent: Instant) -> Option<Instant> {
        first_sent.checked_add(self.job.budget)
    }

    /// The next attempt's [`Timing`], handed over at `now`. The budget runs from the first
    /// attempt's real start, so time spent waiting for a worker does not count: a first
    /// attempt may wait up to the whole budget to start and then has the budget (or its
    /// attempt timeout); a retry must start and end within what is left of the budget.
    pub(crate) fn timing(&self, now: Instant) -> Timing {
        let job = &self.job;
        match self.first_sent {
            Some(first) => {
                let end = self.budget_end(first);
                Timing {
                    start_by: end.unwrap_or_else(|| time::after(now, None)),
                    answer_by: end,
                    timeout: job.attempt_timeout,
                }
            }
            None => Timing {
                start_by: time::after(now, Some(job.budget)),
                answer_by: None,
                timeout: Some(
                    job.attempt_timeout
                        .map_or(job.budget, |t| t.min(job.budget)),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Method;

    fn job(url: &str, secret_url: bool) -> Job<u32, ()> {
        Job {
            owner: 1,
            class: EndpointClass::Status,
            idempotent: true,
            request: Arc::new(HttpRequest {
                method: Method::Get,
                url: url.into(),
                headers: vec![("Authorization".into(), "token secret".into())],
                body: Vec::new(),
            }),
            payload: (),
            budget: Duration::from_secs(10),
            attempt_timeout: None,
            retry: RetryPolicy::default(),
            label: "Probe",
            secret_url,
            follow_orphan: false,
        }
    }

    #[test]
    fn job_paths_in_logs_have_no_token() {
        let plain = job("http://127.0.0.1:9/v1/status/abc", false);
        assert_eq!(plain.path(), "/v1/status/abc");
        let secret = job("http://10.0.0.1:8080/v1/self/stop/abc/s3cr3t", true);
        assert_eq!(secret.path(), "http://10.0.0.1:8080/***");
        assert!(!format!("{:?}", plain.request).contains("secret"));
    }

    /// Handed-over timings: a first attempt may start within the budget and then has the
    /// budget from its start; a retry has what is left of the budget from the first start.
    #[test]
    fn timings_run_from_the_real_start() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut queued = Queued::new(job("http://h/x", false), 0);
        let first = queued.timing(at(0));
        assert_eq!(first.start_by, at(10_000));
        assert_eq!(first.end(Some(at(5_000))), Some(at(15_000)));
        assert_eq!(first.end(None), Some(at(10_000)));
        queued.first_sent = Some(at(5_000));
        queued.job.attempt_timeout = Some(Duration::from_secs(1));
        let retry = queued.timing(at(6_000));
        assert_eq!(retry.start_by, at(15_000));
        assert_eq!(retry.end(Some(at(7_000))), Some(at(8_000)));
        assert_eq!(retry.end(Some(at(14_500))), Some(at(15_000)));
    }
}
