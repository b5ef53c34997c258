//! Status polls of tracked deployments, oldest due first, as many as the status budget has
//! room for. Answers go to the lifecycle. In gateway mode a deployment already seen once is
//! followed by long-poll ([`AwaitStatusChange`]): the gateway holds the poll until the status
//! changes.

use std::time::Duration;

use bevy::ecs::entity::Entity;
use bevy::ecs::world::World;

use super::config::{EdgegapConfig, EdgegapMode};
use super::deployment::{Answer, Deployment, Tracker};
use super::request::{EdgegapTransport, Handling, enqueue};
use crate::api::{AwaitStatusChange, DeploymentStatus, Endpoint, EndpointClass, GetStatus, Status};
use crate::http::RetryPolicy;
use crate::time::Instant;

/// Long-polls held at once at most, for `max_in_flight` workers: half of them, rounded down,
/// so at least one worker always serves deploys and stops (a single worker never holds one).
pub(crate) fn long_poll_cap(max_in_flight: usize) -> usize {
    max_in_flight / 2
}

/// Sends the polls that are due at `now`.
pub(crate) fn issue_polls(world: &mut World, now: Instant) {
    let config = world.resource::<EdgegapConfig>();
    let (limits, max_in_flight) = (config.rate_limits.clone(), config.max_in_flight);
    let hold = match config.mode {
        EdgegapMode::Gateway => config.long_poll.filter(|wait| !wait.is_zero()),
        EdgegapMode::Direct => None,
    };
    let deadline = config.deadline;
    let transport = &mut world.resource_mut::<EdgegapTransport>().0;
    let room = transport.spare(EndpointClass::Status, &limits, max_in_flight, now);
    let next_room = transport.next_room(EndpointClass::Status, &limits);
    let due = world
        .resource_mut::<Tracker>()
        .polls
        .take_due(now, room, || next_room);
    if due.is_empty() {
        return;
    }
    // Long-polls held now (a despawned deployment's no longer counts).
    let mut held = world.resource::<Tracker>().long_polls.len();
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
        // Long-poll once the status is known (the first poll learns it at once) and the last
        // poll succeeded (after a failure, plain polls find out at once whether it is over).
        let long = deployment.last.is_some() && deployment.unobserved == 0;
        let long_poll = match hold {
            Some(wait) if long && held < long_poll_cap(max_in_flight) => {
                held += 1;
                deployment.long_poll_sent = Some(now);
                Some((wait, deployment.status.clone()))
            }
            _ => None,
        };
        match long_poll {
            Some((wait, since)) => {
                world.resource_mut::<Tracker>().long_polls.insert(entity);
                let poll = AwaitStatusChange::new(request_id, since, wait);
                // Held up to `wait`, then answered like any call.
                send_poll(world, entity, poll, Some(deadline.saturating_add(wait)));
            }
            None => send_poll(world, entity, GetStatus::new(request_id), None),
        }
    }
}

fn send_poll<E>(world: &mut World, entity: Entity, poll: E, budget: Option<Duration>)
where
    E: Endpoint<Output = DeploymentStatus>,
{
    let then = Box::new(move |world: &mut World, _owner, result: &Result<_, _>| {
        world
            .resource_mut::<Tracker>()
            .push(entity, Answer::Status(result.clone()));
    });
    let how = Handling {
        retry: Some(RetryPolicy::never()),
        budget,
        ..Handling::internal(then)
    };
    enqueue(world, entity, poll, how);
}

#[cfg(test)]
mod tests {
    use super::long_poll_cap;

    #[test]
    fn held_polls_leave_at_least_one_worker_free() {
        assert_eq!(long_poll_cap(0), 0);
        assert_eq!(long_poll_cap(1), 0);
        assert_eq!(long_poll_cap(2), 1);
        assert_eq!(long_poll_cap(3), 1);
        assert_eq!(long_poll_cap(8), 4);
        for workers in 1..64 {
            assert!(workers - long_poll_cap(workers) >= 1);
        }
    }
}
