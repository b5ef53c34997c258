//! The application and its version: what `release` makes on Edgegap once the image is
//! pushed, from `[package.metadata.edgegap]` and the flags.
//!
//! [`check`] runs before the build: it reads the app and the version, and decides what to do
//! ([`Action`]): create the version; keep it when it already names this image with these
//! settings; refuse one that differs ([`Error::VersionExists`]) unless `--force`, which updates
//! it (Edgegap's update takes no resources: other `cpu`/`memory` need a new version, said
//! before building). [`VersionPlan::make_app`] and [`VersionPlan::make_version`] run after
//! the push: the app if missing, then the version. Nothing is made before the image is in the
//! registry, so a failed push leaves no version naming a missing image.

use bevy_edgegap::api::{
    AppVersion, AppVersionPort, CreateApp, CreateAppVersion, GetApp, GetAppVersion, Secret,
    UpdateAppVersion,
};
use serde::Serialize;

use crate::deployments::Api;
use crate::env::RegistryTarget;
use crate::error::Error;
use crate::metadata::ReleaseSettings;
use crate::output::Output;

/// Seconds Edgegap may spend pulling the image before the deployment is in ERROR (what
/// Edgegap's Unreal plugin sends).
pub const TIME_TO_DEPLOY: u32 = 120;

/// What [`VersionPlan::make_version`] will do with the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create it (it does not exist).
    Create,
    /// Leave it: it names this image, with these settings.
    Keep,
    /// Update it (`--force`).
    Update,
}

impl Action {
    /// `created`, `unchanged`, `updated`.
    pub fn done(self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Keep => "unchanged",
            Self::Update => "updated",
        }
    }
}

/// What was made on Edgegap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionMade {
    /// The application was created by this release.
    pub app_created: bool,
    /// What happened to the version: `created`, `unchanged` or `updated`.
    pub version_action: &'static str,
}

/// The app version a release makes, checked against Edgegap.
#[derive(Debug)]
pub struct VersionPlan {
    /// The version as it will be created (its `Debug` hides the secrets).
    pub request: CreateAppVersion,
    /// Whether the application exists already.
    pub app_exists: bool,
    /// What will be done.
    pub action: Action,
}

/// The version `release` makes: the image `<host>/<project>/<image>:<tag>` of `target`, the
/// settings, and `secrets` (the values of `secret_envs`, read from the environment). Pulled
/// with the registry credentials the image is pushed with, checked by Edgegap at once
/// (`verify_image`).
pub fn request(
    settings: &ReleaseSettings,
    target: &RegistryTarget,
    tag: &str,
    secrets: &[(String, Secret)],
) -> CreateAppVersion {
    let mut request = CreateAppVersion::new(
        &settings.app,
        tag,
        &target.host,
        format!("{}/{}", target.project, settings.image),
        tag,
        settings.cpu,
        settings.memory,
    )
    .verify_image(true)
    .time_to_deploy(TIME_TO_DEPLOY);
    if let Some(minutes) = settings.max_duration {
        request = request.max_duration(minutes);
    }
    if let Some(credentials) = &target.credentials {
        request = request.private_registry(&credentials.user, credentials.token.clone());
    }
    for port in &settings.ports {
        let mut wanted = AppVersionPort::new(&port.name, port.port, &port.protocol);
        wanted.to_check = port.to_check;
        wanted.tls_upgrade = port.tls_upgrade;
        request = request.port(wanted);
    }
    for (key, value) in &settings.envs {
        request = request.env(key, value);
    }
    for (key, value) in secrets {
        request = request.secret_env(key, value.expose());
    }
    request
}

