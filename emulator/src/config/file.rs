//! The TOML config file of the `edgegap-emulator` binary (documented in the crate README).
//! Everything the builder sets can be set here.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::builder::EmulatorBuilder;
use crate::classify::Route;
use crate::config::{AppVersion, Location, PrivateHost};
use crate::error::EmulatorError;
use crate::faults::{Fault, FaultKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    token: Option<String>,
    bind: Option<SocketAddr>,
    lifecycle_step_ms: Option<u64>,
    unknown_deployment_status: Option<u16>,
    bulk_stop_status: Option<u16>,
    webhook_timeout_ms: Option<u64>,
    seed: Option<u64>,
    default_page_size: Option<usize>,
    max_body_bytes: Option<usize>,
    logs_after_termination: Option<bool>,
    max_tag_length: Option<usize>,
    body_timeout_ms: Option<u64>,
    rate_limits: Option<RateLimits>,
    #[serde(default)]
    app_versions: Vec<Version>,
    #[serde(default)]
    faults: Vec<FaultEntry>,
    #[serde(default)]
    fleets: Vec<Fleet>,
    #[serde(default)]
    locations: Vec<LocationEntry>,
    matchmaker: Option<MatchmakerEntry>,
}

/// `[matchmaker]`: Edgegap's matchmaker on its own port, from the dashboard's JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchmakerEntry {
    /// The configuration JSON's path (relative to this file).
    config: Option<PathBuf>,
    /// Or the configuration JSON itself.
    json: Option<String>,
    token: Option<String>,
    bind: Option<SocketAddr>,
}

