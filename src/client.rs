//! The client plugin: deploy, track and stop Edgegap deployments from a Bevy app without
//! blocking a frame.
//!
//! # Quick start
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_edgegap::prelude::*;
//!
//! fn main() {
//!     App::new()
//!         .add_plugins(MinimalPlugins)
//!         // Or `EdgegapClientPlugin::default()`: reads EDGEGAP_TOKEN / EDGEGAP_BASE_URL.
//!         .add_plugins(EdgegapClientPlugin::new(EdgegapConfig::new(
//!             "https://api.edgegap.com",
//!             "my-api-token",
//!         )))
//!         .add_systems(Startup, deploy)
//!         .add_observer(on_ready)
//!         .run();
//! }
//!
//! fn deploy(mut edgegap: Edgegap) {
//!     // A deployment entity: the plugin polls its status until READY, ERROR or TERMINATED.
//!     edgegap.deploy(DeployRequest::new("my-game", "v1").user_ip("1.2.3.4"));
//! }
//!
//! fn on_ready(ready: On<DeploymentReady>, mut edgegap: Edgegap) {
//!     info!("connect to {:?}", ready.address("gameport"));
//!     // Later: stop it and follow it to TERMINATED.
//!     edgegap.stop_deployment(ready.entity);
//! }
//! ```
//!
//! # Calls are entities
//!
//! Every [`Edgegap`] method returns an [`Entity`](bevy::ecs::entity::Entity) standing for the
//! call. Its result arrives once, as an [`EdgegapResponse<E>`] that is both a message and an
//! event triggered on that entity:
//!
//! ```
//! # use bevy::prelude::*;
//! # use bevy_edgegap::prelude::*;
//! # use bevy_edgegap::api::GetStatus;
//! fn ask(mut edgegap: Edgegap, mut commands: Commands) {
//!     let call = edgegap.status("a69f8e3e0555");
//!     commands.entity(call).observe(|status: On<EdgegapResponse<GetStatus>>| {
//!         match &status.result {
//!             Ok(status) => info!("`{}`", status.current_status),
//!             Err(error) => warn!("status failed: {error}"),
//!         }
//!     });
//! }
//!
//! fn read_all(mut statuses: MessageReader<EdgegapResponse<GetStatus>>) {
//!     for status in statuses.read() {
//!         info!("call `{}` done: ok = `{}`", status.entity, status.result.is_ok());
//!     }
//! }
//! # let mut app = App::new();
//! # app.add_plugins(MinimalPlugins)
//! #     .add_plugins(EdgegapClientPlugin::new(EdgegapConfig::new("http://127.0.0.1:9", "t")))
//! #     .add_systems(Update, (ask, read_all));
//! # app.update();
//! ```
//!
//! - A call entity is **despawned right after its result was delivered**, unless it has
//!   [`KeepCall`]. Despawning it earlier cancels the call: nothing is delivered, no error (a
//!   request already on the wire still completes on the server; its answer is discarded).
//! - Deployment entities (from [`Edgegap::deploy`], [`Edgegap::deploy_to_fleet`],
//!   [`Edgegap::track`]) are never despawned by the plugin; their `Deployment*` events are
//!   triggered on them.
//! - Nothing is ever dropped: a call over [`EdgegapConfig::max_in_flight`] or over its
//!   class's rate budget waits in a FIFO queue. Every call resolves exactly once: an answer,
//!   a typed [`EdgegapError`](crate::api::EdgegapError), or a silent cancel.
//! - Deadlines, backoff and rate windows use the wall clock (`std::time::Instant`),
//!   not Bevy's `Time`.
//! - A missing token or a bad base URL is not a panic: each call resolves with
//!   [`EdgegapError::Config`](crate::api::EdgegapError::Config).
//!
//! # Orphan guard
//!
//! Deployments made by [`Edgegap::deploy`] carry [`StopOnExit`]: on [`AppExit`]
//! those not seen `TERMINATED` (`ERROR` ones included) are stopped (the exit frame waits at most
//! [`EdgegapConfig::exit_stop_wait`]), and one not READY within
//! [`EdgegapConfig::ready_timeout`] is reported failed and stopped. Add [`StopOnDespawn`] to
//! stop a deployment when its entity is despawned. A deployment entity despawned while its
//! deploy is on the wire is not delivered anything, but the deploy's answer is still followed
//! and the deployment it created is stopped (nobody could follow it otherwise).
//!
//! Ctrl-C: `DefaultPlugins` turns it into an `AppExit` (Bevy's `TerminalCtrlCHandlerPlugin`), so
//! the guard runs. With `MinimalPlugins`, add `bevy::app::TerminalCtrlCHandlerPlugin` yourself
//! (as `examples/lobby_client.rs` does); otherwise Ctrl-C ends the process before any stop.
//!
//! # Statistics
//!
//! [`EdgegapStats`] holds the transport's counters; the same figures are Bevy diagnostics
//! (`edgegap/in_flight`, `edgegap/queued`, `edgegap/latency_ms`, `edgegap/retries`,
//! `edgegap/rate_limit_waits`), visible with `LogDiagnosticsPlugin`.
//!
//! # Troubleshooting
//!
//! `RUST_LOG=bevy_edgegap=debug` logs every call's lifecycle (never the token);
//! `=trace` every send.

