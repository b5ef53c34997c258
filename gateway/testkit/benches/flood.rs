//! `cargo bench -p edgegap-gateway-testkit --bench flood`: what one player flooding the
//! gateway with random deployment ids costs the others. Figures printed with their goals.
//!
//! Setup: the emulator (in this process) with Edgegap's documented rate limits on; one
//! gateway (in this process, default configuration: status interval 1 s, Edgegap's budget,
//! 2 reads/s per player); alice deploys one server and watches it READY. Then two phases of
//! the same length: alice alone, polling her server's status; then alice polling the same way
//! while mallory (another valid player token) floods `GET /v1/status/<random id>` and
//! `DELETE /v1/stop/<random id>` from many keep-alive connections. Compared: alice's
//! successes, upstream 429s, upstream status reads in each phase, and the upstream calls
//! mallory's ids caused.
//!
//! A bench of this crate, not of `edgegap-gateway`: that package's dev-dependencies include
//! Bevy (one test drives the client plugin), which a release build would compile for ~20 min on
//! 2 cores; this needs only the gateway and the emulator.
//!
//! Environment: `FLOOD_SECS` (each phase, default 10), `FLOOD_THREADS` (mallory's
//! connections, default 40), `FLOOD_POLL_MS` (alice's polling period, default 100).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use edgegap_emulator::{EmulatorHandle, Route};
use edgegap_gateway::{Gateway, GatewayHandle};
use edgegap_gateway_testkit::*;

struct Settings {
    secs: u64,
    threads: usize,
    poll: Duration,
}

/// What one phase measured.
#[derive(Default)]
struct Phase {
    /// Alice's status polls, and how many were 200 with her status.
    polls: u64,
    ok: u64,
    /// Upstream status reads during the phase.
    status_reads: usize,
    /// Upstream stops during the phase.
    stops: usize,
    /// Mallory's requests answered, and how many were 404.
    flood: u64,
    flood_404: u64,
    /// Upstream calls (any route) whose path names one of mallory's ids.
    flood_upstream: usize,
    wall: Duration,
}

/// A plausible Edgegap id (12 hex digits) that nobody deployed: the `n`-th of thread `t`.
fn random_id(t: usize, n: u64) -> String {
    let mixed = (((t as u64) << 40) ^ n)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> 16;
    format!("f{:011x}", mixed & 0x0FFF_FFFF_FFFF)
}

