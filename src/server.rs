//! The dedicated-server side: [`EdgegapServerPlugin`] reads what Edgegap injects
//! ([`ArbitriumEnv`]), stops the deployment when the match is over ([`SelfStop`]), and turns
//! `SIGTERM` into a graceful shutdown ([`ShutdownRequested`]).
//!
//! ```
//! use bevy::prelude::*;
//! use bevy::state::app::StatesPlugin;
//! use bevy_edgegap::prelude::*;
//!
//! #[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
//! enum MatchState {
//!     #[default]
//!     Waiting,
//!     Playing,
//!     Finished,
//!     ShuttingDown,
//! }
//!
//! let mut app = App::new();
//! app.add_plugins((MinimalPlugins, StatesPlugin))
//!     .init_state::<MatchState>()
//!     .add_plugins(
//!         EdgegapServerPlugin::new()
//!             .self_stop_on_enter(MatchState::Finished)
//!             .on_shutdown_enter(MatchState::ShuttingDown),
//!     )
//!     .add_systems(Startup, |env: Option<Res<ArbitriumEnv>>| match env {
//!         Some(env) => info!("listening on `{:?}`", env.bind_addr("gameport")),
//!         None => info!("local run: listening on the default port"),
//!     });
//! app.update();
//! ```
//!
//! Not on Edgegap (no `ARBITRIUM_REQUEST_ID`), [`ArbitriumEnv`] is absent, one `info` log says
//! so, and self-stop is a logged no-op: the same binary runs locally.
//!
//! # Match-lifecycle policies
//!
//! An idle deployment costs money until something stops it. Three policies stop it for you,
//! through the same once-only self-stop as [`SelfStop`], each with its [`SelfStopReason`]:
//!
//! | builder | stops when | reason |
//! |---|---|---|
//! | [`stop_if_no_player_within(d)`](EdgegapServerPlugin::stop_if_no_player_within) | no player joined within `d` of the start | [`NoPlayerWithin`](SelfStopReason::NoPlayerWithin) |
//! | [`stop_when_empty_for(d)`](EdgegapServerPlugin::stop_when_empty_for) | players had joined, and the match has been empty for `d` | [`EmptyFor`](SelfStopReason::EmptyFor) |
//! | [`max_match_duration(d)`](EdgegapServerPlugin::max_match_duration) | the server has run for `d`, players or not | [`MaxMatchDuration`](SelfStopReason::MaxMatchDuration) |
//!
//! The game reports players in the [`PlayerCount`] resource; time is [`Time<Real>`] since
//! the app started. The log says ``self-stopping deployment `<id>`: <reason>``, and
//! [`SelfStopCompleted`] / [`SelfStopFailed`] carry the reason.
//!
//! ```
//! use std::time::Duration;
//!
//! use bevy::prelude::*;
//! use bevy_edgegap::prelude::*;
//!
//! fn on_join(mut players: ResMut<PlayerCount>) {
//!     players.joined(); // and `left()` when one goes, or `set(n)`
//! }
//!
//! let mut app = App::new();
//! app.add_plugins(MinimalPlugins).add_plugins(
//!     EdgegapServerPlugin::new()
//!         .stop_if_no_player_within(Duration::from_secs(120))
//!         .stop_when_empty_for(Duration::from_secs(30))
//!         .max_match_duration(Duration::from_secs(3600)),
//! );
//! # app.add_systems(Startup, on_join);
//! app.update();
//! assert_eq!(app.world().resource::<PlayerCount>().count(), 1);
//! ```
//!
//! # `SIGTERM` and the self-stop's answer, in either order
//!
//! On Edgegap, a self-stop makes Edgegap send `SIGTERM`: the server should then wrap up and
//! exit (the plugin exits after the grace window). A server that exits on its own before
//! that may be restarted, depending on the app version's restart policy. Edgegap (and the
//! emulator) may send `SIGTERM` before the answer arrives: the plugin then writes
//! [`SelfStopCompleted`] (with `sigterm_first`) in the same frame as [`ShutdownRequested`], so
//! whichever comes first, the game sees both and exits 0 within the grace window.
//!
//! # Panics
//!
//! With [`self_stop_on_panic`](EdgegapServerPlugin::self_stop_on_panic), a panic that ends
//! the app (unwinds out of its update) and an [`AppExit::Error`] make one last, bounded
//! self-stop attempt; panics the app survives do not (see the field for exactly which).
//!
//! Signals are handled on native unix only (elsewhere [`ShutdownRequested`] is only what the
//! game writes). With Bevy's `DefaultPlugins`, its `TerminalCtrlCHandlerPlugin` also reacts
//! to Ctrl-C by exiting at once; disable it to get the grace window on Ctrl-C too.

