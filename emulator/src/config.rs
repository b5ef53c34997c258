//! What the emulator serves: app versions, locations, private fleets, and the builder settings.

pub(crate) mod file;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::classify::Route;
use crate::faults::Fault;
use crate::util::{EnvVars, Hidden};

/// One port of an app version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortSpec {
    pub name: String,
    pub internal: u16,
    pub protocol: String,
}

/// How an app version runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VersionKind {
    /// No process: the lifecycle runs on the clock alone.
    Simulated,
    /// A local program launched with the injected environment.
    Command { program: PathBuf, args: Vec<String> },
    /// An image in a registry on loopback (a version created through the API): pulled and
    /// unpacked at deploy time, its entrypoint launched like a command.
    Image(ImageSource),
}

impl VersionKind {
    /// Whether a deployment of this kind runs a local process (a command or an image).
    pub(crate) fn is_process(&self) -> bool {
        !matches!(self, Self::Simulated)
    }
}

/// Where an image version's image is: `<host>/<repository>:<tag>` on a plain-http registry
/// on loopback, pulled as `user` (Basic, or the registry's bearer handshake) when set. Its
/// `Debug` never shows the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImageSource {
    /// `127.0.0.1:5000` (loopback only).
    pub host: String,
    /// `<project>/<image>`.
    pub repository: String,
    pub tag: String,
    pub user: Option<String>,
    pub token: Option<Hidden>,
}

impl std::fmt::Display for ImageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.host, self.repository, self.tag)
    }
}

/// An application version the emulator accepts in deploys: either simulated (status changes on
/// the clock, no process) or a local command launched as the "container". Its `Debug` names
/// its variables without their values (a version's variables may be secrets).
#[derive(Clone, Debug)]
#[must_use]
pub struct AppVersion {
    pub(crate) app: String,
    pub(crate) version: String,
    pub(crate) kind: VersionKind,
    pub(crate) ports: Vec<PortSpec>,
    pub(crate) env: EnvVars,
    pub(crate) grace: Duration,
    pub(crate) never_ready: bool,
    pub(crate) fail_with: Option<String>,
    pub(crate) wait_for_port: bool,
    pub(crate) max_duration: i64,
    /// `(vCPU units, memory MB)`, injected as `ARBITRIUM_DEPLOYMENT_VCPU_UNITS`/`_MEMORY_MB`
    /// unless the deploy overrides them.
    pub(crate) resources: (u64, u64),
    /// How long an image version's pull may take (its `time_to_deploy`).
    pub(crate) pull_timeout: Duration,
}

impl AppVersion {
    fn new(app: impl Into<String>, version: impl Into<String>, kind: VersionKind) -> Self {
        Self {
            app: app.into(),
            version: version.into(),
            kind,
            ports: Vec::new(),
            env: EnvVars::default(),
            grace: Duration::from_secs(5),
            never_ready: false,
            fail_with: None,
            wait_for_port: false,
            max_duration: 1440,
            resources: (256, 512),
            pull_timeout: Duration::from_secs(120),
        }
    }

    /// A version created through the API (`POST /v1/app/{app}/version`).
    pub(crate) fn from_api(
        app: impl Into<String>,
        version: impl Into<String>,
        kind: VersionKind,
    ) -> Self {
        Self::new(app, version, kind)
    }

    /// A simulated version: no process; status steps through the lifecycle on the clock.
    pub fn simulated(app: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(app, version, VersionKind::Simulated)
    }

    /// A version that launches `program args…` as the deployment's "container", with the
    /// injected `ARBITRIUM_*` environment. The process must listen on the ports it is given
    /// (`ARBITRIUM_PORT_<NAME>_INTERNAL`): on loopback internal == external, a real free port.
    pub fn command(
        app: impl Into<String>,
        version: impl Into<String>,
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self::new(
            app,
            version,
            VersionKind::Command {
                program: program.into(),
                args: args.into_iter().map(Into::into).collect(),
            },
        )
    }

    /// A command version whose deployments stay `Status.DEPLOYING` until the test opens their
    /// TCP port `port_name` ([`EmulatorHandle::open_port`](crate::EmulatorHandle::open_port)):
    /// the process listens nowhere (`sleep`) and READY waits for the port
    /// ([`wait_for_port`](Self::wait_for_port)). For a test that needs a status that has not
    /// moved on yet, instead of assuming it is faster than the lifecycle.
    pub fn gated(
        app: impl Into<String>,
        version: impl Into<String>,
        port_name: impl Into<String>,
        internal: u16,
    ) -> Self {
        Self::command(app, version, "/bin/sh", ["-c", "exec sleep 600"])
            .port(port_name, internal, "TCP")
            .wait_for_port(true)
            .grace_period(Duration::from_secs(1))
    }

