//! The checks, each an async function over a [`Setup`], asserting the same things natively
//! (`tests/native.rs`) and in headless Chromium (`tests/browser.rs`). A failed check panics
//! with what it saw.

use std::time::Duration;

use bevy::prelude::*;
#[cfg(target_arch = "wasm32")]
use bevy_edgegap::api::GetMonitor;
use bevy_edgegap::api::{
    DeployRequest, EdgegapError, GetStatus, HttpRequest, HttpResponse, Method, api_error,
};
use bevy_edgegap::http::RetryPolicy;
use bevy_edgegap::prelude::*;
use serde_json::{Value, json};
use web_time::Instant;

use crate::{BAD_GATEWAY_HTML, DUEL_PROFILE, HANG_HOLD, Headless, Setup, seen_count, until_all};

/// The longest any wait in a scenario may take.
const LIMIT: Duration = Duration::from_secs(30);

/// A status poll quick enough for tests.
fn quick_poll() -> PollPolicy {
    PollPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        multiplier: 1.5,
    }
}

/// A Bevy app in gateway mode deploys through the gateway, sees READY with the address of its
/// `gameport`, stops it and sees TERMINATED.
pub async fn deploys_sees_ready_and_stops(setup: &Setup) {
    let config =
        EdgegapConfig::gateway(&setup.gateway, setup.token("deployer")).with_poll(quick_poll());
    let mut app = Headless::new(config);
    app.collect::<DeploymentStatusChanged>()
        .collect::<DeploymentReady>()
        .collect::<DeploymentFailed>()
        .collect::<DeploymentTerminated>();
    let (application, version) = (setup.app.clone(), setup.version.clone());
    let entity = app.call(move |edgegap| edgegap.deploy(DeployRequest::new(application, version)));
    app.until("READY", LIMIT, |world| {
        seen_count::<DeploymentFailed>(world) > 0
            || world
                .get::<Deployment>(entity)
                .is_some_and(|d| *d.status() == Status::Ready)
    })
    .await;
    assert_eq!(app.seen::<DeploymentFailed>(), [], "the deploy failed");
    let ready = app.seen::<DeploymentReady>();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!(ready[0].entity, entity);
    let address = ready[0]
        .address("gameport")
        .expect("READY names the address of `gameport`");
    assert!(!address.host.is_empty() && address.port != 0, "{address:?}");
    assert!(
        app.seen::<DeploymentStatusChanged>()
            .iter()
            .any(|c| c.to == Status::Ready),
        "READY came as a status change too"
    );

    app.call(move |edgegap| edgegap.stop_deployment(entity));
    app.until("TERMINATED", LIMIT, |world| {
        seen_count::<DeploymentTerminated>(world) > 0
            || world
                .get::<Deployment>(entity)
                .is_some_and(|d| *d.status() == Status::Terminated)
    })
    .await;
    let terminated = app.seen::<DeploymentTerminated>();
    assert_eq!(terminated.len(), 1, "{terminated:?}");
    assert_eq!(terminated[0].request_id, ready[0].request_id);
}

/// A proxy's HTML `502` (no JSON) is the same [`EdgegapError::Api`] as natively — status,
/// message and the body kept whole — and a status call is retried as the policy says.
pub async fn an_html_502_is_an_api_error_with_its_body(setup: &Setup) {
    let retry = RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(50),
        jitter: 0.0,
        ..RetryPolicy::default()
    };
    let config = EdgegapConfig::gateway(
        format!("{}/html502/status", setup.faults),
        setup.token("html502"),
    )
    .with_retry(retry);
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<GetStatus>>();
    let call = app.call(|edgegap| edgegap.status("aaaaaaaaaaaa"));
    app.until("the status call's result", LIMIT, |world| {
        seen_count::<EdgegapResponse<GetStatus>>(world) > 0
    })
    .await;
    let results = app.seen::<EdgegapResponse<GetStatus>>();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].entity, call);
    let expected = api_error(&HttpResponse::new(502, BAD_GATEWAY_HTML));
    assert!(
        matches!(&expected, EdgegapError::Api { status: 502, body, .. } if body == BAD_GATEWAY_HTML)
    );
    let Err(error) = &results[0].result else {
        panic!("a 502 was a success: {:?}", results[0].result);
    };
    assert_eq!(*error, expected);
    assert_eq!(error.status(), Some(502));
    assert_eq!(
        probe(setup, "status").await["requests"],
        2,
        "one attempt and one retry, as RetryPolicy says"
    );
}

