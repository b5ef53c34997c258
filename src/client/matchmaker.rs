//! Edgegap's matchmaker from a game client: find a match and a server **without the
//! organisation token**. Each matchmaker has its own URL and a token meant to ship in game
//! clients; it groups players, deploys the server itself and hands every player the same
//! [`Assignment`](crate::api::Assignment).
//!
//! ```
//! use bevy::prelude::*;
//! use bevy_edgegap::prelude::*;
//! use serde_json::json;
//!
//! fn search(mut matchmaker: Matchmaker, mut commands: Commands) {
//!     // A solo player: a group of one, ready at once.
//!     let search = matchmaker.find_match("ranked-2v2", json!({ "elo_rating": 1337 }));
//!     commands.entity(search).observe(|assigned: On<HostAssigned>| {
//!         // Send the ticket id to the server: it admits players by it.
//!         info!("connect to {:?} with ticket {:?}", assigned.address("gameport"), assigned.ticket_id);
//!     });
//! }
//!
//! let mut app = App::new();
//! app.add_plugins(MinimalPlugins)
//!     // MatchmakerConfig::from_env() reads EDGEGAP_MATCHMAKER_URL and EDGEGAP_MATCHMAKER_TOKEN.
//!     .add_plugins(MatchmakerPlugin::new(MatchmakerConfig::new("http://127.0.0.1:9", "mm-token")))
//!     .add_systems(Startup, search);
//! app.update();
//! ```
//!
//! # Searches are entities
//!
//! [`Matchmaker`] returns an entity per search, carrying [`Matchmaking`] (ids, status, ticket,
//! team, assignment) and one phase marker: [`Joining`] → [`Forming`] (a group whose members
//! are not all ready) → [`Searching`] → [`Matched`] → [`Assigned`]; or [`Leaving`] and
//! [`Unmatched`]. Its results are both messages and events triggered on it: [`GroupJoined`],
//! [`MatchmakingStatusChanged`], [`MatchFound`], [`HostAssigned`], [`MatchmakingCancelled`],
//! [`MatchmakingFailed`]. The plugin never despawns it: the assignment stays until the game
//! does.
//!
//! - **Parties**: the owner [`create_group`](Matchmaker::create_group)s and shares its
//!   group id; friends [`join_group`](Matchmaker::join_group); each
//!   [`set_ready`](Matchmaker::set_ready); the search starts when all are.
//! - **Polling**: each search polls its member resource about every second (plus up to 10 %
//!   at random), within the client's own rate budget ([`MatchmakerConfig::rate_limit`]; due
//!   polls beyond it wait, oldest first). A `429` waits for `Retry-After` (clamped to
//!   [`MatchmakerConfig::max_poll_interval`]); `5xx` and lost connections back off and poll
//!   again; any other refusal is [`MatchmakingFailed`].
//! - **Races**: a `409` on [`leave`](Matchmaker::leave) means a match was found: polling goes
//!   on and the assignment still comes (the player is never stranded). A `404` means the
//!   matchmaker removed the ticket ([`CancelReason::Removed`]).
//! - **Restarts**: keep [`Matchmaking::group_id`] and [`Matchmaking::member_id`];
//!   [`Matchmaker::resume`] follows the search again.
//! - **Beacons** (native only): [`Matchmaker::measure_beacons`] pings each beacon off the main
//!   thread and gives [`BeaconsMeasured`], to put in `attributes.beacons`.
//!
//! The matchmaker has its own transport (queue, rate limit, workers): its calls never spend
//! the organisation API's budgets, and the plugin works without
//! [`EdgegapClientPlugin`](super::EdgegapClientPlugin). The token is never logged, nor shown
//! by any `Debug` or error.

#[cfg(not(target_arch = "wasm32"))]
mod beacons;
mod config;
mod param;
mod state;
mod track;

use bevy::app::{App, Plugin, PostUpdate, PreUpdate};
use bevy::ecs::schedule::IntoScheduleConfigs;

#[cfg(not(target_arch = "wasm32"))]
pub use self::beacons::{BeaconsMeasured, ping_beacons};
pub use self::config::MatchmakerConfig;
pub use self::param::Matchmaker;
pub use self::state::{
    Assigned, CancelReason, Forming, GroupJoined, HostAssigned, Joining, Leaving, MatchFound,
    Matched, Matchmaking, MatchmakingCancelled, MatchmakingFailed, MatchmakingStatusChanged,
    Searching, Unmatched,
};

use super::request::EdgegapAppExt;
use super::systems::EdgegapSystems;
use crate::api::{Endpoint, EndpointVisitor, for_each_endpoint};

/// Adds the matchmaker client: the [`Matchmaker`] system parameter and its searches. See the
/// [module docs](self). Works alone or next to
/// [`EdgegapClientPlugin`](super::EdgegapClientPlugin).
#[derive(Debug, Clone)]
pub struct MatchmakerPlugin {
    /// The configuration, inserted as the [`MatchmakerConfig`] resource.
    pub config: MatchmakerConfig,
}

impl MatchmakerPlugin {
    /// A plugin with `config`.
    pub fn new(config: MatchmakerConfig) -> Self {
        Self { config }
    }
}

impl Default for MatchmakerPlugin {
    /// [`MatchmakerConfig::from_env`].
    fn default() -> Self {
        Self::new(MatchmakerConfig::from_env())
    }
}

impl Plugin for MatchmakerPlugin {
    fn build(&self, app: &mut App) {
        if let Err(error) = self.config.validate() {
            bevy::log::warn!("matchmaker client: {error}; every call will fail until it is fixed");
        }
        // `EdgegapResponse<E>` for `Matchmaker::send`: the one list (registering twice, next
        // to `EdgegapClientPlugin`, is harmless).
        for_each_endpoint(&mut Register(app));
        app.insert_resource(self.config.clone())
            .init_resource::<track::MatchmakerTransport>()
            .init_resource::<state::MatchTracker>()
            .add_message::<GroupJoined>()
            .add_message::<MatchmakingStatusChanged>()
            .add_message::<MatchFound>()
            .add_message::<HostAssigned>()
            .add_message::<MatchmakingCancelled>()
            .add_message::<MatchmakingFailed>()
            .configure_sets(
                PostUpdate,
                (EdgegapSystems::Track, EdgegapSystems::Send).chain(),
            )
            .add_systems(
                PreUpdate,
                track::receive
                    .in_set(EdgegapSystems::Receive)
                    .run_if(track::transport_busy),
            )
            .add_systems(
                PostUpdate,
                (
                    track::track
                        .in_set(EdgegapSystems::Track)
                        .run_if(track::tracking_due),
                    track::send
                        .in_set(EdgegapSystems::Send)
                        .run_if(track::transport_busy),
                ),
            );
        // Only while a measure runs: an exclusive system every frame would cost the frame a
        // sync point.
        #[cfg(not(target_arch = "wasm32"))]
        app.add_message::<BeaconsMeasured>().add_systems(
            PreUpdate,
            beacons::collect_measures
                .in_set(EdgegapSystems::Receive)
                .run_if(bevy::ecs::schedule::common_conditions::any_with_component::<beacons::Measuring>),
        );
    }
}

struct Register<'a>(&'a mut App);

impl EndpointVisitor for Register<'_> {
    fn visit<E: Endpoint + Clone + std::fmt::Debug>(&mut self, _example: E)
    where
        E::Output: Clone + std::fmt::Debug,
    {
        self.0.add_edgegap_endpoint::<E>();
    }
}
