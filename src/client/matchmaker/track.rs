//! Applies the lifecycle: the matchmaker's transport, how its calls are prepared
//! ([`send_mm`]), the answers fed to [`step`], the commands carried out (polls within the rate
//! budget, leaves) and the transitions emitted as messages and entity events.

use bevy::ecs::entity::Entity;
use bevy::ecs::resource::Resource;
use bevy::ecs::system::Res;
use bevy::ecs::world::World;
use bevy::log::{debug, info, warn};

use super::config::MatchmakerConfig;
use super::state::{
    Answer, Assigned, Command, Forming, GroupJoined, HostAssigned, Joining, Leaving, MatchFound,
    MatchTracker, Matched, Matchmaking, MatchmakingCancelled, MatchmakingFailed,
    MatchmakingStatusChanged, Pace, Phase, Searching, Transition, Unmatched, phase, step,
};
use crate::api::{
    DeleteGroup, DeleteGroupMember, EdgegapError, Endpoint, EndpointClass, GetGroupMember,
    GroupMember, Secret,
};
use crate::client::request::{
    ClientTransport, Handling, Prepared, TransportResource, emit, enqueue_on, receive_on,
};
use crate::client::wake;
use crate::http::RetryPolicy;
use crate::time::Instant;
use crate::transport::RateLimits;

/// The matchmaker's own transport: its own queue, rate limit and workers, so matchmaker
/// calls never spend the organisation API's budgets (nor wait behind its calls).
#[derive(Resource, Default)]
pub(crate) struct MatchmakerTransport(pub(crate) ClientTransport);

impl TransportResource for MatchmakerTransport {
    fn transport(&mut self) -> &mut ClientTransport {
        &mut self.0
    }
}

/// Queues a matchmaker call for `owner`, built with the [`MatchmakerConfig`] resource's
/// checks (the endpoint carries the URL and token). The one way a matchmaker call is sent.
pub(crate) fn send_mm<E: Endpoint>(world: &mut World, owner: Entity, endpoint: E, how: Handling<E>)
where
    E::Output: Clone,
{
    let prepared = match world.get_resource::<MatchmakerConfig>() {
        Some(config) => Prepared {
            built: config
                .validate()
                .and_then(|()| endpoint.to_request("", &Secret::default())),
            budget: how.budget.unwrap_or(config.deadline),
            retry: how.retry.clone().unwrap_or_else(|| config.retry.clone()),
        },
        None => Prepared {
            built: Err(EdgegapError::Config(
                "MatchmakerPlugin was not added to the app".into(),
            )),
            budget: std::time::Duration::from_secs(10),
            retry: RetryPolicy::never(),
        },
    };
    enqueue_on::<MatchmakerTransport, E>(world, owner, endpoint, how, prepared);
}

/// Queues `answer` for `entity`'s lifecycle.
pub(crate) fn push(world: &mut World, entity: Entity, answer: Answer) {
    if let Some(mut tracker) = world.get_resource_mut::<MatchTracker>() {
        tracker.inbox.push((entity, answer));
    }
}

/// What runs after a matchmaker call: feeds its result to the lifecycle.
pub(crate) type ThenAnswer<T> =
    Box<dyn FnOnce(&mut World, Entity, &Result<T, EdgegapError>) + Send + Sync>;

/// A `then` that feeds a call's result to the lifecycle as `wrap(result)`.
pub(crate) fn answer_with<T: Clone + Send + Sync + 'static>(
    wrap: fn(Result<T, EdgegapError>) -> Answer,
) -> ThenAnswer<T> {
    Box::new(move |world, entity, result| push(world, entity, wrap(result.clone())))
}

fn pace(world: &World) -> Pace {
    let config = world.get_resource::<MatchmakerConfig>();
    Pace {
        interval: config.map_or(std::time::Duration::from_secs(1), |c| c.poll_interval),
        max: config.map_or(std::time::Duration::from_secs(10), |c| c.max_poll_interval),
    }
}

