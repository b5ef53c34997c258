//! Deployments as entities: the [`Deployment`] component kept current by status polling,
//! the `Deployment*` messages/events, and the orphan guard ([`StopOnExit`],
//! [`StopOnDespawn`], the ready timeout).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bevy::app::AppExit;
use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::lifecycle::{Despawn, Remove};
use bevy::ecs::message::{Message, MessageReader};
use bevy::ecs::observer::On;
use bevy::ecs::query::With;
use bevy::ecs::resource::Resource;
use bevy::ecs::system::{Query, Res, ResMut};
use bevy::ecs::world::World;
use bevy::log::{debug, info, warn};
use bevy::platform::time::Instant;

use super::call::{
    AfterHook, Edgegap, EdgegapCall, EdgegapTransport, OrphanHook, deliver_error, emit, enqueue,
    short_name,
};
use super::config::EdgegapConfig;
use crate::api::{
    ConnectAddress, DeployResponse, DeploymentStatus, EdgegapError, Endpoint, GetStatus,
    HttpResponse, RequestId, Status, StopDeployment, StopResponse,
};
use crate::http::{RetryPolicy, spawn_request};
use crate::transport::{Delivery, Job};

/// A deployment this app follows: made by [`Edgegap::deploy`] / [`Edgegap::deploy_to_fleet`],
/// or followed with [`Edgegap::track`]. The plugin polls its status within the shared status
/// rate budget until it reaches a terminal state (TERMINATED or ERROR).
#[derive(Component, Debug, Clone)]
pub struct Deployment {
    request_id: Option<RequestId>,
    status: Status,
    last: Option<DeploymentStatus>,
    issued_at: Instant,
    ready_at: Option<Instant>,
    ended_at: Option<Instant>,
    last_polled_at: Option<Instant>,
    created_here: bool,
    stop_requested: bool,
    failed: bool,
    pending_stop: Option<Entity>,
    poll_interval: Duration,
    next_poll: Option<Instant>,
    polling: bool,
}

impl Deployment {
    pub(crate) fn created(now: Instant) -> Self {
        Self {
            request_id: None,
            status: Status::Initializing,
            last: None,
            issued_at: now,
            ready_at: None,
            ended_at: None,
            last_polled_at: None,
            created_here: true,
            stop_requested: false,
            failed: false,
            pending_stop: None,
            poll_interval: Duration::from_secs(1),
            next_poll: None,
            polling: false,
        }
    }

    pub(crate) fn tracked(request_id: RequestId, now: Instant) -> Self {
        Self {
            request_id: Some(request_id),
            created_here: false,
            ..Self::created(now)
        }
    }

    /// A deployment in the state `status` describes, **not polled** (to show a known
    /// deployment in the ECS, or for tests and benches). Use [`Edgegap::track`] to follow one.
    pub fn from_status(status: DeploymentStatus) -> Self {
        let now = Instant::now();
        let mut deployment = Self::tracked(status.request_id.clone(), now);
        deployment.status = status.current_status.clone();
        if deployment.status.is_ready() {
            deployment.ready_at = Some(now);
        }
        if deployment.status.is_terminal() {
            deployment.ended_at = Some(now);
        }
        deployment.last = Some(status);
        deployment
    }

    /// The deployment's id, once the deploy answered.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// The last status seen (`Initializing` before the first poll).
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The last status answer.
    pub fn last(&self) -> Option<&DeploymentStatus> {
        self.last.as_ref()
    }

    /// Where players connect for port `port_name`, once known.
    pub fn address(&self, port_name: &str) -> Option<ConnectAddress> {
        self.last.as_ref()?.address(port_name)
    }

    /// When the deploy (or the tracking) was issued.
    pub fn issued_at(&self) -> Instant {
        self.issued_at
    }

    /// When READY was first seen.
    pub fn ready_at(&self) -> Option<Instant> {
        self.ready_at
    }

    /// When a terminal state (or failure) was first seen.
    pub fn ended_at(&self) -> Option<Instant> {
        self.ended_at
    }

    /// When the last status answer arrived.
    pub fn last_polled_at(&self) -> Option<Instant> {
        self.last_polled_at
    }

    /// Whether this app deployed it (rather than tracking it).
    pub fn created_here(&self) -> bool {
        self.created_here
    }

