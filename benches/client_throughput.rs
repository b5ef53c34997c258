//! Wall time of 1,000 status calls against the emulator on loopback (rate limits off), 8 in
//! flight: through the client plugin (game loops: frames back to back, yielding, on the
//! single-threaded executor, or woken by answers through `EdgegapWake`), through the plugin's
//! engine without the ECS, and through a plain keep-alive `ureq` Agent on 8 threads (the
//! baseline). Ratios are measured in one run.
//!
//! `cargo bench -p bevy_edgegap --bench client_throughput`
//!
//! Then the same comparison across a 2 ms round trip (a proxy that delays every chunk), where
//! Edgegap is in a shipped game: not on the game's cores.
//!
//! The baseline agent keeps a connection per thread alive, as the plugin's engine does.
//!
//! To profile one path alone (under `valgrind --tool=callgrind`, say), set
//! `THROUGHPUT_ONLY=plugin|plugin-yield|plugin-single|plugin-woken|plugin-woken-single|engine|ureq|ureq-decoded`
//! and `THROUGHPUT_RUNS=n`: it then runs that path `n` times after one warm-up run and prints
//! each run's time, CPU time and plugin frames. `THROUGHPUT_ONLY=network` runs only the
//! round-trip comparison.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bevy::ecs::schedule::SingleThreadedExecutor;
use bevy::prelude::*;
use bevy_edgegap::api::{Endpoint, GetStatus, Secret};
use bevy_edgegap::client::EdgegapWake;
use bevy_edgegap::prelude::*;
use bevy_edgegap::test_utils::{app as plugin_app, call};
use criterion::{Criterion, criterion_group, criterion_main};
use edgegap_emulator::EmulatorHandle;

#[expect(
    dead_code,
    reason = "the frame benches' helpers: this bench takes the emulator and medians"
)]
mod support;
use support::{game_emulator, median};

/// Where the calls go: the emulator's base URL (or a proxy's in front of it), its token and
/// the deployment whose status is read.
#[derive(Clone)]
struct Target {
    base_url: String,
    token: String,
    id: String,
}

impl Target {
    fn status_request(&self) -> bevy_edgegap::api::HttpRequest {
        GetStatus::new(self.id.as_str())
            .to_request(&self.base_url, &Secret::new(self.token.as_str()))
            .unwrap()
    }

    /// The same deployment, reached through a proxy that holds every chunk `one_way` in each
    /// direction.
    fn behind(&self, one_way: Duration) -> Self {
        let upstream = self
            .base_url
            .trim_start_matches("http://")
            .parse()
            .expect("the emulator listens on an IP address");
        Self {
            base_url: format!("http://{}", delaying_proxy(upstream, one_way)),
            ..self.clone()
        }
    }
}

/// A TCP proxy in front of `upstream` that holds each chunk `one_way` before passing it on,
/// both ways: a network with a round trip of twice that (Edgegap is not on the game's
/// machine). Two threads per connection; they end with it.
fn delaying_proxy(upstream: SocketAddr, one_way: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let mut buffer = vec![0; 64 * 1024];
                    while let Ok(n @ 1..) = from.read(&mut buffer) {
                        std::thread::sleep(one_way);
                        if to.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            if let (Ok(client_side), Ok(server_side)) = (client.try_clone(), server.try_clone()) {
                pipe(client_side, server);
                pipe(server_side, client);
            }
        }
    });
    address
}

fn emulator() -> (EmulatorHandle, Target) {
    let emu = game_emulator();
    let request = bevy_edgegap::api::DeployRequest::new("game", "v1")
        .user_ip("1.2.3.4")
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    let answer = futures_lite::future::block_on(bevy_edgegap::http::send(request)).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let id = body["request_id"].as_str().unwrap().to_owned();
    let target = Target {
        base_url: emu.base_url(),
        token: emu.token(),
        id,
    };
    (emu, target)
}

const CALLS: usize = 1000;
/// Frames the plugin paths ran, in all (printed per run by `THROUGHPUT_ONLY`).
static FRAMES: AtomicUsize = AtomicUsize::new(0);
const CONCURRENCY: usize = 8;
/// Runs of each path, alternated; the medians are compared (the machine is shared: take the
/// ratio, not the absolute figures).
const RUNS: usize = 21;

