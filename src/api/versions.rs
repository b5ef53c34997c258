//! App versions (`/v1/app/{app_name}/version[/{version_name}]`, `/v1/app/{app_name}/versions`):
//! what a deploy names. Create, read, update, delete and list.
//!
//! A version points at a container image (`docker_repository` is the registry **host**,
//! `docker_image` is `<project>/<image>`, `docker_tag` never `latest`) and holds the resources,
//! ports and environment of its deployments. Its `private_token` (the registry password
//! Edgegap pulls with) and the values of its secret variables are [`Secret`]s or hidden in
//! `Debug`, in requests and in answers alike: Edgegap echoes `private_token` back. Errors
//! built from these endpoints' answers carry their bodies with those values replaced by `***`
//! (see [`redact_secrets`]).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::apps::{app_path, check_app_name, check_length};
use super::endpoint::{
    Endpoint, HttpResponse, Method, Target, api_error, encode_component, is_blank, redact_secrets,
};
use super::error::EdgegapError;
use super::ids::Secret;
use super::lenient;
use super::pagination::{list_answer, paged_list};
use super::validate;

/// Longest version name Edgegap accepts (it is at least one character).
pub const MAX_VERSION_NAME_LEN: usize = 64;
/// Fewest vCPU units (and MB of memory) a version may ask for.
pub const MIN_REQ_CPU: u32 = 100;
/// Highest port number a version may declare (`0` maps one-to-one and needs a `name`).
pub const MAX_VERSION_PORT: u16 = 59_999;
/// The protocols Edgegap accepts for a port.
pub const PORT_PROTOCOLS: [&str; 7] = ["TCP", "UDP", "TCP/UDP", "HTTP", "HTTPS", "WS", "WSS"];

fn versions_path(app_name: &str) -> String {
    format!("{}/versions", app_path(app_name))
}

fn version_path(app_name: &str, version_name: &str) -> String {
    format!(
        "{}/version/{}",
        app_path(app_name),
        encode_component(version_name)
    )
}

/// A version name: 1 to [`MAX_VERSION_NAME_LEN`] characters.
fn check_version_name(field: &str, name: &str) -> Result<(), EdgegapError> {
    validate::non_empty(field, name)?;
    check_length(field, name, 1, MAX_VERSION_NAME_LEN)
}

/// A port of an app version (`AppVersionPort`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppVersionPort {
    /// The port the server listens on inside its container, 0 to 59999 (`0`: mapped
    /// one-to-one, `name` required).
    pub port: u16,
    /// `TCP`, `UDP`, `TCP/UDP`, `HTTP`, `HTTPS`, `WS` or `WSS`.
    pub protocol: String,
    /// Whether Edgegap checks the port answers before READY (Edgegap's default: true).
    #[serde(
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub to_check: Option<bool>,
    /// Whether Edgegap terminates TLS in front of it (HTTP and WS ports only).
    #[serde(
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls_upgrade: Option<bool>,
    /// The name servers and clients look the port up by (`gameport`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
}

impl AppVersionPort {
    /// Port `port` named `name` over `protocol`.
    pub fn new(name: impl Into<String>, port: u16, protocol: impl Into<String>) -> Self {
        Self {
            port,
            protocol: protocol.into(),
            to_check: None,
            tls_upgrade: None,
            name: Some(name.into()),
        }
    }

    /// Whether Edgegap checks the port before READY.
    #[must_use]
    pub fn to_check(mut self, check: bool) -> Self {
        self.to_check = Some(check);
        self
    }

    /// Whether Edgegap terminates TLS in front of it (HTTP and WS only).
    #[must_use]
    pub fn tls_upgrade(mut self, upgrade: bool) -> Self {
        self.tls_upgrade = Some(upgrade);
        self
    }

