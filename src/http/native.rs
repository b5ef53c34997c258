//! The native engine: `max_in_flight` persistent worker threads fed by a
//! [`crossbeam_channel`] queue, sharing one [`ureq::Agent`] (connection pool, keep-alive,
//! rustls).
//!
//! - **Threads.** An [`Engine`] starts a worker only when a request finds every worker busy,
//!   and never more than its cap; workers live until the engine is dropped (then they finish
//!   the request in hand and exit). So an engine never has more than `max_in_flight` threads.
//! - **Time.** Every request carries its [`Timing`]: when it must start by, and how long it may
//!   take once started. A worker gives ureq what is left of that as the global timeout
//!   (connect, TLS, write, read, body), so a hung server holds a worker at most until then. A
//!   request not started by `start_by` — or whose caller gave up on it (its [`Ticket`]) —
//!   while it waited for a worker is not sent at all.
//! - **Answers** go to the caller's channel with the request's token ([`ReplyTo`]); a success
//!   is decoded there, on the worker, when the request carries a decoder.
//! - **Bodies** are read up to [`EngineOptions::max_body_bytes`]; more is an error.
//! - **Errors** are classified by the kind of ureq error, never by their text: DNS, connect
//!   and TLS-setup failures happen before a byte of the request is written, so they are
//!   "certainly unsent"; anything later may have reached the server. Messages name headers,
//!   never their values.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::pending::{EngineOptions, ReplyTo, Timing};
use crate::api::{EdgegapError, HttpRequest, HttpResponse, Method};
use crate::time::{self, Instant};

/// One request handed to the workers.
struct Work {
    /// Shared with the caller, who keeps it for a retry.
    request: Arc<HttpRequest>,
    /// When it must start, and be answered, by; or [`EdgegapError::Timeout`].
    timing: Timing,
    /// Where the answer goes, with the [`Ticket`] saying whether anybody still waits for it
    /// and when a worker started the request.
    reply: ReplyTo,
}

/// What the workers share.
struct Shared {
    agent: ureq::Agent,
    queue: Receiver<Work>,
    cap: usize,
    max_body_bytes: u64,
    /// Workers started so far (never above `cap`).
    started: AtomicUsize,
    /// Workers waiting for work.
    idle: AtomicUsize,
}

/// The persistent worker pool that sends every native request of this crate. Dropping it
/// lets its workers exit once the request in hand is done.
pub(crate) struct Engine {
    queue: Sender<Work>,
    shared: Arc<Shared>,
    options: EngineOptions,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("max_in_flight", &self.shared.cap)
            .field("workers", &self.workers())
            .field("max_body_bytes", &self.shared.max_body_bytes)
            .finish()
    }
}

impl Engine {
    /// An engine with `options`. Fails with [`EdgegapError::Config`] when a root certificate
    /// is not a PEM certificate. No thread starts before the first request.
    pub(crate) fn new(options: EngineOptions) -> Result<Self, EdgegapError> {
        let cap = options.max_in_flight.max(1);
        let tls = if options.root_certificates.is_empty() {
            TlsConfig::default()
        } else {
            let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .collect();
            for (i, pem) in options.root_certificates.iter().enumerate() {
                let cert = Certificate::from_pem(pem.as_bytes()).map_err(|_| {
                    EdgegapError::Config(format!("root certificate `{i}` is not a PEM certificate"))
                })?;
                roots.push(cert);
            }
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&roots))
                .build()
        };
        let config = ureq::Agent::config_builder()
            // Every status is an answer: the endpoints decide what is a success.
            .http_status_as_error(false)
            // Edgegap's API never redirects; following one would re-send a POST's intent. A 3xx
            // is returned as the answer it is.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .max_idle_connections(cap)
            .max_idle_connections_per_host(cap)
            .user_agent(concat!("bevy_edgegap/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            InlineResolver,
        );
        let (queue, receiver) = crossbeam_channel::unbounded();
        Ok(Self {
            queue,
            shared: Arc::new(Shared {
                agent,
                queue: receiver,
                cap,
                max_body_bytes: options.max_body_bytes as u64,
                started: AtomicUsize::new(0),
                idle: AtomicUsize::new(0),
            }),
            options,
        })
    }

    /// The options this engine was built with.
    pub(crate) fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Worker threads started so far (at most `max_in_flight`).
    pub(crate) fn workers(&self) -> usize {
        self.shared.started.load(Ordering::SeqCst)
    }

    /// Queues `request`, to start and be answered within `timing` (see [`Timing`]), the
    /// answer going to `reply`. Never blocks.
    pub(crate) fn send(&self, request: Arc<HttpRequest>, timing: Timing, reply: ReplyTo) {
        let work = Work {
            request,
            timing,
            reply,
        };
        // The receiver lives in `shared`, which lives as long as `self`: this cannot fail.
        let _ = self.queue.send(work);
        self.grow();
    }

    /// Starts a worker when requests wait and no worker is idle, up to the cap.
    fn grow(&self) {
        let shared = &self.shared;
        while shared.queue.len() > shared.idle.load(Ordering::SeqCst) {
            let started = shared.started.load(Ordering::SeqCst);
            if started >= shared.cap {
                return;
            }
            if shared
                .started
                .compare_exchange(started, started + 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                continue;
            }
            let worker = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("edgegap-http-{started}"))
                .spawn(move || work_loop(&worker));
            if spawned.is_err() {
                // The OS refused a thread: the workers already running drain the queue.
                shared.started.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        }
    }
}

