//! The orphan guard on `AppExit`: uncertain deploys are reconciled first, then every
//! deployment with [`StopOnExit`] not seen TERMINATED is stopped through the transport (cap,
//! rate limits, retries on `429`/`5xx`), all within
//! [`EdgegapConfig::with_exit_stop_wait`](super::EdgegapConfig::with_exit_stop_wait).

use std::time::Duration;

use bevy::ecs::entity::Entity;
use bevy::ecs::query::With;
use bevy::ecs::world::World;
use bevy::log::{info, warn};

use super::config::EdgegapConfig;
use super::deployment::{Answer, Deployment, StopOnExit, Tracker};
use super::frame::pump;
use super::lifecycle::{Policy, settled_for_exit};
use super::track::drive;
use crate::api::Status;
use crate::time::Instant;

/// Stops sent per deployment at most before the exit gives up on it (a stop refused for good,
/// say a revoked token, is not hammered).
const MAX_EXIT_STOPS: u32 = 6;

/// Runs in `Last` ([`EdgegapSystems::Exit`](super::super::EdgegapSystems::Exit)) on
/// `AppExit`.
pub(crate) fn stop_on_exit(world: &mut World) {
    let config = world.resource::<EdgegapConfig>().clone();
    let policy = Policy::new(&config);
    let now = Instant::now();
    let mut guarded: Vec<Entity> = Vec::new();
    let mut query = world.query_filtered::<(Entity, &Deployment), With<StopOnExit>>();
    let mut searches = Vec::new();
    let mut stops = Vec::new();
    for (entity, deployment) in query.iter(world) {
        if deployment.status == Status::Terminated {
            continue;
        }
        guarded.push(entity);
        // An uncertain deploy whose searches ran out gets one more, now (found, it is
        // stopped; not found, it is settled). One still being searched keeps its schedule:
        // the deployment may not exist yet.
        if deployment.uncertain && deployment.failed {
            searches.push(entity);
        }
        if deployment.stops_in_flight == 0 && !deployment.stop_confirmed {
            stops.push(entity);
        }
    }
    if guarded.is_empty() {
        return;
    }
    info!(
        "app exiting: stopping `{}` deployments (`{}` to reconcile first)",
        guarded.len(),
        searches.len()
    );
    {
        let mut tracker = world.resource_mut::<Tracker>();
        for entity in searches {
            tracker.reconciles.insert((now, entity));
        }
        for entity in stops {
            tracker.push(entity, Answer::StopRequested(None));
        }
    }
    drive(world);
    // A browser frame cannot wait: answers arrive only after it returns. The stops are sent
    // (handed to `fetch`), not awaited (see the browser engine's docs in `crate::http`).
    if cfg!(target_arch = "wasm32") {
        pump(world);
        return;
    }
    let deadline = now + config.exit_stop_wait;
    loop {
        let open: Vec<Entity> = guarded
            .iter()
            .copied()
            .filter(|&e| {
                world
                    .get::<Deployment>(e)
                    .is_some_and(|d| !settled_for_exit(d, &policy))
            })
            .collect();
        if open.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            for entity in open {
                let d = world.get::<Deployment>(entity);
                let id = d.and_then(|d| d.request_id.as_ref().map(|id| id.to_string()));
                warn!(
                    "exit wait over before deployment `{}` was confirmed stopped",
                    id.as_deref().unwrap_or("(deploy unanswered)")
                );
            }
            return;
        }
        // A stop that failed for good (its retries spent) is sent again.
        {
            let mut again = Vec::new();
            for &entity in &open {
                if let Some(d) = world.get::<Deployment>(entity)
                    && d.request_id.is_some()
                    && d.stops_in_flight == 0
                    && !d.stop_confirmed
                    && d.stop_attempts < MAX_EXIT_STOPS
                {
                    again.push(entity);
                }
            }
            let mut tracker = world.resource_mut::<Tracker>();
            for entity in again {
                tracker.push(entity, Answer::StopRequested(None));
            }
        }
        drive(world);
        pump(world);
        std::thread::sleep(Duration::from_millis(2));
    }
}
