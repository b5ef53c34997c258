//! The client plugin: deploy, track and stop Edgegap deployments from a Bevy app without
//! blocking a frame.
//!
//! **Shipping a game? Use the gateway.** Edgegap's organisation token cannot be scoped: whoever
//! extracts it from a shipped build can deploy, list and stop every server of your
//! organisation. Run `edgegap-gateway` (a workspace member: it holds the token, checks each
//! player's JWT from your auth backend and applies your policy) and give the game one line,
//! `EdgegapConfig::gateway(gateway_url, player_token)`: the same [`Edgegap`] param, deployment
//! entities and events, with `Authorization: Bearer <player token>`. Use
//! [`EdgegapConfig::new`] with the organisation token only in processes you run yourself
//! (lobby services, matchmakers, tools). See the README's "Shipping a game: the gateway".
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
//! - Nothing is ever dropped: a call over [`EdgegapConfig::with_max_in_flight`] or over its
//!   class's rate budget waits in a FIFO queue. Each worker also holds the next call in line,
//!   so a busy queue drains at the network's pace, not one batch per frame. Every call resolves exactly once: an answer,
//!   a typed [`EdgegapError`](crate::api::EdgegapError), or a silent cancel.
//! - Deadlines, backoff and rate windows use the wall clock (`std::time::Instant` natively,
//!   `web_time::Instant` in the browser), not Bevy's `Time`.
//! - A missing token or a bad base URL is not a panic: each call resolves with
//!   [`EdgegapError::Config`](crate::api::EdgegapError::Config).
//!
//! # A paid server never leaks
//!
//! - Every deploy carries a **correlation tag** the client generates (`bx-` and 16 hex digits)
//!   and the app's **instance tag** ([`EdgegapConfig::with_instance_tag`]), both within the 20
//!   characters Edgegap allows.
//! - When a deploy's outcome is **uncertain** (no answer before the deadline, a connection
//!   lost after sending, an undecodable `2xx`, a `5xx`, a `422` naming a `request_id`), it is
//!   never sent again. The entity gets [`Reconciling`] and the plugin lists deployments page by
//!   page, matching the tag in each item's `tags` (the list filter vocabulary is documented
//!   only for `status`), a few times with growing waits ([`EdgegapConfig::with_max_reconciles`]).
//!   Found: adopted ([`DeploymentCreated`], then tracked as usual) if the entity still wants a
//!   server, stopped otherwise. A `422` with a `request_id` is followed and stopped.
//! - [`DeploymentFailed`] says whether a server may exist and whether the plugin stopped it.
//! - `ERROR` deployments are stopped at once ([`EdgegapConfig::with_stop_on_error`]) and followed
//!   to TERMINATED; a deployment not READY within [`EdgegapConfig::with_ready_timeout`] is reported
//!   failed and stopped (with [`StopOnExit`]).
//! - On [`AppExit`], deployments with [`StopOnExit`] not seen TERMINATED are stopped: uncertain
//!   deploys are reconciled first, then the stops go through the transport (in-flight cap, rate
//!   limits, retries on `429`/`5xx`, a stop that failed for good sent again), all within
//!   [`EdgegapConfig::with_exit_stop_wait`] (the exit frame blocks at most that long).
//! - [`EdgegapConfig::with_startup_sweep`] (opt-in, with a stable instance tag) bulk-stops the
//!   deployments an earlier run left behind (bulk stop's `deployment_tags` filter is
//!   documented).
//! - Add [`StopOnDespawn`] to stop a deployment when its entity is despawned. A deployment
//!   entity despawned while its deploy is on the wire is not delivered anything, but the
//!   deploy's answer is still followed and what it created is stopped.
//!
//! Ctrl-C: `DefaultPlugins` turns it into an `AppExit` (Bevy's `TerminalCtrlCHandlerPlugin`), so
//! the guard runs. With `MinimalPlugins`, add `bevy::app::TerminalCtrlCHandlerPlugin` yourself
//! (as `examples/lobby_client.rs` does); otherwise Ctrl-C ends the process before any stop.
//!
//! # The lifecycle
//!
//! Each deployment entity carries one phase marker: [`Deploying`], [`Reconciling`],
//! [`Starting`], [`Running`] (READY, no stop asked for), [`Stopping`], [`Ended`]; and
//! [`Unobserved`] while its status polls keep failing. After a stop was asked for or a
//! failure reported, READY emits no [`DeploymentReady`]. A `404` for a deployment seen alive is
//! TERMINATED (purged). Failing to observe a server is not a failed server: a garbled or
//! failed status answer is transient ([`EdgegapError::is_transient`](crate::api::EdgegapError::is_transient),
//! the rule retries use too); after [`EdgegapConfig::with_unobserved_after`] failures in a row,
//! [`DeploymentUnobserved`] is reported and polling goes on.
//!
//! Inside, control flows one way: [`Edgegap`] → the one build-and-enqueue (`request.rs`) →
//! transport → answers queued for the lifecycle → `lifecycle::step`, a pure function of the
//! deployment, the answer and the time that returns transitions and commands → the commands
//! (polls, stops — every stop through one function — and reconcile searches) go back through
//! the same enqueue. No two files of `src/client/` import each other.
//!
//! # Gateway mode
//!
//! A shipped game never holds the organisation token: [`EdgegapConfig::gateway`] talks to an
//! `edgegap-gateway` with the player's token (`Authorization: Bearer …`). Deploys (which may
//! omit `users`), status, stops and therefore tracking and `stop_deployment` work as above;
//! every deploy carries an `Idempotency-Key`, so an uncertain deploy is reconciled by
//! re-sending it with the same key. Any other call resolves at once with
//! [`EdgegapError::Config`](crate::api::EdgegapError::Config).
//!
//! # Waking an app that waits between frames
//!
//! Results are delivered by a frame. An app whose loop waits between frames (winit's
//! reactive modes, `WinitSettings::desktop_app()`; a headless server sleeping to its tick)
//! would see an answer only at its next frame, seconds later in reactive mode. Insert an
//! [`EdgegapWake`] resource: the HTTP worker calls its hook as soon as an answer waits (once
//! per batch, with no lock held), and the hook wakes the loop. With winit, through the event
//! loop's proxy (`bevy_edgegap` does not depend on `bevy_winit`):
//!
//! ```ignore
//! use bevy::winit::{EventLoopProxyWrapper, WinitUserEvent};
//! let proxy = (**app.world().resource::<EventLoopProxyWrapper>()).clone();
//! app.insert_resource(EdgegapWake::new(move || {
//!     let _ = proxy.send_event(WinitUserEvent::WakeUp);
//! }));
//! ```
//!
//! See [`EdgegapWake`] for a headless loop and for what still needs a frame (retries after
//! their backoff, polls due later). On the 1,000-call bench a loop that blocks until woken
//! leaves both cores to the HTTP threads between answers (README, "Performance").
//!
//! # Statistics
//!
//! [`EdgegapStats`] holds the transport's counters. [`EdgegapDiagnosticsPlugin`] (opt-in; in
//! [`EdgegapPlugins`](crate::EdgegapPlugins), disabled by default) records the same figures as
//! Bevy diagnostics (`edgegap/in_flight`, `edgegap/queued`, `edgegap/latency_ms`,
//! `edgegap/retries`, `edgegap/rate_limit_waits`), visible with `LogDiagnosticsPlugin`.
//!
//! # Troubleshooting
//!
//! `RUST_LOG=bevy_edgegap=debug` logs every call's lifecycle and reconcile searches (never the
//! token); `=trace` every send, as endpoint and path (never a body).

