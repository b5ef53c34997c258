//! [`EdgegapError`]: every way a call can fail, split by how far the request got.

use std::fmt;
use std::time::Duration;

use super::ids::RequestId;

/// Everything that can go wrong with an Edgegap call.
///
/// Split the way aws-sdk-rust splits failures, by how far the request got:
/// - never sent: [`Invalid`](Self::Invalid), [`Config`](Self::Config);
/// - sent, but no answer: [`Transport`](Self::Transport), [`Timeout`](Self::Timeout)
///   (see [`may_have_been_sent`](Self::may_have_been_sent): a deploy is then *not* retried);
/// - answered, but not decodable: [`Decode`](Self::Decode) keeps the status and raw body;
/// - answered with an API error: [`Api`](Self::Api) keeps status, Edgegap's `message` and the body.
///
/// No variant ever contains a token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EdgegapError {
    /// The request failed client-side validation and was never sent.
    #[non_exhaustive]
    Invalid {
        /// The offending field, as named in Edgegap's JSON (`application`, `tags[2]`, …).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client is not configured well enough to send anything (no token, bad base URL, …).
    Config(String),
    /// Edgegap answered with a status that is not a success for this endpoint.
    #[non_exhaustive]
    Api {
        /// HTTP status code.
        status: u16,
        /// Edgegap's `message`, or the raw body (shortened) when the body is not Edgegap JSON.
        message: String,
        /// The raw body, as text (lossy UTF-8).
        body: String,
        /// The `Retry-After` header, when the answer carried one (typically with 429).
        retry_after: Option<Duration>,
        /// The `request_id` some error bodies carry (v2 deploy 422: created, but in error).
        request_id: Option<RequestId>,
    },
    /// Edgegap answered with a success status, but the body could not be decoded.
    #[non_exhaustive]
    Decode {
        /// HTTP status code.
        status: u16,
        /// The raw body, as text (lossy UTF-8).
        body: String,
        /// What the decoder said.
        error: String,
    },
    /// The connection failed. `may_have_been_sent` is `false` only when the request certainly
    /// did not reach the server (connection refused, DNS failure).
    #[non_exhaustive]
    Transport {
        /// Whether the server may have received and processed the request.
        may_have_been_sent: bool,
        /// What the HTTP layer said.
        message: String,
    },
    /// No answer within the call's deadline. The request may have been processed.
    Timeout,
    /// The call was cancelled before it resolved (its entity despawned, the app exiting).
    Cancelled,
}

impl EdgegapError {
    /// A validation error for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A transport error.
    pub fn transport(may_have_been_sent: bool, message: impl Into<String>) -> Self {
        Self::Transport {
            may_have_been_sent,
            message: message.into(),
        }
    }

    /// A decode error for a success answer.
    pub fn decode(status: u16, body: &[u8], error: impl fmt::Display) -> Self {
        Self::Decode {
            status,
            body: String::from_utf8_lossy(body).into_owned(),
            error: error.to_string(),
        }
    }

    /// The HTTP status, when Edgegap answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `429 Too Many Requests`.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// `404`, or the `400` the live API answers for an unknown deployment id.
    ///
    /// A `400` counts only when Edgegap's message speaks of something not found or unknown,
    /// so a plain validation `400` is not mistaken for it.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Api { status: 404, .. } => true,
            Self::Api {
                status: 400,
                message,
                ..
            } => {
                let m = message.to_ascii_lowercase();
                m.contains("not found") || m.contains("unknown") || m.contains("does not exist")
            }
            _ => false,
        }
    }

    /// `410 Gone` on a stop or self-stop: the deployment was already terminated.
    pub fn is_already_terminated(&self) -> bool {
        self.status() == Some(410)
    }

    /// The `Retry-After` the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The one rule for "try again later" versus "this will not change", used by retries and
    /// by status polling alike: transport failures, timeouts, garbled answers, `408`, `429`
    /// and `5xx` are transient; a rejected request, bad configuration and a cancel are not.
    ///
    /// For a call that is not idempotent (a deploy), a transient error that
    /// [may have been processed](Self::outcome_unknown) must be reconciled, not re-sent.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Timeout | Self::Decode { .. } => true,
            Self::Api { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Self::Invalid { .. } | Self::Config(_) | Self::Cancelled => false,
        }
    }

    /// Whether a non-idempotent call (a deploy) that ended with this error may still have
    /// been carried out: no answer (timeout, connection lost after sending), an undecodable
    /// success answer, a `5xx`, or an API error that names the created `request_id` (v2 `422`).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Timeout | Self::Decode { .. } => true,
            Self::Transport {
                may_have_been_sent, ..
            } => *may_have_been_sent,
            Self::Api {
                status, request_id, ..
            } => (500..=599).contains(status) || request_id.is_some(),
            Self::Invalid { .. } | Self::Config(_) | Self::Cancelled => false,
        }
    }

    /// The `request_id` an error body carried (v2 deploy `422`: created, but in error).
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            Self::Api { request_id, .. } => request_id.as_ref(),
            _ => None,
        }
    }

    /// Whether the request may have reached the server. `false` for errors raised before
    /// sending and for connections that certainly failed; `true` once anything was answered,
    /// and for timeouts.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Self::Invalid { .. } | Self::Config(_) => false,
            Self::Transport {
                may_have_been_sent, ..
            } => *may_have_been_sent,
            Self::Cancelled => true,
            _ => true,
        }
    }
}

impl fmt::Display for EdgegapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid { field, reason } => write!(f, "invalid request: `{field}` {reason}"),
            Self::Config(msg) => write!(f, "edgegap client misconfigured: {msg}"),
            Self::Api {
                status, message, ..
            } => write!(f, "edgegap answered {status}: {message}"),
            Self::Decode { status, error, .. } => {
                write!(f, "could not decode edgegap's {status} answer: {error}")
            }
            Self::Transport {
                may_have_been_sent,
                message,
            } => {
                if *may_have_been_sent {
                    write!(
                        f,
                        "connection to edgegap failed (the request may have been sent): {message}"
                    )
                } else {
                    write!(
                        f,
                        "could not connect to edgegap (nothing was sent): {message}"
                    )
                }
            }
            Self::Timeout => write!(
                f,
                "edgegap did not answer before the deadline (the request may have been processed)"
            ),
            Self::Cancelled => write!(f, "the call was cancelled"),
        }
    }
}

impl std::error::Error for EdgegapError {}
