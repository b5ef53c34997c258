//! Wall time of 1,000 status calls against the emulator (rate limits off): through the
//! client plugin, and through a plain loop of blocking ehttp calls with the same concurrency.
//!
//! `cargo bench -p bevy_edgegap --bench client_throughput`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::api::{Endpoint, GetStatus, Secret};
use bevy_edgegap::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle};

fn plugin_app(config: EdgegapConfig) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(EdgegapClientPlugin::new(config));
    app.finish();
    app.cleanup();
    app
}

fn emulator() -> (EmulatorHandle, String) {
    let emu = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .lifecycle_step(Duration::ZERO)
        .without_rate_limits()
        .start()
        .expect("the emulator starts");
    let request = bevy_edgegap::api::DeployRequest::new("game", "v1")
        .user_ip("1.2.3.4")
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    let answer = futures_lite::future::block_on(bevy_edgegap::http::send(request)).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let id = body["request_id"].as_str().unwrap().to_owned();
    (emu, id)
}

const CALLS: usize = 1000;
const CONCURRENCY: usize = 8;

/// 1,000 status calls issued in one frame; frames run back to back until all resolved
/// (`yield_between_frames`: the main thread yields between frames, leaving the CPU to the
/// HTTP threads as a paced game loop would).
fn through_plugin(emu: &EmulatorHandle, id: &str, yield_between_frames: bool) -> Duration {
    let mut app = plugin_app(
        EdgegapConfig::new(emu.base_url(), emu.token())
            .with_max_in_flight(CONCURRENCY)
            .with_rate_limits(RateLimits::none()),
    );
    #[derive(Resource, Default)]
    struct Done(usize);
    app.init_resource::<Done>();
    app.add_systems(
        Last,
        |mut r: MessageReader<EdgegapResponse<GetStatus>>, mut done: ResMut<Done>| {
            for response in r.read() {
                assert!(response.result.is_ok(), "{:?}", response.result);
                done.0 += 1;
            }
        },
    );
    let id = id.to_owned();
    let start = Instant::now();
    let system = app.world_mut().register_system(move |mut eg: Edgegap| {
        for _ in 0..CALLS {
            eg.status(id.as_str());
        }
    });
    app.world_mut().run_system(system).unwrap();
    while app.world().resource::<Done>().0 < CALLS {
        app.update();
        if yield_between_frames {
            std::thread::yield_now();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "plugin run stalled"
        );
    }
    start.elapsed()
}

/// The same calls with `ehttp::fetch` (a thread per request, like the plugin's sender), at
/// most `CONCURRENCY` at once.
fn plain_ehttp_fetch(emu: &EmulatorHandle, id: &str) -> Duration {
    let request = GetStatus::new(id)
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    let mut issued = 0;
    let mut done = 0;
    while done < CALLS {
        while issued < CALLS && issued - done < CONCURRENCY {
            let mut headers = ehttp::Headers::default();
            for (k, v) in &request.headers {
                headers.insert(k, v);
            }
            let tx = tx.clone();
            ehttp::fetch(
                ehttp::Request {
                    method: "GET".into(),
                    url: request.url.clone(),
                    body: Vec::new(),
                    headers,
                },
                move |answer| {
                    let _ = tx.send(answer.map(|r| r.status));
                },
            );
            issued += 1;
        }
        assert_eq!(rx.recv().expect("answer"), Ok(200));
        done += 1;
    }
    start.elapsed()
}

/// The same calls through `bevy_edgegap::http::spawn_request` (the plugin's sender) without
/// the ECS, at most `CONCURRENCY` at once, polled in a loop.
fn plain_spawn_request(emu: &EmulatorHandle, id: &str) -> Duration {
    let request = GetStatus::new(id)
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    let start = Instant::now();
    let mut issued = 0;
    let mut done = 0;
    let mut pending = Vec::new();
    while done < CALLS {
        while issued < CALLS && pending.len() < CONCURRENCY {
            pending.push(bevy_edgegap::http::spawn_request(request.clone()));
            issued += 1;
        }
        pending.retain(|p| match p.try_take() {
            Some(answer) => {
                assert_eq!(answer.map(|r| r.status), Ok(200));
                done += 1;
                false
            }
            None => true,
        });
        std::thread::yield_now();
    }
    start.elapsed()
}

/// The same calls with blocking ehttp on `CONCURRENCY` long-lived threads.
fn plain_ehttp(emu: &EmulatorHandle, id: &str) -> Duration {
    let request = GetStatus::new(id)
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < CALLS {
                    let mut headers = ehttp::Headers::default();
                    for (k, v) in &request.headers {
                        headers.insert(k, v);
                    }
                    let response = ehttp::fetch_blocking(&ehttp::Request {
                        method: "GET".into(),
                        url: request.url.clone(),
                        body: Vec::new(),
                        headers,
                    })
                    .expect("answer");
                    assert_eq!(response.status, 200);
                }
            });
        }
    });
    start.elapsed()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn throughput(_c: &mut Criterion) {
    let (emu, id) = emulator();
    // Warm up every path once, then alternate.
    through_plugin(&emu, &id, false);
    plain_ehttp_fetch(&emu, &id);
    plain_ehttp(&emu, &id);
    let (mut plugin, mut plugin_yield, mut fetch, mut blocking) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut sender = Vec::new();
    for _ in 0..5 {
        sender.push(plain_spawn_request(&emu, &id));
        plugin.push(through_plugin(&emu, &id, false));
        plugin_yield.push(through_plugin(&emu, &id, true));
        fetch.push(plain_ehttp_fetch(&emu, &id));
        blocking.push(plain_ehttp(&emu, &id));
    }
    let (plugin, plugin_yield, fetch, blocking) = (
        median(plugin),
        median(plugin_yield),
        median(fetch),
        median(blocking),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("throughput: {CALLS} status calls, {CONCURRENCY} in flight, medians of 5 runs");
    println!("  plugin, frames back to back:        {plugin:?}");
    println!("  plugin, yield between frames:       {plugin_yield:?}");
    println!("  plain ehttp::fetch, window of {CONCURRENCY}:    {fetch:?}");
    let sender = median(sender);
    println!(
        "  http::spawn_request, window of {CONCURRENCY}: {sender:?} (the plugin's sender, no ECS)"
    );
    println!("  plain ehttp::fetch_blocking, {CONCURRENCY} threads: {blocking:?}");
    println!("  ratio plugin/spawn_request {:.3}", ratio(plugin, sender));
    println!(
        "  ratio plugin/fetch {:.3}, plugin(yield)/fetch {:.3}, plugin/blocking {:.3}, plugin(yield)/blocking {:.3} (target <= 1.25)",
        ratio(plugin, fetch),
        ratio(plugin_yield, fetch),
        ratio(plugin, blocking),
        ratio(plugin_yield, blocking),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = throughput
}
criterion_main!(benches);
