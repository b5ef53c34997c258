//! Edgegap's matchmaker (Gen2, configuration 3.3.x) on a base URL of its own.
//!
//! Started from the same JSON configuration as the dashboard's
//! ([`EmulatorBuilder::matchmaker`](crate::EmulatorBuilder::matchmaker)), it serves the endpoints Edgegap's SDKs call (groups,
//! members, tickets, backfills, monitor, beacons) with the raw `Authorization: <token>`
//! header, matches tickets first in, first out, deploys each match through the emulator's own
//! deployment lifecycle with the `MM_*` variables, and hands every member the same assignment.
//! Its timers run on its own [`Clock`]: wall time, or a manual clock that tests
//! advance with
//! [`EmulatorHandle::advance_matchmaker_clock`](crate::EmulatorHandle::advance_matchmaker_clock).
//!
//! The module talks to the rest of the emulator only through `lifecycle::create`, the fault
//! rules of [`Route::DeployV2`](crate::Route::DeployV2), and `Shared::deployment_changed`.

mod beacons;
mod classify;
mod clock;
pub(crate) mod config;
mod cors;
mod env;
mod handlers;
mod matching;
mod request;
mod rules;
mod server;
mod service;
mod state;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::{Notify, watch};

use crate::error::EmulatorError;
use crate::state::Shared;
use crate::util::random_hex;
use beacons::Beacon;
use clock::Clock;
use config::Config;
pub use config::{MatchmakerConfigError, matchmaker_config, player_count_rule};
pub(crate) use service::Matchmaker;
use state::State;

/// A matchmaker checked and bound, not serving yet.
pub(crate) struct Prepared {
    config: Config,
    token: String,
    listener: std::net::TcpListener,
    url: String,
    manual_clock: bool,
}

impl Prepared {
    /// The `(app, version)` pairs its profiles deploy (they cannot be deleted while it runs).
    pub(crate) fn versions(&self) -> Vec<(String, String)> {
        self.config
            .profiles
            .values()
            .map(|p| (p.app.clone(), p.version.clone()))
            .collect()
    }
}

/// Checks the matchmaker settings against the app versions and binds its listener; `None`
/// when no matchmaker is configured.
pub(crate) fn prepare(
    settings: &crate::config::Settings,
) -> Result<Option<Prepared>, EmulatorError> {
    let mm = &settings.matchmaker;
    let Some(json) = &mm.config else {
        return Ok(None);
    };
    let exists = |app: &str, version: &str| {
        settings
            .versions
            .iter()
            .any(|v| v.app == app && v.version == version)
    };
    let config = config::parse(json, &exists).map_err(EmulatorError::Matchmaker)?;
    if mm
        .token
        .as_ref()
        .is_some_and(|t| t.0.is_empty() || t.0.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(EmulatorError::Config(
            "the matchmaker token must be non-empty without spaces".into(),
        ));
    }
    let token = mm.token.clone().map_or_else(|| random_hex(32), |t| t.0);
    let listener = std::net::TcpListener::bind(mm.bind)?;
    listener.set_nonblocking(true)?;
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(Some(Prepared {
        config,
        token,
        listener,
        url: format!("http://{address}"),
        manual_clock: mm.manual_clock,
    }))
}

/// Starts serving on `runtime`: the listener, the beacons and the timer task, until
/// `shutdown` turns true.
pub(crate) fn start(
    prepared: Prepared,
    shared: &Arc<Shared>,
    runtime: &tokio::runtime::Runtime,
    shutdown: &watch::Receiver<bool>,
) -> Result<Arc<Matchmaker>, EmulatorError> {
    let beacons = shared
        .locations
        .iter()
        .cloned()
        .map(Beacon::bind)
        .collect::<std::io::Result<Vec<_>>>()?;
    let _entered = runtime.enter();
    let listener = tokio::net::TcpListener::from_std(prepared.listener)?;
    for beacon in &beacons {
        beacon.serve(shutdown)?;
    }
    let mm = Arc::new(Matchmaker {
        config: prepared.config,
        token: prepared.token,
        url: prepared.url,
        clock: Clock::new(prepared.manual_clock),
        state: Mutex::new(State::new(SystemTime::now())),
        wake: Notify::new(),
        beacons,
        shared: Arc::clone(shared),
    });
    let served = Arc::clone(&mm);
    tokio::spawn(crate::server::serve_with(
        listener,
        shutdown.clone(),
        || {},
        move |request, peer, _kill| server::handle(Arc::clone(&served), request, peer),
    ));
    tokio::spawn(service::run(Arc::clone(&mm), shutdown.clone()));
    tracing::debug!("matchmaker listening on `{}`", mm.url);
    Ok(mm)
}
