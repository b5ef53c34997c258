//! Edgegap's matchmaker (Gen2, configuration 3.3.x) on a base URL of its own.
//!
//! Started from the same JSON configuration as the dashboard's
//! ([`EmulatorBuilder::matchmaker`]), it serves the endpoints Edgegap's SDKs call (groups,
//! members, tickets, backfills, monitor, beacons) with the raw `Authorization: <token>`
//! header, matches tickets first in, first out, deploys each match through the emulator's own
//! deployment lifecycle with the `MM_*` variables, and hands every member the same assignment.
//! Its timers run on its own [`Clock`](clock::Clock): wall time, or a manual clock that tests
//! advance with [`EmulatorHandle::advance_matchmaker_clock`].
//!
//! The module talks to the rest of the emulator only through `lifecycle::create`, the fault
//! rules of [`Route::DeployV2`], and `Shared::deployment_changed`.

mod beacons;
mod classify;
mod clock;
pub(crate) mod config;
mod cors;
mod env;
mod handlers;
mod matching;
mod rules;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};

use crate::builder::EmulatorBuilder;
use crate::classify::Route;
use crate::error::EmulatorError;
use crate::faults::FaultKind;
use crate::handle::EmulatorHandle;
use crate::handlers::deploy::COULD_NOT_ALLOCATE;
use crate::state::lifecycle::{self, NewDeployment};
use crate::state::views::{PUBLIC_IP, location_json};
use crate::state::{Deployment, Phase, Shared, Webhooks};
use crate::util::{lock, random_hex};
use beacons::Beacon;
use clock::Clock;
use config::Config;
pub use config::MatchmakerConfigError;
use state::State;

/// The matchmaker's settings in the builder (and the config file's `[matchmaker]` table).
#[derive(Clone)]
pub(crate) struct Settings {
    /// The configuration JSON; `None`: no matchmaker.
    pub config: Option<String>,
    pub token: Option<String>,
    pub bind: SocketAddr,
    pub manual_clock: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            config: None,
            token: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            manual_clock: false,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("config", &self.config.as_ref().map(|c| c.len()))
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("bind", &self.bind)
            .field("manual_clock", &self.manual_clock)
            .finish()
    }
}

/// A running matchmaker.
pub(crate) struct Matchmaker {
    pub config: Config,
    pub token: String,
    pub url: String,
    pub clock: Clock,
    pub state: Mutex<State>,
    /// Wakes the timer task: something changed, or the clock was advanced.
    pub wake: Notify,
    pub beacons: Vec<Beacon>,
    pub shared: Arc<Shared>,
}

impl std::fmt::Debug for Matchmaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matchmaker")
            .field("url", &self.url)
            .field("token", &"***")
            .field("profiles", &self.config.profiles.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The assignment of a READY deployment: `{fqdn, public_ip, ports, location}` (ports as
/// strings, as in Edgegap's SDK models).
fn assignment(d: &Deployment) -> Value {
    let ports: Map<String, Value> = d
        .ports
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                json!({
                    "internal": p.internal.to_string(),
                    "external": p.external.to_string(),
                    "link": format!("{PUBLIC_IP}:{}", p.external),
                    "protocol": p.protocol,
                }),
            )
        })
        .collect();
    json!({
        "fqdn": d.fqdn(),
        "public_ip": PUBLIC_IP,
        "ports": ports,
        "location": location_json(&d.location),
    })
}

impl Matchmaker {
    /// Brings the state up to the clock: follows the deployments of pending matches, runs the
    /// matching (every deadline passed, then now) and deploys what it formed. Must run on the
    /// emulator's runtime (deploying spawns the lifecycle task).
    pub(crate) fn settle(&self) {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        self.follow(&mut state, now);
        let formed = matching::run_until(&mut state, &self.config, now);
        for id in formed {
            self.deploy(&mut state, &id, now);
        }
    }

    /// READY deployments give their matches' groups the assignment; ERROR (or a stop before
    /// READY) sends the groups back to searching.
    fn follow(&self, state: &mut State, now: Duration) {
        let pending: Vec<(String, String)> = state
            .matches
            .values()
            .filter_map(|m| m.deployment.clone().map(|d| (m.id.clone(), d)))
            .collect();
        for (match_id, request_id) in pending {
            let outcome = match self.shared.deployments().by_id.get(&request_id) {
                None => Some(None),
                Some(d) => match d.phase {
                    Phase::Ready => Some(Some(assignment(d))),
                    Phase::Error | Phase::Terminating | Phase::Terminated => Some(None),
                    _ => None,
                },
            };
            match outcome {
                Some(Some(assignment)) => matching::assign(state, &match_id, &assignment, now),
                Some(None) => {
                    matching::fail(state, &self.config, &match_id, now);
                    self.wake.notify_one();
                }
                None => {}
            }
        }
    }

