//! Creating deployments and moving them through their statuses on the clock.
//!
//! `INITIALIZING → SEEKING → SEEKED → SCANNING → DEPLOYING → READY`, one step per
//! `lifecycle_step`; `ERROR` instead of READY for `fail_with` versions or a failed launch;
//! `TERMINATING → TERMINATED` after a stop (SIGTERM, then SIGKILL after the grace period).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::sync::{Notify, watch};

use std::os::fd::AsRawFd;

use super::views::{PUBLIC_IP, location_json};
use super::{Crash, Deployment, Phase, Port, Shared, Tag, Webhooks};
use crate::config::{AppVersion, VersionKind};
use crate::process::{self, LogBuffer, ProcessSignals, Sample};
use crate::util::{lock, random_hex, random_u64};
use crate::webhooks;

/// Most CPU/memory samples kept per deployment (one per second: an hour).
const MAX_SAMPLES: usize = 3600;

/// What a deploy request asks for, once validated.
#[derive(Debug)]
pub(crate) struct NewDeployment {
    pub version: Arc<AppVersion>,
    pub env_vars: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub webhooks: Webhooks,
    pub host_id: Option<String>,
    pub resources: Option<(u64, u64)>,
}

/// `ARBITRIUM_PORT_<NAME>_…`: upper-cased, every character that is not a letter or digit
/// becomes `_` (`Game Port` → `GAME_PORT`).
pub(crate) fn env_port_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn allocate_ports(shared: &Shared, version: &AppVersion) -> Vec<Port> {
    version
        .ports
        .iter()
        .map(|spec| {
            let (internal, external) = match version.kind {
                VersionKind::Simulated => (spec.internal, shared.simulated_port()),
                VersionKind::Command { .. } | VersionKind::Image(_) => {
                    let port = process::free_port(&spec.protocol, &mut lock(&shared.used_ports));
                    (port, port)
                }
            };
            Port {
                name: spec.name.clone(),
                internal,
                external,
                protocol: spec.protocol.clone(),
            }
        })
        .collect()
}

/// The injected environment of `d` (ports, tokens, location and host already chosen), then the
/// app version's env, then the deploy's (the deploy wins).
fn injected_env(base: &str, d: &Deployment, new: &NewDeployment) -> BTreeMap<String, String> {
    let (request_id, ports) = (&d.request_id, &d.ports);
    let mut env = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    put("ARBITRIUM_REQUEST_ID", request_id.to_owned());
    put("ARBITRIUM_PUBLIC_IP", PUBLIC_IP.to_owned());
    let mapping: serde_json::Map<String, serde_json::Value> = ports
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                json!({"name": p.name, "internal": p.internal, "external": p.external, "protocol": p.protocol}),
            )
        })
        .collect();
    put(
        "ARBITRIUM_PORTS_MAPPING",
        json!({ "ports": mapping }).to_string(),
    );
    for p in ports {
        let name = env_port_name(&p.name);
        put(
            &format!("ARBITRIUM_PORT_{name}_INTERNAL"),
            p.internal.to_string(),
        );
        put(
            &format!("ARBITRIUM_PORT_{name}_EXTERNAL"),
            p.external.to_string(),
        );
        put(
            &format!("ARBITRIUM_PORT_{name}_PROTOCOL"),
            p.protocol.clone(),
        );
    }
    put(
        "ARBITRIUM_DELETE_URL",
        format!("{base}/v1/self/stop/{request_id}/{}", d.stop_key),
    );
    put("ARBITRIUM_DELETE_TOKEN", d.delete_token.clone());
    put(
        "ARBITRIUM_CONTEXT_URL",
        format!("{base}/v1/context/{request_id}/{}", d.security_number),
    );
    put("ARBITRIUM_CONTEXT_TOKEN", d.context_token.clone());
    put(
        "ARBITRIUM_DEPLOYMENT_LOCATION",
        location_json(&d.location).to_string(),
    );
    put("ARBITRIUM_DEPLOYMENT_TAGS", new.tags.join(","));
    put("ARBITRIUM_HOST_ID", d.host_id.clone());
    put("ARBITRIUM_HOST_BASE_CLOCK_FREQUENCY", "2000".to_owned());
    let (cpu, mem) = new.resources.unwrap_or(new.version.resources);
    put("ARBITRIUM_DEPLOYMENT_VCPU_UNITS", cpu.to_string());
    put("ARBITRIUM_DEPLOYMENT_MEMORY_MB", mem.to_string());
    put("ARBITRIUM_BEACON_ENABLED", "false".to_owned());
    for (k, v) in new.version.env.0.iter().chain(new.env_vars.iter()) {
        put(k, v.clone());
    }
    env
}

