//! What the client benches share: the emulator they call, the single-threaded executor
//! switch, alternated blocks of frames, medians, and the printed table.

use std::time::{Duration, Instant};

use bevy::ecs::schedule::SingleThreadedExecutor;
use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use bevy_edgegap::test_utils::run_until;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle};

/// Which executor an app's schedules run on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Executor {
    /// Bevy's default.
    MultiThreaded,
    /// Every system on the calling thread: less scheduling noise, so the plugin's own cost
    /// shows.
    SingleThreaded,
}

impl Executor {
    pub const BOTH: [Self; 2] = [Self::MultiThreaded, Self::SingleThreaded];

    pub fn name(self) -> &'static str {
        match self {
            Self::MultiThreaded => "multi-threaded",
            Self::SingleThreaded => "single-threaded",
        }
    }

    /// Frames per timed block: about 20–60 ms on a shared 2-core machine.
    pub fn block(self) -> usize {
        match self {
            Self::MultiThreaded => 400,
            Self::SingleThreaded => 4000,
        }
    }

    /// Puts `app`'s schedules on this executor.
    pub fn apply(self, app: &mut App) {
        if self == Self::SingleThreaded {
            for (_, schedule) in app.world_mut().resource_mut::<Schedules>().iter_mut() {
                schedule.set_executor(SingleThreadedExecutor::new());
            }
        }
    }
}

/// Runs `start` once, then frames until `n` entities have `C` (at most 300 s): the calls a
/// bench measures with, all in their steady state.
pub fn start_until<C: Component, M>(
    app: &mut App,
    start: impl IntoSystem<(), (), M>,
    what: &str,
    n: usize,
) {
    app.world_mut().run_system_once(start).expect("runs");
    run_until(app, what, Duration::from_secs(300), |w| {
        w.query_filtered::<(), With<C>>().iter(w).count() == n
    });
}

/// The emulator the client benches call: app version `game`/`v1` with one UDP port, READY at
/// once, no rate limits.
pub fn game_emulator() -> EmulatorHandle {
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .lifecycle_step(Duration::ZERO)
        .without_rate_limits()
        .start()
        .expect("the emulator starts")
}

/// `App::new()` + `MinimalPlugins`, finished.
pub fn bare_app() -> App {
    app_with(|_| {})
}

/// `App::new()` + `MinimalPlugins` + what `add` adds, finished.
pub fn app_with(add: impl FnOnce(&mut App)) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    add(&mut app);
    app.finish();
    app.cleanup();
    app
}

/// Mean frame time over `frames` back-to-back frames.
pub fn mean_frame(app: &mut App, frames: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..frames {
        app.update();
    }
    start.elapsed() / frames as u32
}

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// The median of `b - a` over paired samples, in µs (negative when `b` is faster).
pub fn median_difference_us(a: &[Duration], b: &[Duration]) -> f64 {
    let mut differences: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| (b.as_secs_f64() - a.as_secs_f64()) * 1e6)
        .collect();
    differences.sort_by(f64::total_cmp);
    differences[differences.len() / 2]
}

/// Runs `apps` in `rounds` rounds; each round times a block of `frames` frames of every app
/// in turn (starting one app later each round, so no app always follows the same one).
/// Returns each app's block means, one per round.
pub fn alternate(apps: &mut [&mut App], rounds: usize, frames: usize) -> Vec<Vec<Duration>> {
    let mut samples = vec![Vec::with_capacity(rounds); apps.len()];
    for app in apps.iter_mut() {
        mean_frame(app, frames); // warm up
    }
    for round in 0..rounds {
        for k in 0..apps.len() {
            let i = (round + k) % apps.len();
            samples[i].push(mean_frame(apps[i], frames));
        }
    }
    samples
}

/// Prints one row per app: its median frame, and the median over rounds of its frame minus
/// the first app's (the bare app) in the same round.
pub fn print_rows(executor: Executor, names: &[&str], samples: &[Vec<Duration>]) {
    for (name, runs) in names.iter().zip(samples) {
        let over = median_difference_us(&samples[0], runs);
        println!(
            "  {:<16} {:<34} frame {:>9.2?}   plugin cost {:>+8.2} µs",
            executor.name(),
            name,
            median(runs.clone()),
            over
        );
    }
}
