//! Every error of the gateway, and how each becomes an answer: [`GatewayError`] (why the
//! gateway could not start), [`UpstreamError`] (why an upstream call has no answer to use) and
//! [`ApiError`] (every refusal a client can get, as one enum that renders as `{"message"}` with
//! the right status). [`StoreError`] and [`UpstreamError`] convert into [`ApiError`], so
//! handlers use `?`.

use std::fmt;
use std::time::Duration;

use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bevy_edgegap::api::EdgegapError;

use crate::store::StoreError;

/// Why the gateway could not start (or a dev token could not be made).
#[derive(Debug)]
#[non_exhaustive]
pub enum GatewayError {
    /// The configuration is incomplete or invalid. Never contains a secret.
    Config(String),
    /// Binding the socket or starting the runtime failed.
    Io(std::io::Error),
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(message) => write!(f, "invalid gateway configuration: {message}"),
            Self::Io(error) => write!(f, "gateway i/o error: {error}"),
        }
    }
}

impl std::error::Error for GatewayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            Self::Config(_) => None,
        }
    }
}

impl From<std::io::Error> for GatewayError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// Why an upstream call has no answer the caller can use: refused before sending (budget,
/// store), or Edgegap's failure (no answer, an unreadable one, an error status).
#[derive(Debug, Clone)]
pub(crate) enum UpstreamError {
    /// Not sent: the global budget is spent for longer than the budget's `max_wait_ms`.
    Budget {
        /// When the budget has room again.
        retry_after: Duration,
    },
    /// Not sent: the player this read is for has spent their own read budget.
    Player {
        /// When their budget has room again.
        retry_after: Duration,
    },
    /// Not sent: the shared store, where the budget lives, did not answer.
    Store(StoreError),
    /// Sent, or tried: what Edgegap (or the way to it) did.
    Edgegap(EdgegapError),
}

impl UpstreamError {
    /// For a call that was not sent: how long to wait before trying again.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Budget { retry_after } | Self::Player { retry_after } => Some(*retry_after),
            Self::Store(_) => Some(STORE_RETRY_AFTER),
            Self::Edgegap(_) => None,
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Budget { retry_after } => write!(
                f,
                "the upstream budget is spent for another {retry_after:?}"
            ),
            Self::Player { retry_after } => write!(
                f,
                "the player's read budget is spent for another {retry_after:?}"
            ),
            Self::Store(error) => error.fmt(f),
            Self::Edgegap(error) => error.fmt(f),
        }
    }
}

impl From<EdgegapError> for UpstreamError {
    fn from(error: EdgegapError) -> Self {
        Self::Edgegap(error)
    }
}