/// Creates the deployment in `Status.INITIALIZING` and starts its lifecycle task.
pub(crate) fn create(shared: &Arc<Shared>, new: NewDeployment) -> String {
    let ports = allocate_ports(shared, &new.version);
    let request_id = insert(shared, &new, ports);
    tokio::spawn(run(Arc::clone(shared), request_id.clone()));
    request_id
}

/// Creates a deployment that could not be placed (Edgegap's v2 422): no ports, no process, no
/// lifecycle task; straight to `Status.ERROR` with `detail` (firing the error webhooks). A stop
/// ends it like any ERROR deployment.
pub(crate) fn create_unallocated(shared: &Arc<Shared>, new: NewDeployment, detail: &str) -> String {
    let request_id = insert(shared, &new, Vec::new());
    transition_if(
        shared,
        &request_id,
        |_| true,
        Phase::Error,
        Some(detail.to_owned()),
    );
    request_id
}

/// Records a new deployment in `Status.INITIALIZING` with `ports`; returns its id.
fn insert(shared: &Shared, new: &NewDeployment, ports: Vec<Port>) -> String {
    let now = SystemTime::now();
    let stop_key = (random_u64() % 1_000_000).to_string();
    let delete_token = random_hex(32);
    let security_number = (random_u64() % 100_000) as u32;
    let context_token = random_hex(32);
    let location = shared.locations[0].clone();
    let host_id = new.host_id.clone().unwrap_or_else(|| {
        format!(
            "emulator-{}-local",
            location.city.to_lowercase().replace(' ', "-")
        )
    });
    let mut deployments = shared.deployments();
    let request_id = loop {
        let id = random_hex(12);
        if !deployments.by_id.contains_key(&id) {
            break id;
        }
    };
    let tags = new
        .tags
        .iter()
        .map(|name| Tag {
            name: name.clone(),
            created: now,
            updated: now,
        })
        .collect();
    let mut deployment = Deployment {
        request_id: request_id.clone(),
        version: Arc::clone(&new.version),
        phase: Phase::Initializing,
        last_phase: None,
        transitions: vec![Phase::Initializing],
        created: now,
        ready_at: None,
        removed_at: None,
        error_detail: None,
        tags,
        ports,
        env: BTreeMap::new(),
        pid: None,
        exit_code: None,
        stopped_by: None,
        stop_pending: None,
        signals: None,
        webhooks: new.webhooks.clone(),
        stop_key,
        delete_token,
        security_number,
        context_token,
        location,
        host_id,
        logs: Arc::new(Mutex::new(LogBuffer::default())),
        crash: None,
        samples: Vec::new(),
        wake: Arc::new(Notify::new()),
        exited: watch::Sender::new(false),
    };
    deployment.env = injected_env(&shared.base_url, &deployment, new);
    deployments.by_id.insert(request_id.clone(), deployment);
    deployments.order.push(request_id.clone());
    drop(deployments);
    tracing::debug!("deployment `{request_id}` created");
    request_id
}

