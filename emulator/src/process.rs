//! Launching a command version as a local process: free ports, environment, output capture,
//! signals, reaping and CPU/memory samples.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::config::VersionKind;
use crate::state::lifecycle::process_exited;
use crate::state::{LogBuffer, Phase, Sample, Shared, lock};

/// Most CPU/memory samples kept per deployment (one per second: an hour).
const MAX_SAMPLES: usize = 3600;

fn needs_tcp(protocol: &str) -> bool {
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

/// Sends `signal` to the process group of `pid` (the launched process leads its own group, so
/// its children get it too).
pub(crate) fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 0 {
        return;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; a stale pgid only yields ESRCH.
    unsafe {
        libc::kill(-pid, signal);
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

/// Launches the command of deployment `id` with its injected environment; a watcher task reaps
/// it, samples its CPU/memory every second and reports its exit.
pub(crate) fn launch(shared: &Arc<Shared>, id: &str) -> std::io::Result<()> {
    let (program, args, env, logs) = {
        let deployments = shared.deployments();
        let Some(d) = deployments.by_id.get(id) else {
            return Ok(());
        };
        let VersionKind::Command { program, args } = &d.version.kind else {
            return Ok(());
        };
        (
            program.clone(),
            args.clone(),
            d.env.clone(),
            Arc::clone(&d.logs),
        )
    };
    let mut command = Command::new(&program);
    // The host environment (PATH, HOME, RUST_LOG…) minus the API token and any stale
    // ARBITRIUM_* variables, then the injected environment.
    command.args(&args).env_clear().envs(
        std::env::vars().filter(|(k, _)| !k.starts_with("ARBITRIUM_") && k != "EDGEGAP_TOKEN"),
    );
    command
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs between fork and exec and only makes the async-signal-safe
    // prctl(2) syscall: the child gets SIGKILL if the emulator's runtime thread that spawned it
    // dies (a test process killed outright leaves no stray server behind).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or(0);
    tracing::debug!(
        "deployment `{id}`: launched `{}` as `{pid}`",
        program.display()
    );
    if let Some(out) = child.stdout.take() {
        tokio::spawn(capture(out, Arc::clone(&logs)));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(capture(err, logs));
    }
    if let Some(d) = shared.deployments().by_id.get_mut(id) {
        d.pid = Some(pid);
    }
    let shared = Arc::clone(shared);
    let id = id.to_owned();
    tokio::spawn(async move {
        let ticks = clock_ticks();
        let page = page_size();
        let started = SystemTime::now();
        let mut last_cpu: Option<(SystemTime, u64)> = None;
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        let status = loop {
            tokio::select! {
                status = child.wait() => break status,
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
                    if let Some(d) = shared.deployments().by_id.get_mut(&id) {
                        if d.samples.len() >= MAX_SAMPLES {
                            d.samples.remove(0);
                        }
                        d.samples.push(Sample { at: now, cpu_percent, mem_mb });
                    }
                }
            }
        };
        // Whatever the process left behind in its group goes with it (a container's end).
        signal_group(pid, libc::SIGKILL);
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
        tracing::debug!("deployment `{id}`: {message}");
        process_exited(&shared, &id, code, message);
    });
    Ok(())
}

/// Waits until the first TCP-capable port of `id` accepts a connection (`true` at once when it
/// has no such port). Returns `false` when the deployment stopped starting meanwhile: the
/// process exited, or a stop arrived (applied at once: the port may never open).
pub(crate) async fn wait_for_port(shared: &Shared, id: &str) -> bool {
    let port = {
        let deployments = shared.deployments();
        let Some(d) = deployments.by_id.get(id) else {
            return false;
        };
        d.ports
            .iter()
            .find(|p| needs_tcp(&p.protocol))
            .map(|p| p.internal)
    };
    let Some(port) = port else {
        return true;
    };
    loop {
        let starting = shared.deployments().by_id.get(id).is_some_and(|d| {
            d.phase == Phase::Deploying && !*d.exited.borrow() && d.stop_pending.is_none()
        });
        if !starting {
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
