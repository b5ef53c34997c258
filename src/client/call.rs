//! Calls as entities: the [`Edgegap`] system parameter, [`EdgegapResponse`], and how a result
//! reaches the ECS.

use bevy::app::App;
use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::message::{Message, Messages};
use bevy::ecs::resource::Resource;
use bevy::ecs::system::{Commands, SystemParam};
use bevy::ecs::world::World;
use bevy::platform::time::Instant;

use super::config::EdgegapConfig;
use super::deployment::{self, Deployment, StopOnExit};
use crate::api::{
    BulkStop, CreateTag, DeleteTag, DeployRequest, EdgegapError, Endpoint, EndpointClass,
    FleetDeployRequest, GetContainerLogs, GetMetrics, GetStatus, GetTag, HttpResponse,
    ListDeployments, ListFleetHosts, ListLocations, ListTags, RequestId, StopDeployment, UpdateTag,
};
use crate::http::RetryPolicy;
use crate::transport::{Delivery, Job, Transport};

/// The result of one call, both a [`Message`] (read it with
/// `MessageReader<EdgegapResponse<GetStatus>>`) and an [`EntityEvent`] triggered on the call's
/// entity (observe it with `.observe(|response: On<EdgegapResponse<GetStatus>>| ..)`).
///
/// For [`Edgegap::deploy`] and [`Edgegap::deploy_to_fleet`] the entity is the deployment
/// entity; for every other call it is the call entity the method returned.
#[derive(Message, EntityEvent)]
pub struct EdgegapResponse<E: Endpoint> {
    /// The entity that stands for the call.
    pub entity: Entity,
    /// What the call produced.
    pub result: Result<E::Output, EdgegapError>,
}

impl<E: Endpoint> Clone for EdgegapResponse<E>
where
    E::Output: Clone,
{
    fn clone(&self) -> Self {
        Self {
            entity: self.entity,
            result: self.result.clone(),
        }
    }
}

impl<E: Endpoint> std::fmt::Debug for EdgegapResponse<E>
where
    E::Output: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgegapResponse")
            .field("entity", &self.entity)
            .field("result", &self.result)
            .finish()
    }
}

/// Marks the entity of a call made through [`Edgegap`] (not deployments). The entity is
/// despawned right after its [`EdgegapResponse`] was delivered, unless it also has
/// [`KeepCall`]. Despawning it before then cancels the call: nothing is delivered.
#[derive(Component, Debug, Clone)]
pub struct EdgegapCall {
    endpoint: &'static str,
    issued_at: Instant,
}

impl EdgegapCall {
    pub(crate) fn new(endpoint: &'static str) -> Self {
        Self {
            endpoint,
            issued_at: Instant::now(),
        }
    }

    /// The endpoint's type name (`GetStatus`).
    pub fn endpoint(&self) -> &'static str {
        self.endpoint
    }

    /// When the call was issued.
    pub fn issued_at(&self) -> Instant {
        self.issued_at
    }
}

/// Insert on a call entity to keep it after its result was delivered (to hang components on
/// it, say). You then despawn it yourself.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct KeepCall;

/// Lets an app register its own [`Endpoint`] types for [`Edgegap::send`].
pub trait EdgegapAppExt {
    /// Registers [`EdgegapResponse<E>`] as a message. Without it, results of `E` still reach
    /// observers, but no `MessageReader` sees them.
    fn add_edgegap_endpoint<E: Endpoint>(&mut self) -> &mut Self
    where
        E::Output: Clone;
}

impl EdgegapAppExt for App {
    fn add_edgegap_endpoint<E: Endpoint>(&mut self) -> &mut Self
    where
        E::Output: Clone,
    {
        self.add_message::<EdgegapResponse<E>>()
    }
}

/// The transport as a resource.
#[derive(Resource, Default)]
pub(crate) struct EdgegapTransport(pub(crate) Transport);

/// The endpoint's short type name, for logs.
pub(crate) fn short_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Writes the message (when registered) and triggers the event on `entity`.
pub(crate) fn emit<M>(world: &mut World, event: M)
where
    M: Message + Clone + for<'a> EntityEvent<Trigger<'a>: Default>,
{
    if world.contains_resource::<Messages<M>>() {
        world.write_message(event.clone());
    }
    if world.get_entity(event.event_target()).is_ok() {
        world.trigger(event);
    }
}

