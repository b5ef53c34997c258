//! A real server process launched by the emulator with the injected environment: this test
//! binary itself, re-run as `--exact server_process_main --ignored`. It self-stops when its
//! match finishes and exits 0 on the `SIGTERM` that follows; stopped from outside, it hears
//! `SIGTERM` and exits inside its grace period.
#![cfg(unix)]

mod support;

use std::time::Duration;

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::api::{Endpoint, Secret, StopDeployment};
use bevy_edgegap::http::send;
use bevy_edgegap::prelude::*;
use edgegap_emulator::Route;
use futures_lite::future::block_on;
use support::process::{
    MODE, ServerRun, deployed_mode, mark, mark_and_exit, mark_self_stop_failed,
    mark_shutdown_requested,
};

// Modes: `self_stop`: finish the match at once and self-stop; `wait`: run until `SIGTERM`;
// `panic`: panic in a system (the panic ends the app, which self-stops).

#[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
enum MatchState {
    #[default]
    Playing,
    Finished,
    ShuttingDown,
}

/// The server: only does something when launched as a deployment.
#[test]
#[ignore = "run by the emulator as a deployment's process"]
fn server_process_main() {
    let Some(mode) = deployed_mode() else {
        return;
    };
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(5))),
        StatesPlugin,
    ))
    .init_state::<MatchState>()
    .add_plugins(
        EdgegapServerPlugin::new()
            .with_grace(Duration::from_secs(2))
            .self_stop_on_enter(MatchState::Finished)
            .on_shutdown_enter(MatchState::ShuttingDown)
            .self_stop_on_panic(true),
    )
    .add_systems(Startup, move |env: Res<ArbitriumEnv>| {
        // Signals are handled from here on.
        mark(format!(
            "MARKER ready `{}` {:?}",
            env.request_id(),
            env.bind_addr("gameport")
        ));
    })
    .add_systems(
        Update,
        (
            |frames: Res<bevy::diagnostic::FrameCount>,
             state: Res<State<MatchState>>,
             mut next: ResMut<NextState<MatchState>>| {
                if std::env::var(MODE).as_deref() == Ok("panic") && frames.0 == 3 {
                    panic!("MARKER the server breaks");
                }
                if std::env::var(MODE).as_deref() == Ok("self_stop")
                    && frames.0 == 3
                    && *state.get() == MatchState::Playing
                {
                    mark("MARKER finished");
                    next.set(MatchState::Finished);
                }
            },
            |mut done: MessageReader<SelfStopCompleted>| {
                for done in done.read() {
                    mark(format!(
                        "MARKER self-stop completed after {}",
                        done.attempts
                    ));
                }
            },
            mark_self_stop_failed,
            mark_shutdown_requested,
        ),
    )
    .add_systems(OnEnter(MatchState::ShuttingDown), mark_and_exit);
    let exit = app.run();
    mark(format!("MARKER exit {exit:?} in mode {mode}"));
    assert_eq!(exit, AppExit::Success);
}

fn start(mode: &str) -> ServerRun {
    ServerRun::start("server_process_main", mode, &[])
}

#[test]
fn a_finished_match_self_stops_and_the_process_exits_cleanly() {
    let run = start("self_stop");
    run.wait_until_terminated();
    let (info, logs) = run.wait_for_exit(Duration::from_secs(10));
    assert_eq!(info.exit_code, Some(0), "logs:\n{logs}");
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "logs:\n{logs}");
    assert_eq!(run.emu.request_count(Route::SelfStop), 1);
    for marker in [
        "MARKER ready",
        "MARKER finished",
        "MARKER shutdown requested Terminate",
        "MARKER self-stop completed",
        "MARKER shutting down",
        "MARKER exit Success",
    ] {
        assert!(logs.contains(marker), "no `{marker}` in the logs:\n{logs}");
    }
    assert!(!logs.contains("MARKER self-stop failed"), "{logs}");
    let token = &info.env["ARBITRIUM_DELETE_TOKEN"];
    assert!(
        !logs.contains(token.as_str()),
        "the delete token was printed"
    );
}

#[test]
fn a_stopped_server_hears_sigterm_and_exits_within_its_grace() {
    let run = start("wait");
    // SIGTERM only once the handlers are installed.
    run.wait_for_out("MARKER ready", Duration::from_secs(30));
    let (emu, id) = (&run.emu, run.id.as_str());
    assert!(emu.wait_for_status(id, "Status.READY", Duration::from_secs(10)));
    let stop = StopDeployment::new(id)
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    block_on(send(stop)).unwrap();
    let (info, logs) = run.wait_for_exit(Duration::from_secs(10));
    // Exit code 0: it exited on its own within the grace; past it the emulator would have
    // killed it (SIGKILL, 137).
    assert_eq!(
        info.exit_code,
        Some(0),
        "killed, not a clean exit; logs:\n{logs}"
    );
    assert_eq!(info.stopped_by.as_deref(), Some("api"), "logs:\n{logs}");
    assert!(
        logs.contains("MARKER shutdown requested Terminate"),
        "{logs}"
    );
    assert!(logs.contains("MARKER exit Success"), "{logs}");
    assert!(!logs.contains("MARKER self-stop"), "{logs}");
    assert_eq!(emu.request_count(Route::SelfStop), 0);
    assert!(emu.wait_for_status(id, "Status.TERMINATED", Duration::from_secs(10)));
}

#[test]
fn a_panicking_server_still_stops_its_deployment() {
    let run = start("panic");
    run.wait_until_terminated();
    let (info, out) = run.wait_for_exit(Duration::from_secs(10));
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "{out}");
    assert_ne!(info.exit_code, Some(0), "a panic exited 0; {out}");
    assert!(out.contains("MARKER ready"), "{out}");
    assert_eq!(run.emu.request_count(Route::SelfStop), 1);
    // The panic and the last attempt are on stderr, in the container logs while they last.
    if let Some(logs) = run.emu.logs(&run.id).filter(|l| !l.is_empty()) {
        assert!(logs.contains("MARKER the server breaks"), "{logs}");
        assert!(logs.contains("attempting a self-stop"), "{logs}");
    }
}
