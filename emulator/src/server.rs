//! The HTTP server: accept loop, and the pipeline every request goes through
//! (record → fault → auth → rate limit → body → route handler).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::AUTHORIZATION;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::classify::{Matched, Route, classify};
use crate::faults::FaultKind;
use crate::handlers;
use crate::reply::{self, Reply};
use crate::request::Ctx;
use crate::state::Shared;
use crate::util::{lock, parse_query};

/// Counts a request as in flight while alive (also when a hung connection is dropped).
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves the deployment API's connections until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let counted = Arc::clone(&shared);
    serve_with(
        listener,
        shutdown,
        move || {
            counted.connections_accepted.fetch_add(1, Ordering::SeqCst);
        },
        move |request, _peer, kill| handle(Arc::clone(&shared), kill, request),
    )
    .await;
}

/// The accept loop every listener of the emulator runs (the deployment API and the
/// matchmaker): HTTP/1.1 keep-alive connections, each request answered by `handler` with the
/// peer's address and a [`Notify`] that closes the connection without answering (a `Hang`
/// fault); `on_accept` is called for each connection. Returns once `shutdown` turns true.
pub(crate) async fn serve_with<H, F>(
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
    on_accept: impl Fn(),
    handler: H,
) where
    H: Fn(Request<Incoming>, SocketAddr, Arc<Notify>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Reply, Infallible>> + Send + 'static,
{
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                on_accept();
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let kill = Arc::new(Notify::new());
                    let service_kill = Arc::clone(&kill);
                    let service = service_fn(move |request| {
                        handler(request, peer, Arc::clone(&service_kill))
                    });
                    // The timer enables hyper's 30 s limit on reading a request's headers.
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        () = kill.notified() => {}
                        _ = shutdown.wait_for(|stop| *stop) => {}
                    }
                });
            }
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// `Authorization: token <key>` (the scheme word case-insensitive, exactly one space).
fn api_token_error(shared: &Shared, headers: &HeaderMap) -> Option<&'static str> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Some("Unauthorized - Missing Token");
    };
    let value = value.to_str().unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("token") => {
            (key != shared.token).then_some("Unauthorized - Invalid Token")
        }
        _ => Some("Unauthorized - expected `Authorization: token <API token>`"),
    }
}

async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    request: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let matched = classify(&method, &path);
    let route = matched.route;
    let seq = shared.record_arrival(route, &method, &path);
    let _in_flight = InFlight::enter(&shared);
    let fault = lock(&shared.faults).pick(route);
    if fault.is_some() {
        shared.count_fault(route);
    }
    let reply = match fault {
        Some(FaultKind::Hang(hold)) => {
            tokio::time::sleep(hold).await;
            kill.notify_one();
            // The connection task drops this request with its connection.
            std::future::pending::<Reply>().await
        }
        Some(FaultKind::Status(status)) => reply::error(
            status,
            format!("injected fault: HTTP {status}"),
            route.is_v2(),
        ),
        Some(FaultKind::RateLimited { retry_after }) => reply::too_many_requests(retry_after),
        Some(FaultKind::Html502) => reply::html_502(),
        Some(FaultKind::Latency(delay)) => {
            // The request is processed at once and its answer is late, as with a slow
            // network: a client that gives up meanwhile (closing the connection, which drops
            // this future) has still had its request carried out, e.g. a deployment created.
            let reply = answer(&shared, matched, request, false).await;
            tokio::time::sleep(delay).await;
            reply
        }
        Some(FaultKind::MalformedJson) => {
            reply::malformed(answer(&shared, matched, request, false).await)
        }
        Some(FaultKind::CouldNotAllocate) => answer(&shared, matched, request, true).await,
        None => answer(&shared, matched, request, false).await,
    };
    shared.record_status(seq, reply.status().as_u16());
    Ok(reply)
}

/// Authenticates, rate-limits, reads the body and dispatches; `could_not_allocate` carries the
/// [`FaultKind::CouldNotAllocate`] fault to the handler.
async fn answer(
    shared: &Arc<Shared>,
    matched: Matched,
    request: Request<Incoming>,
    could_not_allocate: bool,
) -> Reply {
    let route = matched.route;
    if route.needs_api_token()
        && let Some(message) = api_token_error(shared, request.headers())
    {
        return reply::error(401, message, route.is_v2());
    }
    if route == Route::Unknown {
        return reply::unknown_route(
            matched.wrong_method,
            &matched.allow,
            request.method().as_str(),
            request.uri().path(),
        );
    }
    if let Err(wait) = lock(&shared.limits).check(route, Instant::now()) {
        return reply::too_many_requests(wait);
    }
    let query = parse_query(request.uri().query());
    let (parts, body) = request.into_parts();
    let body = if body.is_end_stream() {
        // No body (most GETs): nothing to wait for.
        Bytes::new()
    } else {
        match read_body(shared, route.is_v2(), body).await {
            Ok(body) => body,
            Err(answer) => return answer,
        }
    };
    let ctx = Ctx {
        route,
        params: matched.params,
        query,
        headers: parts.headers,
        body,
        could_not_allocate,
    };
    let reply = handlers::dispatch(shared, &ctx).await;
    if route.is_v2() {
        reply
    } else {
        reply::without_details(reply)
    }
}

/// Reads a request body within `body_timeout` and `max_body_bytes`: 408 (and the connection
/// closed) when it does not arrive in time, 413 when it is too large (`v2`: errors carry
/// `details`).
pub(crate) async fn read_body(shared: &Shared, v2: bool, body: Incoming) -> Result<Bytes, Reply> {
    let collect = Limited::new(body, shared.settings.max_body_bytes).collect();
    let Ok(collected) = tokio::time::timeout(shared.settings.body_timeout, collect).await else {
        let mut answer = reply::error(
            408,
            format!(
                "Request body not received within {} ms",
                shared.settings.body_timeout.as_millis()
            ),
            v2,
        );
        // The rest of the body may still come: the connection cannot be reused.
        answer.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
        return Err(answer);
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => {
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Err(reply::error(
                    413,
                    format!(
                        "Request body too large: at most {} bytes",
                        shared.settings.max_body_bytes
                    ),
                    v2,
                ));
            }
            Err(reply::error(400, "Could not read the request body", v2))
        }
    }
}