/// How the bench's game loop runs its frames.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frames {
    /// Back to back, Bevy's default (multi-threaded) executor.
    BackToBack,
    /// The same, yielding the CPU between frames.
    Yielding,
    /// Back to back, every schedule on the single-threaded executor (no task-pool wake-ups:
    /// shows what the default executor's frame costs on 2 cores).
    SingleThreaded,
    /// A reactive loop (winit's `desktop_app`, a server sleeping to its tick): a frame, then
    /// the thread blocks until the plugin's [`EdgegapWake`] hook says an answer waits.
    Woken,
    /// Woken, every schedule on the single-threaded executor (a headless server's choice).
    WokenSingleThreaded,
}

impl Frames {
    fn single_threaded(self) -> bool {
        matches!(self, Self::SingleThreaded | Self::WokenSingleThreaded)
    }

    fn woken(self) -> bool {
        matches!(self, Self::Woken | Self::WokenSingleThreaded)
    }
}

/// 1,000 status calls issued in one frame; frames run until all resolved (see [`Frames`];
/// yielding leaves the CPU to the HTTP threads as a paced game loop would, and a woken loop
/// leaves it to them until an answer waits).
fn through_plugin(target: &Target, frames: Frames) -> Duration {
    let mut app = plugin_app(
        EdgegapConfig::new(target.base_url.as_str(), target.token.as_str())
            .with_max_in_flight(CONCURRENCY)
            .with_rate_limits(RateLimits::none()),
    );
    if frames.single_threaded() {
        for (_, schedule) in app.world_mut().resource_mut::<Schedules>().iter_mut() {
            schedule.set_executor(SingleThreadedExecutor::new());
        }
    }
    let woken = Arc::new((Mutex::new(false), Condvar::new()));
    if frames.woken() {
        let hook = Arc::clone(&woken);
        app.insert_resource(EdgegapWake::new(move || {
            *hook.0.lock().unwrap() = true;
            hook.1.notify_one();
        }));
    }
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
    let id = target.id.clone();
    let start = Instant::now();
    call(&mut app, move |eg| {
        let mut last = Entity::PLACEHOLDER;
        for _ in 0..CALLS {
            last = eg.status(id.as_str());
        }
        last
    });
    while app.world().resource::<Done>().0 < CALLS {
        app.update();
        FRAMES.fetch_add(1, Ordering::Relaxed);
        if frames == Frames::Yielding {
            std::thread::yield_now();
        }
        if frames.woken() && app.world().resource::<Done>().0 < CALLS {
            let (lock, signal) = &*woken;
            let limit = Duration::from_secs(120).saturating_sub(start.elapsed());
            let (mut answered, wait) = signal
                .wait_timeout_while(lock.lock().unwrap(), limit, |answered| !*answered)
                .unwrap();
            assert!(!wait.timed_out(), "plugin run never woken");
            *answered = false;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "plugin run stalled"
        );
    }
    start.elapsed()
}

/// The same calls through `bevy_edgegap::http::spawn_request` (the plugin's sender) without
/// the ECS, at most `CONCURRENCY` at once, polled in a loop.
fn plain_spawn_request(target: &Target) -> Duration {
    let request = target.status_request();
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

/// The baseline: the same calls with one plain keep-alive `ureq` Agent shared by
/// `CONCURRENCY` threads. `decode`: each answer is also decoded into the
/// [`DeploymentStatus`](bevy_edgegap::api::DeploymentStatus) the plugin delivers (the same
/// work as the plugin's; without it the baseline only reads the bytes).
fn plain_ureq(target: &Target, decode: bool) -> Duration {
    let request = target.status_request();
    let status = GetStatus::new(target.id.as_str());
    // Keeps a connection per thread alive, as the plugin's engine does (ureq keeps 3 per host
    // by default: 8 threads on 3 kept connections opened about 85 new ones per 1,000 calls).
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(CONCURRENCY)
        .max_idle_connections_per_host(CONCURRENCY)
        .build()
        .new_agent();
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < CALLS {
                    let mut call = agent.get(request.url.as_str());
                    for (k, v) in &request.headers {
                        call = call.header(k.as_str(), v.as_str());
                    }
                    let mut response = call.call().expect("answer");
                    assert_eq!(response.status().as_u16(), 200);
                    let body = response.body_mut().read_to_vec().expect("body");
                    if decode {
                        // As the plugin decodes it (`Endpoint::decode`).
                        let answer = bevy_edgegap::api::HttpResponse {
                            status: 200,
                            headers: Vec::new(),
                            body,
                        };
                        let status = status.decode(&answer).expect("a status");
                        std::hint::black_box(status);
                    }
                }
            });
        }
    });
    start.elapsed()
}

