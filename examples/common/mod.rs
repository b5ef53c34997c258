//! What the two examples that run everything on this machine (`local_match`, `matchmaking`)
//! share: the same binary is the player and, launched by the emulator with `--server`, the
//! dedicated server; a headless app at 60 frames a second.

use std::sync::Arc;
use std::time::Duration;

use bevy::app::{PluginGroupBuilder, ScheduleRunnerPlugin};
use bevy::log::{Level, LogPlugin};
use bevy::prelude::*;
use edgegap_emulator::{AppVersion, EmulatorHandle};

#[path = "../dedicated_server.rs"]
mod dedicated_server;

pub use dedicated_server::GAME_PORT;

/// The app version both examples deploy.
pub const VERSION: &str = "v1";

/// `app`/[`VERSION`], whose deployments run this binary as the dedicated server (see
/// [`server_or_emulator`]) on [`GAME_PORT`]: `rounds` rounds (the server reads
/// `MATCH_ROUNDS`), at most `time_limit_secs` (a server nobody joins ends its match, and
/// deployment, on its own).
pub fn this_binary_as_server(
    app: &str,
    rounds: u32,
    time_limit_secs: u32,
) -> std::io::Result<AppVersion> {
    Ok(
        AppVersion::command(app, VERSION, std::env::current_exe()?, ["--server"])
            .port(GAME_PORT, 7777, "UDP")
            .env("MATCH_ROUNDS", rounds.to_string())
            .env("MATCH_TIME_LIMIT_SECS", time_limit_secs.to_string())
            // The emulator captures the server's output: keep it free of colour codes.
            .env("NO_COLOR", "1")
            .grace_period(Duration::from_secs(3)),
    )
}

/// The start of `example`: launched by the emulator as a deployment's process (`--server`),
/// it is the dedicated server (`Err` with the server's exit); else the emulator `start`
/// makes (`Err` when it cannot start, said on stderr).
pub fn server_or_emulator(
    example: &str,
    start: impl FnOnce() -> Result<EmulatorHandle, Box<dyn std::error::Error>>,
) -> Result<Arc<EmulatorHandle>, AppExit> {
    if std::env::args().any(|arg| arg == "--server") {
        return Err(dedicated_server::main());
    }
    start().map(Arc::new).map_err(|error| {
        eprintln!("{example} FAILED: cannot start the emulator: {error}");
        AppExit::error()
    })
}

/// A headless app's plugins: 60 frames a second; warnings only (on stderr, where `filter`
/// lets them through): the example prints its own progress on stdout.
pub fn headless(filter: &str) -> (PluginGroupBuilder, LogPlugin) {
    (
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_secs_f64(
            1.0 / 60.0,
        ))),
        LogPlugin {
            level: Level::WARN,
            filter: filter.into(),
            ..default()
        },
    )
}