    /// Deploys match `match_id` through the lifecycle with its `MM_*` variables. The fault
    /// rules of `DeployV2` apply: `CouldNotAllocate` gives a deployment in ERROR, any fault that
    /// would refuse the call (a status, 429, 502, hang) a failed attempt.
    fn deploy(&self, state: &mut State, match_id: &str, now: Duration) {
        let Some(m) = state.matches.get(match_id) else {
            return;
        };
        let version = self
            .config
            .profiles
            .get(&m.profile)
            .and_then(|p| self.shared.find_version(&p.app, &p.version));
        let fault = lock(&self.shared.faults).pick(Route::DeployV2);
        if fault.is_some() {
            self.shared.count_fault(Route::DeployV2);
        }
        let new = version.map(|version| NewDeployment {
            version,
            env_vars: m.env.clone(),
            tags: Vec::new(),
            webhooks: Webhooks::default(),
            host_id: None,
            resources: None,
        });
        let request_id =
            match (new, fault) {
                (Some(new), None | Some(FaultKind::Latency(_) | FaultKind::MalformedJson)) => {
                    Some(lifecycle::create(&self.shared, new))
                }
                (Some(new), Some(FaultKind::CouldNotAllocate)) => Some(
                    lifecycle::create_unallocated(&self.shared, new, COULD_NOT_ALLOCATE),
                ),
                _ => None,
            };
        match request_id {
            Some(id) => {
                tracing::debug!("matchmaker: match `{match_id}` deploying as `{id}`");
                if let Some(m) = state.matches.get_mut(match_id) {
                    m.deployment = Some(id);
                }
                // A deployment that is already READY or ERROR (zero lifecycle steps).
                self.wake.notify_one();
            }
            None => {
                matching::fail(state, &self.config, match_id, now);
                self.wake.notify_one();
            }
        }
    }
}

/// The timer task: settles whenever something changed, a deployment moved, or the next
/// deadline came (wall clock only).
async fn run(mm: Arc<Matchmaker>, mut shutdown: watch::Receiver<bool>) {
    loop {
        mm.settle();
        let next = {
            let state = lock(&mm.state);
            matching::next_deadline(&state, &mm.config, state.last_pass)
        };
        let at = next.and_then(|t| mm.clock.instant_of(t));
        let timer = async {
            match at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = mm.wake.notified() => {}
            () = mm.shared.deployment_changed.notified() => {}
            () = timer => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// A matchmaker checked and bound, not serving yet.
pub(crate) struct Prepared {
    config: Config,
    token: String,
    listener: std::net::TcpListener,
    url: String,
    manual_clock: bool,
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
        .as_deref()
        .is_some_and(|t| t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(EmulatorError::Config(
            "the matchmaker token must be non-empty without spaces".into(),
        ));
    }
    let token = mm.token.clone().unwrap_or_else(|| random_hex(32));
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
    tokio::spawn(run(Arc::clone(&mm), shutdown.clone()));
    tracing::debug!("matchmaker listening on `{}`", mm.url);
    Ok(mm)
}

impl EmulatorBuilder {
    /// Adds Edgegap's matchmaker, configured by `config_json`: the JSON the dashboard takes
    /// (version 3.3.x; profiles, rules, expansions, timers, `allowed_cors_origins`). It is
    /// checked at [`start`](Self::start) as the dashboard checks it (each profile's
    /// `application` must be an app version of this emulator): a refusal is
    /// [`EmulatorError::Matchmaker`]. It serves on its own base URL
    /// ([`EmulatorHandle::matchmaker_url`]) with its own token.
    pub fn matchmaker(mut self, config_json: impl Into<String>) -> Self {
        self.settings.matchmaker.config = Some(config_json.into());
        self
    }

    /// The matchmaker's token (clients send it raw: `Authorization: <token>`); default random.
    pub fn matchmaker_token(mut self, token: impl Into<String>) -> Self {
        self.settings.matchmaker.token = Some(token.into());
        self
    }

    /// The matchmaker's listening address (default `127.0.0.1:0`, a free port).
    pub fn matchmaker_bind(mut self, address: SocketAddr) -> Self {
        self.settings.matchmaker.bind = address;
        self
    }

    /// The matchmaker's timers (expansions, expiration, removal, inactivity) run on a clock
    /// that moves only through [`EmulatorHandle::advance_matchmaker_clock`], instead of wall
    /// time: a test decides exactly when an expansion fires.
    pub fn matchmaker_manual_clock(mut self) -> Self {
        self.settings.matchmaker.manual_clock = true;
        self
    }
}

impl EmulatorHandle {
    /// The matchmaker's base URL, `http://127.0.0.1:PORT` (no trailing slash; not
    /// [`base_url`](Self::base_url)); empty when the emulator has no matchmaker.
    #[must_use]
    pub fn matchmaker_url(&self) -> String {
        self.matchmaker
            .as_ref()
            .map(|mm| mm.url.clone())
            .unwrap_or_default()
    }

    /// The matchmaker's token, sent raw as `Authorization: <token>`; empty when the emulator
    /// has no matchmaker.
    #[must_use]
    pub fn matchmaker_token(&self) -> String {
        self.matchmaker
            .as_ref()
            .map(|mm| mm.token.clone())
            .unwrap_or_default()
    }

    /// Moves the matchmaker's clock forward by `by` (expansions, expirations and removals due
    /// meanwhile happen in order, at their own times). With
    /// [`EmulatorBuilder::matchmaker_manual_clock`] this is the only way its clock moves. The
    /// matchmaker acts on it in the background: wait for the state you expect.
    pub fn advance_matchmaker_clock(&self, by: Duration) {
        if let Some(mm) = &self.matchmaker {
            mm.clock.advance(by);
            mm.wake.notify_one();
        }
    }
}
