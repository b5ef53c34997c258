//! The programs the workspace's tests start that are not Rust crates of the workspace
//! (`redis-server`, an OCI registry, a headless browser, ...), in one table ([`SERVICES`]).
//!
//! One mechanism for all of them:
//! - `cargo xtask test` (the README's test command) installs every missing one from the
//!   table — a Debian package with `apt-get`, a Rust target with `rustup`, a crate's binaries
//!   with `cargo install` at the exact version the workspace locks ([`Install`]) — then runs
//!   the tests;
//! - a test asks for its program with [`require`], which either finds it or stops the test
//!   with one line saying how to get it (never a panic deep inside a test).
//!
//! A test then starts its own instance on a free loopback port ([`Redis::start`],
//! [`Registry::start`], [`Registry::with_htpasswd`], [`Spawned`]), killed when dropped, so
//! tests never share a server.
//!
//! [`http::send`] is the small HTTP client the tests that call a server share.
#![warn(missing_docs)]

pub mod http;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a service is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// A Debian package: `apt-get install <package>`.
    Apt(&'static str),
    /// A Rust compilation target: `rustup target add <target>`. Installed when its standard
    /// library is in the toolchain's sysroot.
    RustTarget(&'static str),
    /// A crate's binaries: `cargo install <krate> --version <v>`, where `v` is the version of
    /// `same_as` in the workspace's `Cargo.lock` (a CLI that must match a library exactly,
    /// as `wasm-bindgen-cli` must match `wasm-bindgen`). Installed when `<program> --version`
    /// ends with that version.
    CargoLocked {
        /// The crate to install.
        krate: &'static str,
        /// The locked crate whose version it must have.
        same_as: &'static str,
    },
}

/// A program (or target) some tests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The executable's name, looked up on `PATH` (and in the system directories); for an
    /// [`Install::RustTarget`], the target's name.
    pub program: &'static str,
    /// How to install it.
    pub install: Install,
    /// Which tests need it, for the message when it is missing.
    pub needed_by: &'static str,
}

/// Every program the workspace's tests start. `cargo xtask test` installs the missing ones.
pub const SERVICES: &[Service] = &[
    Service {
        program: "redis-server",
        install: Install::Apt("redis-server"),
        needed_by: "the gateway's replica tests and load bench",
    },
    Service {
        program: "docker-registry",
        install: Install::Apt("docker-registry"),
        needed_by: "the cargo-edgegap release tests (a real OCI registry on loopback)",
    },
    Service {
        program: "skopeo",
        install: Install::Apt("skopeo"),
        needed_by: "the cargo-edgegap release tests (an independent OCI client)",
    },
    Service {
        program: "chromium",
        install: Install::Apt("chromium"),
        needed_by: "the browser tests (headless Chromium)",
    },
    Service {
        program: "chromedriver",
        install: Install::Apt("chromium-driver"),
        needed_by: "the browser tests (WebDriver for headless Chromium)",
    },
    Service {
        program: "wasm32-unknown-unknown",
        install: Install::RustTarget("wasm32-unknown-unknown"),
        needed_by: "the browser tests (the client plugin built for the browser)",
    },
    Service {
        program: "wasm-bindgen-test-runner",
        install: Install::CargoLocked {
            krate: "wasm-bindgen-cli",
            same_as: "wasm-bindgen",
        },
        needed_by: "the browser tests (runs wasm-bindgen-test in Chromium)",
    },
];

/// Directories searched after `PATH` (a test runner may start with a short `PATH`).
const SYSTEM_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The service named `program` in [`SERVICES`].
///
/// # Panics
/// When `program` is not in the table: a test asked for a program nobody installs.
pub fn service(program: &str) -> &'static Service {
    SERVICES
        .iter()
        .find(|s| s.program == program)
        .unwrap_or_else(|| panic!("`{program}` is not in edgegap-test-services' SERVICES table: add it there so `cargo xtask test` installs it"))
}

/// Where `program` is installed, if it is: on `PATH`, else in the system directories.
pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SYSTEM_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The one line that says how to get a missing service.
pub fn missing(service: &Service) -> String {
    format!(
        "`{}` is not installed ({} need it): run `cargo xtask test`, which installs what the tests need, or `{}`",
        service.program,
        service.needed_by,
        install_command(service).join(" ")
    )
}