    /// Whether a stop was requested through this app.
    pub fn stop_requested(&self) -> bool {
        self.stop_requested
    }

    /// Whether [`DeploymentFailed`] was emitted for it.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// Whether the plugin still follows it (a poll is scheduled or on its way).
    pub fn is_polled(&self) -> bool {
        self.next_poll.is_some() || self.polling
    }
}

/// On a deployment entity: stop the deployment when the app exits (best effort, bounded by
/// [`EdgegapConfig::exit_stop_wait`]) and when it never becomes READY within
/// [`EdgegapConfig::ready_timeout`]. Added by [`Edgegap::deploy`]; remove it to let the
/// deployment outlive the app.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct StopOnExit;

/// On a deployment entity: stop the deployment when the entity is despawned.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct StopOnDespawn;

/// The deploy was accepted: the deployment has an id.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct DeploymentCreated {
    /// The deployment entity.
    pub entity: Entity,
    /// Its id.
    pub request_id: RequestId,
}

/// A poll saw a different status.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct DeploymentStatusChanged {
    /// The deployment entity.
    pub entity: Entity,
    /// Its id.
    pub request_id: RequestId,
    /// The status before.
    pub from: Status,
    /// The status now.
    pub to: Status,
}

/// The deployment is READY: players can connect.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct DeploymentReady {
    /// The deployment entity.
    pub entity: Entity,
    /// Its id.
    pub request_id: RequestId,
    /// The status answer that said READY (public IP, FQDN, ports).
    pub status: DeploymentStatus,
}

impl DeploymentReady {
    /// Where players connect for port `port_name`.
    pub fn address(&self, port_name: &str) -> Option<ConnectAddress> {
        self.status.address(port_name)
    }
}

/// Why a deployment failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FailureReason {
    /// Edgegap reported `Status.ERROR`, with its `error_detail`.
    Error(Option<String>),
    /// Not READY within [`EdgegapConfig::ready_timeout`] (it is then stopped if it has
    /// [`StopOnExit`]).
    ReadyTimeout(Duration),
    /// The deploy or a status call failed for good.
    Api(EdgegapError),
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Error(Some(detail)) => write!(f, "deployment in error: {detail}"),
            Self::Error(None) => write!(f, "deployment in error"),
            Self::ReadyTimeout(after) => write!(f, "not ready after {after:?}"),
            Self::Api(error) => error.fmt(f),
        }
    }
}

/// The deployment failed (emitted once per deployment).
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct DeploymentFailed {
    /// The deployment entity.
    pub entity: Entity,
    /// Its id, when the deploy got that far.
    pub request_id: Option<RequestId>,
    /// What happened.
    pub reason: FailureReason,
}

/// The deployment is TERMINATED (seen by a poll, or a stop answered `410 Gone`).
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct DeploymentTerminated {
    /// The deployment entity.
    pub entity: Entity,
    /// Its id.
    pub request_id: RequestId,
    /// The last status answer, if any.
    pub status: Option<DeploymentStatus>,
}

/// Poll schedule, ready deadlines and the id → entity index.
#[derive(Resource, Default)]
pub(crate) struct Tracker {
    schedule: BTreeSet<(Instant, Entity)>,
    ready_deadlines: BTreeSet<(Instant, Entity)>,
    index: HashMap<RequestId, Entity>,
}

impl Tracker {
    fn schedule(&mut self, deployment: &mut Deployment, entity: Entity, at: Instant) {
        deployment.next_poll = Some(at);
        self.schedule.insert((at, entity));
    }
}

fn now() -> Instant {
    Instant::now()
}

/// Queues a deploy for the deployment `entity`.
pub(crate) fn start_deploy<E>(world: &mut World, entity: Entity, request: E)
where
    E: Endpoint<Output = DeployResponse>,
{
    let hook: AfterHook<E> = Box::new(on_deploy_answer);
    let orphaned: OrphanHook<E> = Box::new(stop_orphan);
    enqueue(world, entity, request, Some(hook), Some(orphaned));
}

/// The deployment entity was despawned while its deploy was on the wire: nobody can follow
/// the deployment it created, so it is stopped.
fn stop_orphan(world: &mut World, result: Result<DeployResponse, EdgegapError>) {
    if let Ok(answer) = result {
        info!(
            "stopping deployment `{}`: its entity was despawned before the deploy answered",
            answer.request_id
        );
        let call = world
            .spawn(EdgegapCall::new(short_name::<StopDeployment>()))
            .id();
        enqueue(
            world,
            call,
            StopDeployment::new(answer.request_id),
            None,
            None,
        );
    }
}

