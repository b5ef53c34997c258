//! Routes for whoever runs the gateway: `GET /healthz` (liveness: the process serves) and
//! `GET /readyz` (readiness: its shared store and Edgegap answer) for the load balancer.
//! `GET /metrics`: Prometheus metrics in the text format (`crate::metrics`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::response::json;
use super::state::AppState;
use crate::error::ApiError;
use crate::metrics::CONTENT_TYPE;

/// `Retry-After` of a 503 from `/readyz`.
const NOT_READY_RETRY_AFTER: Duration = Duration::from_secs(2);

/// `GET /healthz`: `{"status":"ok"}` while the gateway serves.
pub(crate) async fn healthz() -> Response {
    json(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())
}

/// `GET /readyz`: `{"status":"ready"}` while the shared store answers and Edgegap answers with
/// the organisation token (what its last call said, or a one-item list at most every 2 s);
/// else 503 saying which, so the load balancer takes this replica out of rotation.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    if let Err(error) = state.store.health().await {
        tracing::debug!("not ready: {error}");
        return Err(ApiError::busy(
            "not ready: the gateway's shared state does not answer",
            NOT_READY_RETRY_AFTER,
        ));
    }
    if let Err(why) = state.upstream.readiness().await {
        tracing::debug!("not ready: {why}");
        return Err(ApiError::busy(
            format!("not ready: {why}"),
            NOT_READY_RETRY_AFTER,
        ));
    }
    Ok(json(StatusCode::OK, br#"{"status":"ready"}"#.to_vec()))
}

/// `GET /metrics`: this replica's metrics, Prometheus text format (version 0.0.4).
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.render_metrics(),
    )
        .into_response()
}
