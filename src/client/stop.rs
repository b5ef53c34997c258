//! Every stop goes through [`send_stop`]: user stops, `stop_deployment`, ready timeouts,
//! ERROR clean-up, the exit guard, despawned entities and deployments nobody follows.

use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::lifecycle::Despawn;
use bevy::ecs::observer::On;
use bevy::ecs::query::With;
use bevy::ecs::system::{Commands, Query};
use bevy::ecs::world::World;
use bevy::log::{debug, warn};

use super::deployment::{Answer, Deployment, StopOnDespawn, Tracker};
use super::request::{EdgegapCall, Handling, enqueue, short_name};
use crate::api::{RequestId, Status, StopDeployment};

/// Sends `DELETE /v1/stop/{request_id}` (retried by the transport on `429`/`5xx`). `call` is
/// the call entity that receives [`EdgegapResponse<StopDeployment>`](super::EdgegapResponse)
/// (a fresh one when `None`). The answer is fed to the lifecycle of the deployment entity
/// that follows `request_id`, if any.
pub(crate) fn send_stop(world: &mut World, call: Option<Entity>, stop: StopDeployment) {
    let call = call.unwrap_or_else(|| {
        world
            .spawn(EdgegapCall::new(short_name::<StopDeployment>()))
            .id()
    });
    let request_id = stop.request_id.clone();
    // From now on a READY is not announced: the stop is on its way.
    if let Some(entity) = following(world, &request_id)
        && let Some(mut deployment) = world.get_mut::<Deployment>(entity)
    {
        deployment.stop_requested = true;
        deployment.stops_in_flight += 1;
    }
    let then = Box::new(move |world: &mut World, _call, result: &Result<_, _>| {
        if let Some(entity) = following(world, &request_id) {
            world
                .resource_mut::<Tracker>()
                .push(entity, Answer::Stopped(result.clone()));
        }
    });
    enqueue(world, call, stop, Handling::respond().then(then));
}

/// The deployment entity following `request_id`.
fn following(world: &World, request_id: &RequestId) -> Option<Entity> {
    let entity = *world.resource::<Tracker>().index.get(request_id)?;
    world.get::<Deployment>(entity).is_some().then_some(entity)
}

/// [`StopOnDespawn`]: stops the deployment of an entity being despawned.
pub(crate) fn on_despawn_stop(
    despawned: On<Despawn, StopOnDespawn>,
    deployments: Query<&Deployment, With<StopOnDespawn>>,
    mut commands: Commands,
) {
    let Ok(deployment) = deployments.get(despawned.event_target()) else {
        return;
    };
    match (
        &deployment.request_id,
        deployment.status == Status::Terminated,
    ) {
        (Some(id), false) => {
            debug!("stopping deployment `{id}`: its entity was despawned");
            let stop = StopDeployment::new(id.clone());
            commands.queue(move |world: &mut World| send_stop(world, None, stop));
        }
        (None, _) => warn!(
            "a deployment entity was despawned before its deploy answered; its deploy is \
             followed and what it created is stopped"
        ),
        _ => {}
    }
}