    /// Declares a port. For simulated versions `internal` is reported as is and the external
    /// port is a unique number; for command versions a real free port replaces both.
    /// `protocol` is Edgegap's (`UDP`, `TCP`, `TCP/UDP`, `HTTP`, `HTTPS`, `WS`, `WSS`).
    pub fn port(
        mut self,
        name: impl Into<String>,
        internal: u16,
        protocol: impl Into<String>,
    ) -> Self {
        self.ports.push(PortSpec {
            name: name.into(),
            internal,
            protocol: protocol.into(),
        });
        self
    }

    /// An app-version environment variable (a deploy's `environment_variables` override it).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.0.push((key.into(), value.into()));
        self
    }

    /// Time between SIGTERM and SIGKILL when the deployment is stopped (default 5 s, Edgegap's
    /// `termination_grace_period_seconds` example).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The deployment never reaches READY: it stays `Status.DEPLOYING` (a stop still ends it).
    pub fn never_ready(mut self) -> Self {
        self.never_ready = true;
        self
    }

    /// The deployment ends in `Status.ERROR` with this `error_detail` instead of READY.
    pub fn fail_with(mut self, detail: impl Into<String>) -> Self {
        self.fail_with = Some(detail.into());
        self
    }

    /// Command versions: READY only once the first TCP (or `TCP/UDP`, HTTP, WS…) port accepts a
    /// connection, instead of as soon as the process is up. UDP-only versions ignore this.
    pub fn wait_for_port(mut self, wait: bool) -> Self {
        self.wait_for_port = wait;
        self
    }

    /// Minutes reported in the status `max_duration` (default 1440). Not enforced.
    pub fn max_duration(mut self, minutes: i64) -> Self {
        self.max_duration = minutes;
        self
    }
}

/// A location served by `GET /v1/locations` and given to deployments (the first one; there is
/// no geo-placement).
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Location {
    pub(crate) city: String,
    pub(crate) country: String,
    pub(crate) continent: String,
    pub(crate) administrative_division: String,
    pub(crate) timezone: String,
    pub(crate) latitude: f64,
    pub(crate) longitude: f64,
    pub(crate) kind: String,
    pub(crate) tags: Vec<(String, String)>,
}

impl Location {
    /// A location of type `standard`, with no tags.
    pub fn new(
        city: impl Into<String>,
        country: impl Into<String>,
        continent: impl Into<String>,
        latitude: f64,
        longitude: f64,
    ) -> Self {
        Self {
            city: city.into(),
            country: country.into(),
            continent: continent.into(),
            administrative_division: String::new(),
            timezone: String::new(),
            latitude,
            longitude,
            kind: "standard".into(),
            tags: Vec::new(),
        }
    }

    /// The administrative division (state, province).
    pub fn administrative_division(mut self, division: impl Into<String>) -> Self {
        self.administrative_division = division.into();
        self
    }

    /// The time zone name (`Eastern Time`).
    pub fn timezone(mut self, timezone: impl Into<String>) -> Self {
        self.timezone = timezone.into();
        self
    }

    /// The location type (`standard`, …), filtered by `GET /v1/locations?type=`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// A location tag, listed when `GET /v1/locations?tags=true`.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    pub(crate) fn defaults() -> Vec<Location> {
        vec![
            Location::new("Montreal", "Canada", "North America", 45.508888, -73.561668)
                .administrative_division("Quebec")
                .timezone("Eastern Time"),
            Location::new(
                "Chicago",
                "United States of America",
                "North America",
                41.8781,
                -87.6298,
            )
            .administrative_division("Illinois")
            .timezone("Central Time"),
            Location::new("Frankfurt", "Germany", "Europe", 50.1109, 8.6821)
                .administrative_division("Hesse")
                .timezone("Central European Time"),
            Location::new("Tokyo", "Japan", "Asia", 35.6762, 139.6503)
                .administrative_division("Tokyo")
                .timezone("Japan Standard Time"),
        ]
    }
}

