//! A loopback proxy for the self-stop (`DELETE $ARBITRIUM_DELETE_URL`) that fixes the order in
//! which the server sees Edgegap's answer and `SIGTERM`, which the emulator leaves to chance
//! (it signals the process while it answers):
//! - [`Order::SigtermFirst`]: forwards the request at once (the emulator stops the deployment:
//!   `SIGTERM`), then holds the emulator's real answer for [`HOLD`] before relaying it;
//! - [`Order::AnswerFirst`]: answers `200` at once, as Edgegap does before its container stop,
//!   and forwards the request (so `SIGTERM`) only once `release` says the server saw the answer.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bevy_edgegap::api::{Endpoint, SelfStopDeployment};
use bevy_edgegap::http::send;
use futures_lite::future::block_on;

/// How long the emulator's answer is held back in [`Order::SigtermFirst`].
pub const HOLD: Duration = Duration::from_secs(1);

/// Which the server sees first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    SigtermFirst,
    AnswerFirst,
}

/// The proxy: point the server's delete URL at [`Proxy::origin`], then call [`Proxy::forward_to`]
/// with the emulator's base URL once it runs.
pub struct Proxy {
    origin: String,
    upstream: Arc<OnceLock<String>>,
}

impl Proxy {
    /// Listens on a free loopback port; `release` is polled (at most 20 s) in
    /// [`Order::AnswerFirst`] before the request goes on to the emulator.
    pub fn start(order: Order, release: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let upstream = Arc::new(OnceLock::<String>::new());
        let shared = Arc::clone(&upstream);
        let release = Arc::new(release);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let upstream = Arc::clone(&shared);
                let release = Arc::clone(&release);
                std::thread::spawn(move || serve(stream, order, &upstream, &*release));
            }
        });
        Self { origin, upstream }
    }

    /// `http://127.0.0.1:<port>`: replaces the origin of `ARBITRIUM_DELETE_URL`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Where requests go on to (the emulator's base URL).
    pub fn forward_to(&self, base_url: String) {
        self.upstream.set(base_url).expect("set once");
    }
}

fn serve(stream: TcpStream, order: Order, upstream: &OnceLock<String>, release: &dyn Fn() -> bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let mut token = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("authorization")
        {
            token = value.trim().to_owned();
        }
    }
    let forward = || {
        let base = upstream.get().expect("the proxy knows the emulator");
        let request = SelfStopDeployment::new(format!("{base}{path}"), token.as_str())
            .to_request("", &Default::default())
            .unwrap();
        block_on(send(request)).expect("the emulator answers")
    };
    let (status, body) = match order {
        Order::SigtermFirst => {
            let answer = forward();
            std::thread::sleep(HOLD);
            (answer.status, answer.body)
        }
        Order::AnswerFirst => {
            respond(&stream, 200, br#"{"message": "Instance will be deleted"}"#);
            let bound = Instant::now() + Duration::from_secs(20);
            while !release() && Instant::now() < bound {
                std::thread::sleep(Duration::from_millis(10));
            }
            forward();
            return;
        }
    };
    respond(&stream, status, &body);
}

fn respond(mut stream: &TcpStream, status: u16, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} Answer\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}
