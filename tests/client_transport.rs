//! The transport against the emulator: nothing lost over the in-flight cap, client rate limits,
//! 429 retries, deadlines, cancellation, and its figures as opt-in diagnostics.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bevy::diagnostic::DiagnosticsStore;
use bevy::prelude::*;
use bevy_edgegap::api::{DeployRequest, EdgegapError, EndpointClass, GetStatus};
use bevy_edgegap::client::stats;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{
    AppVersion, Emulator, EmulatorBuilder, EmulatorHandle, Fault, FaultKind, Route,
};
use support::{app, ask, call, collect, config, quick, run_for, run_until, seen, seen_in};

const LIMIT: Duration = Duration::from_secs(20);

fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .lifecycle_step(Duration::ZERO)
}

/// An emulator from [`builder`] without rate limits, where `fault` applies.
fn with_fault(fault: Fault) -> EmulatorHandle {
    builder()
        .without_rate_limits()
        .fault(fault)
        .start()
        .unwrap()
}

/// Issues `n` status calls in one frame.
fn statuses(app: &mut App, id: &str, n: usize) {
    let id = id.to_owned();
    call(app, move |eg| {
        let first = eg.status(id.as_str());
        for _ in 1..n {
            eg.status(id.as_str());
        }
        first
    });
}

#[test]
fn two_hundred_calls_in_one_frame_all_resolve_within_the_in_flight_cap() {
    let emu = with_fault(Fault::new(
        Route::Status,
        FaultKind::Latency(Duration::from_millis(5)),
    ));
    let mut app = app(config(&emu)
        .with_max_in_flight(4)
        .with_rate_limits(RateLimits::none()));
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    let issued = call(&mut app, |eg| {
        let mut last = Entity::PLACEHOLDER;
        for i in 0..200 {
            // Unknown ids answer 404: a documented error is a resolution too.
            last = eg.status(if i % 2 == 0 {
                "aaaaaaaaaaaa"
            } else {
                "bbbbbbbbbbbb"
            });
        }
        last
    });
    assert_ne!(issued, Entity::PLACEHOLDER);
    run_until(&mut app, "200 results", LIMIT, |w| {
        seen_in::<EdgegapResponse<GetStatus>>(w).len() >= 200
    });
    run_for(&mut app, Duration::from_millis(100));
    let results = seen::<EdgegapResponse<GetStatus>>(&app);
    assert_eq!(results.len(), 200, "each call resolves exactly once");
    let entities: HashSet<Entity> = results.iter().map(|r| r.entity).collect();
    assert_eq!(entities.len(), 200);
    assert!(
        results
            .iter()
            .all(|r| r.result.as_ref().is_err_and(EdgegapError::is_not_found))
    );
    assert_eq!(
        emu.request_count(Route::Status),
        200,
        "none lost, none doubled"
    );
    assert!(
        emu.peak_in_flight() <= 4,
        "peak in flight {}",
        emu.peak_in_flight()
    );
    assert!(emu.peak_in_flight() >= 2, "requests did overlap");
    // Call entities are gone after delivery.
    assert!(entities.iter().all(|&e| app.world().get_entity(e).is_err()));
    let stats = app.world().resource::<EdgegapStats>();
    assert_eq!((stats.in_flight, stats.queued), (0, 0));
}

#[test]
fn client_rate_limits_below_the_servers_cause_no_429() {
    let emu = builder().rate_limit(Route::Status, 20).start().unwrap();
    let mut app = app(
        config(&emu).with_rate_limits(RateLimits::none().with(EndpointClass::Status, Some(15)))
    );
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    let started = Instant::now();
    statuses(&mut app, "aaaaaaaaaaaa", 40);
    run_until(&mut app, "40 results", LIMIT, |w| {
        seen_in::<EdgegapResponse<GetStatus>>(w).len() >= 40
    });
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "40 calls at 15/s need two full windows"
    );
    let refused = emu.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 0, "the client caused 429s");
    assert_eq!(emu.request_count(Route::Status), 40);
    assert!(app.world().resource::<EdgegapStats>().rate_limit_waits > 0);
}

#[test]
fn server_limits_below_the_clients_are_retried_after_retry_after() {
    let emu = builder().rate_limit(Route::Status, 5).start().unwrap();
    let mut app = app(config(&emu).with_rate_limits(RateLimits::none()));
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    statuses(&mut app, "aaaaaaaaaaaa", 12);
    run_until(&mut app, "12 results", LIMIT, |w| {
        seen_in::<EdgegapResponse<GetStatus>>(w).len() >= 12
    });
    let results = seen::<EdgegapResponse<GetStatus>>(&app);
    assert!(
        results
            .iter()
            .all(|r| r.result.as_ref().is_err_and(|e| e.status() == Some(404))),
        "every call got through (404 is the unknown id's answer): {results:?}"
    );
    let refused = emu.requests().iter().filter(|r| r.status == 429).count();
    assert!(refused > 0, "the server did refuse some");
    assert!(app.world().resource::<EdgegapStats>().retries >= refused as u64);
}

