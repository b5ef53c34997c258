//! What a deployment is, as data: the [`Deployment`] component, the phase markers, the
//! `Deployment*` messages/events, and the answers and commands the lifecycle trades in.
//! Nothing here acts; `lifecycle` decides and `track` applies.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::message::Message;
use bevy::ecs::resource::Resource;

use super::schedule::PollSchedule;
use crate::api::{
    ConnectAddress, DeployResponse, DeploymentStatus, EdgegapError, RequestId, Status, StopResponse,
};
use crate::time::Instant;

/// A deployment this app follows: made by [`Edgegap::deploy`](super::Edgegap::deploy) /
/// [`Edgegap::deploy_to_fleet`](super::Edgegap::deploy_to_fleet), or followed with
/// [`Edgegap::track`](super::Edgegap::track). The plugin polls its status within the shared
/// status rate budget until it is TERMINATED (an ERROR deployment is stopped and followed to
/// TERMINATED; see [`EdgegapConfig::with_stop_on_error`](super::EdgegapConfig::with_stop_on_error)).
#[derive(Component, Debug, Clone)]
pub struct Deployment {
    pub(crate) request_id: Option<RequestId>,
    pub(crate) status: Status,
    pub(crate) last: Option<DeploymentStatus>,
    pub(crate) issued_at: Instant,
    pub(crate) ready_at: Option<Instant>,
    pub(crate) ended_at: Option<Instant>,
    pub(crate) last_polled_at: Option<Instant>,
    pub(crate) created_here: bool,
    pub(crate) stop_requested: bool,
    pub(crate) stop_attempts: u32,
    pub(crate) stop_confirmed: bool,
    /// Stops sent and not answered yet.
    pub(crate) stops_in_flight: u32,
    pub(crate) failed: bool,
    /// Stop calls waiting for the deploy's (or the reconcile's) outcome.
    pub(crate) pending_stops: Vec<Entity>,
    /// The correlation tag the deploy carried (direct mode).
    pub(crate) correlation: Option<String>,
    /// The deploy's outcome is unknown and being reconciled.
    pub(crate) uncertain: bool,
    /// Reconcile searches made so far.
    pub(crate) reconciles: u32,
    /// The error that made the deploy's outcome unknown.
    pub(crate) deploy_error: Option<EdgegapError>,
    /// Status polls in a row that failed.
    pub(crate) unobserved: u32,
    pub(crate) poll_interval: Duration,
    pub(crate) next_poll: Option<Instant>,
    pub(crate) polling: bool,
    /// When the status poll on the wire was sent, if it is a long-poll held by the gateway.
    pub(crate) long_poll_sent: Option<Instant>,
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
            stop_attempts: 0,
            stop_confirmed: false,
            stops_in_flight: 0,
            failed: false,
            pending_stops: Vec::new(),
            correlation: None,
            uncertain: false,
            reconciles: 0,
            deploy_error: None,
            unobserved: 0,
            poll_interval: Duration::from_secs(1),
            next_poll: None,
            polling: false,
            long_poll_sent: None,
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
    /// deployment in the ECS, or for tests and benches). Use
    /// [`Edgegap::track`](super::Edgegap::track) to follow one.
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

    /// The deployment's id, once the deploy answered (or a reconcile found it).
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

    /// Whether the deploy's outcome is unknown and being reconciled (see [`Reconciling`]).
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// Whether the plugin still follows it (a poll is scheduled or on its way).
    pub fn is_polled(&self) -> bool {
        self.next_poll.is_some() || self.polling
    }
}

/// On a deployment entity: stop the deployment when the app exits (reconciling uncertain
/// deploys first, bounded by [`EdgegapConfig::with_exit_stop_wait`](super::EdgegapConfig::with_exit_stop_wait))
/// and when it never becomes READY within
/// [`EdgegapConfig::with_ready_timeout`](super::EdgegapConfig::with_ready_timeout). Added by
/// [`Edgegap::deploy`](super::Edgegap::deploy); remove it to let the deployment outlive the app.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct StopOnExit;

/// On a deployment entity: stop the deployment when the entity is despawned.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct StopOnDespawn;

/// Phase marker: the deploy is on its way (no id yet).
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deploying;

/// Phase marker: the deploy's outcome is unknown (no answer, a garbled answer, a `5xx`); the
/// plugin is finding out whether a server exists (a tag search, or through a gateway a
/// re-send with the same idempotency key).
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciling;

/// Phase marker: the deployment exists and is not READY yet.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Starting;

/// Phase marker: READY, and no stop asked for: players can connect.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Running;

/// Phase marker: a stop was asked for (or an ERROR is being cleaned up); followed to
/// TERMINATED.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stopping;

/// Phase marker: ended: TERMINATED, or failed with no server left to follow.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ended;

/// Extra marker: the last status polls all failed (see [`DeploymentUnobserved`]). Removed by
/// the next status answer.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unobserved;

/// The deploy was accepted (or a reconcile found the deployment): it has an id.
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

