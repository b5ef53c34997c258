//! The emulator's shared state: settings, deployments and what was observed.

pub(crate) mod apps;
pub(crate) mod lifecycle;
pub(crate) mod views;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, watch};

use crate::classify::Route;
use crate::config::{AppVersion, Location, Settings};
use crate::faults::Faults;
use crate::process::{LogBuffer, ProcessSignals, Sample};
use crate::ratelimit::RateLimits;
use crate::snapshot::{DeploymentInfo, RecordedRequest};
use crate::util::lock;

/// Most requests kept by the request log (the oldest go first; counters are not affected).
pub(crate) const MAX_RECORDED_REQUESTS: usize = 100_000;
/// Longest path kept in the request log, in bytes (cut on a character boundary).
pub(crate) const MAX_RECORDED_PATH: usize = 1024;

/// A deployment's status (`Status.X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Phase {
    Initializing,
    Seeking,
    Seeked,
    Scanning,
    Deploying,
    Ready,
    Terminating,
    Terminated,
    Error,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Initializing => "Status.INITIALIZING",
            Phase::Seeking => "Status.SEEKING",
            Phase::Seeked => "Status.SEEKED",
            Phase::Scanning => "Status.SCANNING",
            Phase::Deploying => "Status.DEPLOYING",
            Phase::Ready => "Status.READY",
            Phase::Terminating => "Status.TERMINATING",
            Phase::Terminated => "Status.TERMINATED",
            Phase::Error => "Status.ERROR",
        }
    }

    /// Before READY/ERROR: a stop is deferred (202) until one of them is reached.
    pub(crate) fn is_starting(self) -> bool {
        matches!(
            self,
            Phase::Initializing
                | Phase::Seeking
                | Phase::Seeked
                | Phase::Scanning
                | Phase::Deploying
        )
    }
}

/// A port as allocated for one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Port {
    pub name: String,
    pub internal: u16,
    pub external: u16,
    pub protocol: String,
}

/// A deployment tag with its timestamps.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub name: String,
    pub created: SystemTime,
    pub updated: SystemTime,
}

/// Webhook URLs of a deployment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Webhooks {
    pub on_ready: Option<String>,
    pub on_error: Option<String>,
    pub on_terminated: Option<String>,
    /// v1 `webhook_url`: POSTed on READY or ERROR.
    pub v1: Option<String>,
}

/// The crash of a process that exited non-zero.
#[derive(Debug, Clone)]
pub(crate) struct Crash {
    pub exit_code: i32,
    pub message: String,
    pub logs: String,
}

/// One deployment.
#[derive(Debug)]
pub(crate) struct Deployment {
    pub request_id: String,
    pub version: Arc<AppVersion>,
    pub phase: Phase,
    pub last_phase: Option<Phase>,
    pub transitions: Vec<Phase>,
    pub created: SystemTime,
    pub ready_at: Option<SystemTime>,
    pub removed_at: Option<SystemTime>,
    pub error_detail: Option<String>,
    pub tags: Vec<Tag>,
    pub ports: Vec<Port>,
    pub env: BTreeMap<String, String>,
    pub pid: Option<u32>,
    /// Signals for the launched process, delivered by its watcher while it is unreaped.
    pub signals: Option<ProcessSignals>,
    pub exit_code: Option<i32>,
    pub stopped_by: Option<String>,
    pub stop_pending: Option<&'static str>,
    pub webhooks: Webhooks,
    pub stop_key: String,
    pub delete_token: String,
    pub security_number: u32,
    pub context_token: String,
    pub location: Location,
    pub host_id: String,
    pub logs: Arc<Mutex<LogBuffer>>,
    pub crash: Option<Crash>,
    pub samples: Vec<Sample>,
    /// Wakes the lifecycle task (a stop arrived).
    pub wake: Arc<Notify>,
    /// `true` once the launched process has exited (or there is none to wait for).
    pub exited: watch::Sender<bool>,
}

impl Deployment {
    pub(crate) fn is_active(&self) -> bool {
        !matches!(self.phase, Phase::Terminated)
    }

    pub(crate) fn fqdn(&self) -> String {
        format!("{}.pr.edgegap.net", self.request_id)
    }

    pub(crate) fn tag_names(&self) -> Vec<String> {
        self.tags.iter().map(|t| t.name.clone()).collect()
    }

    pub(crate) fn info(&self) -> DeploymentInfo {
        DeploymentInfo {
            request_id: self.request_id.clone(),
            app: self.version.app.clone(),
            version: self.version.version.clone(),
            status: self.phase.as_str().to_owned(),
            transitions: self
                .transitions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            tags: self.tag_names(),
            env: self.env.clone(),
            ports: self
                .ports
                .iter()
                .map(|p| (p.name.clone(), (p.internal, p.external, p.protocol.clone())))
                .collect(),
            pid: self.pid,
            exit_code: self.exit_code,
            stopped_by: self.stopped_by.clone(),
            error_detail: self.error_detail.clone(),
            ready_at: self.ready_at,
        }
    }
}

/// Deployments by id, plus their creation order.
#[derive(Debug, Default)]
pub(crate) struct Deployments {
    pub by_id: HashMap<String, Deployment>,
    pub order: Vec<String>,
}

