//! Per-frame cost of the client plugin: idle, and with 1,000 and 10,000 tracked READY
//! deployments, with Bevy's multi-threaded executor and with the single-threaded one, against
//! an app without the plugin. Prints its figures.
//!
//! The deployments are real: deployed on the emulator, followed with `Edgegap::track` until
//! READY, then polled within Edgegap's documented status budget (20 a second). With 1,000 or
//! more, every poll is overdue and waits for the budget: the busiest steady state, and the
//! same poll work for 1,000 and 10,000. The apps run in alternated blocks of frames; each row
//! gives the median block mean and the median, over rounds, of the app's frame minus the bare
//! app's in the same round (the plugin's cost).
//!
//! `cargo bench -p bevy_edgegap --bench client_frame`

mod support;

use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, Endpoint, Secret};
use bevy_edgegap::prelude::*;
use bevy_edgegap::test_utils::app as plugin_app;
use edgegap_emulator::EmulatorHandle;
use support::{Executor, alternate, bare_app, game_emulator, print_rows, start_until};

const ROUNDS: usize = 31;
const FEW: usize = 1_000;
const MANY: usize = 10_000;

/// Deploys `n` deployments on the emulator (plain HTTP, 64 at a time) and returns their ids.
fn deploy(emu: &EmulatorHandle, n: usize) -> Vec<String> {
    let request = DeployRequest::new("game", "v1")
        .user_ip("1.2.3.4")
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .expect("a valid deploy");
    let mut ids = Vec::with_capacity(n);
    let mut pending = std::collections::VecDeque::new();
    while ids.len() < n {
        while pending.len() < 64 && ids.len() + pending.len() < n {
            pending.push_back(bevy_edgegap::http::spawn_request(request.clone()));
        }
        let answer = loop {
            if let Some(answer) = pending.front().and_then(|p| p.try_take()) {
                pending.pop_front();
                break answer.expect("the deploy is answered");
            }
            std::thread::yield_now();
        };
        let body: serde_json::Value = serde_json::from_slice(&answer.body).expect("json");
        ids.push(body["request_id"].as_str().expect("an id").to_owned());
    }
    ids
}

/// A plugin app following `ids` until every one is READY (polled without a budget), then
/// polling within the documented budget.
fn tracking_app(emu: &EmulatorHandle, ids: &[String], executor: Executor) -> App {
    let config = EdgegapConfig::new(emu.base_url(), emu.token());
    let mut app = plugin_app(config.clone().with_rate_limits(RateLimits::none()));
    executor.apply(&mut app);
    let ids = ids.to_vec();
    let n = ids.len();
    let track = move |mut edgegap: Edgegap| {
        for id in &ids {
            edgegap.track(id.as_str());
        }
    };
    start_until::<Running, _>(&mut app, track, "every deployment READY", n);
    app.insert_resource(config.with_rate_limits(RateLimits::documented()));
    app
}

fn main() {
    // Criterion's arguments (`--bench`) are ignored: this bench prints its own figures.
    let emu = game_emulator();
    let ids = deploy(&emu, MANY);
    let idle_config = || EdgegapConfig::new("http://127.0.0.1:9", "t");
    println!(
        "client_frame: median of {ROUNDS} alternated rounds; tracked deployments are READY and \
         polled within the documented status budget (20/s)"
    );
    for executor in Executor::BOTH {
        let mut bare = bare_app();
        executor.apply(&mut bare);
        let mut idle = plugin_app(idle_config());
        executor.apply(&mut idle);
        let mut few = tracking_app(&emu, &ids[..FEW], executor);
        let mut many = tracking_app(&emu, &ids, executor);
        let sent_before = [&few, &many].map(|app| app.world().resource::<EdgegapStats>().sent);
        let samples = alternate(
            &mut [&mut bare, &mut idle, &mut few, &mut many],
            ROUNDS,
            executor.block(),
        );
        print_rows(
            executor,
            &[
                "minimal_plugins",
                "client plugin, idle",
                "1,000 tracked READY deployments",
                "10,000 tracked READY deployments",
            ],
            &samples,
        );
        let sent = [&few, &many]
            .map(|app| app.world().resource::<EdgegapStats>().sent)
            .iter()
            .zip(sent_before)
            .map(|(after, before)| after - before)
            .collect::<Vec<_>>();
        println!(
            "  {:<16} status polls sent while timed: {} (1,000), {} (10,000)",
            executor.name(),
            sent[0],
            sent[1]
        );
    }
}
