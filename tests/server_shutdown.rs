//! Graceful shutdown: `ShutdownRequested` changes the configured state in the same frame and
//! the app exits with `AppExit::Success` after the grace window; `SIGTERM` becomes
//! `ShutdownRequested` (unix).

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::prelude::*;

#[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
enum MatchState {
    #[default]
    Playing,
    ShuttingDown,
}

fn app(plugin: EdgegapServerPlugin) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .init_state::<MatchState>()
        .add_plugins(plugin.on_shutdown_enter(MatchState::ShuttingDown));
    app.finish();
    app.update();
    app
}

fn state(app: &App) -> MatchState {
    app.world().resource::<State<MatchState>>().get().clone()
}

fn request(app: &mut App, grace: Duration) {
    app.world_mut().write_message(ShutdownRequested {
        grace,
        reason: ShutdownReason::Requested,
    });
}

#[test]
fn the_state_changes_in_the_same_frame() {
    let mut app = app(EdgegapServerPlugin::new().with_signals(false));
    assert_eq!(state(&app), MatchState::Playing);
    request(&mut app, Duration::from_secs(3600));
    app.update();
    assert_eq!(state(&app), MatchState::ShuttingDown);
}

#[test]
fn the_app_keeps_running_during_the_grace_window() {
    let mut app = app(EdgegapServerPlugin::new().with_signals(false));
    request(&mut app, Duration::from_secs(3600));
    for _ in 0..20 {
        app.update();
        assert!(app.should_exit().is_none());
    }
}

#[test]
fn the_app_exits_successfully_once_the_grace_window_is_over() {
    let mut app = app(EdgegapServerPlugin::new().with_signals(false));
    assert!(app.should_exit().is_none());
    request(&mut app, Duration::ZERO);
    let bound = Instant::now() + Duration::from_secs(5);
    while app.should_exit().is_none() {
        assert!(Instant::now() < bound, "no AppExit after a zero grace");
        app.update();
    }
    assert_eq!(app.should_exit(), Some(AppExit::Success));
}

#[test]
fn only_the_first_request_starts_the_window() {
    let mut app = app(EdgegapServerPlugin::new().with_signals(false));
    request(&mut app, Duration::from_secs(3600));
    app.update();
    // A later, shorter request does not shorten the window already running.
    request(&mut app, Duration::ZERO);
    for _ in 0..10 {
        app.update();
        assert!(app.should_exit().is_none());
    }
}

#[cfg(unix)]
#[test]
fn sigterm_becomes_shutdown_requested_with_the_configured_grace() {
    // The only test here that listens for signals: a raised SIGTERM reaches every app that does.
    let grace = Duration::from_millis(1234);
    let mut app = app(EdgegapServerPlugin::new().with_grace(grace));
    signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
    let bound = Instant::now() + Duration::from_secs(5);
    let mut cursor = app
        .world()
        .resource::<Messages<ShutdownRequested>>()
        .get_cursor();
    loop {
        assert!(
            Instant::now() < bound,
            "SIGTERM never became ShutdownRequested"
        );
        app.update();
        let messages = app.world().resource::<Messages<ShutdownRequested>>();
        let seen: Vec<_> = cursor.read(messages).cloned().collect();
        if let Some(first) = seen.first() {
            assert_eq!(
                first,
                &ShutdownRequested {
                    grace,
                    reason: ShutdownReason::Terminate
                }
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Same frame as the message: the state already changed.
    assert_eq!(state(&app), MatchState::ShuttingDown);
    assert!(
        app.should_exit().is_none(),
        "exited before the grace window"
    );
}