fn on_deploy_answer(
    world: &mut World,
    entity: Entity,
    result: &Result<DeployResponse, EdgegapError>,
) {
    let config = world.resource::<EdgegapConfig>().clone();
    let Some(mut deployment) = world.get_mut::<Deployment>(entity) else {
        return;
    };
    match result {
        Ok(answer) => {
            let request_id = answer.request_id.clone();
            debug!("deployment `{request_id}` created");
            deployment.request_id = Some(request_id.clone());
            deployment.poll_interval = config.poll.initial;
            let pending_stop = deployment.pending_stop.take();
            let issued_at = deployment.issued_at;
            let mut deployment = deployment.clone();
            let mut tracker = world.resource_mut::<Tracker>();
            tracker.index.insert(request_id.clone(), entity);
            tracker.schedule(&mut deployment, entity, now() + config.poll.initial);
            if let Some(timeout) = config.ready_timeout {
                tracker
                    .ready_deadlines
                    .insert((issued_at + timeout, entity));
            }
            world.entity_mut(entity).insert(deployment);
            emit(
                world,
                DeploymentCreated {
                    entity,
                    request_id: request_id.clone(),
                },
            );
            if let Some(call) = pending_stop {
                send_stop(world, entity, call, request_id);
            }
        }
        Err(error) => {
            warn!("deploy failed: {error}");
            deployment.failed = true;
            deployment.ended_at = Some(now());
            let pending_stop = deployment.pending_stop.take();
            let request_id = match error {
                EdgegapError::Api { request_id, .. } => request_id.clone(),
                _ => None,
            };
            if request_id.is_some() {
                deployment.request_id = request_id.clone();
            }
            emit(
                world,
                DeploymentFailed {
                    entity,
                    request_id: request_id.clone(),
                    reason: FailureReason::Api(error.clone()),
                },
            );
            if let Some(call) = pending_stop {
                match request_id {
                    Some(id) => send_stop(world, entity, call, id),
                    None => deliver_error(
                        world,
                        call,
                        StopDeployment::new(""),
                        EdgegapError::Cancelled,
                    ),
                }
            }
        }
    }
}

/// Starts following `request_id` on `entity`.
pub(crate) fn start_tracking(world: &mut World, entity: Entity, request_id: RequestId) {
    let Some(mut deployment) = world.get_mut::<Deployment>(entity).map(|d| d.clone()) else {
        return;
    };
    deployment.poll_interval = world.resource::<EdgegapConfig>().poll.initial;
    let mut tracker = world.resource_mut::<Tracker>();
    tracker.index.insert(request_id, entity);
    // First poll right away.
    tracker.schedule(&mut deployment, entity, now());
    world.entity_mut(entity).insert(deployment);
}

fn send_stop(world: &mut World, deployment: Entity, call: Entity, request_id: RequestId) {
    if let Some(mut d) = world.get_mut::<Deployment>(deployment) {
        d.stop_requested = true;
    }
    let id = request_id.clone();
    let hook: AfterHook<StopDeployment> = Box::new(move |world, _call, result| {
        on_stop_answer(world, &id, result);
    });
    enqueue(
        world,
        call,
        StopDeployment::new(request_id),
        Some(hook),
        None,
    );
}

/// [`Edgegap::stop_deployment`].
pub(crate) fn stop_entity(world: &mut World, deployment: Entity, call: Entity) {
    let Some(mut d) = world.get_mut::<Deployment>(deployment) else {
        deliver_error(
            world,
            call,
            StopDeployment::new(""),
            EdgegapError::invalid("deployment", "the entity has no Deployment component"),
        );
        return;
    };
    match d.request_id.clone() {
        Some(request_id) => send_stop(world, deployment, call, request_id),
        None if !d.failed => {
            d.stop_requested = true;
            d.pending_stop = Some(call);
        }
        None => deliver_error(
            world,
            call,
            StopDeployment::new(""),
            EdgegapError::Cancelled,
        ),
    }
}

