//! The [`Edgegap`] system parameter: one method per endpoint, each returning the entity that
//! stands for the call.

use bevy::ecs::entity::Entity;
use bevy::ecs::system::{Commands, SystemParam};
use bevy::ecs::world::World;

use super::config::EdgegapConfig;
use super::deploy;
use super::deployment::{Answer, Deploying, Deployment, Starting, StopOnExit, Tracker};
use super::request::{EdgegapCall, Handling, deliver_error, enqueue, short_name};
use super::stop::send_stop;
use crate::api::{
    BulkStop, CreateTag, DeleteTag, DeployRequest, EdgegapError, Endpoint, FleetDeployRequest,
    GetContainerLogs, GetMetrics, GetStatus, GetTag, ListDeployments, ListFleetHosts,
    ListLocations, ListTags, RequestId, StopDeployment, UpdateTag,
};
use crate::time::Instant;

/// Calls Edgegap from any system or observer, like [`Commands`]. Every method returns the
/// [`Entity`] that stands for the call; its result arrives as an [`EdgegapResponse`](super::EdgegapResponse)
/// message and as an event triggered on that entity.
///
/// Nothing is sent before the commands are applied; the request then waits in the
/// transport's queue until the in-flight cap and the rate budget allow it (it is never
/// dropped).
#[derive(SystemParam)]
pub struct Edgegap<'w, 's> {
    commands: Commands<'w, 's>,
}

impl<'w, 's> Edgegap<'w, 's> {
    /// The underlying [`Commands`].
    pub fn commands(&mut self) -> &mut Commands<'w, 's> {
        &mut self.commands
    }

    /// Sends any endpoint. The result arrives as [`EdgegapResponse<E>`](super::EdgegapResponse) on the returned call
    /// entity (register custom endpoints with [`EdgegapAppExt::add_edgegap_endpoint`](super::EdgegapAppExt::add_edgegap_endpoint) to read
    /// them as messages too).
    pub fn send<E: Endpoint>(&mut self, endpoint: E) -> Entity
    where
        E::Output: Clone,
    {
        queue_call::<E>(&mut self.commands, move |world, call| {
            enqueue(world, call, endpoint, Handling::respond());
        })
    }

    /// Deploys (`POST /v2/deployments`) and returns the **deployment entity**: it carries a
    /// [`Deployment`] the plugin keeps current, and [`StopOnExit`] (remove it to let the
    /// deployment outlive the app). [`EdgegapResponse<DeployRequest>`](super::EdgegapResponse)
    /// (the deploy call's own answer) and then the `Deployment*` events are triggered on it.
    /// It is never despawned by the plugin.
    pub fn deploy(&mut self, request: DeployRequest) -> Entity {
        self.spawn_deploy(request)
    }

    /// Deploys onto a private fleet; like [`Edgegap::deploy`].
    /// [`EdgegapConfig::with_fleet_deploy_path`](super::EdgegapConfig::with_fleet_deploy_path) overrides
    /// the request's path form when set.
    pub fn deploy_to_fleet(&mut self, mut request: FleetDeployRequest) -> Entity {
        let entity = self.spawn_deploy(None::<DeployRequest>);
        self.commands.queue(move |world: &mut World| {
            if let Some(path) = world
                .get_resource::<EdgegapConfig>()
                .and_then(|c| c.fleet_deploy_path)
            {
                request.path = path;
            }
            deploy::start(world, entity, request);
        });
        entity
    }

    /// Spawns a deployment entity and queues `request`'s deploy, if given.
    fn spawn_deploy(&mut self, request: impl Into<Option<DeployRequest>>) -> Entity {
        let entity = self
            .commands
            .spawn((Deployment::created(Instant::now()), StopOnExit, Deploying))
            .id();
        if let Some(request) = request.into() {
            self.commands.queue(move |world: &mut World| {
                deploy::start(world, entity, request);
            });
        }
        entity
    }

    /// `GET /v1/status/{request_id}`, once. (Tracked deployments are polled for you.)
    pub fn status(&mut self, request_id: impl Into<RequestId>) -> Entity {
        self.send(GetStatus::new(request_id))
    }

    /// `DELETE /v1/stop/{request_id}`. A deployment entity tracking that id is then followed
    /// to TERMINATED (a `410 Gone` counts as terminated).
    pub fn stop(&mut self, request_id: impl Into<RequestId>) -> Entity {
        self.stop_with(StopDeployment::new(request_id))
    }

    /// Like [`Edgegap::stop`], with the stop's options.
    pub fn stop_with(&mut self, stop: StopDeployment) -> Entity {
        queue_call::<StopDeployment>(&mut self.commands, move |world, call| {
            send_stop(world, Some(call), stop);
        })
    }

