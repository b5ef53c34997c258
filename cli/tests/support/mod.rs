//! What the cli tests share: running `cargo-edgegap`, a tiny server package to release, and a
//! fake registry that answers the way a test wants (fails, lies, hangs).
#![allow(dead_code, reason = "each test file uses part of this module")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgegap_emulator::{Emulator, EmulatorHandle};
use edgegap_test_services::{TempDir, require};

/// The API token of the emulators the tests release into (never printed: the tests check).
pub const API_TOKEN: &str = "emu-Api-Token-5f0dSecret";

/// An in-process emulator configured only through its API (no declared versions), token
/// [`API_TOKEN`], no rate limits, zero-time lifecycle steps.
pub fn api() -> EmulatorHandle {
    Emulator::builder()
        .token(API_TOKEN)
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("the emulator starts")
}

/// Points `command` at `emulator`'s API (`EDGEGAP_BASE_URL`, `EDGEGAP_TOKEN`).
pub fn with_api(command: &mut Command, emulator: &EmulatorHandle) {
    command
        .env("EDGEGAP_BASE_URL", emulator.base_url())
        .env("EDGEGAP_TOKEN", emulator.token());
}

/// The workspace root (this crate's parent directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// `cargo-edgegap` with a clean environment: no `EDGEGAP_*` or `RUST_LOG` of the caller,
/// `CARGO` pointing at the cargo that runs the tests.
pub fn cli() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-edgegap"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("EDGEGAP_") || name == "RUST_LOG" {
            command.env_remove(&name);
        }
    }
    command.current_dir(workspace_root());
    command
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// The last stdout line, parsed as JSON (a `--json` run's result).
    pub fn json(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout's last line is not JSON ({e}): {self:#?}"))
    }

    /// Both streams, for messages and for secret checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `command` to its end, for at most `limit` (then kills it and fails the test).
pub fn run(mut command: Command, limit: Duration) -> Outcome {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cargo-edgegap");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "cargo-edgegap still running after {limit:?}; stderr so far: {}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// A server package of a few lines, in a temporary directory: `[workspace]` of its own,
/// `src/main.rs` printing `marker`, `assets/`, and `metadata` as its
/// `[package.metadata.edgegap]` table body; and an emulator ([`api`]) its releases make their
/// app version in.
pub struct Fixture {
    dir: TempDir,
    emulator: EmulatorHandle,
}

impl Fixture {
    /// Writes the package.
    pub fn new(marker: &str, metadata: &str) -> Self {
        let dir = TempDir::new("cargo-edgegap-fixture");
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).expect("src");
        std::fs::create_dir_all(root.join("assets/maps")).expect("assets");
        std::fs::write(
            root.join("Cargo.toml"),
            format!(
                "[package]\nname = \"tiny-server\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n[package.metadata.edgegap]\n{metadata}\n"
            ),
        )
        .expect("Cargo.toml");
        std::fs::write(
            root.join("src/main.rs"),
            format!("fn main() {{ println!(\"{marker}\"); }}\n"),
        )
        .expect("main.rs");
        std::fs::write(root.join("assets/maps/forest.txt"), "trees\n").expect("asset");
        Self {
            dir,
            emulator: api(),
        }
    }

    /// The emulator its releases make their app version in.
    pub fn emulator(&self) -> &EmulatorHandle {
        &self.emulator
    }

    /// The app versions made so far, `(app, version)`.
    pub fn versions(&self) -> Vec<(String, String)> {
        self.emulator.app_versions()
    }

    /// The package's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `cargo-edgegap release --dev --json --base <base> --manifest-path <its Cargo.toml>`
    /// with the registry variables for `host` (project `proj`, no credentials), its
    /// emulator's API variables, and any `extra` flags.
    pub fn release(&self, host: &str, base: &str, extra: &[&str]) -> Command {
        let mut command = cli();
        command
            .args(["release", "--dev", "--json", "--base", base])
            .arg("--manifest-path")
            .arg(self.path().join("Cargo.toml"))
            .args(extra)
            .env("EDGEGAP_REGISTRY", host)
            .env("EDGEGAP_REGISTRY_PROJECT", "proj");
        with_api(&mut command, &self.emulator);
        command
    }
}