/// The deployment is READY: players can connect. Never emitted after a stop was asked for or
/// a failure was reported.
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
    /// Not READY within [`EdgegapConfig::with_ready_timeout`](super::EdgegapConfig::with_ready_timeout)
    /// (it is then stopped if it has [`StopOnExit`]).
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
    /// Whether a server may exist (and cost money) despite the failure: the deploy's outcome
    /// is unknown, or a deployment exists in error or not ready.
    pub server_may_exist: bool,
    /// Whether the plugin asked Edgegap to stop that server.
    pub stopped: bool,
}

/// The deployment is TERMINATED (seen by a poll, a stop answered `410 Gone`, or a `404` for a
/// deployment seen alive: purged).
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct DeploymentTerminated {
    /// The deployment entity.
    pub entity: Entity,
    /// Its id.
    pub request_id: RequestId,
    /// The last status answer, if any.
    pub status: Option<DeploymentStatus>,
}

/// Status polls of a deployment failed several times in a row (see
/// [`EdgegapConfig::with_unobserved_after`](super::EdgegapConfig::with_unobserved_after)). The server is
/// not assumed failed: the plugin keeps following it.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct DeploymentUnobserved {
    /// The deployment entity.
    pub entity: Entity,
    /// Its id.
    pub request_id: RequestId,
    /// Polls in a row that failed.
    pub failures: u32,
    /// The last error.
    pub error: EdgegapError,
}

/// Through a gateway: the deploy and its idempotency key, to re-send an uncertain deploy.
#[derive(Component, Debug, Clone)]
pub(crate) struct Resend {
    pub(crate) request: crate::api::DeployRequest,
    pub(crate) key: String,
}

/// What happened to a deployment, fed to the lifecycle.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// The deploy call's final result (after the transport's retries).
    Deployed(Result<DeployResponse, EdgegapError>),
    /// A reconcile search's result: the id found by the correlation tag, or none.
    Reconciled(Result<Option<RequestId>, EdgegapError>),
    /// A status poll's result.
    Status(Result<DeploymentStatus, EdgegapError>),
    /// A stop's result.
    Stopped(Result<StopResponse, EdgegapError>),
    /// Someone asked for a stop; `call` is the call entity to resolve, if any.
    StopRequested(Option<Entity>),
    /// The ready timeout passed; `stop` when the deployment has [`StopOnExit`].
    ReadyTimeout {
        /// The timeout.
        after: Duration,
        /// Whether to stop it.
        stop: bool,
    },
}

/// What the lifecycle reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transition {
    Created(RequestId),
    Changed {
        from: Status,
        to: Status,
    },
    Ready(DeploymentStatus),
    Failed {
        reason: FailureReason,
        server_may_exist: bool,
        stopped: bool,
    },
    Terminated(Option<DeploymentStatus>),
    Unobserved {
        failures: u32,
        error: EdgegapError,
    },
    Observed,
}

/// What the lifecycle asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// Poll the status after this long (replaces any scheduled poll).
    Poll(Duration),
    /// Stop `request_id`, answering `call` (a fresh call entity when `None`).
    Stop {
        request_id: RequestId,
        call: Option<Entity>,
    },
    /// Find out whether the uncertain deploy created a deployment, after this long.
    Reconcile(Duration),
    /// Resolve a waiting stop call with [`EdgegapError::Cancelled`]: there is nothing to stop.
    Cancel(Entity),
    /// Start the ready timeout.
    WatchReady,
}

/// The phase a deployment is in; one marker component each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Deploying,
    Reconciling,
    Starting,
    Running,
    Stopping,
    Ended,
}

/// Answers waiting for the lifecycle, the poll schedule, ready deadlines, reconcile times,
/// the id → entity index and the deployments with a long-poll out. Nothing here is scanned
/// per frame: a frame looks at the earliest time of each set (see [`Tracker::due`]).
#[derive(Resource, Default)]
pub(crate) struct Tracker {
    pub(crate) inbox: Vec<(Entity, Answer)>,
    pub(crate) polls: PollSchedule,
    pub(crate) ready_deadlines: BTreeSet<(Instant, Entity)>,
    pub(crate) reconciles: BTreeSet<(Instant, Entity)>,
    pub(crate) index: HashMap<RequestId, Entity>,
    /// Deployments whose status poll on its way is a long-poll (the gateway holds it).
    pub(crate) long_polls: HashSet<Entity>,
}

impl Tracker {
    /// Queues `answer` for `entity`'s lifecycle.
    pub(crate) fn push(&mut self, entity: Entity, answer: Answer) {
        self.inbox.push((entity, answer));
    }

    /// Whether anything is due at `now` (or waiting in the inbox): a look at the earliest
    /// time of each set, whatever the number of deployments.
    pub(crate) fn due(&self, now: Instant) -> bool {
        let due = |set: &BTreeSet<(Instant, Entity)>| set.first().is_some_and(|&(at, _)| at <= now);
        !self.inbox.is_empty()
            || self.polls.is_due(now)
            || due(&self.ready_deadlines)
            || due(&self.reconciles)
    }
}

/// `now + wait`, never overflowing (a wait too long to represent is "a day from now").
pub(crate) fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}
