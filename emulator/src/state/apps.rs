//! Applications and app versions: those the builder (or config file) declared, and those made
//! through the API (`/v1/app…`). Deploys read versions from here; what the API answers for a
//! version is its [`VersionFields`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::config::{AppVersion, ImageSource, PortSpec, VersionKind};
use crate::util::{EnvVars, Hidden};

/// An application.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub name: String,
    pub is_active: bool,
    /// Its logo (base64), as given.
    pub image: String,
    pub created: SystemTime,
    pub updated: SystemTime,
}

/// A port of a version, as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct PortFields {
    pub port: i64,
    pub protocol: String,
    pub to_check: Option<bool>,
    pub tls_upgrade: Option<bool>,
    pub name: Option<String>,
}

/// An environment variable of a version, as the API takes it (`is_secret`; `is_hidden` read
/// as the same). Its `Debug` never shows a secret value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct EnvFields {
    pub key: String,
    pub value: String,
    #[serde(default, alias = "is_hidden")]
    pub is_secret: Option<bool>,
}

impl EnvFields {
    pub(crate) fn secret(&self) -> bool {
        self.is_secret == Some(true)
    }
}

impl std::fmt::Debug for EnvFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret() { "***" } else { &self.value };
        f.debug_struct("EnvFields")
            .field("key", &self.key)
            .field("value", &value)
            .finish()
    }
}

/// The fields of an app version as the API takes and answers them: a create's body, a
/// patch's (only what changes), or a version's stored state (every key a create requires
/// set). `null` is absent. Unknown keys (the 2024 swagger's `session_config`, …) are ignored.
/// Its `Debug` never shows `private_token` or a secret variable's value.
#[derive(Clone, Default, Deserialize)]
pub(crate) struct VersionFields {
    pub name: Option<String>,
    pub is_active: Option<bool>,
    pub docker_repository: Option<String>,
    pub docker_image: Option<String>,
    pub docker_tag: Option<String>,
    pub private_username: Option<String>,
    pub private_token: Option<String>,
    pub req_cpu: Option<i64>,
    pub req_memory: Option<i64>,
    pub req_video: Option<i64>,
    pub verify_image: Option<bool>,
    pub force_cache: Option<bool>,
    pub time_to_deploy: Option<i64>,
    pub max_duration: Option<i64>,
    pub restart_policy: Option<String>,
    pub termination_grace_period_seconds: Option<i64>,
    pub ports: Option<Vec<PortFields>>,
    pub envs: Option<Vec<EnvFields>>,
}

impl std::fmt::Debug for VersionFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionFields")
            .field("name", &self.name)
            .field("docker_repository", &self.docker_repository)
            .field("docker_image", &self.docker_image)
            .field("docker_tag", &self.docker_tag)
            .field("private_username", &self.private_username)
            .field("private_token", &self.private_token.as_ref().map(|_| "***"))
            .field("envs", &self.envs)
            .finish_non_exhaustive()
    }
}

impl VersionFields {
    /// `self` with every key `patch` sets replaced.
    pub(crate) fn merged(&self, patch: &VersionFields) -> VersionFields {
        fn pick<T: Clone>(new: &Option<T>, old: &Option<T>) -> Option<T> {
            new.clone().or_else(|| old.clone())
        }
        VersionFields {
            name: pick(&patch.name, &self.name),
            is_active: pick(&patch.is_active, &self.is_active),
            docker_repository: pick(&patch.docker_repository, &self.docker_repository),
            docker_image: pick(&patch.docker_image, &self.docker_image),
            docker_tag: pick(&patch.docker_tag, &self.docker_tag),
            private_username: pick(&patch.private_username, &self.private_username),
            private_token: pick(&patch.private_token, &self.private_token),
            req_cpu: pick(&patch.req_cpu, &self.req_cpu),
            req_memory: pick(&patch.req_memory, &self.req_memory),
            req_video: pick(&patch.req_video, &self.req_video),
            verify_image: pick(&patch.verify_image, &self.verify_image),
            force_cache: pick(&patch.force_cache, &self.force_cache),
            time_to_deploy: pick(&patch.time_to_deploy, &self.time_to_deploy),
            max_duration: pick(&patch.max_duration, &self.max_duration),
            restart_policy: pick(&patch.restart_policy, &self.restart_policy),
            termination_grace_period_seconds: pick(
                &patch.termination_grace_period_seconds,
                &self.termination_grace_period_seconds,
            ),
            ports: pick(&patch.ports, &self.ports),
            envs: pick(&patch.envs, &self.envs),
        }
    }

    /// The image a version of these fields runs, when its registry is one the emulator can
    /// reach: a loopback host with a port, over plain HTTP. `None` otherwise (it runs
    /// simulated).
    pub(crate) fn image_source(&self) -> Option<ImageSource> {
        let host = self.docker_repository.as_deref()?.trim();
        let host = host.strip_prefix("http://").unwrap_or(host);
        if !crate::image::is_loopback_registry(host) {
            return None;
        }
        Some(ImageSource {
            host: host.trim_end_matches('/').to_owned(),
            repository: self.docker_image.clone()?,
            tag: self.docker_tag.clone()?,
            user: self.private_username.clone().filter(|u| !u.is_empty()),
            token: self
                .private_token
                .clone()
                .filter(|t| !t.is_empty())
                .map(Hidden),
        })
    }

