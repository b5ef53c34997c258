//! Match-lifecycle policies on real processes: the emulator launches this test binary as the
//! deployment's server (`--exact server_policies_main --ignored`). For each policy the server
//! stops its own deployment (`stopped_by` = self), logs why, hears `SIGTERM` and exits 0.
//! Also both orders of `SIGTERM` and the self-stop's answer, fixed by a reordering proxy
//! (`support/reorder.rs`): either way the game sees `SelfStopCompleted` and `ShutdownRequested`
//! and the process exits 0 within its grace window.
#![cfg(unix)]

mod support;

use std::time::Duration;

use bevy::app::ScheduleRunnerPlugin;
use bevy::log::{Level, LogPlugin};
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::prelude::*;
use edgegap_emulator::Route;
use support::process::{
    MODE, ServerRun, deployed_mode, mark, mark_and_exit, mark_self_stop_failed,
    mark_shutdown_requested,
};
use support::reorder::{Order, Proxy};

/// The origin of the reordering proxy, when the self-stop goes through one.
const VIA: &str = "SERVER_TEST_DELETE_VIA";
/// The limit every policy gets here.
const LIMIT: Duration = Duration::from_millis(300);

#[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
enum MatchState {
    #[default]
    Playing,
    ShuttingDown,
}

/// The server: only does something when launched as a deployment. Modes: `empty` (two
/// players join, then leave), `no_player` (nobody comes), `max_duration` (a player stays),
/// `sigterm_first` and `answer_first` (the game writes `SelfStop` at once; the self-stop goes
/// through the proxy).
#[test]
#[ignore = "run by the emulator as a deployment's process"]
fn server_policies_main() {
    let Some(mode) = deployed_mode() else {
        return;
    };
    let mut env = ArbitriumEnv::from_env().expect("on a deployment");
    if let Ok(via) = std::env::var(VIA) {
        // The same path, through the proxy's origin.
        let url = env.delete_url.clone().expect("a delete URL");
        let path = url.splitn(4, '/').nth(3).expect("a path");
        env.delete_url = Some(format!("{via}/{path}"));
    }
    let plugin = EdgegapServerPlugin::new()
        .with_grace(Duration::from_secs(2))
        .on_shutdown_enter(MatchState::ShuttingDown);
    let plugin = match mode.as_str() {
        "empty" => plugin.stop_when_empty_for(LIMIT),
        "no_player" => plugin.stop_if_no_player_within(LIMIT),
        "max_duration" => plugin.max_match_duration(LIMIT),
        _ => plugin,
    };
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(5))),
        LogPlugin {
            level: Level::INFO,
            filter: "info".into(),
            custom_layer: support::process::log_to_out_file,
            ..LogPlugin::default()
        },
        StatesPlugin,
    ))
    .init_state::<MatchState>()
    .insert_resource(env)
    .add_plugins(plugin)
    .add_systems(
        Update,
        (
            play,
            |mut done: MessageReader<SelfStopCompleted>| {
                for done in done.read() {
                    mark(format!(
                        "MARKER self-stop completed {:?} sigterm_first={}",
                        done.reason, done.sigterm_first
                    ));
                }
            },
            mark_self_stop_failed,
            mark_shutdown_requested,
        )
            .chain(),
    )
    .add_systems(OnEnter(MatchState::ShuttingDown), mark_and_exit);
    let exit = app.run();
    mark(format!("MARKER exit {exit:?}"));
    assert_eq!(exit, AppExit::Success);
}

/// The game's side of each mode, by frame.
fn play(
    frames: Res<bevy::diagnostic::FrameCount>,
    mut players: ResMut<PlayerCount>,
    mut stop: MessageWriter<SelfStop>,
) {
    let mode = std::env::var(MODE).unwrap_or_default();
    match (mode.as_str(), frames.0) {
        ("empty", 3) => {
            players.joined();
            players.joined();
            mark("MARKER two players joined");
        }
        ("empty", 20) => {
            players.left();
            players.left();
            mark("MARKER both players left");
        }
        ("max_duration", 3) => {
            players.joined();
            mark("MARKER one player joined");
        }
        ("sigterm_first" | "answer_first", 3) => {
            stop.write(SelfStop);
        }
        _ => {}
    }
}

