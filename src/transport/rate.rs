//! Client-side rate limits: [`RateLimits`] (the setting, per [`EndpointClass`]) and
//! [`RateLimiter`] (one sliding one-second window), with [`PerClass`], a table with one entry
//! per class.

use std::collections::VecDeque;
use std::ops::{Index, IndexMut};
use std::time::Duration;

use crate::api::EndpointClass;
use crate::time::Instant;

/// One value per [`EndpointClass`], indexed by class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PerClass<T>([T; EndpointClass::ALL.len()]);

impl<T> PerClass<T> {
    /// `(class, value)` pairs, in [`EndpointClass::ALL`] order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (EndpointClass, &T)> {
        EndpointClass::ALL.into_iter().zip(&self.0)
    }
}

impl<T> Index<EndpointClass> for PerClass<T> {
    type Output = T;

    fn index(&self, class: EndpointClass) -> &T {
        &self.0[class.index()]
    }
}

impl<T> IndexMut<EndpointClass> for PerClass<T> {
    fn index_mut(&mut self, class: EndpointClass) -> &mut T {
        &mut self.0[class.index()]
    }
}

/// Client-side rate limits, in requests per second, per [`EndpointClass`].
///
/// A limit of `n` lets at most `n` requests of that class start in any one-second window
/// (a sliding window: stricter than a token bucket of the same rate, so the client itself
/// never causes a `429` from a server that counts per second). `None` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    limits: PerClass<Option<u32>>,
}

impl Default for RateLimits {
    /// Edgegap's documented limits ([`EndpointClass::documented_limit`]).
    fn default() -> Self {
        Self::documented()
    }
}

impl RateLimits {
    /// Edgegap's documented limits: deploy 40/s, status 20/s, list 10/s, fleet deploy 40/s,
    /// fleet hosts 10/s, other endpoints unlimited.
    pub fn documented() -> Self {
        Self {
            limits: PerClass(EndpointClass::ALL.map(EndpointClass::documented_limit)),
        }
    }

    /// No client-side limits at all.
    pub fn none() -> Self {
        Self {
            limits: PerClass::default(),
        }
    }

    /// Sets the limit of `class` (`None`: unlimited; `Some(0)` is read as 1).
    #[must_use]
    pub fn with(mut self, class: EndpointClass, per_second: Option<u32>) -> Self {
        self.limits[class] = per_second.map(|n| n.max(1));
        self
    }

    /// The limit of `class`, in requests per second.
    pub fn get(&self, class: EndpointClass) -> Option<u32> {
        self.limits[class]
    }
}

/// At most `limit` starts in any one-second window: a sliding log of the last starts. The
/// requests handed to the engine whose start is not known yet are counted too (the transport
/// passes how many: its in-flight set is the one record of them).
///
/// A request is counted from the moment it is handed over, and once its real start is known
/// it is counted until a second after that start. A request waiting for a worker thus always
/// counts, so however long it waits, the starts in any one-second window never exceed
/// `limit`: when the last request of a window was admitted, every other request of that
/// window was already counted.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateLimiter {
    starts: VecDeque<Instant>,
}

impl RateLimiter {
    const WINDOW: Duration = Duration::from_secs(1);

    fn expire(&mut self, now: Instant) {
        while let Some(&first) = self.starts.front() {
            if now.saturating_duration_since(first) >= Self::WINDOW {
                self.starts.pop_front();
            } else {
                break;
            }
        }
    }

    /// How many requests may start now under `limit`, with `unstarted` handed over and not
    /// started yet.
    pub(crate) fn available(
        &mut self,
        limit: Option<u32>,
        now: Instant,
        unstarted: usize,
    ) -> usize {
        match limit {
            None => usize::MAX,
            Some(limit) => {
                self.expire(now);
                (limit as usize).saturating_sub(self.starts.len() + unstarted)
            }
        }
    }

    /// When the earliest start recorded leaves the window (`None`: none recorded).
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.starts
            .front()
            .and_then(|&first| first.checked_add(Self::WINDOW))
    }

    /// Records a start at `at` (which may be earlier than starts already recorded).
    pub(crate) fn record(&mut self, at: Instant) {
        let i = self.starts.partition_point(|&s| s <= at);
        self.starts.insert(i, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_set_per_class() {
        let documented = RateLimits::documented();
        for class in EndpointClass::ALL {
            assert_eq!(documented.get(class), class.documented_limit(), "{class:?}");
            assert_eq!(RateLimits::none().get(class), None, "{class:?}");
        }
        assert_eq!(RateLimits::default(), documented);
        let limits = RateLimits::none()
            .with(EndpointClass::List, Some(0))
            .with(EndpointClass::Deploy, Some(3));
        assert_eq!(limits.get(EndpointClass::List), Some(1), "0 is read as 1");
        assert_eq!(limits.get(EndpointClass::Deploy), Some(3));
        assert_eq!(limits.get(EndpointClass::FleetDeploy), None);
    }

    #[test]
    fn limiter_never_allows_more_than_n_in_any_window() {
        let mut limiter = RateLimiter::default();
        let start = Instant::now();
        let mut starts = Vec::new();
        for step in 0..300u64 {
            let now = start + Duration::from_millis(step * 7);
            let n = limiter.available(Some(5), now, 0);
            for _ in 0..n {
                limiter.record(now);
                starts.push(now);
            }
        }
        for (i, &a) in starts.iter().enumerate() {
            let in_window = starts[i..]
                .iter()
                .take_while(|&&b| b.duration_since(a) < Duration::from_secs(1))
                .count();
            assert!(in_window <= 5, "{in_window} starts within one second");
        }
        assert!(starts.len() >= 5 * 2);
    }

    #[test]
    fn unstarted_requests_take_their_place_and_late_starts_are_ordered() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(limiter.available(Some(3), at(0), 2), 1);
        limiter.record(at(500));
        // A start learned late, earlier than one already recorded.
        limiter.record(at(100));
        assert_eq!(limiter.available(Some(3), at(600), 0), 1);
        assert_eq!(
            limiter.available(Some(3), at(1100), 0),
            2,
            "the 100 ms start expired"
        );
        assert_eq!(
            limiter.next_expiry(),
            Some(at(1500)),
            "the 500 ms start leaves next"
        );
        assert_eq!(limiter.available(Some(3), at(1500), 0), 3);
        assert_eq!(limiter.next_expiry(), None);
        assert_eq!(limiter.available(None, at(0), 99), usize::MAX);
    }
}
