//! The environment the commands read: Edgegap's API (`EDGEGAP_TOKEN`, `EDGEGAP_BASE_URL`, as
//! the plugin reads them) and the registry (`EDGEGAP_REGISTRY`, `EDGEGAP_REGISTRY_PROJECT`,
//! `EDGEGAP_REGISTRY_USER`, `EDGEGAP_REGISTRY_TOKEN`). Secrets come only from here, never
//! from flags (they would show in `ps` and in shell history), and are held in [`Secret`].

use std::collections::HashMap;
use std::fmt;

use bevy_edgegap::api::Secret;

use crate::error::Error;

/// Edgegap's API token.
pub const EDGEGAP_TOKEN: &str = "EDGEGAP_TOKEN";
/// Edgegap's API base URL (default [`DEFAULT_BASE_URL`]).
pub const EDGEGAP_BASE_URL: &str = "EDGEGAP_BASE_URL";
/// The registry host, `host[:port]` (default [`DEFAULT_REGISTRY`]).
pub const EDGEGAP_REGISTRY: &str = "EDGEGAP_REGISTRY";
/// The registry project images are pushed under (`<registry>/<project>/<image>:<tag>`).
pub const EDGEGAP_REGISTRY_PROJECT: &str = "EDGEGAP_REGISTRY_PROJECT";
/// The registry user (an Edgegap robot account, `robot$…`).
pub const EDGEGAP_REGISTRY_USER: &str = "EDGEGAP_REGISTRY_USER";
/// The registry user's token.
pub const EDGEGAP_REGISTRY_TOKEN: &str = "EDGEGAP_REGISTRY_TOKEN";

/// Where Edgegap's API is, unless `EDGEGAP_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.edgegap.com";
/// Edgegap's container registry, unless `EDGEGAP_REGISTRY` says otherwise.
pub const DEFAULT_REGISTRY: &str = "registry.edgegap.com";

/// The variables that hold secrets: removed from the environment of the `cargo build` the
/// release runs (build scripts have no business reading them).
pub const SECRET_VARIABLES: &[&str] = &[EDGEGAP_TOKEN, EDGEGAP_REGISTRY_TOKEN];

/// A snapshot of the environment. Its `Debug` lists variable names only, never values.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment (variables that are not valid UTF-8 are left out).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    /// An environment made of `pairs` only (for tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The values of the variables that hold secrets, to scrub from anything printed.
    pub fn secrets(&self) -> Vec<String> {
        SECRET_VARIABLES
            .iter()
            .filter_map(|name| self.get(name))
            .map(str::to_owned)
            .collect()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).finish()
    }
}

/// Whether `host` (`host[:port]`, an IPv6 literal in brackets) is this machine: `localhost`,
/// `127.0.0.0/8` or `[::1]`. Only these are spoken to over plain HTTP.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A registry user and token. `Debug` shows the user and `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user (`EDGEGAP_REGISTRY_USER`).
    pub user: String,
    /// The token (`EDGEGAP_REGISTRY_TOKEN`).
    pub token: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("token", &self.token)
            .finish()
    }
}

/// Where images are pushed: `<host>/<project>/<image>:<tag>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryTarget {
    /// `host[:port]`, no scheme.
    pub host: String,
    /// The project (Harbor project) images go under.
    pub project: String,
    /// Basic credentials, or `None` for an anonymous registry.
    pub credentials: Option<Credentials>,
}