/// Webhooks to fire after a transition: `(kind, url)` pairs and the status JSON they carry.
pub(crate) struct Fired {
    urls: Vec<(&'static str, String)>,
    body: serde_json::Value,
}

/// Moves `d` to `to` under the caller's lock (no check of where it comes from); returns the
/// webhooks to fire once the lock is released.
fn apply(d: &mut Deployment, to: Phase, detail: Option<String>) -> Option<Fired> {
    d.last_phase = Some(d.phase);
    d.phase = to;
    d.transitions.push(to);
    let now = SystemTime::now();
    match to {
        Phase::Ready => d.ready_at = Some(now),
        Phase::Error => d.error_detail = detail,
        Phase::Terminated => d.removed_at = Some(now),
        _ => {}
    }
    let hooks = match to {
        Phase::Ready => vec![
            ("on_ready", &d.webhooks.on_ready),
            ("webhook_url", &d.webhooks.v1),
        ],
        Phase::Error => vec![
            ("on_error", &d.webhooks.on_error),
            ("webhook_url", &d.webhooks.v1),
        ],
        Phase::Terminated => vec![("on_terminated", &d.webhooks.on_terminated)],
        _ => Vec::new(),
    };
    let urls: Vec<(&'static str, String)> = hooks
        .into_iter()
        .filter_map(|(k, u)| u.clone().map(|u| (k, u)))
        .collect();
    tracing::debug!("deployment `{}` is now `{}`", d.request_id, to.as_str());
    (!urls.is_empty()).then(|| Fired {
        urls,
        body: d.status_json(),
    })
}

/// Fires the webhooks of a transition of `id` (outside the deployments lock).
fn fire(shared: &Shared, id: &str, fired: Option<Fired>) {
    let Some(Fired { urls, body }) = fired else {
        return;
    };
    for (kind, url) in urls {
        webhooks::fire(
            kind,
            id.to_owned(),
            url,
            body.clone(),
            shared.settings.webhook_timeout,
        );
    }
}

/// Moves `id` to `to` if its current status passes `allowed`; fires the matching webhooks.
/// Returns whether it moved.
pub(crate) fn transition_if(
    shared: &Shared,
    id: &str,
    allowed: impl Fn(Phase) -> bool,
    to: Phase,
    detail: Option<String>,
) -> bool {
    let mut deployments = shared.deployments();
    let Some(d) = deployments.by_id.get_mut(id) else {
        return false;
    };
    if d.phase == to || d.phase == Phase::Terminated || !allowed(d.phase) {
        return false;
    }
    let fired = apply(d, to, detail);
    drop(deployments);
    fire(shared, id, fired);
    shared.deployment_changed.notify_one();
    true
}

fn pending_stop(shared: &Shared, id: &str) -> Option<&'static str> {
    shared
        .deployments()
        .by_id
        .get(id)
        .and_then(|d| d.stop_pending)
}

/// Applies a stop that arrived before READY/ERROR, now that one of them is reached.
fn settle(shared: &Arc<Shared>, id: &str) {
    if let Some(who) = pending_stop(shared, id) {
        begin_stop(shared, id, who);
    }
}

async fn pause(shared: &Shared) {
    let step = shared.step();
    if step.is_zero() {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(step).await;
    }
}

/// Waits for a stop of a deployment that never becomes READY, then applies it.
async fn wait_for_stop(shared: &Arc<Shared>, id: &str) {
    let Some(wake) = shared
        .deployments()
        .by_id
        .get(id)
        .map(|d| Arc::clone(&d.wake))
    else {
        return;
    };
    loop {
        if let Some(who) = pending_stop(shared, id) {
            begin_stop(shared, id, who);
            return;
        }
        let gone = shared
            .deployments()
            .by_id
            .get(id)
            .is_none_or(|d| !d.phase.is_starting());
        if gone {
            return;
        }
        wake.notified().await;
    }
}

/// The lifecycle task of one deployment.
async fn run(shared: Arc<Shared>, id: String) {
    let Some(version) = shared
        .deployments()
        .by_id
        .get(&id)
        .map(|d| Arc::clone(&d.version))
    else {
        return;
    };
    for phase in [
        Phase::Seeking,
        Phase::Seeked,
        Phase::Scanning,
        Phase::Deploying,
    ] {
        pause(&shared).await;
        transition_if(&shared, &id, Phase::is_starting, phase, None);
    }
    if let Some(detail) = &version.fail_with {
        pause(&shared).await;
        transition_if(
            &shared,
            &id,
            Phase::is_starting,
            Phase::Error,
            Some(detail.clone()),
        );
        settle(&shared, &id);
        return;
    }
    match &version.kind {
        VersionKind::Simulated => {
            if version.never_ready {
                wait_for_stop(&shared, &id).await;
                return;
            }
            pause(&shared).await;
        }
        VersionKind::Command { .. } | VersionKind::Image(_) => {
            // DEPLOYING lasts a step, as the image pull does on Edgegap, before the launch
            // (and, for an image version, as long as its pull).
            pause(&shared).await;
            let started = match target(&shared, &id, &version).await {
                Ok(target) => {
                    let program = target.program.display().to_string();
                    launch(&shared, &id, target)
                        .map_err(|error| format!("failed to start `{program}`: {error}"))
                }
                Err(detail) => Err(detail),
            };
            if let Err(detail) = started {
                tracing::warn!("deployment `{id}`: {detail}");
                shared.images.remove_deployment(&id);
                transition_if(&shared, &id, Phase::is_starting, Phase::Error, Some(detail));
                settle(&shared, &id);
                return;
            }
            if version.never_ready {
                wait_for_stop(&shared, &id).await;
                return;
            }
            if version.wait_for_port && !wait_for_port(&shared, &id).await {
                settle(&shared, &id);
                return;
            }
        }
    }
    transition_if(&shared, &id, Phase::is_starting, Phase::Ready, None);
    settle(&shared, &id);
}

/// Reports a launched process of deployment `id` into the state.
struct DeploymentWatcher {
    shared: Arc<Shared>,
    id: String,
}

impl process::Watcher for DeploymentWatcher {
    fn started(&self, pid: u32, signals: ProcessSignals) {
        tracing::debug!("deployment `{}`: launched as `{pid}`", self.id);
        if let Some(d) = self.shared.deployments().by_id.get_mut(&self.id) {
            d.pid = Some(pid);
            d.signals = Some(signals);
        }
    }