fn work_loop(shared: &Shared) {
    loop {
        shared.idle.fetch_add(1, Ordering::SeqCst);
        let next = shared.queue.recv();
        shared.idle.fetch_sub(1, Ordering::SeqCst);
        let Ok(work) = next else {
            return; // the engine was dropped
        };
        let now = Instant::now();
        let left = if now >= work.timing.start_by {
            None
        } else {
            let end = work
                .timing
                .end(Some(now))
                .unwrap_or_else(|| time::after(now, None));
            end.checked_duration_since(now)
        };
        let result = match left {
            Some(left) if !left.is_zero() => {
                if !work.reply.ticket.start(now) {
                    continue; // nobody waits for the answer: not sent at all
                }
                // A panic inside the HTTP stack must not cost a worker (nor its slot forever).
                let run = || execute(&shared.agent, &work.request, left, shared.max_body_bytes);
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
                    Err(EdgegapError::transport(true, "the HTTP client panicked"))
                })
            }
            _ => Err(EdgegapError::Timeout),
        };
        // The caller may have gone (deadline passed, call cancelled): the answer is discarded.
        work.reply.answer(result);
    }
}

/// The engine behind [`spawn_request`](super::spawn_request): default options, created on
/// first use, never dropped.
pub(super) fn shared_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(EngineOptions::default()).unwrap_or_else(|_| {
            unreachable!("default engine options have no certificate to reject")
        })
    })
}

/// Resolves host names on the worker's own thread. ureq's default resolver starts a helper
/// thread per lookup so that it can give up at the deadline; this one starts none, so an
/// engine's threads are exactly its workers. The cost: a hung system resolver holds its worker
/// past the deadline (the call itself still resolves as `Timeout` on time).
#[derive(Debug)]
struct InlineResolver;

impl ureq::unversioned::resolver::Resolver for InlineResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        use std::net::ToSocketAddrs;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ureq::Error::BadUri(String::new()));
        };
        let target = ureq::unversioned::resolver::DefaultResolver::host_and_port(scheme, authority)
            .ok_or_else(|| ureq::Error::BadUri(String::new()))?;
        let found = target
            .to_socket_addrs()
            .map_err(|_| ureq::Error::HostNotFound)?;
        let mut addrs = self.empty();
        for addr in config.ip_family().keep_wanted(found) {
            if addrs.try_push(addr).is_err() {
                break; // ureq keeps at most 16
            }
        }
        if addrs.is_empty() {
            Err(ureq::Error::HostNotFound)
        } else {
            Ok(addrs)
        }
    }
}