/// Feeds every waiting answer to its search's lifecycle, until none is left.
pub(crate) fn drive(world: &mut World) {
    loop {
        let inbox = std::mem::take(&mut world.resource_mut::<MatchTracker>().inbox);
        if inbox.is_empty() {
            return;
        }
        for (entity, answer) in inbox {
            apply(world, entity, answer);
        }
    }
}

fn apply(world: &mut World, entity: Entity, answer: Answer) {
    let Some(state) = world.get::<Matchmaking>(entity).cloned() else {
        return;
    };
    let s = step(state, answer, pace(world));
    let phase = phase(&s.state);
    world.entity_mut(entity).insert(s.state);
    set_phase(world, entity, phase);
    for command in s.commands {
        carry_out(world, entity, command);
    }
    for transition in s.transitions {
        report(world, entity, transition);
    }
}

fn set_phase(world: &mut World, entity: Entity, phase: Phase) {
    let mut e = world.entity_mut(entity);
    e.remove::<(
        Joining,
        Forming,
        Searching,
        Matched,
        Assigned,
        Leaving,
        Unmatched,
    )>();
    match phase {
        Phase::Joining => e.insert(Joining),
        Phase::Forming => e.insert(Forming),
        Phase::Searching => e.insert(Searching),
        Phase::Matched => e.insert(Matched),
        Phase::Assigned => e.insert(Assigned),
        Phase::Leaving => e.insert(Leaving),
        Phase::Unmatched => e.insert(Unmatched),
    };
}

fn carry_out(world: &mut World, entity: Entity, command: Command) {
    let Some(mut state) = world.get::<Matchmaking>(entity).cloned() else {
        return;
    };
    match command {
        Command::Poll(wait) => {
            let polls = &mut world.resource_mut::<MatchTracker>().polls;
            if let Some(old) = state.next_poll.take() {
                polls.remove(old, entity);
            }
            if !state.polling {
                // Up to a tenth more, so that many clients do not poll in step.
                let wait = wait.mul_f64(1.0 + jitter(entity) * 0.1);
                let at = crate::client::deployment::later(Instant::now(), wait);
                polls.insert(at, entity);
                state.next_poll = Some(at);
            }
            world.entity_mut(entity).insert(state);
        }
        Command::Leave => {
            let Some(member) = state.member.clone() else {
                return;
            };
            let access = world.resource::<MatchmakerConfig>().access();
            debug!("leaving group `{}`", member.group_id);
            let then = answer_with::<()>(Answer::Left);
            if state.owner {
                let leave = DeleteGroup::new(access, member.group_id);
                send_mm(world, entity, leave, Handling::internal(then));
            } else {
                let leave = DeleteGroupMember::new(access, member.group_id, member.member_id);
                send_mm(world, entity, leave, Handling::internal(then));
            }
        }
    }
}

/// Schedules `entity`'s next poll `wait` from now (a resumed search: at once).
pub(crate) fn schedule_poll(world: &mut World, entity: Entity, wait: std::time::Duration) {
    carry_out(world, entity, Command::Poll(wait));
}

