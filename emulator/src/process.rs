//! Launching a command version as a local process: free ports, environment, output capture,
//! signals, reaping and CPU/memory samples.
//!
//! This module knows processes, not deployments: what a launched process does is reported
//! through a [`Watcher`] (the lifecycle implements it for a deployment), so nothing here reads
//! or writes the emulator's state.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use std::os::fd::RawFd;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::util::lock;

/// Most bytes of captured output kept per process (the oldest are dropped past it).
pub(crate) const MAX_LOG_BYTES: usize = 1024 * 1024;

/// Captured stdout+stderr, bounded.
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    pub(crate) text: String,
}

impl LogBuffer {
    pub(crate) fn push(&mut self, chunk: &str) {
        self.text.push_str(chunk);
        if self.text.len() > MAX_LOG_BYTES {
            let mut cut = self.text.len() - MAX_LOG_BYTES;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }
}

/// One CPU/memory sample of a launched process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: SystemTime,
    pub(crate) cpu_percent: f64,
    pub(crate) mem_mb: f64,
}

/// What to launch.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) program: std::path::PathBuf,
    pub(crate) args: Vec<String>,
    /// The injected environment, set over the host's.
    pub(crate) env: std::collections::BTreeMap<String, String>,
    /// The working directory (an image's `WorkingDir`); the emulator's own when `None`.
    pub(crate) cwd: Option<std::path::PathBuf>,
    /// Where stdout and stderr go.
    pub(crate) logs: Arc<Mutex<LogBuffer>>,
    /// The emulator's lifeline pipe `(read end, write end)` (see [`before_exec`]).
    pub(crate) lifeline: Option<(RawFd, RawFd)>,
}

/// Hears what a launched process does. Called from its watcher task, in this order:
/// `started` once, `sampled` about once a second, `exited` once.
pub(crate) trait Watcher: Send + Sync + 'static {
    /// The process is running: its pid, and the way to signal it while it is unreaped.
    fn started(&self, pid: u32, signals: ProcessSignals);
    /// A CPU/memory sample.
    fn sampled(&self, sample: Sample);
    /// The process exited (reaped) with `code` (128 + signal when killed), described by
    /// `message`.
    fn exited(&self, code: i32, message: String);
}

/// Whether `protocol` (Edgegap's `UDP`, `TCP`, `TCP/UDP`, `HTTP`, `WS`…) needs a TCP port.
pub(crate) fn needs_tcp(protocol: &str) -> bool {
    !protocol.eq_ignore_ascii_case("UDP")
}

fn needs_udp(protocol: &str) -> bool {
    protocol.to_ascii_uppercase().contains("UDP")
}

/// A port free for `protocol` on 127.0.0.1 right now (TCP, UDP or both), not handed out to
/// another live deployment. Falls back to an unchecked ephemeral port after many tries.
pub(crate) fn free_port(protocol: &str, used: &mut HashSet<u16>) -> u16 {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    for _ in 0..64 {
        let port = if needs_tcp(protocol) {
            TcpListener::bind(loopback)
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
        } else {
            UdpSocket::bind(loopback)
                .and_then(|s| s.local_addr())
                .map(|a| a.port())
        };
        let Ok(port) = port else { continue };
        let udp_ok = !needs_tcp(protocol)
            || !needs_udp(protocol)
            || UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], port))).is_ok();
        if udp_ok && used.insert(port) {
            return port;
        }
    }
    let port = 40_000 + (used.len() % 20_000) as u16;
    used.insert(port);
    port
}

/// Signals for a launched process, delivered by its watcher task: the watcher owns the child
/// and signals its process group only while the child is not reaped, so its pid (and group id)
/// cannot have been reused. Sending after the process is gone does nothing.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSignals(mpsc::UnboundedSender<libc::c_int>);

impl ProcessSignals {
    pub(crate) fn send(&self, signal: libc::c_int) {
        let _ = self.0.send(signal);
    }
}

/// Sends `signal` to the process group led by `pid`. Callers guarantee the leader is not reaped
/// yet (alive or a zombie), so the group id is still ours.
fn signal_group(pid: libc::pid_t, signal: libc::c_int) {
    if pid <= 0 {
        return;
    }
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(-pid, signal);
    }
}

