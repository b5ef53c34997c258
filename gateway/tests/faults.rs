//! Faults: Edgegap failing (5xx, an HTML 502, 429; bursts of them under load) and a replica
//! killed mid-run (SIGKILL of an `edgegap-gateway` process sharing Redis with another
//! replica). Players get retryable answers (502/503 with `Retry-After`), every deploy is
//! accounted for, no server is duplicated or leaked. Counted, never timed.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use edgegap_emulator::{Fault, FaultKind, Route};
use edgegap_gateway::GatewayBuilder;
use support::*;

/// Every deployment the emulator made is over (stopped through the gateway).
fn assert_none_left(emu: &edgegap_emulator::EmulatorHandle) {
    let leaked = emu.not_terminated(Duration::from_secs(10));
    assert!(leaked.is_empty(), "leaked: {leaked:?}");
}

#[test]
fn a_replica_killed_mid_run_loses_no_deploy_and_leaks_no_server() {
    const PLAYERS: usize = 4;
    let redis = Redis::start();
    let emu = emulator();
    // A waits for Edgegap far longer than this test takes, so it is killed mid-deploy however
    // slow the machine. B's upstream calls take at most 2 s (+ 1 s of budget wait): to B, a
    // deploy claimed longer ago than 4 s that never finished was abandoned.
    let mut a = GatewayProcess::start(
        GATEWAY_BINARY,
        &emu,
        &redis.url(),
        "[upstream]\ntimeout_secs = 120",
        &[],
    );
    let mut config = builder(&emu).redis(redis.url()).config().clone();
    config.upstream.timeout_secs = 2;
    let b = GatewayBuilder::from_config(config).start().unwrap();

    let players: Vec<(String, String)> = (0..PLAYERS)
        .map(|i| {
            let player = token(&format!("player-{i}"));
            let answer = deploy(&a, &player, Some(&format!("join-{i}")));
            assert_eq!(answer.status, 202, "{}", answer.text);
            let id = answer.request_id();
            wait_ready(&a, &player, &id);
            (player, id)
        })
        .collect();

    // The victim's deploy is in flight on A (Edgegap made the server, its answer is slow)
    // when A dies.
    emu.add_fault(
        Fault::new(
            Route::DeployV2,
            FaultKind::Latency(Duration::from_secs(120)),
        )
        .times(1),
    );
    let victim = token("victim");
    let in_flight = std::thread::spawn({
        let (url, victim) = (a.url.clone(), victim.clone());
        move || {
            let auth = format!("Bearer {victim}");
            try_send(
                "POST",
                &format!("{url}/v2/deployments"),
                &[("Authorization", &auth), ("Idempotency-Key", "join-victim")],
                Some(&format!(
                    r#"{{"application":"{APP}","version":"{VERSION}"}}"#
                )),
            )
        }
    });
    wait_until("the victim's server", || {
        emu.deployments().len() == PLAYERS + 1
    });
    a.kill();
    assert!(
        in_flight.join().unwrap().is_err(),
        "the killed replica answered"
    );
    let known: BTreeSet<&String> = players.iter().map(|(_, id)| id).collect();
    let made = emu
        .deployments()
        .into_iter()
        .find(|d| !known.contains(&d.request_id))
        .unwrap()
        .request_id;

    // The client's retry, with the same key, lands on B: the same server, not a second one.
    let retry = deploy(&b, &victim, Some("join-victim"));
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(retry.request_id(), made);
    assert_eq!(emu.deployments().len(), PLAYERS + 1, "a duplicated server");
    // Counted as the victim's one live server on B.
    assert_eq!(deploy(&b, &victim, Some("join-again")).status, 429);

    // Everyone carries on through B.
    wait_ready(&b, &victim, &made);
    for (player, id) in players
        .iter()
        .chain([(victim.clone(), made.clone())].iter())
    {
        assert_eq!(current(&status(&b, player, id)), "Status.READY");
        let stopped = stop(&b, player, id);
        assert!(matches!(stopped.status, 200 | 202), "{}", stopped.text);
    }
    assert_eq!(emu.deployments().len(), PLAYERS + 1);
    assert_none_left(&emu);
    // The victim's slot is free again.
    let again = deploy(&b, &victim, Some("join-later"));
    assert_eq!(again.status, 202, "{}", again.text);
    assert!(matches!(
        stop(&b, &victim, &again.request_id()).status,
        200 | 202
    ));
}