use std::time::Duration;

use bevy::log::info;
use bevy::prelude::*;
use bevy::state::state::FreelyMutableState;

use crate::http::RetryPolicy;

mod announce;
mod call;
mod config;
mod context;
mod env;
mod match_env;
mod policy;
mod self_stop;
mod shutdown;

pub use context::{
    AddContextTag, ContextRead, ContextTagAdded, ContextTagRemoved, ReadContext, RemoveContextTag,
};
pub use env::{
    ArbitriumEnv, ArbitriumPort, BeaconFacts, EnvWarning, HostFacts, PrivateFleetFacts,
    REQUEST_ID_VAR,
};
pub use match_env::MatchEnv;
pub use policy::{MatchArrivals, PlayerCount, PlayerNoShow};
pub use self_stop::{SelfStop, SelfStopCompleted, SelfStopFailed, SelfStopReason};

use config::ServerConfig;
pub use shutdown::{ShutdownReason, ShutdownRequested};

/// The server plugin's system sets, in frame order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgegapServerSystems {
    /// Turns caught signals into [`ShutdownRequested`], starts the grace window and applies
    /// `on_shutdown_enter`. Runs in [`PreUpdate`], so the state changes in the same frame.
    Signals,
    /// Polls the self-stop and context calls (sending their retries when due) and writes
    /// their results; a `SIGTERM` seen this frame completes a self-stop still waiting for its
    /// answer. Runs in [`PreUpdate`], after [`Signals`](Self::Signals).
    Receive,
    /// Applies the match-lifecycle policies, then starts the calls asked for this frame (by
    /// [`SelfStop`], `self_stop_on_enter`, a policy, the context messages) and sends their
    /// first attempts. Runs in [`PostUpdate`].
    Send,
    /// Exits once the grace window has passed; the last self-stop attempt on an error exit.
    /// Runs in [`Last`].
    Exit,
}

type AppHook = Box<dyn Fn(&mut App) + Send + Sync>;

/// Dedicated-server support: [`ArbitriumEnv`], self-stop, graceful `SIGTERM`.
///
/// Configure it with the builder methods, starting from [`EdgegapServerPlugin::new`] (the
/// defaults each method names). The [`ArbitriumEnv`] is read from the process environment in
/// `build`, unless the app already holds one (insert it before adding the plugin to hand one
/// over, e.g. in tests with [`ArbitriumEnv::from_vars`]).
#[derive(Default)]
pub struct EdgegapServerPlugin {
    config: ServerConfig,
    policies: policy::Policies,
    no_show: policy::NoShowPolicy,
    hooks: Vec<AppHook>,
}

impl EdgegapServerPlugin {
    /// The defaults: 4 s grace, signals handled, self-stop retried for up to a minute, no
    /// match-lifecycle policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Self-stop when the app enters `state` (e.g. `MatchState::Finished`). Can be called for
    /// several states, of several state types.
    #[must_use]
    pub fn self_stop_on_enter<S: States>(mut self, state: S) -> Self {
        self.hooks.push(Box::new(move |app| {
            app.add_systems(
                OnEnter(state.clone()),
                self_stop::request_on_enter(format!("{state:?}")),
            );
        }));
        self
    }

    /// Self-stop once the match has been empty for `limit`: counted from when the last player
    /// left ([`PlayerCount`] back to zero), and only once a player has joined. Default off.
    #[must_use]
    pub fn stop_when_empty_for(mut self, limit: Duration) -> Self {
        self.policies.empty_for = Some(limit);
        self
    }