/// A hung answer resolves as [`EdgegapError::Timeout`] at the deadline, once, and the request
/// is really cancelled: the server sees its connection closed long before it would answer.
pub async fn a_hung_answer_times_out_and_is_cancelled(setup: &Setup) {
    let deadline = Duration::from_millis(600);
    let config = EdgegapConfig::gateway(format!("{}/hang/hung", setup.faults), setup.token("hang"))
        .with_deadline(deadline);
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<GetStatus>>();
    let started = Instant::now();
    app.call(|edgegap| edgegap.status("aaaaaaaaaaaa"));
    app.until("the hung call's result", LIMIT, |world| {
        seen_count::<EdgegapResponse<GetStatus>>(world) > 0
    })
    .await;
    let took = started.elapsed();
    let results = app.seen::<EdgegapResponse<GetStatus>>();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].result, Err(EdgegapError::Timeout));
    assert!(
        took >= deadline,
        "resolved {took:?} after issue, before the deadline"
    );
    // Cancelled, not merely ignored: the connection is closed well before the server's hold
    // ends (it would answer 200 then).
    let closed = wait_for_probe(setup, "hung", "closed_early", 1).await;
    assert!(
        closed < HANG_HOLD,
        "the connection was closed only {closed:?} after the deadline"
    );
}

/// A deploy past its deadline resolves once, as [`EdgegapError::Timeout`], and the late
/// answer, if any, is never delivered. Through a gateway an uncertain deploy may be re-sent,
/// but only with the same `Idempotency-Key` (the gateway then creates no second server).
pub async fn a_deploy_past_its_deadline_resolves_once(setup: &Setup) {
    let config = EdgegapConfig::gateway(
        format!("{}/hang/deploy", setup.faults),
        setup.token("deadline"),
    )
    .with_deadline(Duration::from_millis(500))
    .with_max_reconciles(0);
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<DeployRequest>>()
        .collect::<DeploymentFailed>();
    let (application, version) = (setup.app.clone(), setup.version.clone());
    app.call(move |edgegap| edgegap.deploy(DeployRequest::new(application, version)));
    app.until("the deploy's result", LIMIT, |world| {
        seen_count::<EdgegapResponse<DeployRequest>>(world) > 0
    })
    .await;
    // Past the server's hold, when a late answer would have come.
    app.run_for(HANG_HOLD + Duration::from_millis(500)).await;
    let results = app.seen::<EdgegapResponse<DeployRequest>>();
    assert_eq!(results.len(), 1, "resolved once: {results:?}");
    assert_eq!(results[0].result, Err(EdgegapError::Timeout));
    let failed = app.seen::<DeploymentFailed>();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].server_may_exist, "{failed:?}");
    let deploys = probe(setup, "deploy").await;
    assert!(deploys["POST"].as_u64() >= Some(1), "{deploys}");
    assert_eq!(
        deploys["idempotency_keys"], 1,
        "every send of one deploy carries the same Idempotency-Key: {deploys}"
    );
}