/// What runs after a call's response was emitted (tracking updates).
pub(crate) type AfterHook<E> = Box<
    dyn FnOnce(&mut World, Entity, &Result<<E as Endpoint>::Output, EdgegapError>) + Send + Sync,
>;

/// What runs when the answer of a call whose entity is gone arrives.
pub(crate) type OrphanHook<E> =
    Box<dyn FnOnce(&mut World, Result<<E as Endpoint>::Output, EdgegapError>) + Send + Sync>;

/// Decodes with `E`, emits [`EdgegapResponse<E>`], runs the hook, despawns a finished call
/// entity.
pub(crate) struct TypedCall<E: Endpoint> {
    endpoint: E,
    after: Option<AfterHook<E>>,
    orphaned: Option<OrphanHook<E>>,
}

impl<E: Endpoint> Delivery for TypedCall<E>
where
    E::Output: Clone,
{
    fn is_success(&self, status: u16) -> bool {
        self.endpoint.is_success(status)
    }

    fn deliver(
        self: Box<Self>,
        world: &mut World,
        owner: Entity,
        result: Result<HttpResponse, EdgegapError>,
    ) {
        let result = result.and_then(|response| self.endpoint.decode(&response));
        if let Err(error) = &result {
            bevy::log::debug!("`{}` failed: {error}", short_name::<E>());
        }
        let after_result = self.after.is_some().then(|| result.clone());
        emit(
            world,
            EdgegapResponse::<E> {
                entity: owner,
                result,
            },
        );
        if let (Some(after), Some(result)) = (self.after, after_result) {
            after(world, owner, &result);
        }
        if world.get::<EdgegapCall>(owner).is_some() && world.get::<KeepCall>(owner).is_none() {
            world.despawn(owner);
        }
    }

    fn follows_orphans(&self) -> bool {
        self.orphaned.is_some()
    }

    fn orphaned(self: Box<Self>, world: &mut World, result: Result<HttpResponse, EdgegapError>) {
        if let Some(orphaned) = self.orphaned {
            let result = result.and_then(|response| self.endpoint.decode(&response));
            orphaned(world, result);
        }
    }
}

/// Builds `endpoint`'s request with the current config and queues it for `owner`. Bad config
/// or a request that fails validation resolves on the next frame with the error. `orphaned`
/// receives the answer of a request already sent when `owner` is gone.
pub(crate) fn enqueue<E: Endpoint>(
    world: &mut World,
    owner: Entity,
    endpoint: E,
    after: Option<AfterHook<E>>,
    orphaned: Option<OrphanHook<E>>,
) where
    E::Output: Clone,
{
    // Through a gateway a deploy carries an idempotency key, the same on every re-send, so
    // it may be re-sent like an idempotent call.
    let keyed = world
        .get_resource::<EdgegapConfig>()
        .is_some_and(EdgegapConfig::idempotent_deploys)
        && matches!(
            endpoint.class(),
            EndpointClass::Deploy | EndpointClass::FleetDeploy
        );
    let key = keyed.then(|| crate::api::unique_token("bevy-edgegap-"));
    let (built, deadline, policy) = match world.get_resource::<EdgegapConfig>() {
        Some(config) => (
            config.build(&endpoint, key.as_deref()),
            config.deadline,
            config.retry.clone(),
        ),
        None => (
            Err(EdgegapError::Config(
                "EdgegapClientPlugin was not added to the app".into(),
            )),
            std::time::Duration::from_secs(10),
            RetryPolicy::never(),
        ),
    };
    let class = endpoint.class();
    let idempotent = endpoint.idempotent() || keyed;
    let delivery: Box<dyn Delivery> = Box::new(TypedCall {
        endpoint,
        after,
        orphaned,
    });
    let Some(mut transport) = world.get_resource_mut::<EdgegapTransport>() else {
        // No plugin: deliver the error right here.
        if let Err(error) = built {
            delivery.deliver(world, owner, Err(error));
        }
        return;
    };
    match built {
        Ok(request) => transport.0.enqueue(Job::new(
            owner,
            class,
            idempotent,
            request,
            delivery,
            deadline,
            policy,
            short_name::<E>(),
        )),
        Err(error) => transport.0.resolve_now(owner, delivery, error),
    }
}

