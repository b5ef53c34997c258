//! `self_stop_on_panic` acts only on what ends the app: a panic that unwinds out of the app's
//! update (a panicking system) self-stops once, and so does an `AppExit::Error`; a panic that
//! something catches while the app keeps running (another thread, a task) sends nothing. The
//! real-process panic path runs in `server_process.rs`.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{EmulatorHandle, Route};
use support::run_for;

fn server(emu: &EmulatorHandle, id: &str) -> App {
    let env = ArbitriumEnv::from_vars(emu.deployment(id).unwrap().env).unwrap();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(env)
        .add_plugins(
            EdgegapServerPlugin::new()
                .with_signals(false)
                .self_stop_on_panic(true),
        );
    app.finish();
    app.update();
    app
}

#[test]
fn a_panic_the_app_survives_sends_nothing() {
    let (emu, id) = support::ready_deployment();
    let mut app = server(&emu, &id);
    // A worker thread panics and the game carries on (as Bevy does with a panicking task).
    let joined = std::thread::spawn(|| panic!("a worker breaks")).join();
    assert!(joined.is_err());
    // And a panic caught on the app's own thread.
    assert!(catch_unwind(|| panic!("caught at once")).is_err());
    // Frames, then the app's end: a self-stop these panics set off would have gone out by then
    // (the last-resort attempt blocks the drop).
    run_for(&mut app, Duration::from_millis(200));
    drop(app);
    assert_eq!(
        emu.request_count(Route::SelfStop),
        0,
        "a panic the app survived stopped the deployment"
    );
    assert_eq!(emu.deployment(&id).unwrap().status, "Status.READY");
}

#[test]
fn a_panic_that_ends_the_app_self_stops_once() {
    let (emu, id) = support::ready_deployment();
    let mut app = server(&emu, &id);
    app.add_systems(Update, || panic!("a system breaks"));
    // The app is moved in: the panic unwinds out of its update and drops it, as `App::run`
    // does when a system panics.
    let ended = catch_unwind(AssertUnwindSafe(move || {
        app.update();
    }));
    assert!(ended.is_err());
    // The attempt blocks while the app is dropped: the request has arrived.
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    support::assert_self_stopped(&emu, &id);
}

#[test]
fn an_error_exit_still_self_stops_once() {
    let (emu, id) = support::ready_deployment();
    let mut app = server(&emu, &id);
    assert_eq!(emu.request_count(Route::SelfStop), 0);
    app.world_mut().write_message(AppExit::error());
    // The attempt blocks inside this frame's `Last`: the request has reached the emulator
    // when `update` returns.
    app.update();
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    support::assert_self_stopped(&emu, &id);
    // Exactly once: more error exits, and the app's end, send nothing more.
    app.world_mut().write_message(AppExit::error());
    app.update();
    drop(app);
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}
