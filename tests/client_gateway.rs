//! Gateway mode (`EdgegapConfig::gateway`) against a scripted stub on loopback: the player's
//! token as `Bearer`, an `Idempotency-Key` on every deploy (the same on a re-send, different
//! between deploys), deploys without `users`, and calls the gateway does not serve refused
//! at once with `Config`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::api::{
    AwaitStatusChange, DeployRequest, EdgegapError, GetContainerLogs, ListDeployments,
    ListLocations,
};
use bevy_edgegap::prelude::*;
use support::stub::{Answer, Stub, status_body};
use support::{app, ask, call, collect, quick, run_until, seen, seen_in};

const LIMIT: Duration = Duration::from_secs(15);
const PLAYER: &str = "player.jwt.token";

fn gateway_config(stub: &Stub) -> EdgegapConfig {
    quick(EdgegapConfig::gateway(stub.base_url.clone(), PLAYER))
}

/// A gateway: the first deploy is answered `503` (so it is re-sent), later deploys `202`
/// with ids `gw1`, `gw2`, …; status READY until a stop, then TERMINATED.
fn gateway() -> Stub {
    let stopped = Arc::new(AtomicBool::new(false));
    Stub::start(move |request, before| {
        let deploys_before = before
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/v2/deployments")
            .count();
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/v2/deployments") if deploys_before == 0 => {
                Answer::json(503, r#"{"message":"upstream busy"}"#).header("Retry-After", "0")
            }
            ("POST", "/v2/deployments") => {
                Answer::json(202, format!(r#"{{"request_id":"gw{deploys_before}"}}"#))
            }
            ("GET", path) if path.starts_with("/v1/status/") => {
                let id = path["/v1/status/".len()..]
                    .split('?')
                    .next()
                    .unwrap_or_default();
                let status = if stopped.load(Ordering::SeqCst) {
                    "TERMINATED"
                } else {
                    "READY"
                };
                Answer::json(200, status_body(id, status))
            }
            ("DELETE", path) if path.starts_with("/v1/stop/") => {
                stopped.store(true, Ordering::SeqCst);
                Answer::json(202, r#"{"message":"will be processed soon"}"#)
            }
            _ => Answer::json(404, r#"{"message":"not served"}"#),
        }
    })
}

#[test]
fn deploy_track_and_stop_through_the_gateway_with_a_bearer_token_and_a_stable_key() {
    let stub = gateway();
    let mut app = app(gateway_config(&stub));
    collect::<DeploymentReady>(&mut app);
    collect::<DeploymentTerminated>(&mut app);
    // No `users`: the gateway fills them from the caller's address.
    let deployment = call(&mut app, |e| e.deploy(DeployRequest::new("game", "v1")));
    run_until(&mut app, "READY through the gateway", LIMIT, |w| {
        seen_in::<DeploymentReady>(w).len() == 1
    });
    let ready = seen::<DeploymentReady>(&app)[0].clone();
    assert_eq!(ready.entity, deployment);
    assert_eq!(ready.request_id.as_str(), "gw1");
    call(&mut app, move |e| e.stop_deployment(deployment));
    run_until(&mut app, "TERMINATED through the gateway", LIMIT, |w| {
        seen_in::<DeploymentTerminated>(w).len() == 1
    });

    let requests = stub.seen();
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {PLAYER}").as_str()),
            "{} {}",
            request.method,
            request.path
        );
    }
    let deploys: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(deploys.len(), 2, "the 503 deploy is re-sent once");
    let key = deploys[0]
        .header("idempotency-key")
        .expect("a deploy carries an Idempotency-Key");
    assert!(!key.is_empty() && key.len() <= 64, "{key}");
    assert!(key.bytes().all(|b| b.is_ascii_graphic()), "{key}");
    assert_eq!(
        deploys[1].header("idempotency-key"),
        Some(key),
        "a re-send carries the same key"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path == "/v1/status/gw1")
    );
    assert!(
        requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path == "/v1/stop/gw1")
    );
    // Only deploys carry a key.
    assert!(
        requests
            .iter()
            .filter(|r| r.method != "POST")
            .all(|r| r.header("idempotency-key").is_none())
    );
}