    fn validate(&self, field: &str) -> Result<(), EdgegapError> {
        if self.port > MAX_VERSION_PORT {
            return Err(EdgegapError::invalid(
                format!("{field}.port"),
                format!("{} is outside 0..={MAX_VERSION_PORT}", self.port),
            ));
        }
        if !PORT_PROTOCOLS.contains(&self.protocol.as_str()) {
            return Err(EdgegapError::invalid(
                format!("{field}.protocol"),
                format!(
                    "`{}` is not one of {}",
                    self.protocol,
                    PORT_PROTOCOLS.join(", ")
                ),
            ));
        }
        let named = self.name.as_deref().is_some_and(|n| !n.trim().is_empty());
        if self.port == 0 && !named {
            return Err(EdgegapError::invalid(
                format!("{field}.name"),
                "is required for port 0 (mapped one-to-one)",
            ));
        }
        if self.tls_upgrade == Some(true) && !matches!(self.protocol.as_str(), "HTTP" | "WS") {
            return Err(EdgegapError::invalid(
                format!("{field}.tls_upgrade"),
                "is for HTTP and WS ports only",
            ));
        }
        Ok(())
    }
}

/// An environment variable of an app version (`envs[]`). With `is_secret`, Edgegap stores the
/// value encrypted, and `Debug` prints `***` for it (answers that say `is_hidden` count too).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppVersionEnv {
    /// Name.
    pub key: String,
    /// Value (at most 4 KiB).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(serialize_with = "plain_or_empty")]
    pub value: Option<String>,
    /// Stored encrypted; never shown in `Debug`.
    #[serde(
        default,
        alias = "is_hidden",
        deserialize_with = "lenient::bool_or_false"
    )]
    pub is_secret: bool,
}

fn plain_or_empty<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_deref().unwrap_or_default())
}

impl AppVersionEnv {
    /// A plain variable.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: Some(value.into()),
            is_secret: false,
        }
    }

    /// A secret variable: stored encrypted by Edgegap, `***` in `Debug`.
    pub fn secret(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            is_secret: true,
            ..Self::new(key, value)
        }
    }
}

impl fmt::Debug for AppVersionEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = match (&self.value, self.is_secret) {
            (Some(_), true) => &"***",
            (value, _) => value,
        };
        f.debug_struct("AppVersionEnv")
            .field("key", &self.key)
            .field("value", value)
            .field("is_secret", &self.is_secret)
            .finish()
    }
}

/// What Edgegap does when a deployment's server process exits (`restart_policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RestartPolicy {
    /// `always` (Edgegap's default): start the process again.
    Always,
    /// `never`: the deployment stops when the process exits.
    Never,
    /// `on_failure`: start it again only after a non-zero exit.
    OnFailure,
    /// A value this crate does not know.
    Other(String),
}

impl From<String> for RestartPolicy {
    fn from(value: String) -> Self {
        match value.as_str() {
            "always" => Self::Always,
            "never" => Self::Never,
            "on_failure" => Self::OnFailure,
            _ => Self::Other(value),
        }
    }
}

impl From<RestartPolicy> for String {
    fn from(value: RestartPolicy) -> Self {
        match value {
            RestartPolicy::Always => "always".into(),
            RestartPolicy::Never => "never".into(),
            RestartPolicy::OnFailure => "on_failure".into(),
            RestartPolicy::Other(other) => other,
        }
    }
}

/// The optional settings a version is created or updated with. Unset ones are left out of the
/// body (Edgegap's defaults, or unchanged on update).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppVersionSettings {
    /// Whether it can be deployed (default true).
    pub is_active: Option<bool>,
    /// The registry user Edgegap pulls with (not your Edgegap credentials).
    pub private_username: Option<String>,
    /// That user's token. Never shown.
    pub private_token: Option<Secret>,
    /// Check at once that Edgegap can pull the image (`424` when it cannot).
    pub verify_image: Option<bool>,
    /// Preload the image everywhere.
    pub force_cache: Option<bool>,
    /// Seconds the image download may take before the deployment is in ERROR (at least 15).
    pub time_to_deploy: Option<u32>,
    /// Minutes before Edgegap stops a deployment, -1 to 1440.
    pub max_duration: Option<i32>,
    /// What happens when the server process exits.
    pub restart_policy: Option<RestartPolicy>,
    /// Seconds between SIGTERM and the end of the container, 5 to 3600.
    pub termination_grace_period_seconds: Option<u32>,
    /// The ports (exactly these; on update they replace the version's).
    pub ports: Option<Vec<AppVersionPort>>,
    /// The environment variables (exactly these; on update they replace the version's).
    pub envs: Option<Vec<AppVersionEnv>>,
}

