//! Building answers: JSON bodies, Edgegap's error shapes, 429 and the fault bodies.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};

use crate::ratelimit::retry_after_secs;

/// Every answer the emulator sends.
pub(crate) type Reply = Response<Full<Bytes>>;

fn with_body(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON answer.
pub(crate) fn json(status: u16, value: &Value) -> Reply {
    with_body(status, "application/json", value.to_string())
}

/// `{"message"}` (v1) or `{"message", "details": {}}` (v2 routes).
pub(crate) fn error(status: u16, message: impl Into<String>, v2: bool) -> Reply {
    let message = message.into();
    if v2 {
        json(status, &json!({ "message": message, "details": {} }))
    } else {
        json(status, &json!({ "message": message }))
    }
}

/// A 400-style answer naming the problem: `{"message", "details": {field: problem}}`.
pub(crate) fn invalid(status: u16, message: impl Into<String>, details: Value) -> Reply {
    json(
        status,
        &json!({ "message": message.into(), "details": details }),
    )
}

/// A 400 naming `field` and its problem.
pub(crate) fn bad(field: &str, problem: impl Into<String>) -> Reply {
    let problem = problem.into();
    invalid(
        400,
        format!("Invalid request: `{field}` {problem}"),
        json!({ field: problem }),
    )
}

/// v1's `Error` schema is `{"message"}` only: drops the `details` of a 4xx JSON answer (the
/// message already names the field), keeping status and headers.
pub(crate) fn without_details(reply: Reply) -> Reply {
    if !reply.status().is_client_error() {
        return reply;
    }
    let (parts, body) = reply.into_parts();
    let bytes = futures_body(body);
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut object)) if object.contains_key("details") => {
            object.remove("details");
            Bytes::from(Value::Object(object).to_string())
        }
        _ => bytes,
    };
    Response::from_parts(parts, Full::new(body))
}

/// An empty answer (204 on tag delete).
pub(crate) fn empty(status: u16) -> Reply {
    let mut response = with_body(status, "application/json", Bytes::new());
    response.headers_mut().remove(CONTENT_TYPE);
    response
}

/// 429 with `Retry-After` in whole seconds and `{"message"}`.
pub(crate) fn too_many_requests(wait: Duration) -> Reply {
    let secs = retry_after_secs(wait);
    let mut response = json(
        429,
        &json!({ "message": format!("Too Many Requests: rate limit exceeded, retry in {secs} s") }),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// A proxy's 502 page.
pub(crate) fn html_502() -> Reply {
    with_body(
        502,
        "text/html",
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
    )
}

/// Keeps the status (a success one) but cuts the JSON body so it no longer parses.
pub(crate) fn malformed(original: Reply) -> Reply {
    let (parts, body) = original.into_parts();
    // 204 cannot carry a body: a broken body goes out as 200.
    let status = if parts.status.is_success() && parts.status.as_u16() != 204 {
        parts.status.as_u16()
    } else {
        200
    };
    let text = String::from_utf8_lossy(&futures_body(body)).into_owned();
    let cut = text.len() / 2;
    let mut broken: String = text.chars().take(cut.max(1)).collect();
    if broken.is_empty() || broken == text {
        broken = "{\"message\": \"truncat".to_owned();
    }
    with_body(status, "application/json", broken)
}

/// The bytes of a `Full` body (always ready).
fn futures_body(body: Full<Bytes>) -> Bytes {
    use http_body_util::BodyExt;
    let mut collect = std::pin::pin!(body.collect());
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match collect.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Ok(collected)) => collected.to_bytes(),
        _ => Bytes::new(),
    }
}

/// The answer for a path no route serves: 405 with an `Allow` header naming the path's methods
/// when the path exists with other methods (`allow`), else 404.
pub(crate) fn unknown_route(wrong_method: bool, allow: &str, method: &str, path: &str) -> Reply {
    if !wrong_method {
        return error(404, format!("Not found: `{path}`"), false);
    }
    let mut answer = error(
        405,
        format!("Method `{method}` not allowed on `{path}`"),
        false,
    );
    if let Ok(allow) = HeaderValue::from_str(allow) {
        answer.headers_mut().insert(hyper::header::ALLOW, allow);
    }
    answer
}

/// The answer for an unknown deployment id.
pub(crate) fn unknown_deployment(status: u16, id: &str) -> Reply {
    error(status, format!("Deployment {id} not found"), false)
}