impl RegistryTarget {
    /// Reads `EDGEGAP_REGISTRY` (default `registry.edgegap.com`), `EDGEGAP_REGISTRY_PROJECT`
    /// (required), `EDGEGAP_REGISTRY_USER` and `EDGEGAP_REGISTRY_TOKEN` (both or neither).
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let host = registry_host(env.get(EDGEGAP_REGISTRY).unwrap_or(DEFAULT_REGISTRY))?;
        let project = env.get(EDGEGAP_REGISTRY_PROJECT).ok_or_else(|| {
            Error::Usage(format!(
                "set {EDGEGAP_REGISTRY_PROJECT}: the project shown with your registry credentials (Edgegap dashboard → Container Registry)"
            ))
        })?;
        if !is_repository_path(project) {
            return Err(Error::Usage(format!(
                "{EDGEGAP_REGISTRY_PROJECT} `{project}` is not a valid repository name (lower-case letters, digits, `.`, `_`, `-`, `/`)"
            )));
        }
        let credentials = match (
            env.get(EDGEGAP_REGISTRY_USER),
            env.get(EDGEGAP_REGISTRY_TOKEN),
        ) {
            (Some(user), Some(token)) => Some(Credentials {
                user: user.to_owned(),
                token: Secret::new(token),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::Usage(format!(
                    "{EDGEGAP_REGISTRY_USER} is set but {EDGEGAP_REGISTRY_TOKEN} is not: set both, or neither for an anonymous registry"
                )));
            }
            (None, Some(_)) => {
                return Err(Error::Usage(format!(
                    "{EDGEGAP_REGISTRY_TOKEN} is set but {EDGEGAP_REGISTRY_USER} is not: set both, or neither for an anonymous registry"
                )));
            }
        };
        Ok(Self {
            host,
            project: project.to_owned(),
            credentials,
        })
    }

    /// `<host>/<project>/<image>:<tag>`.
    pub fn reference(&self, image: &str, tag: &str) -> String {
        format!("{}/{}/{image}:{tag}", self.host, self.project)
    }
}

/// `EDGEGAP_REGISTRY` as `host[:port]`: an `https://` prefix is dropped, `http://` is
/// accepted only for a loopback host, and nothing may follow the host.
pub fn registry_host(value: &str) -> Result<String, Error> {
    let value = value.trim().trim_end_matches('/');
    let host = if let Some(rest) = value.strip_prefix("https://") {
        rest
    } else if let Some(rest) = value.strip_prefix("http://") {
        if !is_loopback(rest) {
            return Err(Error::Usage(format!(
                "{EDGEGAP_REGISTRY} `{value}`: plain http is only for a registry on this machine (127.0.0.1, localhost, [::1]); use https"
            )));
        }
        rest
    } else {
        value
    };
    let valid = !host.is_empty()
        && !host.contains('/')
        && !host.contains('@')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !valid {
        return Err(Error::Usage(format!(
            "{EDGEGAP_REGISTRY} `{value}` is not a registry host (`host` or `host:port`, e.g. `registry.edgegap.com`)"
        )));
    }
    Ok(host.to_owned())
}

/// Whether `path` is a valid OCI repository path: `/`-separated components of lower-case
/// letters and digits joined by `.`, `_`, `__` or runs of `-`.
pub fn is_repository_path(path: &str) -> bool {
    !path.is_empty() && path.len() <= 255 && path.split('/').all(is_path_component)
}

fn is_path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        // A separator: `.`, `_`, `__`, or one or more `-`, then an alphanumeric.
        let start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += if bytes.get(i + 1) == Some(&b'_') {
                    2
                } else {
                    1
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || !bytes.get(i).is_some_and(alnum) {
            return false;
        }
    }
    true
}

/// Edgegap's API: base URL and token, read as the plugin reads them.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `EDGEGAP_BASE_URL`, no trailing slash.
    pub base_url: String,
    /// `EDGEGAP_TOKEN`.
    pub token: Secret,
}

