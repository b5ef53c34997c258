//! The request timeout (`http.request_timeout_ms`): every request but a held long-poll is
//! answered within it, 503 with `Retry-After` when its handler takes longer. The handler runs
//! as a task of its own, so one cut off here, or whose client went away, still finishes its
//! work: a deploy is never left half-counted, and its retry with the same `Idempotency-Key`
//! answers the server it made.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::status::is_held;
use crate::error::ApiError;

/// `Retry-After` of a request answered 503 by the timeout.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The deadline of one route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub(crate) timeout: Duration,
    /// The route holds some requests (long-poll): those are bounded by their own `wait`.
    pub(crate) holds: bool,
}

/// Middleware: runs the request's handler within its deadline.
pub(crate) async fn bounded(
    State(deadline): State<Deadline>,
    request: Request,
    next: Next,
) -> Response {
    if deadline.holds && is_held(request.uri()) {
        return next.run(request).await;
    }
    let work = tokio::spawn(next.run(request));
    match tokio::time::timeout(deadline.timeout, work).await {
        Ok(Ok(response)) => response,
        Ok(Err(failed)) => {
            tracing::error!("a request handler failed: {failed}");
            ApiError::busy("the gateway failed to answer; retry", RETRY_AFTER).into_response()
        }
        Err(_) => {
            tracing::debug!("a request took longer than {:?}: 503", deadline.timeout);
            ApiError::busy(
                "the gateway did not answer in time; retry (a deploy: with the same \
                 Idempotency-Key, to get the server it may have made)",
                RETRY_AFTER,
            )
            .into_response()
        }
    }
}
