//! Typed identifiers and secrets.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A deployment's id (Edgegap's `request_id`, e.g. `a69f8e3e0555`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({:?})", self.0)
    }
}

impl From<&str> for RequestId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&String> for RequestId {
    fn from(value: &String) -> Self {
        Self(value.clone())
    }
}

impl From<&RequestId> for RequestId {
    fn from(value: &RequestId) -> Self {
        value.clone()
    }
}

impl AsRef<str> for RequestId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Two fresh 64-bit values: a random per-process seed (std's `RandomState`) mixed with the
/// clock, and a process-wide counter, so no two calls return the same pair.
fn unique_pair() -> (u64, u64) {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = SEED.get_or_init(RandomState::new);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = crate::time::system_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // A browser has no process id (std's panics there): the seed and the clock remain.
    #[cfg(not(target_arch = "wasm32"))]
    let process = std::process::id();
    #[cfg(target_arch = "wasm32")]
    let process = 0u32;
    (seed.hash_one((nanos, process)), count)
}

/// A fresh unique token: `prefix` and 32 hex digits (printable ASCII). Used for idempotency
/// keys; not a secret.
#[cfg(feature = "client")]
pub(crate) fn unique_token(prefix: &str) -> String {
    let (high, count) = unique_pair();
    format!("{prefix}{high:016x}{count:016x}")
}

/// A fresh short tag: `prefix` and 16 hex digits, unique within the process and unlikely to
/// repeat across processes (`prefix` of at most 4 characters keeps it within
/// the 20 characters Edgegap allows a tag). Used for correlation and
/// instance tags, here and in `cargo edgegap deploy`.
pub fn unique_tag(prefix: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::OnceLock;
    static MIX: OnceLock<RandomState> = OnceLock::new();
    let pair = unique_pair();
    format!(
        "{prefix}{:016x}",
        MIX.get_or_init(RandomState::new).hash_one(pair)
    )
}

/// A secret (API token, injected delete or context token). `Debug` and `Display` print `***`;
/// the value is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (or only whitespace).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}
