//! Deployment status: [`Status`], [`DeploymentStatus`] (the `/v1/status` object) and the models
//! it shares with other endpoints ([`PortMapping`], [`Location`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, EndpointClass, Query, Target};
use super::error::EdgegapError;
use super::ids::RequestId;
use super::lenient;

/// A deployment's lifecycle state, sent by Edgegap as `"Status.READY"` and so on.
///
/// Parsing is lenient: the `Status.` prefix and letter case are optional, and any value not
/// listed lands in [`Status::Other`] with the original text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// `Status.INITIALIZING`
    #[default]
    Initializing,
    /// `Status.SEEKING`: choosing a location.
    Seeking,
    /// `Status.SEEKED`: a location was chosen.
    Seeked,
    /// `Status.SCANNING`
    Scanning,
    /// `Status.DEPLOYING`: pulling and starting the container.
    Deploying,
    /// `Status.READY`: the server runs and can be connected to.
    Ready,
    /// `Status.TERMINATING`
    Terminating,
    /// `Status.TERMINATED`
    Terminated,
    /// `Status.ERROR`
    Error,
    /// Any other value, as sent.
    Other(String),
}

lenient::wire_names!(Status, prefix: "Status.", {
    Initializing => "INITIALIZING",
    Seeking => "SEEKING",
    Seeked => "SEEKED",
    Scanning => "SCANNING",
    Deploying => "DEPLOYING",
    Ready => "READY",
    Terminating => "TERMINATING",
    Terminated => "TERMINATED",
    Error => "ERROR",
});

impl Status {
    /// `READY`.
    pub fn is_ready(&self) -> bool {
        *self == Self::Ready
    }

    /// `ERROR` or `TERMINATED`: nothing more will happen.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Error | Self::Terminated)
    }

    /// Still on the way to READY.
    pub fn is_starting(&self) -> bool {
        matches!(
            self,
            Self::Initializing | Self::Seeking | Self::Seeked | Self::Scanning | Self::Deploying
        )
    }
}

impl From<&str> for Status {
    fn from(value: &str) -> Self {
        Self::parse(value)
    }
}

lenient::wire_string!(Status);

/// One entry of a deployment's `ports` map.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PortMapping {
    /// Public port players connect to.
    #[serde(deserialize_with = "lenient::opt_u16")]
    pub external: Option<u16>,
    /// Port the server listens on inside the container.
    #[serde(deserialize_with = "lenient::opt_u16")]
    pub internal: Option<u16>,
    /// `UDP`, `TCP`, `TCP/UDP`, `HTTP`, `HTTPS`, `WS`, `WSS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Port name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether Edgegap terminates TLS in front of it.
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub tls_upgrade: Option<bool>,
    /// `<fqdn>:<external>` (with `https://` for TLS-upgraded ports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Internal proxy mapping (older API).
    #[serde(
        deserialize_with = "lenient::opt_u16",
        skip_serializing_if = "Option::is_none"
    )]
    pub proxy: Option<u16>,
}

/// Where a deployment runs (`location` in status and context, `ARBITRIUM_DEPLOYMENT_LOCATION`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Location {
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Continent.
    pub continent: Option<String>,
    /// State, province, …
    pub administrative_division: Option<String>,
    /// Time zone name.
    pub timezone: Option<String>,
    /// Latitude.
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub latitude: Option<f64>,
    /// Longitude.
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub longitude: Option<f64>,
}

/// The `GET /v1/status/{request_id}` object (also the stop answer's `deployment_summary` and
/// the webhook body). Every field but `request_id` and `current_status` is optional, since
/// the model changed across API versions; unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeploymentStatus {
    /// Deployment id.
    pub request_id: RequestId,
    /// Current state.
    pub current_status: Status,
    /// Previous state.
    pub last_status: Option<Status>,
    /// `<request_id>.pr.edgegap.net`.
    pub fqdn: Option<String>,
    /// Application name.
    pub app_name: Option<String>,
    /// Application version name.
    pub app_version: Option<String>,
    /// True only when READY for connections.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub running: Option<bool>,
    /// Whether the access-control list is active (2024 API).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub whitelisting_active: Option<bool>,
    /// When it became READY (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC).
    pub start_time: Option<String>,
    /// When it stopped.
    pub removal_time: Option<String>,
    /// Seconds since READY.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub elapsed_time: Option<u64>,
    /// Minutes before Edgegap stops it on its own.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub max_duration: Option<i64>,
    /// Whether it is in error.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub error: Option<bool>,
    /// What went wrong, when in error.
    pub error_detail: Option<String>,
    /// Ports by name.
    #[serde(default, deserialize_with = "lenient::map_or_null")]
    pub ports: BTreeMap<String, PortMapping>,
    /// Public IP of the host.
    pub public_ip: Option<String>,
    /// Sessions (session-based apps).
    pub sessions: Option<Vec<serde_json::Value>>,
    /// Where it runs.
    pub location: Option<Location>,
    /// Deployment tags.
    #[serde(default, deserialize_with = "lenient::strings")]
    pub tags: Vec<String>,
    /// Session capacity.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sockets: Option<u64>,
    /// Sessions in use.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sockets_usage: Option<u64>,
    /// Container command override.
    pub command: Option<String>,
    /// Container arguments override.
    pub arguments: Option<String>,
    /// Fields this crate does not model, as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl DeploymentStatus {
    /// `current_status` is READY.
    pub fn is_ready(&self) -> bool {
        self.current_status.is_ready()
    }

    reachable!();
}