impl AppVersionSettings {
    fn write(&self, body: &mut serde_json::Map<String, serde_json::Value>) {
        let mut put = |key: &str, value: serde_json::Value| {
            body.insert(key.to_owned(), value);
        };
        if let Some(v) = self.is_active {
            put("is_active", v.into());
        }
        if let Some(v) = &self.private_username {
            put("private_username", v.clone().into());
        }
        if let Some(v) = &self.private_token {
            put("private_token", v.expose().into());
        }
        if let Some(v) = self.verify_image {
            put("verify_image", v.into());
        }
        if let Some(v) = self.force_cache {
            put("force_cache", v.into());
        }
        if let Some(v) = self.time_to_deploy {
            put("time_to_deploy", v.into());
        }
        if let Some(v) = self.max_duration {
            put("max_duration", v.into());
        }
        if let Some(v) = &self.restart_policy {
            put("restart_policy", String::from(v.clone()).into());
        }
        if let Some(v) = self.termination_grace_period_seconds {
            put("termination_grace_period_seconds", v.into());
        }
        if let Some(ports) = &self.ports {
            put("ports", serde_json::to_value(ports).unwrap_or_default());
        }
        if let Some(envs) = &self.envs {
            put("envs", serde_json::to_value(envs).unwrap_or_default());
        }
    }

    fn validate(&self) -> Result<(), EdgegapError> {
        if let Some(seconds) = self.time_to_deploy
            && seconds < 15
        {
            return Err(EdgegapError::invalid(
                "time_to_deploy",
                format!("{seconds} is below Edgegap's minimum of 15 seconds"),
            ));
        }
        if let Some(minutes) = self.max_duration
            && !(-1..=1440).contains(&minutes)
        {
            return Err(EdgegapError::invalid(
                "max_duration",
                format!("{minutes} is outside -1..=1440 minutes"),
            ));
        }
        if let Some(seconds) = self.termination_grace_period_seconds
            && !(5..=3600).contains(&seconds)
        {
            return Err(EdgegapError::invalid(
                "termination_grace_period_seconds",
                format!("{seconds} is outside 5..=3600"),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, port) in self.ports.iter().flatten().enumerate() {
            port.validate(&format!("ports[{i}]"))?;
            if let Some(name) = &port.name
                && !names.insert(name.as_str())
            {
                return Err(EdgegapError::invalid(
                    format!("ports[{i}].name"),
                    format!("`{name}` names two ports"),
                ));
            }
        }
        for (i, env) in self.envs.iter().flatten().enumerate() {
            validate::env_var(
                &format!("envs[{i}]"),
                &env.key,
                env.value.as_deref().unwrap_or_default(),
            )?;
        }
        Ok(())
    }

    /// The values an answer may echo and an error must not show.
    fn secrets(&self) -> Vec<&str> {
        let mut secrets: Vec<&str> = self.private_token.iter().map(Secret::expose).collect();
        secrets.extend(
            self.envs
                .iter()
                .flatten()
                .filter(|e| e.is_secret)
                .filter_map(|e| e.value.as_deref()),
        );
        secrets.retain(|s| !s.trim().is_empty());
        secrets
    }
}

/// The builder methods of [`AppVersionSettings`], on the create and update requests.
macro_rules! settings_builders {
    ($ty:ty) => {
        impl $ty {
            /// Whether it can be deployed.
            #[must_use]
            pub fn is_active(mut self, active: bool) -> Self {
                self.settings.is_active = Some(active);
                self
            }

            /// The registry login Edgegap pulls the image with (`robot$…+pull`): not your
            /// Edgegap credentials. The token is never shown.
            #[must_use]
            pub fn private_registry(
                mut self,
                username: impl Into<String>,
                token: impl Into<Secret>,
            ) -> Self {
                self.settings.private_username = Some(username.into());
                self.settings.private_token = Some(token.into());
                self
            }

            /// Check at once that Edgegap can pull the image.
            #[must_use]
            pub fn verify_image(mut self, verify: bool) -> Self {
                self.settings.verify_image = Some(verify);
                self
            }

            /// Preload the image in every location.
            #[must_use]
            pub fn force_cache(mut self, force: bool) -> Self {
                self.settings.force_cache = Some(force);
                self
            }

            /// Seconds the image download may take (at least 15).
            #[must_use]
            pub fn time_to_deploy(mut self, seconds: u32) -> Self {
                self.settings.time_to_deploy = Some(seconds);
                self
            }

            /// Minutes before Edgegap stops a deployment (-1 to 1440).
            #[must_use]
            pub fn max_duration(mut self, minutes: i32) -> Self {
                self.settings.max_duration = Some(minutes);
                self
            }

            /// What happens when the server process exits.
            #[must_use]
            pub fn restart_policy(mut self, policy: RestartPolicy) -> Self {
                self.settings.restart_policy = Some(policy);
                self
            }

            /// Seconds between SIGTERM and the container's end (5 to 3600).
            #[must_use]
            pub fn termination_grace_period_seconds(mut self, seconds: u32) -> Self {
                self.settings.termination_grace_period_seconds = Some(seconds);
                self
            }

            /// Adds a port.
            #[must_use]
            pub fn port(mut self, port: AppVersionPort) -> Self {
                self.settings.ports.get_or_insert_default().push(port);
                self
            }

            /// Adds a plain environment variable.
            #[must_use]
            pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
                self.settings
                    .envs
                    .get_or_insert_default()
                    .push(AppVersionEnv::new(key, value));
                self
            }

            /// Adds a secret environment variable (`is_secret`, never shown).
            #[must_use]
            pub fn secret_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
                self.settings
                    .envs
                    .get_or_insert_default()
                    .push(AppVersionEnv::secret(key, value));
                self
            }
        }
    };
}

