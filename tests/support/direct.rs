//! Deployments made straight through `bevy_edgegap::api` + `http::send`, without the client
//! plugin: for the server-side tests, which need a deployment (and its injected environment)
//! to exist. The client plugin has its own tests.
#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]

use std::time::Duration;

use bevy_edgegap::api::{DeployRequest, Endpoint, Secret};
use bevy_edgegap::http::send;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle};
use futures_lite::future::block_on;

/// An emulator with one simulated version `game`/`v1` (UDP `gameport`), no rate limits and an
/// instant lifecycle.
pub fn simulated_emulator() -> EmulatorHandle {
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("emulator starts")
}

/// The plain deploy these tests make: `game`/`v1` near one player.
pub fn game_v1() -> DeployRequest {
    DeployRequest::new("game", "v1").user_ip("1.2.3.4")
}

/// Deploys `request` and returns the new deployment's id (without waiting for READY).
pub fn deploy(emu: &EmulatorHandle, request: DeployRequest) -> String {
    let http = request
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .expect("a valid deploy");
    let answer = block_on(send(http)).expect("the emulator answers");
    request
        .decode(&answer)
        .expect("deploy accepted")
        .request_id
        .to_string()
}

/// Deploys `request` and waits until the emulator reports it READY.
pub fn deploy_ready(emu: &EmulatorHandle, request: DeployRequest) -> String {
    let id = deploy(emu, request);
    assert!(
        emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)),
        "`{id}` never became READY"
    );
    id
}
