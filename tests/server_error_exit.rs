//! With `self_stop_on_panic`, an `AppExit::Error` still stops the deployment: one bounded,
//! blocking attempt before the app loop ends. (Its own file: it installs a process-wide panic
//! hook; the panic path itself runs in `server_process.rs`, in a real process.)

use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, Endpoint, Secret};
use bevy_edgegap::http::send;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, Route};
use futures_lite::future::block_on;

#[test]
fn an_error_exit_still_self_stops() {
    let emu = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .unwrap();
    let deploy = DeployRequest::new("game", "v1").user_ip("1.2.3.4");
    let request = deploy
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    let id = deploy
        .decode(&block_on(send(request)).unwrap())
        .unwrap()
        .request_id
        .to_string();
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));

    let env = ArbitriumEnv::from_vars(emu.deployment(&id).unwrap().env).unwrap();
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
    assert_eq!(emu.request_count(Route::SelfStop), 0);
    app.world_mut().write_message(AppExit::error());
    // The attempt blocks inside this frame's `Last`: the request has reached the emulator
    // when `update` returns.
    app.update();
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    assert!(emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)));
    assert_eq!(
        emu.deployment(&id).unwrap().stopped_by.as_deref(),
        Some("self")
    );
    // Exactly once: more error exits send nothing more.
    app.world_mut().write_message(AppExit::error());
    app.update();
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}