/// The command that installs `service` (for a [`Install::CargoLocked`] crate, at the locked
/// version, or `<version in Cargo.lock>` when the lock cannot be read).
pub fn install_command(service: &Service) -> Vec<String> {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match service.install {
        Install::Apt(package) => words(&["apt-get", "install", package]),
        Install::RustTarget(target) => words(&["rustup", "target", "add", target]),
        Install::CargoLocked { krate, same_as } => {
            let version =
                locked_version(same_as).unwrap_or_else(|| format!("<{same_as} in Cargo.lock>"));
            words(&["cargo", "install", krate, "--version", &version])
        }
    }
}

/// Whether `service` is installed (for a [`Install::CargoLocked`] one: at the locked version).
pub fn is_installed(service: &Service) -> bool {
    match service.install {
        Install::Apt(_) => find(service.program).is_some(),
        Install::RustTarget(target) => has_rust_target(target),
        Install::CargoLocked { same_as, .. } => {
            let (Some(path), Some(version)) = (find(service.program), locked_version(same_as))
            else {
                return false;
            };
            Command::new(path)
                .arg("--version")
                .output()
                .is_ok_and(|out| {
                    String::from_utf8_lossy(&out.stdout)
                        .trim()
                        .ends_with(&version)
                })
        }
    }
}

/// Whether the active toolchain has `target`'s standard library.
fn has_rust_target(target: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        .is_some_and(|sysroot| {
            sysroot
                .join("lib/rustlib")
                .join(target)
                .join("lib")
                .is_dir()
        })
}

/// The version of `krate` in the workspace's `Cargo.lock` (the highest, if several).
pub fn locked_version(krate: &str) -> Option<String> {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let text = std::fs::read_to_string(lock).ok()?;
    versions_in_lock(&text, krate).into_iter().max_by(|a, b| {
        let parts =
            |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
        parts(a).cmp(&parts(b))
    })
}

fn versions_in_lock(lock: &str, krate: &str) -> Vec<String> {
    let name = format!("name = \"{krate}\"");
    let mut lines = lock.lines().map(str::trim);
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if line == name
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            found.push(version.to_owned());
        }
    }
    found
}

/// The path of `program`, a service of [`SERVICES`] (for an [`Install::CargoLocked`] one, at
/// the locked version).
///
/// # Panics
/// When it is not installed (or is a Rust target, which has no path), with the one line of
/// [`missing`]: the test stops at its start.
pub fn require(program: &str) -> PathBuf {
    let service = service(program);
    find(program)
        .filter(|_| is_installed(service))
        .unwrap_or_else(|| panic!("{}", missing(service)))
}

/// A free TCP port on 127.0.0.1 (bound, then released: good enough for a server started next),
/// never one this process handed out before. Two tests starting servers at once could
/// otherwise be given the same just-released port: one server then fails to bind, and its
/// test's readiness probe reaches the other test's server (a registry test had its request
/// reset, most likely by a Redis, which resets HTTP requests).
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..1000 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind a loopback port");
        let mut handed_out = HANDED_OUT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("no loopback port this process has not handed out already, in 1000 tries")
}

/// A child process of a test, killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
}

impl Spawned {
    /// Starts `command` (stdout and stderr discarded) and waits until it accepts TCP
    /// connections on `port`, for at most `timeout`.
    ///
    /// # Panics
    /// When it cannot start, exits early, or does not listen in time: with what it was.
    pub fn start(mut command: Command, port: u16, what: &str, timeout: Duration) -> Self {
        command.stdout(Stdio::null()).stderr(Stdio::null());
        Self::wait_listening(command, port, what, timeout)
    }

