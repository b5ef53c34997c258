//! What the matchmaker's endpoints share: [`MatchmakerAccess`], statuses, assignments,
//! tickets as the matchmaker describes them, and the `monitor` and beacon endpoints.

use crate::api::status::reachable;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::api::endpoint::{Auth, Endpoint, HttpResponse, Target, encode_component, strip_scheme};
use crate::api::error::EdgegapError;
use crate::api::ids::Secret;
use crate::api::lenient;
use crate::api::status::{Location, PortMapping, pick_host};

/// Where a matchmaker is and how to authenticate to it: the "API URL" and the token of its
/// dashboard page. `Debug` prints the token as `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchmakerAccess {
    /// The matchmaker's base URL (no trailing slash needed; no version prefix).
    pub base_url: String,
    /// The matchmaker's token. A `Bearer ` or `token ` prefix pasted with it is dropped: the
    /// matchmaker answers `401` to a prefixed token.
    pub token: Secret,
}

impl MatchmakerAccess {
    /// The matchmaker at `base_url` with `token`.
    pub fn new(base_url: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self {
            base_url: base_url.into(),
            token: token.into(),
        }
    }

    /// The token as sent: trimmed, without a pasted `Bearer ` or `token ` prefix.
    pub fn raw_token(&self) -> Secret {
        let token = self.token.expose().trim();
        let token = strip_scheme(strip_scheme(token, "Bearer"), "token");
        // A scheme pasted alone is no token.
        if token.eq_ignore_ascii_case("bearer") || token.eq_ignore_ascii_case("token") {
            return Secret::default();
        }
        Secret::new(token)
    }

