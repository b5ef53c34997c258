//! # bevy_edgegap
//!
//! [Edgegap](https://edgegap.com) dedicated-server hosting for [Bevy](https://bevy.org) 0.19:
//! deploy servers from a lobby host or tool (organisation token) or from a shipped game
//! (through `edgegap-gateway`, player token) and follow them to READY as entities, let a
//! dedicated server stop itself when its match is over, and run the whole loop offline against
//! `edgegap-emulator`.
//!
//! | Module | Feature | What it is |
//! |---|---|---|
//! | [`api`] | always | Engine-free typed models, one value per endpoint, [`api::EdgegapError`] |
//! | `client` | `client` | `EdgegapClientPlugin`, the `Edgegap` system parameter, deployments as entities; `MatchmakerPlugin` and the `Matchmaker` param (Edgegap's matchmaker, no organisation token) |
//! | `server` | `server` | `EdgegapServerPlugin`, `ArbitriumEnv`, `MatchEnv`, self-stop, graceful `SIGTERM` |
//! | [`http`] | either | The one HTTP engine (persistent keep-alive workers on ureq; `fetch` on wasm) and [`http::RetryPolicy`] |
//!
//! Both features are on by default; a dedicated server can depend on
//! `default-features = false, features = ["server"]` and compile no lobby code.
//!
//! # Deploy from a lobby, a tool, or a shipped game
//!
//! A lobby host or tool you run holds the organisation token ([`EdgegapConfig::new`](client::EdgegapConfig::new) or
//! `from_env`). **A shipped game must not**: anyone can read a token out of a binary. Run
//! `edgegap-gateway` (it holds the token, authenticates players with a JWT and enforces a
//! policy) and configure the game with
//! [`EdgegapConfig::gateway(gateway_url, player_token)`](client::EdgegapConfig::gateway); the
//! code below stays the same.
//!
//! Every [`Edgegap`](client::Edgegap) method returns the [`Entity`](bevy::ecs::entity::Entity)
//! that stands for the call; `deploy` returns a deployment entity that the plugin keeps current
//! by polling, and whose transitions arrive as messages *and* entity events:
//!
//! ```
//! use bevy::prelude::*;
//! use bevy_edgegap::prelude::*;
//!
//! fn deploy(mut edgegap: Edgegap, mut commands: Commands) {
//!     let deployment = edgegap.deploy(DeployRequest::new("my-game", "v1").user_ip("1.2.3.4"));
//!     commands.entity(deployment).observe(|ready: On<DeploymentReady>| {
//!         info!("players connect to {:?}", ready.address("gameport"));
//!     });
//! }
//!
//! fn report(mut failed: MessageReader<DeploymentFailed>) {
//!     for failed in failed.read() {
//!         warn!("deployment failed: {}", failed.reason);
//!     }
//! }
//!
//! let mut app = App::new();
//! app.add_plugins(MinimalPlugins)
//!     // EdgegapConfig::from_env() reads EDGEGAP_TOKEN and EDGEGAP_BASE_URL.
//!     .add_plugins(EdgegapClientPlugin::new(EdgegapConfig::new("http://127.0.0.1:9", "token")))
//!     .add_systems(Startup, deploy)
//!     .add_systems(Update, report);
//! app.update();
//! ```
//!
//! # Stop a dedicated server when its match is over
//!
//! Every self-stop, whatever asked for it (a state, a policy, a [`SelfStop`](server::SelfStop)
//! message), goes out once, with its [`SelfStopReason`](server::SelfStopReason) in the log and
//! on the result.
//!
//! ```
//! use std::time::Duration;
//!
//! use bevy::prelude::*;
//! use bevy::state::app::StatesPlugin;
//! use bevy_edgegap::prelude::*;
//!
//! #[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
//! enum MatchState { #[default] Playing, Finished, ShuttingDown }
//!
//! let mut app = App::new();
//! app.add_plugins((MinimalPlugins, StatesPlugin))
//!     .init_state::<MatchState>()
//!     .add_plugins(
//!         EdgegapServerPlugin::new()
//!             // DELETE $ARBITRIUM_DELETE_URL with the injected token, retried, once.
//!             .self_stop_on_enter(MatchState::Finished)
//!             // No deployment outlives its match: nobody came, everybody left, too long.
//!             .stop_if_no_player_within(Duration::from_secs(120))
//!             .stop_when_empty_for(Duration::from_secs(30))
//!             .max_match_duration(Duration::from_secs(3600))
//!             // SIGTERM: this state at once, AppExit after the grace window.
//!             .on_shutdown_enter(MatchState::ShuttingDown),
//!     )
//!     // The policies count the players the game reports.
//!     .add_systems(Update, |mut players: ResMut<PlayerCount>| {
//!         # let joined = false;
//!         if joined {
//!             players.joined();
//!         }
//!     })
//!     .add_observer(|done: On<SelfStopCompleted>| info!("stopping: {}", done.reason));
//! app.update(); // Not on Edgegap: `ArbitriumEnv` is absent and self-stop is a logged no-op.
//! ```
//!
//! # Offline
//!
//! `edgegap-emulator` serves the same API on loopback and can launch your server binary as a
//! deployment with the injected `ARBITRIUM_*` environment: `cargo run --example local_match`
//! plays a whole match that way. Point any app at it with `EDGEGAP_BASE_URL` and
//! `EDGEGAP_TOKEN` (`cargo run -p edgegap-emulator -- --config assets/emulator.toml` prints
//! both).
//!
//! # Troubleshooting
//!
//! - `RUST_LOG=bevy_edgegap=debug` logs each deployment's transitions, reconcile searches,
//!   retries and stops; `RUST_LOG=bevy_edgegap=trace` adds every queued and sent request as
//!   endpoint and path. Bodies are not logged (deploy bodies carry player IPs); an error keeps
//!   the raw answer body. No token is ever logged, in any error or `Debug` output.
//! - Every call resolves exactly once: an answer, a typed [`api::EdgegapError`], or a silent
//!   cancel when its entity was despawned. A missing token is an
//!   [`EdgegapError::Config`](api::EdgegapError::Config) on the first call, not a panic.
//! - A server the client paid for is never left running: uncertain deploys are reconciled by
//!   their correlation tag, ERROR deployments are stopped at once, and `AppExit` stops the rest
//!   (see the [`client`] module docs). `DeploymentFailed` says whether a server may exist and
//!   whether it was stopped.
//! - `429`s should not happen: the client keeps Edgegap's documented rate limits itself. If they
//!   do (limits shared with other tools), they are retried after `Retry-After`.
//! - Results arrive with a frame. If your loop waits between frames (winit's
//!   `WinitSettings::desktop_app()`, a server sleeping to its tick) and answers seem late,
//!   insert an [`EdgegapWake`](client::EdgegapWake): its hook wakes the loop as soon as an
//!   answer waits (the winit proxy recipe is on that type).
#![warn(missing_docs)]