#[test]
fn server_errors_on_idempotent_calls_are_retried() {
    let emu = with_fault(Fault::new(Route::Status, FaultKind::Status(503)).times(2));
    let mut app = app(config(&emu).with_retry(RetryPolicy {
        initial_backoff: Duration::from_millis(20),
        ..RetryPolicy::default()
    }));
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    statuses(&mut app, "aaaaaaaaaaaa", 1);
    run_until(&mut app, "a result", LIMIT, |w| {
        !seen_in::<EdgegapResponse<GetStatus>>(w).is_empty()
    });
    assert_eq!(emu.faults_injected(Route::Status), 2);
    assert_eq!(emu.request_count(Route::Status), 3);
    assert_eq!(
        seen::<EdgegapResponse<GetStatus>>(&app)[0]
            .result
            .as_ref()
            .unwrap_err()
            .status(),
        Some(404)
    );
}

#[test]
fn a_hung_endpoint_resolves_as_timeout_at_the_deadline() {
    // Far longer than the deadline: a call that waited for the server would take this long.
    let hang = Duration::from_secs(60);
    let emu = with_fault(Fault::new(Route::Status, FaultKind::Hang(hang)));
    let deadline = Duration::from_millis(500);
    let mut app = app(config(&emu).with_deadline(deadline));
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    let started = Instant::now();
    statuses(&mut app, "aaaaaaaaaaaa", 1);
    run_until(&mut app, "the timeout", LIMIT, |w| {
        !seen_in::<EdgegapResponse<GetStatus>>(w).is_empty()
    });
    let took = started.elapsed();
    assert_eq!(
        seen::<EdgegapResponse<GetStatus>>(&app)[0].result,
        Err(EdgegapError::Timeout)
    );
    assert!(took >= deadline, "resolved before the deadline: {took:?}");
    assert!(
        took < hang,
        "resolved {took:?} after issue: when the server let go, not at the deadline {deadline:?}"
    );
    assert_eq!(app.world().resource::<EdgegapStats>().timeouts, 1);
}

#[test]
fn a_deploy_that_times_out_is_not_sent_again() {
    let emu = with_fault(Fault::new(
        Route::DeployV2,
        FaultKind::Hang(Duration::from_secs(3)),
    ));
    let mut app = app(config(&emu)
        .with_deadline(Duration::from_millis(400))
        .with_max_reconciles(2));
    collect::<EdgegapResponse<DeployRequest>>(&mut app);
    collect::<DeploymentFailed>(&mut app);
    let entity = call(&mut app, |eg| {
        eg.deploy(DeployRequest::new("game", "v1").user_ip("1.2.3.4"))
    });
    run_until(&mut app, "the deploy's result", LIMIT, |w| {
        !seen_in::<EdgegapResponse<DeployRequest>>(w).is_empty()
    });
    let result = &seen::<EdgegapResponse<DeployRequest>>(&app)[0];
    assert_eq!(result.entity, entity);
    assert_eq!(result.result, Err(EdgegapError::Timeout));
    // Not re-sent: reconciled by searching for its correlation tag, then reported.
    run_until(&mut app, "DeploymentFailed", LIMIT, |w| {
        !seen_in::<DeploymentFailed>(w).is_empty()
    });
    let failed = &seen::<DeploymentFailed>(&app)[0];
    assert_eq!(failed.reason, FailureReason::Api(EdgegapError::Timeout));
    assert!(failed.server_may_exist && !failed.stopped, "{failed:?}");
    assert!(emu.request_count(Route::ListDeployments) >= 2);
    run_for(&mut app, Duration::from_millis(800));
    assert_eq!(emu.request_count(Route::DeployV2), 1);
}

#[test]
fn a_call_whose_entity_is_despawned_is_cancelled_without_error() {
    let emu = with_fault(Fault::new(
        Route::Status,
        FaultKind::Latency(Duration::from_millis(200)),
    ));
    let mut app = app(config(&emu));
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    let (cancelled, kept) = {
        let a = call(&mut app, |eg| eg.status("aaaaaaaaaaaa"));
        let b = call(&mut app, |eg| eg.status("bbbbbbbbbbbb"));
        (a, b)
    };
    app.world_mut().entity_mut(kept).insert(KeepCall);
    app.update();
    app.world_mut().despawn(cancelled);
    run_until(&mut app, "the kept call", LIMIT, |w| {
        !seen_in::<EdgegapResponse<GetStatus>>(w).is_empty()
    });
    run_for(&mut app, Duration::from_millis(400));
    let results = seen::<EdgegapResponse<GetStatus>>(&app);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].entity, kept);
    assert!(
        app.world().get_entity(kept).is_ok(),
        "KeepCall keeps the entity"
    );
    assert_eq!(app.world().resource::<EdgegapStats>().cancelled, 1);
}