impl ApiSettings {
    /// Reads `EDGEGAP_TOKEN` (required) and `EDGEGAP_BASE_URL` (default
    /// `https://api.edgegap.com`; plain `http://` only on loopback, so the token never
    /// crosses a network in clear).
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let token = env.get(EDGEGAP_TOKEN).ok_or_else(|| {
            Error::Usage(format!(
                "set {EDGEGAP_TOKEN} to your Edgegap API token (dashboard → User Settings → Tokens)"
            ))
        })?;
        let base_url = env
            .get(EDGEGAP_BASE_URL)
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
            .to_owned();
        match base_url.strip_prefix("http://") {
            Some(rest) if !is_loopback(rest.split('/').next().unwrap_or_default()) => {
                return Err(Error::Usage(format!(
                    "{EDGEGAP_BASE_URL} `{base_url}`: plain http is only for an API on this machine (the emulator); use https"
                )));
            }
            Some(_) => {}
            None if base_url.starts_with("https://") => {}
            None => {
                return Err(Error::Usage(format!(
                    "{EDGEGAP_BASE_URL} `{base_url}` must start with https:// (or http:// on loopback)"
                )));
            }
        }
        Ok(Self {
            base_url,
            token: Secret::new(token),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost:5000",
            "LOCALHOST",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "registry.edgegap.com",
            "10.0.0.1:5000",
            "localhost.evil.com",
            "128.0.0.1",
            "[::2]:80",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        assert_eq!(
            registry_host("http://127.0.0.1:5000/").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            registry_host("https://registry.edgegap.com").unwrap(),
            "registry.edgegap.com"
        );
        assert!(matches!(
            registry_host("http://registry.edgegap.com"),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            registry_host("registry.edgegap.com/x"),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            registry_host("user:pw@registry.edgegap.com"),
            Err(Error::Usage(_))
        ));
        let api = |url: &str| {
            ApiSettings::from_env(&Env::from_pairs([
                (EDGEGAP_TOKEN, "tok-api-SECRET"),
                (EDGEGAP_BASE_URL, url),
            ]))
        };
        let settings = api("http://127.0.0.1:8090/").unwrap();
        assert_eq!(settings.base_url, "http://127.0.0.1:8090");
        assert!(!format!("{settings:?}").contains("SECRET"));
        assert!(api("https://api.edgegap.com").is_ok());
        assert!(matches!(
            api("http://api.edgegap.com"),
            Err(Error::Usage(_))
        ));
        assert!(matches!(api("ftp://x"), Err(Error::Usage(_))));
    }

    #[test]
    fn registry_credentials_come_in_pairs_and_never_show() {
        let target = RegistryTarget::from_env(&Env::from_pairs([
            (EDGEGAP_REGISTRY_PROJECT, "my-org-1"),
            (EDGEGAP_REGISTRY_USER, "robot$my-org-1+push"),
            (EDGEGAP_REGISTRY_TOKEN, "tok-SECRET-123"),
        ]))
        .unwrap();
        assert_eq!(target.host, "registry.edgegap.com");
        assert_eq!(
            target.reference("game", "v1"),
            "registry.edgegap.com/my-org-1/game:v1"
        );
        let debug = format!("{target:?}");
        assert!(debug.contains("robot$my-org-1+push") && !debug.contains("SECRET"));
        let only_token = RegistryTarget::from_env(&Env::from_pairs([
            (EDGEGAP_REGISTRY_PROJECT, "p"),
            (EDGEGAP_REGISTRY_TOKEN, "tok-SECRET-123"),
        ]));
        let message = only_token.unwrap_err().to_string();
        assert!(!message.contains("SECRET"), "{message}");
        assert!(matches!(
            RegistryTarget::from_env(&Env::from_pairs([(EDGEGAP_REGISTRY_PROJECT, "Bad Name")])),
            Err(Error::Usage(_))
        ));
        let env = Env::from_pairs([(EDGEGAP_REGISTRY_TOKEN, "tok-SECRET-123")]);
        assert!(!format!("{env:?}").contains("SECRET"));
        assert_eq!(env.secrets(), vec!["tok-SECRET-123".to_owned()]);
    }

    #[test]
    fn repository_paths_follow_the_distribution_grammar() {
        for ok in [
            "a",
            "my-org-cv2l3w3vy6fg/my-game",
            "a.b",
            "a__b",
            "a---b",
            "x/y/z",
        ] {
            assert!(is_repository_path(ok), "{ok}");
        }
        for bad in [
            "", "A", "-a", "a-", "a..b", "a___b", "a/", "/a", "a//b", "my game",
        ] {
            assert!(!is_repository_path(bad), "{bad}");
        }
    }
}
