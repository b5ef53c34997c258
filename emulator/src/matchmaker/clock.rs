//! The matchmaker's clock: what expansions, expirations and removals are timed on. Wall time
//! by default; a manual clock (tests) moves only when advanced, so timers fire exactly when a
//! test says and never because a machine was slow.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::util::lock;

/// Time since the matchmaker started, plus what it was advanced by.
#[derive(Debug)]
pub(crate) struct Clock {
    started: Instant,
    manual: bool,
    advanced: Mutex<Duration>,
}

impl Clock {
    pub(crate) fn new(manual: bool) -> Self {
        Self {
            started: Instant::now(),
            manual,
            advanced: Mutex::new(Duration::ZERO),
        }
    }

    /// The clock's time.
    pub(crate) fn now(&self) -> Duration {
        let running = if self.manual {
            Duration::ZERO
        } else {
            self.started.elapsed()
        };
        running + *lock(&self.advanced)
    }

    /// Moves the clock forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        let mut advanced = lock(&self.advanced);
        *advanced = advanced.saturating_add(by);
    }

    /// When clock time `t` comes on the wall clock; `None` for a manual clock (it comes only
    /// when advanced).
    pub(crate) fn instant_of(&self, t: Duration) -> Option<tokio::time::Instant> {
        if self.manual {
            return None;
        }
        let wait = t.saturating_sub(self.now());
        Some(tokio::time::Instant::now() + wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::new(true);
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_secs(30));
        assert_eq!(clock.now(), Duration::from_secs(30));
        assert!(clock.instant_of(Duration::from_secs(60)).is_none());
        let running = Clock::new(false);
        running.advance(Duration::from_secs(60));
        assert!(running.now() >= Duration::from_secs(60));
    }
}