/// What differs between `existing` and `wanted` (keys as Edgegap names them). Secret values
/// are not compared (Edgegap does not show them); the registry token neither.
pub fn differences(existing: &AppVersion, wanted: &CreateAppVersion) -> Vec<&'static str> {
    let mut differ = Vec::new();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    for (key, have, want) in [
        (
            "docker_repository",
            text(&existing.docker_repository),
            wanted.docker_repository.clone(),
        ),
        (
            "docker_image",
            text(&existing.docker_image),
            wanted.docker_image.clone(),
        ),
        (
            "docker_tag",
            text(&existing.docker_tag),
            wanted.docker_tag.clone(),
        ),
        (
            "private_username",
            text(&existing.private_username),
            text(&wanted.settings.private_username),
        ),
    ] {
        if have != want {
            differ.push(key);
        }
    }
    if existing.req_cpu != Some(u64::from(wanted.req_cpu)) {
        differ.push("req_cpu");
    }
    if existing.req_memory != Some(u64::from(wanted.req_memory)) {
        differ.push("req_memory");
    }
    if let Some(minutes) = wanted.settings.max_duration
        && existing.max_duration != Some(i64::from(minutes))
    {
        differ.push("max_duration");
    }
    let ports = |ports: &[AppVersionPort]| {
        let mut keys: Vec<(Option<String>, u16, String)> = ports
            .iter()
            .map(|p| (p.name.clone(), p.port, p.protocol.clone()))
            .collect();
        keys.sort();
        keys
    };
    if ports(&existing.ports) != ports(wanted.settings.ports.as_deref().unwrap_or_default()) {
        differ.push("ports");
    }
    let envs = |envs: Vec<(String, bool, Option<String>)>| {
        let mut envs: Vec<_> = envs
            .into_iter()
            .map(|(key, secret, value)| (key, secret, value.filter(|_| !secret)))
            .collect();
        envs.sort();
        envs
    };
    let have = envs(
        existing
            .envs
            .iter()
            .map(|e| (e.key.clone(), e.is_secret, e.value.clone()))
            .collect(),
    );
    let want = envs(
        wanted
            .settings
            .envs
            .iter()
            .flatten()
            .map(|e| (e.key.clone(), e.is_secret, e.value.clone()))
            .collect(),
    );
    if have != want {
        differ.push("envs");
    }
    differ
}

/// Reads the application and the version on Edgegap and decides what to do (before the
/// build: a refusal costs nothing).
pub async fn check(
    api: &Api,
    request: CreateAppVersion,
    force: bool,
    out: &Output,
) -> Result<VersionPlan, Error> {
    let app = request.app_name.clone();
    let name = request.name.clone();
    let app_exists = match api.call(&GetApp::new(&app)).await {
        Ok(_) => true,
        Err(error) if error.is_not_found() => false,
        Err(error) => return Err(error.into()),
    };
    let existing = if app_exists {
        match api.call(&GetAppVersion::new(&app, &name)).await {
            Ok(version) => Some(version),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(error.into()),
        }
    } else {
        out.step(&format!(
            "application `{app}` does not exist: it is created after the push"
        ));
        None
    };
    let action = match existing {
        None => Action::Create,
        Some(existing) => {
            let differ = differences(&existing, &request);
            if differ.is_empty() && !force {
                out.step(&format!(
                    "version `{name}` of `{app}` exists with these settings: kept as is"
                ));
                Action::Keep
            } else if !force {
                return Err(Error::VersionExists {
                    app,
                    version: name,
                    differences: differ.join(", "),
                });
            } else if differ.iter().any(|d| d.starts_with("req_")) {
                return Err(Error::Usage(format!(
                    "version `{name}` of `{app}` exists with other resources (cpu {} / memory {}, asked {} / {}): Edgegap's update cannot change them; pass --version NAME for a new version",
                    existing.req_cpu.map_or("?".into(), |c| c.to_string()),
                    existing.req_memory.map_or("?".into(), |m| m.to_string()),
                    request.req_cpu,
                    request.req_memory
                )));
            } else {
                out.step(&format!(
                    "version `{name}` of `{app}` exists: it is updated after the push (--force)"
                ));
                Action::Update
            }
        }
    };
    Ok(VersionPlan {
        request,
        app_exists,
        action,
    })
}

