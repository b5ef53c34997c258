//! [`RetryPolicy`]: the one rule for what is retried, when, and for how long — used by the
//! client transport and the server plugin's calls alike.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use crate::api::EdgegapError;

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

    /// The one retry decision of the time model (see [the module docs](crate::http)): after
    /// `error` ended attempt number `attempts_made`, `elapsed` after the call's first send,
    /// the delay before the next attempt — or `None` when the call ends with `error`.
    ///
    /// `None` when [`RetryPolicy::should_retry`] says no, and when the next attempt could not
    /// start before the call's overall `budget` runs out.
    pub fn next_attempt(
        &self,
        error: &EdgegapError,
        idempotent: bool,
        attempts_made: u32,
        elapsed: Duration,
        budget: Duration,
    ) -> Option<Duration> {
        if !self.should_retry(error, idempotent, attempts_made, elapsed) {
            return None;
        }
        let delay = self.delay(attempts_made, error.retry_after());
        (elapsed.saturating_add(delay) < budget).then_some(delay)
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
    let nanos = crate::time::system_now()
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
    fn the_next_attempt_must_start_within_the_budget() {
        let policy = RetryPolicy {
            jitter: 0.0,
            initial_backoff: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        let e = EdgegapError::Timeout;
        let budget = Duration::from_secs(1);
        assert_eq!(
            policy.next_attempt(&e, true, 1, Duration::from_millis(500), budget),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            policy.next_attempt(&e, true, 1, Duration::from_millis(900), budget),
            None,
            "a retry that would start at the budget's end is not made"
        );
        assert_eq!(
            policy.next_attempt(&e, false, 1, Duration::ZERO, budget),
            None,
            "a timed-out POST is not sent again"
        );
        // A huge Retry-After cannot overflow anything: it is capped, then measured.
        let busy = EdgegapError::Api {
            status: 429,
            message: String::new(),
            body: String::new(),
            retry_after: Some(Duration::MAX),
            request_id: None,
        };
        assert_eq!(
            policy.next_attempt(&busy, false, 1, Duration::ZERO, Duration::MAX),
            Some(policy.max_backoff)
        );
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
}
