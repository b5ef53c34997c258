//! Per-frame cost of the client plugin: idle, and with 1,000 tracked READY deployments,
//! against an app without it.
//!
//! `cargo bench -p bevy_edgegap --bench client_frame`

use std::time::Duration;

use bevy::ecs::schedule::SingleThreadedExecutor;
use bevy::prelude::*;
use bevy_edgegap::api::{DeploymentStatus, Status};
use bevy_edgegap::prelude::*;
use bevy_edgegap::test_utils::app as plugin_app;
use criterion::{Criterion, criterion_group, criterion_main};

fn bare_app() -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    app.finish();
    app.cleanup();
    app
}

/// Runs every schedule on the calling thread: less scheduling noise, so the plugin's own cost
/// shows.
fn single_threaded(mut app: App) -> App {
    for (_, schedule) in app.world_mut().resource_mut::<Schedules>().iter_mut() {
        schedule.set_executor(SingleThreadedExecutor::new());
    }
    app
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let config = || EdgegapConfig::new("http://127.0.0.1:9", "t");
    let mut bare = bare_app();
    group.bench_function("minimal_plugins", |b| b.iter(|| bare.update()));
    let mut idle = plugin_app(config());
    group.bench_function("client_plugin_idle", |b| b.iter(|| idle.update()));
    let mut bare_st = single_threaded(bare_app());
    group.bench_function("minimal_plugins_single_threaded", |b| {
        b.iter(|| bare_st.update())
    });
    let mut idle_st = single_threaded(plugin_app(config()));
    group.bench_function("client_plugin_idle_single_threaded", |b| {
        b.iter(|| idle_st.update())
    });
    let mut tracked = single_threaded(plugin_app(config()));
    for i in 0..1000 {
        let status = DeploymentStatus {
            request_id: format!("{i:012x}").as_str().into(),
            current_status: Status::Ready,
            ..Default::default()
        };
        tracked.world_mut().spawn(Deployment::from_status(status));
    }
    group.bench_function(
        "client_plugin_1000_ready_deployments_single_threaded",
        |b| b.iter(|| tracked.update()),
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = frames
}
criterion_main!(benches);
