//! What 1,000 players searching at once cost the emulator's matchmaker (prints figures; not a
//! test).
//!
//! `cargo bench -p edgegap-emulator --bench matchmaker`: a ranked 2v2 profile (latencies, elo,
//! game mode; an expansion at 30 s widens elo and latency), 800 solo players and 100 parties of
//! two (1,000 players) sent by 4 keep-alive clients in the same process. The matchmaker's clock
//! is manual: the bench advances it past the expansion once everyone searches. Prints the time
//! until every matchable player is HOST_ASSIGNED, the cost of a round of polls, and this
//! process's RSS (`VmRSS`).

mod support;

use std::time::{Duration, Instant};

use edgegap_emulator::{
    AppVersion, Emulator, EmulatorHandle, matchmaker_config, player_count_rule,
};
use serde_json::{Value, json};
use support::rss_mib;

const SOLOS: usize = 800;
const PARTIES: usize = 100;
const CLIENTS: usize = 4;
const TOKEN: &str = "bench-mm-token";

fn config() -> String {
    let rules = json!({
        "match_size": player_count_rule(2, 2, 2),
        "beacons": { "type": "latencies",
            "attributes": { "difference": 60, "max_latency": 150 } },
        "elo": { "type": "number_difference", "attributes": { "max_difference": 150 } },
        "mode": { "type": "string_equality" },
    });
    let expansions = json!({ "30": {
        "elo": { "max_difference": 2000 },
        "beacons": { "difference": 500, "max_latency": 500 },
    } });
    let mut config = matchmaker_config("ranked", ("game", "v1"), rules, expansions);
    config["max_deployment_retry_count"] = 3.into();
    config["profiles"]["ranked"]["group_inactivity_removal_period"] = "10m".into();
    config.to_string()
}

/// Deterministic attributes for player `i`; with `unique`, each player its own game mode
/// (nobody can ever match: the cost of a queue that only grows).
fn attributes(i: usize, unique: bool) -> Value {
    let mut x = (i as u64)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let mut next = |m: u64| {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x % m
    };
    let mode = if unique {
        format!("mode-{i}")
    } else if next(4) == 0 {
        "casual-ranked".to_owned()
    } else {
        "ranked".to_owned()
    };
    json!({
        "beacons": { "Montreal": 10 + next(140), "Chicago": 10 + next(140), "Tokyo": 0 },
        "elo": 1000 + next(1000),
        "mode": mode,
    })
}

struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let request = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("Authorization", TOKEN);
        let response = match body {
            Some(body) => request.send_json(body.clone()),
            None => request.call(),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        response.into_json().expect("JSON")
    }
}

/// Member paths of everyone this client made searching: solo `i` or party `i` (3 requests).
fn search(client: &Client, work: &[usize], unique: bool) -> Vec<String> {
    let mut members = Vec::new();
    let path = |m: &Value| {
        format!(
            "/groups/{}/members/{}",
            m["group_id"].as_str().unwrap_or(""),
            m["member_id"].as_str().unwrap_or("")
        )
    };
    for &i in work {
        if i < SOLOS {
            let body = json!({ "profile": "ranked", "is_ready": true, "attributes": attributes(i, unique) });
            members.push(path(&client.call("POST", "/groups", Some(&body))));
        } else {
            let owner = json!({ "profile": "ranked", "is_ready": false, "attributes": attributes(i, unique) });
            let owner = client.call("POST", "/groups", Some(&owner));
            // A friend with other numbers, in the owner's game mode.
            let mut friend_attributes = attributes(i + 10_000, unique);
            friend_attributes["mode"] = attributes(i, unique)["mode"].clone();
            let friend =
                json!({ "profile": "ranked", "is_ready": true, "attributes": friend_attributes });
            let gid = owner["group_id"].as_str().unwrap_or("");
            let friend = client.call("POST", &format!("/groups/{gid}/members"), Some(&friend));
            client.call("PATCH", &path(&owner), Some(&json!({ "is_ready": true })));
            members.push(path(&owner));
            members.push(path(&friend));
        }
    }
    members
}

