//! Applies the lifecycle: drains the answers waiting in the [`Tracker`], runs
//! [`lifecycle::step`] on each, writes the deployment back, sets its phase marker, carries out
//! the commands (polls, stops, searches) and emits the transitions as messages and events.
//! Also the `Track` system: ready timeouts, due searches and due polls.

use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::lifecycle::Remove;
use bevy::ecs::observer::On;
use bevy::ecs::system::{Query, Res, ResMut};
use bevy::ecs::world::World;
use bevy::log::{debug, warn};

use super::config::EdgegapConfig;
use super::deployment::{
    Answer, Command, Deploying, Deployment, DeploymentCreated, DeploymentFailed, DeploymentReady,
    DeploymentStatusChanged, DeploymentTerminated, DeploymentUnobserved, Ended, Phase, Reconciling,
    Running, Starting, StopOnExit, Stopping, Tracker, Transition, Unobserved, later,
};
use super::lifecycle::{self, Policy};
use super::poll::issue_polls;
use super::reconcile;
use super::request::{deliver_error, emit};
use super::stop::send_stop;
use crate::api::{EdgegapError, RequestId, StopDeployment};
use crate::time::Instant;

/// Feeds every waiting answer to its deployment's lifecycle, until none is left.
pub(crate) fn drive(world: &mut World) {
    loop {
        let inbox = std::mem::take(&mut world.resource_mut::<Tracker>().inbox);
        if inbox.is_empty() {
            return;
        }
        for (entity, answer) in inbox {
            apply(world, entity, answer);
        }
    }
}

fn apply(world: &mut World, entity: Entity, answer: Answer) {
    let policy = Policy::new(world.resource::<EdgegapConfig>());
    let now = Instant::now();
    // The component is moved out for the step and written back in place: no clone of the
    // last status answer, no archetype move.
    let Some(mut held) = world.get_mut::<Deployment>(entity) else {
        if let Answer::StopRequested(Some(call)) = answer {
            cancel(world, call);
        }
        return;
    };
    let deployment = std::mem::replace(&mut *held, Deployment::created(now));
    let before = lifecycle::phase(&deployment);
    let step = lifecycle::step(deployment, answer, now, &policy);
    let phase = lifecycle::phase(&step.deployment);
    let request_id = step.deployment.request_id.clone();
    let long_poll_out = step.deployment.long_poll_sent.is_some();
    *held = step.deployment;
    let mut tracker = world.resource_mut::<Tracker>();
    if let Some(id) = &request_id {
        tracker.index.insert(id.clone(), entity);
    }
    if !long_poll_out {
        tracker.long_polls.remove(&entity);
    }
    if phase != before || !has_marker(world, entity, phase) {
        set_phase(world, entity, phase);
    }
    for command in step.commands {
        carry_out(world, entity, command, now);
    }
    for transition in step.transitions {
        report(world, entity, request_id.clone(), transition);
    }
}

fn set_phase(world: &mut World, entity: Entity, phase: Phase) {
    let mut e = world.entity_mut(entity);
    e.remove::<(Deploying, Reconciling, Starting, Running, Stopping, Ended)>();
    match phase {
        Phase::Deploying => e.insert(Deploying),
        Phase::Reconciling => e.insert(Reconciling),
        Phase::Starting => e.insert(Starting),
        Phase::Running => e.insert(Running),
        Phase::Stopping => e.insert(Stopping),
        Phase::Ended => e.insert(Ended),
    };
}

/// Whether `entity` carries `phase`'s marker.
fn has_marker(world: &World, entity: Entity, phase: Phase) -> bool {
    let e = world.entity(entity);
    match phase {
        Phase::Deploying => e.contains::<Deploying>(),
        Phase::Reconciling => e.contains::<Reconciling>(),
        Phase::Starting => e.contains::<Starting>(),
        Phase::Running => e.contains::<Running>(),
        Phase::Stopping => e.contains::<Stopping>(),
        Phase::Ended => e.contains::<Ended>(),
    }
}

fn carry_out(world: &mut World, entity: Entity, command: Command, now: Instant) {
    match command {
        Command::Poll(wait) => {
            let at = later(now, wait);
            let Some(mut deployment) = world.get_mut::<Deployment>(entity) else {
                return;
            };
            let old = deployment.next_poll.take();
            // One on its way: its answer schedules the next.
            let polling = deployment.polling;
            if !polling {
                deployment.next_poll = Some(at);
            }
            let polls = &mut world.resource_mut::<Tracker>().polls;
            if let Some(old) = old {
                polls.remove(old, entity);
            }
            if !polling {
                polls.insert(at, entity);
            }
        }
        Command::Stop { request_id, call } => {
            debug!("stopping deployment `{request_id}`");
            send_stop(world, call, StopDeployment::new(request_id));
        }
        Command::Reconcile(wait) => {
            world
                .resource_mut::<Tracker>()
                .reconciles
                .insert((later(now, wait), entity));
        }
        Command::Cancel(call) => cancel(world, call),
        Command::WatchReady => {
            let timeout = world.resource::<EdgegapConfig>().ready_timeout;
            if let (Some(timeout), Some(deployment)) = (timeout, world.get::<Deployment>(entity))
                && deployment.created_here
            {
                let at = later(deployment.issued_at, timeout);
                world
                    .resource_mut::<Tracker>()
                    .ready_deadlines
                    .insert((at, entity));
            }
        }
    }
}