/// A number in `[0, 1)` that differs between entities and between polls.
fn jitter(entity: Entity) -> f64 {
    // The crate's clock: std's `SystemTime::now` panics in the browser.
    let nanos = crate::time::system_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = (entity.to_bits() ^ u64::from(nanos)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

fn report(world: &mut World, entity: Entity, transition: Transition) {
    let state = world.get::<Matchmaking>(entity).cloned();
    let member = state
        .as_ref()
        .and_then(Matchmaking::last)
        .cloned()
        .unwrap_or_default();
    match transition {
        Transition::Joined => {
            debug!(
                "joined group `{}` as `{}`",
                member.group_id, member.member_id
            );
            emit(
                world,
                GroupJoined {
                    entity,
                    group_id: member.group_id,
                    member_id: member.member_id,
                },
            );
        }
        Transition::Changed { from, to } => {
            debug!("group `{}` is `{to}`", member.group_id);
            emit(world, MatchmakingStatusChanged { entity, from, to });
        }
        Transition::MatchFound => {
            info!("group `{}`: match found", member.group_id);
            emit(
                world,
                MatchFound {
                    entity,
                    ticket_id: member.ticket_id,
                    team_id: member.team_id,
                },
            );
        }
        Transition::HostAssigned(assignment) => emit(
            world,
            HostAssigned {
                entity,
                assignment,
                ticket_id: member.ticket_id,
                team_id: member.team_id,
            },
        ),
        Transition::Cancelled(reason) => {
            info!("group `{}`: {reason}", member.group_id);
            emit(world, MatchmakingCancelled { entity, reason });
        }
        Transition::Failed(error) => {
            warn!("matchmaking failed: {error}");
            emit(world, MatchmakingFailed { entity, error });
        }
    }
}

/// Sends the polls that are due at `now`, oldest first, as many as the rate budget has room
/// for (the others wait their turn in the schedule).
pub(crate) fn issue_polls(world: &mut World, now: Instant) {
    let config = world.resource::<MatchmakerConfig>();
    let limits = limits(config);
    let (max_in_flight, access) = (config.max_in_flight, config.access());
    let transport = &mut world.resource_mut::<MatchmakerTransport>().0;
    let room = transport.spare(EndpointClass::Other, &limits, max_in_flight, now);
    let next_room = transport.next_room(EndpointClass::Other, &limits);
    let due = world
        .resource_mut::<MatchTracker>()
        .polls
        .take_due(now, room, || next_room);
    for (at, entity) in due {
        let Some(mut state) = world.get_mut::<Matchmaking>(entity) else {
            continue;
        };
        if state.next_poll != Some(at) || state.ended {
            continue; // stale entry
        }
        state.next_poll = None;
        let Some(member) = state.member.clone() else {
            continue;
        };
        state.polling = true;
        let poll = GetGroupMember::new(access.clone(), member.group_id, member.member_id);
        let then = Box::new(
            |world: &mut World, entity, result: &Result<GroupMember, EdgegapError>| {
                if let Some(mut state) = world.get_mut::<Matchmaking>(entity) {
                    state.polling = false;
                }
                push(world, entity, Answer::Polled(result.clone()));
            },
        );
        // No retries inside a poll: the lifecycle polls again (after `Retry-After` on 429).
        let how = Handling {
            retry: Some(RetryPolicy::never()),
            ..Handling::internal(then)
        };
        send_mm(world, entity, poll, how);
    }
}

/// The matchmaker's rate limit, on the one class its calls use.
fn limits(config: &MatchmakerConfig) -> RateLimits {
    RateLimits::none().with(EndpointClass::Other, config.rate_limit)
}

/// `PreUpdate`: answers in, lifecycle, freed slots refilled.
pub(crate) fn receive(world: &mut World) {
    if world.resource::<MatchmakerTransport>().0.is_idle() {
        return;
    }
    let freed = receive_on::<MatchmakerTransport>(world);
    drive(world);
    if freed {
        world.resource_mut::<MatchTracker>().polls.room_freed();
        send(world);
    }
}

/// `PostUpdate`: waiting answers and due polls.
pub(crate) fn track(world: &mut World) {
    drive(world);
    issue_polls(world, Instant::now());
}

/// `PostUpdate`, after `track`: hands queued calls to the engine. The transport stays in
/// the world (commands that queue calls may run at any flush).
pub(crate) fn send(world: &mut World) {
    let now = Instant::now();
    let config = world.resource::<MatchmakerConfig>();
    let (limits, max_in_flight) = (limits(config), config.max_in_flight);
    let mut transport = std::mem::take(&mut world.resource_mut::<MatchmakerTransport>().0);
    transport.use_engine(max_in_flight, &[], crate::http::DEFAULT_MAX_BODY_BYTES);
    transport.use_wake(wake::hook(world));
    transport.dispatch(&limits, max_in_flight, now, |entity| {
        world.get_entity(entity).is_ok()
    });
    world.resource_mut::<MatchmakerTransport>().0 = transport;
}

/// Run condition: calls queued, in flight or resolved.
pub(crate) fn transport_busy(transport: Res<MatchmakerTransport>) -> bool {
    !transport.0.is_idle()
}

/// Run condition: answers wait or a poll is due.
pub(crate) fn tracking_due(tracker: Res<MatchTracker>) -> bool {
    tracker.due(Instant::now())
}
