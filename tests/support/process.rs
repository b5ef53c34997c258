//! Real server processes: the test binary itself, relaunched by the emulator as a deployment's
//! command (`--exact <server test> --ignored`). What the server does and logs goes to a file the
//! test names (`SERVER_TEST_OUT`), not only to the container logs, which are not readable once
//! a deployment is terminated.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bevy::log::BoxedLayer;
use bevy::log::tracing_subscriber::fmt;
use bevy::prelude::*;
use bevy_edgegap::prelude::{SelfStopFailed, ShutdownRequested};
use edgegap_emulator::{AppVersion, DeploymentInfo, EmulatorHandle};

/// What the server process should do.
pub const MODE: &str = "SERVER_TEST_MODE";
/// The file the server process writes its markers and log lines to.
pub const OUT: &str = "SERVER_TEST_OUT";

/// Server side: a marker line, on stdout and in the out file.
pub fn mark(line: impl AsRef<str>) {
    let line = line.as_ref();
    println!("{line}");
    if let Some(path) = std::env::var_os(OUT)
        && let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}

/// Server side: the mode this process was launched in as a deployment, or `None` when it runs
/// as a plain (ignored) test without the injected environment.
pub fn deployed_mode() -> Option<String> {
    std::env::var_os("ARBITRIUM_REQUEST_ID")?;
    Some(std::env::var(MODE).unwrap_or_default())
}

/// Server side: a system marking each [`SelfStopFailed`].
pub fn mark_self_stop_failed(mut failed: MessageReader<SelfStopFailed>) {
    for failed in failed.read() {
        mark(format!("MARKER self-stop failed: {}", failed.error));
    }
}

/// Server side: a system marking each [`ShutdownRequested`] with its reason.
pub fn mark_shutdown_requested(mut requested: MessageReader<ShutdownRequested>) {
    for request in requested.read() {
        mark(format!("MARKER shutdown requested {:?}", request.reason));
    }
}

/// Server side: the system of the shutting-down state: marks it and ends the app with success.
pub fn mark_and_exit(mut exit: MessageWriter<AppExit>) {
    mark("MARKER shutting down");
    exit.write(AppExit::Success);
}

/// Server side: `LogPlugin::custom_layer` writing every log line to the out file too.
pub fn log_to_out_file(_app: &mut App) -> Option<BoxedLayer> {
    let path = std::env::var_os(OUT)?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()?;
    Some(Box::new(
        fmt::layer().with_ansi(false).with_writer(Mutex::new(file)),
    ))
}

/// Test side: the out file of the server run in `mode`.
pub fn out_path(server_test: &str, mode: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "bevy_edgegap_{server_test}_{}_{mode}.log",
        std::process::id()
    ))
}

/// `game`/`v1` as the command `program args` (UDP `gameport`, 5 s from `SIGTERM` to `SIGKILL`),
/// with `env` added.
pub fn command_version(
    program: impl Into<PathBuf>,
    args: impl IntoIterator<Item = impl Into<String>>,
    env: &[(&str, &str)],
) -> AppVersion {
    let mut version = AppVersion::command("game", "v1", program, args)
        .port("gameport", 7777, "UDP")
        .grace_period(Duration::from_secs(5));
    for (key, value) in env {
        version = version.env(*key, *value);
    }
    version
}

/// Test side: one server process launched by an emulator.
pub struct ServerRun {
    pub emu: EmulatorHandle,
    pub id: String,
    pub out: PathBuf,
}

impl ServerRun {
    /// An emulator whose app version runs the ignored test `server_test` of this binary in
    /// `mode`, with `env` added, and one deployment of it.
    pub fn start(server_test: &str, mode: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with(server_test, mode, env, |emu| emu)
    }

    /// [`ServerRun::start`], with a look at the running emulator before the deploy.
    pub fn start_with(
        server_test: &str,
        mode: &str,
        env: &[(&str, &str)],
        before_deploy: impl FnOnce(EmulatorHandle) -> EmulatorHandle,
    ) -> Self {
        let out = out_path(server_test, mode);
        let _ = std::fs::remove_file(&out);
        let exe = std::env::current_exe().expect("the test binary's path");
        let version = command_version(
            exe,
            ["--exact", server_test, "--ignored", "--nocapture"],
            env,
        )
        .env(MODE, mode)
        .env(OUT, out.to_string_lossy());
        let emu = before_deploy(super::emulator_with(version));
        let id = super::deploy(&emu, super::game_v1());
        Self { emu, id, out }
    }

    /// What the server wrote so far.
    pub fn out(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Waits until the out file contains `needle`.
    pub fn wait_for_out(&self, needle: &str, within: Duration) {
        let bound = Instant::now() + within;
        while !self.out().contains(needle) {
            assert!(
                Instant::now() < bound,
                "no `{needle}` within {within:?}; the server wrote:\n{}",
                self.out()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (30 s at most) until the deployment is terminated.
    pub fn wait_until_terminated(&self) {
        assert!(
            self.emu
                .wait_for_status(&self.id, "Status.TERMINATED", Duration::from_secs(30)),
            "not terminated; the server wrote:\n{}",
            self.out()
        );
    }

    /// Waits until the process has exited; returns the deployment and what the server wrote.
    pub fn wait_for_exit(&self, within: Duration) -> (DeploymentInfo, String) {
        let bound = Instant::now() + within;
        loop {
            let info = self
                .emu
                .deployment(&self.id)
                .expect("the deployment is known");
            if info.exit_code.is_some() {
                return (info, self.out());
            }
            assert!(
                Instant::now() < bound,
                "the server process did not exit within {within:?}; it wrote:\n{}",
                self.out()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerRun {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.out);
    }
}
