//! Keep-alive: calls reuse the engine's connections instead of opening one each. Counted with
//! the emulator's accepted-connection counter.

mod support;

use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::GetStatus;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Route};
use support::{app, call, collect, config, run_until, seen_in};

const LIMIT: Duration = Duration::from_secs(60);

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .lifecycle_step(Duration::ZERO)
        .without_rate_limits()
        .start()
        .unwrap()
}

/// A client of `emu` with at most `cap` calls in flight and no rate limits, collecting the
/// status answers ([`answered`]).
fn counting_app(emu: &EmulatorHandle, cap: usize) -> App {
    let mut app = app(config(emu)
        .with_max_in_flight(cap)
        .with_rate_limits(RateLimits::none()));
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    app
}

fn answered(world: &World) -> usize {
    seen_in::<EdgegapResponse<GetStatus>>(world).len()
}

#[test]
fn a_thousand_sequential_calls_open_at_most_max_in_flight_connections() {
    const CAP: usize = 8;
    let emu = emulator();
    let mut app = counting_app(&emu, CAP);
    for i in 1..=1000 {
        // One call at a time: the next is issued once the previous one answered.
        call(&mut app, |eg| eg.status("a69f8e3e0555"));
        run_until(&mut app, "the call's answer", LIMIT, |w| answered(w) >= i);
    }
    assert_eq!(emu.request_count(Route::Status), 1000);
    let opened = emu.connections_accepted();
    println!("1000 sequential calls opened {opened} connection(s)");
    assert!(
        (1..=CAP).contains(&opened),
        "{opened} connections for 1000 sequential calls (cap {CAP})"
    );
}

#[test]
fn a_burst_over_the_cap_opens_at_most_the_cap() {
    const CAP: usize = 4;
    let emu = emulator();
    let mut app = counting_app(&emu, CAP);
    call(&mut app, |eg| {
        let mut last = Entity::PLACEHOLDER;
        for _ in 0..1000 {
            last = eg.status("a69f8e3e0555");
        }
        last
    });
    run_until(&mut app, "1000 answers", LIMIT, |w| answered(w) >= 1000);
    let opened = emu.connections_accepted();
    println!("1000 calls, {CAP} in flight, opened {opened} connection(s)");
    assert!(
        (1..=CAP).contains(&opened),
        "{opened} connections for 1000 calls (cap {CAP})"
    );
}