/// A private-fleet host, listed by `GET /v2/private-fleets/{fleet}/hosts` and accepted in
/// `private_host_ids` of a private-fleet deploy.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct PrivateHost {
    pub(crate) host_id: String,
    pub(crate) status: String,
    pub(crate) city: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) continent: Option<String>,
    pub(crate) latitude: Option<f64>,
    pub(crate) longitude: Option<f64>,
    pub(crate) cpu_units: u32,
    pub(crate) memory_mb: u32,
}

impl PrivateHost {
    /// An `ACTIVE` host with 16384 CPU units and 32768 MB.
    pub fn new(host_id: impl Into<String>) -> Self {
        Self {
            host_id: host_id.into(),
            status: "ACTIVE".into(),
            city: None,
            country: None,
            continent: None,
            latitude: None,
            longitude: None,
            cpu_units: 16_384,
            memory_mb: 32_768,
        }
    }

    /// `ACTIVE` (accepts deployments) or `PENDING`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// Where the host is.
    pub fn place(
        mut self,
        city: impl Into<String>,
        country: impl Into<String>,
        continent: impl Into<String>,
        latitude: f64,
        longitude: f64,
    ) -> Self {
        self.city = Some(city.into());
        self.country = Some(country.into());
        self.continent = Some(continent.into());
        self.latitude = Some(latitude);
        self.longitude = Some(longitude);
        self
    }

    /// The host's CPU units (1024 = 1 vCPU) and memory.
    pub fn capacity(mut self, cpu_units: u32, memory_mb: u32) -> Self {
        self.cpu_units = cpu_units;
        self.memory_mb = memory_mb;
        self
    }
}

/// Edgegap's documented rate limits (requests per second).
pub(crate) fn default_rate_limits() -> BTreeMap<Route, u32> {
    BTreeMap::from([
        (Route::DeployV2, 40),
        (Route::DeployV1, 40),
        (Route::Status, 20),
        (Route::ListDeployments, 10),
        (Route::FleetDeploy, 40),
        (Route::FleetHosts, 10),
    ])
}

/// The matchmaker's settings in the builder (and the config file's `[matchmaker]` table).
#[derive(Clone)]
pub(crate) struct MatchmakerSettings {
    /// The configuration JSON; `None`: no matchmaker.
    pub config: Option<String>,
    pub token: Option<Hidden>,
    pub bind: SocketAddr,
    pub manual_clock: bool,
}

impl Default for MatchmakerSettings {
    fn default() -> Self {
        Self {
            config: None,
            token: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            manual_clock: false,
        }
    }
}

impl std::fmt::Debug for MatchmakerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchmakerSettings")
            .field("config", &self.config.as_ref().map(|c| c.len()))
            .field("token", &self.token)
            .field("bind", &self.bind)
            .field("manual_clock", &self.manual_clock)
            .finish()
    }
}

/// Everything the builder (or a config file) sets. Its `Debug` never shows the token.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub token: Option<Hidden>,
    pub bind: SocketAddr,
    pub lifecycle_step: Duration,
    pub unknown_status: u16,
    pub bulk_stop_status: u16,
    pub versions: Vec<AppVersion>,
    pub rate_limits: BTreeMap<Route, u32>,
    pub faults: Vec<Fault>,
    pub fleets: BTreeMap<String, Vec<PrivateHost>>,
    pub locations: Vec<Location>,
    pub webhook_timeout: Duration,
    pub seed: u64,
    pub default_page_size: usize,
    pub max_body_bytes: usize,
    pub logs_after_termination: bool,
    pub max_tag_length: usize,
    pub body_timeout: Duration,
    pub request_log_bytes: usize,
    pub matchmaker: MatchmakerSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            lifecycle_step: Duration::from_secs(1),
            unknown_status: 404,
            bulk_stop_status: 202,
            versions: Vec::new(),
            rate_limits: default_rate_limits(),
            faults: Vec::new(),
            fleets: BTreeMap::new(),
            locations: Vec::new(),
            webhook_timeout: Duration::from_secs(10),
            seed: 0,
            default_page_size: 20,
            max_body_bytes: 1024 * 1024,
            logs_after_termination: false,
            max_tag_length: 20,
            body_timeout: Duration::from_secs(10),
            request_log_bytes: 16 * 1024 * 1024,
            matchmaker: MatchmakerSettings::default(),
        }
    }
}