/// The state of our child `pid`, read without reaping it.
#[derive(Debug, PartialEq, Eq)]
enum ChildState {
    Running,
    /// Exited, still a zombie: its pid and process group are reserved until it is reaped.
    Exited,
    /// Unknown (waitid failed): do not signal by pid any more.
    Unknown,
}

fn child_state(pid: libc::pid_t) -> ChildState {
    // SAFETY: siginfo_t is plain data for which all-zero is valid; waitid(2) only writes into
    // it. WNOWAIT leaves the child waitable, so tokio's `wait` still reaps it afterwards.
    let (result, exited_pid, errno) = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let result = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        (result, info.si_pid(), *libc::__errno_location())
    };
    match (result, exited_pid) {
        (0, 0) => ChildState::Running,
        (0, _) => ChildState::Exited,
        // Interrupted: ask again on the next wake-up.
        _ if errno == libc::EINTR => ChildState::Running,
        _ => ChildState::Unknown,
    }
}

/// Prepares the child, between fork and exec (async-signal-safe calls only):
/// - `PR_SET_PDEATHSIG`: the child gets SIGKILL if the emulator's thread that spawned it dies;
/// - a watchdog: a fork of the child that stays in its process group, holding only the read end
///   of the emulator's lifeline pipe. When the emulator ends, however it ends (even SIGKILL), the
///   last write end closes, the watchdog's read returns and it SIGKILLs its process group, so
///   grandchildren die with the emulator too. It ignores SIGTERM/SIGINT/SIGHUP (a graceful stop
///   is the server's business) and dies with the group when the server exits or is stopped.
///
/// # Safety
/// Only called in the forked child before exec, as `pre_exec` requires.
unsafe fn before_exec(lifeline: Option<(RawFd, RawFd)>) -> std::io::Result<()> {
    // SAFETY (whole body): prctl, fork, close, close_range, getrlimit, signal, read, kill and
    // _exit are async-signal-safe system calls; the only pointers are to locals (`read`'s
    // one-byte buffer, `getrlimit`'s struct).
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let Some((read_fd, write_fd)) = lifeline else {
            return Ok(());
        };
        match libc::fork() {
            -1 => Err(std::io::Error::last_os_error()),
            0 => {
                // Keep nothing but the read end: no copy of the emulator's sockets, of the
                // child's output pipes or of std's exec-error pipe (spawn waits for its EOF).
                libc::close(write_fd);
                let keep = read_fd as libc::c_uint;
                let low = keep == 0 || libc::syscall(libc::SYS_close_range, 0, keep - 1, 0) == 0;
                let high =
                    libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0) == 0;
                if !(low && high) {
                    let mut limit: libc::rlimit = std::mem::zeroed();
                    let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
                        limit.rlim_cur.min(1 << 20) as libc::c_int
                    } else {
                        1024
                    };
                    for fd in (0..max).filter(|fd| *fd != read_fd) {
                        libc::close(fd);
                    }
                }
                for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                    libc::signal(signal, libc::SIG_IGN);
                }
                let mut byte = 0u8;
                loop {
                    let n = libc::read(read_fd, (&raw mut byte).cast(), 1);
                    if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                        break;
                    }
                }
                libc::kill(0, libc::SIGKILL);
                libc::_exit(0)
            }
            _ => Ok(()),
        }
    }
}

async fn capture(mut reader: impl AsyncRead + Unpin, logs: Arc<Mutex<LogBuffer>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => lock(&logs).push(&String::from_utf8_lossy(&buf[..n])),
        }
    }
}

/// Reads utime+stime (clock ticks) and RSS (pages) of `pid` from /proc.
fn read_proc(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may itself contain spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let rss: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some((utime + stime, rss))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn page_size() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as f64 } else { 4096.0 }
}

