//! v2 deploy (`POST /v2/deployments`) and private-fleet deploy.

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, EndpointClass, Method, Target};
use super::error::EdgegapError;
use super::ids::RequestId;
use super::validate;

/// A player the placement should be close to (`users[]` in the v2 body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "user_type", content = "user_data", rename_all = "snake_case")]
pub enum User {
    /// `{"user_type": "ip_address", "user_data": {"ip_address": ".."}}`
    IpAddress {
        /// The player's public IP.
        ip_address: String,
    },
    /// `{"user_type": "geo_coordinates", "user_data": {"latitude": .., "longitude": ..}}`
    GeoCoordinates {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
    },
}

/// An environment variable passed to the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    /// Name.
    pub key: String,
    /// Value (at most 4 KiB).
    pub value: String,
    /// Encrypted at rest and hidden in Edgegap's dashboard (old docs sent `"true"` as text).
    #[serde(default, deserialize_with = "super::lenient::bool_or_false")]
    pub is_hidden: bool,
}

impl EnvVar {
    /// A visible variable.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            is_hidden: false,
        }
    }

    /// A hidden variable: encrypted at rest, not shown in Edgegap's dashboard.
    pub fn hidden(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            is_hidden: true,
            ..Self::new(key, value)
        }
    }
}

/// The `env`, `hidden_env` and `tag` setters of a deploy body whose variables are the
/// `Vec<EnvVar>` field `$envs` and whose tags are `tags: Vec<String>` (the v2 and the legacy
/// v1 deploy).
macro_rules! env_and_tag_setters {
    ($envs:ident) => {
        /// Adds a visible environment variable.
        #[must_use]
        pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.$envs
                .push($crate::api::deploy::EnvVar::new(key, value));
            self
        }

        /// Adds a hidden (encrypted at rest) environment variable.
        #[must_use]
        pub fn hidden_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.$envs
                .push($crate::api::deploy::EnvVar::hidden(key, value));
            self
        }

        /// Adds a deployment tag.
        #[must_use]
        pub fn tag(mut self, tag: impl Into<String>) -> Self {
            self.tags.push(tag.into());
            self
        }
    };
}
pub(crate) use env_and_tag_setters;

/// `{"url": ".."}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Where Edgegap POSTs the status JSON.
    pub url: String,
}

/// Resource override for one deployment (OAS2, 2026-06).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// CPU units, at least 100 (1024 = 1 vCPU).
    pub cpu_units: u32,
    /// Memory in MiB, at least 100 and at most twice `cpu_units`.
    pub memory_mib: u32,
}

/// The v2 deploy body (`POST /v2/deployments`). Build with [`DeployRequest::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployRequest {
    /// Application name.
    pub application: String,
    /// Application version name.
    pub version: String,
    /// Players the placement should be close to (at least one).
    pub users: Vec<User>,
    /// Only place where the image is cached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_cached_locations: Option<bool>,
    /// Resource override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_variables: Vec<EnvVar>,
    /// Deployment tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// POSTed when READY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_on_ready: Option<Webhook>,
    /// POSTed on ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_on_error: Option<Webhook>,
    /// POSTed when TERMINATED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_on_terminated: Option<Webhook>,
}

impl DeployRequest {
    /// A deploy of `application` at `version`; add at least one user before sending.
    #[must_use]
    pub fn new(application: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            application: application.into(),
            version: version.into(),
            users: Vec::new(),
            require_cached_locations: None,
            resources: None,
            environment_variables: Vec::new(),
            tags: Vec::new(),
            webhook_on_ready: None,
            webhook_on_error: None,
            webhook_on_terminated: None,
        }
    }

    /// Adds a player by public IP.
    #[must_use]
    pub fn user_ip(mut self, ip: impl Into<String>) -> Self {
        self.users.push(User::IpAddress {
            ip_address: ip.into(),
        });
        self
    }

    /// Adds a player by coordinates.
    #[must_use]
    pub fn user_geo(mut self, latitude: f64, longitude: f64) -> Self {
        self.users.push(User::GeoCoordinates {
            latitude,
            longitude,
        });
        self
    }

    env_and_tag_setters!(environment_variables);

    /// Only place where the image is already cached.
    #[must_use]
    pub fn require_cached_locations(mut self, required: bool) -> Self {
        self.require_cached_locations = Some(required);
        self
    }

    /// POST the status JSON to `url` when READY.
    #[must_use]
    pub fn webhook_on_ready(mut self, url: impl Into<String>) -> Self {
        self.webhook_on_ready = Some(Webhook { url: url.into() });
        self
    }

    /// POST the status JSON to `url` on ERROR.
    #[must_use]
    pub fn webhook_on_error(mut self, url: impl Into<String>) -> Self {
        self.webhook_on_error = Some(Webhook { url: url.into() });
        self
    }

    /// POST the status JSON to `url` when TERMINATED.
    #[must_use]
    pub fn webhook_on_terminated(mut self, url: impl Into<String>) -> Self {
        self.webhook_on_terminated = Some(Webhook { url: url.into() });
        self
    }

    /// Overrides the app version's resources.
    #[must_use]
    pub fn resources(mut self, cpu_units: u32, memory_mib: u32) -> Self {
        self.resources = Some(Resources {
            cpu_units,
            memory_mib,
        });
        self
    }

    /// Client-side checks: names present, at least one valid user, env and tag limits.
    pub fn validate(&self) -> Result<(), EdgegapError> {
        self.validate_users_required(true)
    }

    /// [`DeployRequest::validate`] for a deploy through an `edgegap-gateway`: `users` may be
    /// empty (the gateway fills them from the caller's address); those given are checked.
    pub fn validate_for_gateway(&self) -> Result<(), EdgegapError> {
        self.validate_users_required(false)
    }

    fn validate_users_required(&self, users_required: bool) -> Result<(), EdgegapError> {
        validate::non_empty("application", &self.application)?;
        validate::non_empty("version", &self.version)?;
        if users_required && self.users.is_empty() {
            return Err(EdgegapError::invalid(
                "users",
                "needs at least one user (user_ip or user_geo) to choose a location",
            ));
        }
        for (i, user) in self.users.iter().enumerate() {
            match user {
                User::IpAddress { ip_address } => {
                    validate::non_empty(&format!("users[{i}].ip_address"), ip_address)?
                }
                User::GeoCoordinates {
                    latitude,
                    longitude,
                } => validate::coordinates(&format!("users[{i}]"), *latitude, *longitude)?,
            }
        }
        for (i, var) in self.environment_variables.iter().enumerate() {
            validate::env_var(&format!("environment_variables[{i}]"), &var.key, &var.value)?;
        }
        for (i, tag) in self.tags.iter().enumerate() {
            validate::tag_name(&format!("tags[{i}]"), tag)?;
        }
        if let Some(r) = self.resources {
            if r.cpu_units < 100 {
                return Err(EdgegapError::invalid(
                    "resources.cpu_units",
                    "must be at least 100",
                ));
            }
            if r.memory_mib < 100 {
                return Err(EdgegapError::invalid(
                    "resources.memory_mib",
                    "must be at least 100",
                ));
            }
            if u64::from(r.memory_mib) > 2 * u64::from(r.cpu_units) {
                return Err(EdgegapError::invalid(
                    "resources.memory_mib",
                    "must be at most twice cpu_units",
                ));
            }
        }
        for (field, hook) in [
            ("webhook_on_ready", &self.webhook_on_ready),
            ("webhook_on_error", &self.webhook_on_error),
            ("webhook_on_terminated", &self.webhook_on_terminated),
        ] {
            if let Some(hook) = hook {
                validate::non_empty(&format!("{field}.url"), &hook.url)?;
            }
        }
        Ok(())
    }
}