    /// `base_url` joined with `path`.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim().trim_end_matches('/'))
    }

    /// The checks every matchmaker call makes before sending: an `http(s)://` base URL and
    /// a token. The error never contains the token.
    pub fn validate(&self) -> Result<(), EdgegapError> {
        let base = self.base_url.trim();
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || base.len() <= "https://".len()
            || base.chars().any(char::is_whitespace)
        {
            return Err(EdgegapError::Config(format!(
                "the matchmaker URL `{base}` must be an http:// or https:// URL"
            )));
        }
        let token = self.raw_token();
        if token.is_empty() {
            return Err(EdgegapError::Config(
                "no matchmaker token: set EDGEGAP_MATCHMAKER_TOKEN or MatchmakerConfig's token"
                    .into(),
            ));
        }
        if token
            .expose()
            .bytes()
            .any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b)))
        {
            return Err(EdgegapError::Config(
                "the matchmaker token contains characters not allowed in an HTTP header value"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A matchmaker call's [`Endpoint::target`]: the base URL and `segments` (each percent-encoded;
/// checked by [`mm_id`] in `validate`).
pub(crate) fn mm_target(access: &MatchmakerAccess, segments: &[&str]) -> Target {
    let mut path = String::new();
    for segment in segments {
        path.push('/');
        path.push_str(&encode_component(segment));
    }
    Target::Url(access.url(&path))
}

/// [`Auth::Raw`] with the token as sent.
pub(crate) fn mm_auth(access: &MatchmakerAccess) -> Auth {
    Auth::Raw(access.raw_token())
}

/// A matchmaker resource by its id, `GET` or `DELETE /{collection}/{id}` (a ticket, a
/// backfill, a group): the request (the access and the id, in the field `$field`), its
/// `new` and its [`Endpoint`], which decodes a success with `$decode` (`decode_json`, or
/// [`nothing`] for a delete).
macro_rules! by_id {
    (
        $(#[$doc:meta])*
        $name:ident, $method:ident, $collection:literal, $field:ident, $output:ty, $decode:expr
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The matchmaker.
            pub access: $crate::api::matchmaker::shared::MatchmakerAccess,
            #[doc = concat!("The id (`", stringify!($field), "`).")]
            pub $field: String,
        }

        impl $name {
            #[doc = concat!("The one with `", stringify!($field), "`.")]
            pub fn new(
                access: $crate::api::matchmaker::shared::MatchmakerAccess,
                $field: impl Into<String>,
            ) -> Self {
                Self {
                    access,
                    $field: $field.into(),
                }
            }
        }

        impl $crate::api::endpoint::Endpoint for $name {
            type Output = $output;

            fn method(&self) -> $crate::api::endpoint::Method {
                $crate::api::endpoint::Method::$method
            }
            fn target(&self) -> $crate::api::endpoint::Target {
                $crate::api::matchmaker::shared::mm_target(&self.access, &[$collection, &self.$field])
            }
            fn auth(&self) -> $crate::api::endpoint::Auth {
                $crate::api::matchmaker::shared::mm_auth(&self.access)
            }
            fn validate(&self) -> Result<(), $crate::api::error::EdgegapError> {
                self.access.validate()?;
                $crate::api::matchmaker::shared::mm_id(stringify!($field), &self.$field)
            }
            fn decode_success(
                &self,
                response: &$crate::api::endpoint::HttpResponse,
            ) -> Result<$output, $crate::api::error::EdgegapError> {
                $decode(response)
            }
        }
    };
}
pub(crate) use by_id;

/// The decoding of a success whose body carries nothing the caller needs (a delete).
pub(crate) fn nothing(_: &HttpResponse) -> Result<(), EdgegapError> {
    Ok(())
}

/// An id used as a path segment: non-empty, no `/`, whitespace or control character, not
/// `.` or `..` (`..` would leave its segment).
pub(crate) fn mm_id(field: &str, id: &str) -> Result<(), EdgegapError> {
    if id.trim().is_empty() {
        return Err(EdgegapError::invalid(field, "must not be empty"));
    }
    if id == "."
        || id == ".."
        || id
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(EdgegapError::invalid(
            field,
            "must not be `.` or `..` nor contain `/`, whitespace or control characters",
        ));
    }
    Ok(())
}

/// Serializes `attributes` and checks it is a JSON object (or `null`, sent as `{}`).
pub(crate) fn attributes_json<A: Serialize>(
    attributes: &A,
) -> Result<serde_json::Value, EdgegapError> {
    match serde_json::to_value(attributes) {
        Ok(serde_json::Value::Null) => Ok(serde_json::Value::Object(serde_json::Map::new())),
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(other) => Err(EdgegapError::invalid(
            "attributes",
            format!("must serialize to a JSON object, not `{}`", kind(&other)),
        )),
        Err(e) => Err(EdgegapError::invalid("attributes", e.to_string())),
    }
}

/// A string (numbers kept as text), or `null`/absent read as empty.
pub(crate) fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient::opt_string(d)?.unwrap_or_default())
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A group's, member's or ticket's `status`: `INITIAL` (forming, not every member ready) →
/// `SEARCHING` → (`TEAM_FOUND`, deprecated) → `MATCH_FOUND` → `HOST_ASSIGNED`; or
/// `CANCELLED`. Read case-insensitively; anything else is kept as [`MatchStatus::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum MatchStatus {
    /// The group is forming: not every member is ready, no ticket yet.
    #[default]
    Initial,
    /// Searching for a match.
    Searching,
    /// A team was found (deprecated since matchmaker 3.3.0).
    TeamFound,
    /// A match was found; its server is being deployed. Too late to leave.
    MatchFound,
    /// The server is ready: the answer carries the [`Assignment`].
    HostAssigned,
    /// Expired, cancelled, or out of deployment retries.
    Cancelled,
    /// A status this crate does not know, as sent.
    Other(String),
}

lenient::wire_names!(MatchStatus, prefix: "", {
    Initial => "INITIAL",
    Searching => "SEARCHING",
    TeamFound => "TEAM_FOUND",
    MatchFound => "MATCH_FOUND",
    HostAssigned => "HOST_ASSIGNED",
    Cancelled => "CANCELLED" | "CANCELED",
});

impl MatchStatus {
    /// `MATCH_FOUND` or later (`HOST_ASSIGNED`): leaving is refused (`409`).
    pub fn is_matched(&self) -> bool {
        matches!(self, Self::MatchFound | Self::HostAssigned)
    }

    /// `HOST_ASSIGNED` or `CANCELLED`: nothing more will change.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::HostAssigned | Self::Cancelled)
    }
}

lenient::wire_string!(MatchStatus, null_is_default);

