//! The browser engine: each request goes out through [`ehttp`]'s `fetch` backend. The browser
//! owns connections, keep-alive and TLS; deadlines are kept by the caller (a late answer is
//! discarded by the caller). Not built in this repository's CI: no wasm
//! target is installed there.

use std::sync::Arc;

use super::pending::{EngineOptions, ReplyTo, Timing};
use crate::api::{EdgegapError, HttpRequest, HttpResponse};
use crate::time::Instant;

/// Sends through the browser's `fetch`.
#[derive(Debug)]
pub(crate) struct Engine {
    options: EngineOptions,
}

impl Engine {
    /// An engine with `options`.
    pub(crate) fn new(options: EngineOptions) -> Result<Self, EdgegapError> {
        Ok(Self { options })
    }

    /// The options this engine was built with.
    pub(crate) fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Sends `request` with `fetch`, at once (so `timing.start_by` is met or already past),
    /// the answer going to `reply`. The browser has no per-request timeout: the caller gives
    /// up at the end of `timing` and discards a late answer.
    pub(crate) fn send(&self, request: Arc<HttpRequest>, timing: Timing, reply: ReplyTo) {
        let now = Instant::now();
        if now >= timing.start_by || !reply.ticket.start(now) {
            // Too late, or nobody waits for it: not sent.
            reply.answer(Err(EdgegapError::Timeout));
            return;
        }
        let limit = self.options.max_body_bytes;
        let mut headers = ehttp::Headers::default();
        for (name, value) in &request.headers {
            headers.insert(name, value);
        }
        let outgoing = ehttp::Request {
            method: request.method.as_str().to_owned(),
            url: request.url.clone(),
            body: request.body.clone(),
            headers,
            // CORS, the browser's default for `fetch`: the gateway answers cross-origin calls.
            mode: ehttp::Mode::Cors,
        };
        ehttp::fetch(outgoing, move |result| {
            let answer = match result {
                Ok(response) if response.bytes.len() > limit => Err(EdgegapError::transport(
                    true,
                    format!("the answer's body is larger than `{limit}` bytes"),
                )),
                Ok(response) => Ok(HttpResponse {
                    status: response.status,
                    headers: response.headers.headers,
                    body: response.bytes,
                }),
                // fetch rejects without saying whether anything was sent (CORS, network):
                // assume it may have been.
                Err(_) => Err(EdgegapError::transport(true, "the browser's fetch failed")),
            };
            reply.answer(answer);
        });
    }
}

/// The engine behind [`spawn_request`](super::spawn_request).
pub(super) fn shared_engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine {
        options: EngineOptions::default(),
    })
}
