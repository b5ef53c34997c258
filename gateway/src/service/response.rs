//! JSON answers: Edgegap's forwarded as is, and the gateway's own.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bevy_edgegap::api::{HttpResponse, RequestId};

/// `body` as `application/json` with `status`.
pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Edgegap's answer, forwarded as is.
pub(crate) fn forward(response: &HttpResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    json(status, response.body.clone())
}

/// `202 {"request_id": ..}`, as Edgegap answers a deploy.
pub(crate) fn accepted(id: &RequestId) -> Response {
    json(
        StatusCode::ACCEPTED,
        serde_json::json!({ "request_id": id })
            .to_string()
            .into_bytes(),
    )
}