mod config;
mod deploy;
mod deployment;
mod diagnostics;
mod edgegap;
mod exit;
mod frame;
mod lifecycle;
pub mod matchmaker;
mod poll;
mod reconcile;
mod request;
mod schedule;
pub mod stats;
mod stop;
mod systems;
mod track;
mod wake;

use bevy::app::{App, AppExit, Last, Plugin, PostUpdate, PreUpdate, Startup};
use bevy::ecs::schedule::IntoScheduleConfigs;
use bevy::ecs::schedule::common_conditions::on_message;
use bevy::ecs::world::World;

pub use self::config::{DEFAULT_BASE_URL, EdgegapConfig, EdgegapMode, PollPolicy};
pub use self::deployment::{
    Deploying, Deployment, DeploymentCreated, DeploymentFailed, DeploymentReady,
    DeploymentStatusChanged, DeploymentTerminated, DeploymentUnobserved, Ended, FailureReason,
    Reconciling, Running, Starting, StopOnDespawn, StopOnExit, Stopping, Unobserved,
};
pub use self::diagnostics::EdgegapDiagnosticsPlugin;
pub use self::edgegap::Edgegap;
pub use self::matchmaker::{Matchmaker, MatchmakerConfig, MatchmakerPlugin};
pub use self::request::{EdgegapAppExt, EdgegapCall, EdgegapResponse, KeepCall};
pub use self::stats::EdgegapStats;
pub use self::systems::EdgegapSystems;
pub use self::wake::EdgegapWake;
pub use crate::transport::RateLimits;