/// What the emulator saw (for the handle's observability methods).
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// `(sequence number, request)` in arrival order.
    pub requests: VecDeque<(u64, RecordedRequest)>,
    /// Bytes of methods and paths in `requests`.
    pub request_bytes: usize,
    pub next_seq: u64,
    pub counts: HashMap<Route, usize>,
    pub faults: HashMap<Route, usize>,
}

/// Everything the server tasks share. Its `Debug` shows where it listens and its settings
/// (without the token), not its state.
pub(crate) struct Shared {
    pub settings: Settings,
    pub token: String,
    pub base_url: String,
    pub locations: Vec<Location>,
    /// Applications and app versions (declared ones, and those made through the API).
    pub catalog: Mutex<apps::Catalog>,
    pub deployments: Mutex<Deployments>,
    pub faults: Mutex<Faults>,
    pub limits: Mutex<RateLimits>,
    pub observed: Mutex<Observed>,
    pub in_flight: AtomicUsize,
    pub peak_in_flight: AtomicUsize,
    /// TCP connections accepted since start (keep-alive reuses one for many requests).
    pub connections_accepted: AtomicUsize,
    pub next_sim_port: AtomicU16,
    pub used_ports: Mutex<HashSet<u16>>,
    /// Both ends of the pipe whose closing (this emulator dropped, or its process dead) tells
    /// each launched process group's watchdog to kill the group (see `process::launch`).
    pub lifeline: Option<(std::io::PipeReader, std::io::PipeWriter)>,
    /// Notified (one stored permit) after every status change of a deployment: what the
    /// matchmaker waits on to follow the deployments it made.
    pub deployment_changed: Notify,
    /// Pulled images: the blob cache and a directory per image deployment.
    pub images: crate::image::Store,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(settings: Settings, token: String, base_url: String) -> Self {
        let locations = if settings.locations.is_empty() {
            Location::defaults()
        } else {
            settings.locations.clone()
        };
        let catalog = apps::Catalog::declared(&settings.versions, SystemTime::now());
        Self {
            faults: Mutex::new(Faults::new(settings.faults.clone(), settings.seed)),
            limits: Mutex::new(RateLimits::new(&settings.rate_limits)),
            settings,
            token,
            base_url,
            locations,
            catalog: Mutex::new(catalog),
            deployments: Mutex::new(Deployments::default()),
            observed: Mutex::new(Observed::default()),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            connections_accepted: AtomicUsize::new(0),
            next_sim_port: AtomicU16::new(0),
            used_ports: Mutex::new(HashSet::new()),
            lifeline: std::io::pipe().ok(),
            deployment_changed: Notify::new(),
            images: crate::image::Store::default(),
        }
    }

    pub(crate) fn deployments(&self) -> MutexGuard<'_, Deployments> {
        lock(&self.deployments)
    }

    pub(crate) fn catalog(&self) -> MutexGuard<'_, apps::Catalog> {
        lock(&self.catalog)
    }

    /// A version deploys may name (it and its app active).
    pub(crate) fn find_version(&self, app: &str, version: &str) -> Option<Arc<AppVersion>> {
        self.catalog().deployable(app, version)
    }

    /// The last deployable version of `app` (a v1 deploy without `version_name`).
    pub(crate) fn latest_version(&self, app: &str) -> Option<Arc<AppVersion>> {
        self.catalog().latest_deployable(app)
    }

    pub(crate) fn app_exists(&self, app: &str) -> bool {
        self.catalog().app(app).is_some()
    }

    /// A unique fake external port for a simulated deployment (30000..=59999).
    pub(crate) fn simulated_port(&self) -> u16 {
        30_000 + self.next_sim_port.fetch_add(1, Ordering::Relaxed) % 30_000
    }

    /// Records a request as it arrives (status 0 until answered); returns its sequence number.
    pub(crate) fn record_arrival(&self, route: Route, method: &str, path: &str) -> u64 {
        let mut cut = path.len().min(MAX_RECORDED_PATH);
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        let request = RecordedRequest {
            route,
            method: method.chars().take(16).collect(),
            path: path[..cut].to_owned(),
            status: 0,
        };
        let size = request.method.len() + request.path.len();
        let mut observed = lock(&self.observed);
        *observed.counts.entry(route).or_default() += 1;
        while observed.requests.len() >= MAX_RECORDED_REQUESTS
            || (!observed.requests.is_empty()
                && observed.request_bytes + size > self.settings.request_log_bytes)
        {
            if let Some((_, old)) = observed.requests.pop_front() {
                observed.request_bytes -= old.method.len() + old.path.len();
            }
        }
        let seq = observed.next_seq;
        observed.next_seq += 1;
        if size <= self.settings.request_log_bytes {
            observed.request_bytes += size;
            observed.requests.push_back((seq, request));
        }
        seq
    }

    /// Sets the answered status of request `seq`.
    pub(crate) fn record_status(&self, seq: u64, status: u16) {
        let mut observed = lock(&self.observed);
        if let Ok(i) = observed.requests.binary_search_by_key(&seq, |(s, _)| *s) {
            observed.requests[i].1.status = status;
        }
    }

    pub(crate) fn count_fault(&self, route: Route) {
        *lock(&self.observed).faults.entry(route).or_default() += 1;
    }

    /// The lifecycle step, the time between two statuses.
    pub(crate) fn step(&self) -> Duration {
        self.settings.lifecycle_step
    }
}