/// One mallory connection: keep-alive requests until `stop`, alternating three status reads
/// and a stop, each of a fresh random id.
fn flood(
    gw: &str,
    token: &str,
    t: usize,
    stop: &AtomicBool,
    answered: &AtomicU64,
    not_found: &AtomicU64,
) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let auth = format!("Bearer {token}");
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = random_id(t, n);
        let request = if n.is_multiple_of(4) {
            agent.delete(&format!("{gw}/v1/stop/{id}"))
        } else {
            agent.get(&format!("{gw}/v1/status/{id}"))
        };
        let status = match request.set("Authorization", &auth).call() {
            Ok(response) => response.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(_) => continue,
        };
        answered.fetch_add(1, Ordering::Relaxed);
        if status == 404 {
            not_found.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn phase(
    emu: &EmulatorHandle,
    gw: &GatewayHandle,
    alice: &str,
    id: &str,
    settings: &Settings,
    flooding: bool,
) -> Phase {
    let before_status = emu.request_count(Route::Status);
    let before_stop = emu.request_count(Route::Stop);
    let before_requests = emu.requests().len();
    let stop = AtomicBool::new(false);
    let (answered, not_found) = (AtomicU64::new(0), AtomicU64::new(0));
    let mallory = token("mallory");
    let base = gw.base_url();
    let started = Instant::now();
    let (polls, ok) = std::thread::scope(|scope| {
        if flooding {
            for t in 0..settings.threads {
                let (base, mallory, stop, answered, not_found) =
                    (&base, &mallory, &stop, &answered, &not_found);
                scope.spawn(move || flood(base, mallory, t, stop, answered, not_found));
            }
        }
        let (mut polls, mut ok) = (0, 0);
        let end = started + Duration::from_secs(settings.secs);
        let mut next = started;
        while Instant::now() < end {
            let answer = try_send(
                "GET",
                &format!("{base}/v1/status/{id}"),
                &[("Authorization", &format!("Bearer {alice}"))],
                None,
            );
            polls += 1;
            if answer.is_ok_and(|a| a.status == 200 && a.json["current_status"] == "Status.READY") {
                ok += 1;
            }
            next += settings.poll;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        stop.store(true, Ordering::Relaxed);
        (polls, ok)
    });
    let wall = started.elapsed();
    let requests = emu.requests();
    let flood_upstream = requests[before_requests..]
        .iter()
        .filter(|r| {
            r.path
                .rsplit('/')
                .next()
                .is_some_and(|last| last.starts_with('f') && last != id)
        })
        .count();
    Phase {
        polls,
        ok,
        status_reads: emu.request_count(Route::Status) - before_status,
        stops: emu.request_count(Route::Stop) - before_stop,
        flood: answered.load(Ordering::Relaxed),
        flood_404: not_found.load(Ordering::Relaxed),
        flood_upstream,
        wall,
    }
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn main() {
    let settings = Settings {
        secs: env_or("FLOOD_SECS", 10),
        threads: env_or("FLOOD_THREADS", 40).max(1),
        poll: Duration::from_millis(env_or("FLOOD_POLL_MS", 100)),
    };
    let emu = emulator();
    let gw = Gateway::builder()
        .upstream(emu.base_url(), emu.token())
        .allow(APP, VERSION)
        .hs256_secret(SECRET)
        .start()
        .expect("the gateway starts");
    let alice = token("alice");
    let id = deploy(&gw, &alice, Some("alice-1")).request_id();
    wait_ready(&gw, &alice, &id);

    let alone = phase(&emu, &gw, &alice, &id, &settings, false);
    let flooded = phase(&emu, &gw, &alice, &id, &settings, true);
    let rate_limited = emu.requests().iter().filter(|r| r.status == 429).count();
    let success = |p: &Phase| 100.0 * p.ok as f64 / p.polls.max(1) as f64;

    println!(
        "one gateway (default config: status interval 1 s, Edgegap's budget, 2 reads/s per player) in front of the emulator with Edgegap's rate limits on; \
         alice polls her READY server every {:?}; phases of {} s; mallory floods random ids from {} keep-alive connections (3 status : 1 stop); 2 cores\n",
        settings.poll, settings.secs, settings.threads
    );
    println!("| figure | goal | alice alone | alice + mallory's flood |");
    println!("|---|---|---|---|");
    println!(
        "| alice's status answered 200 READY | >= 95 % | {}/{} ({:.1} %) | {}/{} ({:.1} %) {} |",
        alone.ok,
        alone.polls,
        success(&alone),
        flooded.ok,
        flooded.polls,
        success(&flooded),
        pass(success(&flooded) >= 95.0)
    );
    let same = flooded.status_reads.abs_diff(alone.status_reads) <= 1;
    println!(
        "| upstream status reads in the phase | the same (+-1) | {} | {} {} |",
        alone.status_reads,
        flooded.status_reads,
        pass(same)
    );
    println!(
        "| upstream stops in the phase | 0 | {} | {} {} |",
        alone.stops,
        flooded.stops,
        pass(alone.stops + flooded.stops == 0)
    );
    println!(
        "| upstream calls naming one of mallory's ids | 0 | - | {} {} |",
        flooded.flood_upstream,
        pass(flooded.flood_upstream == 0)
    );
    println!(
        "| upstream 429s (whole run) | 0 | - | {rate_limited} {} |",
        pass(rate_limited == 0)
    );
    println!(
        "| mallory's requests answered (404) | report | - | {} ({} 404), {:.0}/s |",
        flooded.flood,
        flooded.flood_404,
        flooded.flood as f64 / flooded.wall.as_secs_f64()
    );
}