/// The `port`, `host` and `address` methods of an answer that says where a server is
/// reached: `ports` by name, `public_ip` and `fqdn`.
macro_rules! reachable {
    () => {
        /// The port named `name`: the map key, else a mapping whose `name` field matches (for
        /// maps keyed by something else).
        pub fn port(&self, name: &str) -> Option<&$crate::api::status::PortMapping> {
            $crate::api::status::find_port(&self.ports, name)
        }

        /// The host to connect to: the public IP, else the FQDN.
        pub fn host(&self) -> Option<&str> {
            $crate::api::status::pick_host(self.public_ip.as_deref(), self.fqdn.as_deref())
        }

        /// Where players connect for port `port_name`: the public IP (else the FQDN) and the
        /// port's `external`.
        pub fn address(&self, port_name: &str) -> Option<$crate::api::status::ConnectAddress> {
            $crate::api::status::connect_address(self.host(), self.port(port_name))
        }
    };
}
pub(crate) use reachable;

/// The port named `name`: the map key, else a mapping whose `name` field matches.
pub(crate) fn find_port<'a>(
    ports: &'a BTreeMap<String, PortMapping>,
    name: &str,
) -> Option<&'a PortMapping> {
    ports
        .get(name)
        .or_else(|| ports.values().find(|p| p.name.as_deref() == Some(name)))
}

/// The public IP when non-empty, else the FQDN when non-empty.
pub(crate) fn pick_host<'a>(public_ip: Option<&'a str>, fqdn: Option<&'a str>) -> Option<&'a str> {
    public_ip
        .filter(|s| !s.trim().is_empty())
        .or(fqdn.filter(|s| !s.trim().is_empty()))
}

pub(crate) fn connect_address(
    host: Option<&str>,
    port: Option<&PortMapping>,
) -> Option<ConnectAddress> {
    Some(ConnectAddress {
        port: port?.external?,
        host: host?.to_owned(),
    })
}

/// A host (IP or DNS name) and port to connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConnectAddress {
    /// Public IP or FQDN.
    pub host: String,
    /// External port.
    pub port: u16,
}

impl ConnectAddress {
    /// The address as a [`SocketAddr`] when the host is an IP literal (no DNS lookup).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.host
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, self.port))
    }
}

impl fmt::Display for ConnectAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// `GET /v1/status/{request_id}`. Rate limit 20/s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetStatus {
    /// The deployment.
    pub request_id: RequestId,
}

impl GetStatus {
    /// Status of `request_id`.
    pub fn new(request_id: impl Into<RequestId>) -> Self {
        Self {
            request_id: request_id.into(),
        }
    }
}

impl Endpoint for GetStatus {
    type Output = DeploymentStatus;

    fn target(&self) -> Target {
        Target::Path(format!(
            "/v1/status/{}",
            super::endpoint::encode_component(self.request_id.as_str())
        ))
    }
    fn class(&self) -> EndpointClass {
        EndpointClass::Status
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        super::validate::request_id(&self.request_id)
    }
}

/// `GET /v1/status/{request_id}?since=<status>&wait=<seconds>` on an `edgegap-gateway` (a
/// *long-poll*): the gateway holds the request until the deployment's `current_status` differs
/// from `since`, or until `wait` has passed, and answers with the status either way.
///
/// Only the gateway holds requests: Edgegap itself answers at once (it ignores the query). The
/// client plugin sends these in gateway mode to follow its deployments; its answer is
/// [`DeploymentStatus`], like [`GetStatus`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitStatusChange {
    /// The deployment.
    pub request_id: RequestId,
    /// The status the caller knows: the answer comes as soon as it is another one.
    pub since: Status,
    /// The longest the gateway may hold the request (whole seconds; the gateway caps it at
    /// [`AwaitStatusChange::MAX_WAIT`]).
    pub wait: Duration,
}

impl AwaitStatusChange {
    /// The longest hold `edgegap-gateway` grants: 25 s (below common 30 s proxy timeouts).
    pub const MAX_WAIT: Duration = Duration::from_secs(25);

    /// Status of `request_id` once it is not `since`, or after at most `wait`.
    pub fn new(request_id: impl Into<RequestId>, since: Status, wait: Duration) -> Self {
        Self {
            request_id: request_id.into(),
            since,
            wait,
        }
    }
}

impl Endpoint for AwaitStatusChange {
    type Output = DeploymentStatus;

    fn target(&self) -> Target {
        GetStatus::new(self.request_id.clone()).target()
    }
    fn query(&self) -> Vec<(String, String)> {
        Query::new()
            .pair("since", self.since.as_wire())
            .pair("wait", self.wait.as_secs())
            .build()
    }
    fn class(&self) -> EndpointClass {
        EndpointClass::Status
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        super::validate::request_id(&self.request_id)
    }
}
