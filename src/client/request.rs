//! Calls as entities and the one way a request is built and queued ([`enqueue`]): used by
//! user calls, status polls, stops, deploys and reconcile searches alike. Also
//! [`EdgegapResponse`], and how a result reaches the ECS.

use std::sync::Arc;

use bevy::app::App;
use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::message::{Message, Messages};
use bevy::ecs::resource::Resource;
use bevy::ecs::world::World;

use super::config::EdgegapConfig;
use super::wake;
use crate::api::{EdgegapError, Endpoint, HttpRequest, HttpResponse};
use crate::http::{Decode, Decoded, RetryPolicy};
use crate::time::Instant;
use crate::transport::{Job, Outcome, Payload, Transport};

/// The result of one call, both a [`Message`] (read it with
/// `MessageReader<EdgegapResponse<GetStatus>>`) and an [`EntityEvent`] triggered on the call's
/// entity (observe it with `.observe(|response: On<EdgegapResponse<GetStatus>>| ..)`).
///
/// For [`Edgegap::deploy`](super::Edgegap::deploy) and
/// [`Edgegap::deploy_to_fleet`](super::Edgegap::deploy_to_fleet) the entity is the deployment
/// entity and the result is the deploy call's own answer (a timeout, say); what became of the
/// deployment follows as `Deployment*` events. For every other call it is the call entity the
/// method returned.
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

/// Marks the entity of a call made through [`Edgegap`](super::Edgegap) (not deployments). The
/// entity is despawned right after its [`EdgegapResponse`] was delivered, unless it also has
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

/// Lets an app register its own [`Endpoint`] types for [`Edgegap::send`](super::Edgegap::send).
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

/// Receives the final outcome of a call the transport hands back: decodes it with the
/// endpoint's types (or takes what the engine's worker decoded) and delivers it to the ECS.
/// `result` is the last answer (any status) or the error that ended the call. The transport
/// itself never sees a `World`.
pub(crate) trait Delivery: Send + Sync + 'static {
    /// Whether `status` is a success for the endpoint (anything else may be retried).
    fn is_success(&self, status: u16) -> bool;
    /// Decodes a success on the engine's worker, off the frame.
    fn decoder(&self) -> Arc<dyn Decode>;
    /// Delivers the outcome for `owner`, which exists.
    fn deliver(self: Box<Self>, world: &mut World, owner: Entity, outcome: Answer);
    /// Receives the outcome of a call whose owner is gone: only a call queued with
    /// `follow_orphan` gets here with an answer; the others do nothing.
    fn orphaned(self: Box<Self>, world: &mut World, outcome: Answer);
}

/// A call's final answer as the transport hands it back: the last answer (any status) or the
/// error that ended the call, and the answer decoded by the engine's worker, if it was.
pub(crate) struct Answer {
    pub(crate) result: Result<HttpResponse, EdgegapError>,
    pub(crate) decoded: Option<Decoded>,
}

impl Answer {
    /// An error known without sending anything.
    fn error(error: EdgegapError) -> Self {
        Self {
            result: Err(error),
            decoded: None,
        }
    }

    /// The answer decoded with `endpoint`: what the worker decoded, else decoded here.
    fn decode<E: Endpoint>(self, endpoint: &E) -> Result<E::Output, EdgegapError> {
        match self
            .decoded
            .and_then(|decoded| decoded.downcast::<Result<E::Output, EdgegapError>>().ok())
        {
            Some(decoded) => *decoded,
            None => self.result.and_then(|response| endpoint.decode(&response)),
        }
    }
}

impl Payload for Box<dyn Delivery> {
    fn is_success(&self, status: u16) -> bool {
        (**self).is_success(status)
    }

    fn decoder(&self) -> Option<Arc<dyn Decode>> {
        Some((**self).decoder())
    }
}

/// Every endpoint decodes its success answers where they arrive.
impl<E: Endpoint> Decode for E {
    fn decode_answer(&self, response: &HttpResponse) -> Option<Decoded> {
        self.is_success(response.status)
            .then(|| Box::new(self.decode_success(response)) as Decoded)
    }
}

/// The client's transport: calls owned by entities, delivered to the world.
pub(crate) type ClientTransport = Transport<Entity, Box<dyn Delivery>>;

/// The transport as a resource.
#[derive(Resource, Default)]
pub(crate) struct EdgegapTransport(pub(crate) ClientTransport);

/// Delivers what the transport handed back: to the owner while it exists, else to the
/// call's orphan handler (a deploy's answer after its entity was despawned).
pub(crate) fn deliver_outcomes(
    world: &mut World,
    outcomes: Vec<Outcome<Entity, Box<dyn Delivery>>>,
) {
    for Outcome {
        owner,
        payload,
        result,
        decoded,
    } in outcomes
    {
        let answer = Answer { result, decoded };
        if world.get_entity(owner).is_ok() {
            payload.deliver(world, owner, answer);
        } else {
            payload.orphaned(world, answer);
        }
    }
}

/// The endpoint's short type name, for logs. Runs for every call: single-character searches
/// (a `memchr` each way), no substring searcher.
pub(crate) fn short_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.find('<').map_or(full, |generics| &full[..generics]);
    base.rfind(':').map_or(base, |path| &base[path + 1..])
}

