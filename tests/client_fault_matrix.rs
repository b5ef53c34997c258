//! The permanent fault matrix: over a thousand calls (deploys, status, stops) against the
//! emulator with seeded mixed faults — latency past the deadline, 5xx, 429, garbled bodies,
//! an HTML 502, hung connections. Every call resolves exactly once, nothing panics, no deploy
//! is carried out twice, and after `AppExit` every deployment the emulator created is stopped
//! or terminated. Prints its figures (`cargo test --test client_fault_matrix -- --nocapture`).

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, GetStatus, StopDeployment};
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Fault, FaultKind, Route};
use support::{app, call, collect, run_for, seen};

const DEPLOYS: usize = 200;
const STATUS_CALLS: usize = 700;
const DEADLINE: Duration = Duration::from_millis(400);

fn emulator() -> EmulatorHandle {
    let past_deadline = DEADLINE + Duration::from_millis(300);
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .lifecycle_step(Duration::from_millis(10))
        .without_rate_limits()
        .seed(0x00ED_6E6A)
        .fault(Fault::new(Route::DeployV2, FaultKind::Latency(past_deadline)).probability(0.06))
        .fault(Fault::new(Route::Status, FaultKind::Latency(past_deadline)).probability(0.02))
        .fault(Fault::global(FaultKind::Status(503)).probability(0.04))
        .fault(
            Fault::global(FaultKind::RateLimited {
                retry_after: Duration::from_secs(1),
            })
            .probability(0.03),
        )
        .fault(Fault::global(FaultKind::MalformedJson).probability(0.04))
        .fault(Fault::global(FaultKind::Html502).probability(0.03))
        .fault(Fault::global(FaultKind::Hang(past_deadline)).probability(0.02))
        .fault(Fault::global(FaultKind::Latency(Duration::from_millis(20))).probability(0.1))
        .start()
        .expect("the emulator starts")
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Deploy,
    Status,
    Stop,
}

