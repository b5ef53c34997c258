//! Status throughput and memory of the emulator (prints figures; not a test).
//!
//! `cargo bench -p edgegap-emulator`: rate limits off, 1,000 simulated deployments, then
//! keep-alive clients on loopback hammer `GET /v1/status/{id}` for a few seconds. Prints
//! requests/s, p50/p99 latency and this process's RSS (`VmRSS`) before and after creating the
//! deployments. Clients run in the same process, so they share the CPU with the server.

mod support;

use std::time::{Duration, Instant};

use edgegap_emulator::{AppVersion, Emulator};
use support::rss_mib;

const DEPLOYMENTS: usize = 1_000;
const CLIENTS: usize = 4;
const RUN: Duration = Duration::from_secs(5);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let emu = Emulator::builder()
        .token("bench")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("emulator starts");
    let base = emu.base_url();
    let rss_before = rss_mib();
    let agent = ureq::AgentBuilder::new().build();
    let body = serde_json::json!({
        "application": "game", "version": "v1", "tags": ["bench"],
        "users": [{"user_type": "ip_address", "user_data": {"ip_address": "1.2.3.4"}}],
        "environment_variables": [{"key": "MODE", "value": "bench", "is_hidden": false}],
    });
    let started = Instant::now();
    let ids: Vec<String> = (0..DEPLOYMENTS)
        .map(|_| {
            let answer: serde_json::Value = agent
                .post(&format!("{base}/v2/deployments"))
                .set("Authorization", "token bench")
                .send_json(body.clone())
                .expect("deploy")
                .into_json()
                .expect("json");
            answer["request_id"]
                .as_str()
                .expect("request_id")
                .to_owned()
        })
        .collect();
    let deploy_time = started.elapsed();
    for id in &ids {
        assert!(
            emu.wait_for_status(id, "Status.READY", Duration::from_secs(30)),
            "{id} not READY"
        );
    }
    let rss_after = rss_mib();

    let deadline = Instant::now() + RUN;
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|worker| {
                let (base, ids) = (&base, &ids);
                scope.spawn(move || {
                    let agent = ureq::AgentBuilder::new().build();
                    let mut latencies = Vec::with_capacity(100_000);
                    let mut i = worker;
                    while Instant::now() < deadline {
                        let url = format!("{base}/v1/status/{}", ids[i % ids.len()]);
                        let sent = Instant::now();
                        let response = agent
                            .get(&url)
                            .set("Authorization", "token bench")
                            .call()
                            .expect("status");
                        let _ = response.into_string().expect("body");
                        latencies.push(sent.elapsed());
                        i += CLIENTS;
                    }
                    latencies
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let elapsed = RUN.as_secs_f64();
    let mut sorted = latencies.clone();
    sorted.sort_unstable();
    let rss_end = rss_mib();

    println!(
        "edgegap-emulator throughput bench ({CLIENTS} keep-alive clients, rate limits off, loopback)"
    );
    println!(
        "  deploys: {DEPLOYMENTS} in {:.2} s ({:.0}/s, one client)",
        deploy_time.as_secs_f64(),
        DEPLOYMENTS as f64 / deploy_time.as_secs_f64()
    );
    println!(
        "  status:  {} requests in {elapsed:.1} s = {:.0} requests/s",
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    println!(
        "  latency: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&sorted, 0.50).as_secs_f64() * 1e3,
        percentile(&sorted, 0.99).as_secs_f64() * 1e3,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "  VmRSS:   {rss_before:.1} MiB after start, {rss_after:.1} MiB with {DEPLOYMENTS} deployments (+{:.1} MiB), {rss_end:.1} MiB after the status run",
        rss_after - rss_before
    );
}
