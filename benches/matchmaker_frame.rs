//! Per-frame cost of the matchmaker client: idle, and with 1,000 searches at once, with Bevy's
//! multi-threaded executor and with the single-threaded one, against an app without the
//! plugin. Prints its figures.
//!
//! A stub matchmaker on loopback (`tests/support/stub.rs`) holds 1,000 searching players: it
//! answers every create and poll with `SEARCHING`. (The emulator's matchmaker runs a matching
//! pass over every searching group on each request, so with 1,000 searching groups it serves
//! about two requests a second: too slow to set this up.) The searches are made without a rate
//! limit, then polled within the client's default budget (10 requests a second): every poll
//! is overdue and waits for the budget, the busiest steady state. The apps run in alternated
//! blocks of frames, as in `client_frame`.
//!
//! `cargo bench -p bevy_edgegap --bench matchmaker_frame`

#[path = "../tests/support/stub.rs"]
#[expect(dead_code, reason = "the bench answers every request alike")]
mod stub;
#[expect(
    dead_code,
    reason = "the client benches' emulator: this bench runs a stub matchmaker"
)]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use serde_json::json;
use stub::{Answer, Stub};
use support::{Executor, alternate, app_with, bare_app, print_rows, start_until};

const ROUNDS: usize = 31;
const SEARCHES: usize = 1000;

fn matchmaker_app(stub: &Stub, executor: Executor) -> App {
    let mut app = app_with(|app| {
        app.add_plugins(MatchmakerPlugin::new(MatchmakerConfig::new(
            stub.base_url.clone(),
            "mm-token",
        )));
    });
    executor.apply(&mut app);
    app
}

/// An app with `SEARCHES` searches, all searching, polled within the default budget.
fn searching_app(stub: &Stub, executor: Executor) -> (App, Duration) {
    let mut app = matchmaker_app(stub, executor);
    let budget = app.world().resource::<MatchmakerConfig>().rate_limit;
    app.world_mut()
        .resource_mut::<MatchmakerConfig>()
        .rate_limit = None;
    let start = Instant::now();
    let search = |mut matchmaker: Matchmaker| {
        for _ in 0..SEARCHES {
            matchmaker.find_match("crowd", json!({}));
        }
    };
    start_until::<Searching, _>(&mut app, search, "every search searching", SEARCHES);
    let joined = start.elapsed();
    app.world_mut()
        .resource_mut::<MatchmakerConfig>()
        .rate_limit = budget;
    (app, joined)
}

fn main() {
    // Criterion's arguments (`--bench`) are ignored: this bench prints its own figures.
    // `POST /groups` makes member `n` of group `n`; every poll finds it searching.
    let created = AtomicUsize::new(0);
    let stub = Stub::start(move |request, _| {
        let n = match request.path.strip_prefix("/groups/") {
            Some(rest) => rest.split('/').next().unwrap_or_default().to_owned(),
            None => created.fetch_add(1, Ordering::Relaxed).to_string(),
        };
        Answer::json(
            200,
            json!({ "member_id": n, "group_id": n, "is_ready": true, "status": "SEARCHING",
                "ticket_id": n })
            .to_string(),
        )
    });
    println!(
        "matchmaker_frame: median of {ROUNDS} alternated rounds; {SEARCHES} searches polled \
         within the default budget (10/s)"
    );
    for executor in Executor::BOTH {
        let mut bare = bare_app();
        executor.apply(&mut bare);
        let mut idle = matchmaker_app(&stub, executor);
        let (mut searching, joined) = searching_app(&stub, executor);
        let samples = alternate(
            &mut [&mut bare, &mut idle, &mut searching],
            ROUNDS,
            executor.block(),
        );
        print_rows(
            executor,
            &[
                "minimal_plugins",
                "matchmaker plugin, idle",
                "1,000 searching",
            ],
            &samples,
        );
        println!(
            "  {:<16} {SEARCHES} groups created and searching in {joined:.2?} (no rate limit)",
            executor.name()
        );
    }
}