/// After a stop answered: the tracked deployment (if any) is followed to TERMINATED.
pub(crate) fn on_stop_answer(
    world: &mut World,
    request_id: &RequestId,
    result: &Result<StopResponse, EdgegapError>,
) {
    let Some(&entity) = world.resource::<Tracker>().index.get(request_id) else {
        return;
    };
    let Some(mut deployment) = world.get_mut::<Deployment>(entity).map(|d| d.clone()) else {
        return;
    };
    deployment.stop_requested = true;
    match result {
        Err(error) if error.is_already_terminated() => {
            let from = deployment.status.clone();
            mark_terminated(world, entity, deployment, from, None);
        }
        // An ERROR deployment that was stopped is followed to TERMINATED too.
        _ if deployment.status == Status::Terminated => {}
        _ => {
            // Poll soon to follow it to TERMINATED.
            let initial = world.resource::<EdgegapConfig>().poll.initial;
            deployment.poll_interval = initial;
            let at = now() + initial;
            let mut tracker = world.resource_mut::<Tracker>();
            if let Some(old) = deployment.next_poll {
                if old > at {
                    tracker.schedule.remove(&(old, entity));
                    tracker.schedule(&mut deployment, entity, at);
                }
            } else if !deployment.polling {
                tracker.schedule(&mut deployment, entity, at);
            }
            world.entity_mut(entity).insert(deployment);
        }
    }
}

fn mark_terminated(
    world: &mut World,
    entity: Entity,
    mut deployment: Deployment,
    from: Status,
    status: Option<DeploymentStatus>,
) {
    let Some(request_id) = deployment.request_id.clone() else {
        return;
    };
    debug!("deployment `{request_id}` terminated");
    deployment.status = Status::Terminated;
    deployment.ended_at.get_or_insert_with(now);
    if let Some(at) = deployment.next_poll.take() {
        world
            .resource_mut::<Tracker>()
            .schedule
            .remove(&(at, entity));
    }
    if let Some(status) = &status {
        deployment.last = Some(status.clone());
    }
    world.entity_mut(entity).insert(deployment);
    if from != Status::Terminated {
        emit(
            world,
            DeploymentStatusChanged {
                entity,
                request_id: request_id.clone(),
                from,
                to: Status::Terminated,
            },
        );
        emit(
            world,
            DeploymentTerminated {
                entity,
                request_id,
                status,
            },
        );
    }
}

fn fail(world: &mut World, entity: Entity, reason: FailureReason) {
    let Some(mut deployment) = world.get_mut::<Deployment>(entity) else {
        return;
    };
    if deployment.failed {
        return;
    }
    deployment.failed = true;
    let request_id = deployment.request_id.clone();
    warn!(
        "deployment `{}` failed: {reason}",
        request_id.as_ref().map(RequestId::as_str).unwrap_or("?")
    );
    emit(
        world,
        DeploymentFailed {
            entity,
            request_id,
            reason,
        },
    );
}

/// Decodes a poll and updates the deployment.
struct Poll {
    endpoint: GetStatus,
}

impl Delivery for Poll {
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
        on_poll_answer(world, owner, result);
    }
}