/// The `202` answer of a deploy: `{"request_id": ".."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployResponse {
    /// The new deployment's id.
    pub request_id: RequestId,
}

impl Endpoint for DeployRequest {
    type Output = DeployResponse;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Path("/v2/deployments".into())
    }
    fn body(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
    fn class(&self) -> EndpointClass {
        EndpointClass::Deploy
    }
    fn is_success(&self, status: u16) -> bool {
        status == 202 || status == 200
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        DeployRequest::validate(self)
    }
    fn validate_for_gateway(&self) -> Result<(), EdgegapError> {
        DeployRequest::validate_for_gateway(self)
    }
}

/// Which path the private-fleet deploy uses. Edgegap moved it twice; both are served by
/// `edgegap-emulator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FleetDeployPath {
    /// `POST /v2/private-fleets/deployments` (OAS2 since 2026-02).
    #[default]
    Deployments,
    /// `POST /v2/private-fleets:deploy` (OAS2 2025-11 to 2026-02, the docs page).
    ColonDeploy,
}

/// Deploy onto a private fleet: a [`DeployRequest`] plus `private_host_ids`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetDeployRequest {
    /// The deploy body.
    #[serde(flatten)]
    pub deploy: DeployRequest,
    /// Host ids to try before overflowing to the cloud (at least one, unique).
    pub private_host_ids: Vec<String>,
    /// Which path to post to (not sent).
    #[serde(skip)]
    pub path: FleetDeployPath,
}

impl FleetDeployRequest {
    /// A fleet deploy of `deploy` preferring `private_host_ids`.
    #[must_use]
    pub fn new<I, S>(deploy: DeployRequest, private_host_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            deploy,
            private_host_ids: private_host_ids.into_iter().map(Into::into).collect(),
            path: FleetDeployPath::default(),
        }
    }

    /// Adds a preferred host.
    #[must_use]
    pub fn host(mut self, host_id: impl Into<String>) -> Self {
        self.private_host_ids.push(host_id.into());
        self
    }

    /// Chooses the path form.
    #[must_use]
    pub fn path(mut self, path: FleetDeployPath) -> Self {
        self.path = path;
        self
    }
}

impl Endpoint for FleetDeployRequest {
    type Output = DeployResponse;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Path(
            match self.path {
                FleetDeployPath::Deployments => "/v2/private-fleets/deployments",
                FleetDeployPath::ColonDeploy => "/v2/private-fleets:deploy",
            }
            .into(),
        )
    }
    fn body(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
    fn class(&self) -> EndpointClass {
        EndpointClass::FleetDeploy
    }
    fn is_success(&self, status: u16) -> bool {
        status == 202 || status == 200
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.deploy.validate()?;
        if self.private_host_ids.is_empty() {
            return Err(EdgegapError::invalid(
                "private_host_ids",
                "needs at least one host id",
            ));
        }
        for (i, id) in self.private_host_ids.iter().enumerate() {
            validate::non_empty(&format!("private_host_ids[{i}]"), id)?;
            if self.private_host_ids[..i].contains(id) {
                return Err(EdgegapError::invalid(
                    format!("private_host_ids[{i}]"),
                    format!("`{id}` is listed twice"),
                ));
            }
        }
        Ok(())
    }
}
