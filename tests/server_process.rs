//! A real server process launched by the emulator with the injected environment: this test
//! binary itself, re-run as `--exact server_process_main --ignored`. It self-stops when its
//! match finishes and exits 0 on the `SIGTERM` that follows; stopped from outside, it hears
//! `SIGTERM` and exits inside its grace period.
#![cfg(unix)]

#[path = "support/direct.rs"]
mod direct;

use std::time::{Duration, Instant};

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::api::{Endpoint, Secret, StopDeployment};
use bevy_edgegap::http::send;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Route};
use futures_lite::future::block_on;

/// `self_stop`: finish the match at once and self-stop; `wait`: run until `SIGTERM`;
/// `panic`: panic in a system (the panic hook self-stops).
const MODE: &str = "SERVER_TEST_MODE";

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
    if std::env::var_os("ARBITRIUM_REQUEST_ID").is_none() {
        return;
    }
    let mode = std::env::var(MODE).unwrap_or_default();
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
        println!(
            "MARKER ready `{}` {:?}",
            env.request_id(),
            env.bind_addr("gameport")
        );
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
                    println!("MARKER finished");
                    next.set(MatchState::Finished);
                }
            },
            |mut done: MessageReader<SelfStopCompleted>| {
                for done in done.read() {
                    println!("MARKER self-stop completed after {}", done.attempts);
                }
            },
            |mut failed: MessageReader<SelfStopFailed>| {
                for failed in failed.read() {
                    println!("MARKER self-stop failed: {}", failed.error);
                }
            },
            |mut requested: MessageReader<ShutdownRequested>| {
                for request in requested.read() {
                    println!("MARKER shutdown requested {:?}", request.reason);
                }
            },
        ),
    )
    .add_systems(
        OnEnter(MatchState::ShuttingDown),
        |mut exit: MessageWriter<AppExit>| {
            println!("MARKER shutting down");
            exit.write(AppExit::Success);
        },
    );
    let exit = app.run();
    println!("MARKER exit {exit:?} in mode {mode}");
    assert_eq!(exit, AppExit::Success);
}

fn emulator(mode: &str) -> EmulatorHandle {
    let exe = std::env::current_exe().expect("the test binary's path");
    Emulator::builder()
        .app_version(
            AppVersion::command(
                "game",
                "v1",
                exe,
                ["--exact", "server_process_main", "--ignored", "--nocapture"],
            )
            .port("gameport", 7777, "UDP")
            .grace_period(Duration::from_secs(5))
            .env(MODE, mode),
        )
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("emulator starts")
}

fn logs(emu: &EmulatorHandle, id: &str) -> String {
    emu.logs(id).unwrap_or_default()
}

/// Waits until the process has exited; returns its logs.
fn wait_for_exit(emu: &EmulatorHandle, id: &str, within: Duration) -> String {
    let bound = Instant::now() + within;
    while emu.deployment(id).and_then(|d| d.exit_code).is_none() {
        assert!(
            Instant::now() < bound,
            "the server process did not exit within {within:?}; logs:\n{}",
            logs(emu, id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    logs(emu, id)
}

#[test]
fn a_finished_match_self_stops_and_the_process_exits_cleanly() {
    let emu = emulator("self_stop");
    let id = direct::deploy(&emu, direct::game_v1());
    assert!(
        emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(30)),
        "not terminated; logs:\n{}",
        logs(&emu, &id)
    );
    let logs = wait_for_exit(&emu, &id, Duration::from_secs(10));
    let info = emu.deployment(&id).unwrap();
    assert_eq!(info.exit_code, Some(0), "logs:\n{logs}");
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "logs:\n{logs}");
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    for marker in [
        "MARKER ready",
        "MARKER finished",
        "MARKER shutdown requested Terminate",
        "MARKER shutting down",
        "MARKER exit Success",
    ] {
        assert!(logs.contains(marker), "no `{marker}` in the logs:\n{logs}");
    }
    // Edgegap may send SIGTERM before the self-stop's answer arrives (the emulator does): the
    // server may exit before `SelfStopCompleted`, but never with a failure.
    assert!(!logs.contains("MARKER self-stop failed"), "{logs}");
    if logs.contains("MARKER self-stop completed") {
        assert!(
            logs.contains("MARKER self-stop completed after 1"),
            "{logs}"
        );
    }
    let token = &info.env["ARBITRIUM_DELETE_TOKEN"];
    assert!(
        !logs.contains(token.as_str()),
        "the delete token was printed"
    );
}

#[test]
fn a_stopped_server_hears_sigterm_and_exits_within_its_grace() {
    let emu = emulator("wait");
    let id = direct::deploy(&emu, direct::game_v1());
    // SIGTERM only once the handlers are installed.
    let bound = Instant::now() + Duration::from_secs(30);
    while !logs(&emu, &id).contains("MARKER ready") {
        assert!(
            Instant::now() < bound,
            "the server never started; logs:\n{}",
            logs(&emu, &id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));
    let stop = StopDeployment::new(id.as_str())
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    let stopped_at = Instant::now();
    block_on(send(stop)).unwrap();
    let logs = wait_for_exit(&emu, &id, Duration::from_secs(10));
    let took = stopped_at.elapsed();
    let info = emu.deployment(&id).unwrap();
    assert_eq!(
        info.exit_code,
        Some(0),
        "killed, not a clean exit; logs:\n{logs}"
    );
    assert!(
        took < Duration::from_secs(5),
        "exited after {took:?}, past the 5 s grace"
    );
    assert!(
        logs.contains("MARKER shutdown requested Terminate"),
        "{logs}"
    );
    assert!(logs.contains("MARKER exit Success"), "{logs}");
    assert!(!logs.contains("MARKER self-stop"), "{logs}");
    assert_eq!(emu.request_count(Route::SelfStop), 0);
    assert!(emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)));
}

#[test]
fn a_panicking_server_still_stops_its_deployment() {
    let emu = emulator("panic");
    let id = direct::deploy(&emu, direct::game_v1());
    assert!(
        emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(30)),
        "not terminated; logs:\n{}",
        logs(&emu, &id)
    );
    let logs = wait_for_exit(&emu, &id, Duration::from_secs(10));
    let info = emu.deployment(&id).unwrap();
    assert_eq!(info.stopped_by.as_deref(), Some("self"), "logs:\n{logs}");
    assert_ne!(info.exit_code, Some(0), "a panic exited 0; logs:\n{logs}");
    assert!(logs.contains("MARKER the server breaks"), "{logs}");
    assert!(logs.contains("attempting a self-stop"), "{logs}");
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}
