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
//! `cargo bench -p edgegap-gateway --bench load -- scale` (or `LOAD_SCENARIO=scale`): the
//! second scenario, 35 players a second for 60 s (2,100) through the two replicas, webhooks on
//! and off, statuses read in bulk through the list. Each player keeps their server until every
//! player has arrived and seen READY (2,100 live deployments: each replica's RSS is read
//! then), then all stop. Upstream figures are read from each replica's `GET /metrics` and
//! checked against the emulator's request log. `LOAD_PLAYERS` and `LOAD_RATE` apply
//! (defaults 2,100 and 35 there).
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
    /// The second scenario (`scale`): servers kept until every player is in.
    scale: bool,
    players: usize,
    rate: f64,
    step: Duration,
    hammer_secs: u64,
    hammer_threads: usize,
}

impl Settings {
    fn read() -> Self {
        let arguments: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let scale = arguments.iter().any(|a| a == "scale")
            || std::env::var("LOAD_SCENARIO").is_ok_and(|s| s == "scale");
        let argument = arguments.iter().find_map(|a| a.parse().ok());
        let (players, rate): (usize, f64) = if scale { (2100, 35.0) } else { (500, 8.0) };
        Self {
            scale,
            players: argument.unwrap_or_else(|| env_or("LOAD_PLAYERS", players)),
            rate: env_or("LOAD_RATE", rate).max(0.1),
            step: Duration::from_millis(env_or("LOAD_STEP_MS", 300)),
            hammer_secs: env_or("LOAD_HAMMER_SECS", 5),
            hammer_threads: env_or("LOAD_HAMMER_THREADS", 4).max(1),
        }
    }
}