/// A `docker_tag`: non-empty, without whitespace, never `latest` (Edgegap: "avoid using
/// `latest` or overwriting tags"; a deployment must run the build it names).
fn check_docker_tag(tag: &str) -> Result<(), EdgegapError> {
    validate::non_empty("docker_tag", tag)?;
    if tag.eq_ignore_ascii_case("latest") {
        return Err(EdgegapError::invalid(
            "docker_tag",
            "must not be `latest`: tag every build (a version must name the image it runs)",
        ));
    }
    check_no_space("docker_tag", tag)
}

fn check_no_space(field: &str, value: &str) -> Result<(), EdgegapError> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EdgegapError::invalid(
            field,
            "must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

/// `docker_repository`: a registry host.
fn check_repository(repository: &str) -> Result<(), EdgegapError> {
    validate::non_empty("docker_repository", repository)?;
    check_no_space("docker_repository", repository)
}

/// `docker_image`: `<project>/<image>`, no host, no tag.
fn check_docker_image(image: &str) -> Result<(), EdgegapError> {
    validate::non_empty("docker_image", image)?;
    check_no_space("docker_image", image)?;
    if image.contains(':') || image.contains('@') {
        return Err(EdgegapError::invalid(
            "docker_image",
            "is `<project>/<image>`, without a tag or digest (the tag is `docker_tag`)",
        ));
    }
    Ok(())
}

/// Replaces every `secrets` value (and every JSON secret, see [`redact_secrets`]) in the body
/// and message an error keeps.
fn scrub(error: EdgegapError, secrets: &[&str]) -> EdgegapError {
    let clean = |text: &str| {
        let mut text = redact_secrets(text.as_bytes());
        for secret in secrets {
            text = text.replace(secret, "***");
        }
        text
    };
    match error {
        EdgegapError::Api {
            status,
            message,
            body,
            retry_after,
            request_id,
        } => EdgegapError::Api {
            status,
            message: clean(&message),
            body: clean(&body),
            retry_after,
            request_id,
        },
        EdgegapError::Decode {
            status,
            body,
            error,
        } => EdgegapError::Decode {
            status,
            body: clean(&body),
            error: clean(&error),
        },
        other => other,
    }
}

/// Decodes a JSON success; on failure, the error keeps the body with its secrets hidden.
fn decode_scrubbed<T: serde::de::DeserializeOwned>(
    response: &HttpResponse,
    secrets: &[&str],
) -> Result<T, EdgegapError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        scrub(
            EdgegapError::decode(response.status, &response.body, e),
            secrets,
        )
    })
}

/// [`Endpoint::decode`] for the version endpoints: errors never show a secret.
fn decode_version<E: Endpoint>(
    endpoint: &E,
    response: &HttpResponse,
    secrets: &[&str],
) -> Result<E::Output, EdgegapError> {
    if endpoint.is_success(response.status) {
        endpoint
            .decode_success(response)
            .map_err(|e| scrub(e, secrets))
    } else {
        Err(scrub(api_error(response), secrets))
    }
}