/// `THROUGHPUT_ONLY` / `THROUGHPUT_RUNS`: one path alone, for a profiler.
fn profile_one(target: &Target, only: &str) {
    let runs: usize = std::env::var("THROUGHPUT_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let run = || match only {
        "plugin" => through_plugin(target, Frames::BackToBack),
        "plugin-yield" => through_plugin(target, Frames::Yielding),
        "plugin-single" => through_plugin(target, Frames::SingleThreaded),
        "plugin-woken" => through_plugin(target, Frames::Woken),
        "plugin-woken-single" => through_plugin(target, Frames::WokenSingleThreaded),
        "engine" => plain_spawn_request(target),
        "ureq" => plain_ureq(target, false),
        "ureq-decoded" => plain_ureq(target, true),
        "frames" => bare_frames(),
        other => panic!("THROUGHPUT_ONLY: unknown path `{other}`"),
    };
    run();
    let (mut walls, mut cpu, mut main_cpu) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for i in 0..runs {
        let (main, all) = (cpu_time("thread-self"), process_cpu_time());
        FRAMES.store(0, Ordering::Relaxed);
        let wall = run();
        let (main, all) = (cpu_time("thread-self") - main, process_cpu_time() - all);
        let frames = FRAMES.load(Ordering::Relaxed);
        println!(
            "{only} run {i}: {wall:?}; CPU {all:?}, {main:?} of it on the main thread; {frames} plugin frames"
        );
        (walls, cpu, main_cpu) = (walls + wall, cpu + all, main_cpu + main);
    }
    let per_call = |d: Duration| d / (runs * CALLS) as u32;
    println!(
        "{only}: per call {:?} wall, {:?} CPU ({:.2} cores), {:?} on the main thread",
        per_call(walls),
        per_call(cpu),
        cpu.as_secs_f64() / walls.as_secs_f64(),
        per_call(main_cpu)
    );
}

/// 50 ms of back-to-back frames of a bare `MinimalPlugins` app (what the frame loop itself
/// costs).
fn bare_frames() -> Duration {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    app.finish();
    app.cleanup();
    let start = Instant::now();
    let mut frames = 0;
    while start.elapsed() < Duration::from_millis(50) {
        app.update();
        frames += 1;
    }
    println!("{frames} frames");
    start.elapsed()
}

/// Time on a CPU of `/proc/<task>` (Linux; zero elsewhere).
fn cpu_time(task: &str) -> Duration {
    std::fs::read_to_string(format!("/proc/{task}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// CPU time of this whole process, ended threads and the emulator's included (Linux, in
/// clock ticks of 10 ms: sum many runs).
fn process_cpu_time() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command's closing parenthesis: state is field 3; utime and
            // stime are fields 14 and 15.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(Duration::from_millis(ticks * 10))
        })
        .unwrap_or(Duration::ZERO)
}

