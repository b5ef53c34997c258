//! The gateway's own HTTP server: hyper's HTTP/1 with a timer (hyper-util's `TokioTimer`), so
//! no client holds a socket of the gateway for long:
//!
//! - **header-read timeout** (`http.header_read_timeout_ms`, hyper's): from the moment the
//!   gateway waits for a request (a new connection, or a keep-alive one after an answer) until
//!   its headers are complete. Half-sent headers and silent connections are closed;
//! - **keep-alive idle timeout** (`http.idle_timeout_ms`): a connection with no request in
//!   flight for that long is closed (hyper's graceful shutdown: at once when idle);
//! - **connection cap** (`http.max_connections`): beyond it the listener stops accepting, and
//!   further connections wait in the kernel's backlog, so the process never runs out of file
//!   descriptors for Edgegap and Redis.
//!
//! The request timeout (routes that are not held) and the caps on held long-polls are the
//! router's and the status handler's (`service.rs`, `service/status.rs`). On stop, the
//! listener closes, every connection is shut down gracefully (held requests are answered at
//! once), and the server waits for them up to [`SHUTDOWN_GRACE`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::config::HttpConfig;

/// How long a stopping gateway lets requests in flight finish.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// After a failed `accept` (out of file descriptors, …), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How often a failing `accept` is logged at most.
const ACCEPT_WARNING_EVERY: Duration = Duration::from_secs(10);

/// The bounds of every connection, from [`HttpConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    header_read: Duration,
    idle: Duration,
    max_connections: usize,
}

impl From<&HttpConfig> for Limits {
    fn from(config: &HttpConfig) -> Self {
        Self {
            header_read: Duration::from_millis(config.header_read_timeout_ms),
            idle: Duration::from_millis(config.idle_timeout_ms),
            max_connections: config.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `stop` turns `true`, then drains. `open` counts the
/// connections open now ([`GatewayHandle::open_connections`](crate::GatewayHandle)).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    stop: watch::Receiver<bool>,
    limits: Limits,
    open: Arc<AtomicUsize>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut stopping = stop.clone();
    let mut warned: Option<Instant> = None;
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
            _ = stopping.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|s| *s) => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(connection(
                    stream,
                    peer,
                    router.clone(),
                    limits,
                    stop.clone(),
                    permit,
                    Arc::clone(&open),
                ));
            }
            Err(error) => {
                if warned.is_none_or(|at| at.elapsed() >= ACCEPT_WARNING_EVERY) {
                    tracing::warn!("cannot accept connections: {error}");
                    warned = Some(Instant::now());
                }
                drop(permit);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
}

/// One client connection, from accept to close; holds one of the `max_connections` permits.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
) {
    let _open = Open::count(open);
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = Activity::start(&activity);
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(busy);
                response
            }
        })
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let connection = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!("connection from {peer} ended: {error}");
                }
                break;
            }
            () = activity.idle_for(limits.idle), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = stop.wait_for(|s| *s), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
    drop(permit);
}

/// Counts an open connection while it lives.
struct Open(Arc<AtomicUsize>);

impl Open {
    fn count(open: Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Self(open)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Requests in flight on one connection, and when the last one ended.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

/// One request in flight ([`Activity::start`]).
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }

    fn start(activity: &Arc<Self>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(activity))
    }

    /// Resolves once no request has been in flight for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let due = *self.last.lock().unwrap_or_else(PoisonError::into_inner) + idle;
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                tokio::time::sleep(idle).await;
            } else if Instant::now() >= due {
                return;
            } else {
                tokio::time::sleep_until(due.into()).await;
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
