//! # bevy_edgegap
//!
//! [Edgegap](https://edgegap.com) dedicated-server hosting for [Bevy](https://bevy.org) 0.19:
//! deploy servers from a game client or lobby and follow them to READY as entities, let a
//! dedicated server stop itself when its match is over, and run the whole loop offline against
//! `edgegap-emulator`.
//!
//! | Module | Feature | What it is |
//! |---|---|---|
//! | [`api`] | always | Engine-free typed models, one value per endpoint, [`api::EdgegapError`] |
//! | `client` | `client` | `EdgegapClientPlugin`, the `Edgegap` system parameter, deployments as entities |
//! | `server` | `server` | `EdgegapServerPlugin`, `ArbitriumEnv`, self-stop, graceful `SIGTERM` |
//! | [`http`] | either | The one HTTP engine (persistent keep-alive workers on ureq; `fetch` on wasm) and [`http::RetryPolicy`] |
//!
//! Both features are on by default; a dedicated server can depend on
//! `default-features = false, features = ["server"]` and compile no lobby code.
//!
//! # Deploy from a client or lobby
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
//! ```
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
//!             // SIGTERM: this state at once, AppExit after the grace window.
//!             .on_shutdown_enter(MatchState::ShuttingDown),
//!     );
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
//! - `RUST_LOG=bevy_edgegap=debug` logs each deployment's transitions, retries and stops;
//!   `RUST_LOG=bevy_edgegap=trace` adds request and answer bodies. The `Authorization` header is
//!   always redacted and no token is ever logged, in any error or `Debug` output.
//! - Every call resolves exactly once: an answer, a typed [`api::EdgegapError`], or a silent
//!   cancel when its entity was despawned. A missing token is an
//!   [`EdgegapError::Config`](api::EdgegapError::Config) on the first call, not a panic.
//! - `429`s should not happen: the client keeps Edgegap's documented rate limits itself. If they
//!   do (limits shared with other tools), they are retried after `Retry-After`.
#![warn(missing_docs)]

pub mod api;
#[cfg(feature = "client")]
pub mod client;
#[cfg(any(feature = "client", feature = "server"))]
pub mod http;
#[cfg(feature = "server")]
pub mod server;
#[cfg(any(feature = "client", feature = "server"))]
mod transport;

// The README's snippets compile as doctests.
#[cfg(all(doctest, feature = "client", feature = "server"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// `use bevy_edgegap::prelude::*;` brings in everything a game needs.
pub mod prelude {
    pub use crate::api::{
        BulkStop, ConnectAddress, DeployRequest, DeployResponse, DeploymentList, DeploymentQuery,
        DeploymentStatus, DeploymentSummary, EdgegapError, FilterType, FleetDeployRequest,
        FleetHost, ListDeployments, ListFleetHosts, PortMapping, QueryOperator, RequestId,
        SortOrder, Status,
    };
    #[cfg(feature = "client")]
    pub use crate::client::{
        Deployment, DeploymentCreated, DeploymentFailed, DeploymentReady, DeploymentStatusChanged,
        DeploymentTerminated, Edgegap, EdgegapAppExt, EdgegapCall, EdgegapClientPlugin,
        EdgegapConfig, EdgegapResponse, EdgegapStats, EdgegapSystems, FailureReason, KeepCall,
        PollPolicy, RateLimits, StopOnDespawn, StopOnExit,
    };
    #[cfg(any(feature = "client", feature = "server"))]
    pub use crate::http::RetryPolicy;
    // `SelfStop` here is the server's message; the endpoint value is `api::SelfStop`.
    #[cfg(feature = "server")]
    pub use crate::server::{
        AddContextTag, ArbitriumEnv, ArbitriumPort, ContextRead, ContextTagAdded,
        ContextTagRemoved, EdgegapServerPlugin, EdgegapServerSystems, ReadContext,
        RemoveContextTag, SelfStop, SelfStopCompleted, SelfStopFailed, ShutdownReason,
        ShutdownRequested,
    };
}
