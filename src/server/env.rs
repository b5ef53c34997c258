//! [`ArbitriumEnv`]: what Edgegap injects into every deployment (`ARBITRIUM_*`, and `MM_*`
//! for matchmaker-started ones).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bevy::log::warn;
use bevy::prelude::Resource;
use serde::Deserialize;

use crate::api::{self, EdgegapError, Location, RedactedUrl, RequestId, Secret, lenient, validate};

/// The deployment id; its absence means "not running on Edgegap".
pub const REQUEST_ID_VAR: &str = "ARBITRIUM_REQUEST_ID";
const PUBLIC_IP: &str = "ARBITRIUM_PUBLIC_IP";
const FQDN: &str = "ARBITRIUM_FQDN";
const PORTS_MAPPING: &str = "ARBITRIUM_PORTS_MAPPING";
const LOCATION: &str = "ARBITRIUM_DEPLOYMENT_LOCATION";
const TAGS: &str = "ARBITRIUM_DEPLOYMENT_TAGS";
const DELETE_URL: &str = "ARBITRIUM_DELETE_URL";
const DELETE_TOKEN: &str = "ARBITRIUM_DELETE_TOKEN";
const CONTEXT_URL: &str = "ARBITRIUM_CONTEXT_URL";
const CONTEXT_TOKEN: &str = "ARBITRIUM_CONTEXT_TOKEN";
const HOST_ID: &str = "ARBITRIUM_HOST_ID";
const BASE_CLOCK: &str = "ARBITRIUM_HOST_BASE_CLOCK_FREQUENCY";
const VCPU_UNITS: &str = "ARBITRIUM_DEPLOYMENT_VCPU_UNITS";
const MEMORY_MB: &str = "ARBITRIUM_DEPLOYMENT_MEMORY_MB";
const BEACON_ENABLED: &str = "ARBITRIUM_BEACON_ENABLED";
const HOST_BEACON_ENABLED: &str = "ARBITRIUM_HOST_BEACON_ENABLED";
const BEACON_PUBLIC_IP: &str = "ARBITRIUM_HOST_BEACON_PUBLIC_IP";
const BEACON_UDP: &str = "ARBITRIUM_HOST_BEACON_PORT_UDP_EXTERNAL";
const BEACON_TCP: &str = "ARBITRIUM_HOST_BEACON_PORT_TCP_EXTERNAL";
const IN_PRIVATE_FLEET: &str = "ARBITRIUM_HOST_IN_PRIVATE_FLEET";
const PRIVATE_FLEET_ID: &str = "ARBITRIUM_PRIVATE_FLEET_ID";
const PORT_PREFIX: &str = "ARBITRIUM_PORT_";

/// One port of the deployment, from `ARBITRIUM_PORTS_MAPPING` merged with the per-port
/// `ARBITRIUM_PORT_<NAME>_{INTERNAL,EXTERNAL,PROTOCOL}` variables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArbitriumPort {
    /// The app-version port name (`gameport`, `Game Port`); the upper-cased `<NAME>` when the
    /// port is only known from its per-port variables.
    pub name: String,
    /// The port to listen on inside the container.
    pub internal: Option<u16>,
    /// The public port players connect to.
    pub external: Option<u16>,
    /// `UDP`, `TCP`, `TCP/UDP`, `WS`, …
    pub protocol: Option<String>,
}

/// The host the deployment runs on, and the resources it was given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFacts {
    /// `ARBITRIUM_HOST_ID`, e.g. `chicago-edge-od-1205-e3-30a8e1`.
    pub host_id: Option<String>,
    /// `ARBITRIUM_HOST_BASE_CLOCK_FREQUENCY`, in MHz.
    pub base_clock_mhz: Option<u32>,
    /// `ARBITRIUM_DEPLOYMENT_VCPU_UNITS` (1024 = one vCPU).
    pub vcpu_units: Option<u32>,
    /// `ARBITRIUM_DEPLOYMENT_MEMORY_MB`.
    pub memory_mb: Option<u32>,
}