/// Writes the message (when registered) and triggers the event on its entity (when alive and
/// an observer watches it: an event nobody observes is neither cloned nor triggered).
pub(crate) fn emit<M>(world: &mut World, event: M)
where
    M: Message + Clone + for<'a> EntityEvent<Trigger<'a>: Default>,
{
    let target = event.event_target();
    let observed = world.get_entity(target).is_ok() && observed::<M>(world, target);
    match (world.contains_resource::<Messages<M>>(), observed) {
        (true, true) => {
            world.write_message(event.clone());
            world.trigger(event);
        }
        (true, false) => {
            world.write_message(event);
        }
        (false, true) => world.trigger(event),
        (false, false) => {}
    }
}

/// Whether triggering `M` on `target` would run an observer: a global one, one watching
/// `target`, or (to be safe) one watching a component.
fn observed<M: for<'a> EntityEvent<Trigger<'a>: Default>>(world: &World, target: Entity) -> bool {
    let Some(key) = world.event_key::<M>() else {
        return false; // never observed nor triggered
    };
    world
        .observers()
        .try_get_observers(key)
        .is_some_and(|observers| {
            !observers.global_observers().is_empty()
                || observers.entity_observers().contains_key(&target)
                || !observers.component_observers().is_empty()
        })
}

/// What runs after a call resolved (its response emitted, if it is emitted at all).
pub(crate) type Then<E> = Box<
    dyn FnOnce(&mut World, Entity, &Result<<E as Endpoint>::Output, EdgegapError>) + Send + Sync,
>;

/// What runs when the answer of a call whose owner is gone arrives.
pub(crate) type Orphaned<E> =
    Box<dyn FnOnce(&mut World, Result<<E as Endpoint>::Output, EdgegapError>) + Send + Sync>;

/// How a call is handled besides sending it.
pub(crate) struct Handling<E: Endpoint> {
    /// Emit [`EdgegapResponse<E>`] (user calls); internal polls and searches do not.
    pub(crate) respond: bool,
    /// `Idempotency-Key` (gateway deploys): the call may then be re-sent like an idempotent one.
    pub(crate) key: Option<String>,
    /// Overrides the configured retry policy.
    pub(crate) retry: Option<RetryPolicy>,
    /// Overrides the configured budget ([`EdgegapConfig::deadline`]).
    pub(crate) budget: Option<std::time::Duration>,
    /// Runs after the result.
    pub(crate) then: Option<Then<E>>,
    /// Follows a request on the wire whose owner is gone.
    pub(crate) orphaned: Option<Orphaned<E>>,
}

impl<E: Endpoint> Handling<E> {
    /// A user call: its response is emitted.
    pub(crate) fn respond() -> Self {
        Self {
            respond: true,
            key: None,
            retry: None,
            budget: None,
            then: None,
            orphaned: None,
        }
    }

    /// An internal call: no response is emitted, `then` gets the result.
    pub(crate) fn internal(then: Then<E>) -> Self {
        Self {
            respond: false,
            then: Some(then),
            ..Self::respond()
        }
    }

    /// Runs `then` after the result.
    pub(crate) fn then(mut self, then: Then<E>) -> Self {
        self.then = Some(then);
        self
    }
}

/// Decodes with `E`, emits [`EdgegapResponse<E>`] (if asked), runs `then`, despawns a
/// finished call entity.
struct TypedCall<E: Endpoint> {
    /// Shared with the engine's worker, which decodes a success with it.
    endpoint: Arc<E>,
    respond: bool,
    then: Option<Then<E>>,
    orphaned: Option<Orphaned<E>>,
}

impl<E: Endpoint> Delivery for TypedCall<E>
where
    E::Output: Clone,
{
    fn is_success(&self, status: u16) -> bool {
        self.endpoint.is_success(status)
    }

    fn decoder(&self) -> Arc<dyn Decode> {
        self.endpoint.clone()
    }

    fn deliver(self: Box<Self>, world: &mut World, owner: Entity, answer: Answer) {
        let result = answer.decode(&*self.endpoint);
        if let Err(error) = &result {
            bevy::log::debug!("`{}` failed: {error}", short_name::<E>());
        }
        if self.respond {
            let then_result = self.then.is_some().then(|| result.clone());
            emit(
                world,
                EdgegapResponse::<E> {
                    entity: owner,
                    result,
                },
            );
            if let (Some(then), Some(result)) = (self.then, then_result) {
                then(world, owner, &result);
            }
        } else if let Some(then) = self.then {
            then(world, owner, &result);
        }
        if world.get::<EdgegapCall>(owner).is_some() && world.get::<KeepCall>(owner).is_none() {
            world.despawn(owner);
        }
    }

    fn orphaned(self: Box<Self>, world: &mut World, answer: Answer) {
        if let Some(orphaned) = self.orphaned {
            orphaned(world, answer.decode(&*self.endpoint));
        }
    }
}

