//! Per-route token buckets: `limit` requests per second, bursts up to `limit`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::classify::Route;

#[derive(Debug)]
struct Bucket {
    per_second: f64,
    tokens: f64,
    last: Instant,
}

/// The rate limiter of every limited route (routes without a limit are never refused).
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    buckets: BTreeMap<Route, Bucket>,
}

impl RateLimits {
    pub(crate) fn new(limits: &BTreeMap<Route, u32>) -> Self {
        let now = Instant::now();
        let buckets = limits
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(route, n)| {
                let per_second = f64::from(*n);
                (
                    *route,
                    Bucket {
                        per_second,
                        tokens: per_second,
                        last: now,
                    },
                )
            })
            .collect();
        Self { buckets }
    }

    /// Takes one request's token; `Err(retry_after)` when the route is over its limit.
    pub(crate) fn check(&mut self, route: Route, now: Instant) -> Result<(), Duration> {
        let Some(bucket) = self.buckets.get_mut(&route) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * bucket.per_second).min(bucket.per_second);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / bucket.per_second,
            ))
        }
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_refills() {
        let mut limits = RateLimits::new(&BTreeMap::from([(Route::Status, 5)]));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limits.check(Route::Status, t0).is_ok());
        }
        let wait = limits.check(Route::Status, t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200));
        assert!(limits.check(Route::Stop, t0).is_ok(), "unlimited route");
        assert!(
            limits
                .check(Route::Status, t0 + Duration::from_millis(250))
                .is_ok()
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