/// The in-flight cap holds: six calls with `max_in_flight(2)` are never more than two on the
/// wire at once (in the browser the page could open six), and none is lost.
pub async fn the_in_flight_cap_holds(setup: &Setup) {
    let config = EdgegapConfig::gateway(format!("{}/slow/cap", setup.faults), setup.token("cap"))
        .with_max_in_flight(2)
        .with_retry(RetryPolicy::never());
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<GetStatus>>();
    // Six calls in one frame: all handed to the transport before any frame sends.
    let calls: Vec<Entity> = (0..6)
        .map(|i| app.call(move |edgegap| edgegap.status(format!("aaaaaaaaaaa{i}"))))
        .collect();
    app.until("six results", LIMIT, |world| {
        seen_count::<EdgegapResponse<GetStatus>>(world) >= calls.len()
    })
    .await;
    app.run_for(Duration::from_millis(200)).await;
    let results = app.seen::<EdgegapResponse<GetStatus>>();
    let mut answered: Vec<Entity> = results.iter().map(|r| r.entity).collect();
    answered.sort();
    let mut expected = calls.clone();
    expected.sort();
    assert_eq!(answered, expected, "each call resolved once");
    let seen = probe(setup, "cap").await;
    assert_eq!(seen["requests"], 6, "{seen}");
    assert_eq!(seen["max_open"], 2, "two at once, never more: {seen}");
}

/// The gateway's refusal keeps its `Retry-After` (in the browser the gateway's CORS must
/// expose it): a player over their live-deployment quota gets `429` with `Retry-After: 5`,
/// not retried past the deadline.
pub async fn a_refusal_keeps_its_retry_after(setup: &Setup) {
    let config = EdgegapConfig::gateway(&setup.gateway, setup.token("quota"))
        .with_poll(quick_poll())
        .with_deadline(Duration::from_secs(2));
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<DeployRequest>>();
    for n in 1..=2 {
        let (application, version) = (setup.app.clone(), setup.version.clone());
        app.call(move |edgegap| edgegap.deploy(DeployRequest::new(application, version)));
        app.until("the deploy's answer", LIMIT, |world| {
            seen_count::<EdgegapResponse<DeployRequest>>(world) >= n
        })
        .await;
    }
    let results = app.seen::<EdgegapResponse<DeployRequest>>();
    assert!(results[0].result.is_ok(), "{results:?}");
    match &results[1].result {
        Err(error @ EdgegapError::Api { status: 429, .. }) => {
            assert_eq!(
                error.retry_after(),
                Some(Duration::from_secs(5)),
                "{error:?}"
            );
        }
        other => panic!("a second live deployment was not refused with 429: {other:?}"),
    }
}

/// An answer larger than `max_body_bytes` is the same transport error as natively (the body
/// is read as it comes and the request dropped at the cap).
pub async fn an_answer_over_the_body_cap_is_refused(setup: &Setup) {
    let cap = 16 * 1024;
    let config = EdgegapConfig::gateway(format!("{}/big/big", setup.faults), setup.token("big"))
        .with_max_body_bytes(cap)
        .with_retry(RetryPolicy::never());
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<GetStatus>>();
    app.call(|edgegap| edgegap.status("aaaaaaaaaaaa"));
    app.until("the big answer's result", LIMIT, |world| {
        seen_count::<EdgegapResponse<GetStatus>>(world) > 0
    })
    .await;
    assert!(crate::BIG_BODY > cap);
    assert_eq!(
        app.seen::<EdgegapResponse<GetStatus>>()[0].result,
        Err(EdgegapError::transport(
            true,
            format!("the answer's body is larger than `{cap}` bytes")
        ))
    );
}

