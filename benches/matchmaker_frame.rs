//! Per-frame cost of the matchmaker client with 1,000 searches at once: the emulator's
//! matchmaker holds 1,000 searching players (a profile nobody can fill), the client polls
//! them within its rate budget (default 10 requests/s), and each frame is timed against an
//! app without the plugin. Prints its figures.
//!
//! `cargo bench -p bevy_edgegap --bench matchmaker_frame`

use std::time::{Duration, Instant};

use bevy::ecs::schedule::SingleThreadedExecutor;
use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator};
use serde_json::json;

const SEARCHES: usize = 1000;
const FRAMES: usize = 2000;

fn single_threaded(mut app: App) -> App {
    for (_, schedule) in app.world_mut().resource_mut::<Schedules>().iter_mut() {
        schedule.set_executor(SingleThreadedExecutor::new());
    }
    app
}

/// Mean and worst frame over `FRAMES` frames.
fn time_frames(app: &mut App) -> (Duration, Duration) {
    let mut worst = Duration::ZERO;
    let start = Instant::now();
    for _ in 0..FRAMES {
        let frame = Instant::now();
        app.update();
        worst = worst.max(frame.elapsed());
    }
    (start.elapsed() / FRAMES as u32, worst)
}

fn main() {
    // Criterion's arguments (`--bench`) are ignored: this bench prints its own figures.
    let config = json!({
        "version": "3.3.2",
        "profiles": { "crowd": {
            "ticket_expiration_period": "1h",
            "ticket_removal_period": "1m",
            "group_inactivity_removal_period": "1h",
            "application": { "name": "game", "version": "v1" },
            "rules": { "initial": { "match_size": { "type": "player_count",
                "attributes": { "team_count": 2, "min_team_size": 2000, "max_team_size": 2000 } } },
                "expansions": {} },
        }},
    });
    let emu = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1"))
        .matchmaker(config.to_string())
        .start()
        .expect("the emulator starts");

    let mut bare = App::new();
    bare.add_plugins(MinimalPlugins);
    bare.finish();
    let mut bare = single_threaded(bare);
    let (bare_mean, bare_worst) = time_frames(&mut bare);

    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(MatchmakerPlugin::new(MatchmakerConfig::new(
            emu.matchmaker_url(),
            emu.matchmaker_token(),
        )));
    app.finish();
    let mut app = single_threaded(app);
    let (idle_mean, _) = time_frames(&mut app);
    let id = app.world_mut().register_system(|mut mm: Matchmaker| {
        for _ in 0..SEARCHES {
            mm.find_match("crowd", json!({}));
        }
    });
    app.world_mut().run_system(id).expect("runs");
    let start = Instant::now();
    let mut searching = 0;
    while searching < SEARCHES {
        app.update();
        searching = app
            .world_mut()
            .query_filtered::<(), With<Searching>>()
            .iter(app.world())
            .count();
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "not all searching"
        );
    }
    let joined = start.elapsed();
    let (mean, worst) = time_frames(&mut app);
    println!("matchmaker_frame: {SEARCHES} searches, {FRAMES} frames each, single-threaded");
    println!("  minimal_plugins           mean {bare_mean:>10.2?}  worst {bare_worst:>10.2?}");
    println!("  matchmaker idle           mean {idle_mean:>10.2?}");
    println!("  {SEARCHES} searching (polled)  mean {mean:>10.2?}  worst {worst:>10.2?}");
    println!(
        "  {SEARCHES} groups created and searching in {joined:.2?} (rate budget 10/s for polls only)"
    );
}
