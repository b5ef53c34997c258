//! The programs the workspace's tests start that are not Rust crates (`redis-server`, an OCI
//! registry, ...), in one table ([`SERVICES`]).
//!
//! One mechanism for all of them:
//! - `cargo xtask test` (the README's test command) installs every missing one from the
//!   table with the system package manager, then runs the tests;
//! - a test asks for its program with [`require`], which either finds it or stops the test
//!   with one line saying how to get it (never a panic deep inside a test).
//!
//! A test then starts its own instance on a free loopback port ([`Redis::start`],
//! [`Spawned`]), killed when dropped, so tests never share a server.
#![warn(missing_docs)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A program some tests start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The executable's name, looked up on `PATH` (and in the system directories).
    pub program: &'static str,
    /// The Debian package that provides it.
    pub package: &'static str,
    /// Which tests need it, for the message when it is missing.
    pub needed_by: &'static str,
}

/// Every program the workspace's tests start. `cargo xtask test` installs the missing ones.
pub const SERVICES: &[Service] = &[
    Service {
        program: "redis-server",
        package: "redis-server",
        needed_by: "the gateway's replica tests and load bench",
    },
    Service {
        program: "docker-registry",
        package: "docker-registry",
        needed_by: "the cargo-edgegap release tests (a real OCI registry on loopback)",
    },
    Service {
        program: "skopeo",
        package: "skopeo",
        needed_by: "the cargo-edgegap release tests (an independent OCI client)",
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
        "`{}` is not installed ({} need it): run `cargo xtask test`, which installs what the tests need, or `apt-get install {}`",
        service.program, service.needed_by, service.package
    )
}

/// The path of `program`, a service of [`SERVICES`].
///
/// # Panics
/// When it is not installed, with the one line of [`missing`]: the test stops at its start.
pub fn require(program: &str) -> PathBuf {
    let service = service(program);
    find(program).unwrap_or_else(|| panic!("{}", missing(service)))
}

/// A free TCP port on 127.0.0.1 (bound, then released: good enough for a server started next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a loopback port")
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
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_found_or_explained_in_one_line() {
        for service in SERVICES {
            let line = missing(service);
            assert!(!line.contains('\n'));
            assert!(line.contains(service.package) && line.contains("cargo xtask test"));
        }
        assert!(
            find("sh").is_some(),
            "a program every unix machine has is found"
        );
        assert!(find("no-such-program-edgegap").is_none());
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
}
