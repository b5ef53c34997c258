//! Sending a deploy: the correlation and instance tags (direct) or the idempotency key
//! (gateway), and what happens to a deploy whose entity is gone before it answered.

use bevy::ecs::entity::Entity;
use bevy::ecs::world::World;
use bevy::log::info;

use super::config::{EdgegapConfig, EdgegapMode};
use super::deployment::{Answer, Deployment, Resend, StopOnExit, Tracker, later};
use super::request::{Handling, enqueue};
use super::stop::send_stop;
use crate::api::{
    DeployRequest, DeployResponse, EdgegapError, Endpoint, FleetDeployRequest, StopDeployment,
    unique_tag, unique_token,
};
use crate::time::Instant;

/// A deploy body: [`DeployRequest`] or [`FleetDeployRequest`].
pub(crate) trait DeployBody: Endpoint<Output = DeployResponse> + Clone {
    /// The body's tags.
    fn tags_mut(&mut self) -> &mut Vec<String>;
    /// The plain v2 body, for a re-send through a gateway (which serves only that).
    fn plain(&self) -> Option<DeployRequest>;
}

impl DeployBody for DeployRequest {
    fn tags_mut(&mut self) -> &mut Vec<String> {
        &mut self.tags
    }
    fn plain(&self) -> Option<DeployRequest> {
        Some(self.clone())
    }
}

impl DeployBody for FleetDeployRequest {
    fn tags_mut(&mut self) -> &mut Vec<String> {
        &mut self.deploy.tags
    }
    fn plain(&self) -> Option<DeployRequest> {
        None
    }
}

/// Queues the deploy of the deployment `entity`. Directly against Edgegap it carries a fresh
/// correlation tag and the instance tag; through a gateway, a fresh idempotency key instead
/// (the gateway refuses client tags).
pub(crate) fn start<E: DeployBody>(world: &mut World, entity: Entity, mut request: E) {
    let config = world.resource::<EdgegapConfig>().clone();
    let (key, correlation, resend) = match config.mode {
        EdgegapMode::Gateway => {
            let key = unique_token("bevy-edgegap-");
            let resend = request.plain().map(|request| Resend {
                request,
                key: key.clone(),
            });
            (Some(key), None, resend)
        }
        EdgegapMode::Direct => {
            let tag = unique_tag("bx-");
            let tags = request.tags_mut();
            tags.push(tag.clone());
            if !config.instance_tag.is_empty() && !tags.contains(&config.instance_tag) {
                tags.push(config.instance_tag.clone());
            }
            (None, Some(tag), None)
        }
    };
    if let Some(mut deployment) = world.get_mut::<Deployment>(entity) {
        deployment.correlation = correlation.clone();
    }
    if let Some(resend) = resend.clone() {
        world.entity_mut(entity).insert(resend);
    }
    let then = Box::new(move |world: &mut World, entity, result: &Result<_, _>| {
        world
            .resource_mut::<Tracker>()
            .push(entity, Answer::Deployed(result.clone()));
    });
    let orphaned = Box::new(move |world: &mut World, result| {
        orphaned(world, correlation, resend, result);
    });
    let how = Handling {
        key,
        orphaned: Some(orphaned),
        ..Handling::respond().then(then)
    };
    enqueue(world, entity, request, how);
}

/// The deployment entity was despawned while its deploy was on the wire: nobody can follow
/// what it created, so that is stopped; an uncertain outcome is reconciled by a hidden
/// deployment entity that only wants it stopped.
fn orphaned(
    world: &mut World,
    correlation: Option<String>,
    resend: Option<Resend>,
    result: Result<DeployResponse, EdgegapError>,
) {
    let error = match result {
        Ok(created) => {
            info!(
                "stopping deployment `{}`: its entity was despawned before the deploy answered",
                created.request_id
            );
            return send_stop(world, None, StopDeployment::new(created.request_id));
        }
        Err(error) => error,
    };
    if let Some(id) = error.request_id() {
        return send_stop(world, None, StopDeployment::new(id.clone()));
    }
    if !error.outcome_unknown() {
        return;
    }
    let now = Instant::now();
    let mut deployment = Deployment::created(now);
    deployment.stop_requested = true;
    deployment.uncertain = true;
    deployment.correlation = correlation;
    deployment.deploy_error = Some(error);
    let mut hidden = world.spawn((deployment, StopOnExit));
    if let Some(resend) = resend {
        hidden.insert(resend);
    }
    let entity = hidden.id();
    let wait = super::lifecycle::Policy::new(world.resource::<EdgegapConfig>()).reconcile_delay(0);
    world
        .resource_mut::<Tracker>()
        .reconciles
        .insert((later(now, wait), entity));
}
