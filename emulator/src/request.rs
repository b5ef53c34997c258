//! [`Ctx`]: a classified request as the handlers get it.
#![expect(
    clippy::result_large_err,
    reason = "a rejected request is answered at once with the error reply; boxing it buys nothing"
)]

use bytes::Bytes;
use hyper::HeaderMap;
use serde_json::{Value, json};

use crate::classify::Route;
use crate::reply::{self, Reply};

/// What a handler gets: the route, path parameters, decoded query pairs, headers and body.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub route: Route,
    pub params: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// A [`crate::FaultKind::CouldNotAllocate`] fault fired for this request.
    pub could_not_allocate: bool,
}

impl Ctx {
    pub(crate) fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `Authorization` header as sent (raw injected tokens).
    pub(crate) fn raw_authorization(&self) -> Option<&str> {
        self.headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The body as a JSON value, or a 400 naming the problem.
    /// The body as `T`: [`Ctx::json_body`], then `T`'s fields, a mismatch answered `400`
    /// with serde's reason under `detail_key` in `details`.
    pub(crate) fn typed_body<T: serde::de::DeserializeOwned>(
        &self,
        detail_key: &str,
    ) -> Result<T, Reply> {
        typed(self.json_body()?, detail_key)
    }

    pub(crate) fn json_body(&self) -> Result<Value, Reply> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(reply::invalid(
                400,
                "Request body is required (a JSON object)",
                json!({ "body": "missing" }),
            ));
        }
        serde_json::from_slice::<Value>(&self.body).map_err(|e| {
            reply::invalid(
                400,
                format!("Malformed JSON body: {e}"),
                json!({ "body": e.to_string() }),
            )
        })
    }
}

/// `value` as `T`, a mismatch answered `400 Invalid request: …` with serde's reason under
/// `detail_key` in `details`.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    value: Value,
    detail_key: &str,
) -> Result<T, Reply> {
    serde_json::from_value(value).map_err(|e| {
        reply::invalid(
            400,
            format!("Invalid request: {e}"),
            json!({ detail_key: e.to_string() }),
        )
    })
}
