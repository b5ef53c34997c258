//! Nobody holds the gateway's sockets: half-sent headers, silent connections and idle
//! keep-alive connections are closed by the gateway; a request that is not held by long-poll is
//! answered within the request timeout; held long-polls are capped per player and in all; open
//! connections are capped. Timeouts are short ones set in the config; every wait for the
//! gateway to act has a deadline.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use edgegap_emulator::{Fault, FaultKind, Route};
use edgegap_gateway::{GatewayBuilder, GatewayConfig, GatewayHandle};
use support::*;

/// How long a test waits for the gateway to close a connection whose timeout is far shorter.
const CLOSE_DEADLINE: Duration = Duration::from_secs(10);

/// The gateway `builder` makes, its config changed by `tweak` first (short timeouts, caps).
fn start(builder: GatewayBuilder, tweak: impl FnOnce(&mut GatewayConfig)) -> GatewayHandle {
    let mut config = builder.config().clone();
    tweak(&mut config);
    GatewayBuilder::from_config(config).start().unwrap()
}

#[test]
fn half_sent_headers_and_silent_connections_are_closed() {
    let emu = emulator();
    let gw = start(builder(&emu), |config| {
        config.http.header_read_timeout_ms = 300;
    });
    let mut half = connect(&gw);
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n")
        .unwrap();
    let mut silent = connect(&gw);
    assert!(
        closed_by_gateway(&mut half, CLOSE_DEADLINE),
        "half-sent headers kept their connection open"
    );
    assert!(
        closed_by_gateway(&mut silent, CLOSE_DEADLINE),
        "a silent connection stayed open"
    );
    // A whole request in time is answered as ever.
    let (code, _) = raw_request(&gw, "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n");
    assert_eq!(code, 200);
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let emu = emulator();
    let gw = start(builder(&emu), |config| {
        config.http.idle_timeout_ms = 300;
        config.http.header_read_timeout_ms = 60_000;
    });
    let mut idle = connect(&gw);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut idle).0, 200);
    assert!(
        closed_by_gateway(&mut idle, CLOSE_DEADLINE),
        "an idle keep-alive connection stayed open"
    );
}

#[test]
fn a_request_not_held_is_answered_within_the_request_timeout() {
    let emu = emulator();
    let gw = start(builder(&emu).max_live_per_player(2), |config| {
        config.http.request_timeout_ms = 500;
        config.upstream.timeout_secs = 120;
    });
    let alice = token("alice");
    let id = deploy(&gw, &alice, None).request_id();
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));
    // Edgegap hangs on the status read (through its list, or by itself): the player still
    // gets an answer, a retryable one.
    for read in [Route::ListDeployments, Route::Status] {
        emu.add_fault(Fault::new(read, FaultKind::Latency(Duration::from_secs(60))).times(1));
    }
    let slow = status(&gw, &alice, &id);
    assert_retry_later(&slow, 503);

    // A deploy cut off by the timeout still finishes: its retry (same key) answers the
    // server it made, and makes no second one.
    emu.add_fault(Fault::new(Route::DeployV2, FaultKind::Latency(Duration::from_secs(3))).times(1));
    let first = deploy(&gw, &alice, Some("slow-deploy"));
    assert_eq!(first.status, 503, "{}", first.text);
    let deadline = Instant::now() + Duration::from_secs(30);
    let retry = loop {
        let retry = deploy(&gw, &alice, Some("slow-deploy"));
        if retry.status != 503 || Instant::now() > deadline {
            break retry;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(emu.deployments().len(), 2, "a second server for one deploy");
    assert!(
        emu.deployments()
            .iter()
            .any(|d| d.request_id == retry.request_id())
    );
}

#[test]
fn held_long_polls_are_capped_per_player_and_in_all() {
    let emu = emulator();
    let gw = start(builder(&emu).allow(APP, GATED), |config| {
        config.http.max_held = 10; // per player: the default, 8
    });
    let (alice, bob) = (token("alice"), token("bob"));
    let mine = deploy_gated(&gw, &alice).request_id();
    let bobs = deploy_gated(&gw, &bob).request_id();
    for id in [&mine, &bobs] {
        assert!(emu.wait_for_status(id, "Status.DEPLOYING", Duration::from_secs(10)));
    }
    let since = "since=Status.DEPLOYING&wait=25";
    std::thread::scope(|scope| {
        let mut held: Vec<_> = (0..8)
            .map(|_| hold(scope, &gw, &alice, &mine, since))
            .collect();
        // Alice's ninth is answered at once, with the status as it is.
        let ninth = status_query(&gw, &alice, &mine, since);
        assert_eq!(current(&ninth), "Status.DEPLOYING");
        assert_eq!(gw.held_requests(), 8);
        // Bob has his own, until the gateway's cap (10).
        held.push(hold(scope, &gw, &bob, &bobs, since));
        held.push(hold(scope, &gw, &bob, &bobs, since));
        let over = status_query(&gw, &bob, &bobs, since);
        assert_eq!(current(&over), "Status.DEPLOYING");
        assert_eq!(gw.held_requests(), 10);
        // Stopping answers every held request at once.
        gw.shutdown();
        for h in held {
            assert_eq!(h.join().unwrap(), 200);
        }
    });
}

/// Sends a long-poll on another thread and waits until the gateway holds it.
fn hold<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    gw: &'scope GatewayHandle,
    token: &'scope str,
    id: &'scope str,
    query: &'scope str,
) -> std::thread::ScopedJoinHandle<'scope, u16> {
    let before = gw.held_requests();
    let held = scope.spawn(move || status_query(gw, token, id, query).status);
    wait_until("one more held request", || gw.held_requests() > before);
    held
}

#[test]
fn open_connections_are_capped() {
    let emu = emulator();
    let gw = start(builder(&emu), |config| {
        config.http.max_connections = 2;
        config.http.header_read_timeout_ms = 60_000;
        config.http.idle_timeout_ms = 60_000;
    });
    let request = b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";
    let mut first = connect(&gw);
    let mut second = connect(&gw);
    for connection in [&mut first, &mut second] {
        connection.write_all(request).unwrap();
        assert_eq!(read_answer(connection).0, 200);
    }
    // Both stay open (keep-alive): a third connection waits for one of them to go.
    let third = std::thread::spawn({
        let mut third = connect(&gw);
        move || {
            third.write_all(request).unwrap();
            read_answer(&mut third).0
        }
    });
    // The gateway keeps serving the connections it holds meanwhile.
    for _ in 0..3 {
        second.write_all(request).unwrap();
        assert_eq!(read_answer(&mut second).0, 200);
    }
    assert!(
        !third.is_finished(),
        "a third connection was served while two were open (max_connections = 2)"
    );
    drop(first);
    wait_until("the third connection to be served", || third.is_finished());
    assert_eq!(third.join().unwrap(), 200);
}