impl From<StoreError> for UpstreamError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// `Retry-After` of a 503 while the shared store does not answer.
const STORE_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A refusal or failure answered to a client, as `{"message": ".."}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// 400: the request is malformed.
    BadRequest(String),
    /// 401: missing, invalid or expired player token.
    Unauthorized(String),
    /// 403: not allowed by the policy.
    Forbidden(String),
    /// 404: unknown, or not the caller's (the same answer, so existence is not revealed).
    NotFound,
    /// 413: the request body is over the gateway's limit.
    TooLarge,
    /// 429: the player's quota or rate.
    TooMany {
        message: String,
        retry_after: Duration,
    },
    /// 502 / 503 with `Retry-After`: Edgegap or the gateway's budget.
    Unavailable {
        status: StatusCode,
        message: String,
        retry_after: Duration,
    },
    /// An Edgegap answer passed on as is (a 4xx on a deploy, 410 on a stop).
    Edgegap { status: StatusCode, message: String },
}

impl ApiError {
    /// 503 with `Retry-After`.
    pub(crate) fn busy(message: impl Into<String>, retry_after: Duration) -> Self {
        Self::Unavailable {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            retry_after,
        }
    }

    /// The answer to a failed upstream call. Messages name the failure, never a token, and
    /// never the upstream transport details.
    pub(crate) fn upstream(error: &EdgegapError) -> Self {
        let bad_gateway = |message: String| Self::Unavailable {
            status: StatusCode::BAD_GATEWAY,
            message,
            retry_after: Duration::from_secs(2),
        };
        match error {
            EdgegapError::Api {
                status: 429,
                retry_after,
                ..
            } => Self::busy(
                "Edgegap is rate limiting the gateway; retry later",
                retry_after.unwrap_or(Duration::from_secs(1)),
            ),
            EdgegapError::Api {
                status: code @ (401 | 403),
                ..
            } => {
                tracing::error!(
                    "edgegap refused the organisation token (HTTP {code}); check EDGEGAP_TOKEN"
                );
                bad_gateway("the gateway could not authenticate with Edgegap".into())
            }
            EdgegapError::Api { status, .. } if *status >= 500 => {
                bad_gateway(format!("Edgegap failed (HTTP {status}); retry later"))
            }
            _ if error.is_not_found() => Self::NotFound,
            EdgegapError::Api {
                status, message, ..
            } => Self::Edgegap {
                status: StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
                message: message.clone(),
            },
            EdgegapError::Invalid { field, reason, .. } => {
                Self::BadRequest(format!("`{field}` {reason}"))
            }
            EdgegapError::Decode { status, .. } => bad_gateway(format!(
                "Edgegap answered {status} with a body the gateway could not read"
            )),
            EdgegapError::Timeout => bad_gateway("Edgegap did not answer in time".into()),
            _ => bad_gateway("Edgegap could not be reached".into()),
        }
    }

    fn parts(&self) -> (StatusCode, &str, Option<Duration>) {
        match self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m, None),
            Self::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m, None),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, m, None),
            Self::NotFound => (StatusCode::NOT_FOUND, "deployment not found", None),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than the gateway accepts",
                None,
            ),
            Self::TooMany {
                message,
                retry_after,
            } => (StatusCode::TOO_MANY_REQUESTS, message, Some(*retry_after)),
            Self::Unavailable {
                status,
                message,
                retry_after,
            } => (*status, message, Some(*retry_after)),
            Self::Edgegap { status, message } => (*status, message, None),
        }
    }
}

impl From<BytesRejection> for ApiError {
    /// A body that could not be read: 413 when over the limit, else 400; as `{"message"}`
    /// like every other answer (axum's own rejection is plain text).
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::TooLarge
        } else {
            Self::BadRequest(rejection.body_text())
        }
    }
}

impl From<StoreError> for ApiError {
    /// 503 with `Retry-After`; the store's error is logged, not answered.
    fn from(error: StoreError) -> Self {
        tracing::error!("{error}");
        Self::busy(
            "the gateway's shared state is unavailable",
            STORE_RETRY_AFTER,
        )
    }
}

impl From<UpstreamError> for ApiError {
    fn from(error: UpstreamError) -> Self {
        match error {
            UpstreamError::Budget { retry_after } => Self::busy(
                "the gateway is at its Edgegap request budget; retry later",
                retry_after,
            ),
            UpstreamError::Player { retry_after } => Self::TooMany {
                message: "too many status reads of Edgegap for this player; retry later".into(),
                retry_after,
            },
            UpstreamError::Store(error) => error.into(),
            UpstreamError::Edgegap(error) => Self::upstream(&error),
        }
    }
}

/// `Retry-After` in whole seconds, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message, retry_after) = self.parts();
        let body = serde_json::json!({ "message": message }).to_string();
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if let Some(wait) = retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(wait)),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2100)), 3);
    }

    #[test]
    fn calls_refused_before_sending_are_503_with_their_retry_after() {
        let budget = UpstreamError::Budget {
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(budget.retry_after(), Some(Duration::from_secs(3)));
        assert!(matches!(
            ApiError::from(budget),
            ApiError::Unavailable {
                status: StatusCode::SERVICE_UNAVAILABLE,
                retry_after,
                ..
            } if retry_after == Duration::from_secs(3)
        ));
        let store = UpstreamError::from(StoreError("redis: IoError".into()));
        assert_eq!(store.retry_after(), Some(STORE_RETRY_AFTER));
        // The store's own error is logged, never answered.
        let ApiError::Unavailable { message, .. } = ApiError::from(store) else {
            panic!("a store failure is 503");
        };
        assert!(!message.contains("redis"), "{message}");
        let edgegap = UpstreamError::from(EdgegapError::Timeout);
        assert_eq!(edgegap.retry_after(), None);
        assert_eq!(
            ApiError::from(edgegap),
            ApiError::upstream(&EdgegapError::Timeout)
        );
    }

    #[test]
    fn upstream_failures_map_to_gateway_answers() {
        let api = |status: u16, message: &str| {
            bevy_edgegap::api::api_error(&bevy_edgegap::api::HttpResponse::new(
                status,
                serde_json::json!({ "message": message }).to_string(),
            ))
        };
        assert!(matches!(
            ApiError::upstream(&api(429, "slow down")),
            ApiError::Unavailable {
                status: StatusCode::SERVICE_UNAVAILABLE,
                ..
            }
        ));
        assert!(matches!(
            ApiError::upstream(&api(401, "bad token")),
            ApiError::Unavailable {
                status: StatusCode::BAD_GATEWAY,
                ..
            }
        ));
        assert!(matches!(
            ApiError::upstream(&api(503, "down")),
            ApiError::Unavailable {
                status: StatusCode::BAD_GATEWAY,
                ..
            }
        ));
        assert_eq!(ApiError::upstream(&api(404, "nope")), ApiError::NotFound);
        assert_eq!(
            ApiError::upstream(&api(400, "Deployment abc not found")),
            ApiError::NotFound
        );
        assert_eq!(
            ApiError::upstream(&api(410, "gone")),
            ApiError::Edgegap {
                status: StatusCode::GONE,
                message: "gone".into()
            }
        );
        assert!(matches!(
            ApiError::upstream(&EdgegapError::Timeout),
            ApiError::Unavailable {
                status: StatusCode::BAD_GATEWAY,
                ..
            }
        ));
    }
}