    /// Stops the deployment of `deployment` (an entity from [`Edgegap::deploy`] or
    /// [`Edgegap::track`]) and follows it to TERMINATED. If the deploy has not answered yet
    /// (or its outcome is being reconciled), the stop goes out as soon as the id is known.
    /// Returns the stop call's entity; every such call resolves exactly once, as
    /// [`EdgegapError::Cancelled`] if the deployment is never created.
    pub fn stop_deployment(&mut self, deployment: Entity) -> Entity {
        queue_call::<StopDeployment>(&mut self.commands, move |world, call| {
            if world.get::<Deployment>(deployment).is_none() {
                deliver_error(
                    world,
                    call,
                    StopDeployment::new(""),
                    EdgegapError::invalid("deployment", "the entity has no Deployment component"),
                );
                return;
            }
            world
                .resource_mut::<Tracker>()
                .push(deployment, Answer::StopRequested(Some(call)));
        })
    }

    /// `POST /v1/deployments/bulk-stop`: stops every deployment matching the filters.
    /// Deployment entities tracking stopped ids notice on their next poll.
    pub fn bulk_stop(&mut self, request: BulkStop) -> Entity {
        self.send(request)
    }

    /// `GET /v1/deployments` with the query's filters and page.
    pub fn list_deployments(&mut self, request: ListDeployments) -> Entity {
        self.send(request)
    }

    /// `GET /v1/locations` with the request's filters.
    pub fn locations(&mut self, request: ListLocations) -> Entity {
        self.send(request)
    }

    /// `GET /v1/deployment/{request_id}/container-logs`.
    pub fn container_logs(&mut self, request_id: impl Into<RequestId>) -> Entity {
        self.send(GetContainerLogs::new(request_id))
    }

    /// `GET /v1/metrics/deployment/{request_id}` over the deployment's whole life (use
    /// [`Edgegap::send`] with a [`GetMetrics`] for a time range or steps).
    pub fn metrics(&mut self, request_id: impl Into<RequestId>) -> Entity {
        self.send(GetMetrics::new(request_id))
    }

    /// `GET /v2/private-fleets/{fleet}/hosts`.
    pub fn fleet_hosts(&mut self, fleet: impl Into<String>) -> Entity {
        self.send(ListFleetHosts::new(fleet))
    }

    /// `GET /v1/deployments/{request_id}/tags`.
    pub fn list_tags(&mut self, request_id: impl Into<RequestId>) -> Entity {
        self.send(ListTags::new(request_id))
    }

    /// `GET /v1/deployments/{request_id}/tags/{name}`.
    pub fn get_tag(&mut self, request_id: impl Into<RequestId>, name: impl Into<String>) -> Entity {
        self.send(GetTag::new(request_id, name))
    }

    /// `POST /v1/deployments/{request_id}/tags`: adds tag `name`.
    pub fn create_tag(
        &mut self,
        request_id: impl Into<RequestId>,
        name: impl Into<String>,
    ) -> Entity {
        self.send(CreateTag::new(request_id, name))
    }

    /// `PATCH /v1/deployments/{request_id}/tags/{name}`: renames tag `name` to `new_name`.
    pub fn update_tag(
        &mut self,
        request_id: impl Into<RequestId>,
        name: impl Into<String>,
        new_name: impl Into<String>,
    ) -> Entity {
        self.send(UpdateTag::new(request_id, name, new_name))
    }

    /// `DELETE /v1/deployments/{request_id}/tags/{name}`.
    pub fn delete_tag(
        &mut self,
        request_id: impl Into<RequestId>,
        name: impl Into<String>,
    ) -> Entity {
        self.send(DeleteTag::new(request_id, name))
    }

    /// Follows a deployment made elsewhere: returns a new deployment entity whose
    /// [`Deployment`] is polled like one from [`Edgegap::deploy`] (without [`StopOnExit`]).
    pub fn track(&mut self, request_id: impl Into<RequestId>) -> Entity {
        let request_id = request_id.into();
        let entity = self
            .commands
            .spawn((
                Deployment::tracked(request_id.clone(), Instant::now()),
                Starting,
            ))
            .id();
        self.commands.queue(move |world: &mut World| {
            let initial = world.resource::<EdgegapConfig>().poll.initial;
            let Some(mut deployment) = world.get_mut::<Deployment>(entity) else {
                return;
            };
            deployment.poll_interval = initial;
            let now = Instant::now();
            deployment.next_poll = Some(now);
            let mut tracker = world.resource_mut::<Tracker>();
            tracker.index.insert(request_id, entity);
            // First poll right away.
            tracker.polls.insert(now, entity);
        });
        entity
    }
}

/// Spawns the entity of a call to `E` and queues `send` (with the world and that entity) for
/// when the commands are applied; returns the entity. Every call method of [`Edgegap`] and
/// of the matchmaker's parameter starts this way.
pub(crate) fn queue_call<E: 'static>(
    commands: &mut Commands,
    send: impl FnOnce(&mut World, Entity) + Send + 'static,
) -> Entity {
    let call = commands.spawn(EdgegapCall::new(short_name::<E>())).id();
    commands.queue(move |world: &mut World| send(world, call));
    call
}