/// In the browser: a page whose origin the gateway does not allow is refused by the browser's
/// CORS check (the deploy never reaches Edgegap), and Edgegap's organisation API (the
/// emulator's, which sends no CORS header either) cannot be called from a page at all.
#[cfg(target_arch = "wasm32")]
pub async fn pages_from_origins_not_allowed_are_refused(setup: &Setup) {
    let config = EdgegapConfig::gateway(&setup.closed_gateway, setup.token("refused"))
        .with_poll(quick_poll())
        .with_max_reconciles(1);
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<DeployRequest>>();
    let (application, version) = (setup.app.clone(), setup.version.clone());
    app.call(move |edgegap| edgegap.deploy(DeployRequest::new(application, version)));
    app.until("the refused deploy's result", LIMIT, |world| {
        seen_count::<EdgegapResponse<DeployRequest>>(world) > 0
    })
    .await;
    let results = app.seen::<EdgegapResponse<DeployRequest>>();
    assert!(
        matches!(
            results[0].result,
            Err(EdgegapError::Transport {
                may_have_been_sent: true,
                ..
            })
        ),
        "{results:?}"
    );
    let upstream = probe(setup, "closed-upstream").await;
    assert_eq!(
        upstream["deploys"], 0,
        "the preflight was refused, so the deploy never left the browser: {upstream}"
    );

    let config = EdgegapConfig::new(&setup.emulator, &setup.emulator_token);
    let mut app = Headless::new(config);
    app.collect::<EdgegapResponse<GetStatus>>();
    app.call(|edgegap| edgegap.status("aaaaaaaaaaaa"));
    app.until("the direct call's result", LIMIT, |world| {
        seen_count::<EdgegapResponse<GetStatus>>(world) > 0
    })
    .await;
    let results = app.seen::<EdgegapResponse<GetStatus>>();
    assert!(
        matches!(results[0].result, Err(EdgegapError::Transport { .. })),
        "the organisation API answered a page: {results:?}"
    );
}

/// A matchmaker client with polls quick enough for tests.
fn matchmaker(url: &str, token: &str) -> Headless {
    let config = MatchmakerConfig::new(url, token)
        .with_poll_interval(Duration::from_millis(100))
        .with_rate_limit(None);
    let mut app = Headless::matchmaker(config);
    app.collect::<MatchFound>()
        .collect::<HostAssigned>()
        .collect::<MatchmakingCancelled>()
        .collect::<MatchmakingFailed>();
    app
}

/// Two players, each its own Bevy app with [`MatchmakerPlugin`] (two clients in one page in
/// the browser), `find_match` in the duel profile of the emulator's matchmaker (no
/// organisation token, no gateway): both see `MATCH_FOUND`, then `HOST_ASSIGNED` with one and
/// the same assignment (one server), each with its own ticket. Returns both assignments.
pub async fn two_players_land_on_one_server(setup: &Setup) -> [HostAssigned; 2] {
    let mut players = [
        matchmaker(&setup.matchmaker, &setup.matchmaker_token),
        matchmaker(&setup.matchmaker, &setup.matchmaker_token),
    ];
    let searches = players
        .each_mut()
        .map(|p| p.search(|mm| mm.find_match(DUEL_PROFILE, json!({}))));
    until_all(&mut players, "both players' outcomes", LIMIT, |players| {
        players.iter().all(|p| {
            seen_count::<HostAssigned>(p.app.world())
                + seen_count::<MatchmakingCancelled>(p.app.world())
                + seen_count::<MatchmakingFailed>(p.app.world())
                > 0
        })
    })
    .await;
    let assigned = players.each_ref().map(|player| {
        assert_eq!(player.seen::<MatchmakingFailed>(), [], "a search failed");
        assert_eq!(
            player.seen::<MatchmakingCancelled>(),
            [],
            "a search was cancelled"
        );
        assert_eq!(player.seen::<MatchFound>().len(), 1, "MATCH_FOUND, once");
        let assigned = player.seen::<HostAssigned>();
        assert_eq!(assigned.len(), 1, "{assigned:?}");
        assigned[0].clone()
    });
    for (player, search) in players.iter().zip(searches) {
        let assigned = &player.seen::<HostAssigned>()[0];
        assert_eq!(assigned.entity, search);
        let state = player
            .app
            .world()
            .get::<Matchmaking>(search)
            .expect("the search entity stays");
        assert_eq!(
            state.assignment(),
            Some(&assigned.assignment),
            "kept on the entity"
        );
        assert!(
            player.app.world().get::<Assigned>(search).is_some(),
            "phase marker"
        );
    }
    let [a, b] = &assigned;
    assert_eq!(a.assignment, b.assignment, "one server for both");
    let address = a
        .address("gameport")
        .expect("the assignment names `gameport`");
    assert!(!address.host.is_empty() && address.port != 0, "{address:?}");
    assert!(
        a.ticket_id.is_some() && b.ticket_id.is_some(),
        "{a:?} {b:?}"
    );
    assert_ne!(a.ticket_id, b.ticket_id, "each player has its own ticket");
    assert_ne!(a.team_id, b.team_id, "a duel: one team each");
    assigned
}

