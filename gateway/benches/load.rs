//! `cargo bench -p edgegap-gateway --bench load [-- PLAYERS]`: the gateway at scale, figures
//! printed with their goals.
//!
//! Setup: the emulator (in this process) with Edgegap's documented rate limits on; two
//! `edgegap-gateway` replicas as child processes (the release binary) sharing one
//! `redis-server` (started here, no persistence). N simulated players arrive at a steady rate;
//! each deploys through one replica, waits for READY through the other (one plain status
//! read, then long-poll `?since=&wait=`), then stops through the first. Run twice: with
//! webhooks (each replica's public URL is its own address) and polling only (no webhooks).
//! Then one replica is hammered with status GETs of existing deployments from several
//! keep-alive client threads.
//!
//! Environment: `LOAD_PLAYERS` (default 500; also the first argument), `LOAD_RATE` (players
//! arriving per second, default 8: two status reads per player must fit Edgegap's 20/s),
//! `LOAD_STEP_MS` (emulator lifecycle step, default 300: READY about 1.5 s after the deploy,
//! between two polling reads),
//! `LOAD_HAMMER_SECS` (default 5), `LOAD_HAMMER_THREADS` (default 4).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use edgegap_emulator::{EmulatorHandle, Route};
use edgegap_gateway_testkit::*;

struct Settings {
    players: usize,
    rate: f64,
    step: Duration,
    hammer_secs: u64,
    hammer_threads: usize,
}

impl Settings {
    fn read() -> Self {
        let argument = std::env::args()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .and_then(|a| a.parse().ok());
        Self {
            players: argument.unwrap_or_else(|| env_or("LOAD_PLAYERS", 500)),
            rate: env_or("LOAD_RATE", 8.0_f64).max(0.1),
            step: Duration::from_millis(env_or("LOAD_STEP_MS", 300)),
            hammer_secs: env_or("LOAD_HAMMER_SECS", 5),
            hammer_threads: env_or("LOAD_HAMMER_THREADS", 4).max(1),
        }
    }
}

/// What one player saw.
#[derive(Default)]
struct Outcome {
    id: Option<String>,
    notified: Option<SystemTime>,
    error: Option<String>,
    refused: usize,
}

/// Retries `call` while it answers 429/502/503, sleeping its `Retry-After` (1 s without one).
fn retrying(refused: &mut usize, mut call: impl FnMut() -> Answer) -> Answer {
    for _ in 0..120 {
        let answer = call();
        if !matches!(answer.status, 429 | 502 | 503) {
            return answer;
        }
        *refused += 1;
        let seconds = answer
            .header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1);
        std::thread::sleep(Duration::from_secs(seconds.clamp(1, 5)));
    }
    call()
}

fn play(i: usize, replicas: &[Url; 2]) -> Outcome {
    let mut outcome = Outcome::default();
    let token = token(&format!("player-{i}"));
    let (home, other) = (&replicas[i % 2], &replicas[(i + 1) % 2]);
    let key = format!("join-{i}");
    let deployed = retrying(&mut outcome.refused, || deploy(home, &token, Some(&key)));
    if deployed.status != 202 {
        outcome.error = Some(format!("deploy: {} {}", deployed.status, deployed.text));
        return outcome;
    }
    let id = deployed.request_id();
    outcome.id = Some(id.clone());
    let mut answer = retrying(&mut outcome.refused, || status(other, &token, &id));
    loop {
        if answer.status != 200 {
            outcome.error = Some(format!("status: {} {}", answer.status, answer.text));
            return outcome;
        }
        let seen = current(&answer);
        match seen.as_str() {
            "Status.READY" => break,
            "Status.ERROR" | "Status.TERMINATED" | "Status.TERMINATING" => {
                outcome.error = Some(format!("never READY: {seen}"));
                return outcome;
            }
            _ => {}
        }
        let query = format!("since={seen}&wait=15");
        answer = retrying(&mut outcome.refused, || {
            status_query(other, &token, &id, &query)
        });
    }
    outcome.notified = Some(SystemTime::now());
    let stopped = retrying(&mut outcome.refused, || stop(home, &token, &id));
    if !matches!(stopped.status, 200 | 202) {
        outcome.error = Some(format!("stop: {} {}", stopped.status, stopped.text));
    }
    outcome
}

/// `(VmRSS, VmHWM)` of `pid` in MiB, from `/proc`.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct PlayersReport {
    wall: Duration,
    errors: Vec<String>,
    refused: usize,
    rate_limited: usize,
    lost: usize,
    duplicated: usize,
    leaked: usize,
    status_mean: f64,
    status_max: usize,
    notified_p50: Duration,
    notified_p99: Duration,
    notified_max: Duration,
    rss: Vec<(f64, f64)>,
}