/// What one player saw.
#[derive(Default)]
struct Outcome {
    /// The player's number.
    player: Option<usize>,
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

/// Player `i`: deploys through one replica, waits for READY through the other, then stops
/// through the first unless `keep` (the caller stops it later, [`stop_all`]).
fn play(i: usize, replicas: &[Url; 2], keep: bool) -> Outcome {
    let mut outcome = Outcome {
        player: Some(i),
        ..Outcome::default()
    };
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
    if keep {
        return outcome;
    }
    let stopped = retrying(&mut outcome.refused, || stop(home, &token, &id));
    if !matches!(stopped.status, 200 | 202) {
        outcome.error = Some(format!("stop: {} {}", stopped.status, stopped.text));
    }
    outcome
}

/// Stops every player's server through its home replica, a few at a time; the players whose
/// stop failed get the error.
fn stop_all(outcomes: &mut [Outcome], replicas: &[Url; 2]) {
    const STOPPERS: usize = 16;
    std::thread::scope(|scope| {
        for chunk in outcomes.chunks_mut(outcomes.len().div_ceil(STOPPERS).max(1)) {
            scope.spawn(move || {
                for outcome in chunk {
                    let (Some(i), Some(id)) = (outcome.player, outcome.id.clone()) else {
                        continue;
                    };
                    let token = token(&format!("player-{i}"));
                    let stopped =
                        retrying(&mut outcome.refused, || stop(&replicas[i % 2], &token, &id));
                    if !matches!(stopped.status, 200 | 202) {
                        outcome.error = Some(format!("stop: {} {}", stopped.status, stopped.text));
                    }
                }
            });
        }
    });
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
    /// Scale scenario: each replica's RSS with every server live (VmRSS, VmHWM), MiB.
    rss_live: Vec<(f64, f64)>,
    /// Deployments made.
    made: usize,
    /// Upstream status reads and list reads, as the replicas' `/metrics` count them, and as
    /// the emulator logged them.
    metrics_reads: (usize, usize),
    emulator_reads: (usize, usize),
    /// Upstream 429s the replicas' `/metrics` count.
    metrics_429: usize,
    /// Scale scenario: upstream status and list reads (`/metrics`) once every player saw
    /// READY, before the stops.
    reads_to_ready: (usize, usize),
}

/// The upstream status and list reads the emulator logged, the same as the replicas'
/// `/metrics` count them (once both agree: a call is logged by the emulator before the
/// replica counts its answer; or as they are after 10 s), and the upstream 429s the replicas
/// count.
fn read_counts(emu: &EmulatorHandle, urls: &[Url; 2]) -> ((usize, usize), (usize, usize), usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logged = (
            emu.request_count(Route::Status),
            emu.request_count(Route::ListDeployments),
        );
        let scrapes: Vec<String> = urls.iter().map(scrape).collect();
        let counted = |endpoint| scrapes.iter().map(|s| upstream_counted(s, endpoint)).sum();
        let reads: (usize, usize) = (counted("status"), counted("list"));
        let refused = scrapes
            .iter()
            .map(|s| {
                metric_sum(
                    s,
                    "edgegap_gateway_upstream_calls_total",
                    &[("status", "429")],
                ) as usize
            })
            .sum();
        if reads == logged || Instant::now() >= deadline {
            return (logged, reads, refused);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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
                    .spawn_scoped(scope, move || play(i, urls, settings.scale))
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
    let mut outcomes = outcomes;
    let (rss_live, reads_to_ready) = if settings.scale {
        let live = processes.iter().map(|p| rss_mib(p.pid())).collect();
        let (_, to_ready, _) = read_counts(&emu, &urls);
        stop_all(&mut outcomes, &urls);
        (live, to_ready)
    } else {
        Default::default()
    };
    let wall = start.elapsed();
    let rss = processes.iter().map(|p| rss_mib(p.pid())).collect();

    let leaked = emu.not_terminated(Duration::from_secs(10)).len();
    let deployments = emu.deployments();
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
    let (emulator_reads, metrics_reads, metrics_429) = read_counts(&emu, &urls);
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
        rss_live,
        made: made.len(),
        metrics_reads,
        emulator_reads,
        metrics_429,
        reads_to_ready,
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

/// A run's title with the core count, and the head of its table (both runs side by side).
fn print_heading(title: &str) {
    println!();
    println!(
        "{title}; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| figure | goal | with webhooks | polling only |");
    println!("|---|---|---|---|");
}

/// READY -> player: `p50 / p99 (max)`.
fn notified(report: &PlayersReport) -> String {
    format!(
        "{} / {} ({})",
        ms(report.notified_p50),
        ms(report.notified_p99),
        ms(report.notified_max)
    )
}

/// The row of retryable refusals, both runs.
fn print_refusals(hooks: &PlayersReport, polling: &PlayersReport) {
    println!(
        "| retryable refusals seen by players (429/502/503) | report | {} | {} |",
        hooks.refused, polling.refused
    );
}

/// The webhooks run, then the polling-only one.
fn run_both(settings: &Settings) -> (PlayersReport, PlayersReport) {
    let hooks = run_players(settings, true);
    eprintln!("webhooks run done in {:.1} s", hooks.wall.as_secs_f64());
    let polling = run_players(settings, false);
    eprintln!("polling run done in {:.1} s", polling.wall.as_secs_f64());
    (hooks, polling)
}

/// The rows whose goal is 0 (lost, duplicated, leaked, failed players), both runs.
fn print_zero_rows(hooks: &PlayersReport, polling: &PlayersReport) {
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
}

/// `VmRSS (peak VmHWM)` of each replica, MiB.
fn rss(replicas: &[(f64, f64)]) -> String {
    replicas
        .iter()
        .map(|(now, peak)| format!("{now:.1} (peak {peak:.1})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first few errors of each run's players.
fn print_failures(hooks: &PlayersReport, polling: &PlayersReport) {
    for (mode, report) in [("webhooks", hooks), ("polling", polling)] {
        for error in report.errors.iter().take(5) {
            println!("{mode}: a player failed: {error}");
        }
    }
}

/// The second scenario's table (see the module docs).
fn print_scale(settings: &Settings, hooks: &PlayersReport, polling: &PlayersReport) {
    print_heading(&format!(
        "scale: {} players arriving at {}/s, each keeping their server until all are in, then \
         all stop; emulator lifecycle step {} ms, Edgegap's rate limits on; 2 edgegap-gateway \
         processes sharing one redis-server, statuses read in bulk through the list",
        settings.players,
        settings.rate,
        settings.step.as_millis(),
    ));
    let per = |r: &PlayersReport, n: usize| n as f64 / r.made.max(1) as f64;
    let reads = |r: &PlayersReport| per(r, r.metrics_reads.0 + r.metrics_reads.1);
    println!(
        "| upstream status + list reads per deployment (/metrics) | <= 0.3 | {:.3} {} | {:.3} {} |",
        reads(hooks),
        verdict(reads(hooks) <= 0.3),
        reads(polling),
        verdict(reads(polling) <= 0.3)
    );
    let split = |r: &PlayersReport| {
        format!(
            "{:.3} + {:.3} ({} + {} for {} deployments)",
            per(r, r.metrics_reads.0),
            per(r, r.metrics_reads.1),
            r.metrics_reads.0,
            r.metrics_reads.1,
            r.made
        )
    };
    println!(
        "| of which status + list (/metrics) | report | {} | {} |",
        split(hooks),
        split(polling)
    );
    let ready = |r: &PlayersReport| {
        format!(
            "{:.3} ({} + {})",
            per(r, r.reads_to_ready.0 + r.reads_to_ready.1),
            r.reads_to_ready.0,
            r.reads_to_ready.1
        )
    };
    println!(
        "| ... until every player saw READY, before the stops: status + list per deployment | report | {} | {} |",
        ready(hooks),
        ready(polling)
    );
    let checked = |r: &PlayersReport| {
        if r.metrics_reads == r.emulator_reads {
            "equal".to_owned()
        } else {
            format!(
                "DIFFER: emulator {} + {}",
                r.emulator_reads.0, r.emulator_reads.1
            )
        }
    };
    println!(
        "| /metrics against the emulator's request log | equal | {} | {} |",
        checked(hooks),
        checked(polling)
    );
    println!(
        "| upstream 429s (emulator log / /metrics) | 0 | {} / {} {} | {} / {} {} |",
        hooks.rate_limited,
        hooks.metrics_429,
        verdict(hooks.rate_limited == 0),
        polling.rate_limited,
        polling.metrics_429,
        verdict(polling.rate_limited == 0)
    );
    println!(
        "| READY -> player p50 / p99 (max) | p99 <= 100 ms with webhooks, <= 1.5 s without | {} {} | {} {} |",
        notified(hooks),
        verdict(hooks.notified_p99 <= Duration::from_millis(100)),
        notified(polling),
        verdict(polling.notified_p99 <= Duration::from_millis(1500))
    );
    print_zero_rows(hooks, polling);
    let peak = |r: &PlayersReport| r.rss.iter().map(|(_, p)| *p).fold(0.0, f64::max);
    println!(
        "| RSS per replica with every server live, MiB (VmRSS, peak VmHWM at the end) | peak <= 64 | {} {} | {} {} |",
        rss(&hooks.rss_live),
        verdict(peak(hooks) <= 64.0),
        rss(&polling.rss_live),
        verdict(peak(polling) <= 64.0)
    );
    print_refusals(hooks, polling);
    println!(
        "| run time (arrivals, READY, then every stop) | report | {:.1} s | {:.1} s |",
        hooks.wall.as_secs_f64(),
        polling.wall.as_secs_f64()
    );
    print_failures(hooks, polling);
}

fn main() {
    let settings = Settings::read();
    if settings.scale {
        eprintln!(
            "load (scale): {} players at {}/s, lifecycle step {:?}; webhooks run, then polling only",
            settings.players, settings.rate, settings.step
        );
        let (hooks, polling) = run_both(&settings);
        print_scale(&settings, &hooks, &polling);
        return;
    }
    eprintln!(
        "load: {} players at {}/s, lifecycle step {:?}; webhooks run, then polling only, then \
         the status hammer ({} s, {} threads)",
        settings.players,
        settings.rate,
        settings.step,
        settings.hammer_secs,
        settings.hammer_threads
    );
    let (hooks, polling) = run_both(&settings);
    let hammered = hammer(&settings);

    print_heading(&format!(
        "{} players arriving at {}/s (deploy -> READY by long-poll -> stop), emulator lifecycle \
         step {} ms, Edgegap's rate limits on; 2 edgegap-gateway processes sharing one \
         redis-server",
        settings.players,
        settings.rate,
        settings.step.as_millis(),
    ));
    println!(
        "| upstream 429s | 0 | {} {} | {} {} |",
        hooks.rate_limited,
        verdict(hooks.rate_limited == 0),
        polling.rate_limited,
        verdict(polling.rate_limited == 0)
    );
    print_zero_rows(&hooks, &polling);
    println!(
        "| upstream status calls per deployment (mean / max) | <= 3 with webhooks | {:.2} / {} {} | {:.2} / {} (report) |",
        hooks.status_mean,
        hooks.status_max,
        verdict(hooks.status_max <= 3),
        polling.status_mean,
        polling.status_max
    );
    println!(
        "| READY -> client notified p50 / p99 (max) | p99 <= 100 ms with webhooks | {} {} | {} (report) |",
        notified(&hooks),
        verdict(hooks.notified_p99 <= Duration::from_millis(100)),
        notified(&polling)
    );
    print_refusals(&hooks, &polling);
    println!(
        "| run time | report | {:.1} s | {:.1} s |",
        hooks.wall.as_secs_f64(),
        polling.wall.as_secs_f64()
    );
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
    print_failures(&hooks, &polling);
}