/// The host's beacon (for ping-based location), when Edgegap says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BeaconFacts {
    /// `ARBITRIUM_BEACON_ENABLED`, or `ARBITRIUM_HOST_BEACON_ENABLED` (sources disagree on the
    /// name; the first wins when both are set).
    pub enabled: Option<bool>,
    /// `ARBITRIUM_HOST_BEACON_PUBLIC_IP`.
    pub public_ip: Option<String>,
    /// `ARBITRIUM_HOST_BEACON_PORT_UDP_EXTERNAL`.
    pub udp_external: Option<u16>,
    /// `ARBITRIUM_HOST_BEACON_PORT_TCP_EXTERNAL`.
    pub tcp_external: Option<u16>,
}

/// Private-fleet facts (`PUBLIC_CLOUD` on Edgegap's public cloud).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrivateFleetFacts {
    /// `ARBITRIUM_HOST_IN_PRIVATE_FLEET`.
    pub in_private_fleet: Option<bool>,
    /// `ARBITRIUM_PRIVATE_FLEET_ID`.
    pub fleet_id: Option<String>,
}

/// A variable that was set but could not be read. Names the variable, never a token's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvWarning {
    /// The variable, e.g. `ARBITRIUM_PORTS_MAPPING`.
    pub variable: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.variable, self.reason)
    }
}

/// What Edgegap injected into this deployment: a [`Resource`] inserted by
/// [`EdgegapServerPlugin`](super::EdgegapServerPlugin) when `ARBITRIUM_REQUEST_ID` is set, and
/// absent otherwise (a local run).
///
/// Parsing never fails as a whole: a malformed variable (bad JSON, a non-numeric port) is
/// logged as a `warn` naming it, recorded in [`ArbitriumEnv::warnings`], and skipped; the rest
/// is read. Empty values count as unset. `Debug` redacts both tokens and the secret parts of
/// both injected URLs ([`api::redacted_url`]: the self-stop key, the context's security
/// number); log them only through it.
///
/// ```
/// use bevy_edgegap::server::ArbitriumEnv;
///
/// let env = ArbitriumEnv::from_vars([
///     ("ARBITRIUM_REQUEST_ID".to_owned(), "f68e011bfb01".to_owned()),
///     ("ARBITRIUM_PUBLIC_IP".to_owned(), "162.254.141.66".to_owned()),
///     (
///         "ARBITRIUM_PORTS_MAPPING".to_owned(),
///         r#"{"ports": {"gameport": {"name": "gameport", "internal": 7777, "external": 32013, "protocol": "UDP"}}}"#.to_owned(),
///     ),
/// ])
/// .unwrap();
/// assert_eq!(env.request_id().as_str(), "f68e011bfb01");
/// assert_eq!(env.port("GAMEPORT").unwrap().external, Some(32013));
/// assert_eq!(env.bind_addr("gameport").unwrap().to_string(), "0.0.0.0:7777");
/// assert!(ArbitriumEnv::from_vars(Vec::<(String, String)>::new()).is_none());
/// ```
#[derive(Resource, Clone, PartialEq)]
#[non_exhaustive]
pub struct ArbitriumEnv {
    /// `ARBITRIUM_REQUEST_ID`: this deployment's id.
    pub request_id: RequestId,
    /// `ARBITRIUM_PUBLIC_IP`: the host's public IP.
    pub public_ip: Option<String>,
    /// `ARBITRIUM_FQDN`, when set (not every source lists it; Edgegap's pattern is
    /// `<request_id>.pr.edgegap.net`).
    pub fqdn: Option<String>,
    /// Ports by name, merged from `ARBITRIUM_PORTS_MAPPING` and `ARBITRIUM_PORT_<NAME>_*`.
    pub ports: BTreeMap<String, ArbitriumPort>,
    /// `ARBITRIUM_DEPLOYMENT_LOCATION`.
    pub location: Option<Location>,
    /// `ARBITRIUM_DEPLOYMENT_TAGS` (fixed at start; the context API has the current ones).
    pub tags: Vec<String>,
    /// `ARBITRIUM_DELETE_URL`: the self-stop URL. Its path holds the stop key: show it only
    /// through [`api::redacted_url`] (as `Debug` does).
    pub delete_url: Option<String>,
    /// `ARBITRIUM_DELETE_TOKEN`: the self-stop token.
    pub delete_token: Option<Secret>,
    /// `ARBITRIUM_CONTEXT_URL`. Its path holds the deployment's security number: show it only
    /// through [`api::redacted_url`] (as `Debug` does).
    pub context_url: Option<String>,
    /// `ARBITRIUM_CONTEXT_TOKEN`.
    pub context_token: Option<Secret>,
    /// Host and resource facts.
    pub host: HostFacts,
    /// Beacon facts.
    pub beacon: BeaconFacts,
    /// Private-fleet facts.
    pub private_fleet: PrivateFleetFacts,
    /// The matchmaker's `MM_*` variables (`MM_MATCH_ID`, `MM_TEAMS`, `MM_TICKET_<id>`, …), raw.
    pub matchmaker: BTreeMap<String, String>,
    warnings: Vec<EnvWarning>,
}