/// A resource that holds a client transport: the organisation API's
/// ([`EdgegapTransport`]) or the matchmaker's, each with its own queue, rate limits and
/// workers.
pub(crate) trait TransportResource:
    Resource + bevy::ecs::component::Component<Mutability = bevy::ecs::component::Mutable>
{
    /// The transport.
    fn transport(&mut self) -> &mut ClientTransport;
}

impl TransportResource for EdgegapTransport {
    fn transport(&mut self) -> &mut ClientTransport {
        &mut self.0
    }
}

/// A call made ready by its configuration: the request (or why it cannot be sent), its
/// budget and its retry rule.
pub(crate) struct Prepared {
    pub(crate) built: Result<HttpRequest, EdgegapError>,
    pub(crate) budget: std::time::Duration,
    pub(crate) retry: RetryPolicy,
}

/// Builds `endpoint`'s request with the current config ([`EdgegapConfig::build`]) and queues
/// it for `owner`. Bad config, a call the gateway does not serve, or a request that fails
/// validation resolves on the next frame with the error.
pub(crate) fn enqueue<E: Endpoint>(world: &mut World, owner: Entity, endpoint: E, how: Handling<E>)
where
    E::Output: Clone,
{
    let prepared = match world.get_resource::<EdgegapConfig>() {
        Some(config) => Prepared {
            built: config.build(&endpoint, how.key.as_deref()),
            budget: how.budget.unwrap_or(config.deadline),
            retry: how.retry.clone().unwrap_or_else(|| config.retry.clone()),
        },
        None => Prepared {
            built: Err(EdgegapError::Config(
                "EdgegapClientPlugin was not added to the app".into(),
            )),
            budget: std::time::Duration::from_secs(10),
            retry: RetryPolicy::never(),
        },
    };
    enqueue_on::<EdgegapTransport, E>(world, owner, endpoint, how, prepared);
}

/// Queues a prepared call on transport `T`: the one place a call becomes a transport job.
/// Without the transport resource (no plugin), the error is delivered at once.
pub(crate) fn enqueue_on<T: TransportResource, E: Endpoint>(
    world: &mut World,
    owner: Entity,
    endpoint: E,
    how: Handling<E>,
    prepared: Prepared,
) where
    E::Output: Clone,
{
    let Prepared {
        built,
        budget,
        retry,
    } = prepared;
    let class = endpoint.class();
    let idempotent = endpoint.idempotent() || how.key.is_some();
    let follow_orphan = how.orphaned.is_some();
    let delivery: Box<dyn Delivery> = Box::new(TypedCall {
        endpoint: Arc::new(endpoint),
        respond: how.respond,
        then: how.then,
        orphaned: how.orphaned,
    });
    // A call refused before sending resolves on the next frame: wake the app for it (the
    // hook is otherwise handed over when calls are dispatched).
    let hook = built.is_err().then(|| wake::hook(world).cloned()).flatten();
    let Some(mut transport) = world.get_resource_mut::<T>() else {
        // No plugin (or its transport is out of the world for a moment): resolve right here,
        // never drop the call.
        let error = built.err().unwrap_or_else(|| {
            EdgegapError::Config("the client plugin's transport is not in the world".into())
        });
        delivery.deliver(world, owner, Answer::error(error));
        return;
    };
    match built {
        Ok(request) => transport.transport().enqueue(Job {
            owner,
            class,
            idempotent,
            request: request.into(),
            payload: delivery,
            budget,
            attempt_timeout: None,
            retry,
            label: short_name::<E>(),
            secret_url: false,
            follow_orphan,
        }),
        Err(error) => {
            let transport = transport.transport();
            transport.use_wake(hook.as_ref());
            transport.resolve_now(owner, delivery, error);
        }
    }
}

/// Collects what transport `T` has finished and delivers it to the world (the transport is
/// put back first: observers run during delivery and may queue calls). Returns whether
/// anything was delivered (slots were freed).
pub(crate) fn receive_on<T: TransportResource>(world: &mut World) -> bool {
    let now = Instant::now();
    let mut transport = std::mem::take(world.resource_mut::<T>().transport());
    let outcomes = transport.poll(now, |entity| world.get_entity(entity).is_ok());
    *world.resource_mut::<T>().transport() = transport;
    let freed = !outcomes.is_empty();
    deliver_outcomes(world, outcomes);
    freed
}

/// Delivers `error` to `owner` as `E`'s response, now (a call that cannot be made).
pub(crate) fn deliver_error<E: Endpoint>(
    world: &mut World,
    owner: Entity,
    endpoint: E,
    error: EdgegapError,
) where
    E::Output: Clone,
{
    let delivery: Box<dyn Delivery> = Box::new(TypedCall {
        endpoint: Arc::new(endpoint),
        respond: true,
        then: None,
        orphaned: None,
    });
    delivery.deliver(world, owner, Answer::error(error));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GetStatus;

    #[test]
    fn short_names() {
        assert_eq!(short_name::<GetStatus>(), "GetStatus");
        assert_eq!(short_name::<u32>(), "u32");
        assert_eq!(short_name::<Vec<GetStatus>>(), "Vec");
        assert_eq!(
            short_name::<EdgegapResponse<GetStatus>>(),
            "EdgegapResponse"
        );
    }
}
