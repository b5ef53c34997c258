//! `cargo run --example local_match` as a process: the whole match passes and exits 0 through
//! the gateway (the client holding only a player token) and with `--direct`, and a server
//! killed mid-match makes the client fail clearly (non-zero, with the reason), never hang.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The example, started with its stdout read line by line on a thread.
struct Run {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Run {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(support::examples::example_binary("local_match"))
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("local_match starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `needle`; fails with everything seen after `limit`.
    fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {needle:?}; stdout so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for the process to exit; returns its status, the rest of stdout and its stderr.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("local_match still running after {limit:?} (it must never hang)");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.lines.try_iter());
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, self.seen.join("\n"), stderr)
    }
}

/// Runs the example to its end and checks it exited 0 and printed each of `expected`.
fn plays_to_the_end(args: &[&str], expected: &[&str]) -> String {
    let run = Run::start(args);
    let (status, stdout, stderr) = run.finish(Duration::from_secs(90));
    assert!(
        status.success(),
        "{status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in [
        // The first transition out of INITIALIZING: which status comes next depends on when
        // the poll lands (the gateway's coalesced view may skip SEEKING).
        "INITIALIZING -> ",
        "DEPLOYING -> READY",
        "HELLO -> WELCOME 5",
        "round 5/5: PING 5 -> PONG 5",
        "READY -> TERMINATED",
        "server exited with code 0 (stopped by: self)",
        "done: deploy -> ready",
    ]
    .iter()
    .chain(expected)
    {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
    stdout
}

#[test]
fn the_whole_match_plays_through_the_gateway_and_exits_0() {
    plays_to_the_end(
        &[],
        &[
            "holds the organisation token; the client holds no Edgegap token, only a player JWT",
            "owned by player `player-1` (owner tag `gw-",
        ],
    );
}

#[test]
fn the_direct_path_still_plays_and_exits_0() {
    let stdout = plays_to_the_end(
        &["--direct"],
        &["--direct: the client holds the organisation token"],
    );
    assert!(!stdout.contains("gateway on"), "{stdout}");
}

#[test]
fn a_server_killed_mid_match_fails_clearly() {
    let mut run = Run::start(&[]);
    let line = run.wait_for_line("server process `", Duration::from_secs(60));
    let pid = line
        .split('`')
        .nth(1)
        .and_then(|pid| pid.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    run.wait_for_line("round 2/5", Duration::from_secs(30));
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -9 {pid}");
    let (status, stdout, stderr) = run.finish(Duration::from_secs(60));
    assert!(
        !status.success(),
        "exit 0 after the server was killed\nstdout:\n{stdout}"
    );
    assert!(
        stderr.contains("local_match FAILED"),
        "no clear failure message\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        !stdout.contains("done: deploy -> ready"),
        "a summary after a failure:\n{stdout}"
    );
}