    fn sampled(&self, sample: Sample) {
        if let Some(d) = self.shared.deployments().by_id.get_mut(&self.id) {
            if d.samples.len() >= MAX_SAMPLES {
                d.samples.remove(0);
            }
            d.samples.push(sample);
        }
    }

    fn exited(&self, code: i32, message: String) {
        tracing::debug!("deployment `{}`: {message}", self.id);
        process_exited(&self.shared, &self.id, code, message);
    }
}

/// What a process deployment launches.
#[derive(Debug)]
struct Target {
    program: PathBuf,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    /// Set before the injected environment (an image's `Env`).
    env: Vec<(String, String)>,
}

/// The program of a command version; for an image version, its image pulled and unpacked for
/// deployment `id` (the error is the deployment's `error_detail`).
async fn target(shared: &Shared, id: &str, version: &AppVersion) -> Result<Target, String> {
    match &version.kind {
        VersionKind::Command { program, args } => Ok(Target {
            program: program.clone(),
            args: args.clone(),
            cwd: None,
            env: Vec::new(),
        }),
        VersionKind::Image(source) => {
            tracing::debug!("deployment `{id}`: pulling `{source}`");
            let prepared = shared
                .images
                .prepare(source, id, version.pull_timeout)
                .await
                .map_err(|error| format!("image `{source}`: {error}"))?;
            Ok(Target {
                program: prepared.program,
                args: prepared.args,
                cwd: Some(prepared.cwd),
                env: prepared.env,
            })
        }
        VersionKind::Simulated => Err("a simulated version has nothing to launch".into()),
    }
}

/// Launches `target` for deployment `id` with its injected environment (nothing for an
/// unknown id).
fn launch(shared: &Arc<Shared>, id: &str, target: Target) -> std::io::Result<()> {
    let launch = {
        let deployments = shared.deployments();
        let Some(d) = deployments.by_id.get(id) else {
            return Ok(());
        };
        let mut env: BTreeMap<String, String> = target.env.into_iter().collect();
        env.extend(d.env.clone());
        process::Launch {
            program: target.program,
            args: target.args,
            env,
            cwd: target.cwd,
            logs: Arc::clone(&d.logs),
            lifeline: shared
                .lifeline
                .as_ref()
                .map(|(read, write)| (read.as_raw_fd(), write.as_raw_fd())),
        }
    };
    let watcher = DeploymentWatcher {
        shared: Arc::clone(shared),
        id: id.to_owned(),
    };
    process::launch(launch, watcher)
}

/// Waits until the first TCP-capable port of `id` accepts a connection (`true` at once when it
/// has no such port). Returns `false` when the deployment stopped starting meanwhile: the
/// process exited, or a stop arrived (applied at once: the port may never open).
async fn wait_for_port(shared: &Shared, id: &str) -> bool {
    let port = {
        let deployments = shared.deployments();
        let Some(d) = deployments.by_id.get(id) else {
            return false;
        };
        d.ports
            .iter()
            .find(|p| process::needs_tcp(&p.protocol))
            .map(|p| p.internal)
    };
    let Some(port) = port else {
        return true;
    };
    let starting = || {
        shared.deployments().by_id.get(id).is_some_and(|d| {
            d.phase == Phase::Deploying && !*d.exited.borrow() && d.stop_pending.is_none()
        })
    };
    process::wait_for_port(port, starting).await
}

/// A stop recorded under the deployments lock, to carry out once the lock is released.
#[must_use]
pub(crate) struct StopPlan {
    id: String,
    fired: Option<Fired>,
    /// The live process: its watcher's signal channel, grace period and exit flag.
    process: Option<(ProcessSignals, Duration, watch::Receiver<bool>)>,
}

/// Records a stop of `d` by `who` (`"api"`, `"self"`, `"bulk"`) under the caller's lock:
/// `stopped_by` and `Status.TERMINATING`. `None` when it is already stopping or stopped, so
/// concurrent stops apply once and the first one's `stopped_by` stays.
pub(crate) fn record_stop(d: &mut Deployment, who: &'static str) -> Option<StopPlan> {
    if matches!(d.phase, Phase::Terminating | Phase::Terminated) {
        return None;
    }
    d.stop_pending = None;
    d.stopped_by = Some(who.to_owned());
    let process = d
        .signals
        .clone()
        .filter(|_| !*d.exited.borrow())
        .map(|signals| (signals, d.version.grace, d.exited.subscribe()));
    let fired = apply(d, Phase::Terminating, None);
    Some(StopPlan {
        id: d.request_id.clone(),
        fired,
        process,
    })
}

/// Carries out a recorded stop: webhooks, then SIGTERM to a live process's group and SIGKILL
/// after the grace period (sent through its watcher, which owns the unreaped child: a pid is
/// never signalled after it was reaped), TERMINATED once it is gone; without a live process,
/// TERMINATED after a step.
pub(crate) fn carry_out(shared: &Arc<Shared>, plan: StopPlan) {
    let StopPlan { id, fired, process } = plan;
    fire(shared, &id, fired);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        match process {
            Some((signals, grace, mut exited)) => {
                tracing::debug!("deployment `{id}`: SIGTERM to its process group");
                signals.send(libc::SIGTERM);
                if tokio::time::timeout(grace, exited.wait_for(|gone| *gone))
                    .await
                    .is_err()
                {
                    tracing::debug!("deployment `{id}`: SIGKILL after `{grace:?}`");
                    signals.send(libc::SIGKILL);
                }
                // The process watcher moves it to TERMINATED when the process is reaped.
            }
            None => {
                pause(&shared).await;
                transition_if(
                    &shared,
                    &id,
                    |p| p == Phase::Terminating,
                    Phase::Terminated,
                    None,
                );
            }
        }
    });
}