/// `POST /v1/app/{app_name}/version`: a new version. `409`: the name exists in this app;
/// `404`: no such app; `424`: `verify_image` and Edgegap cannot pull the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAppVersion {
    /// The application.
    pub app_name: String,
    /// The version's name (1 to 64 characters), often a date or a build id.
    pub name: String,
    /// The registry host (`registry.edgegap.com`); Edgegap's spec says the key "is named
    /// incorrectly".
    pub docker_repository: String,
    /// `<project>/<image>`, without host or tag.
    pub docker_image: String,
    /// The image tag; never `latest`.
    pub docker_tag: String,
    /// vCPU units (1024 = 1 vCPU), at least 100.
    pub req_cpu: u32,
    /// Memory in MB, at least 100 and at most twice `req_cpu`.
    pub req_memory: u32,
    /// GPU units (1024 = 1 GPU).
    pub req_video: Option<u32>,
    /// The optional settings.
    pub settings: AppVersionSettings,
}

impl CreateAppVersion {
    /// Version `name` of `app_name`, running `docker_repository`/`docker_image`:`docker_tag`
    /// with `req_cpu` vCPU units and `req_memory` MB.
    pub fn new(
        app_name: impl Into<String>,
        name: impl Into<String>,
        docker_repository: impl Into<String>,
        docker_image: impl Into<String>,
        docker_tag: impl Into<String>,
        req_cpu: u32,
        req_memory: u32,
    ) -> Self {
        Self {
            app_name: app_name.into(),
            name: name.into(),
            docker_repository: docker_repository.into(),
            docker_image: docker_image.into(),
            docker_tag: docker_tag.into(),
            req_cpu,
            req_memory,
            req_video: None,
            settings: AppVersionSettings::default(),
        }
    }

    /// GPU units (1024 = 1 GPU).
    #[must_use]
    pub fn req_video(mut self, units: u32) -> Self {
        self.req_video = Some(units);
        self
    }
}

settings_builders!(CreateAppVersion);

impl Endpoint for CreateAppVersion {
    type Output = AppVersionSaved;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Path(format!("{}/version", app_path(&self.app_name)))
    }
    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::Map::new();
        body.insert("name".into(), self.name.clone().into());
        body.insert(
            "docker_repository".into(),
            self.docker_repository.clone().into(),
        );
        body.insert("docker_image".into(), self.docker_image.clone().into());
        body.insert("docker_tag".into(), self.docker_tag.clone().into());
        body.insert("req_cpu".into(), self.req_cpu.into());
        body.insert("req_memory".into(), self.req_memory.into());
        if let Some(video) = self.req_video {
            body.insert("req_video".into(), video.into());
        }
        self.settings.write(&mut body);
        Some(serde_json::Value::Object(body))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_app_name("app_name", &self.app_name)?;
        check_version_name("name", &self.name)?;
        check_repository(&self.docker_repository)?;
        check_docker_image(&self.docker_image)?;
        check_docker_tag(&self.docker_tag)?;
        if self.req_cpu < MIN_REQ_CPU {
            return Err(EdgegapError::invalid(
                "req_cpu",
                format!(
                    "{} is below Edgegap's minimum of {MIN_REQ_CPU}",
                    self.req_cpu
                ),
            ));
        }
        if self.req_memory < MIN_REQ_CPU {
            return Err(EdgegapError::invalid(
                "req_memory",
                format!(
                    "{} MB is below Edgegap's minimum of {MIN_REQ_CPU}",
                    self.req_memory
                ),
            ));
        }
        if u64::from(self.req_memory) > 2 * u64::from(self.req_cpu) {
            return Err(EdgegapError::invalid(
                "req_memory",
                format!(
                    "{} MB is more than twice req_cpu ({}), Edgegap's limit",
                    self.req_memory, self.req_cpu
                ),
            ));
        }
        self.settings.validate()
    }
    fn decode(&self, response: &HttpResponse) -> Result<AppVersionSaved, EdgegapError> {
        decode_version(self, response, &self.settings.secrets())
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<AppVersionSaved, EdgegapError> {
        decode_scrubbed(response, &self.settings.secrets())
    }
}

