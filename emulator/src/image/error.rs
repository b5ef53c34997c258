//! [`PullError`]: why an image could not be made ready to run.

use std::time::Duration;

/// Why an image could not be made ready to run. Never contains a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PullError {
    /// The registry could not be reached, or the connection broke.
    Unreachable { step: String, message: String },
    /// The registry refused the version's credentials (or wants some).
    Unauthorized { registry: String },
    /// The registry has no such manifest or blob.
    NotFound { what: String },
    /// The registry answered with an error status.
    Status {
        step: String,
        status: u16,
        detail: String,
    },
    /// Content did not match its digest.
    DigestMismatch {
        what: String,
        expected: String,
        found: String,
    },
    /// More bytes than allowed (or than the descriptor said).
    TooLarge { what: String, limit: u64 },
    /// An answer broke the protocol, or the image cannot run here.
    Invalid { what: String, message: String },
    /// A layer entry that would write or point outside the image's directory.
    Unsafe { entry: String, why: String },
    /// The whole pull took longer than `time_to_deploy`.
    Timeout { after: Duration },
    /// A local file could not be written.
    Io { what: String, message: String },
}

impl std::fmt::Display for PullError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable { step, message } => {
                write!(f, "registry unreachable while {step}: {message}")
            }
            Self::Unauthorized { registry } => write!(
                f,
                "registry `{registry}` refused the version's credentials (private_username / private_token)"
            ),
            Self::NotFound { what } => write!(f, "{what} not found in the registry"),
            Self::Status {
                step,
                status,
                detail,
            } => write!(f, "registry answered {status} while {step}: {detail}"),
            Self::DigestMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "digest mismatch for {what}: expected `{expected}`, got `{found}`"
            ),
            Self::TooLarge { what, limit } => {
                write!(f, "{what} is larger than its limit of {limit} bytes")
            }
            Self::Invalid { what, message } => write!(f, "{what}: {message}"),
            Self::Unsafe { entry, why } => {
                write!(f, "unsafe layer entry `{entry}`: {why}")
            }
            Self::Timeout { after } => write!(
                f,
                "Pull image timeout exceeded ({} s, the version's time_to_deploy)",
                after.as_secs()
            ),
            Self::Io { what, message } => write!(f, "cannot write {what}: {message}"),
        }
    }
}

impl std::error::Error for PullError {}

pub(crate) fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PullError {
    let what = what.into();
    move |error| PullError::Io {
        what,
        message: error.to_string(),
    }
}