fn throughput(_c: &mut Criterion) {
    let (emu, target) = emulator();
    match std::env::var("THROUGHPUT_ONLY").as_deref() {
        Ok("network") => return across_a_network(&target),
        Ok(only) => return profile_one(&target, only),
        Err(_) => {}
    }
    // Warm up every path once, then alternate, so each ratio compares runs of the same minute.
    through_plugin(&target, Frames::BackToBack);
    plain_spawn_request(&target);
    plain_ureq(&target, false);
    plain_ureq(&target, true);
    through_plugin(&target, Frames::Woken);
    let (mut plugin, mut plugin_yield, mut plugin_single) = (Vec::new(), Vec::new(), Vec::new());
    let (mut plugin_woken, mut woken_single) = (Vec::new(), Vec::new());
    let (mut engine, mut baseline, mut decoded) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        baseline.push(plain_ureq(&target, false));
        decoded.push(plain_ureq(&target, true));
        plugin.push(through_plugin(&target, Frames::BackToBack));
        plugin_yield.push(through_plugin(&target, Frames::Yielding));
        plugin_single.push(through_plugin(&target, Frames::SingleThreaded));
        plugin_woken.push(through_plugin(&target, Frames::Woken));
        woken_single.push(through_plugin(&target, Frames::WokenSingleThreaded));
        engine.push(plain_spawn_request(&target));
    }
    let (plugin_runs, plugin_yield_runs, engine_runs, baseline_runs) = (
        plugin.clone(),
        plugin_yield.clone(),
        engine.clone(),
        baseline.clone(),
    );
    let (plugin_woken_runs, woken_single_runs) = (plugin_woken.clone(), woken_single.clone());
    let (plugin, plugin_yield, plugin_single, plugin_woken, woken_single, engine, baseline) = (
        median(plugin),
        median(plugin_yield),
        median(plugin_single),
        median(plugin_woken),
        median(woken_single),
        median(engine),
        median(baseline),
    );
    let decoded = median(decoded);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    // Each run's plugin time over the baseline run just before it, then the median: robust to
    // the machine's speed drifting between runs.
    let paired = |runs: &[Duration]| paired_ratio(runs, &baseline_runs);
    let paired_plugin = paired(&plugin_runs);
    let paired_yield = paired(&plugin_yield_runs);
    let paired_woken = paired(&plugin_woken_runs);
    let paired_woken_single = paired(&woken_single_runs);
    let paired_engine = paired(&engine_runs);
    println!("throughput: {CALLS} status calls, {CONCURRENCY} in flight, medians of {RUNS} runs");
    println!("  plugin, frames back to back:          {plugin:?}");
    println!("  plugin, yield between frames:         {plugin_yield:?}");
    println!("  plugin, single-threaded executor:     {plugin_single:?}");
    println!("  plugin, frames woken by answers:      {plugin_woken:?} (EdgegapWake)");
    println!("  plugin, woken, single-threaded:       {woken_single:?}");
    println!("  http::spawn_request, window of {CONCURRENCY}:   {engine:?} (the engine, no ECS)");
    println!(
        "  plain ureq Agent, {CONCURRENCY} threads:          {baseline:?} (keep-alive baseline)"
    );
    println!(
        "  ratio plugin/ureq {:.2}, plugin(yield)/ureq {:.2}, plugin(single-threaded)/ureq {:.2}, plugin(woken)/ureq {:.2}, plugin(woken, single-threaded)/ureq {:.2}, engine/ureq {:.2} (goal <= 1.2)",
        ratio(plugin, baseline),
        ratio(plugin_yield, baseline),
        ratio(plugin_single, baseline),
        ratio(plugin_woken, baseline),
        ratio(woken_single, baseline),
        ratio(engine, baseline),
    );
    println!(
        "  plain ureq Agent, decoding each answer: {decoded:?} (the same typed answer as the plugin's)"
    );
    println!(
        "  ratio over the decoding agent: plugin {:.2}, plugin(yield) {:.2}, plugin(woken) {:.2}, engine {:.2} (goal <= 1.2)",
        ratio(plugin, decoded),
        ratio(plugin_yield, decoded),
        ratio(plugin_woken, decoded),
        ratio(engine, decoded),
    );
    println!(
        "  paired (median of each run over the baseline run beside it): plugin {paired_plugin:.2}, plugin(yield) {paired_yield:.2}, plugin(woken) {paired_woken:.2}, plugin(woken, single-threaded) {paired_woken_single:.2}, engine {paired_engine:.2} (goal <= 1.2)"
    );
    println!(
        "  connections the emulator accepted in all: {}",
        emu.connections_accepted()
    );
    across_a_network(&target);
}

/// Each run of `runs` over the baseline run made just before it, then the median: robust to
/// the machine's speed drifting between runs.
fn paired_ratio(runs: &[Duration], baseline: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = runs
        .iter()
        .zip(baseline)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// The same calls with Edgegap where it is in a shipped game: across a network. A proxy
/// holds every chunk 1 ms each way (a 2 ms round trip: a nearby region); the client's CPU
/// then no longer decides the time, the round trips do.
fn across_a_network(target: &Target) {
    const FAR_RUNS: usize = 5;
    let far = target.behind(Duration::from_millis(1));
    plain_ureq(&far, false);
    through_plugin(&far, Frames::BackToBack);
    let (mut baseline, mut plugin, mut woken) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..FAR_RUNS {
        baseline.push(plain_ureq(&far, false));
        plugin.push(through_plugin(&far, Frames::BackToBack));
        woken.push(through_plugin(&far, Frames::Woken));
    }
    let (paired_plugin, paired_woken) = (
        paired_ratio(&plugin, &baseline),
        paired_ratio(&woken, &baseline),
    );
    println!("across a 2 ms round trip (a delaying proxy), medians of {FAR_RUNS} runs:");
    println!(
        "  plain ureq Agent {:?}, plugin (frames back to back) {:?}, plugin (woken) {:?}",
        median(baseline),
        median(plugin),
        median(woken)
    );
    println!(
        "  paired: plugin/ureq {paired_plugin:.2}, plugin(woken)/ureq {paired_woken:.2} (goal <= 1.2)"
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