/// `skopeo inspect` (or `--config` with `config`) of `reference` over plain http.
pub fn skopeo_inspect(reference: &str, config: bool) -> serde_json::Value {
    let mut command = Command::new(require("skopeo"));
    command.args(["inspect", "--tls-verify=false"]);
    if config {
        command.arg("--config");
    }
    let output = command
        .arg(format!("docker://{reference}"))
        .output()
        .expect("run skopeo");
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("skopeo prints JSON")
}

/// One request the fake registry received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Body length.
    pub body_len: usize,
}

/// What the fake registry does with a request.
pub enum Reply {
    /// Answer with a status, headers and body.
    Answer(u16, Vec<(String, String)>, Vec<u8>),
    /// Never answer; keep the connection open until the fake is dropped.
    Hang,
}

impl Reply {
    /// An answer with no body.
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Self {
        Self::Answer(
            status,
            headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            Vec::new(),
        )
    }

    /// A `200` with the OCI manifest `body`, whose digest is `digest`.
    pub fn manifest(digest: String, body: Vec<u8>) -> Self {
        Self::Answer(
            200,
            vec![
                (
                    "Content-Type".into(),
                    cargo_edgegap::image::OCI_MANIFEST.into(),
                ),
                ("Docker-Content-Digest".into(), digest),
            ],
            body,
        )
    }
}

/// A request as the fake's handler sees it.
pub struct Request<'a> {
    /// Method.
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// Body.
    pub body: &'a [u8],
    /// Requests of this method and path prefix (`/v2/x/blobs/uploads`) seen before, this
    /// one excluded.
    pub seen: &'a [Seen],
}