/// Sends `request` on the calling thread with `agent`, allowing it `time` in all.
fn execute(
    agent: &ureq::Agent,
    request: &HttpRequest,
    time: Duration,
    max_body_bytes: u64,
) -> Result<HttpResponse, EdgegapError> {
    let mut builder = ureq::http::Request::builder()
        .method(match request.method {
            Method::Get => ureq::http::Method::GET,
            Method::Post => ureq::http::Method::POST,
            Method::Patch => ureq::http::Method::PATCH,
            Method::Delete => ureq::http::Method::DELETE,
        })
        .uri(request.url.as_str());
    for (name, value) in &request.headers {
        // Checked one by one so a bad one is named; its value is never shown.
        let Ok(header) = ureq::http::HeaderName::from_bytes(name.as_bytes()) else {
            return Err(unsent(format!("`{name}` is not a valid HTTP header name")));
        };
        let Ok(value) = ureq::http::HeaderValue::from_str(value) else {
            return Err(unsent(format!(
                "the value of header `{name}` has characters not allowed in HTTP headers"
            )));
        };
        builder = builder.header(header, value);
    }
    let outgoing = builder
        .body(request.body.as_slice())
        .map_err(|_| unsent("the request URL is not a valid URL".to_owned()))?;
    let outgoing = agent
        .configure_request(outgoing)
        .timeout_global(Some(time))
        .build();
    let mut response = agent.run(outgoing).map_err(classify)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(max_body_bytes)
        .read_to_vec()
        .map_err(|error| match error {
            ureq::Error::BodyExceedsLimit(limit) => EdgegapError::transport(
                true,
                format!("the answer's body is larger than `{limit}` bytes"),
            ),
            other => classify(other),
        })?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Whether `io` carries a rustls error that only a handshake raises (the certificate was
/// refused, no common protocol): the request was not written yet.
fn is_tls_handshake_failure(io: &std::io::Error) -> bool {
    io.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| {
            matches!(
                tls,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
                    | rustls::Error::PeerIncompatible(_)
            )
        })
}

fn unsent(message: String) -> EdgegapError {
    EdgegapError::transport(false, message)
}

/// Maps a ureq error by its kind. "Certainly unsent" only for failures that happen before
/// the first byte of the request is written: building the request, DNS, TCP connect, TLS
/// setup. The message names what failed, never a header value.
pub(super) fn classify(error: ureq::Error) -> EdgegapError {
    use std::io::ErrorKind;
    use ureq::Error as E;
    match error {
        E::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
            unsent("could not connect before the deadline".to_owned())
        }
        E::Timeout(_) => EdgegapError::Timeout,
        E::HostNotFound => unsent("the host name did not resolve".to_owned()),
        E::BadUri(_) | E::Http(_) => unsent("the request URL is not a valid URL".to_owned()),
        E::ConnectionFailed => unsent("the connection could not be opened".to_owned()),
        E::Tls(what) => unsent(format!("TLS setup failed: {what}")),
        E::Pem(_) | E::Rustls(_) => unsent("TLS setup failed".to_owned()),
        E::RequireHttpsOnly(_) | E::TlsRequired => unsent("https is required".to_owned()),
        E::InvalidProxyUrl | E::ConnectProxyFailed(_) => {
            unsent("the proxy connection failed".to_owned())
        }
        E::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused
            | ErrorKind::AddrNotAvailable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable => unsent(format!("could not connect: {io}")),
            ErrorKind::TimedOut | ErrorKind::WouldBlock => EdgegapError::Timeout,
            _ if is_tls_handshake_failure(&io) => unsent(format!("TLS handshake failed: {io}")),
            _ => EdgegapError::transport(true, format!("connection failed: {io}")),
        },
        E::Protocol(_) => {
            EdgegapError::transport(true, "the answer is not valid HTTP/1.1".to_owned())
        }
        E::LargeResponseHeader(..) => {
            EdgegapError::transport(true, "the answer's headers are too large".to_owned())
        }
        E::BodyExceedsLimit(limit) => EdgegapError::transport(
            true,
            format!("the answer's body is larger than `{limit}` bytes"),
        ),
        // Anything else happened after the request may have been written; its text is not
        // shown, in case it quotes a header.
        _ => EdgegapError::transport(true, "the HTTP exchange failed".to_owned()),
    }
}
