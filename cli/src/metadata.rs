//! `[package.metadata.edgegap]`: what a server package says about how it runs on Edgegap.
//! Flags override it. Every key is optional.
//!
//! ```toml
//! [package.metadata.edgegap]
//! app = "my-game"                  # Edgegap application (default: the package name)
//! image = "my-game"                # image name under the project (default: `app`, lower-case)
//! base = "gcr.io/distroless/cc-debian12"   # base image, or "none" (default shown; --base)
//! cpu = 256                        # vCPU units, 1024 = 1 vCPU, at least 100 (default 256)
//! memory = 512                     # MB, at least 100 and at most twice `cpu` (default 512)
//! max_duration = 60                # minutes before Edgegap stops a deployment, -1..=1440
//!                                  # (default: Edgegap's, 1440)
//! ports = [
//!   { name = "gameport", port = 7777, protocol = "UDP" },   # also `to_check`, `tls_upgrade`
//! ]
//! envs = { MAP = "forest" }        # plain variables of every deployment
//! secret_envs = ["STEAM_KEY"]      # read from this environment at release, stored encrypted
//! ```
//!
//! The image uses `ports` (its exposed ports). `app` and `image` name the image. The other
//! keys describe the app version: they are read and checked now, so a mistake fails before a
//! build, and the version is made from them once `release` creates versions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::env::is_repository_path;
use crate::error::Error;

/// The default vCPU units of a version (a quarter vCPU, as Edgegap's Unreal plugin).
pub const DEFAULT_CPU: u32 = 256;
/// The default memory of a version, MB.
pub const DEFAULT_MEMORY: u32 = 512;

/// `[package.metadata.edgegap]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EdgegapMetadata {
    /// Edgegap application name.
    #[serde(default)]
    pub app: Option<String>,
    /// Image name under the registry project.
    #[serde(default)]
    pub image: Option<String>,
    /// Base image reference, or `none`.
    #[serde(default)]
    pub base: Option<String>,
    /// vCPU units (1024 = 1 vCPU).
    #[serde(default)]
    pub cpu: Option<u32>,
    /// Memory, MB.
    #[serde(default)]
    pub memory: Option<u32>,
    /// Minutes before Edgegap stops a deployment (-1..=1440).
    #[serde(default)]
    pub max_duration: Option<i32>,
    /// The ports the server listens on.
    #[serde(default)]
    pub ports: Vec<PortSpec>,
    /// Plain environment variables of every deployment.
    #[serde(default)]
    pub envs: BTreeMap<String, String>,
    /// Names of variables whose values are read from the environment at release time and
    /// stored by Edgegap as secrets; the values are never in `Cargo.toml`.
    #[serde(default)]
    pub secret_envs: Vec<String>,
}

/// One port of `ports`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// The name the server and clients look the port up by (`gameport`).
    pub name: String,
    /// The port the server listens on inside the container, 1..=59999.
    pub port: u16,
    /// `TCP`, `UDP`, `TCP/UDP`, `HTTP`, `HTTPS`, `WS` or `WSS`.
    pub protocol: String,
    /// Whether Edgegap checks that the port answers before READY (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_check: Option<bool>,
    /// Whether Edgegap terminates TLS in front of it (HTTP and WS only; default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_upgrade: Option<bool>,
}

/// The protocols Edgegap accepts for a port.
pub const PROTOCOLS: &[&str] = &["TCP", "UDP", "TCP/UDP", "HTTP", "HTTPS", "WS", "WSS"];

impl PortSpec {
    /// The image's `ExposedPorts` keys for this port (`7777/udp`; both for `TCP/UDP`).
    pub fn exposed(&self) -> Vec<String> {
        match self.protocol.as_str() {
            "UDP" => vec![format!("{}/udp", self.port)],
            "TCP/UDP" => vec![format!("{}/tcp", self.port), format!("{}/udp", self.port)],
            _ => vec![format!("{}/tcp", self.port)],
        }
    }
}

/// The settings a release works from: `[package.metadata.edgegap]` checked, with defaults
/// and flags applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseSettings {
    /// Edgegap application name.
    pub app: String,
    /// Image name under the registry project.
    pub image: String,
    /// Base image reference, `None` for `none`.
    pub base: Option<String>,
    /// vCPU units.
    pub cpu: u32,
    /// Memory, MB.
    pub memory: u32,
    /// Minutes before Edgegap stops a deployment; `None`: Edgegap's default.
    pub max_duration: Option<i32>,
    /// Ports.
    pub ports: Vec<PortSpec>,
    /// Plain environment variables.
    pub envs: BTreeMap<String, String>,
    /// Names of secret variables (values read at release time, never printed).
    pub secret_envs: Vec<String>,
}