fn on_poll_answer(
    world: &mut World,
    entity: Entity,
    result: Result<DeploymentStatus, EdgegapError>,
) {
    let poll = world.resource::<EdgegapConfig>().poll.clone();
    let Some(mut deployment) = world.get_mut::<Deployment>(entity).map(|d| d.clone()) else {
        return;
    };
    let Some(request_id) = deployment.request_id.clone() else {
        return;
    };
    let now = now();
    deployment.polling = false;
    if deployment.status == Status::Terminated {
        // Already seen terminated (a stop's 410): a late poll changes nothing.
        world.entity_mut(entity).insert(deployment);
        return;
    }
    match result {
        Ok(status) => {
            deployment.last_polled_at = Some(now);
            let from = deployment.status.clone();
            let to = status.current_status.clone();
            if to == Status::Terminated {
                mark_terminated(world, entity, deployment, from, Some(status));
                return;
            }
            let changed = from != to;
            deployment.status = to.clone();
            deployment.last = Some(status.clone());
            deployment.poll_interval = if changed {
                poll.initial
            } else {
                poll.next(deployment.poll_interval)
            };
            if to.is_ready() && deployment.ready_at.is_none() {
                deployment.ready_at = Some(now);
            }
            if to.is_terminal() {
                deployment.ended_at.get_or_insert(now);
            }
            // ERROR ends polling, unless a stop was asked for: then follow it to TERMINATED.
            if !to.is_terminal() || deployment.stop_requested {
                let at = now + deployment.poll_interval;
                world
                    .resource_mut::<Tracker>()
                    .schedule(&mut deployment, entity, at);
            }
            world.entity_mut(entity).insert(deployment);
            if changed {
                debug!("deployment `{request_id}` is `{to}`");
                emit(
                    world,
                    DeploymentStatusChanged {
                        entity,
                        request_id: request_id.clone(),
                        from,
                        to: to.clone(),
                    },
                );
                if to.is_ready() {
                    emit(
                        world,
                        DeploymentReady {
                            entity,
                            request_id,
                            status,
                        },
                    );
                } else if to == Status::Error {
                    fail(
                        world,
                        entity,
                        FailureReason::Error(status.error_detail.clone()),
                    );
                }
            }
        }
        Err(error) if error.is_not_found() && deployment.stop_requested => {
            let from = deployment.status.clone();
            mark_terminated(world, entity, deployment, from, None);
        }
        Err(error) if is_permanent(&error) => {
            deployment.ended_at.get_or_insert(now);
            world.entity_mut(entity).insert(deployment);
            fail(world, entity, FailureReason::Api(error));
        }
        Err(error) => {
            // Transient (5xx, 429, transport, timeout): poll again later.
            debug!("status of `{request_id}` failed, polling again: {error}");
            let wait = error
                .retry_after()
                .unwrap_or(deployment.poll_interval)
                .max(poll.initial);
            deployment.poll_interval = poll.next(deployment.poll_interval);
            world
                .resource_mut::<Tracker>()
                .schedule(&mut deployment, entity, now + wait);
            world.entity_mut(entity).insert(deployment);
        }
    }
}

fn is_permanent(error: &EdgegapError) -> bool {
    match error {
        EdgegapError::Config(_) | EdgegapError::Invalid { .. } | EdgegapError::Decode { .. } => {
            true
        }
        EdgegapError::Api { status, .. } => (400..500).contains(status) && *status != 429,
        _ => false,
    }
}

/// Run condition of [`track_deployments`]: a status poll or a ready timeout is due.
pub(crate) fn tracking_due(tracker: Res<Tracker>) -> bool {
    let now = now();
    let due = |set: &BTreeSet<(Instant, Entity)>| set.first().is_some_and(|&(at, _)| at <= now);
    due(&tracker.schedule) || due(&tracker.ready_deadlines)
}

/// Runs in `PostUpdate` ([`EdgegapSystems::Track`](super::EdgegapSystems::Track)): ready
/// timeouts, then status polls of the deployments whose turn it is, oldest due first, as
/// many as the status budget has room for.
pub(crate) fn track_deployments(world: &mut World) {
    let now = now();
    let (timeouts_due, polls_due) = {
        let tracker = world.resource::<Tracker>();
        (
            tracker
                .ready_deadlines
                .first()
                .is_some_and(|&(t, _)| t <= now),
            tracker.schedule.first().is_some_and(|&(t, _)| t <= now),
        )
    };
    if timeouts_due {
        ready_timeouts(world, now);
    }
    if polls_due {
        issue_polls(world, now);
    }
}

fn ready_timeouts(world: &mut World, now: Instant) {
    let Some(timeout) = world.resource::<EdgegapConfig>().ready_timeout else {
        world.resource_mut::<Tracker>().ready_deadlines.clear();
        return;
    };
    loop {
        let mut tracker = world.resource_mut::<Tracker>();
        let Some(&(at, entity)) = tracker.ready_deadlines.first() else {
            break;
        };
        if at > now {
            break;
        }
        tracker.ready_deadlines.pop_first();
        let Some(deployment) = world.get::<Deployment>(entity) else {
            continue;
        };
        if deployment.ready_at.is_some() || deployment.status.is_terminal() || deployment.failed {
            continue;
        }
        let request_id = deployment.request_id.clone();
        let stop = world.get::<StopOnExit>(entity).is_some() && !deployment.stop_requested;
        fail(world, entity, FailureReason::ReadyTimeout(timeout));
        if let (true, Some(request_id)) = (stop, request_id) {
            info!("stopping deployment `{request_id}`: not ready after `{timeout:?}`");
            let call = world
                .spawn(EdgegapCall::new(short_name::<StopDeployment>()))
                .id();
            send_stop(world, entity, call, request_id);
        }
    }
}