mod call;
mod config;
mod deployment;
pub mod stats;

use bevy::app::{App, AppExit, Last, Plugin, PostUpdate, PreUpdate};
use bevy::diagnostic::{Diagnostic, RegisterDiagnostic};
use bevy::ecs::schedule::common_conditions::on_message;
use bevy::ecs::schedule::{IntoScheduleConfigs, SystemSet};
use bevy::ecs::system::Res;
use bevy::ecs::world::World;
use bevy::platform::time::Instant;

pub use self::call::{Edgegap, EdgegapAppExt, EdgegapCall, EdgegapResponse, KeepCall};
pub use self::config::{DEFAULT_BASE_URL, EdgegapConfig, PollPolicy};
pub use self::deployment::{
    Deployment, DeploymentCreated, DeploymentFailed, DeploymentReady, DeploymentStatusChanged,
    DeploymentTerminated, FailureReason, StopOnDespawn, StopOnExit,
};
pub use self::stats::EdgegapStats;
pub use crate::transport::RateLimits;

use self::call::EdgegapTransport;
use self::deployment::Tracker;
use crate::api::{
    BulkStop, CreateTag, DeleteTag, DeployRequest, DeployV1Request, FleetDeployRequest,
    GetContainerLogs, GetMetrics, GetStatus, GetTag, ListDeployments, ListFleetHosts,
    ListLocations, ListTags, StopDeployment, UpdateTag,
};

/// Adds the Edgegap client: the [`Edgegap`] system parameter, the transport, deployment
/// tracking and the orphan guard. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct EdgegapClientPlugin {
    /// The configuration, inserted as the [`EdgegapConfig`] resource.
    pub config: EdgegapConfig,
}

impl EdgegapClientPlugin {
    /// A plugin with `config`.
    pub fn new(config: EdgegapConfig) -> Self {
        Self { config }
    }
}

impl Default for EdgegapClientPlugin {
    /// [`EdgegapConfig::from_env`].
    fn default() -> Self {
        Self::new(EdgegapConfig::from_env())
    }
}

/// The client's systems, chained in this order within a frame.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgegapSystems {
    /// Runs in [`PreUpdate`]: collects answers, applies deadlines and retries, delivers
    /// results (messages and events), updates [`Deployment`]s, and refills the in-flight
    /// slots it freed from the queue.
    Receive,
    /// Runs in [`PostUpdate`]: ready timeouts and the status polls whose turn it is.
    Track,
    /// Runs in [`PostUpdate`], after [`EdgegapSystems::Track`]: sends queued calls (those
    /// issued during `Update` go out the same frame) and records statistics.
    Send,
    /// Runs in [`Last`]: on `AppExit`, stops the deployments with [`StopOnExit`].
    Exit,
}