fn replicas(emu: &EmulatorHandle, redis: &Redis, webhooks: bool) -> Vec<GatewayProcess> {
    (0..2)
        .map(|_| {
            let address = free_address();
            let mut env = vec![("GATEWAY_BIND", address.to_string())];
            if webhooks {
                env.push(("GATEWAY_PUBLIC_URL", format!("http://{address}")));
            }
            GatewayProcess::start(
                env!("CARGO_BIN_EXE_edgegap-gateway"),
                emu,
                &redis.url(),
                "[policy]\ndeploys_per_minute = 60",
                &env,
            )
        })
        .collect()
}

fn run_players(settings: &Settings, webhooks: bool) -> PlayersReport {
    let redis = Redis::start();
    let emu = emulator_with(|b| b.lifecycle_step(settings.step));
    let processes = replicas(&emu, &redis, webhooks);
    let urls = [Url(processes[0].url.clone()), Url(processes[1].url.clone())];
    let start = Instant::now();
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let players: Vec<_> = (0..settings.players)
            .map(|i| {
                let arrival = start + Duration::from_secs_f64(i as f64 / settings.rate);
                std::thread::sleep(arrival.saturating_duration_since(Instant::now()));
                let urls = &urls;
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || play(i, urls))
                    .expect("a player thread")
            })
            .collect();
        players
            .into_iter()
            .map(|p| {
                p.join().unwrap_or_else(|_| Outcome {
                    error: Some("the player panicked".into()),
                    ..Outcome::default()
                })
            })
            .collect()
    });
    let wall = start.elapsed();
    let rss = processes.iter().map(|p| rss_mib(p.pid())).collect();

    let deployments = emu.deployments();
    let leaked = deployments
        .iter()
        .filter(|d| {
            !emu.wait_for_status(&d.request_id, "Status.TERMINATED", Duration::from_secs(10))
        })
        .count();
    let mut per_owner: BTreeMap<String, usize> = BTreeMap::new();
    for d in &deployments {
        for tag in d
            .tags
            .iter()
            .filter(|t| t.starts_with(edgegap_gateway::OWNER_TAG_PREFIX))
        {
            *per_owner.entry(tag.clone()).or_default() += 1;
        }
    }
    let duplicated = per_owner.values().map(|n| n.saturating_sub(1)).sum();
    let made: BTreeSet<&str> = deployments.iter().map(|d| d.request_id.as_str()).collect();
    let lost = outcomes
        .iter()
        .filter(|o| o.id.as_deref().is_none_or(|id| !made.contains(id)))
        .count();
    let requests = emu.requests();
    let rate_limited = requests.iter().filter(|r| r.status == 429).count();
    let mut status_calls: BTreeMap<&str, usize> = made.iter().map(|id| (*id, 0)).collect();
    for r in requests.iter().filter(|r| r.route == Route::Status) {
        if let Some(n) = r
            .path
            .rsplit('/')
            .next()
            .and_then(|id| status_calls.get_mut(id))
        {
            *n += 1;
        }
    }
    let status_total: usize = status_calls.values().sum();
    let mut notified: Vec<Duration> = outcomes
        .iter()
        .filter_map(|o| {
            let ready = emu.deployment(o.id.as_deref()?)?.ready_at?;
            Some(o.notified?.duration_since(ready).unwrap_or_default())
        })
        .collect();
    notified.sort();
    PlayersReport {
        wall,
        errors: outcomes.iter().filter_map(|o| o.error.clone()).collect(),
        refused: outcomes.iter().map(|o| o.refused).sum(),
        rate_limited,
        lost,
        duplicated,
        leaked,
        status_mean: status_total as f64 / made.len().max(1) as f64,
        status_max: status_calls.values().copied().max().unwrap_or(0),
        notified_p50: percentile(&notified, 50.0),
        notified_p99: percentile(&notified, 99.0),
        notified_max: notified.last().copied().unwrap_or_default(),
        rss,
    }
}

struct HammerReport {
    per_second: f64,
    answered: u64,
    failed: u64,
    upstream_reads: usize,
    rss: (f64, f64),
}