fn issue_polls(world: &mut World, now: Instant) {
    let config = world.resource::<EdgegapConfig>();
    let limits = config.rate_limits.clone();
    let max_in_flight = config.max_in_flight;
    let deadline = config.deadline;
    let config = config.clone();
    let spare = world.resource_mut::<EdgegapTransport>().0.spare(
        crate::api::EndpointClass::Status,
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
        if deployment.next_poll != Some(at) {
            continue; // stale entry
        }
        deployment.next_poll = None;
        deployment.polling = true;
        let Some(request_id) = deployment.request_id.clone() else {
            continue;
        };
        let endpoint = GetStatus::new(request_id);
        let built = config.build(&endpoint, None);
        match built {
            Ok(request) => {
                let job = Job::new(
                    entity,
                    endpoint.class(),
                    true,
                    request,
                    Box::new(Poll { endpoint }),
                    deadline,
                    RetryPolicy::never(),
                    "GetStatus (poll)",
                );
                world.resource_mut::<EdgegapTransport>().0.enqueue(job);
            }
            Err(error) => on_poll_answer(world, entity, Err(error)),
        }
    }
}

/// Keeps the id index in step when a `Deployment` goes away.
pub(crate) fn on_deployment_removed(
    removed: On<Remove, Deployment>,
    deployments: Query<&Deployment>,
    mut tracker: ResMut<Tracker>,
) {
    let entity = removed.event_target();
    if let Ok(deployment) = deployments.get(entity)
        && let Some(id) = &deployment.request_id
        && tracker.index.get(id) == Some(&entity)
    {
        tracker.index.remove(id);
    }
}

/// [`StopOnDespawn`]: stops the deployment of an entity being despawned.
pub(crate) fn on_despawn_stop(
    despawned: On<Despawn, StopOnDespawn>,
    deployments: Query<&Deployment>,
    mut edgegap: Edgegap,
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
            edgegap.stop(id);
        }
        (None, _) => warn!(
            "a deployment entity was despawned before its deploy answered; it cannot be stopped"
        ),
        _ => {}
    }
}

/// Runs in `Last` ([`EdgegapSystems::Exit`](super::EdgegapSystems::Exit)): on
/// [`AppExit`], stops the deployments with [`StopOnExit`] that were not seen terminated,
/// waiting at most [`EdgegapConfig::exit_stop_wait`] for the answers.
pub(crate) fn stop_on_exit(
    mut exits: MessageReader<AppExit>,
    config: Res<EdgegapConfig>,
    mut deployments: Query<&mut Deployment, With<StopOnExit>>,
) {
    if exits.is_empty() {
        return;
    }
    exits.clear();
    let mut pending = Vec::new();
    for mut deployment in &mut deployments {
        // ERROR deployments are stopped too: Edgegap only deletes them "after some time".
        if deployment.status == Status::Terminated {
            continue;
        }
        let Some(request_id) = deployment.request_id.clone() else {
            warn!("app exiting while a deploy is unanswered: that deployment cannot be stopped");
            continue;
        };
        let built = config.build(&StopDeployment::new(request_id.clone()), None);
        match built {
            Ok(request) => {
                deployment.stop_requested = true;
                pending.push((request_id, spawn_request(request)));
            }
            Err(error) => warn!("cannot stop deployment `{request_id}` on exit: {error}"),
        }
    }
    if pending.is_empty() {
        return;
    }
    info!("app exiting: stopping `{}` deployments", pending.len());
    let deadline = std::time::Instant::now() + config.exit_stop_wait;
    while !pending.is_empty() && std::time::Instant::now() < deadline {
        pending.retain(|(request_id, answer)| match answer.try_take() {
            None => true,
            Some(Ok(response)) if matches!(response.status, 200 | 202 | 410) => {
                debug!("deployment `{request_id}` stopped on exit");
                false
            }
            Some(Ok(response)) => {
                warn!(
                    "stopping deployment `{request_id}` on exit: `{}`",
                    response.status
                );
                false
            }
            Some(Err(error)) => {
                warn!("stopping deployment `{request_id}` on exit: {error}");
                false
            }
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    for (request_id, _) in pending {
        warn!("no answer to the stop of deployment `{request_id}` before exit");
    }
}
