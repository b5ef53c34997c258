//! The wall clock of the transport and the plugins: [`Instant`] is `std::time::Instant`
//! natively and `web_time::Instant` in the browser (`wasm32`), where std's `Instant::now`
//! panics. Bevy's own `bevy::platform::time::Instant` is `web_time`'s only when the app enables
//! Bevy's `web` feature; this alias does not depend on it, and keeps the transport free of Bevy.
//!
//! Every sum is checked ([`after`]): a delay too large to represent means "never", not a
//! panic.

use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use std::time::Instant;
#[cfg(target_arch = "wasm32")]
pub(crate) use web_time::Instant;

/// `now + after`, checked: `None` or a sum too large to represent gives a century from now
/// (as good as never for a request), and failing that `now` itself. Never panics.
pub(crate) fn after(now: Instant, after: Option<Duration>) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    after
        .and_then(|after| now.checked_add(after))
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_too_large_mean_never_and_never_panic() {
        let now = Instant::now();
        assert_eq!(
            after(now, Some(Duration::from_secs(1))),
            now + Duration::from_secs(1)
        );
        let never = after(now, None);
        assert!(never > now + Duration::from_secs(365 * 86_400));
        assert_eq!(after(now, Some(Duration::MAX)), never);
    }
}
