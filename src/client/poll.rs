//! Status polls of tracked deployments, oldest due first, as many as the status budget has
//! room for. Answers go to the lifecycle.

use bevy::ecs::entity::Entity;
use bevy::ecs::world::World;
use bevy::platform::time::Instant;

use super::config::EdgegapConfig;
use super::deployment::{Answer, Deployment, Tracker};
use super::request::{EdgegapTransport, Handling, enqueue};
use crate::api::{EndpointClass, GetStatus, Status};
use crate::http::RetryPolicy;

/// Sends the polls that are due at `now`.
pub(crate) fn issue_polls(world: &mut World, now: Instant) {
    let config = world.resource::<EdgegapConfig>();
    let (limits, max_in_flight) = (config.rate_limits.clone(), config.max_in_flight);
    let spare = world.resource_mut::<EdgegapTransport>().0.spare(
        EndpointClass::Status,
        &limits,
        max_in_flight,
        now,
    );
    let mut due = Vec::new();
    {
        let mut tracker = world.resource_mut::<Tracker>();
        while due.len() < spare {
            let Some(&(at, entity)) = tracker.schedule.first() else {
                break;
            };
            if at > now {
                break;
            }
            tracker.schedule.pop_first();
            due.push((at, entity));
        }
    }
    for (at, entity) in due {
        let Some(mut deployment) = world.get_mut::<Deployment>(entity) else {
            continue;
        };
        if deployment.next_poll != Some(at) || deployment.status == Status::Terminated {
            continue; // stale entry
        }
        deployment.next_poll = None;
        let Some(request_id) = deployment.request_id.clone() else {
            continue;
        };
        deployment.polling = true;
        send_poll(world, entity, GetStatus::new(request_id));
    }
}

fn send_poll(world: &mut World, entity: Entity, poll: GetStatus) {
    let then = Box::new(move |world: &mut World, _owner, result: &Result<_, _>| {
        world
            .resource_mut::<Tracker>()
            .push(entity, Answer::Status(result.clone()));
    });
    let how = Handling {
        retry: Some(RetryPolicy::never()),
        ..Handling::internal(then)
    };
    enqueue(world, entity, poll, how);
}
