//! Routes for whoever runs the gateway: `GET /healthz` for the load balancer. Prometheus
//! metrics (`GET /metrics`) come next, here.

use axum::http::StatusCode;
use axum::response::Response;

use super::response::json;

/// `GET /healthz`: `{"status":"ok"}` while the gateway serves.
pub(crate) async fn healthz() -> Response {
    json(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())
}
