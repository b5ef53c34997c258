//! The command line (clap derive, the cargo-subcommand pattern: cargo runs
//! `cargo-edgegap edgegap ARGS`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `cargo`, as seen by a cargo subcommand.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
pub enum Cargo {
    /// Ship a Bevy server to Edgegap without Docker: build its image, push it, deploy it.
    Edgegap(Edgegap),
}

/// `cargo edgegap`.
#[derive(Debug, Args)]
#[command(
    version,
    about = "Ship a Bevy server to Edgegap without Docker: build its image, push it, deploy it",
    after_help = "Environment: EDGEGAP_TOKEN, EDGEGAP_BASE_URL (API); EDGEGAP_REGISTRY, \
EDGEGAP_REGISTRY_PROJECT, EDGEGAP_REGISTRY_USER, EDGEGAP_REGISTRY_TOKEN (registry). \
Secrets are read only from the environment and never printed.\n\
Exit codes: 0 done, 1 failed, 2 bad usage (flags, environment, Cargo.toml)."
)]
pub struct Edgegap {
    /// Print the result as one JSON line on stdout (for CI); progress stays on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the server for linux/amd64, push its image, and create its app version.
    Release(ReleaseArgs),
    /// Deploy an app version; with --wait, follow it to READY and print where players connect.
    Deploy(DeployArgs),
    /// Print a deployment's status and addresses.
    Status {
        /// The deployment's request id.
        id: String,
    },
    /// Stop a deployment.
    Stop {
        /// The deployment's request id.
        id: String,
    },
    /// Print a deployment's container logs.
    Logs {
        /// The deployment's request id.
        id: String,
    },
    /// List the active deployments.
    List,
}

/// `cargo edgegap release`.
#[derive(Debug, Args)]
#[command(
    about = "Build the server for linux/amd64, push its image, and create its app version",
    long_about = "Build the server for linux/amd64 (release profile, or --dev) and push an OCI \
image of it, made without Docker, to EDGEGAP_REGISTRY (default registry.edgegap.com) as \
<registry>/<EDGEGAP_REGISTRY_PROJECT>/<image>:<version>. The image holds the executable in \
/app (its entrypoint), the package's assets/ in /app/assets, and exposes the ports of \
[package.metadata.edgegap]. Only the layers the registry lacks are uploaded. Then, on \
Edgegap, create the application if it is missing and the app version <version> naming the \
image, with the settings of [package.metadata.edgegap]. An existing version with other \
settings is refused before building, unless --force.",
    after_help = "Environment: EDGEGAP_TOKEN (required) and EDGEGAP_BASE_URL (default \
https://api.edgegap.com) for the app and version; EDGEGAP_REGISTRY (default \
registry.edgegap.com; plain http only for 127.0.0.1, localhost, [::1]), \
EDGEGAP_REGISTRY_PROJECT (required), EDGEGAP_REGISTRY_USER and EDGEGAP_REGISTRY_TOKEN (both, \
or neither for an anonymous registry; the version pulls with them too).\n\
Settings: [package.metadata.edgegap] in the server's Cargo.toml (app, image, base, cpu, \
memory, max_duration, ports, envs, secret_envs: names of variables read from this \
environment and stored as secrets); flags override them."
)]
pub struct ReleaseArgs {
    /// The binary to ship (default: the package's only binary, or its default-run).
    #[arg(long, value_name = "NAME", conflicts_with = "example")]
    pub bin: Option<String>,
    /// Ship this example instead of a binary.
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// The server's package (default: the package in the current directory).
    #[arg(short = 'p', long = "package", value_name = "PACKAGE")]
    pub package: Option<String>,
    /// Path to the workspace's or package's Cargo.toml (default: found from the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Edgegap application name; also names the image (lower-case) [default: `app` of
    /// [package.metadata.edgegap], else the package name].
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,
    /// Version name, also the image tag; never `latest` [default: UTC date and git commit,
    /// e.g. 2026.12.06-ab46988].
    #[arg(long = "version", value_name = "NAME")]
    pub version: Option<String>,
    /// Debug build instead of release: faster to build, bigger and slower to run.
    #[arg(long)]
    pub dev: bool,
    /// Base image to put the server on, or `none` to bundle the shared libraries the server
    /// links (found with ldd) instead: no registry but yours is contacted [default:
    /// gcr.io/distroless/cc-debian12, or `base` of [package.metadata.edgegap]].
    #[arg(long, value_name = "IMAGE|none")]
    pub base: Option<String>,
    /// Move the tag if it already holds a different image, and update the app version if it
    /// exists with other settings (both refused otherwise; a tag holding this very image, and
    /// a version naming it with these settings, are kept as they are).
    #[arg(long)]
    pub force: bool,
    /// Give up on a registry request that gets no answer for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
}

/// `cargo edgegap deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The application.
    #[arg(long, value_name = "APP")]
    pub app: String,
    /// The app version.
    #[arg(long = "version", value_name = "NAME")]
    pub version: String,
    /// A player's public IP, to choose the location (repeatable).
    #[arg(long = "ip", value_name = "IP", required_unless_present = "geo")]
    pub ips: Vec<String>,
    /// A player's position as LATITUDE,LONGITUDE, to choose the location (repeatable).
    #[arg(long, value_name = "LAT,LON", value_parser = parse_geo)]
    pub geo: Vec<(f64, f64)>,
    /// A tag for the deployment (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Follow the deployment: print each status as it changes, then the addresses players
    /// connect to.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (the deployment keeps running).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
}

fn parse_geo(value: &str) -> Result<(f64, f64), String> {
    let (lat, lon) = value
        .split_once(',')
        .ok_or_else(|| "expected LATITUDE,LONGITUDE, e.g. 45.5,-73.6".to_owned())?;
    let lat: f64 = lat.trim().parse().map_err(|e| format!("latitude: {e}"))?;
    let lon: f64 = lon.trim().parse().map_err(|e| format!("longitude: {e}"))?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err("latitude is -90..=90 and longitude -180..=180".into());
    }
    Ok((lat, lon))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cargo::command().debug_assert();
    }

    #[test]
    fn geo_is_parsed() {
        assert_eq!(parse_geo("45.5,-73.6"), Ok((45.5, -73.6)));
        assert!(parse_geo("91,0").is_err());
        assert!(parse_geo("x").is_err());
    }
}