/// `GET /v1/app/{app_name}/version/{version_name}`: one version (the bare `AppVersion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAppVersion {
    /// The application.
    pub app_name: String,
    /// The version.
    pub version_name: String,
}

impl GetAppVersion {
    /// Version `version_name` of `app_name`.
    pub fn new(app_name: impl Into<String>, version_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
            version_name: version_name.into(),
        }
    }
}

impl Endpoint for GetAppVersion {
    type Output = AppVersion;

    fn target(&self) -> Target {
        Target::Path(version_path(&self.app_name, &self.version_name))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)?;
        validate::non_empty("version_name", &self.version_name)
    }
    fn decode(&self, response: &HttpResponse) -> Result<AppVersion, EdgegapError> {
        decode_version(self, response, &[])
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<AppVersion, EdgegapError> {
        decode_scrubbed(response, &[])
    }
}

/// `PATCH /v1/app/{app_name}/version/{version_name}`: changes what is set; the way to point
/// an existing version at another image tag (`docker_tag`). Edgegap's update takes no
/// resources (`req_cpu`, `req_memory`): a version with other resources is a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateAppVersion {
    /// The application.
    pub app_name: String,
    /// The version's current name.
    pub version_name: String,
    /// A new name (1 to 64 characters).
    pub name: Option<String>,
    /// Another registry host.
    pub docker_repository: Option<String>,
    /// Another `<project>/<image>`.
    pub docker_image: Option<String>,
    /// Another tag; never `latest`.
    pub docker_tag: Option<String>,
    /// The optional settings.
    pub settings: AppVersionSettings,
}

impl UpdateAppVersion {
    /// A change to version `version_name` of `app_name`; set what changes with the builder
    /// methods.
    pub fn new(app_name: impl Into<String>, version_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
            version_name: version_name.into(),
            name: None,
            docker_repository: None,
            docker_image: None,
            docker_tag: None,
            settings: AppVersionSettings::default(),
        }
    }

    /// Renames the version.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Points the version at another image: registry host, `<project>/<image>` and tag.
    #[must_use]
    pub fn image(
        mut self,
        docker_repository: impl Into<String>,
        docker_image: impl Into<String>,
        docker_tag: impl Into<String>,
    ) -> Self {
        self.docker_repository = Some(docker_repository.into());
        self.docker_image = Some(docker_image.into());
        self.docker_tag = Some(docker_tag.into());
        self
    }

    /// Points the version at another tag of its image.
    #[must_use]
    pub fn docker_tag(mut self, tag: impl Into<String>) -> Self {
        self.docker_tag = Some(tag.into());
        self
    }
}

settings_builders!(UpdateAppVersion);

impl Endpoint for UpdateAppVersion {
    type Output = AppVersionSaved;

    fn method(&self) -> Method {
        Method::Patch
    }
    fn target(&self) -> Target {
        Target::Path(version_path(&self.app_name, &self.version_name))
    }
    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::Map::new();
        for (key, value) in [
            ("name", &self.name),
            ("docker_repository", &self.docker_repository),
            ("docker_image", &self.docker_image),
            ("docker_tag", &self.docker_tag),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), value.clone().into());
            }
        }
        self.settings.write(&mut body);
        Some(serde_json::Value::Object(body))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)?;
        validate::non_empty("version_name", &self.version_name)?;
        if let Some(name) = &self.name {
            check_version_name("name", name)?;
        }
        if let Some(repository) = &self.docker_repository {
            check_repository(repository)?;
        }
        if let Some(image) = &self.docker_image {
            check_docker_image(image)?;
        }
        if let Some(tag) = &self.docker_tag {
            check_docker_tag(tag)?;
        }
        self.settings.validate()
    }
    fn decode(&self, response: &HttpResponse) -> Result<AppVersionSaved, EdgegapError> {
        decode_version(self, response, &self.settings.secrets())
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<AppVersionSaved, EdgegapError> {
        decode_scrubbed(response, &self.settings.secrets())
    }
}

/// `DELETE /v1/app/{app_name}/version/{version_name}`: `{"success", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteAppVersion {
    /// The application.
    pub app_name: String,
    /// The version.
    pub version_name: String,
}

