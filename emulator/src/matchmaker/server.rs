//! The matchmaker's request pipeline: CORS preflight → auth (raw token) → route → body →
//! settle → handler → settle; CORS headers on answers to allowed origins.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::{Body, Incoming};
use hyper::header::{AUTHORIZATION, ORIGIN};
use hyper::{HeaderMap, Request};

use super::Matchmaker;
use super::classify::{MmRoute, classify};
use super::cors;
use super::handlers;
use super::request::Ctx;
use crate::reply::{self, Reply};

/// `Authorization: <token>`, exactly: a missing header, a `Bearer `/`token ` prefix or another
/// token is refused. Compared without early exit on the first differing byte.
fn authorized(mm: &Matchmaker, headers: &HeaderMap) -> bool {
    let Some(sent) = headers.get(AUTHORIZATION) else {
        return false;
    };
    let (sent, expected) = (sent.as_bytes(), mm.token.as_bytes());
    sent.len() == expected.len()
        && sent
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Answers one matchmaker request.
pub(crate) async fn handle(
    mm: Arc<Matchmaker>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Reply, Infallible> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let origin = request
        .headers()
        .get(ORIGIN)
        .filter(|o| {
            o.to_str()
                .is_ok_and(|o| cors::allowed(&mm.config.allowed_cors_origins, o))
        })
        .cloned();
    let reply = if method == "OPTIONS" {
        cors::preflight(origin.as_ref())
    } else {
        let mut reply = answer(&mm, request, peer).await;
        if let Some(origin) = &origin {
            cors::decorate(&mut reply, origin);
        }
        reply
    };
    tracing::trace!(
        "matchmaker: `{method} {}` answered {}",
        path.chars().take(200).collect::<String>(),
        reply.status().as_u16()
    );
    Ok(reply)
}

async fn answer(mm: &Arc<Matchmaker>, request: Request<Incoming>, peer: SocketAddr) -> Reply {
    let matched = classify(request.method().as_str(), request.uri().path());
    if !authorized(mm, request.headers()) {
        return reply::error(
            401,
            "Unauthorized: send the matchmaker token as `Authorization: <token>`, with no prefix",
            false,
        );
    }
    if matched.route == MmRoute::Unknown {
        return reply::unknown_route(
            matched.wrong_method,
            &matched.allow,
            request.method().as_str(),
            request.uri().path(),
        );
    }
    let changes = request.method() != hyper::Method::GET;
    let body = request.into_body();
    let body = if body.is_end_stream() {
        Bytes::new()
    } else {
        match crate::server::read_body(&mm.shared, false, body).await {
            Ok(body) => body,
            Err(answer) => return answer,
        }
    };
    let ctx = Ctx {
        route: matched.route,
        params: matched.params,
        body,
        peer: peer.ip(),
    };
    // Timers due before this request take effect first (an expired ticket is not refreshed
    // by a late poll).
    mm.settle();
    let reply = handlers::dispatch(mm, &ctx);
    if changes {
        mm.settle();
        mm.wake.notify_one();
    }
    reply
}
