//! The clocks of the whole crate. [`Instant`] (the transport's and the plugins' wall clock)
//! is `std::time::Instant` natively and `web_time::Instant` in the browser (`wasm32`), where
//! std's `Instant::now` panics; [`system_now`] is the system clock as a std `SystemTime`
//! everywhere (std's `SystemTime::now` panics in the browser too). Bevy's own `bevy::platform::time::Instant` is `web_time`'s only when the app enables
//! Bevy's `web` feature; this alias does not depend on it, and keeps the transport free of Bevy.
//!
//! Every sum is checked ([`after`]): a delay too large to represent means "never", not a
//! panic.

#[cfg(any(feature = "client", feature = "server"))]
use std::time::Duration;

#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "client", feature = "server")
))]
pub(crate) use std::time::Instant;
#[cfg(all(target_arch = "wasm32", any(feature = "client", feature = "server")))]
pub(crate) use web_time::Instant;

/// The system clock, as a std `SystemTime` (so it can be handed to the public functions that
/// take one). In the browser it is read from `web_time`.
pub(crate) fn system_now() -> std::time::SystemTime {
    #[cfg(not(target_arch = "wasm32"))]
    return std::time::SystemTime::now();
    #[cfg(target_arch = "wasm32")]
    return std::time::UNIX_EPOCH
        + web_time::SystemTime::now()
            .duration_since(web_time::UNIX_EPOCH)
            .unwrap_or_default();
}

/// `now + after`, checked: `None` or a sum too large to represent gives a century from now
/// (as good as never for a request), and failing that `now` itself. Never panics.
#[cfg(any(feature = "client", feature = "server"))]
pub(crate) fn after(now: Instant, after: Option<Duration>) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    after
        .and_then(|after| now.checked_add(after))
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

#[cfg(all(test, any(feature = "client", feature = "server")))]
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