    /// What a deploy of version `name` of `app` runs, from these (complete) fields.
    pub(crate) fn runtime(&self, app: &str) -> AppVersion {
        let kind = match self.image_source() {
            Some(source) => VersionKind::Image(source),
            None => VersionKind::Simulated,
        };
        let mut version = AppVersion::from_api(app, self.name.clone().unwrap_or_default(), kind);
        version.ports = self
            .ports
            .iter()
            .flatten()
            .map(|p| PortSpec {
                name: p.name.clone().unwrap_or_else(|| format!("port-{}", p.port)),
                internal: u16::try_from(p.port).unwrap_or(0),
                protocol: p.protocol.clone(),
            })
            .collect();
        version.env = EnvVars(
            self.envs
                .iter()
                .flatten()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect(),
        );
        let seconds = |value: Option<i64>, default: u64| {
            Duration::from_secs(value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default))
        };
        version.grace = seconds(self.termination_grace_period_seconds, 5);
        version.pull_timeout = seconds(self.time_to_deploy, 120);
        version.max_duration = self.max_duration.unwrap_or(1440);
        let units = |value: Option<i64>, default: u64| {
            value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default)
        };
        version.resources = (units(self.req_cpu, 256), units(self.req_memory, 512));
        version
    }

    /// The fields the API shows for a version declared to the builder (no image: the
    /// emulator's own placeholders for the registry).
    fn of_declared(version: &AppVersion) -> VersionFields {
        VersionFields {
            name: Some(version.version.clone()),
            is_active: Some(true),
            docker_repository: Some("emulator.local".into()),
            docker_image: Some(version.app.clone()),
            docker_tag: Some(version.version.clone()),
            req_cpu: i64::try_from(version.resources.0).ok(),
            req_memory: i64::try_from(version.resources.1).ok(),
            max_duration: Some(version.max_duration),
            termination_grace_period_seconds: i64::try_from(version.grace.as_secs()).ok(),
            ports: Some(
                version
                    .ports
                    .iter()
                    .map(|p| PortFields {
                        port: i64::from(p.internal),
                        protocol: p.protocol.clone(),
                        to_check: Some(false),
                        tls_upgrade: Some(false),
                        name: Some(p.name.clone()),
                    })
                    .collect(),
            ),
            envs: Some(
                version
                    .env
                    .0
                    .iter()
                    .map(|(key, value)| EnvFields {
                        key: key.clone(),
                        value: value.clone(),
                        is_secret: Some(false),
                    })
                    .collect(),
            ),
            ..VersionFields::default()
        }
    }
}

/// One version of an application.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub app: String,
    pub fields: VersionFields,
    /// What deploys of it run (rebuilt on every update; running deployments keep theirs).
    pub runtime: Arc<AppVersion>,
    pub created: SystemTime,
    pub updated: SystemTime,
}

impl Version {
    pub(crate) fn name(&self) -> &str {
        &self.runtime.version
    }

    fn deployable(&self) -> bool {
        self.fields.is_active != Some(false)
    }
}

/// Every application and version, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub apps: Vec<App>,
    pub versions: Vec<Version>,
    /// `(app, version)` pairs a matchmaker profile deploys: they cannot be deleted or renamed
    /// (Edgegap refuses to delete a version a matchmaker references).
    pub pinned: BTreeSet<(String, String)>,
}

impl Catalog {
    /// The builder's versions, each app created with its first version.
    pub(crate) fn declared(versions: &[AppVersion], now: SystemTime) -> Self {
        let mut catalog = Self::default();
        for version in versions {
            if catalog.app(&version.app).is_none() {
                catalog.apps.push(App {
                    name: version.app.clone(),
                    is_active: true,
                    image: String::new(),
                    created: now,
                    updated: now,
                });
            }
            catalog.versions.push(Version {
                app: version.app.clone(),
                fields: VersionFields::of_declared(version),
                runtime: Arc::new(version.clone()),
                created: now,
                updated: now,
            });
        }
        catalog
    }

    pub(crate) fn app(&self, name: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.name == name)
    }

    pub(crate) fn app_mut(&mut self, name: &str) -> Option<&mut App> {
        self.apps.iter_mut().find(|a| a.name == name)
    }

    pub(crate) fn version(&self, app: &str, name: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.app == app && v.name() == name)
    }

    pub(crate) fn version_mut(&mut self, app: &str, name: &str) -> Option<&mut Version> {
        self.versions
            .iter_mut()
            .find(|v| v.app == app && v.name() == name)
    }

    /// The versions of `app`, in creation order.
    pub(crate) fn versions_of<'a>(&'a self, app: &'a str) -> impl Iterator<Item = &'a Version> {
        self.versions.iter().filter(move |v| v.app == app)
    }

    /// Whether `app` has a version a matchmaker deploys (`version`: that one only).
    pub(crate) fn is_pinned(&self, app: &str, version: Option<&str>) -> bool {
        self.pinned
            .iter()
            .any(|(a, v)| a == app && version.is_none_or(|name| name == v))
    }

    fn app_active(&self, app: &str) -> bool {
        self.app(app).is_some_and(|a| a.is_active)
    }

    /// A version deploys may name: it exists, and neither it nor its app is inactive.
    pub(crate) fn deployable(&self, app: &str, version: &str) -> Option<Arc<AppVersion>> {
        self.version(app, version)
            .filter(|v| v.deployable() && self.app_active(app))
            .map(|v| Arc::clone(&v.runtime))
    }

    /// The last deployable version of `app` (a v1 deploy without `version_name`).
    pub(crate) fn latest_deployable(&self, app: &str) -> Option<Arc<AppVersion>> {
        if !self.app_active(app) {
            return None;
        }
        self.versions_of(app)
            .filter(|v| v.deployable())
            .last()
            .map(|v| Arc::clone(&v.runtime))
    }
}
