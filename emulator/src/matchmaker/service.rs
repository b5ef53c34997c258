//! The running matchmaker: its state, its clock, and what it does when time passes or a
//! deployment moves (settle: follow deployments, match, deploy).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};

use super::beacons::Beacon;
use super::clock::Clock;
use super::config::Config;
use super::matching;
use super::state::State;
use crate::classify::Route;
use crate::faults::FaultKind;
use crate::handlers::deploy::COULD_NOT_ALLOCATE;
use crate::state::lifecycle::{self, NewDeployment};
use crate::state::views::{PUBLIC_IP, location_json};
use crate::state::{Deployment, Phase, Shared, Webhooks};
use crate::util::lock;

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
pub(crate) async fn run(mm: Arc<Matchmaker>, mut shutdown: watch::Receiver<bool>) {
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