/// The default base image: Google's distroless image with glibc and libgcc (what a Rust
/// binary links), Debian 12.
pub const DEFAULT_BASE: &str = "gcr.io/distroless/cc-debian12";

/// What flags say, over the metadata.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--app`.
    pub app: Option<String>,
    /// `--base`.
    pub base: Option<String>,
}

impl EdgegapMetadata {
    /// Reads `[package.metadata.edgegap]` out of a package's `metadata` table (absent: all
    /// defaults).
    pub fn from_package_metadata(metadata: &serde_json::Value) -> Result<Self, Error> {
        match metadata.get("edgegap") {
            None | Some(serde_json::Value::Null) => Ok(Self::default()),
            Some(table) => Self::deserialize(table).map_err(|e| {
                Error::Usage(format!("[package.metadata.edgegap] in Cargo.toml: {e}"))
            }),
        }
    }

    /// Checks every key and applies defaults and `overrides`. `package` is the package name
    /// (the default app).
    pub fn resolve(&self, package: &str, overrides: &Overrides) -> Result<ReleaseSettings, Error> {
        let bad = |key: &str, why: String| {
            Error::Usage(format!("[package.metadata.edgegap] `{key}`: {why}"))
        };
        let app = overrides
            .app
            .clone()
            .or_else(|| self.app.clone())
            .unwrap_or_else(|| package.to_owned());
        let app_len = app.chars().count();
        if !(3..=64).contains(&app_len) {
            return Err(bad(
                "app",
                format!("`{app}` must be 3 to 64 characters (Edgegap's rule); --app overrides"),
            ));
        }
        let image = self
            .image
            .clone()
            .unwrap_or_else(|| app.to_lowercase().replace(' ', "-"));
        if !is_repository_path(&image) || image.contains('/') {
            return Err(bad(
                "image",
                format!(
                    "`{image}` is not an image name (lower-case letters, digits, `.`, `_`, `-`): set `image`"
                ),
            ));
        }
        let base = match overrides.base.as_deref().or(self.base.as_deref()) {
            Some(b) if b.trim().eq_ignore_ascii_case("none") => None,
            Some(b) if b.trim().is_empty() => return Err(bad("base", "is empty".into())),
            Some(b) => Some(b.trim().to_owned()),
            None => Some(DEFAULT_BASE.to_owned()),
        };
        let cpu = self.cpu.unwrap_or(DEFAULT_CPU);
        if cpu < 100 {
            return Err(bad(
                "cpu",
                format!("{cpu} is below Edgegap's minimum of 100"),
            ));
        }
        let memory = self.memory.unwrap_or(DEFAULT_MEMORY);
        if memory < 100 {
            return Err(bad(
                "memory",
                format!("{memory} MB is below Edgegap's minimum of 100"),
            ));
        }
        if u64::from(memory) > 2 * u64::from(cpu) {
            return Err(bad(
                "memory",
                format!("{memory} MB is more than twice `cpu` ({cpu}), Edgegap's limit"),
            ));
        }
        if let Some(minutes) = self.max_duration
            && !(-1..=1440).contains(&minutes)
        {
            return Err(bad(
                "max_duration",
                format!("{minutes} is outside -1..=1440 minutes"),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for port in &self.ports {
            let key = format!("ports.{}", port.name);
            if port.name.trim().is_empty() {
                return Err(bad("ports", "a port has an empty `name`".into()));
            }
            if !names.insert(port.name.as_str()) {
                return Err(bad(&key, "two ports have this name".into()));
            }
            if !(1..=59999).contains(&port.port) {
                return Err(bad(
                    &key,
                    format!("port {} is outside 1..=59999", port.port),
                ));
            }
            if !PROTOCOLS.contains(&port.protocol.as_str()) {
                return Err(bad(
                    &key,
                    format!(
                        "protocol `{}` is not one of {}",
                        port.protocol,
                        PROTOCOLS.join(", ")
                    ),
                ));
            }
            if port.tls_upgrade == Some(true) && !matches!(port.protocol.as_str(), "HTTP" | "WS") {
                return Err(bad(
                    &key,
                    "tls_upgrade is for HTTP and WS ports only".into(),
                ));
            }
        }
        for key in self.envs.keys().chain(&self.secret_envs) {
            if !is_env_name(key) {
                return Err(bad(
                    "envs",
                    format!("`{key}` is not a variable name (letters, digits, `_`)"),
                ));
            }
        }
        if let Some(both) = self.secret_envs.iter().find(|k| self.envs.contains_key(*k)) {
            return Err(bad(
                "secret_envs",
                format!("`{both}` is also in `envs`: a variable is plain or secret"),
            ));
        }
        Ok(ReleaseSettings {
            app,
            image,
            base,
            cpu,
            memory,
            max_duration: self.max_duration,
            ports: self.ports.clone(),
            envs: self.envs.clone(),
            secret_envs: self.secret_envs.clone(),
        })
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_json: serde_json::Value) -> Result<ReleaseSettings, Error> {
        EdgegapMetadata::from_package_metadata(&serde_json::json!({ "edgegap": toml_json }))?
            .resolve("my_game", &Overrides::default())
    }

    #[test]
    fn every_key_is_read() {
        let settings = parse(serde_json::json!({
            "app": "My Game",
            "base": "none",
            "cpu": 512,
            "memory": 1024,
            "max_duration": 60,
            "ports": [
                {"name": "gameport", "port": 7777, "protocol": "UDP"},
                {"name": "web", "port": 8080, "protocol": "HTTP", "to_check": false, "tls_upgrade": true}
            ],
            "envs": {"MAP": "forest"},
            "secret_envs": ["STEAM_KEY"]
        }))
        .unwrap();
        assert_eq!(settings.app, "My Game");
        assert_eq!(settings.image, "my-game");
        assert_eq!(settings.base, None);
        assert_eq!((settings.cpu, settings.memory), (512, 1024));
        assert_eq!(settings.max_duration, Some(60));
        assert_eq!(settings.ports[0].exposed(), vec!["7777/udp"]);
        assert_eq!(settings.ports[1].exposed(), vec!["8080/tcp"]);
        assert_eq!(settings.envs["MAP"], "forest");
        assert_eq!(settings.secret_envs, vec!["STEAM_KEY"]);
    }

    #[test]
    fn defaults_without_a_table() {
        let settings = EdgegapMetadata::from_package_metadata(&serde_json::Value::Null)
            .unwrap()
            .resolve("my_game", &Overrides::default())
            .unwrap();
        assert_eq!(settings.app, "my_game");
        assert_eq!(settings.image, "my_game");
        assert_eq!(settings.base.as_deref(), Some(DEFAULT_BASE));
        assert_eq!((settings.cpu, settings.memory), (256, 512));
        let overridden = EdgegapMetadata::default()
            .resolve(
                "my_game",
                &Overrides {
                    app: Some("arena".into()),
                    base: Some("NONE".into()),
                },
            )
            .unwrap();
        assert_eq!((overridden.app.as_str(), overridden.base), ("arena", None));
    }

    #[test]
    fn mistakes_are_usage_errors_naming_the_key() {
        let cases = [
            (serde_json::json!({"cpus": 2}), "cpus"),
            (serde_json::json!({"cpu": 99}), "cpu"),
            (serde_json::json!({"memory": 99}), "memory"),
            (serde_json::json!({"cpu": 256, "memory": 513}), "memory"),
            (serde_json::json!({"max_duration": 1441}), "max_duration"),
            (serde_json::json!({"app": "ab"}), "app"),
            (serde_json::json!({"image": "Bad"}), "image"),
            (
                serde_json::json!({"ports": [{"name": "g", "port": 0, "protocol": "UDP"}]}),
                "ports.g",
            ),
            (
                serde_json::json!({"ports": [{"name": "g", "port": 1, "protocol": "udp"}]}),
                "ports.g",
            ),
            (
                serde_json::json!({"ports": [{"name": "g", "port": 1, "protocol": "UDP", "tls_upgrade": true}]}),
                "ports.g",
            ),
            (
                serde_json::json!({"ports": [{"name": "g", "port": 1, "protocol": "UDP"}, {"name": "g", "port": 2, "protocol": "TCP"}]}),
                "ports.g",
            ),
            (serde_json::json!({"envs": {"1X": "v"}}), "envs"),
            (
                serde_json::json!({"envs": {"K": "v"}, "secret_envs": ["K"]}),
                "secret_envs",
            ),
        ];
        for (table, key) in cases {
            let error = parse(table.clone()).expect_err(&table.to_string());
            assert!(matches!(error, Error::Usage(_)), "{table}");
            assert!(error.to_string().contains(key), "{table}: {error}");
        }
    }
}