#[test]
fn bursts_of_upstream_5xx_get_retryable_answers_and_everything_recovers() {
    const PLAYERS: usize = 6;
    let emu = emulator();
    let gw = builder(&emu)
        .allow(APP, GATED)
        .deploys_per_minute(30)
        .status_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::Status(503)).times(4));
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::Html502).times(2));
    emu.add_fault(Fault::new(Route::Stop, FaultKind::Status(502)).times(2));

    /// Retries `call` while it answers 502/503 (or 429: the player's own read budget, while it
    /// polls) with `Retry-After` (anything else is final), for at most 30 s.
    fn retrying(mut call: impl FnMut() -> Answer) -> (Answer, usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut refused = 0;
        loop {
            let answer = call();
            if !matches!(answer.status, 429 | 502 | 503) {
                return (answer, refused);
            }
            assert!(
                answer.header("retry-after").is_some(),
                "{} without Retry-After: {}",
                answer.status,
                answer.text
            );
            refused += 1;
            assert!(
                Instant::now() < deadline,
                "never recovered: {}",
                answer.text
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    let refused: usize = std::thread::scope(|scope| {
        let players: Vec<_> = (0..PLAYERS)
            .map(|i| {
                let gw = &gw;
                scope.spawn(move || {
                    let player = token(&format!("player-{i}"));
                    let key = format!("join-{i}");
                    // Held at DEPLOYING until the read bursts are over (the gates below).
                    let body = serde_json::json!({ "application": APP, "version": GATED });
                    let (deployed, mut refused) =
                        retrying(|| deploy_body(gw, &player, Some(&key), &body));
                    assert_eq!(deployed.status, 202, "{}", deployed.text);
                    let id = deployed.request_id();
                    let deadline = Instant::now() + Duration::from_secs(30);
                    loop {
                        assert!(Instant::now() < deadline, "`{id}` never READY");
                        let (answer, n) = retrying(|| status(gw, &player, &id));
                        refused += n;
                        if current(&answer) == "Status.READY" {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    let (stopped, n) = retrying(|| stop(gw, &player, &id));
                    assert!(matches!(stopped.status, 200 | 202), "{}", stopped.text);
                    refused + n
                })
            })
            .collect();
        // Once every server is made (a failed deploy looks for its server in the list), the
        // players poll them, still DEPLOYING, through a burst on reads: statuses are read
        // through the list, and a failed page falls back to a status read, which fails too
        // while its burst lasts. Then their servers become READY.
        wait_until("every deploy", || emu.deployments().len() == PLAYERS);
        emu.add_fault(Fault::new(Route::ListDeployments, FaultKind::Status(500)).times(6));
        emu.add_fault(Fault::new(Route::Status, FaultKind::Status(500)).times(6));
        wait_until("the bursts on reads", || {
            emu.faults_injected(Route::ListDeployments) == 6
                && emu.faults_injected(Route::Status) == 6
        });
        let _gates: Vec<_> = emu
            .deployments()
            .iter()
            .map(|d| open_gate(&emu, &d.request_id))
            .collect();
        players.into_iter().map(|p| p.join().unwrap()).sum()
    });
    // The bursts happened, and were answered as retryable.
    assert_eq!(emu.faults_injected(Route::DeployV2), 6);
    assert_eq!(emu.faults_injected(Route::ListDeployments), 6);
    assert_eq!(emu.faults_injected(Route::Status), 6);
    assert_eq!(emu.faults_injected(Route::Stop), 2);
    assert!(refused >= 6, "only {refused} retryable answers");
    // One server per player, none duplicated, none left.
    let deployments = emu.deployments();
    assert_eq!(deployments.len(), PLAYERS, "duplicated or lost servers");
    let owners: BTreeSet<String> = deployments
        .iter()
        .flat_map(|d| d.tags.clone())
        .filter(|t| t.starts_with(edgegap_gateway::OWNER_TAG_PREFIX))
        .collect();
    assert_eq!(owners.len(), PLAYERS);
    assert_none_left(&emu);
    assert_eq!(emu.requests().iter().filter(|r| r.status == 429).count(), 0);
}

#[test]
fn edgegap_failures_are_502_or_503_with_retry_after() {
    let emu = emulator();
    let gw = builder(&emu).max_live_per_player(5).start().unwrap();
    let alice = token("alice");
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::Status(500)).times(1));
    let failed = deploy(&gw, &alice, Some("k"));
    assert_retry_later(&failed, 502);
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::Html502).times(1));
    assert_eq!(deploy(&gw, &alice, Some("k")).status, 502);
    emu.add_fault(
        Fault::new(
            Route::DeployV2,
            FaultKind::RateLimited {
                retry_after: Duration::from_secs(3),
            },
        )
        .times(1),
    );
    let limited = deploy(&gw, &alice, Some("k"));
    assert_eq!(limited.status, 503, "{}", limited.text);
    assert_eq!(limited.header("Retry-After"), Some("3"));
    // A failed deploy released the key and the live slot: the retry goes through.
    let ok = deploy(&gw, &alice, Some("k"));
    assert_eq!(ok.status, 202, "{}", ok.text);
    assert_eq!(emu.deployments().len(), 1);
}