/// Stops `id` by `who` now (a pending stop reaching READY/ERROR): [`record_stop`] then
/// [`carry_out`].
pub(crate) fn begin_stop(shared: &Arc<Shared>, id: &str, who: &'static str) {
    let plan = shared
        .deployments()
        .by_id
        .get_mut(id)
        .and_then(|d| record_stop(d, who));
    if let Some(plan) = plan {
        carry_out(shared, plan);
    }
}

/// Called by the process watcher when the launched process exits.
fn process_exited(shared: &Arc<Shared>, id: &str, code: i32, message: String) {
    let mut deployments = shared.deployments();
    let Some(d) = deployments.by_id.get_mut(id) else {
        return;
    };
    d.exit_code = Some(code);
    d.exited.send_replace(true);
    let phase = d.phase;
    if code != 0 && !matches!(phase, Phase::Terminating | Phase::Terminated) {
        let logs = lock(&d.logs).text.clone();
        d.crash = Some(Crash {
            exit_code: code,
            message: message.clone(),
            logs,
        });
    }
    if (matches!(phase, Phase::Terminating) || code == 0) && d.stopped_by.is_none() {
        d.stopped_by = Some("exit".to_owned());
    }
    for port in &d.ports {
        lock(&shared.used_ports).remove(&port.external);
    }
    drop(deployments);
    // The image it ran from is not needed any more (nothing for other kinds).
    shared.images.remove_deployment(id);
    match phase {
        Phase::Terminated | Phase::Error => {}
        Phase::Terminating => {
            transition_if(shared, id, |_| true, Phase::Terminated, None);
        }
        _ if code == 0 => {
            transition_if(shared, id, |_| true, Phase::Terminated, None);
        }
        _ => {
            tracing::warn!("deployment `{id}`: {message}");
            transition_if(shared, id, |_| true, Phase::Error, Some(message));
            settle(shared, id);
        }
    }
}

/// Ends every launched process: SIGTERM to each process group, then SIGKILL after the longest
/// grace period (at most `cap`). Used on shutdown.
pub(crate) async fn stop_all_processes(shared: &Arc<Shared>, cap: Duration) {
    let live: Vec<(ProcessSignals, Duration, watch::Receiver<bool>)> = shared
        .deployments()
        .by_id
        .values()
        .filter(|d| !*d.exited.borrow())
        .filter_map(|d| {
            d.signals
                .clone()
                .map(|signals| (signals, d.version.grace, d.exited.subscribe()))
        })
        .collect();
    if live.is_empty() {
        return;
    }
    tracing::debug!("stopping `{}` launched processes", live.len());
    for (signals, _, _) in &live {
        signals.send(libc::SIGTERM);
    }
    let grace = live
        .iter()
        .map(|(_, g, _)| *g)
        .max()
        .unwrap_or_default()
        .min(cap);
    let deadline = tokio::time::Instant::now() + grace;
    for (signals, _, mut exited) in live {
        if tokio::time::timeout_at(deadline, exited.wait_for(|gone| *gone))
            .await
            .is_err()
        {
            signals.send(libc::SIGKILL);
            let _ =
                tokio::time::timeout(Duration::from_secs(1), exited.wait_for(|gone| *gone)).await;
        }
    }
}