type Handler = dyn Fn(&Request<'_>) -> Reply + Send + Sync;

/// A registry that is not one: a loopback HTTP/1.1 server answering with `handler`, recording
/// every request. Connections it hangs on stay open until it is dropped.
pub struct FakeRegistry {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl FakeRegistry {
    /// Starts one on a free loopback port.
    pub fn start(handler: impl Fn(&Request<'_>) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (seen, stop, held) = (seen.clone(), stop.clone(), held.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (seen, held, handler) =
                                (seen.clone(), held.clone(), handler.clone());
                            std::thread::spawn(move || serve(stream, &seen, &held, &*handler));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Self {
            port,
            seen,
            stop,
            held,
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Whether a manifest was ever put (a tag made or moved).
    pub fn manifest_put(&self) -> bool {
        self.seen()
            .iter()
            .any(|s| s.method == "PUT" && s.path.contains("/manifests/"))
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for stream in self.held.lock().expect("lock").drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    held: &Mutex<Vec<TcpStream>>,
    handler: &Handler,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let body = read_body(&mut reader, &headers);
        let before = seen.lock().expect("lock").clone();
        let reply = handler(&Request {
            method: &method,
            path: &path,
            body: &body,
            seen: &before,
        });
        seen.lock().expect("lock").push(Seen {
            method: method.clone(),
            path: path.clone(),
            body_len: body.len(),
        });
        match reply {
            Reply::Hang => {
                held.lock().expect("lock").push(writer);
                return;
            }
            Reply::Answer(status, headers, body) => {
                let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let mut bytes = head.into_bytes();
                if method != "HEAD" {
                    bytes.extend_from_slice(&body);
                }
                if writer.write_all(&bytes).is_err() {
                    return;
                }
            }
        }
    }
}

fn read_body(reader: &mut BufReader<TcpStream>, headers: &HashMap<String, String>) -> Vec<u8> {
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            if reader.read_exact(&mut chunk).is_err() {
                break;
            }
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length").and_then(|l| l.parse().ok()) {
        body.resize(length, 0);
        let _ = reader.read_exact(&mut body);
    }
    body
}

/// A registry that works (for the parts of the protocol a push uses), except where
/// `sabotage` returns a reply of its own.
pub fn working_registry(
    sabotage: impl Fn(&Request<'_>) -> Option<Reply> + Send + Sync + 'static,
) -> FakeRegistry {
    let manifests: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
    FakeRegistry::start(move |request| {
        if let Some(reply) = sabotage(request) {
            return reply;
        }
        standard(request, &manifests)
    })
}

/// `sha256:<hex>` of `bytes` (as the tool computes it).
pub fn digest(bytes: &[u8]) -> String {
    cargo_edgegap::image::sha256_digest(bytes)
}

fn standard(request: &Request<'_>, manifests: &Mutex<HashMap<String, Vec<u8>>>) -> Reply {
    let path = request.path.split('?').next().unwrap_or_default();
    let json = ("Content-Type", "application/json");
    match request.method {
        "GET" if path == "/v2/" => Reply::Answer(200, vec![], b"{}".to_vec()),
        "HEAD" | "GET" if path.contains("/manifests/") => {
            match manifests.lock().expect("lock").get(path) {
                Some(body) => {
                    let d = digest(body);
                    Reply::manifest(d, body.clone())
                }
                None => Reply::Answer(
                    404,
                    vec![(json.0.into(), json.1.into())],
                    br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
                        .to_vec(),
                ),
            }
        }
        "HEAD" if path.contains("/blobs/") => Reply::status(404, &[]),
        "POST" if path.ends_with("/blobs/uploads/") => Reply::status(
            202,
            &[
                ("Location", &format!("{path}session-{}", request.seen.len())),
                ("Range", "0-0"),
            ],
        ),
        "PATCH" if path.contains("/blobs/uploads/") => {
            let end = request.body.len().saturating_sub(1).to_string();
            Reply::status(202, &[("Location", path), ("Range", &format!("0-{end}"))])
        }
        "PUT" if path.contains("/blobs/uploads/") => {
            let blob_digest = request
                .path
                .split("digest=")
                .nth(1)
                .unwrap_or_default()
                .replace("%3A", ":");
            let repo = path.split("/blobs/").next().unwrap_or_default();
            Reply::status(
                201,
                &[
                    ("Location", &format!("{repo}/blobs/{blob_digest}")),
                    ("Docker-Content-Digest", &blob_digest),
                ],
            )
        }
        "PUT" if path.contains("/manifests/") => {
            manifests
                .lock()
                .expect("lock")
                .insert(path.to_owned(), request.body.to_vec());
            Reply::status(
                201,
                &[
                    ("Location", path),
                    ("Docker-Content-Digest", &digest(request.body)),
                ],
            )
        }
        _ => Reply::status(404, &[]),
    }
}

/// Waits until `done` holds, for at most `limit`, then fails with `what`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Calls `endpoint` on `emulator`'s API with the tool's own client.
pub fn call<E: bevy_edgegap::api::Endpoint>(
    emulator: &EmulatorHandle,
    endpoint: &E,
) -> Result<E::Output, bevy_edgegap::api::EdgegapError> {
    let api = cargo_edgegap::deployments::Api::new(&cargo_edgegap::env::ApiSettings {
        base_url: emulator.base_url(),
        token: bevy_edgegap::api::Secret::new(emulator.token()),
    })
    .expect("an API client");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(api.call(endpoint))
}

/// Version `version` of `app` as `emulator` answers it.
pub fn version_of(
    emulator: &EmulatorHandle,
    app: &str,
    version: &str,
) -> bevy_edgegap::api::AppVersion {
    call(
        emulator,
        &bevy_edgegap::api::GetAppVersion::new(app, version),
    )
    .unwrap_or_else(|e| panic!("version `{version}` of `{app}`: {e}"))
}