/// No `deny_unknown_fields` here (serde cannot combine it with `flatten`): every other key is a
/// route name, checked by [`route`].
#[derive(Debug, Deserialize)]
struct RateLimits {
    /// `false`: no limits except the ones listed in `limits`.
    #[serde(default = "yes")]
    enabled: bool,
    /// Route name (`status`, `deploy_v2`, …) → requests per second (0 removes the limit).
    #[serde(flatten)]
    limits: BTreeMap<String, u32>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Port {
    name: String,
    port: u16,
    #[serde(default = "udp")]
    protocol: String,
}

fn udp() -> String {
    "UDP".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Version {
    app: String,
    version: String,
    /// A program to launch; absent = simulated.
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    ports: Vec<Port>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    grace_period_ms: Option<u64>,
    #[serde(default)]
    never_ready: bool,
    fail_with: Option<String>,
    #[serde(default)]
    wait_for_port: bool,
    max_duration: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultEntry {
    /// A route name; absent = every route.
    route: Option<String>,
    /// `latency`, `status`, `rate_limited`, `malformed_json`, `html_502`, `hang`,
    /// `could_not_allocate`.
    kind: String,
    status: Option<u16>,
    /// Latency and hang durations, and the 429 `Retry-After`.
    delay_ms: Option<u64>,
    times: Option<usize>,
    probability: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fleet {
    name: String,
    #[serde(default)]
    hosts: Vec<Host>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Host {
    host_id: String,
    status: Option<String>,
    city: Option<String>,
    country: Option<String>,
    continent: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    cpu_units: Option<u32>,
    memory_mb: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationEntry {
    city: String,
    country: String,
    continent: String,
    #[serde(default)]
    administrative_division: String,
    #[serde(default)]
    timezone: String,
    latitude: f64,
    longitude: f64,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn route(name: &str) -> Result<Route, EmulatorError> {
    Route::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Route::ALL.iter().map(|r| r.name()).collect();
        EmulatorError::Config(format!(
            "unknown route `{name}` (one of: {})",
            names.join(", ")
        ))
    })
}

fn fault(entry: &FaultEntry) -> Result<Fault, EmulatorError> {
    let delay = || {
        entry.delay_ms.map(Duration::from_millis).ok_or_else(|| {
            EmulatorError::Config(format!("fault `{}` needs `delay_ms`", entry.kind))
        })
    };
    let kind = match entry.kind.as_str() {
        "latency" => FaultKind::Latency(delay()?),
        "hang" => FaultKind::Hang(delay()?),
        "rate_limited" => FaultKind::RateLimited {
            retry_after: delay()?,
        },
        "malformed_json" => FaultKind::MalformedJson,
        "html_502" => FaultKind::Html502,
        "could_not_allocate" => FaultKind::CouldNotAllocate,
        "status" => FaultKind::Status(
            entry
                .status
                .ok_or_else(|| EmulatorError::Config("fault `status` needs `status`".into()))?,
        ),
        other => {
            return Err(EmulatorError::Config(format!(
                "unknown fault kind `{other}` (latency, status, rate_limited, malformed_json, html_502, hang, could_not_allocate)"
            )));
        }
    };
    let mut fault = match &entry.route {
        Some(name) => Fault::new(route(name)?, kind),
        None => Fault::global(kind),
    };
    if let Some(n) = entry.times {
        fault = fault.times(n);
    }
    if let Some(p) = entry.probability {
        fault = fault.probability(p);
    }
    Ok(fault)
}

/// A program path: absolute, or relative to the config file's folder when it contains a `/`,
/// or a bare name looked up on `PATH` at launch.
fn program(command: &str, base: &Path) -> PathBuf {
    let path = Path::new(command);
    if path.is_absolute() || !command.contains('/') {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// Applies `[matchmaker]`: exactly one of `config` (a path, relative to `base`) and `json`.
fn matchmaker(
    mut b: EmulatorBuilder,
    entry: MatchmakerEntry,
    base: &Path,
) -> Result<EmulatorBuilder, EmulatorError> {
    let json = match (entry.config, entry.json) {
        (Some(path), None) => {
            let path = base.join(path);
            std::fs::read_to_string(&path).map_err(|e| {
                EmulatorError::Config(format!(
                    "[matchmaker] cannot read `{}`: {e}",
                    path.display()
                ))
            })?
        }
        (None, Some(json)) => json,
        _ => {
            return Err(EmulatorError::Config(
                "[matchmaker] needs exactly one of `config` (a JSON file) and `json`".into(),
            ));
        }
    };
    b = b.matchmaker(json);
    if let Some(token) = entry.token {
        b = b.matchmaker_token(token);
    }
    if let Some(bind) = entry.bind {
        b = b.matchmaker_bind(bind);
    }
    Ok(b)
}

/// Parses a config file's text; relative command paths resolve against `base`.
pub(crate) fn parse(text: &str, base: &Path) -> Result<EmulatorBuilder, EmulatorError> {
    let file: File = toml::from_str(text).map_err(|e| EmulatorError::Config(e.to_string()))?;
    let mut b = EmulatorBuilder::new();
    if let Some(token) = file.token {
        b = b.token(token);
    }
    if let Some(bind) = file.bind {
        b = b.bind(bind);
    }
    if let Some(ms) = file.lifecycle_step_ms {
        b = b.lifecycle_step(Duration::from_millis(ms));
    }
    if let Some(status) = file.unknown_deployment_status {
        b = b.unknown_deployment_status(status);
    }
    if let Some(status) = file.bulk_stop_status {
        b = b.bulk_stop_status(status);
    }
    if let Some(ms) = file.webhook_timeout_ms {
        b = b.webhook_timeout(Duration::from_millis(ms));
    }
    if let Some(seed) = file.seed {
        b = b.seed(seed);
    }
    if let Some(size) = file.default_page_size {
        b = b.default_page_size(size);
    }
    if let Some(bytes) = file.max_body_bytes {
        b = b.max_body_bytes(bytes);
    }
    if let Some(keep) = file.logs_after_termination {
        b = b.logs_after_termination(keep);
    }
    if let Some(chars) = file.max_tag_length {
        b = b.max_tag_length(chars);
    }
    if let Some(ms) = file.body_timeout_ms {
        b = b.body_timeout(Duration::from_millis(ms));
    }
    if let Some(limits) = file.rate_limits {
        if !limits.enabled {
            b = b.without_rate_limits();
        }
        for (name, per_second) in &limits.limits {
            b = b.rate_limit(route(name)?, *per_second);
        }
    }
    for v in file.app_versions {
        let mut version = match &v.command {
            Some(command) => {
                AppVersion::command(&v.app, &v.version, program(command, base), v.args.clone())
            }
            None => AppVersion::simulated(&v.app, &v.version),
        };
        for port in v.ports {
            version = version.port(port.name, port.port, port.protocol);
        }
        for (key, value) in v.env {
            version = version.env(key, value);
        }
        if let Some(ms) = v.grace_period_ms {
            version = version.grace_period(Duration::from_millis(ms));
        }
        if v.never_ready {
            version = version.never_ready();
        }
        if let Some(detail) = v.fail_with {
            version = version.fail_with(detail);
        }
        if let Some(minutes) = v.max_duration {
            version = version.max_duration(minutes);
        }
        b = b.app_version(version.wait_for_port(v.wait_for_port));
    }
    for entry in &file.faults {
        b = b.fault(fault(entry)?);
    }
    for fleet in file.fleets {
        for h in fleet.hosts {
            let mut host = PrivateHost::new(h.host_id);
            if let Some(status) = h.status {
                host = host.status(status);
            }
            if let (Some(city), Some(country), Some(continent), Some(lat), Some(lon)) =
                (h.city, h.country, h.continent, h.latitude, h.longitude)
            {
                host = host.place(city, country, continent, lat, lon);
            }
            if let (Some(cpu), Some(mem)) = (h.cpu_units, h.memory_mb) {
                host = host.capacity(cpu, mem);
            }
            b = b.private_host(fleet.name.clone(), host);
        }
    }
    for l in file.locations {
        let mut location = Location::new(l.city, l.country, l.continent, l.latitude, l.longitude)
            .administrative_division(l.administrative_division)
            .timezone(l.timezone);
        if let Some(kind) = l.kind {
            location = location.kind(kind);
        }
        for (key, value) in l.tags {
            location = location.tag(key, value);
        }
        b = b.location(location);
    }
    if let Some(entry) = file.matchmaker {
        b = matchmaker(b, entry, base)?;
    }
    Ok(b)
}

/// Reads and parses a config file.
pub(crate) fn load_file(path: &Path) -> Result<EmulatorBuilder, EmulatorError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EmulatorError::Config(format!("cannot read `{}`: {e}", path.display())))?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parse(&text, base).map_err(|e| match e {
        EmulatorError::Config(message) => {
            EmulatorError::Config(format!("`{}`: {message}", path.display()))
        }
        other => other,
    })
}
