//! The one way this crate sends HTTP: an [`HttpRequest`] goes out through
//! [`ehttp`] (the HTTP layer under bevy_http_client) in a task on Bevy's
//! [`IoTaskPool`], and the answer comes back on a channel the ECS polls. Also [`RetryPolicy`],
//! the one backoff rule shared by the client transport and the server's self-stop.
//!
//! Deadlines are not kept here: ehttp (ureq) sets no read timeout, so callers keep their own
//! deadline and drop the [`PendingResponse`]; the late answer is then discarded. The task is
//! detached and always runs to completion, so nothing inside ehttp is torn down early.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bevy::tasks::IoTaskPool;
use crossbeam_channel::{Receiver, TryRecvError};

use crate::api::{EdgegapError, HttpRequest, HttpResponse};

/// An answer on its way. Poll with [`PendingResponse::try_take`]; drop it to discard the answer.
#[derive(Debug)]
pub struct PendingResponse {
    rx: Receiver<Result<HttpResponse, EdgegapError>>,
}

impl PendingResponse {
    /// The answer, once it has arrived. A task that vanished without answering (the task
    /// pool shut down) resolves as a transport error that may have been sent.
    pub fn try_take(&self) -> Option<Result<HttpResponse, EdgegapError>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(EdgegapError::transport(
                true,
                "the HTTP task ended without an answer",
            ))),
        }
    }
}

/// Sends `request` in a detached task on the [`IoTaskPool`] (initialising the pool when no
/// Bevy app has). Uses one ehttp thread while the request is in flight.
pub fn spawn_request(request: HttpRequest) -> PendingResponse {
    let (tx, rx) = crossbeam_channel::bounded(1);
    IoTaskPool::get_or_init(Default::default)
        .spawn(async move {
            let result = send(request).await;
            // The receiver may be gone (deadline passed, call cancelled): the answer is discarded.
            let _ = tx.send(result);
        })
        .detach();
    PendingResponse { rx }
}

/// Sends `request` and awaits the answer (any status code is an answer).
pub async fn send(request: HttpRequest) -> Result<HttpResponse, EdgegapError> {
    let mut headers = ehttp::Headers::default();
    for (name, value) in &request.headers {
        headers.insert(name, value);
    }
    let outgoing = ehttp::Request {
        method: request.method.as_str().to_owned(),
        url: request.url,
        body: request.body,
        headers,
    };
    match ehttp::fetch_async(outgoing).await {
        Ok(response) => Ok(HttpResponse {
            status: response.status,
            headers: response.headers.headers,
            body: response.bytes,
        }),
        Err(message) => Err(EdgegapError::transport(
            !certainly_unsent(&message),
            message,
        )),
    }
}

/// Whether an ehttp/ureq error message says the request never reached a server.
fn certainly_unsent(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "connection refused",
        "dns",
        "failed to lookup",
        "resolve",
        "invalid url",
        "bad url",
        "unknown scheme",
        "network is unreachable",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// Exponential backoff with jitter that honours `Retry-After`, and the rule for what may be
/// retried at all.
///
/// What is retried: transport errors that certainly did not reach the server and `429`
/// always; other transport errors, timeouts and `5xx` only for idempotent calls (a deploy
/// `POST` that may have been processed is never sent twice).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub initial_backoff: Duration,
    /// Longest delay between attempts (also caps `Retry-After`).
    pub max_backoff: Duration,
    /// Growth factor per attempt.
    pub multiplier: f64,
    /// Random spread, as a fraction of the delay (0.2 = ±20 %).
    pub jitter: f64,
    /// Give up once this much time has passed since the first attempt.
    pub max_elapsed: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.2,
            max_elapsed: Some(Duration::from_secs(60)),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Whether `error` may be retried for a call that is (or is not) idempotent.
    pub fn is_retryable(error: &EdgegapError, idempotent: bool) -> bool {
        // Unsent and refused-for-now calls always; the rest by the one transient rule.
        match error {
            EdgegapError::Transport {
                may_have_been_sent: false,
                ..
            }
            | EdgegapError::Api { status: 429, .. } => true,
            _ => idempotent && error.is_transient(),
        }
    }

    /// Whether attempt number `attempts_made + 1` may go out after `error`, `elapsed` after
    /// the first attempt.
    pub fn should_retry(
        &self,
        error: &EdgegapError,
        idempotent: bool,
        attempts_made: u32,
        elapsed: Duration,
    ) -> bool {
        attempts_made < self.max_attempts
            && Self::is_retryable(error, idempotent)
            && self.max_elapsed.is_none_or(|max| elapsed < max)
    }

    /// Delay before retry number `retry` (1 for the first retry). `Retry-After` wins when
    /// present (capped at `max_backoff`); otherwise exponential with jitter.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_backoff);
        }
        let exp = self
            .multiplier
            .max(1.0)
            .powi(retry.saturating_sub(1).min(30) as i32);
        let base = self.initial_backoff.as_secs_f64() * exp;
        let spread = self.jitter.clamp(0.0, 1.0) * (2.0 * random_unit() - 1.0);
        let secs = (base * (1.0 + spread)).clamp(0.0, self.max_backoff.as_secs_f64());
        Duration::from_secs_f64(secs)
    }
}

