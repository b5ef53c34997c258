//! Legacy deploy (`POST /v1/deploy`, deprecated by Edgegap in favour of
//! [`DeployRequest`](super::DeployRequest)).

use serde::{Deserialize, Serialize};

use super::deploy::{EnvVar, env_and_tag_setters};
use super::endpoint::{Endpoint, EndpointClass, Method, Target};
use super::error::EdgegapError;
use super::filter::LocationFilter;
use super::ids::RequestId;
use super::lenient;
use super::validate;

/// A player given by IP with coordinates that override the IP's location (`geo_ip_list[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoIp {
    /// The player's public IP.
    pub ip: String,
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

/// `container_log_storage` of the legacy deploy: keep the logs in an endpoint storage.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerLogStorageConfig {
    /// Whether logs are stored.
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub enabled: bool,
    /// The endpoint storage's name (`None`: the one linked to the app version).
    pub endpoint_storage: Option<String>,
}

/// `POST /v1/deploy` (deprecated; 40 req/s). Build with [`DeployV1Request::new`], add at least
/// one player with [`ip`](Self::ip) or [`geo_ip`](Self::geo_ip) (not both kinds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployV1Request {
    /// Application name.
    pub app_name: String,
    /// Version name (`None`: the last created version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    /// Players by IP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_list: Vec<String>,
    /// Players by IP with coordinates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geo_ip_list: Vec<GeoIp>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_vars: Vec<EnvVar>,
    /// Deployment tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// POSTed with the status JSON when the deployment is READY or in ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Location filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<LocationFilter>,
    /// Container log storage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_log_storage: Option<ContainerLogStorageConfig>,
    /// Container command override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Container arguments override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

impl DeployV1Request {
    /// A legacy deploy of `app_name` (at its last version unless [`version_name`](Self::version_name)).
    #[must_use]
    pub fn new(app_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
            version_name: None,
            ip_list: Vec::new(),
            geo_ip_list: Vec::new(),
            env_vars: Vec::new(),
            tags: Vec::new(),
            webhook_url: None,
            filters: Vec::new(),
            container_log_storage: None,
            command: None,
            arguments: None,
        }
    }

    /// Sets the version name.
    #[must_use]
    pub fn version_name(mut self, version: impl Into<String>) -> Self {
        self.version_name = Some(version.into());
        self
    }

    /// Adds a player by public IP (`ip_list`).
    #[must_use]
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip_list.push(ip.into());
        self
    }

    /// Adds a player by IP with coordinates (`geo_ip_list`).
    #[must_use]
    pub fn geo_ip(mut self, ip: impl Into<String>, latitude: f64, longitude: f64) -> Self {
        self.geo_ip_list.push(GeoIp {
            ip: ip.into(),
            latitude,
            longitude,
        });
        self
    }

    env_and_tag_setters!(env_vars);

    /// POST the status JSON to `url` when READY or in ERROR.
    #[must_use]
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Adds a location filter.
    #[must_use]
    pub fn filter(mut self, filter: LocationFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Stores the container logs in the endpoint storage named `endpoint_storage`.
    #[must_use]
    pub fn container_log_storage(
        mut self,
        enabled: bool,
        endpoint_storage: impl Into<String>,
    ) -> Self {
        self.container_log_storage = Some(ContainerLogStorageConfig {
            enabled,
            endpoint_storage: Some(endpoint_storage.into()),
        });
        self
    }

    /// Overrides the container command.
    #[must_use]
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into());
        self
    }

    /// Overrides the container arguments.
    #[must_use]
    pub fn arguments(mut self, arguments: impl Into<String>) -> Self {
        self.arguments = Some(arguments.into());
        self
    }
}

impl Endpoint for DeployV1Request {
    type Output = DeployV1Response;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Path("/v1/deploy".into())
    }
    fn body(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
    fn class(&self) -> EndpointClass {
        EndpointClass::Deploy
    }
    fn is_success(&self, status: u16) -> bool {
        status == 200
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)?;
        if let Some(version) = &self.version_name {
            validate::non_empty("version_name", version)?;
        }
        if self.ip_list.is_empty() && self.geo_ip_list.is_empty() {
            return Err(EdgegapError::invalid(
                "ip_list",
                "needs at least one player (ip or geo_ip) to choose a location",
            ));
        }
        if !self.ip_list.is_empty() && !self.geo_ip_list.is_empty() {
            return Err(EdgegapError::invalid(
                "geo_ip_list",
                "cannot be combined with ip_list; use one kind of player",
            ));
        }
        for (i, ip) in self.ip_list.iter().enumerate() {
            validate::non_empty(&format!("ip_list[{i}]"), ip)?;
        }
        for (i, geo) in self.geo_ip_list.iter().enumerate() {
            validate::non_empty(&format!("geo_ip_list[{i}].ip"), &geo.ip)?;
            validate::coordinates(&format!("geo_ip_list[{i}]"), geo.latitude, geo.longitude)?;
        }
        for (i, var) in self.env_vars.iter().enumerate() {
            validate::env_var(&format!("env_vars[{i}]"), &var.key, &var.value)?;
        }
        for (i, tag) in self.tags.iter().enumerate() {
            validate::non_empty(&format!("tags[{i}]"), tag)?;
        }
        if let Some(url) = &self.webhook_url {
            validate::non_empty("webhook_url", url)?;
        }
        for (i, filter) in self.filters.iter().enumerate() {
            filter.validate(&format!("filters[{i}]"))?;
        }
        if let Some(ContainerLogStorageConfig {
            endpoint_storage: Some(storage),
            ..
        }) = &self.container_log_storage
        {
            validate::non_empty("container_log_storage.endpoint_storage", storage)?;
        }
        Ok(())
    }
}

/// The `200` answer of `POST /v1/deploy` (Edgegap's `Request` model).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeployV1Response {
    /// The new deployment's id.
    pub request_id: RequestId,
    /// The deployment's FQDN.
    pub request_dns: Option<String>,
    /// Application name.
    pub request_app: Option<String>,
    /// Version name.
    pub request_version: Option<String>,
    /// How many players the placement used.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub request_user_count: Option<u64>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Continent.
    pub continent: Option<String>,
    /// State, province, …
    pub administrative_division: Option<String>,
    /// Deployment tags.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub tags: Vec<String>,
    /// Container log storage.
    pub container_log_storage: Option<ContainerLogStorageConfig>,
    /// Location filters applied.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub filters: Vec<LocationFilter>,
}