#[test]
fn a_thousand_calls_under_mixed_faults_leak_lose_and_duplicate_nothing() {
    let started = Instant::now();
    let emu = emulator();
    let config = support::config(&emu)
        .with_deadline(DEADLINE)
        .with_max_in_flight(32)
        .with_rate_limits(RateLimits::none())
        .with_exit_stop_wait(Duration::from_secs(40));
    let mut app = app(config);
    collect::<EdgegapResponse<DeployRequest>>(&mut app);
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    collect::<EdgegapResponse<StopDeployment>>(&mut app);
    collect::<DeploymentCreated>(&mut app);
    collect::<DeploymentFailed>(&mut app);

    let mut calls: Vec<(Entity, Kind)> = Vec::new();
    let mut deployments = Vec::new();
    let mut status_calls = 0;
    // Issue everything over a few seconds, interleaved with frames.
    for i in 0..DEPLOYS {
        let d = call(&mut app, |e| {
            e.deploy(DeployRequest::new("game", "v1").user_ip("1.2.3.4"))
        });
        calls.push((d, Kind::Deploy));
        deployments.push(d);
        match i % 5 {
            // A stop before the deploy answered.
            0 => calls.push((call(&mut app, move |e| e.stop_deployment(d)), Kind::Stop)),
            // The same deployment stopped twice, later.
            1..=3 if i >= 10 => {
                let earlier = deployments[i - 10];
                calls.push((
                    call(&mut app, move |e| e.stop_deployment(earlier)),
                    Kind::Stop,
                ));
            }
            _ => {}
        }
        // Status calls on ids already known (and some unknown ones).
        for k in 0..4 {
            if status_calls >= STATUS_CALLS {
                break;
            }
            let known: Vec<String> = seen::<DeploymentCreated>(&app)
                .iter()
                .map(|c| c.request_id.to_string())
                .collect();
            let id = known
                .get((i * 7 + k) % known.len().max(1))
                .cloned()
                .unwrap_or_else(|| "0123456789ab".to_owned());
            calls.push((call(&mut app, move |e| e.status(id)), Kind::Status));
            status_calls += 1;
        }
        app.update();
    }
    let issued = calls.len();
    let counts = |app: &App| -> HashMap<Entity, usize> {
        let mut n = HashMap::new();
        for r in seen::<EdgegapResponse<DeployRequest>>(app) {
            *n.entry(r.entity).or_default() += 1;
        }
        for r in seen::<EdgegapResponse<GetStatus>>(app) {
            *n.entry(r.entity).or_default() += 1;
        }
        for r in seen::<EdgegapResponse<StopDeployment>>(app) {
            *n.entry(r.entity).or_default() += 1;
        }
        n
    };
    let limit = Instant::now() + Duration::from_secs(90);
    loop {
        app.update();
        let n = counts(&app);
        if calls.iter().all(|(e, _)| n.contains_key(e)) || Instant::now() > limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let n = counts(&app);
    let lost: Vec<_> = calls.iter().filter(|(e, _)| !n.contains_key(e)).collect();
    let repeated: Vec<_> = calls
        .iter()
        .filter(|(e, _)| n.get(e).copied().unwrap_or(0) > 1)
        .collect();
    let by_kind = |kind: Kind| calls.iter().filter(|(_, k)| *k == kind).count();
    let created_events = seen::<DeploymentCreated>(&app).len();
    let failed_events = seen::<DeploymentFailed>(&app).len();

    // Let uncertain deploys settle a little, then exit: reconcile first, then stop.
    run_for(&mut app, Duration::from_millis(500));
    app.world_mut().write_message(AppExit::Success);
    app.update();

    let emulated = emu.deployments();
    let leaked: Vec<(String, String)> = emu
        .not_terminated(Duration::from_secs(5))
        .into_iter()
        .filter(|d| {
            emu.deployment(&d.request_id)
                .is_none_or(|d| d.stopped_by.is_none())
        })
        .map(|d| (d.request_id, d.status))
        .collect();
    // No deploy carried out twice: each correlation tag on at most one deployment.
    let mut by_tag: HashMap<String, usize> = HashMap::new();
    for d in &emulated {
        for tag in d.tags.iter().filter(|t| t.starts_with("bx-")) {
            *by_tag.entry(tag.clone()).or_default() += 1;
        }
    }
    let duplicated = by_tag.values().filter(|&&n| n > 1).count();
    // A deploy is sent again only after a 429 (loopback never refuses).
    let deploy_requests: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.route == Route::DeployV2)
        .collect();
    let deploy_429 = deploy_requests.iter().filter(|r| r.status == 429).count();
    let resent = deploy_requests.len().saturating_sub(by_kind(Kind::Deploy));

    println!("fault matrix after {:?}:", started.elapsed());
    println!(
        "  calls issued: {issued} (deploys {}, status {}, stops {})",
        by_kind(Kind::Deploy),
        by_kind(Kind::Status),
        by_kind(Kind::Stop)
    );
    println!(
        "  resolved once: {}, lost: {}, resolved more than once: {}",
        issued - lost.len() - repeated.len(),
        lost.len(),
        repeated.len()
    );
    println!(
        "  deploy requests sent: {} ({} answered 429, {resent} re-sends)",
        deploy_requests.len(),
        deploy_429
    );
    println!(
        "  deployments created by the emulator: {}, DeploymentCreated: {created_events}, \
         DeploymentFailed: {failed_events}",
        emulated.len()
    );
    println!(
        "  leaked after AppExit: {}, duplicated deploys: {duplicated}, panics: 0",
        leaked.len()
    );

    assert!(issued >= 1000, "only {issued} calls");
    assert!(lost.is_empty(), "calls never resolved: {lost:?}");
    assert!(repeated.is_empty(), "calls resolved twice: {repeated:?}");
    assert_eq!(duplicated, 0, "a deploy was carried out twice");
    assert!(
        resent <= deploy_429,
        "{resent} deploys re-sent with only {deploy_429} 429s"
    );
    assert!(leaked.is_empty(), "leaked after AppExit: {leaked:?}");
    assert!(!emulated.is_empty());
}
