//! One player cannot spend the upstream budget every player shares: ids the player is not
//! known to own answer 404 without asking Edgegap; the reads a player does cause are budgeted
//! per player; a stop reaches Edgegap once per deployment however often it is sent; quota
//! checks and webhook confirmations read through the coalescing view. Counted with the
//! emulator's request log; bounds that depend on time use the time the test took.

mod support;

use std::time::{Duration, Instant};

use edgegap_emulator::Route;
use edgegap_gateway::GatewayBuilder;
use support::*;

/// Longer than any test: the view never refreshes on its own within one.
const FOREVER: Duration = Duration::from_secs(300);

/// A plausible Edgegap id (12 hex digits) nobody deployed.
fn random_id(i: usize) -> String {
    let mixed = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
    format!("{:012x}", mixed & 0xFFFF_FFFF_FFFF)
}

#[test]
fn a_flood_of_random_ids_costs_nothing_upstream_and_others_keep_their_status() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 40;
    let emu = emulator();
    let gw = gateway(&emu);
    let alice = token("alice");
    let id = deploy(&gw, &alice, None).request_id();
    wait_ready(&gw, &alice, &id);
    let mallory = token("mallory");
    let (mine, flood) = std::thread::scope(|scope| {
        let flooders: Vec<_> = (0..THREADS)
            .map(|t| {
                let (gw, mallory) = (&gw, &mallory);
                scope.spawn(move || {
                    (0..PER_THREAD)
                        .map(|i| {
                            let random = random_id(t * PER_THREAD + i);
                            let answer = if i % 4 == 0 {
                                stop(gw, mallory, &random)
                            } else {
                                status(gw, mallory, &random)
                            };
                            answer.status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        // Meanwhile alice watches her own server.
        let mine: Vec<u16> = (0..40)
            .map(|_| {
                let answer = status(&gw, &alice, &id);
                std::thread::sleep(Duration::from_millis(25));
                answer.status
            })
            .collect();
        let flood: Vec<u16> = flooders
            .into_iter()
            .flat_map(|f| f.join().unwrap())
            .collect();
        (mine, flood)
    });
    let random: Vec<String> = (0..THREADS * PER_THREAD).map(random_id).collect();
    let reached = emu
        .requests()
        .into_iter()
        .filter(|r| random.iter().any(|id| r.path.ends_with(id.as_str())))
        .count();
    assert_eq!(reached, 0, "random ids reached Edgegap {reached} times");
    assert!(flood.iter().all(|s| *s == 404), "mallory got {flood:?}");
    assert!(mine.iter().all(|s| *s == 200), "alice got {mine:?}");
    assert_eq!(emu.requests().iter().filter(|r| r.status == 429).count(), 0);
}

#[test]
fn the_reads_one_player_causes_upstream_are_budgeted() {
    const POLLS: usize = 30;
    let emu = emulator();
    let interval = Duration::from_millis(50);
    let mut config = builder(&emu)
        .max_live_per_player(3)
        .status_interval(interval)
        .config()
        .clone();
    config.budget.player_reads_per_second = 2;
    let gw = GatewayBuilder::from_config(config).start().unwrap();
    let alice = token("alice");
    let ids: Vec<String> = (0..3)
        .map(|_| deploy(&gw, &alice, None).request_id())
        .collect();
    for id in &ids {
        assert!(emu.wait_for_status(id, "Status.READY", Duration::from_secs(10)));
    }
    let before = upstream_reads(&emu);
    let started = Instant::now();
    let mut refused = 0;
    for poll in 0..POLLS {
        // Each poll comes after the view went stale: without a per-player budget, each would
        // be an upstream read.
        std::thread::sleep(interval + Duration::from_millis(10));
        let answer = status(&gw, &alice, &ids[poll % ids.len()]);
        match answer.status {
            200 => {}
            429 => {
                assert!(answer.header("retry-after").is_some(), "{}", answer.text);
                refused += 1;
            }
            other => panic!("{other}: {}", answer.text),
        }
    }
    let reads = upstream_reads(&emu) - before;
    // A burst of 6, then 2 per second, over the time the polls took.
    let allowed = 6 + (2.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    assert!(
        reads <= allowed,
        "{reads} upstream reads for {POLLS} polls in {:?} (allowed {allowed})",
        started.elapsed()
    );
    assert!(refused > 0, "no poll was refused");
}

#[test]
fn stop_spam_reaches_edgegap_once_per_deployment() {
    let emu = emulator();
    let gw = builder(&emu)
        .allow(APP, GATED)
        .max_live_per_player(2)
        .start()
        .unwrap();
    let (alice, bob) = (token("alice"), token("bob"));
    let id = deploy(&gw, &alice, None).request_id();
    let bobs = deploy(&gw, &bob, None).request_id();
    for id in [&id, &bobs] {
        assert!(emu.wait_for_status(id, "Status.READY", Duration::from_secs(10)));
    }
    // At once from many connections, then one after the other.
    let concurrent: Vec<u16> = std::thread::scope(|scope| {
        let stops: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| stop(&gw, &alice, &id).status))
            .collect();
        stops.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let sequential: Vec<u16> = (0..20).map(|_| stop(&gw, &alice, &id).status).collect();
    for code in concurrent.iter().chain(&sequential) {
        assert!(
            matches!(code, 200 | 202 | 410),
            "{concurrent:?} {sequential:?}"
        );
    }
    assert_eq!(emu.request_count(Route::Stop), 1, "alice's stops upstream");
    // Bob's stop is not starved by alice's.
    assert!(matches!(stop(&gw, &bob, &bobs).status, 200 | 202));
    assert_eq!(emu.request_count(Route::Stop), 2);

    // A deployment still starting: Edgegap defers the stop (202); repeating it, then, or once
    // it is stopping or gone, asks nothing.
    let starting = deploy_gated(&gw, &alice).request_id();
    assert!(emu.wait_for_status(&starting, "Status.DEPLOYING", Duration::from_secs(10)));
    let first = stop(&gw, &alice, &starting);
    assert_eq!(first.status, 202, "{}", first.text);
    for _ in 0..10 {
        let answer = stop(&gw, &alice, &starting);
        assert!(matches!(answer.status, 202 | 410), "{}", answer.text);
    }
    assert_eq!(emu.request_count(Route::Stop), 3);
}

#[test]
fn quota_checks_read_through_the_view() {
    let emu = emulator();
    let gw = builder(&emu)
        .status_interval(FOREVER)
        .deploys_per_minute(60)
        .start()
        .unwrap();
    let alice = token("alice");
    let id = deploy(&gw, &alice, None).request_id();
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));
    assert_eq!(current(&status(&gw, &alice, &id)), "Status.READY");
    let reads = upstream_reads(&emu);
    for _ in 0..10 {
        let refused = deploy(&gw, &alice, None);
        assert_eq!(refused.status, 429, "{}", refused.text);
    }
    assert_eq!(
        upstream_reads(&emu),
        reads,
        "quota checks read alice's server upstream although the view knew it"
    );
}

#[test]
fn webhook_confirmations_are_coalesced_per_deployment() {
    const WEBHOOKS: usize = 30;
    let emu = emulator();
    let address = free_address();
    let secret = "webhook-secret-for-the-fair-budget-test";
    let gw = builder(&emu)
        .allow(APP, GATED)
        .bind(address)
        .public_url(format!("http://{address}"))
        .webhook_secret(secret)
        .start()
        .unwrap();
    let alice = token("alice");
    let id = deploy_gated(&gw, &alice).request_id();
    assert!(emu.wait_for_status(&id, "Status.DEPLOYING", Duration::from_secs(10)));
    let first = current(&status(&gw, &alice, &id));
    let webhook = format!("{}/webhooks/{secret}", gw.base_url());
    let body = format!(r#"{{"request_id":"{id}"}}"#);
    // Someone with the secret sends webhooks about a deployment someone waits on.
    let (mut reads, mut pages) = (0, 0);
    let mut took = Duration::ZERO;
    let answer = while_held(&gw, &alice, &id, &format!("since={first}&wait=25"), || {
        let before = emu.request_count(Route::Status);
        let pages_before = emu.request_count(Route::ListDeployments);
        let started = Instant::now();
        for _ in 0..WEBHOOKS {
            assert_eq!(send("POST", &webhook, &[], Some(&body)).status, 204);
            std::thread::sleep(Duration::from_millis(30));
        }
        took = started.elapsed();
        reads = emu.request_count(Route::Status) - before;
        pages = emu.request_count(Route::ListDeployments) - pages_before;
        // The real READY webhook still gets through.
        open_gate(&emu, &id)
    });
    assert_eq!(current(&answer), "Status.READY");
    // Three at once, then one per status interval (1 s): each a page of the list, which
    // shows no change, then the status read the list cannot replace.
    let allowed = 3 + took.as_secs_f64().ceil() as usize;
    assert!(
        reads <= allowed && pages <= allowed,
        "{reads} confirming status reads and {pages} pages for {WEBHOOKS} webhooks in {took:?} \
         (allowed {allowed} of each)"
    );
}
