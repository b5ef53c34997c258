//! A raw TCP server on loopback for the `transport_*` tests: it misbehaves in ways the
//! emulator does not (never answers, drops the connection after reading a request, streams
//! a body without end), and counts what it saw. One thread, non-blocking sockets.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Asserts that `result` is a transport error whose `may_have_been_sent` is `sent`.
pub fn assert_transport_error<T: std::fmt::Debug>(
    result: &Result<T, bevy_edgegap::api::EdgegapError>,
    sent: bool,
) {
    assert!(
        matches!(
            result,
            Err(bevy_edgegap::api::EdgegapError::Transport { may_have_been_sent, .. })
                if *may_have_been_sent == sent
        ),
        "expected a transport error with may_have_been_sent = {sent}: {result:?}"
    );
}

/// What the server does once it has read a whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Never answers; keeps the connection until the client closes it.
    Hang,
    /// Closes the connection without a byte of answer.
    DropAfterRequest,
    /// Answers `200` with a chunked body that never ends.
    EndlessBody,
}

/// The running server; stops on drop.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    /// Connections held open right now (their file descriptors are in this process).
    pub held: Arc<AtomicUsize>,
    /// The request line of every whole request read (`POST /v2/deployments HTTP/1.1`).
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Conn {
    stream: TcpStream,
    read: Vec<u8>,
    /// The request was read and acted on.
    served: bool,
    /// Bytes still to write.
    out: Vec<u8>,
}

impl RawServer {
    /// Starts a server with `behaviour` on `127.0.0.1`.
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, held, requests, stop) = (
                accepted.clone(),
                held.clone(),
                requests.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let mut conns: Vec<Conn> = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    while let Ok((stream, _)) = listener.accept() {
                        stream.set_nonblocking(true).expect("non-blocking");
                        accepted.fetch_add(1, Ordering::SeqCst);
                        held.fetch_add(1, Ordering::SeqCst);
                        conns.push(Conn {
                            stream,
                            read: Vec::new(),
                            served: false,
                            out: Vec::new(),
                        });
                    }
                    conns.retain_mut(|conn| step(conn, behaviour, &requests));
                    held.store(conns.len(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        Self {
            addr,
            accepted,
            held,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request lines starting with `method ` seen so far.
    pub fn count(&self, method: &str) -> usize {
        let prefix = format!("{method} ");
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.starts_with(&prefix))
            .count()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Advances one connection; `false` drops it.
fn step(conn: &mut Conn, behaviour: Behaviour, requests: &Mutex<Vec<String>>) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => return false, // the client closed it
            Ok(n) => conn.read.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
    }
    if !conn.served {
        let Some(line) = whole_request(&conn.read) else {
            return true;
        };
        conn.served = true;
        requests.lock().unwrap().push(line);
        match behaviour {
            Behaviour::Hang => {}
            Behaviour::DropAfterRequest => return false,
            Behaviour::EndlessBody => {
                conn.out.extend_from_slice(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                      Transfer-Encoding: chunked\r\n\r\n",
                );
            }
        }
    }
    if behaviour == Behaviour::EndlessBody {
        // 8 KiB chunks of a JSON string that never closes, as fast as the client reads.
        if conn.out.is_empty() {
            conn.out
                .extend_from_slice(format!("2000\r\n{}\r\n", "a".repeat(0x2000)).as_bytes());
        }
        match conn.stream.write(&conn.out) {
            Ok(n) => {
                conn.out.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
    true
}

/// The request line once the head and `Content-Length` bytes of body have arrived.
fn whole_request(read: &[u8]) -> Option<String> {
    let end = read.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&read[..end]);
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    (read.len() >= end + length).then(|| head.lines().next().unwrap_or_default().to_owned())
}