impl Plugin for EdgegapClientPlugin {
    fn build(&self, app: &mut App) {
        if let Err(error) = self.config.validate() {
            bevy::log::warn!("edgegap client: {error}; every call will fail until it is fixed");
        }
        app.insert_resource(self.config.clone())
            .init_resource::<EdgegapTransport>()
            .init_resource::<Tracker>()
            .init_resource::<EdgegapStats>()
            .add_edgegap_endpoint::<DeployRequest>()
            .add_edgegap_endpoint::<FleetDeployRequest>()
            .add_edgegap_endpoint::<GetStatus>()
            .add_edgegap_endpoint::<StopDeployment>()
            .add_edgegap_endpoint::<DeployV1Request>()
            .add_edgegap_endpoint::<BulkStop>()
            .add_edgegap_endpoint::<ListDeployments>()
            .add_edgegap_endpoint::<ListLocations>()
            .add_edgegap_endpoint::<GetContainerLogs>()
            .add_edgegap_endpoint::<GetMetrics>()
            .add_edgegap_endpoint::<ListFleetHosts>()
            .add_edgegap_endpoint::<ListTags>()
            .add_edgegap_endpoint::<GetTag>()
            .add_edgegap_endpoint::<CreateTag>()
            .add_edgegap_endpoint::<UpdateTag>()
            .add_edgegap_endpoint::<DeleteTag>()
            .add_message::<DeploymentCreated>()
            .add_message::<DeploymentStatusChanged>()
            .add_message::<DeploymentReady>()
            .add_message::<DeploymentFailed>()
            .add_message::<DeploymentTerminated>()
            .configure_sets(
                PostUpdate,
                (EdgegapSystems::Track, EdgegapSystems::Send).chain(),
            )
            // Run conditions let an idle frame skip these exclusive systems (and their sync
            // points in the multi-threaded executor) entirely.
            .add_systems(
                PreUpdate,
                receive_responses
                    .in_set(EdgegapSystems::Receive)
                    .run_if(transport_busy),
            )
            .add_systems(
                PostUpdate,
                (
                    deployment::track_deployments
                        .in_set(EdgegapSystems::Track)
                        .run_if(deployment::tracking_due),
                    send_requests
                        .in_set(EdgegapSystems::Send)
                        .run_if(transport_busy),
                ),
            )
            .add_systems(
                Last,
                deployment::stop_on_exit
                    .in_set(EdgegapSystems::Exit)
                    .run_if(on_message::<AppExit>),
            )
            .add_observer(deployment::on_deployment_removed)
            .add_observer(deployment::on_despawn_stop);
        for path in stats::PATHS {
            app.register_diagnostic(Diagnostic::new(path.clone()));
        }
    }
}

/// [`EdgegapSystems::Receive`].
fn receive_responses(world: &mut World) {
    if world.resource::<EdgegapTransport>().0.is_idle() {
        return;
    }
    let now = Instant::now();
    let mut transport = std::mem::take(&mut world.resource_mut::<EdgegapTransport>().0);
    let outcomes = transport.poll(now, |entity| world.get_entity(entity).is_ok());
    // Put it back first: observers run during delivery and may queue calls.
    world.resource_mut::<EdgegapTransport>().0 = transport;
    let freed = !outcomes.is_empty();
    for outcome in outcomes {
        if world.get_entity(outcome.owner).is_ok() {
            outcome
                .delivery
                .deliver(world, outcome.owner, outcome.result);
        } else if outcome.delivery.follows_orphans() {
            outcome.delivery.orphaned(world, outcome.result);
        }
    }
    // Refill the slots just freed from the queue now rather than in `PostUpdate`.
    if freed {
        send_requests(world);
    }
}

/// Run condition of [`EdgegapSystems::Receive`] and [`EdgegapSystems::Send`]: calls are
/// queued, waiting for a retry, in flight, or resolved and not yet delivered.
fn transport_busy(transport: Res<EdgegapTransport>) -> bool {
    !transport.0.is_idle()
}

/// [`EdgegapSystems::Send`].
fn send_requests(world: &mut World) {
    let config = world.resource::<EdgegapConfig>();
    let limits = config.rate_limits.clone();
    let max_in_flight = config.max_in_flight;
    let (roots, max_body) = (config.root_certificates.clone(), config.max_body_bytes);
    let now = Instant::now();
    let mut transport = world.resource_mut::<EdgegapTransport>();
    transport.0.use_engine(max_in_flight, &roots, max_body);
    transport.0.dispatch(&limits, max_in_flight, now);
    let snapshot = stats::EdgegapStats::from_transport(&transport.0);
    stats::record(world, snapshot);
}