fn cancel(world: &mut World, call: Entity) {
    if world.get_entity(call).is_ok() {
        deliver_error(
            world,
            call,
            StopDeployment::new(""),
            EdgegapError::Cancelled,
        );
    }
}

fn report(
    world: &mut World,
    entity: Entity,
    request_id: Option<RequestId>,
    transition: Transition,
) {
    let id = || request_id.clone().unwrap_or_default();
    match transition {
        Transition::Created(request_id) => {
            debug!("deployment `{request_id}` created");
            emit(world, DeploymentCreated { entity, request_id });
        }
        Transition::Changed { from, to } => {
            debug!("deployment `{}` is `{to}`", id());
            emit(
                world,
                DeploymentStatusChanged {
                    entity,
                    request_id: id(),
                    from,
                    to,
                },
            );
        }
        Transition::Ready(status) => emit(
            world,
            DeploymentReady {
                entity,
                request_id: id(),
                status,
            },
        ),
        Transition::Failed {
            reason,
            server_may_exist,
            stopped,
        } => {
            warn!(
                "deployment `{}` failed: {reason} (a server may exist: `{server_may_exist}`, \
                 stopped: `{stopped}`)",
                request_id.as_ref().map(RequestId::as_str).unwrap_or("?")
            );
            emit(
                world,
                DeploymentFailed {
                    entity,
                    request_id,
                    reason,
                    server_may_exist,
                    stopped,
                },
            );
        }
        Transition::Terminated(status) => {
            debug!("deployment `{}` terminated", id());
            emit(
                world,
                DeploymentTerminated {
                    entity,
                    request_id: id(),
                    status,
                },
            );
        }
        Transition::Unobserved { failures, error } => {
            warn!(
                "status of deployment `{}` failed `{failures}` times in a row, still \
                 following it: {error}",
                id()
            );
            world.entity_mut(entity).insert(Unobserved);
            emit(
                world,
                DeploymentUnobserved {
                    entity,
                    request_id: id(),
                    failures,
                    error,
                },
            );
        }
        Transition::Observed => {
            world.entity_mut(entity).remove::<Unobserved>();
        }
    }
}

/// Run condition of [`track_deployments`]: answers wait, or a poll, search or ready timeout
/// is due.
pub(crate) fn tracking_due(tracker: Res<Tracker>) -> bool {
    tracker.due(Instant::now())
}

/// Runs in `PostUpdate` ([`EdgegapSystems::Track`](super::super::EdgegapSystems::Track)):
/// waiting answers, ready timeouts, due searches, then the status polls whose turn it is.
pub(crate) fn track_deployments(world: &mut World) {
    drive(world);
    let now = Instant::now();
    ready_timeouts(world, now);
    while let Some(entity) = pop_due(&mut world.resource_mut::<Tracker>().reconciles, now) {
        reconcile::search(world, entity);
    }
    drive(world);
    issue_polls(world, now);
}

fn pop_due(
    set: &mut std::collections::BTreeSet<(Instant, Entity)>,
    now: Instant,
) -> Option<Entity> {
    let &(at, entity) = set.first()?;
    (at <= now).then(|| {
        set.pop_first();
        entity
    })
}

fn ready_timeouts(world: &mut World, now: Instant) {
    let Some(after) = world.resource::<EdgegapConfig>().ready_timeout else {
        world.resource_mut::<Tracker>().ready_deadlines.clear();
        return;
    };
    while let Some(entity) = pop_due(&mut world.resource_mut::<Tracker>().ready_deadlines, now) {
        let stop = world.get::<StopOnExit>(entity).is_some();
        world
            .resource_mut::<Tracker>()
            .push(entity, Answer::ReadyTimeout { after, stop });
    }
    drive(world);
}

/// Keeps the id index and the long-polls out in step when a `Deployment` goes away.
pub(crate) fn on_deployment_removed(
    removed: On<Remove, Deployment>,
    deployments: Query<&Deployment>,
    mut tracker: ResMut<Tracker>,
) {
    let entity = removed.event_target();
    tracker.long_polls.remove(&entity);
    if let Ok(deployment) = deployments.get(entity)
        && let Some(id) = &deployment.request_id
        && tracker.index.get(id) == Some(&entity)
    {
        tracker.index.remove(id);
    }
}