impl DeleteAppVersion {
    /// Deletes version `version_name` of `app_name`.
    pub fn new(app_name: impl Into<String>, version_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
            version_name: version_name.into(),
        }
    }
}

impl Endpoint for DeleteAppVersion {
    type Output = AppVersionDeleted;

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        Target::Path(version_path(&self.app_name, &self.version_name))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)?;
        validate::non_empty("version_name", &self.version_name)
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<AppVersionDeleted, EdgegapError> {
        // An empty body is a success too (the answer carries nothing the caller needs).
        if is_blank(response) {
            return Ok(AppVersionDeleted::default());
        }
        decode_scrubbed(response, &[])
    }
}

paged_list! {
    /// `GET /v1/app/{app_name}/versions`: an application's versions.
    pub struct ListAppVersions {
        /// The application.
        pub app_name: String,
    } -> AppVersionList;
    path: versions_path;
    check: |app_name: &str| validate::non_empty("app_name", app_name);

    fn decode(&self, response: &HttpResponse) -> Result<AppVersionList, EdgegapError> {
        decode_version(self, response, &[])
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<AppVersionList, EdgegapError> {
        decode_scrubbed(response, &[])
    }
}

/// An app version as Edgegap answers it (`AppVersion`). Only `name` is required here; the
/// keys the 2024 swagger had and the 2026 spec dropped (`session_config`, `probe`, …) are
/// ignored. `private_token` is a [`Secret`] (`***` in `Debug`), as are secret `envs` values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppVersion {
    /// The version's name.
    pub name: String,
    /// Whether it can be deployed.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_active: Option<bool>,
    /// The registry host.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub docker_repository: Option<String>,
    /// `<project>/<image>`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub docker_image: Option<String>,
    /// The image tag.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub docker_tag: Option<String>,
    /// The registry user Edgegap pulls with.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub private_username: Option<String>,
    /// That user's token, echoed back by Edgegap in clear: held as a [`Secret`].
    #[serde(default, with = "secret_text")]
    pub private_token: Option<Secret>,
    /// vCPU units.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub req_cpu: Option<u64>,
    /// Memory, MB.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub req_memory: Option<u64>,
    /// GPU units.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub req_video: Option<u64>,
    /// Whether Edgegap checked it can pull the image.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub verify_image: Option<bool>,
    /// Whether the image is preloaded everywhere.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub force_cache: Option<bool>,
    /// How much of the world has the image cached, 0 to 1 (0.8 and more is good coverage).
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub caching_percent: Option<f64>,
    /// Seconds the image download may take.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub time_to_deploy: Option<u64>,
    /// Minutes before Edgegap stops a deployment.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub max_duration: Option<i64>,
    /// What happens when the server process exits.
    pub restart_policy: Option<RestartPolicy>,
    /// Seconds between SIGTERM and the container's end.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub termination_grace_period_seconds: Option<u64>,
    /// Ports.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub ports: Vec<AppVersionPort>,
    /// Environment variables (secret values as Edgegap answers them: often masked).
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub envs: Vec<AppVersionEnv>,
    /// When it was created (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub create_time: Option<String>,
    /// When it was last changed.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub last_updated: Option<String>,
}

impl AppVersion {
    /// The port named `name`.
    pub fn port(&self, name: &str) -> Option<&AppVersionPort> {
        self.ports.iter().find(|p| p.name.as_deref() == Some(name))
    }
}

/// `private_token` as text on the wire, a [`Secret`] in memory.
mod secret_text {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Secret>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(secret) => s.serialize_some(secret.expose()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        lenient::opt_string(d).map(|text| text.map(Secret::new))
    }
}

/// The answer of a create or an update: `{"success", "version"}` (`version` may be absent
/// from an update's answer).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AppVersionSaved {
    /// Whether it was saved.
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub success: Option<bool>,
    /// The version as saved.
    pub version: Option<AppVersion>,
}

/// The answer of [`DeleteAppVersion`]: `{"success", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AppVersionDeleted {
    /// Whether it was deleted.
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub success: Option<bool>,
    /// Edgegap's message.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
}

list_answer! {
    /// The answer of [`ListAppVersions`]: `versions`, `total_count`, `pagination`.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    pub struct AppVersionList {
        /// This page's versions.
        pub versions: Vec<AppVersion>,
    }
}
