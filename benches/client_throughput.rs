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

/// 1,000 status calls issued in one frame; frames run until all resolved.
fn through_plugin(emu: &EmulatorHandle, id: &str) -> Duration {
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
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "plugin run stalled"
        );
    }
    start.elapsed()
}

/// The same calls with plain blocking ehttp, `CONCURRENCY` threads.
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

fn throughput(_c: &mut Criterion) {
    let (emu, id) = emulator();
    // Warm up both paths once, then alternate.
    through_plugin(&emu, &id);
    plain_ehttp(&emu, &id);
    let mut plugin = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..5 {
        plugin.push(through_plugin(&emu, &id));
        plain.push(plain_ehttp(&emu, &id));
    }
    plugin.sort();
    plain.sort();
    let (p, q) = (plugin[plugin.len() / 2], plain[plain.len() / 2]);
    println!(
        "throughput: {CALLS} status calls, {CONCURRENCY} in flight: plugin median {p:?}, plain ehttp median {q:?}, ratio {:.3} (target <= 1.25)",
        p.as_secs_f64() / q.as_secs_f64()
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