pub mod api;
#[cfg(feature = "client")]
pub mod client;
#[cfg(any(feature = "client", feature = "server"))]
pub mod http;
#[cfg(feature = "server")]
pub mod server;
#[cfg(any(feature = "client", feature = "server"))]
pub mod test_utils;
mod time;
#[cfg(any(feature = "client", feature = "server"))]
mod transport;

// The README's snippets compile as doctests.
#[cfg(all(doctest, feature = "client", feature = "server"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The client plugins as one group: [`EdgegapClientPlugin`](client::EdgegapClientPlugin)
/// (configured from the environment; replace it with `.set(EdgegapClientPlugin::new(config))`)
/// and [`EdgegapDiagnosticsPlugin`](client::EdgegapDiagnosticsPlugin), disabled by default
/// (`.enable::<EdgegapDiagnosticsPlugin>()`).
///
/// ```
/// use bevy::prelude::*;
/// use bevy_edgegap::prelude::*;
///
/// let mut app = App::new();
/// app.add_plugins(MinimalPlugins).add_plugins(
///     EdgegapPlugins
///         .set(EdgegapClientPlugin::new(EdgegapConfig::new("http://127.0.0.1:9", "token")))
///         .enable::<EdgegapDiagnosticsPlugin>(),
/// );
/// app.update();
/// ```
#[cfg(feature = "client")]
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgegapPlugins;

#[cfg(feature = "client")]
impl bevy::app::PluginGroup for EdgegapPlugins {
    fn build(self) -> bevy::app::PluginGroupBuilder {
        bevy::app::PluginGroupBuilder::start::<Self>()
            .add(client::EdgegapClientPlugin::default())
            .add(client::EdgegapDiagnosticsPlugin)
            .disable::<client::EdgegapDiagnosticsPlugin>()
    }
}

/// `use bevy_edgegap::prelude::*;` brings in everything a game needs.
pub mod prelude {
    #[cfg(feature = "client")]
    pub use crate::EdgegapPlugins;
    pub use crate::api::{Assignment, MatchStatus, MatchTicket, MatchmakerAccess};
    pub use crate::api::{
        BulkStop, ConnectAddress, DeployRequest, DeployResponse, DeploymentList, DeploymentQuery,
        DeploymentStatus, DeploymentSummary, EdgegapError, FilterType, FleetDeployRequest,
        FleetHost, ListDeployments, ListFleetHosts, ListPage, PortMapping, QueryOperator,
        RequestId, SortOrder, Status,
    };
    #[cfg(all(feature = "client", not(target_arch = "wasm32")))]
    pub use crate::client::matchmaker::BeaconsMeasured;
    #[cfg(feature = "client")]
    pub use crate::client::matchmaker::{
        Assigned, CancelReason, Forming, GroupJoined, HostAssigned, Joining, Leaving, MatchFound,
        Matched, Matchmaker, MatchmakerConfig, MatchmakerPlugin, Matchmaking, MatchmakingCancelled,
        MatchmakingFailed, MatchmakingStatusChanged, Searching, Unmatched,
    };
    #[cfg(feature = "client")]
    pub use crate::client::{
        Deploying, Deployment, DeploymentCreated, DeploymentFailed, DeploymentReady,
        DeploymentStatusChanged, DeploymentTerminated, DeploymentUnobserved, Edgegap,
        EdgegapAppExt, EdgegapCall, EdgegapClientPlugin, EdgegapConfig, EdgegapDiagnosticsPlugin,
        EdgegapMode, EdgegapResponse, EdgegapStats, EdgegapSystems, EdgegapWake, Ended,
        FailureReason, KeepCall, PollPolicy, RateLimits, Reconciling, Running, Starting,
        StopOnDespawn, StopOnExit, Stopping, Unobserved,
    };
    #[cfg(any(feature = "client", feature = "server"))]
    pub use crate::http::RetryPolicy;
    // `SelfStop` is the server's message; the endpoint value it sends is `api::SelfStopDeployment`.
    #[cfg(feature = "server")]
    pub use crate::server::{
        AddContextTag, ArbitriumEnv, ArbitriumPort, ContextRead, ContextTagAdded,
        ContextTagRemoved, EdgegapServerPlugin, EdgegapServerSystems, MatchArrivals, MatchEnv,
        PlayerCount, PlayerNoShow, ReadContext, RemoveContextTag, SelfStop, SelfStopCompleted,
        SelfStopFailed, SelfStopReason, ShutdownReason, ShutdownRequested,
    };
}