impl VersionPlan {
    /// Creates the application when it is missing (called once the image is pushed); whether
    /// this call created it.
    pub async fn make_app(&self, api: &Api, out: &Output) -> Result<bool, Error> {
        if self.app_exists {
            return Ok(false);
        }
        let app = &self.request.app_name;
        match api.call(&CreateApp::new(app)).await {
            Ok(_) => {
                out.step(&format!("application `{app}` created"));
                Ok(true)
            }
            // Made meanwhile by someone else: what was needed.
            Err(error) if error.status() == Some(409) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Creates, updates or keeps the version (after [`VersionPlan::make_app`]); what was done
    /// ([`Action::done`]).
    pub async fn make_version(&self, api: &Api) -> Result<&'static str, Error> {
        let request = &self.request;
        match self.action {
            Action::Keep => {}
            Action::Create => match api.call(request).await {
                Ok(_) => {}
                Err(error) if error.status() == Some(409) => {
                    return Err(Error::VersionExists {
                        app: request.app_name.clone(),
                        version: request.name.clone(),
                        differences: "made by someone else since this release began".into(),
                    });
                }
                Err(error) => return Err(error.into()),
            },
            Action::Update => {
                api.call(&update(request)).await?;
            }
        }
        Ok(self.action.done())
    }
}

/// The update that makes the existing version what `request` describes (all but the
/// resources, which Edgegap's update does not take).
fn update(request: &CreateAppVersion) -> UpdateAppVersion {
    let mut update = UpdateAppVersion::new(&request.app_name, &request.name).image(
        &request.docker_repository,
        &request.docker_image,
        &request.docker_tag,
    );
    update.settings = request.settings.clone();
    if update.settings.ports.is_none() {
        update.settings.ports = Some(Vec::new());
    }
    if update.settings.envs.is_none() {
        update.settings.envs = Some(Vec::new());
    }
    update
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bevy_edgegap::api::AppVersionEnv;

    use super::*;
    use crate::env::Credentials;
    use crate::metadata::PortSpec;

    fn settings() -> ReleaseSettings {
        ReleaseSettings {
            app: "My Arena".into(),
            image: "my-arena".into(),
            base: None,
            cpu: 512,
            memory: 1024,
            max_duration: Some(30),
            ports: vec![PortSpec {
                name: "gameport".into(),
                port: 7777,
                protocol: "UDP".into(),
                to_check: Some(false),
                tls_upgrade: None,
            }],
            envs: BTreeMap::from([("MAP".into(), "forest".into())]),
            secret_envs: vec!["STEAM_KEY".into()],
        }
    }

    fn target() -> RegistryTarget {
        RegistryTarget {
            host: "registry.edgegap.com".into(),
            project: "my-org".into(),
            credentials: Some(Credentials {
                user: "robot$my-org+push".into(),
                token: Secret::new("push-SECRET-1"),
            }),
        }
    }

    fn wanted() -> CreateAppVersion {
        request(
            &settings(),
            &target(),
            "2026.12.06-ab46988",
            &[("STEAM_KEY".into(), Secret::new("steam-SECRET-2"))],
        )
    }

    #[test]
    fn the_version_is_made_from_the_settings_and_the_image() {
        let request = wanted();
        assert_eq!(request.app_name, "My Arena");
        assert_eq!(request.name, "2026.12.06-ab46988");
        assert_eq!(request.docker_repository, "registry.edgegap.com");
        assert_eq!(request.docker_image, "my-org/my-arena");
        assert_eq!(request.docker_tag, "2026.12.06-ab46988");
        assert_eq!((request.req_cpu, request.req_memory), (512, 1024));
        let body = bevy_edgegap::api::Endpoint::body(&request).expect("a body");
        assert_eq!(body["private_username"], "robot$my-org+push");
        assert_eq!(body["verify_image"], true);
        assert_eq!(body["time_to_deploy"], 120);
        assert_eq!(body["max_duration"], 30);
        assert_eq!(
            body["ports"],
            serde_json::json!([{"port": 7777, "protocol": "UDP", "to_check": false, "name": "gameport"}])
        );
        assert_eq!(body["envs"][1]["is_secret"], true);
        let debug = format!("{request:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
    }

    #[test]
    fn an_existing_version_is_compared_key_by_key() {
        let request = wanted();
        let same = AppVersion {
            name: request.name.clone(),
            docker_repository: Some("registry.edgegap.com".into()),
            docker_image: Some("my-org/my-arena".into()),
            docker_tag: Some("2026.12.06-ab46988".into()),
            private_username: Some("robot$my-org+push".into()),
            req_cpu: Some(512),
            req_memory: Some(1024),
            max_duration: Some(30),
            ports: vec![AppVersionPort::new("gameport", 7777, "UDP").to_check(false)],
            envs: vec![
                AppVersionEnv::new("MAP", "forest"),
                // Edgegap answers a secret masked: not compared.
                AppVersionEnv::secret("STEAM_KEY", "********"),
            ],
            ..AppVersion::default()
        };
        assert_eq!(differences(&same, &request), Vec::<&str>::new());
        let other = AppVersion {
            docker_tag: Some("older".into()),
            req_cpu: Some(256),
            envs: vec![AppVersionEnv::new("MAP", "desert")],
            ports: Vec::new(),
            ..same
        };
        assert_eq!(
            differences(&other, &request),
            ["docker_tag", "req_cpu", "ports", "envs"]
        );
    }

    #[test]
    fn an_update_replaces_everything_but_the_resources() {
        let update = update(&wanted());
        let body = bevy_edgegap::api::Endpoint::body(&update).expect("a body");
        assert_eq!(body["docker_tag"], "2026.12.06-ab46988");
        assert!(body.get("req_cpu").is_none());
        assert_eq!(body["envs"].as_array().map(Vec::len), Some(2));
    }
}
