//! `EdgegapWake`: an answer wakes an app whose loop blocks between frames (winit's reactive
//! modes, a server sleeping to its tick), and the frame it wakes delivers the result. Every
//! wait here is bounded by a wall-clock deadline that fails the test.

mod support;

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use bevy_edgegap::api::{EdgegapError, GetStatus};
use bevy_edgegap::client::EdgegapWake;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, matchmaker_config, player_count_rule};
use serde_json::json;
use support::{app, call, collect, config, deploy, game_v1, result_of, seen, simulated_emulator};

/// How long a blocked runner waits for a wake before the test fails: far beyond any answer
/// on loopback.
const WAKE_LIMIT: Duration = Duration::from_secs(30);

/// What the hook records: how often it was called, and a wake not yet taken by the runner.
#[derive(Default)]
struct Woken {
    state: Mutex<(u32, bool)>,
    signal: Condvar,
}

impl Woken {
    /// The hook for this recorder.
    fn hook(self: &Arc<Self>) -> EdgegapWake {
        let woken = Arc::clone(self);
        EdgegapWake::new(move || {
            let mut state = woken.state.lock().unwrap();
            state.0 += 1;
            state.1 = true;
            woken.signal.notify_all();
        })
    }

    /// Times the hook was called.
    fn calls(&self) -> u32 {
        self.state.lock().unwrap().0
    }

    /// Blocks until the hook was called since the last wait (at once if it was); fails the
    /// test with `what` after [`WAKE_LIMIT`].
    fn wait(&self, what: &str) {
        let start = Instant::now();
        let mut state = self.state.lock().unwrap();
        while !state.1 {
            let left = WAKE_LIMIT.saturating_sub(start.elapsed());
            assert!(!left.is_zero(), "never woken within {WAKE_LIMIT:?}: {what}");
            state = self.signal.wait_timeout(state, left).unwrap().0;
        }
        state.1 = false;
    }
}

/// An app on `emu` with a wake hook recording into the returned [`Woken`].
fn woken_app(config: EdgegapConfig) -> (App, Arc<Woken>) {
    let woken = Arc::new(Woken::default());
    let mut app = app(config);
    app.insert_resource(woken.hook());
    collect::<EdgegapResponse<GetStatus>>(&mut app);
    (app, woken)
}

/// The frame after the wake delivers the answer: a runner that blocks until woken sees it.
#[test]
fn an_answer_wakes_the_app_and_the_next_frame_delivers_it() {
    let emu = simulated_emulator();
    let id = deploy(&emu, game_v1());
    let (mut app, woken) = woken_app(config(&emu).with_rate_limits(RateLimits::none()));
    let asked = call(&mut app, move |eg| eg.status(id.as_str()));
    // This frame sends the call; then the runner sleeps until the hook fires.
    app.update();
    woken.wait("the status answer");
    assert!(woken.calls() >= 1);
    app.update();
    let got = seen::<EdgegapResponse<GetStatus>>(&app);
    assert_eq!(got.len(), 1, "the woken frame delivers the result");
    assert_eq!(got[0].entity, asked);
    assert!(got[0].result.is_ok(), "{:?}", got[0].result);
}

/// A burst larger than what the engine holds at once: a runner that runs a frame only when
/// woken still sees every result (no wake is lost between batches, nor when answers refill
/// the engine from the queue), and the hook is called at most once per answer.
#[test]
fn a_runner_that_only_runs_when_woken_sees_every_result_of_a_burst() {
    const CALLS: usize = 300;
    let emu = simulated_emulator();
    let id = deploy(&emu, game_v1());
    let (mut app, woken) = woken_app(
        config(&emu)
            .with_max_in_flight(2)
            .with_rate_limits(RateLimits::none()),
    );
    call(&mut app, move |eg| {
        let first = eg.status(id.as_str());
        for _ in 1..CALLS {
            eg.status(id.as_str());
        }
        first
    });
    app.update();
    while seen::<EdgegapResponse<GetStatus>>(&app).len() < CALLS {
        let delivered = seen::<EdgegapResponse<GetStatus>>(&app).len();
        woken.wait(&format!("{delivered} of {CALLS} results delivered"));
        app.update();
    }
    let got = seen::<EdgegapResponse<GetStatus>>(&app);
    assert_eq!(got.len(), CALLS);
    assert!(got.iter().all(|r| r.result.is_ok()));
    let calls = woken.calls() as usize;
    assert!(
        (1..=CALLS).contains(&calls),
        "{calls} wakes for {CALLS} answers"
    );
}