/// One replica, `deployments` READY deployments, `threads` keep-alive clients asking their
/// status for `secs`.
fn hammer(settings: &Settings) -> HammerReport {
    const DEPLOYMENTS: usize = 10;
    let redis = Redis::start();
    let emu = emulator();
    let processes = replicas(&emu, &redis, false);
    let replica = Url(processes[0].url.clone());
    let players: Vec<(String, String)> = (0..DEPLOYMENTS)
        .map(|i| {
            let token = token(&format!("hammer-{i}"));
            let id = deploy(&replica, &token, None).request_id();
            wait_ready(&replica, &token, &id);
            (token, id)
        })
        .collect();
    let reads_before = emu.request_count(Route::Status);
    let answered = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let elapsed = std::thread::scope(|scope| {
        for t in 0..settings.hammer_threads {
            let (players, answered, failed, done, base) =
                (&players, &answered, &failed, &done, &replica.0);
            scope.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                let requests: Vec<(String, String)> = players
                    .iter()
                    .map(|(token, id)| {
                        (format!("{base}/v1/status/{id}"), format!("Bearer {token}"))
                    })
                    .collect();
                let mut n = t;
                while !done.load(Ordering::Relaxed) {
                    let (url, auth) = &requests[n % requests.len()];
                    n += 1;
                    match agent.get(url).set("Authorization", auth).call() {
                        Ok(response) if response.status() == 200 => {
                            let _ = response.into_string();
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(response) => {
                            let _ = response.into_string();
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(ureq::Error::Status(_, response)) => {
                            let _ = response.into_string();
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs(settings.hammer_secs.max(1)));
        done.store(true, Ordering::Relaxed);
        start.elapsed()
    });
    let answered = answered.into_inner();
    HammerReport {
        per_second: answered as f64 / elapsed.as_secs_f64(),
        answered,
        failed: failed.into_inner(),
        upstream_reads: emu.request_count(Route::Status) - reads_before,
        rss: rss_mib(processes[0].pid()),
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let settings = Settings::read();
    eprintln!(
        "load: {} players at {}/s, lifecycle step {:?}; webhooks run, then polling only, then \
         the status hammer ({} s, {} threads)",
        settings.players,
        settings.rate,
        settings.step,
        settings.hammer_secs,
        settings.hammer_threads
    );
    let hooks = run_players(&settings, true);
    eprintln!("webhooks run done in {:.1} s", hooks.wall.as_secs_f64());
    let polling = run_players(&settings, false);
    eprintln!("polling run done in {:.1} s", polling.wall.as_secs_f64());
    let hammered = hammer(&settings);

    println!();
    println!(
        "{} players arriving at {}/s (deploy -> READY by long-poll -> stop), emulator lifecycle \
         step {} ms, Edgegap's rate limits on; 2 edgegap-gateway processes sharing one \
         redis-server; {} cores",
        settings.players,
        settings.rate,
        settings.step.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| figure | goal | with webhooks | polling only |");
    println!("|---|---|---|---|");
    println!(
        "| upstream 429s | 0 | {} {} | {} {} |",
        hooks.rate_limited,
        verdict(hooks.rate_limited == 0),
        polling.rate_limited,
        verdict(polling.rate_limited == 0)
    );
    for (name, h, p) in [
        ("servers lost", hooks.lost, polling.lost),
        ("servers duplicated", hooks.duplicated, polling.duplicated),
        (
            "servers leaked (not TERMINATED at the end)",
            hooks.leaked,
            polling.leaked,
        ),
        (
            "players who failed",
            hooks.errors.len(),
            polling.errors.len(),
        ),
    ] {
        println!(
            "| {name} | 0 | {h} {} | {p} {} |",
            verdict(h == 0),
            verdict(p == 0)
        );
    }
    println!(
        "| upstream status calls per deployment (mean / max) | <= 3 with webhooks | {:.2} / {} {} | {:.2} / {} (report) |",
        hooks.status_mean,
        hooks.status_max,
        verdict(hooks.status_max <= 3),
        polling.status_mean,
        polling.status_max
    );
    println!(
        "| READY -> client notified p50 / p99 (max) | p99 <= 100 ms with webhooks | {} / {} ({}) {} | {} / {} ({}) (report) |",
        ms(hooks.notified_p50),
        ms(hooks.notified_p99),
        ms(hooks.notified_max),
        verdict(hooks.notified_p99 <= Duration::from_millis(100)),
        ms(polling.notified_p50),
        ms(polling.notified_p99),
        ms(polling.notified_max)
    );
    println!(
        "| retryable refusals seen by players (429/502/503) | report | {} | {} |",
        hooks.refused, polling.refused
    );
    println!(
        "| run time | report | {:.1} s | {:.1} s |",
        hooks.wall.as_secs_f64(),
        polling.wall.as_secs_f64()
    );
    let rss = |r: &[(f64, f64)]| {
        r.iter()
            .map(|(now, peak)| format!("{now:.1} (peak {peak:.1})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "| RSS per replica at the end, MiB (/proc VmRSS, VmHWM) | report | {} | {} |",
        rss(&hooks.rss),
        rss(&polling.rss)
    );
    println!();
    println!(
        "| status hammer: one replica, 10 READY deployments, {} keep-alive client threads, {} s | goal | measured |",
        settings.hammer_threads, settings.hammer_secs
    );
    println!("|---|---|---|");
    println!(
        "| status requests/s answered from the view | >= 5,000 | {:.0} {} |",
        hammered.per_second,
        verdict(hammered.per_second >= 5000.0)
    );
    println!(
        "| answered / failed / upstream status reads meanwhile | report | {} / {} / {} |",
        hammered.answered, hammered.failed, hammered.upstream_reads
    );
    println!(
        "| RSS of that replica, MiB (VmRSS, peak VmHWM) | report | {:.1} (peak {:.1}) |",
        hammered.rss.0, hammered.rss.1
    );
    for (mode, report) in [("webhooks", &hooks), ("polling", &polling)] {
        for error in report.errors.iter().take(5) {
            println!("{mode}: a player failed: {error}");
        }
    }
}