#[test]
fn every_deploy_gets_its_own_key() {
    let stub = gateway();
    let mut app = app(gateway_config(&stub));
    collect::<DeploymentCreated>(&mut app);
    for _ in 0..3 {
        call(&mut app, |e| e.deploy(DeployRequest::new("game", "v1")));
    }
    run_until(&mut app, "three deployments", LIMIT, |w| {
        seen_in::<DeploymentCreated>(w).len() == 3
    });
    let mut keys: Vec<String> = stub
        .seen()
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.header("idempotency-key").map(str::to_owned))
        .collect();
    // One of the three was sent twice (the first answer is a 503), with the same key.
    assert_eq!(keys.len(), 4);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "three deploys, three keys");
}

#[test]
fn calls_the_gateway_does_not_serve_resolve_at_once_with_config() {
    let stub = gateway();
    let mut app = app(gateway_config(&stub));
    let list = ask::<ListDeployments>(&mut app, |e| e.list_deployments(ListDeployments::default()));
    let locations = ask::<ListLocations>(&mut app, |e| e.locations(ListLocations::default()));
    let logs = ask::<GetContainerLogs>(&mut app, |e| e.container_logs("gw1"));
    for error in [list.unwrap_err(), locations.unwrap_err(), logs.unwrap_err()] {
        let EdgegapError::Config(message) = &error else {
            panic!("expected Config, got {error:?}");
        };
        assert!(message.contains("gateway"), "{message}");
        assert!(!message.contains(PLAYER));
    }
    assert!(stub.seen().is_empty(), "nothing reached the gateway");
}

#[test]
fn direct_mode_still_requires_users_and_sends_the_api_token() {
    let stub = gateway();
    let mut app = app(EdgegapConfig::new(stub.base_url.clone(), "org-token"));
    let no_users = ask::<DeployRequest>(&mut app, |e| e.deploy(DeployRequest::new("game", "v1")));
    assert!(matches!(no_users, Err(EdgegapError::Invalid { .. })));
    let list = ask::<ListDeployments>(&mut app, |e| e.list_deployments(ListDeployments::default()));
    assert!(list.is_err(), "the stub answers 404 to a list");
    let requests = stub.seen();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), Some("token org-token"));
    assert_eq!(requests[0].header("idempotency-key"), None);
}

#[test]
fn an_uncertain_deploy_through_the_gateway_is_re_sent_with_the_same_key_and_adopted() {
    // The first deploy is answered only after the client's deadline; the gateway answers a
    // repeated key with the same request_id and creates nothing new.
    let created = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let servers = Arc::clone(&created);
    let stub = Stub::start(move |request, before| match request.method.as_str() {
        "POST" => {
            let key = request.header("idempotency-key").unwrap_or("").to_owned();
            let mut servers = servers.lock().unwrap();
            if !servers.contains(&key) {
                servers.push(key);
            }
            if before.iter().all(|r| r.method != "POST") {
                std::thread::sleep(Duration::from_millis(600));
            }
            Answer::json(202, r#"{"request_id":"gw1"}"#)
        }
        _ => Answer::json(200, status_body("gw1", "READY")),
    });
    let mut app = app(gateway_config(&stub).with_deadline(Duration::from_millis(300)));
    collect::<EdgegapResponse<DeployRequest>>(&mut app);
    collect::<DeploymentCreated>(&mut app);
    let deployment = call(&mut app, |e| e.deploy(DeployRequest::new("game", "v1")));
    run_until(&mut app, "adopted after a re-send", LIMIT, |w| {
        !seen_in::<DeploymentCreated>(w).is_empty()
    });
    assert_eq!(seen::<DeploymentCreated>(&app)[0].entity, deployment);
    assert_eq!(
        seen::<EdgegapResponse<DeployRequest>>(&app)[0].result,
        Err(EdgegapError::Timeout),
        "the deploy call itself resolved once, with its own answer"
    );
    assert_eq!(seen::<EdgegapResponse<DeployRequest>>(&app).len(), 1);
    let deploys: Vec<_> = stub
        .seen()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(deploys.len() >= 2, "re-sent");
    assert!(
        deploys
            .iter()
            .all(|r| r.header("idempotency-key") == deploys[0].header("idempotency-key")),
        "every re-send carries the same key"
    );
    assert_eq!(created.lock().unwrap().len(), 1, "one server");
}

/// The status requests `stub` saw for `id`, in order: `(since, wait)` from the query (`None`
/// for a plain poll).
fn status_polls(stub: &Stub, id: &str) -> Vec<Option<(String, String)>> {
    let path = format!("/v1/status/{id}");
    stub.seen()
        .iter()
        .filter(|r| r.method == "GET" && r.path.split('?').next() == Some(path.as_str()))
        .map(|r| {
            let query = r.path.split_once('?')?.1;
            let value = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .map(str::to_owned)
            };
            Some((value("since")?, value("wait")?))
        })
        .collect()
}