    fn wait_listening(mut command: Command, port: u16, what: &str, timeout: Duration) -> Self {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let mut spawned = Self { child, port };
        let deadline = Instant::now() + timeout;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = spawned.child.try_wait() {
                panic!("{what} exited before listening on 127.0.0.1:{port}: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not listen on 127.0.0.1:{port} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        spawned
    }

    /// [`Spawned::start`], with the child's stdout and stderr appended to the file `log`
    /// (created if missing), for a test that reads what the program said.
    ///
    /// # Panics
    /// As [`Spawned::start`], and when `log` cannot be opened.
    pub fn start_logged(
        mut command: Command,
        port: u16,
        what: &str,
        timeout: Duration,
        log: &Path,
    ) -> Self {
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap_or_else(|e| panic!("cannot open {what}'s log {}: {e}", log.display()))
        };
        command.stdout(open()).stderr(open());
        Self::wait_listening(command, port, what, timeout)
    }

    /// Kills it now (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `redis-server` of a test's own on loopback, without persistence; killed on drop.
#[derive(Debug)]
pub struct Redis(Spawned);

impl Redis {
    /// Starts one on a free port.
    pub fn start() -> Self {
        Self::on_port(free_port())
    }

    /// Starts one on `port` (to restart a killed one where its clients expect it), once it
    /// listens.
    pub fn on_port(port: u16) -> Self {
        let mut command = Command::new(require("redis-server"));
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]);
        Self(Spawned::start(
            command,
            port,
            "redis-server",
            Duration::from_secs(10),
        ))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.0.port)
    }

    /// Kills it now.
    pub fn kill(&mut self) {
        self.0.kill();
    }
}

/// A directory of a test's own under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh, empty directory whose name starts with `prefix`.
    ///
    /// # Panics
    /// When it cannot be created.
    pub fn new(prefix: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `docker-registry` of a test's own (the CNCF distribution registry, the server Harbor
/// wraps) on a free loopback port, plain HTTP, storing into a fresh temporary directory;
/// killed on drop, its directory removed. Its access log (one line per request, as the
/// registry saw it) is readable with [`Registry::requests`].
#[derive(Debug)]
pub struct Registry {
    process: Spawned,
    dir: TempDir,
}

/// One request in a [`Registry`]'s access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRequest {
    /// `GET`, `HEAD`, `POST`, `PATCH`, `PUT`, ...
    pub method: String,
    /// The path and query, e.g. `/v2/proj/img/blobs/uploads/`.
    pub path: String,
    /// The status the registry answered.
    pub status: u16,
}

impl RegistryRequest {
    /// Whether this request carried blob bytes: a `PATCH` or `PUT` to an upload session, or a
    /// `POST` that uploads monolithically (`?digest=`), and was accepted. (A `PUT` closing a
    /// chunked upload carries none, but counts: it completes an upload.)
    pub fn is_blob_upload(&self) -> bool {
        let upload = self.path.contains("/blobs/uploads/");
        let sent = match self.method.as_str() {
            "PATCH" | "PUT" => upload,
            "POST" => upload && self.path.contains("digest="),
            _ => false,
        };
        sent && (200..300).contains(&self.status)
    }
}

impl Registry {
    /// Starts one without authentication.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// Starts one that requires HTTP Basic authentication as `user` with `password` (an
    /// `htpasswd` file with a bcrypt hash, as the registry requires).
    pub fn with_htpasswd(user: &str, password: &str) -> Self {
        Self::launch(Some((user, password)))
    }