/// Where a matched player connects: the server the matchmaker deployed (`HOST_ASSIGNED`), or
/// the one a backfill found. Ports may come as strings (Edgegap's SDK models) or numbers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Assignment {
    /// `<request_id>.pr.edgegap.net`.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub fqdn: Option<String>,
    /// The server's public IP.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub public_ip: Option<String>,
    /// Ports by name (`gameport`), with `internal`, `external`, `link`, `protocol`.
    #[serde(deserialize_with = "lenient::map_or_null")]
    pub ports: BTreeMap<String, PortMapping>,
    /// Where the server runs.
    pub location: Option<Location>,
    /// The deployment's id, when sent (a backfill's assignment carries it).
    #[serde(
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
}

impl Assignment {
    reachable!();
}

/// A ticket as the matchmaker injects it (`MM_TICKET_<id>`) and as backfills carry it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchTicket<A = serde_json::Value> {
    /// The ticket id (a 20-character xid).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// When the ticket was created (RFC 3339).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub created_at: Option<String>,
    /// The player's IP.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub player_ip: Option<String>,
    /// The player's group.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub group_id: Option<String>,
    /// The player's team.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub team_id: Option<String>,
    /// The attributes the player searched with.
    pub attributes: A,
}

/// `GET /monitor`: whether the matchmaker is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMonitor {
    /// The matchmaker.
    pub access: MatchmakerAccess,
}

impl GetMonitor {
    /// The health of the matchmaker at `access`.
    pub fn new(access: MatchmakerAccess) -> Self {
        Self { access }
    }
}

/// The `GET /monitor` answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorStatus {
    /// `HEALTHY` when up (compared case-insensitively by [`MonitorStatus::is_healthy`]).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// A human-readable message.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Components up.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub healthy_components: Option<u64>,
    /// Components down.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub unhealthy_components: Option<u64>,
}

impl MonitorStatus {
    /// `status` is `healthy`, in any case (what Edgegap's SDKs test).
    pub fn is_healthy(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("healthy"))
    }
}

impl Endpoint for GetMonitor {
    type Output = MonitorStatus;

    fn target(&self) -> Target {
        mm_target(&self.access, &["monitor"])
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.access.validate()
    }
}

/// `GET /locations/beacons`: the ping beacons, for the `latencies` rule's attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBeacons {
    /// The matchmaker.
    pub access: MatchmakerAccess,
}

impl ListBeacons {
    /// The beacons of the matchmaker at `access`.
    pub fn new(access: MatchmakerAccess) -> Self {
        Self { access }
    }
}

/// One ping beacon: ping it over UDP or TCP and send the round trip in milliseconds, keyed by
/// its city, as the `latencies` rule's attribute.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Beacon {
    /// Its DNS name.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub fqdn: Option<String>,
    /// Its public IP.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub public_ip: Option<String>,
    /// The TCP port that answers pings.
    #[serde(deserialize_with = "lenient::opt_u16")]
    pub tcp_port: Option<u16>,
    /// The UDP port that answers pings.
    #[serde(deserialize_with = "lenient::opt_u16")]
    pub udp_port: Option<u16>,
    /// Where it is; `location.city` is the attribute's key.
    pub location: Option<Location>,
}

impl Beacon {
    /// The key of this beacon in the `latencies` attribute: its city.
    pub fn city(&self) -> Option<&str> {
        self.location
            .as_ref()?
            .city
            .as_deref()
            .filter(|c| !c.trim().is_empty())
    }

    /// The host to ping: the public IP, else the FQDN.
    pub fn host(&self) -> Option<&str> {
        pick_host(self.public_ip.as_deref(), self.fqdn.as_deref())
    }
}

/// The `GET /locations/beacons` answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BeaconList {
    /// How many beacons.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub count: Option<u64>,
    /// The beacons.
    #[serde(deserialize_with = "lenient::vec_or_null")]
    pub beacons: Vec<Beacon>,
}

impl Endpoint for ListBeacons {
    type Output = BeaconList;

    fn target(&self) -> Target {
        mm_target(&self.access, &["locations", "beacons"])
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.access.validate()
    }
}
