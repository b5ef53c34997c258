//! A tiny HTTP/1.1 server on loopback (one thread per connection, `Connection: close`) for
//! the harness: the fault server (`faults`) and the lobby's static files (`files`).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{BAD_GATEWAY_HTML, HANG_HOLD};

/// How long `/slow/` takes to answer.
pub(crate) const SLOW: Duration = Duration::from_millis(300);

use crate::BIG_BODY as BIG;

/// One request: method, path (without the query), and its `Origin` and `Idempotency-Key`.
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    pub origin: Option<String>,
    pub idempotency_key: Option<String>,
}

type Handler = dyn Fn(&Request, &mut TcpStream) + Send + Sync;

/// A running server; stops accepting when dropped.
pub struct Server {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(port: u16, handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        let address = listener.local_addr().expect("a bound address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    if let Some(request) = read_request(&mut stream) {
                        handler(&request, &mut stream);
                    }
                });
            }
        });
        Self { address, stop }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.address);
    }
}

/// Reads the request head (and discards a body of `Content-Length` bytes).
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?;
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let mut origin = None;
    let mut idempotency_key = None;
    let mut length = 0usize;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("origin") {
                origin = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("idempotency-key") {
                idempotency_key = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length.min(1024 * 1024)];
    stream.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        origin,
        idempotency_key,
    })
}

/// Writes a whole answer and closes the connection.
fn answer(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    content_type: &str,
    body: &[u8],
) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// What the fault server saw of one fault name.
#[derive(Default)]
struct Seen {
    /// Requests by method (preflights not counted).
    methods: BTreeMap<String, u64>,
    /// Held requests whose client closed the connection before the hold ended.
    closed_early: u64,
    /// The distinct `Idempotency-Key`s sent.
    idempotency_keys: std::collections::BTreeSet<String>,
    /// Requests being answered now, and the most there ever were at once.
    open: u64,
    max_open: u64,
}

impl Seen {
    fn json(&self) -> Value {
        let mut value = json!({
            "requests": self.methods.values().sum::<u64>(),
            "closed_early": self.closed_early,
            "idempotency_keys": self.idempotency_keys.len(),
            "max_open": self.max_open,
        });
        for (method, n) in &self.methods {
            value[method] = json!(n);
        }
        value
    }
}

/// The fault server. Its CORS allows any origin (a test server: it holds nothing).
///
/// - `/html502/<name>/…`: `502` with [`BAD_GATEWAY_HTML`], as a proxy would answer;
/// - `/slow/<name>/…`: answers `200 {}` after [`SLOW`];
/// - `/big/<name>/…`: answers `200` with a body of [`BIG`] bytes;
/// - `/hang/<name>/…`: holds the request for [`HANG_HOLD`], then answers `200 {}` (late) if
///   the client is still there; a client that closes first is counted;
/// - `/probe/<name>`: `{"requests", "GET", "POST", …, "closed_early", "idempotency_keys"
///   (distinct), "max_open" (most requests answered at once)}` for `<name>`, or what `extra`
///   answers for it;
/// - `OPTIONS` anything: a preflight allowing the client's headers.
pub(crate) fn faults(extra: impl Fn(&str) -> Option<Value> + Send + Sync + 'static) -> Server {
    let seen: Arc<Mutex<BTreeMap<String, Seen>>> = Arc::default();
    Server::start(
        0,
        Arc::new(move |request: &Request, stream: &mut TcpStream| {
            fault(&seen, &extra, request, stream)
        }),
    )
}

/// One request to the fault server.
fn fault(
    seen: &Mutex<BTreeMap<String, Seen>>,
    extra: &dyn Fn(&str) -> Option<Value>,
    request: &Request,
    stream: &mut TcpStream,
) {
    let cors: Vec<(&str, String)> = request
        .origin
        .iter()
        .map(|origin| ("Access-Control-Allow-Origin", origin.clone()))
        .collect();
    if request.method == "OPTIONS" {
        let mut headers = cors.clone();
        headers.push(("Access-Control-Allow-Methods", "GET, POST, DELETE".into()));
        headers.push((
            "Access-Control-Allow-Headers",
            "authorization, content-type, idempotency-key".into(),
        ));
        return answer(stream, "204 No Content", &headers, "text/plain", b"");
    }
    let mut parts = request.path.trim_start_matches('/').splitn(3, '/');
    let (kind, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let lock = || seen.lock().unwrap_or_else(|p| p.into_inner());
    if kind == "probe" {
        let body = extra(name).unwrap_or_else(|| {
            lock()
                .get(name)
                .map(Seen::json)
                .unwrap_or_else(|| Seen::default().json())
        });
        return answer(
            stream,
            "200 OK",
            &cors,
            "application/json",
            body.to_string().as_bytes(),
        );
    }
    if !["html502", "slow", "hang", "big"].contains(&kind) {
        return answer(
            stream,
            "404 Not Found",
            &cors,
            "text/plain",
            b"no such fault",
        );
    }
    {
        let mut seen = lock();
        let seen = seen.entry(name.to_owned()).or_default();
        *seen.methods.entry(request.method.clone()).or_default() += 1;
        seen.idempotency_keys
            .extend(request.idempotency_key.iter().cloned());
        seen.open += 1;
        seen.max_open = seen.max_open.max(seen.open);
    }
    let mut closed_early = false;
    match kind {
        "html502" => answer(
            stream,
            "502 Bad Gateway",
            &cors,
            "text/html",
            BAD_GATEWAY_HTML.as_bytes(),
        ),
        "slow" => {
            std::thread::sleep(SLOW);
            answer(stream, "200 OK", &cors, "application/json", b"{}");
        }
        "big" => answer(stream, "200 OK", &cors, "application/json", &[b' '; BIG]),
        _ => {
            closed_early = closed_before(stream, Instant::now() + HANG_HOLD);
            if !closed_early {
                answer(stream, "200 OK", &cors, "application/json", b"{}");
            }
        }
    }
    let mut seen = lock();
    let seen = seen.entry(name.to_owned()).or_default();
    seen.open -= 1;
    seen.closed_early += u64::from(closed_early);
}

/// Whether the client closes `stream` before `until` (it sends nothing more after its
/// request, so a read returns only at its close).
fn closed_before(stream: &mut TcpStream, until: Instant) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buffer = [0u8; 512];
    while Instant::now() < until {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Serves the files of `dir` (`/` is `index.html`) on `port` (0: any free one), with the
/// content types a page needs.
pub(crate) fn files(dir: PathBuf, port: u16) -> Server {
    Server::start(
        port,
        Arc::new(move |request: &Request, stream: &mut TcpStream| {
            let name = match request.path.trim_start_matches('/') {
                "" => "index.html",
                name => name,
            };
            let file = (!name.contains("..")).then(|| dir.join(name));
            let Some(bytes) = file.as_ref().and_then(|f| std::fs::read(f).ok()) else {
                return answer(stream, "404 Not Found", &[], "text/plain", b"not found");
            };
            let content_type = match name.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("wasm") => "application/wasm",
                Some("css") => "text/css",
                _ => "application/octet-stream",
            };
            answer(stream, "200 OK", &[], content_type, &bytes);
        }),
    )
}