/// Calls Edgegap from any system or observer, like [`Commands`]. Every method returns the
/// [`Entity`] that stands for the call; its result arrives as an [`EdgegapResponse`]
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

    /// Sends any endpoint. The result arrives as [`EdgegapResponse<E>`] on the returned call
    /// entity (register custom endpoints with [`EdgegapAppExt::add_edgegap_endpoint`] to read
    /// them as messages too).
    pub fn send<E: Endpoint>(&mut self, endpoint: E) -> Entity
    where
        E::Output: Clone,
    {
        self.send_with(endpoint, None)
    }

    pub(crate) fn send_with<E: Endpoint>(
        &mut self,
        endpoint: E,
        after: Option<AfterHook<E>>,
    ) -> Entity
    where
        E::Output: Clone,
    {
        let entity = self
            .commands
            .spawn(EdgegapCall::new(short_name::<E>()))
            .id();
        self.commands.queue(move |world: &mut World| {
            enqueue(world, entity, endpoint, after, None);
        });
        entity
    }

    /// Deploys (`POST /v2/deployments`) and returns the **deployment entity**: it carries a
    /// [`Deployment`] the plugin keeps current, and [`StopOnExit`] (remove it to let the
    /// deployment outlive the app). [`EdgegapResponse<DeployRequest>`] and then the
    /// `Deployment*` events are triggered on it. It is never despawned by the plugin.
    pub fn deploy(&mut self, request: DeployRequest) -> Entity {
        let entity = self
            .commands
            .spawn((Deployment::created(Instant::now()), StopOnExit))
            .id();
        self.commands.queue(move |world: &mut World| {
            deployment::start_deploy(world, entity, request);
        });
        entity
    }

    /// Deploys onto a private fleet; like [`Edgegap::deploy`]. [`EdgegapConfig::fleet_deploy_path`]
    /// overrides the request's path form when set.
    pub fn deploy_to_fleet(&mut self, request: FleetDeployRequest) -> Entity {
        let entity = self
            .commands
            .spawn((Deployment::created(Instant::now()), StopOnExit))
            .id();
        self.commands.queue(move |world: &mut World| {
            let mut request = request;
            if let Some(path) = world
                .get_resource::<EdgegapConfig>()
                .and_then(|c| c.fleet_deploy_path)
            {
                request.path = path;
            }
            deployment::start_deploy(world, entity, request);
        });
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
        let request_id = stop.request_id.clone();
        self.send_with(
            stop,
            Some(Box::new(move |world, _call, result| {
                deployment::on_stop_answer(world, &request_id, result);
            })),
        )
    }

    /// Stops the deployment of `deployment` (an entity from [`Edgegap::deploy`] or
    /// [`Edgegap::track`]) and follows it to TERMINATED. If the deploy has not answered yet,
    /// the stop goes out as soon as it has. Returns the stop call's entity; it resolves as
    /// [`EdgegapError::Cancelled`] if the deployment is never created.
    pub fn stop_deployment(&mut self, deployment: Entity) -> Entity {
        let call = self
            .commands
            .spawn(EdgegapCall::new(short_name::<StopDeployment>()))
            .id();
        self.commands.queue(move |world: &mut World| {
            deployment::stop_entity(world, deployment, call);
        });
        call
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
            .spawn(Deployment::tracked(request_id.clone(), Instant::now()))
            .id();
        self.commands.queue(move |world: &mut World| {
            deployment::start_tracking(world, entity, request_id);
        });
        entity
    }
}

/// Delivers an error to `owner` through `E`'s response (used when a call cannot be made).
pub(crate) fn deliver_error<E: Endpoint>(
    world: &mut World,
    owner: Entity,
    endpoint: E,
    error: EdgegapError,
) where
    E::Output: Clone,
{
    let delivery: Box<dyn Delivery> = Box::new(TypedCall {
        endpoint,
        after: None,
        orphaned: None,
    });
    delivery.deliver(world, owner, Err(error));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_name::<GetStatus>(), "GetStatus");
        assert_eq!(
            short_name::<EdgegapResponse<GetStatus>>(),
            "EdgegapResponse"
        );
    }
}