/// A call refused before sending (no token) resolves on the next frame: the hook is called
/// for it at once, from the game's thread.
#[test]
fn a_call_refused_before_sending_wakes_the_app_too() {
    let (mut app, woken) = woken_app(EdgegapConfig::new("http://127.0.0.1:9", ""));
    let asked = call(&mut app, |eg| eg.status("0123456789ab"));
    woken.wait("the refused call");
    app.update();
    let got = seen::<EdgegapResponse<GetStatus>>(&app);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].entity, asked);
    assert!(matches!(got[0].result, Err(EdgegapError::Config(_))));
}

/// A hook that panics on the HTTP worker costs the wake only: the answer still arrives with
/// the next frames, and the single worker lives on to answer the next call.
#[test]
fn a_hook_that_panics_loses_neither_the_answer_nor_the_worker() {
    let emu = simulated_emulator();
    let id = deploy(&emu, game_v1());
    let mut app = app(config(&emu)
        .with_max_in_flight(1)
        .with_deadline(Duration::from_secs(5))
        .with_rate_limits(RateLimits::none()));
    app.insert_resource(EdgegapWake::new(|| panic!("a hook that panics")));
    for _ in 0..3 {
        let id = id.clone();
        let asked = call(&mut app, move |eg| eg.status(id.as_str()));
        let result = result_of::<GetStatus>(&mut app, asked);
        assert!(result.is_ok(), "{result:?}");
    }
}

/// Without the resource nothing is called and results arrive with frames, as before; removing
/// it stops the calls for what is sent afterwards.
#[test]
fn without_a_hook_results_arrive_with_frames() {
    let emu = simulated_emulator();
    let id = deploy(&emu, game_v1());
    let (mut app, woken) = woken_app(config(&emu).with_rate_limits(RateLimits::none()));
    let first = id.clone();
    let asked = call(&mut app, move |eg| eg.status(first.as_str()));
    assert!(result_of::<GetStatus>(&mut app, asked).is_ok());
    // The worker calls the hook right after handing the answer over: wait for that call.
    woken.wait("the first answer");
    assert_eq!(woken.calls(), 1, "one answer, one call");
    app.world_mut().remove_resource::<EdgegapWake>();
    let asked = call(&mut app, move |eg| eg.status(id.as_str()));
    assert!(result_of::<GetStatus>(&mut app, asked).is_ok());
    assert_eq!(woken.calls(), 1, "no hook, no call");
}

/// The matchmaker's own transport wakes the app too: a matchmaker-only app whose runner runs a
/// frame only when woken sees its search join a group.
#[test]
fn the_matchmaker_transport_wakes_the_app_too() {
    let rules = json!({ "match_size": player_count_rule(1, 2, 2) });
    let config = matchmaker_config("duo", ("game", "v1"), rules, json!({})).to_string();
    let emu = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .matchmaker(&config)
        .matchmaker_token("mm-wake-token")
        .matchmaker_manual_clock()
        .start()
        .expect("the emulator starts");
    let woken = Arc::new(Woken::default());
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(MatchmakerPlugin::new(
            MatchmakerConfig::new(emu.matchmaker_url(), emu.matchmaker_token())
                .with_rate_limit(None),
        ))
        .insert_resource(woken.hook());
    app.finish();
    collect::<GroupJoined>(&mut app);
    let searching = app
        .world_mut()
        .run_system_once(|mut matchmaker: Matchmaker| matchmaker.find_match("duo", json!({})))
        .expect("the matchmaker plugin is there");
    app.update();
    while seen::<GroupJoined>(&app).is_empty() {
        woken.wait("the matchmaker's answer");
        app.update();
    }
    assert_eq!(seen::<GroupJoined>(&app)[0].entity, searching);
}