    /// Self-stop when no player has joined within `limit` of the start. Report players with
    /// [`PlayerCount`]. Default off.
    #[must_use]
    pub fn stop_if_no_player_within(mut self, limit: Duration) -> Self {
        self.policies.no_player_within = Some(limit);
        self
    }

    /// Self-stop when the server has run for `limit`, players or not. Default off.
    #[must_use]
    pub fn max_match_duration(mut self, limit: Duration) -> Self {
        self.policies.max_duration = Some(limit);
        self
    }

    /// On a matchmaker deployment ([`MatchEnv`]): how long the matched players have to
    /// arrive (reported with [`MatchArrivals`]) before each missing one is a
    /// [`PlayerNoShow`]. Default 60 s (Edgegap's connection grace period).
    #[must_use]
    pub fn no_show_grace(mut self, grace: Duration) -> Self {
        self.no_show.grace = grace;
        self
    }

    /// On a matchmaker deployment: self-stop when none of the matched players arrived within
    /// [`no_show_grace`](Self::no_show_grace) and [`PlayerCount`] never saw a player
    /// ([`SelfStopReason::NoShow`]). Default `true`: nobody is coming, the server only costs
    /// money.
    #[must_use]
    pub fn stop_if_nobody_shows(mut self, stop: bool) -> Self {
        self.no_show.stop_if_nobody_shows = stop;
        self
    }

    /// Enter `state` on the first [`ShutdownRequested`] (same frame as the signal).
    #[must_use]
    pub fn on_shutdown_enter<S: FreelyMutableState>(mut self, state: S) -> Self {
        self.hooks.push(Box::new(move |app| {
            app.insert_resource(shutdown::ShutdownState(state.clone()));
            app.add_systems(
                PreUpdate,
                shutdown::enter_on_shutdown::<S>
                    .in_set(EdgegapServerSystems::Signals)
                    .after(shutdown::start_grace),
            );
        }));
        self
    }

    /// The grace window between a shutdown request and [`AppExit::Success`]. Default 4 s
    /// (Edgegap's minimum termination grace is 5 s).
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.config.grace = grace;
        self
    }

    /// How the self-stop is retried: connection errors, `429` and `5xx`, up to one minute by
    /// default.
    #[must_use]
    pub fn with_self_stop_retry(mut self, policy: RetryPolicy) -> Self {
        self.config.self_stop_retry = policy;
        self
    }

    /// How context calls are retried. Default [`RetryPolicy::default`].
    #[must_use]
    pub fn with_context_retry(mut self, policy: RetryPolicy) -> Self {
        self.config.context_retry = policy;
        self
    }

    /// The longest wait for one answer before the attempt counts as timed out. Default 10 s.
    #[must_use]
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.config.attempt_timeout = timeout;
        self
    }

    /// Whether to listen for `SIGTERM` and `SIGINT` (native unix). Default `true`.
    #[must_use]
    pub fn with_signals(mut self, handle: bool) -> Self {
        self.config.handle_signals = handle;
        self
    }

    /// When a panic ends the app, or it exits with an [`AppExit::Error`], make one last
    /// blocking self-stop attempt (bounded by
    /// [`with_last_resort_timeout`](Self::with_last_resort_timeout)). Default `false`.
    ///
    /// "A panic that ends the app" is one that unwinds out of the app's update and drops its
    /// world: a panicking system (on any thread: Bevy resumes it on the app's thread), a
    /// command, an observer, or anything else `app.update()` runs, not caught before
    /// `App::run` returns. Panics the app survives do nothing: in a thread or task of the
    /// game's own, in Bevy's task pools, or caught with `catch_unwind`. Built with
    /// `panic = "abort"`, every panic ends the process at once, so any panic attempts.
    #[must_use]
    pub fn self_stop_on_panic(mut self, enabled: bool) -> Self {
        self.config.self_stop_on_panic = enabled;
        self
    }

    /// The bound of that last attempt. Default 3 s.
    #[must_use]
    pub fn with_last_resort_timeout(mut self, timeout: Duration) -> Self {
        self.config.last_resort_timeout = timeout;
        self
    }
}

