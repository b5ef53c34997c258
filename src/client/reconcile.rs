//! Finding out what an uncertain deploy did. Directly against Edgegap: list deployments page
//! by page and match the deploy's correlation tag in each item's `tags` (the list `query`
//! filter vocabulary is documented only for `status`, so no tag filter is trusted). Through a
//! gateway: re-send the same deploy with the same `Idempotency-Key` (the gateway answers a
//! repeated key with the same `request_id` and creates nothing new). The result goes to the
//! lifecycle, which adopts or stops what was found.

use bevy::ecs::entity::Entity;
use bevy::ecs::world::World;
use bevy::log::debug;

use super::deployment::{Answer, Deployment, Resend, Tracker};
use super::request::{EdgegapCall, Handling, enqueue, short_name};
use super::stop::send_stop;
use crate::api::{
    DeploymentList, EdgegapError, ListDeployments, ListPage, RequestId, StopDeployment,
};

/// Items per list page.
const PAGE_SIZE: u32 = 100;
/// Pages searched at most per search (the list budget is 10 requests per second).
const MAX_PAGES: u32 = 20;

/// Starts a search for the deployment `entity`'s uncertain deploy.
pub(crate) fn search(world: &mut World, entity: Entity) {
    let Some(deployment) = world.get::<Deployment>(entity) else {
        return;
    };
    if !deployment.uncertain || deployment.request_id.is_some() {
        return;
    }
    if let Some(resend) = world.get::<Resend>(entity).cloned() {
        debug!("re-sending an uncertain deploy with its idempotency key");
        let then = Box::new(move |world: &mut World, _owner, result: &Result<_, _>| {
            finish_resend(world, entity, result.clone());
        });
        let how = Handling {
            key: Some(resend.key),
            ..Handling::internal(then)
        };
        let owner = world
            .spawn(EdgegapCall::new(short_name::<crate::api::DeployRequest>()))
            .id();
        enqueue(world, owner, resend.request, how);
        return;
    }
    let Some(tag) = deployment.correlation.clone() else {
        // Nothing to search by: give the lifecycle an empty result.
        world
            .resource_mut::<Tracker>()
            .push(entity, Answer::Reconciled(Ok(None)));
        return;
    };
    debug!("looking for the deployment tagged `{tag}`");
    search_page(world, entity, tag, 1);
}

fn search_page(world: &mut World, entity: Entity, tag: String, page: u32) {
    let owner = world
        .spawn(EdgegapCall::new(short_name::<ListDeployments>()))
        .id();
    let list = ListDeployments::new().page(page).limit(PAGE_SIZE);
    let then = Box::new(move |world: &mut World, _owner, result: &Result<_, _>| {
        on_page(world, entity, tag, page, result);
    });
    enqueue(world, owner, list, Handling::internal(then));
}

fn on_page(
    world: &mut World,
    entity: Entity,
    tag: String,
    page: u32,
    result: &Result<DeploymentList, EdgegapError>,
) {
    let list = match result {
        Ok(list) => list,
        Err(error) => return finish(world, entity, Err(error.clone())),
    };
    if let Some(found) = list.data.iter().find(|d| d.tags.contains(&tag)) {
        debug!("found deployment `{}` by its tag `{tag}`", found.request_id);
        return finish(world, entity, Ok(Some(found.request_id.clone())));
    }
    match list.next_page(page, PAGE_SIZE) {
        Some(next) if page < MAX_PAGES => search_page(world, entity, tag, next),
        _ => finish(world, entity, Ok(None)),
    }
}

fn finish_resend(
    world: &mut World,
    entity: Entity,
    result: Result<crate::api::DeployResponse, EdgegapError>,
) {
    match result {
        Ok(created) => finish(world, entity, Ok(Some(created.request_id))),
        Err(error) => finish(world, entity, Err(error)),
    }
}

/// Hands the result to the deployment's lifecycle; a deployment nobody follows any more is
/// stopped.
fn finish(world: &mut World, entity: Entity, result: Result<Option<RequestId>, EdgegapError>) {
    if world.get::<Deployment>(entity).is_some() {
        world
            .resource_mut::<Tracker>()
            .push(entity, Answer::Reconciled(result));
    } else if let Ok(Some(id)) = result {
        send_stop(world, None, StopDeployment::new(id));
    }
}