use self::deployment::Tracker;
use self::request::{EdgegapTransport, Handling, enqueue};
use crate::api::{BulkStop, Endpoint, EndpointVisitor, FilterType, for_each_endpoint};

/// Adds the Edgegap client: the [`Edgegap`] system parameter, the transport, deployment
/// tracking, reconcile and the orphan guard. See the [module docs](self).
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

impl Plugin for EdgegapClientPlugin {
    fn build(&self, app: &mut App) {
        if let Err(error) = self.config.validate() {
            bevy::log::warn!("edgegap client: {error}; every call will fail until it is fixed");
        }
        // Every endpoint's result is readable as a message: one list, `api::for_each_endpoint`.
        for_each_endpoint(&mut RegisterEndpoints(app));
        app.insert_resource(self.config.clone())
            .init_resource::<EdgegapTransport>()
            .init_resource::<Tracker>()
            .init_resource::<EdgegapStats>()
            .add_message::<DeploymentCreated>()
            .add_message::<DeploymentStatusChanged>()
            .add_message::<DeploymentReady>()
            .add_message::<DeploymentFailed>()
            .add_message::<DeploymentTerminated>()
            .add_message::<DeploymentUnobserved>()
            .configure_sets(
                PostUpdate,
                (EdgegapSystems::Track, EdgegapSystems::Send).chain(),
            )
            // Run conditions let an idle frame skip these exclusive systems (and their sync
            // points in the multi-threaded executor) entirely.
            .add_systems(
                PreUpdate,
                frame::receive_responses
                    .in_set(EdgegapSystems::Receive)
                    .run_if(frame::transport_busy),
            )
            .add_systems(
                PostUpdate,
                (
                    track::track_deployments
                        .in_set(EdgegapSystems::Track)
                        .run_if(track::tracking_due),
                    frame::send_requests
                        .in_set(EdgegapSystems::Send)
                        .run_if(frame::transport_busy),
                ),
            )
            .add_systems(Startup, startup_sweep)
            .add_systems(
                Last,
                exit::stop_on_exit
                    .in_set(EdgegapSystems::Exit)
                    .run_if(on_message::<AppExit>),
            )
            .add_observer(track::on_deployment_removed)
            .add_observer(stop::on_despawn_stop);
    }
}

/// Registers [`EdgegapResponse<E>`] for each endpoint of [`for_each_endpoint`].
struct RegisterEndpoints<'a>(&'a mut App);

impl EndpointVisitor for RegisterEndpoints<'_> {
    fn visit<E: Endpoint + Clone + std::fmt::Debug>(&mut self, _example: E)
    where
        E::Output: Clone + std::fmt::Debug,
    {
        self.0.add_edgegap_endpoint::<E>();
    }
}

/// [`EdgegapConfig::with_startup_sweep`]: one bulk stop of every deployment carrying this app's
/// instance tag (the `deployment_tags` filter is documented), left over by an earlier run.
fn startup_sweep(world: &mut World) {
    let config = world.resource::<EdgegapConfig>();
    if !config.startup_sweep || config.mode != EdgegapMode::Direct {
        return;
    }
    let tag = config.instance_tag.clone();
    if tag.is_empty() {
        return;
    }
    bevy::log::info!("stopping deployments an earlier run tagged `{tag}` left behind");
    let call = world.spawn(EdgegapCall::new("BulkStop")).id();
    let sweep = BulkStop::new().tags(FilterType::Any, [tag]);
    enqueue(world, call, sweep, Handling::respond());
}