/// Launches `launch`; a watcher task owns the child: it tells `watcher` it started, samples its
/// CPU/memory every second, delivers signals while the child is unreaped, reaps it and reports
/// its exit.
pub(crate) fn launch(launch: Launch, watcher: impl Watcher) -> std::io::Result<()> {
    let Launch {
        program,
        args,
        env,
        cwd,
        logs,
        lifeline,
    } = launch;
    let mut command = Command::new(&program);
    // The host environment (PATH, HOME, RUST_LOG…, also variables that are not UTF-8) minus the
    // API token and any stale ARBITRIUM_* variables, then the injected environment.
    command
        .args(&args)
        .env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| {
            let k = k.as_encoded_bytes();
            !k.starts_with(b"ARBITRIUM_") && k != b"EDGEGAP_TOKEN"
        }));
    if let Some(dir) = &cwd {
        command.current_dir(dir);
    }
    command
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: `before_exec` makes only async-signal-safe calls (see there).
    unsafe {
        command.pre_exec(move || before_exec(lifeline));
    }
    // SIGCHLD wakes the watcher when the process exits (registered before the spawn, so the
    // signal is not missed); the one-second sampling tick is the fallback.
    let mut sigchld = signal(SignalKind::child()).ok();
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or(0);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(capture(out, Arc::clone(&logs)));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(capture(err, logs));
    }
    let (signals, mut signal_rx) = mpsc::unbounded_channel();
    watcher.started(pid, ProcessSignals(signals));
    let group = libc::pid_t::try_from(pid).unwrap_or(0);
    tokio::spawn(async move {
        let ticks = clock_ticks();
        let page = page_size();
        let started = SystemTime::now();
        let mut last_cpu: Option<(SystemTime, u64)> = None;
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        // Until the child is reaped below, it is alive or a zombie: its pid and process group
        // cannot be reused, so signalling the group is safe.
        loop {
            match child_state(group) {
                ChildState::Running => {}
                ChildState::Exited => {
                    // Whatever the process left behind in its group goes with it (a
                    // container's end), the watchdog included.
                    signal_group(group, libc::SIGKILL);
                    break;
                }
                ChildState::Unknown => break,
            }
            tokio::select! {
                Some(sig) = signal_rx.recv() => signal_group(group, sig),
                Some(()) = async { sigchld.as_mut()?.recv().await } => {}
                _ = interval.tick() => {
                    let Some((cpu_ticks, rss_pages)) = read_proc(pid) else { continue };
                    let now = SystemTime::now();
                    let (since, before) = last_cpu.unwrap_or((started, 0));
                    let wall = now.duration_since(since).unwrap_or_default().as_secs_f64();
                    let cpu_percent = if wall > 0.0 {
                        (cpu_ticks.saturating_sub(before) as f64 / ticks) / wall * 100.0
                    } else {
                        0.0
                    };
                    last_cpu = Some((now, cpu_ticks));
                    let mem_mb = rss_pages as f64 * page / (1024.0 * 1024.0);
                    watcher.sampled(Sample { at: now, cpu_percent, mem_mb });
                }
            }
        }
        drop(signal_rx);
        let status = child.wait().await;
        let (code, message) = match status {
            Ok(status) => match (
                status.code(),
                std::os::unix::process::ExitStatusExt::signal(&status),
            ) {
                (Some(code), _) => (code, format!("process exited with code {code}")),
                (None, Some(sig)) => (128 + sig, format!("process killed by signal {sig}")),
                (None, None) => (-1, "process ended".to_owned()),
            },
            Err(error) => (-1, format!("waiting for the process failed: {error}")),
        };
        watcher.exited(code, message);
    });
    Ok(())
}

/// Waits until `port` on 127.0.0.1 accepts a TCP connection (`true`), polling while
/// `starting()` holds; `false` as soon as it does not (the process exited or a stop arrived: the
/// port may never open).
pub(crate) async fn wait_for_port(port: u16, starting: impl Fn() -> bool) -> bool {
    loop {
        if !starting() {
            return false;
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        let mut used = HashSet::new();
        let a = free_port("UDP", &mut used);
        let b = free_port("TCP/UDP", &mut used);
        assert_ne!(a, b);
        assert!(UdpSocket::bind(("127.0.0.1", a)).is_ok());
        assert!(TcpListener::bind(("127.0.0.1", b)).is_ok());
    }

    #[test]
    fn reads_own_proc_stats() {
        let (_, rss) = read_proc(std::process::id()).expect("/proc of this process");
        assert!(rss > 0);
    }
}