    fn launch(login: Option<(&str, &str)>) -> Self {
        let program = require("docker-registry");
        let dir = TempDir::new("edgegap-registry");
        let port = free_port();
        let storage = dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if let Some((user, password)) = login {
            // The lowest cost bcrypt accepts: the registry checks it on every request.
            let hash = bcrypt::hash(password, 4).expect("bcrypt hash");
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: edgegap-test-registry\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write the registry's config");
        let mut command = Command::new(program);
        command.arg("serve").arg(&config_path);
        let process = Spawned::start_logged(
            command,
            port,
            "docker-registry",
            Duration::from_secs(20),
            &dir.path().join("registry.log"),
        );
        Self { process, dir }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// `127.0.0.1:<port>`, the registry host as image references name it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.process.port)
    }

    /// Everything it has logged so far (access log and its own messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The requests it has answered so far, in order, from its access log.
    pub fn requests(&self) -> Vec<RegistryRequest> {
        self.log().lines().filter_map(parse_access_line).collect()
    }

    /// Where it stores blobs and manifests.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Kills it now.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

/// One line of the registry's combined access log:
/// `127.0.0.1 - - [date] "PUT /v2/p/i/blobs/uploads/x?digest=.. HTTP/1.1" 201 0 "" "agent"`.
fn parse_access_line(line: &str) -> Option<RegistryRequest> {
    let (_, rest) = line.split_once("] \"")?;
    let (request, rest) = rest.split_once('"')?;
    let mut request = request.split(' ');
    let method = request.next()?.to_owned();
    let path = request.next()?.to_owned();
    let status = rest.trim_start().split(' ').next()?.parse().ok()?;
    Some(RegistryRequest {
        method,
        path,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_found_or_explained_in_one_line() {
        for service in SERVICES {
            let line = missing(service);
            assert!(!line.contains('\n'));
            assert!(line.contains("cargo xtask test"), "{line}");
            assert!(line.contains(&install_command(service).join(" ")), "{line}");
        }
        let cli = service("wasm-bindgen-test-runner");
        let version = locked_version("wasm-bindgen").expect("wasm-bindgen is locked");
        assert!(
            missing(cli).ends_with(&format!(
                "`cargo install wasm-bindgen-cli --version {version}`"
            )),
            "{}",
            missing(cli)
        );
        assert!(
            find("sh").is_some(),
            "a program every unix machine has is found"
        );
        assert!(find("no-such-program-edgegap").is_none());
    }

    #[test]
    fn locked_versions_are_read_from_the_lock_file() {
        let lock = "[[package]]\nname = \"a\"\nversion = \"0.2.9\"\n\n[[package]]\nname = \"ab\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"a\"\nversion = \"0.2.10\"\n";
        assert_eq!(versions_in_lock(lock, "a"), ["0.2.9", "0.2.10"]);
        assert!(versions_in_lock(lock, "b").is_empty());
        assert!(locked_version("serde").is_some());
        assert!(locked_version("no-such-crate-edgegap").is_none());
        let host = Command::new("rustc").arg("-vV").output().unwrap();
        let host = String::from_utf8_lossy(&host.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
            .unwrap();
        assert!(has_rust_target(&host), "the host's own target `{host}`");
        assert!(!has_rust_target("no-such-target"));
    }

    #[test]
    #[should_panic(expected = "not in edgegap-test-services' SERVICES table")]
    fn asking_for_an_unlisted_program_names_the_table() {
        require("no-such-program-edgegap");
    }

    #[test]
    fn a_spawned_child_that_exits_early_is_reported() {
        let mut command = Command::new("sh");
        command.args(["-c", "exit 3"]);
        let port = free_port();
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Spawned::start(command, port, "sh", Duration::from_secs(10))
        }))
        .expect_err("it never listens");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("exited before listening"), "{message}");
    }

    /// `GET /v2/` over a raw socket: the status code.
    fn get_v2(registry: &Registry, basic: Option<&str>) -> u16 {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", registry.port())).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let auth = basic.map_or(String::new(), |b| format!("Authorization: Basic {b}\r\n"));
        write!(
            stream,
            "GET /v2/ HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            registry.host()
        )
        .expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn a_registry_answers_and_logs_what_it_answered() {
        let registry = Registry::start();
        assert_eq!(get_v2(&registry, None), 200);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !registry.requests().iter().any(|r| r.path == "/v2/") {
            assert!(
                Instant::now() < deadline,
                "no access log: {}",
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn an_htpasswd_registry_wants_its_password() {
        let registry = Registry::with_htpasswd("robot$ci", "s3cret");
        assert_eq!(get_v2(&registry, None), 401);
        // base64("robot$ci:s3cret") and base64("robot$ci:wrong").
        assert_eq!(get_v2(&registry, Some("cm9ib3QkY2k6czNjcmV0")), 200);
        assert_eq!(get_v2(&registry, Some("cm9ib3QkY2k6d3Jvbmc=")), 401);
    }

    #[test]
    fn access_log_lines_are_read() {
        let line = r#"127.0.0.1 - - [06/Dec/2026:12:41:19 +0000] "PUT /v2/p/i/blobs/uploads/u?digest=sha256%3Aab HTTP/1.1" 201 0 "" "oci-client/0.18""#;
        let request = parse_access_line(line).expect("a request line");
        assert_eq!(request.method, "PUT");
        assert_eq!(request.path, "/v2/p/i/blobs/uploads/u?digest=sha256%3Aab");
        assert_eq!(request.status, 201);
        assert!(request.is_blob_upload());
        let head = parse_access_line(
            r#"127.0.0.1 - - [06/Dec/2026:12:41:19 +0000] "HEAD /v2/p/i/blobs/sha256:ab HTTP/1.1" 404 157 "" "x""#,
        )
        .expect("a request line");
        assert!(!head.is_blob_upload());
        assert_eq!(
            parse_access_line(r#"time="2026-12-06T12:41:18Z" level=info msg="listening""#),
            None
        );
    }
}
