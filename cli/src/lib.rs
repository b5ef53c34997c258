//! `cargo edgegap`: puts a Bevy server on Edgegap without Docker.
//!
//! ```text
//! cargo install --path cli          # gives `cargo edgegap`
//! export EDGEGAP_REGISTRY_PROJECT=my-org-cv2l3w3vy6fg EDGEGAP_REGISTRY_USER='robot$…' EDGEGAP_REGISTRY_TOKEN=…
//! export EDGEGAP_TOKEN=…
//! cargo edgegap release --bin server                  # build, image, push, app and version
//! cargo edgegap deploy --app my-game --version 2026.12.06-ab46988 --ip 1.2.3.4 --wait
//! cargo edgegap status ID | stop ID | logs ID | list
//! ```
//!
//! - [`release`](release::release) builds the server for `linux/amd64` ([`compile`]), makes an
//!   OCI image of it without Docker ([`image`]) and pushes it ([`registry`], with
//!   `oci-client`), uploading only the layers the registry lacks; then it creates the
//!   application if missing and the app version naming the image ([`version`]).
//! - [`deployments`] sends the engine-free `bevy_edgegap::api` endpoints (`deploy`, `status`,
//!   `stop`, `logs`, `list`) with the variables the plugin reads ([`env`](mod@env)).
//! - Settings per package: `[package.metadata.edgegap]` ([`metadata`]); flags override them.
//! - Exit codes: 0 done, 1 failed, 2 bad usage ([`error`]). `--json` prints the result as one
//!   JSON line on stdout, and a failure as `{"error": …, "kind": …}`.
//! - Secrets come only from the environment; [`output::Output`] scrubs their values from
//!   everything printed, and no `Debug` shows them. No logger is installed: the libraries'
//!   own logs (`oci-client`, reqwest) are never printed, whatever `RUST_LOG` says.
//!
//! The release prints what it pushed (reference, digest, size) and made (the app, the
//! version). The version is made only once the image is pushed; a version that exists with
//! other settings is refused before the build unless `--force`.
#![warn(missing_docs)]

pub mod cli;
pub mod compile;
pub mod deployments;
pub mod env;
pub mod error;
pub mod image;
pub mod metadata;
pub mod output;
pub mod registry;
pub mod release;
mod tls;
pub mod version;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

use crate::cli::{Cargo, Command, DeployArgs, ReleaseArgs};
use crate::deployments::{Api, DeployOptions};
use crate::env::{ApiSettings, Env};
use crate::error::{EXIT_FAILED, EXIT_OK, Error};
use crate::output::Output;
use crate::registry::human_bytes;
use crate::release::{ReleaseOptions, Released};

/// Runs the command line `args` (`cargo-edgegap edgegap …` as cargo calls it, or
/// `cargo-edgegap …` run directly) in `env`. Returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>, env: &Env) -> ExitCode {
    let mut args: Vec<OsString> = args.into_iter().collect();
    // Run directly (`cargo-edgegap release`) rather than through cargo: add the subcommand
    // name cargo would have passed.
    if args.get(1).is_none_or(|a| a != "edgegap") {
        args.insert(1.min(args.len()), "edgegap".into());
    }
    let Cargo::Edgegap(cli) = match Cargo::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version print and exit 0; usage mistakes exit 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_FAILED));
        }
    };
    let out = Output::new(cli.json, env.secrets());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(dispatch(cli.command, env, &out)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => {
            report(&error, &out);
            ExitCode::from(error.exit_code())
        }
    }
}

/// Prints a failure: one line on stderr, and with `--json` one JSON line on stdout.
fn report(error: &Error, out: &Output) {
    let message = out.redact(&error.to_string());
    if out.json() {
        let mut line = json!({"error": message, "kind": error.kind()});
        if let Error::VersionNotMade { image, .. } = error {
            // What exists despite the failure, for CI to act on.
            line["image"] = json!(image);
        }
        out.result_json(&line);
    }
    eprintln!("error: {message}");
}

async fn dispatch(command: Command, env: &Env, out: &Output) -> Result<(), Error> {
    match command {
        Command::Release(args) => {
            let released = release::release(release_options(args), env, out).await?;
            print_released(&released, out);
            Ok(())
        }
        Command::Deploy(args) => {
            let api = Api::new(&ApiSettings::from_env(env)?)?;
            deployments::deploy(&api, &deploy_options(args), out).await
        }
        Command::Status { id } => {
            let api = Api::new(&ApiSettings::from_env(env)?)?;
            deployments::status(&api, &id, out).await
        }
        Command::Stop { id } => {
            let api = Api::new(&ApiSettings::from_env(env)?)?;
            deployments::stop(&api, &id, out).await
        }
        Command::Logs { id } => {
            let api = Api::new(&ApiSettings::from_env(env)?)?;
            deployments::logs(&api, &id, out).await
        }
        Command::List => {
            let api = Api::new(&ApiSettings::from_env(env)?)?;
            deployments::list(&api, out).await
        }
    }
}

fn release_options(args: ReleaseArgs) -> ReleaseOptions {
    ReleaseOptions {
        bin: args.bin,
        example: args.example,
        package: args.package,
        manifest_path: args.manifest_path,
        app: args.app,
        version: args.version,
        dev: args.dev,
        base: args.base,
        force: args.force,
        timeout: Duration::from_secs(args.timeout.max(1)),
    }
}

fn deploy_options(args: DeployArgs) -> DeployOptions {
    DeployOptions {
        app: args.app,
        version: args.version,
        ips: args.ips,
        geo: args.geo,
        tags: args.tags,
        wait: args.wait,
        timeout: Duration::from_secs(args.timeout.max(1)),
        interval: Duration::from_secs(1),
    }
}

fn print_released(released: &Released, out: &Output) {
    if out.json() {
        out.result_json(&json!(released));
        return;
    }
    let pushed = &released.pushed;
    if pushed.unchanged {
        out.result(&format!(
            "unchanged: {} already holds this image",
            pushed.image
        ));
    } else {
        out.result(&format!("pushed {}", pushed.image));
    }
    out.result(&format!("  digest    {}", pushed.digest));
    out.result(&format!(
        "  size      {} in {} layer(s); uploaded {} blob(s), {}; {} already in the registry",
        human_bytes(pushed.size),
        pushed.layers,
        pushed.uploaded_blobs,
        human_bytes(pushed.uploaded_bytes),
        pushed.reused_blobs
    ));
    out.result(&format!(
        "  image     {}, entrypoint {}, ports {}, base {}",
        released.platform,
        released.entrypoint.join(" "),
        if released.exposed_ports.is_empty() {
            "none".to_owned()
        } else {
            released.exposed_ports.join(" ")
        },
        released
            .base
            .as_deref()
            .unwrap_or("none (libraries bundled)")
    ));
    out.result(&format!(
        "  took      build {:.1}s, image {:.1}s, push {:.1}s, version {:.1}s",
        released.timings.build_secs,
        released.timings.image_secs,
        released.timings.push_secs,
        released.timings.version_secs
    ));
    if released.made.app_created {
        out.result(&format!("  app       `{}` created", released.app));
    }
    out.result(&format!(
        "  version   `{}` of app `{}` {} (cpu {}, memory {} MB)",
        released.version,
        released.app,
        released.made.version_action,
        released.settings.cpu,
        released.settings.memory
    ));
    out.result(&format!(
        "deploy it: cargo edgegap deploy --app '{}' --version {} --ip <a player's IP> --wait",
        released.app, released.version
    ));
}