/// A gateway that holds long-polls: `gw1` is DEPLOYING, turns READY 200 ms into a long-poll
/// that knows DEPLOYING, and a long-poll that knows READY is held 600 ms (the stub's short
/// stand-in for the 25 s hold) before it is answered unchanged; TERMINATED once stopped.
fn holding_gateway() -> Stub {
    let stopped = Arc::new(AtomicBool::new(false));
    Stub::start(move |request, _| {
        let (path, query) = request
            .path
            .split_once('?')
            .unwrap_or((request.path.as_str(), ""));
        match (request.method.as_str(), path) {
            ("POST", "/v2/deployments") => Answer::json(202, r#"{"request_id":"gw1"}"#),
            ("GET", "/v1/status/gw1") => {
                if stopped.load(Ordering::SeqCst) {
                    return Answer::json(200, status_body("gw1", "TERMINATED"));
                }
                if query.contains("since=Status.DEPLOYING") {
                    std::thread::sleep(Duration::from_millis(200));
                    Answer::json(200, status_body("gw1", "READY"))
                } else if query.contains("since=Status.READY") {
                    std::thread::sleep(Duration::from_millis(600));
                    let now = if stopped.load(Ordering::SeqCst) {
                        "TERMINATED"
                    } else {
                        "READY"
                    };
                    Answer::json(200, status_body("gw1", now))
                } else {
                    Answer::json(200, status_body("gw1", "DEPLOYING"))
                }
            }
            ("DELETE", "/v1/stop/gw1") => {
                stopped.store(true, Ordering::SeqCst);
                Answer::json(202, r#"{"message":"will be processed soon"}"#)
            }
            _ => Answer::json(404, r#"{"message":"not served"}"#),
        }
    })
}

/// In gateway mode a deployment seen once is followed by long-poll: each poll names the
/// status the client knows and asks the gateway to hold it, so READY arrives as soon as the
/// gateway answers, and a READY deployment costs one request per hold, not one per interval.
#[test]
fn deployments_are_followed_by_long_poll_through_the_gateway() {
    let stub = holding_gateway();
    let mut app = app(gateway_config(&stub));
    collect::<DeploymentReady>(&mut app);
    collect::<DeploymentTerminated>(&mut app);
    let deployment = call(&mut app, |e| e.deploy(DeployRequest::new("game", "v1")));
    run_until(&mut app, "READY by long-poll", LIMIT, |w| {
        seen_in::<DeploymentReady>(w).len() == 1
    });
    let polls = status_polls(&stub, "gw1");
    assert_eq!(polls[0], None, "the first poll learns the status at once");
    assert_eq!(
        polls[1],
        Some(("Status.DEPLOYING".to_owned(), "25".to_owned())),
        "then it waits for a change from what it knows"
    );
    // While READY: held polls, one after the other, each held 600 ms by the stub. Interval
    // polls (20 ms growing to 100 ms in this config) would come five or more times as often.
    let before = status_polls(&stub, "gw1").len();
    let ready_since = Instant::now();
    run_until(&mut app, "three polls while READY", LIMIT, |_| {
        status_polls(&stub, "gw1").len() >= before + 3
    });
    let ready_for = ready_since.elapsed();
    let polls = status_polls(&stub, "gw1");
    let during = &polls[before..];
    let one_per_hold = ready_for.as_millis() / 600 + 2;
    assert!(
        during.len() as u128 <= one_per_hold,
        "{} polls in {ready_for:?} of READY, more than one per 600 ms hold: {during:?}",
        during.len()
    );
    assert!(
        during
            .iter()
            .all(|p| p.as_ref().is_some_and(|(since, _)| since == "Status.READY")),
        "{during:?}"
    );
    // A stop is still seen: the held poll answers TERMINATED.
    call(&mut app, move |e| e.stop_deployment(deployment));
    run_until(&mut app, "TERMINATED", LIMIT, |w| {
        seen_in::<DeploymentTerminated>(w).len() == 1
    });
}

/// A gateway that does not hold (it answers at once, unchanged) is polled at the configured
/// intervals, never in a tight loop; `long_poll: None` turns long-polls off.
#[test]
fn a_gateway_that_does_not_hold_is_polled_at_intervals() {
    for long_poll in [Some(AwaitStatusChange::MAX_WAIT), None] {
        let stub = gateway();
        let mut app = app(gateway_config(&stub).with_long_poll(long_poll));
        collect::<DeploymentReady>(&mut app);
        call(&mut app, |e| e.deploy(DeployRequest::new("game", "v1")));
        run_until(&mut app, "READY", LIMIT, |w| {
            seen_in::<DeploymentReady>(w).len() == 1
        });
        let before = status_polls(&stub, "gw1").len();
        let ready_since = Instant::now();
        run_until(&mut app, "ten polls while READY", LIMIT, |_| {
            status_polls(&stub, "gw1").len() >= before + 10
        });
        let ready_for = ready_since.elapsed();
        let polls = status_polls(&stub, "gw1");
        let during = &polls[before..];
        // 20 ms growing to 100 ms apart, never closer: not a tight loop.
        let one_per_interval = ready_for.as_millis() / 20 + 2;
        assert!(
            during.len() as u128 <= one_per_interval,
            "{long_poll:?}: {} polls in {ready_for:?}, more than one per 20 ms",
            during.len()
        );
        assert_eq!(
            during.iter().any(Option::is_some),
            long_poll.is_some(),
            "{long_poll:?}: {during:?}"
        );
    }
}

/// After a failed poll the next one is plain, so a gateway that fails long-polls (or hangs
/// them) is found out at the pace of plain polls; long-polls resume after a success.
#[test]
fn after_a_failed_long_poll_the_next_poll_is_plain() {
    let stub = Stub::start(
        |request, _| match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/v2/deployments") => Answer::json(202, r#"{"request_id":"gw1"}"#),
            ("GET", "/v1/status/gw1") => Answer::json(200, status_body("gw1", "READY")),
            ("GET", path) if path.starts_with("/v1/status/gw1?") => {
                Answer::json(503, r#"{"message":"busy"}"#).header("Retry-After", "0")
            }
            _ => Answer::json(404, r#"{"message":"not served"}"#),
        },
    );
    let mut app = app(gateway_config(&stub));
    collect::<DeploymentReady>(&mut app);
    call(&mut app, |e| e.deploy(DeployRequest::new("game", "v1")));
    run_until(&mut app, "READY", LIMIT, |w| {
        seen_in::<DeploymentReady>(w).len() == 1
    });
    run_until(&mut app, "a few failed long-polls", LIMIT, |_| {
        status_polls(&stub, "gw1")
            .iter()
            .filter(|p| p.is_some())
            .count()
            >= 3
    });
    let polls = status_polls(&stub, "gw1");
    assert!(
        polls.windows(2).all(|w| w[0].is_none() || w[1].is_none()),
        "a long-poll right after a failed one: {polls:?}"
    );
}