/// Where the [`ArbitriumEnv`] came from, for the one startup log.
enum EnvReport {
    /// Inserted before the plugin (its warnings were logged by whoever parsed it).
    Given(crate::api::RequestId),
    /// Read from the process environment by the plugin.
    Read(crate::api::RequestId),
    /// Not on Edgegap.
    Absent,
}

impl EnvReport {
    fn log(&self, env: Option<&ArbitriumEnv>) {
        match self {
            Self::Given(id) => info!("running on edgegap as deployment `{id}`"),
            Self::Read(id) => {
                info!("running on edgegap as deployment `{id}`");
                if let Some(env) = env {
                    env.log_warnings();
                }
            }
            Self::Absent => info!(
                "not running on edgegap (no `{REQUEST_ID_VAR}`): self-stop and the context API are disabled"
            ),
        }
    }
}

impl Plugin for EdgegapServerPlugin {
    fn build(&self, app: &mut App) {
        let config = self.config.clone();
        let policies = self.policies;
        // Logged from `Startup`, so the order of `LogPlugin` and this plugin does not matter.
        let report = if let Some(env) = app.world().get_resource::<ArbitriumEnv>() {
            EnvReport::Given(env.request_id().clone())
        } else if let Some(env) = ArbitriumEnv::read_process_env() {
            let report = EnvReport::Read(env.request_id().clone());
            app.insert_resource(env);
            report
        } else {
            EnvReport::Absent
        };
        app.add_systems(Startup, move |env: Option<Res<ArbitriumEnv>>| {
            report.log(env.as_deref())
        });
        // The matchmaker's view, from the same process environment (unless handed over).
        let mut read_here = false;
        if !app.world().contains_resource::<MatchEnv>()
            && let Some(env) = MatchEnv::read_process_env()
        {
            app.insert_resource(env);
            read_here = true;
        }
        app.add_systems(Startup, move |env: Option<Res<MatchEnv>>| {
            if let Some(env) = env {
                info!(
                    "matchmaker match `{}`: expecting `{}` player(s)",
                    env.match_id,
                    env.expected_players()
                );
                // Handed over: whoever parsed it logged its warnings.
                if read_here {
                    env.log_warnings();
                }
            }
        });

        app.add_message::<SelfStop>()
            .add_message::<SelfStopCompleted>()
            .add_message::<SelfStopFailed>()
            .add_message::<ShutdownRequested>()
            .add_message::<ReadContext>()
            .add_message::<ContextRead>()
            .add_message::<AddContextTag>()
            .add_message::<ContextTagAdded>()
            .add_message::<RemoveContextTag>()
            .add_message::<ContextTagRemoved>()
            .init_resource::<context::ContextCalls>()
            .init_resource::<PlayerCount>()
            .init_resource::<MatchArrivals>()
            .add_message::<PlayerNoShow>()
            .insert_resource(self.no_show)
            .insert_resource(policies)
            .init_resource::<policy::PolicyClock>();
        self_stop::setup(app, &config);
        shutdown::setup(app, &config);
        app.insert_resource(config);

        app.configure_sets(
            PreUpdate,
            (EdgegapServerSystems::Signals, EdgegapServerSystems::Receive).chain(),
        )
        .configure_sets(PostUpdate, EdgegapServerSystems::Send)
        .configure_sets(Last, EdgegapServerSystems::Exit)
        .add_systems(
            PreUpdate,
            (
                (shutdown::watch_signals, shutdown::start_grace)
                    .chain()
                    .in_set(EdgegapServerSystems::Signals),
                (self_stop::poll_self_stop, context::poll_context_calls)
                    .in_set(EdgegapServerSystems::Receive),
            ),
        )
        .add_systems(
            PostUpdate,
            (
                (
                    policy::apply_policies,
                    policy::check_no_shows.run_if(resource_exists::<MatchEnv>),
                    self_stop::start_self_stop,
                )
                    .chain(),
                context::start_context_calls,
            )
                .in_set(EdgegapServerSystems::Send),
        )
        .add_systems(
            Last,
            (
                shutdown::exit_after_grace,
                self_stop::self_stop_on_error_exit,
            )
                .in_set(EdgegapServerSystems::Exit),
        );
        for hook in &self.hooks {
            hook(app);
        }
    }
}