/// A number in `[0, 1)`, good enough for jitter (not for anything secret).
fn random_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_wins_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(600))),
            policy.max_backoff
        );
    }

    #[test]
    fn backoff_grows_within_jitter_and_cap() {
        let policy = RetryPolicy {
            jitter: 0.2,
            ..RetryPolicy::default()
        };
        for retry in 1..=10 {
            let d = policy.delay(retry, None).as_secs_f64();
            let base = (0.25 * 2f64.powi(retry as i32 - 1)).min(10.0);
            assert!(d <= 10.0 + 1e-9, "retry {retry}: {d} over the cap");
            assert!(
                d >= (base * 0.8).min(10.0) - 1e-9,
                "retry {retry}: {d} under {base}·0.8"
            );
        }
    }

    #[test]
    fn deploy_is_not_retried_when_it_may_have_been_processed() {
        let timeout = EdgegapError::Timeout;
        let refused = EdgegapError::transport(false, "Connection refused");
        let reset = EdgegapError::transport(true, "connection reset");
        let busy = EdgegapError::Api {
            status: 429,
            message: String::new(),
            body: String::new(),
            retry_after: None,
            request_id: None,
        };
        let unavailable = EdgegapError::Api {
            status: 503,
            message: String::new(),
            body: String::new(),
            retry_after: None,
            request_id: None,
        };
        assert!(!RetryPolicy::is_retryable(&timeout, false));
        assert!(!RetryPolicy::is_retryable(&reset, false));
        assert!(!RetryPolicy::is_retryable(&unavailable, false));
        assert!(RetryPolicy::is_retryable(&refused, false));
        assert!(RetryPolicy::is_retryable(&busy, false));
        assert!(RetryPolicy::is_retryable(&timeout, true));
        assert!(RetryPolicy::is_retryable(&unavailable, true));
        assert!(!RetryPolicy::is_retryable(
            &EdgegapError::invalid("a", "b"),
            true
        ));
    }

    #[test]
    fn attempts_and_elapsed_bound_retries() {
        let policy = RetryPolicy {
            max_attempts: 3,
            max_elapsed: Some(Duration::from_secs(5)),
            ..RetryPolicy::default()
        };
        let e = EdgegapError::Timeout;
        assert!(policy.should_retry(&e, true, 2, Duration::from_secs(1)));
        assert!(!policy.should_retry(&e, true, 3, Duration::from_secs(1)));
        assert!(!policy.should_retry(&e, true, 1, Duration::from_secs(6)));
    }

    #[test]
    fn a_refused_connection_is_reported_as_unsent() {
        // Bind then drop a listener: its port is closed on loopback.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let request = HttpRequest {
            method: crate::api::Method::Get,
            url: format!("http://127.0.0.1:{port}/v1/status/x"),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let error = futures_lite::future::block_on(send(request)).unwrap_err();
        assert!(
            matches!(
                error,
                EdgegapError::Transport {
                    may_have_been_sent: false,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn connection_refused_is_certainly_unsent() {
        assert!(certainly_unsent(
            "http://127.0.0.1:9/: Connection Failed: Connect error: Connection refused (os error 111)"
        ));
        assert!(!certainly_unsent(
            "Failed to read response body: connection reset"
        ));
    }
}
