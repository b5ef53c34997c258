//! A hung API (accepts, never answers) costs no threads and no sockets beyond the in-flight
//! cap: 200 calls with a 150 ms deadline and a cap of 8 all resolve as `Timeout`, and the
//! process's threads and file descriptors grow by at most the cap plus a small constant.
//! Counts, not times.

#![cfg(target_os = "linux")]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::{EdgegapError, GetStatus};
use bevy_edgegap::prelude::*;
use support::raw::{Behaviour, RawServer};
use support::{app, call, collect, run_until, seen, seen_in};

const CAP: usize = 8;
const CALLS: usize = 200;
/// Threads and descriptors allowed on top of the cap. The engine's documented constant is
/// zero (its threads are its workers); this leaves room for a sample taken while the server
/// thread had not yet seen a client close its socket.
const SLACK: usize = 2;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_hung_api_costs_no_threads_or_sockets_beyond_the_cap() {
    let server = RawServer::start(Behaviour::Hang);
    let config = EdgegapConfig::new(server.base_url(), "token")
        .with_deadline(Duration::from_millis(150))
        .with_max_in_flight(CAP)
        .with_rate_limits(RateLimits::none());
    let mut app = app(config);
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    for _ in 0..3 {
        app.update();
    }
    let (threads_before, fds_before) = (threads(), fds());

    call(&mut app, |eg| {
        let mut last = Entity::PLACEHOLDER;
        for _ in 0..CALLS {
            last = eg.status("a69f8e3e0555");
        }
        last
    });
    let (mut max_threads, mut max_client_fds) = (0, 0);
    run_until(
        &mut app,
        "200 timeouts",
        Duration::from_secs(120),
        |world| {
            max_threads = max_threads.max(threads());
            // The server's ends of the connections are in this process too: not the client's.
            max_client_fds =
                max_client_fds.max(fds().saturating_sub(server.held.load(Ordering::SeqCst)));
            seen_in::<EdgegapResponse<GetStatus>>(world).len() >= CALLS
        },
    );

    let results = seen::<EdgegapResponse<GetStatus>>(&app);
    assert_eq!(results.len(), CALLS, "every call resolved once");
    assert!(
        results
            .iter()
            .all(|r| matches!(r.result, Err(EdgegapError::Timeout))),
        "every call timed out: {:?}",
        results
            .iter()
            .find(|r| !matches!(r.result, Err(EdgegapError::Timeout)))
    );
    println!(
        "threads: {threads_before} before, {max_threads} at most; client fds: {fds_before} \
         before, {max_client_fds} at most; connections accepted: {}",
        server.accepted.load(Ordering::SeqCst)
    );
    assert!(
        max_threads <= threads_before + CAP + SLACK,
        "threads grew from {threads_before} to {max_threads} (cap {CAP})"
    );
    assert!(
        max_client_fds <= fds_before + CAP + SLACK,
        "file descriptors grew from {fds_before} to {max_client_fds} (cap {CAP})"
    );
}
