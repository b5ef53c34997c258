//! # bevy_edgegap
//!
//! [Edgegap](https://edgegap.com) dedicated-server hosting for [Bevy](https://bevy.org) 0.19.
//!
//! - [`api`]: engine-free typed models and endpoint definitions, [`api::EdgegapError`].
#![cfg_attr(
    feature = "client",
    doc = "- [`client`]: `EdgegapClientPlugin` — deploy, track, stop."
)]
#![cfg_attr(
    feature = "server",
    doc = "- [`server`]: `EdgegapServerPlugin` — injected environment, self-stop, SIGTERM."
)]
#![warn(missing_docs)]

pub mod api;
#[cfg(feature = "client")]
pub mod client;
#[cfg(any(feature = "client", feature = "server"))]
pub mod http;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "client")]
mod transport;

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