/// A policy run: exit 0, `stopped_by` = self, the reason logged and on the result.
fn assert_policy_stops(mode: &str, logged: &str, reason: &str) -> String {
    let run = ServerRun::start("server_policies_main", mode, &[]);
    let out = self_stopped_cleanly(&run);
    let line = format!("self-stopping deployment `{}`: {logged}", run.id);
    assert!(out.contains(&line), "no `{line}` in the log:\n{out}");
    assert!(
        out.contains(&format!("MARKER self-stop completed {reason}")),
        "{out}"
    );
    for marker in [
        "MARKER shutdown requested Terminate",
        "MARKER shutting down",
    ] {
        assert!(out.contains(marker), "no `{marker}` in:\n{out}");
    }
    out
}

/// Waits for the end of a run that self-stopped: terminated, `stopped_by` = self after one
/// self-stop, and the process exited 0 by itself (well inside the emulator's 5 s before
/// `SIGKILL`), the game having seen no failure. Returns what the server wrote.
fn self_stopped_cleanly(run: &ServerRun) -> String {
    run.wait_until_terminated();
    let (info, out) = run.wait_for_exit(Duration::from_secs(10));
    assert_eq!(info.exit_code, Some(0), "the server wrote:\n{out}");
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "{out}");
    assert_eq!(run.emu.request_count(Route::SelfStop), 1, "{out}");
    assert!(out.contains("MARKER exit Success"), "{out}");
    assert!(!out.contains("MARKER self-stop failed"), "{out}");
    out
}

#[test]
fn an_empty_match_stops_its_deployment() {
    let out = assert_policy_stops(
        "empty",
        "the match has been empty for `300ms`",
        "EmptyFor(300ms)",
    );
    // Empty counts from when the players left, not from the start.
    let left = out.find("MARKER both players left").expect("players left");
    let stopped = out.find("self-stopping deployment").unwrap();
    assert!(left < stopped, "{out}");
}

#[test]
fn a_match_nobody_joins_stops_its_deployment() {
    let out = assert_policy_stops(
        "no_player",
        "no player joined within `300ms`",
        "NoPlayerWithin(300ms)",
    );
    assert!(!out.contains("MARKER two players joined"), "{out}");
}

#[test]
fn a_match_past_its_maximum_duration_stops_its_deployment_with_players_in_it() {
    let out = assert_policy_stops(
        "max_duration",
        "the match reached its maximum duration `300ms`",
        "MaxMatchDuration(300ms)",
    );
    assert!(out.contains("MARKER one player joined"), "{out}");
}

/// The self-stop through a proxy that fixes the order of `SIGTERM` and the answer.
fn ordered_run(order: Order) -> (String, ServerRun) {
    let mode = match order {
        Order::SigtermFirst => "sigterm_first",
        Order::AnswerFirst => "answer_first",
    };
    let out = support::process::out_path("server_policies_main", mode);
    let proxy = Proxy::start(order, move || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("MARKER self-stop completed")
    });
    let run = ServerRun::start_with(
        "server_policies_main",
        mode,
        &[(VIA, proxy.origin())],
        |emu| {
            proxy.forward_to(emu.base_url());
            emu
        },
    );
    let out = self_stopped_cleanly(&run);
    (out, run)
}

#[test]
fn sigterm_before_the_answer_still_completes_the_self_stop_and_exits_cleanly() {
    let (out, _run) = ordered_run(Order::SigtermFirst);
    assert!(
        out.contains("MARKER shutdown requested Terminate"),
        "no SIGTERM seen:\n{out}"
    );
    assert!(
        out.contains("MARKER self-stop completed Requested sigterm_first=true"),
        "the game never saw `SelfStopCompleted`:\n{out}"
    );
    assert!(out.contains("`SIGTERM` arrived first"), "{out}");
}

#[test]
fn the_answer_before_sigterm_completes_then_shuts_down_cleanly() {
    let (out, _run) = ordered_run(Order::AnswerFirst);
    let done = out
        .find("MARKER self-stop completed Requested sigterm_first=false")
        .unwrap_or_else(|| panic!("the game never saw `SelfStopCompleted`:\n{out}"));
    let term = out
        .find("MARKER shutdown requested Terminate")
        .unwrap_or_else(|| panic!("no SIGTERM seen:\n{out}"));
    assert!(done < term, "the answer should come first:\n{out}");
    assert!(out.contains("MARKER shutting down"), "{out}");
}