/// In the browser: a matchmaker whose `allowed_cors_origins` lists only near misses of the
/// page's origin (the host alone, `localhost`, another scheme, no port, a trailing slash) is
/// refused by the browser's CORS check. `find_match` ends at once, with a typed
/// [`MatchmakingFailed`] (a transport error: the browser gives no answer to read), never a
/// search left hanging; the token is in no error. The matchmaker that allows the page answers
/// it from the same page.
#[cfg(target_arch = "wasm32")]
pub async fn a_matchmaker_refusing_the_origin_fails_typed(setup: &Setup) {
    let mut app = matchmaker(&setup.closed_matchmaker, &setup.closed_matchmaker_token);
    let search = app.search(|mm| mm.find_match(DUEL_PROFILE, json!({})));
    app.until("the refused search's outcome", LIMIT, |world| {
        seen_count::<MatchmakingFailed>(world)
            + seen_count::<MatchmakingCancelled>(world)
            + seen_count::<HostAssigned>(world)
            > 0
    })
    .await;
    let failed = app.seen::<MatchmakingFailed>();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].entity, search);
    assert!(
        matches!(failed[0].error, EdgegapError::Transport { .. }),
        "the browser refused the answer, so there is none to read: {:?}",
        failed[0].error
    );
    let shown = format!("{:?} {}", failed[0].error, failed[0].error);
    assert!(
        !shown.contains(&setup.closed_matchmaker_token),
        "the token is in the error: {shown}"
    );
    let state = app.app.world().get::<Matchmaking>(search).expect("kept");
    assert!(state.is_over(), "{state:?}");
    assert!(
        app.app.world().get::<Unmatched>(search).is_some(),
        "phase marker"
    );
    assert_eq!(app.seen::<MatchmakingCancelled>(), []);
    assert_eq!(app.seen::<MatchFound>(), []);

    let mut app = matchmaker(&setup.matchmaker, &setup.matchmaker_token);
    app.collect::<EdgegapResponse<GetMonitor>>();
    app.search(|mm| mm.monitor());
    app.until("the allowed matchmaker's monitor", LIMIT, |world| {
        seen_count::<EdgegapResponse<GetMonitor>>(world) > 0
    })
    .await;
    let monitor = app.seen::<EdgegapResponse<GetMonitor>>();
    assert!(monitor[0].result.is_ok(), "{monitor:?}");
}

/// The fault server's counters for `name` (`requests`, `closed_early`), or a named probe
/// (`closed-upstream`: deploys the closed gateway's emulator received).
pub async fn probe(setup: &Setup, name: &str) -> Value {
    let request = HttpRequest {
        method: Method::Get,
        url: format!("{}/probe/{name}", setup.faults),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let answer = bevy_edgegap::http::send(request)
        .await
        .unwrap_or_else(|e| panic!("probe `{name}`: {e}"));
    assert_eq!(answer.status, 200, "probe `{name}`");
    serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("probe `{name}`: {e}"))
}

/// Polls `probe(name)[field]` until it reaches `at_least`; how long that took.
async fn wait_for_probe(setup: &Setup, name: &str, field: &str, at_least: u64) -> Duration {
    let start = Instant::now();
    loop {
        let value = probe(setup, name).await;
        if value[field].as_u64().is_some_and(|v| v >= at_least) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < LIMIT,
            "probe `{name}`: `{field}` never reached {at_least}: {value}"
        );
        crate::sleep(Duration::from_millis(20)).await;
    }
}