#[test]
fn tracked_deployments_share_the_status_budget() {
    let emu = builder().without_rate_limits().start().unwrap();
    let mut app = app(config(&emu)
        .with_rate_limits(RateLimits::none().with(EndpointClass::Status, Some(10)))
        .with_poll(PollPolicy {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(10),
            multiplier: 1.0,
        }));
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(support::deploy(&emu, support::game_v1()));
    }
    let entities: Vec<Entity> = ids
        .iter()
        .cloned()
        .map(|id| call(&mut app, move |eg| eg.track(id)))
        .collect();
    run_until(&mut app, "every tracked deployment polled", LIMIT, |w| {
        entities
            .iter()
            .all(|&e| w.get::<Deployment>(e).is_some_and(|d| d.last().is_some()))
    });
    let started = Instant::now();
    let before = emu.request_count(Route::Status);
    // Over a window: a slow machine polls less, never more than the budget allows.
    run_for(&mut app, Duration::from_secs(3));
    let polls = emu.request_count(Route::Status) - before;
    let per_second = polls as f64 / started.elapsed().as_secs_f64();
    assert!(per_second <= 11.0, "{per_second}/s over the 10/s budget");
    // The budget keeps being used (how fast is the bench's business, not a test's).
    run_until(&mut app, "30 polls (3 s of budget)", LIMIT, |_| {
        emu.request_count(Route::Status) - before >= 30
    });
    // Round-robin: every one is polled again, none starves.
    run_until(&mut app, "every deployment polled again", LIMIT, |w| {
        entities.iter().all(|&e| {
            w.get::<Deployment>(e)
                .is_some_and(|d| d.last_polled_at().is_some_and(|t| t > started))
        })
    });
    for &e in &entities {
        let d = app.world().get::<Deployment>(e).unwrap();
        assert!(
            d.last_polled_at().is_some_and(|t| t > started),
            "a deployment starved"
        );
    }
    let refused = emu.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 0);
}

/// A worker that finishes a call starts the next queued one at once, without waiting for
/// the next frame: after a single frame, sixteen times the in-flight cap reach the API (each
/// worker one on the wire and fifteen next in line), while never more than the cap are on the
/// wire.
#[test]
fn workers_start_the_next_queued_call_without_waiting_for_a_frame() {
    let emu = builder().without_rate_limits().start().unwrap();
    let mut app = app(config(&emu)
        .with_max_in_flight(4)
        .with_rate_limits(RateLimits::none()));
    statuses(&mut app, "aaaaaaaaaaaa", 100);
    app.update();
    // No more frames: only the engine's workers run from here.
    support::wait_until("64 requests without a frame", LIMIT, || {
        emu.request_count(Route::Status) >= 64
    });
    assert_eq!(emu.request_count(Route::Status), 64);
    // And no further: the rest waits for frames (the ECS hands them over). A check that
    // something does not happen, over a window with no frames.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(emu.request_count(Route::Status), 64);
    assert!(emu.connections_accepted() <= 4);
    // Frames deliver everything.
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    run_until(&mut app, "all 100 answers", LIMIT, |world| {
        seen_in::<EdgegapResponse<GetStatus>>(world).len() >= 100
    });
    assert_eq!(emu.request_count(Route::Status), 100);
}

#[test]
fn diagnostics_are_recorded_only_with_their_plugin() {
    let emu = builder().without_rate_limits().start().unwrap();
    let with = |diagnostics: bool| {
        let mut app = App::new();
        let group = EdgegapPlugins.set(EdgegapClientPlugin::new(quick(config(&emu))));
        let group = if diagnostics {
            group.enable::<EdgegapDiagnosticsPlugin>()
        } else {
            group
        };
        app.add_plugins(MinimalPlugins).add_plugins(group);
        app.finish();
        app.cleanup();
        // Its result arrives in a frame that changed the figures (recorded in `Last`).
        let _ = ask::<GetStatus>(&mut app, |e| e.status("0123456789ab"));
        app.world()
            .get_resource::<DiagnosticsStore>()
            .and_then(|store| store.get(&stats::RETRIES).map(|d| d.history_len()))
            .unwrap_or(0)
    };
    assert!(with(true) > 0, "diagnostics recorded with the plugin");
    assert_eq!(with(false), 0, "none without it");
}