/// Polls every member once on `CLIENTS` threads; returns the statuses and the time it took.
fn poll_all(emu: &EmulatorHandle, members: &[String]) -> (Vec<String>, Duration) {
    let started = Instant::now();
    let statuses = std::thread::scope(|scope| {
        let chunks: Vec<_> = members
            .chunks(members.len().div_ceil(CLIENTS))
            .map(|chunk| {
                let base = emu.matchmaker_url();
                scope.spawn(move || {
                    let client = Client {
                        agent: ureq::AgentBuilder::new().build(),
                        base,
                    };
                    chunk
                        .iter()
                        .map(|m| {
                            client.call("GET", m, None)["status"]
                                .as_str()
                                .unwrap_or("")
                                .to_owned()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        chunks
            .into_iter()
            .flat_map(|c| c.join().expect("poller"))
            .collect()
    });
    (statuses, started.elapsed())
}

/// Waits until every deployment is READY; returns how many players they hold.
fn players_deployed(emu: &EmulatorHandle) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let deployments = emu.deployments();
        if deployments.iter().all(|d| d.status == "Status.READY") {
            return deployments
                .iter()
                .map(|d| {
                    serde_json::from_str::<Vec<String>>(&d.env["MM_TICKET_IDS"])
                        .map_or(0, |v| v.len())
                })
                .sum();
        }
        assert!(Instant::now() < deadline, "deployments never all READY");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn count(statuses: &[String], status: &str) -> usize {
    statuses.iter().filter(|s| *s == status).count()
}

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("bench")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .matchmaker(config())
        .matchmaker_token(TOKEN)
        .matchmaker_manual_clock()
        .start()
        .expect("emulator starts")
}

/// Everyone searches, sent by `CLIENTS` threads; returns the member paths.
fn search_all(emu: &EmulatorHandle, unique: bool) -> Vec<String> {
    let work: Vec<usize> = (0..SOLOS + PARTIES).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let mine: Vec<usize> = work.iter().copied().filter(|i| i % CLIENTS == c).collect();
                let client = Client {
                    agent: ureq::AgentBuilder::new().build(),
                    base: emu.matchmaker_url(),
                };
                scope.spawn(move || search(&client, &mine, unique))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client"))
            .collect()
    })
}

fn main() {
    let requests = SOLOS + 3 * PARTIES;
    let emu = emulator();
    let rss_start = rss_mib();
    let started = Instant::now();
    let members = search_all(&emu, false);
    let searching_time = started.elapsed();
    let initial = players_deployed(&emu);
    let initial_time = started.elapsed();
    let (statuses, _) = poll_all(&emu, &members);
    assert_eq!(
        count(&statuses, "HOST_ASSIGNED"),
        initial,
        "polls agree with the deployments"
    );
    let rss_matched = rss_mib();

    let expanded = Instant::now();
    emu.advance_matchmaker_clock(Duration::from_secs(30));
    // Every request first brings the matchmaker up to its clock: one poll forms every match
    // the expansion allows; then their servers become READY.
    let client = Client {
        agent: ureq::AgentBuilder::new().build(),
        base: emu.matchmaker_url(),
    };
    client.call("GET", &members[0], None);
    let after = players_deployed(&emu);
    let expansion_time = expanded.elapsed();
    let (statuses, poll_time) = poll_all(&emu, &members);
    let assigned = count(&statuses, "HOST_ASSIGNED");
    let rss_end = rss_mib();
    drop(emu);

    println!(
        "edgegap-emulator matchmaker bench ({CLIENTS} keep-alive clients, loopback, manual clock)"
    );
    println!(
        "  players: {} ({SOLOS} solo, {PARTIES} parties of 2) searching in {:.2} s ({requests} requests, {:.0}/s)",
        members.len(),
        searching_time.as_secs_f64(),
        requests as f64 / searching_time.as_secs_f64()
    );
    println!(
        "  initial rules: {initial} players HOST_ASSIGNED {:.2} s after the first request ({} deployments)",
        initial_time.as_secs_f64(),
        initial / 4
    );
    println!(
        "  after the 30 s expansion: {after} players HOST_ASSIGNED (+{}) {:.3} s after advancing the clock; {} still SEARCHING",
        after - initial,
        expansion_time.as_secs_f64(),
        count(&statuses, "SEARCHING")
    );
    println!(
        "  polls: {} GET member in {:.3} s = {:.0}/s with {} live groups; {assigned} HOST_ASSIGNED",
        members.len(),
        poll_time.as_secs_f64(),
        members.len() as f64 / poll_time.as_secs_f64(),
        SOLOS + PARTIES
    );
    println!(
        "  VmRSS: {rss_start:.1} MiB after start, {rss_matched:.1} MiB with {initial} players matched, {rss_end:.1} MiB at the end (+{:.1} KiB per player)",
        (rss_end - rss_start) * 1024.0 / members.len() as f64
    );

    // The worst queue: nobody can match, so every arrival is a new candidate for everyone.
    let emu = emulator();
    let rss_start = rss_mib();
    let started = Instant::now();
    let members = search_all(&emu, true);
    let searching_time = started.elapsed();
    let (statuses, poll_time) = poll_all(&emu, &members);
    println!(
        "  unmatchable queue (each player its own mode): {} players searching in {:.2} s ({:.0} requests/s); {} SEARCHING; polls {:.0}/s; VmRSS +{:.1} MiB",
        members.len(),
        searching_time.as_secs_f64(),
        requests as f64 / searching_time.as_secs_f64(),
        count(&statuses, "SEARCHING"),
        members.len() as f64 / poll_time.as_secs_f64(),
        rss_mib() - rss_start
    );
}