impl fmt::Debug for ArbitriumEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Secret`'s own Debug prints `***`; listed field by field so a new field is a choice.
        f.debug_struct("ArbitriumEnv")
            .field("request_id", &self.request_id)
            .field("public_ip", &self.public_ip)
            .field("fqdn", &self.fqdn)
            .field("ports", &self.ports)
            .field("location", &self.location)
            .field("tags", &self.tags)
            .field("delete_url", &self.delete_url.as_deref().map(RedactedUrl))
            .field("delete_token", &self.delete_token)
            .field("context_url", &self.context_url.as_deref().map(RedactedUrl))
            .field("context_token", &self.context_token)
            .field("host", &self.host)
            .field("beacon", &self.beacon)
            .field("private_fleet", &self.private_fleet)
            .field("matchmaker", &self.matchmaker)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// `Game Port`, `game-port`, `GAME_PORT` → `GAME_PORT`.
fn normalize(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct MappingEntry {
    name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_u16")]
    internal: Option<u16>,
    #[serde(deserialize_with = "lenient::opt_u16")]
    external: Option<u16>,
    protocol: Option<String>,
}

/// Shortens a (non-secret) value for a warning.
fn shown(value: &str) -> String {
    let short: String = value.chars().take(60).collect();
    if short.len() < value.len() {
        format!("`{short}…`")
    } else {
        format!("`{short}`")
    }
}

struct Parser {
    vars: BTreeMap<String, String>,
    warnings: Vec<EnvWarning>,
}

impl Parser {
    fn warn(&mut self, variable: &str, reason: impl Into<String>) {
        self.warnings.push(EnvWarning {
            variable: variable.to_owned(),
            reason: reason.into(),
        });
    }

    fn text(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    fn secret(&mut self, name: &str) -> Option<Secret> {
        self.text(name).map(Secret::new)
    }

    /// An injected URL, kept as given: a bad one is reported now (by the one check,
    /// [`validate::injected`]) and again when the endpoint is used.
    fn url(&mut self, name: &str, token_name: &str) -> Option<String> {
        let value = self.text(name)?;
        let token = self.secret(token_name);
        if let Err(EdgegapError::Invalid { field, reason, .. }) =
            validate::injected(name, Some(&value), token_name, token.as_ref())
        {
            self.warn(&field, reason);
        }
        Some(value)
    }

    fn number<T: std::str::FromStr>(&mut self, name: &str, what: &str) -> Option<T> {
        let value = self.text(name)?;
        match value.parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.warn(name, format!("is {}, not {what}", shown(&value)));
                None
            }
        }
    }

    fn port_number(&mut self, name: &str) -> Option<u16> {
        let port = self.number::<u16>(name, "a port number (1-65535)")?;
        if port == 0 {
            self.warn(name, "is 0, not a port number (1-65535)");
            return None;
        }
        Some(port)
    }

    fn flag(&mut self, name: &str) -> Option<bool> {
        let value = self.text(name)?;
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => {
                self.warn(name, format!("is {}, not `true` or `false`", shown(&value)));
                None
            }
        }
    }

    fn ports_mapping(&mut self) -> BTreeMap<String, ArbitriumPort> {
        let mut ports = BTreeMap::new();
        let Some(raw) = self.text(PORTS_MAPPING) else {
            return ports;
        };
        let json: serde_json::Value = match serde_json::from_str(&raw) {
            Ok(json) => json,
            Err(e) => {
                self.warn(PORTS_MAPPING, format!("is not JSON: {e}"));
                return ports;
            }
        };
        // `{"ports": {key: entry}}` as documented; a bare `{key: entry}` is accepted too.
        let map = match json.get("ports").unwrap_or(&json) {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            _ => {
                self.warn(PORTS_MAPPING, "has no `ports` object");
                return ports;
            }
        };
        for (key, value) in map {
            match MappingEntry::deserialize(&value) {
                Ok(entry) => {
                    // The mock form is keyed by internal port number with a `name` field.
                    let name = entry
                        .name
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| key.clone());
                    ports.insert(
                        name.clone(),
                        ArbitriumPort {
                            name,
                            internal: entry.internal,
                            external: entry.external,
                            protocol: entry.protocol.filter(|p| !p.is_empty()),
                        },
                    );
                }
                Err(e) => self.warn(PORTS_MAPPING, format!("port `{key}` is malformed: {e}")),
            }
        }
        ports
    }

    /// Merges `ARBITRIUM_PORT_<NAME>_{INTERNAL,EXTERNAL,PROTOCOL}` into `ports`. The mapping wins
    /// when both give a value and they differ (with a warning).
    fn per_port_vars(&mut self, ports: &mut BTreeMap<String, ArbitriumPort>) {
        let names: Vec<(String, String, String)> = self
            .vars
            .keys()
            .filter_map(|key| {
                let rest = key.strip_prefix(PORT_PREFIX)?;
                let (name, field) = rest.rsplit_once('_')?;
                matches!(field, "INTERNAL" | "EXTERNAL" | "PROTOCOL")
                    .then(|| (key.clone(), name.to_owned(), field.to_owned()))
            })
            .collect();
        for (key, name, field) in names {
            if self.text(&key).is_none() {
                continue;
            }
            let existing = ports
                .values()
                .find(|p| normalize(&p.name) == normalize(&name))
                .map(|p| p.name.clone());
            let port_key = existing.unwrap_or_else(|| name.clone());
            let mut port = ports.remove(&port_key).unwrap_or_else(|| ArbitriumPort {
                name: name.clone(),
                ..ArbitriumPort::default()
            });
            match field.as_str() {
                "INTERNAL" | "EXTERNAL" => {
                    if let Some(value) = self.port_number(&key) {
                        let slot = if field == "INTERNAL" {
                            &mut port.internal
                        } else {
                            &mut port.external
                        };
                        match *slot {
                            Some(old) if old != value => self.warn(
                                &key,
                                format!(
                                    "is `{value}` but {PORTS_MAPPING} says `{old}`; using `{old}`"
                                ),
                            ),
                            _ => *slot = Some(value),
                        }
                    }
                }
                _ => {
                    let value = self.text(&key).unwrap_or_default();
                    match &port.protocol {
                        Some(old) if !old.eq_ignore_ascii_case(&value) => self.warn(
                            &key,
                            format!("is `{value}` but {PORTS_MAPPING} says `{old}`; using `{old}`"),
                        ),
                        _ => port.protocol = Some(value),
                    }
                }
            }
            ports.insert(port_key, port);
        }
    }

    fn location(&mut self) -> Option<Location> {
        let raw = self.text(LOCATION)?;
        match serde_json::from_str::<Location>(&raw) {
            Ok(location) => Some(location),
            Err(e) => {
                self.warn(LOCATION, format!("is not a location JSON object: {e}"));
                None
            }
        }
    }
}

impl ArbitriumEnv {
    /// Reads the process environment (only `ARBITRIUM_*` and `MM_*`; values that are not
    /// UTF-8 are skipped with a warning). `None` when `ARBITRIUM_REQUEST_ID` is unset or empty:
    /// not running on Edgegap.
    pub fn from_env() -> Option<Self> {
        let env = Self::read_process_env()?;
        env.log_warnings();
        Some(env)
    }

    /// [`ArbitriumEnv::from_env`] without the logs.
    pub(crate) fn read_process_env() -> Option<Self> {
        let mut skipped = Vec::new();
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(key, value)| {
                let key = key.into_string().ok()?;
                if !(key.starts_with("ARBITRIUM_") || key.starts_with("MM_")) {
                    return None;
                }
                match value.into_string() {
                    Ok(value) => Some((key, value)),
                    Err(_) => {
                        skipped.push(key);
                        None
                    }
                }
            })
            .collect();
        let mut env = Self::parse(vars)?;
        env.warnings
            .extend(skipped.into_iter().map(|key| EnvWarning {
                variable: key,
                reason: "is not UTF-8 and was skipped".into(),
            }));
        Some(env)
    }

    /// Logs each problem once, at `warn`.
    pub(crate) fn log_warnings(&self) {
        for warning in &self.warnings {
            warn!("edgegap environment: {warning}");
        }
    }

    /// Parses `(name, value)` pairs as Edgegap injects them (no process environment needed;
    /// for tests and for environments handed over some other way). `None` when
    /// `ARBITRIUM_REQUEST_ID` is missing or empty. Each problem is logged once at `warn`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let env = Self::parse(vars)?;
        env.log_warnings();
        Some(env)
    }

    fn parse(vars: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let mut p = Parser {
            vars: vars.into_iter().collect(),
            warnings: Vec::new(),
        };
        let request_id = RequestId::new(p.text(REQUEST_ID_VAR)?);

        let mut ports = p.ports_mapping();
        p.per_port_vars(&mut ports);
        let tags = p
            .text(TAGS)
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let beacon_enabled = match p.flag(BEACON_ENABLED) {
            Some(enabled) => Some(enabled),
            None => p.flag(HOST_BEACON_ENABLED),
        };
        let env = Self {
            public_ip: p.text(PUBLIC_IP),
            fqdn: p.text(FQDN),
            location: p.location(),
            tags,
            delete_url: p.url(DELETE_URL, DELETE_TOKEN),
            delete_token: p.secret(DELETE_TOKEN),
            context_url: p.url(CONTEXT_URL, CONTEXT_TOKEN),
            context_token: p.secret(CONTEXT_TOKEN),
            host: HostFacts {
                host_id: p.text(HOST_ID),
                base_clock_mhz: p.number(BASE_CLOCK, "a frequency in MHz"),
                vcpu_units: p.number(VCPU_UNITS, "a number of vCPU units"),
                memory_mb: p.number(MEMORY_MB, "a number of megabytes"),
            },
            beacon: BeaconFacts {
                enabled: beacon_enabled,
                public_ip: p.text(BEACON_PUBLIC_IP),
                udp_external: p.port_number(BEACON_UDP),
                tcp_external: p.port_number(BEACON_TCP),
            },
            private_fleet: PrivateFleetFacts {
                in_private_fleet: p.flag(IN_PRIVATE_FLEET),
                fleet_id: p.text(PRIVATE_FLEET_ID),
            },
            matchmaker: p
                .vars
                .iter()
                .filter(|(k, _)| k.starts_with("MM_"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            request_id,
            ports,
            warnings: std::mem::take(&mut p.warnings),
        };
        Some(env)
    }

    /// This deployment's id.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// The host's public IP, as injected.
    pub fn public_ip(&self) -> Option<&str> {
        self.public_ip.as_deref()
    }

    /// The host's public IP, when it is an IP literal.
    pub fn public_ip_addr(&self) -> Option<IpAddr> {
        self.public_ip()?.parse().ok()
    }

    /// The port named `name`. Case-insensitive, and spaces, dashes and underscores are alike:
    /// `Game Port`, `game_port` and `GAME_PORT` name the same port.
    pub fn port(&self, name: &str) -> Option<&ArbitriumPort> {
        self.ports.get(name).or_else(|| {
            let wanted = normalize(name);
            self.ports.values().find(|p| normalize(&p.name) == wanted)
        })
    }

    /// Where the server must listen for port `name`: `0.0.0.0:<internal>`.
    pub fn bind_addr(&self, name: &str) -> Option<SocketAddr> {
        let internal = self.port(name)?.internal?;
        Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), internal))
    }

    /// Where players reach port `name` from outside: public IP and external port.
    pub fn public_addr(&self, name: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(
            self.public_ip_addr()?,
            self.port(name)?.external?,
        ))
    }

    /// The tags the deployment started with.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The matchmaker variable `name` (`MM_MATCH_ID`, …), raw.
    pub fn matchmaker_var(&self, name: &str) -> Option<&str> {
        self.matchmaker.get(name).map(String::as_str)
    }

    /// Whether the injected self-stop URL and token are both present and valid.
    pub fn can_self_stop(&self) -> bool {
        self.self_stop_endpoint().is_ok()
    }

    /// The self-stop (`DELETE $ARBITRIUM_DELETE_URL`), or an [`EdgegapError::Invalid`] naming
    /// the missing or invalid variable. The plugin builds it once, at start.
    pub(crate) fn self_stop_endpoint(&self) -> Result<api::SelfStopDeployment, EdgegapError> {
        let (url, token) = injected(
            (DELETE_URL, self.delete_url.as_deref()),
            (DELETE_TOKEN, self.delete_token.as_ref()),
        )?;
        Ok(api::SelfStopDeployment::new(url, token))
    }

    /// The checked `ARBITRIUM_CONTEXT_URL` and `ARBITRIUM_CONTEXT_TOKEN`, or an
    /// [`EdgegapError::Invalid`] naming the missing or invalid variable.
    pub(crate) fn context_endpoint(&self) -> Result<(String, Secret), EdgegapError> {
        injected(
            (CONTEXT_URL, self.context_url.as_deref()),
            (CONTEXT_TOKEN, self.context_token.as_ref()),
        )
    }

    /// Every variable that was set but could not be read.
    pub fn warnings(&self) -> &[EnvWarning] {
        &self.warnings
    }
}

/// An injected URL and token, checked by [`validate::injected`].
fn injected(
    (url_var, url): (&str, Option<&str>),
    (token_var, token): (&str, Option<&Secret>),
) -> Result<(String, Secret), EdgegapError> {
    validate::injected(url_var, url, token_var, token)?;
    Ok((
        url.unwrap_or_default().to_owned(),
        token.cloned().unwrap_or_default(),
    ))
}

/// The error for an injected endpoint used off Edgegap: the same kind as a missing variable.
pub(crate) fn not_on_edgegap() -> EdgegapError {
    EdgegapError::invalid(REQUEST_ID_VAR, "is not set: not running on edgegap")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_like_edgegap() {
        assert_eq!(normalize("Game Port"), "GAME_PORT");
        assert_eq!(normalize("gameport"), "GAMEPORT");
        assert_eq!(normalize("server-port"), "SERVER_PORT");
    }
}
