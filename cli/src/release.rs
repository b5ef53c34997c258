//! `cargo edgegap release`: settings → build → image → push → app and version.
//!
//! 1. [`plan`]: everything that can be wrong before a build is checked first: the registry
//!    and API variables, `[package.metadata.edgegap]` (and the values of its `secret_envs`),
//!    the tag, the toolchain, the credentials (the tag is read from the registry), the base
//!    image (resolved for `linux/amd64`), and the app and version on Edgegap
//!    ([`crate::version::check`]: an existing version with other settings is refused unless
//!    `--force`).
//! 2. [`Plan::build_image`]: `cargo build` for `linux/amd64`, then the layer, config and
//!    manifest ([`crate::image`]).
//! 3. [`Plan::push`]: the blobs the registry lacks, the manifest, the tag read back
//!    ([`crate::registry`]).
//! 4. [`Plan::make_version`]: the application if missing, then the version naming the pushed
//!    image. Only after the push: a failed push makes no version; a failed version after the
//!    push is [`Error::VersionNotMade`], which names the pushed image and how to retry.
//!
//! [`release`] runs the four and returns a [`Released`]: what was pushed and made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use bevy_edgegap::api::Secret;

use crate::compile::{self, Commit, Kind, Selection, Toolchain};
use crate::deployments::Api;
use crate::env::{ApiSettings, Env, RegistryTarget};
use crate::error::{Error, RegistryError};
use crate::image::{self, APP_DIR, BaseImage, ConfigInput, Image, LayerInput};
use crate::metadata::{Overrides, ReleaseSettings};
use crate::output::Output;
use crate::registry::{Destination, Pushed, Registries, human_bytes};
use crate::version::{self, VersionMade, VersionPlan};

/// What `release` was asked (its flags).
#[derive(Debug, Clone, Default)]
pub struct ReleaseOptions {
    /// `--bin`.
    pub bin: Option<String>,
    /// `--example`.
    pub example: Option<String>,
    /// `-p`.
    pub package: Option<String>,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--app`.
    pub app: Option<String>,
    /// `--version`.
    pub version: Option<String>,
    /// `--dev`.
    pub dev: bool,
    /// `--base`.
    pub base: Option<String>,
    /// `--force`.
    pub force: bool,
    /// `--timeout`.
    pub timeout: Duration,
}

/// A release checked and ready to build.
#[derive(Debug)]
pub struct Plan {
    options: ReleaseOptions,
    /// What is built.
    pub selection: Selection,
    /// The settings, flags applied.
    pub settings: ReleaseSettings,
    /// The version name and image tag.
    pub tag: String,
    /// The git commit, if any.
    pub commit: Option<Commit>,
    toolchain: Toolchain,
    registries: Registries,
    destination: Destination,
    base: Option<BaseImage>,
    api: Api,
    /// The app version it makes, checked against Edgegap.
    pub version: VersionPlan,
}

/// How long each part took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// `cargo build`, seconds.
    pub build_secs: f64,
    /// The layer, config and manifest, seconds.
    pub image_secs: f64,
    /// The push (tag check, blobs, manifest, read-back), seconds.
    pub push_secs: f64,
    /// The application and version on Edgegap, after the push, seconds.
    pub version_secs: f64,
}

/// What a release did.
#[derive(Debug, Clone, Serialize)]
pub struct Released {
    /// The push.
    #[serde(flatten)]
    pub pushed: Pushed,
    /// The application.
    pub app: String,
    /// The version name (also the tag).
    pub version: String,
    /// `linux/amd64`.
    pub platform: &'static str,
    /// The image's entrypoint.
    pub entrypoint: Vec<String>,
    /// The image's exposed ports.
    pub exposed_ports: Vec<String>,
    /// The base image, `None` for `--base none`.
    pub base: Option<String>,
    /// The version settings from `[package.metadata.edgegap]` (secret values excluded: only
    /// their names).
    pub settings: ReleaseSettings,
    /// What was made on Edgegap: `app_created`, `version_action`.
    #[serde(flatten)]
    pub made: VersionMade,
    /// How long each part took.
    pub timings: Timings,
}

/// Checks everything that can be checked before building (see the module docs).
pub async fn plan(options: ReleaseOptions, env: &Env, out: &Output) -> Result<Plan, Error> {
    let target = RegistryTarget::from_env(env)?;
    let api = Api::new(&ApiSettings::from_env(env)?)?;
    let selection = compile::select(
        options.manifest_path.as_deref(),
        options.package.as_deref(),
        options.bin.as_deref(),
        options.example.as_deref(),
    )?;
    let settings = selection.metadata.resolve(
        &selection.package,
        &Overrides {
            app: options.app.clone(),
            base: options.base.clone(),
        },
    )?;
    let secrets = secret_values(&settings.secret_envs, env)?;
    out.hide(secrets.iter().map(|(_, value)| value.expose().to_owned()));
    let commit = compile::git_commit(selection.package_dir());
    let tag = match &options.version {
        Some(name) => check_tag(name)?,
        None => default_tag(SystemTime::now(), commit.as_ref()),
    };
    let toolchain = compile::toolchain()?;
    let destination = Destination::new(&target, &settings.image, &tag)?;
    let base_host = settings
        .base
        .as_deref()
        .and_then(|b| b.parse::<oci_client::Reference>().ok())
        .map(|r| r.resolve_registry().to_owned());
    let mut hosts = vec![target.host.as_str()];
    hosts.extend(base_host.as_deref());
    let registries = Registries::new(&hosts, options.timeout)?;

    out.step(&format!(
        "release `{}` ({} `{}`) as `{}`",
        selection.package,
        match selection.kind {
            Kind::Bin => "binary",
            Kind::Example => "example",
        },
        selection.target,
        destination.reference()
    ));
    // The credentials and the tag, before a build that may take minutes.
    if let Some(digest) = registries.tag_digest(&destination).await? {
        out.step(&format!(
            "the tag exists (`{digest}`): it is kept if the image is unchanged{}",
            if options.force {
                ", moved otherwise (--force)"
            } else {
                ", refused otherwise (unless --force)"
            }
        ));
    }
    let version = version::check(
        &api,
        version::request(&settings, &target, &tag, &secrets),
        options.force,
        out,
    )
    .await?;
    let base = match &settings.base {
        Some(reference) => {
            out.step(&format!("base image `{reference}`"));
            let base = registries
                .resolve_base(reference, &destination)
                .await
                .map_err(|error| match error {
                    RegistryError::Unreachable { step, message } => RegistryError::Unreachable {
                        step,
                        message: format!(
                            "{message} (offline? --base none needs no registry but yours)"
                        ),
                    },
                    other => other,
                })?;
            Some(base)
        }
        None => None,
    };
    Ok(Plan {
        options,
        selection,
        settings,
        tag,
        commit,
        toolchain,
        registries,
        destination,
        base,
        api,
        version,
    })
}

/// The values of the `secret_envs` variables, from the environment: each must be set.
fn secret_values(names: &[String], env: &Env) -> Result<Vec<(String, Secret)>, Error> {
    names
        .iter()
        .map(|name| match env.get(name) {
            Some(value) => Ok((name.clone(), Secret::new(value))),
            None => Err(Error::Usage(format!(
                "`{name}` is in `secret_envs` of [package.metadata.edgegap] and not set: set it in this environment (its value is stored by Edgegap as a secret)"
            ))),
        })
        .collect()
}

impl Plan {
    /// The full image reference it pushes.
    pub fn reference(&self) -> String {
        self.destination.reference()
    }

    /// Builds the server and makes the image. Returns the image and the build's duration.
    pub fn build_image(&self, out: &Output) -> Result<(Image, Duration), Error> {
        let started = Instant::now();
        let executable = compile::build(
            &self.selection,
            self.options.dev,
            self.options.manifest_path.as_deref(),
            self.toolchain,
            &self.settings.secret_envs,
        )?;
        let build = started.elapsed();
        self.check_glibc(&executable)?;
        let libraries = match self.settings.base {
            None => compile::shared_libraries(&executable)?,
            Some(_) => Vec::new(),
        };
        let layer = image::build_layer(&LayerInput {
            executable: executable.clone(),
            name: self.selection.target.clone(),
            assets: self.selection.assets(),
            libraries,
            scratch: self.settings.base.is_none(),
            fast: self.options.dev,
        })?;
        out.step(&format!(
            "layer {}: {} files, {} ({} uncompressed)",
            crate::registry::short(&layer.digest),
            layer.files,
            human_bytes(layer.data.len() as u64),
            human_bytes(layer.uncompressed)
        ));
        let mut labels = BTreeMap::from([(
            "org.opencontainers.image.title".to_owned(),
            self.settings.app.clone(),
        )]);
        if let Some(commit) = &self.commit {
            labels.insert(
                "org.opencontainers.image.revision".into(),
                format!(
                    "{}{}",
                    commit.short,
                    if commit.dirty { "-dirty" } else { "" }
                ),
            );
        }
        let image = image::assemble(
            self.base.clone(),
            &layer,
            &ConfigInput {
                entrypoint: vec![format!("{APP_DIR}/{}", self.selection.target)],
                exposed_ports: self
                    .settings
                    .ports
                    .iter()
                    .flat_map(|p| p.exposed())
                    .collect(),
                labels,
                created: self.commit.as_ref().map(|c| c.date.clone()),
            },
        )?;
        Ok((image, build))
    }

    fn check_glibc(&self, executable: &std::path::Path) -> Result<(), Error> {
        let Some(base) = self.settings.base.as_deref() else {
            return Ok(());
        };
        let Some(has) = image::known_base_glibc(base) else {
            return Ok(());
        };
        let bytes = std::fs::read(executable)
            .map_err(|e| Error::io(format!("`{}`", executable.display()), e))?;
        match image::required_glibc(&bytes) {
            Some(needs) if needs > has => Err(Error::Build(format!(
                "the server needs glibc {}.{} and `{base}` has {}.{}: it would not start on Edgegap. Build on an older system, use a newer base (--base gcr.io/distroless/cc-debian13), or bundle this system's libraries (--base none)",
                needs.0, needs.1, has.0, has.1
            ))),
            _ => Ok(()),
        }
    }

    /// Pushes the image.
    pub async fn push(&self, image: &Image, out: &Output) -> Result<Pushed, Error> {
        Ok(self
            .registries
            .push(image, &self.destination, self.options.force, out)
            .await?)
    }
}

impl Plan {
    /// Makes the application (when missing) and the version, once `pushed` is in the registry.
    /// A failure is [`Error::VersionNotMade`]: it says what exists and how to retry.
    pub async fn make_version(&self, pushed: &Pushed, out: &Output) -> Result<VersionMade, Error> {
        let request = &self.version.request;
        let not_made = |app_created: bool| {
            let image = pushed.image.clone();
            move |cause: Error| Error::VersionNotMade {
                image,
                app: request.app_name.clone(),
                version: request.name.clone(),
                app_created,
                cause: Box::new(cause),
            }
        };
        let app_created = self
            .version
            .make_app(&self.api, out)
            .await
            .map_err(not_made(false))?;
        let version_action = self
            .version
            .make_version(&self.api)
            .await
            .map_err(not_made(app_created))?;
        out.step(&format!(
            "version `{}` of `{}` {version_action}",
            request.name, request.app_name
        ));
        Ok(VersionMade {
            app_created,
            version_action,
        })
    }
}

/// The whole release: [`plan`], [`Plan::build_image`], [`Plan::push`], [`Plan::make_version`].
pub async fn release(options: ReleaseOptions, env: &Env, out: &Output) -> Result<Released, Error> {
    let plan = plan(options, env, out).await?;
    let started = Instant::now();
    let (image, build) = plan.build_image(out)?;
    let image_time = started.elapsed().saturating_sub(build);
    let started = Instant::now();
    let pushed = plan.push(&image, out).await?;
    let push_time = started.elapsed();
    let started = Instant::now();
    let made = plan.make_version(&pushed, out).await?;
    let version_time = started.elapsed();
    Ok(Released {
        pushed,
        app: plan.settings.app.clone(),
        version: plan.tag.clone(),
        platform: "linux/amd64",
        entrypoint: image.entrypoint.clone(),
        exposed_ports: image.exposed_ports.clone(),
        base: plan.settings.base.clone(),
        settings: plan.settings.clone(),
        made,
        timings: Timings {
            build_secs: build.as_secs_f64(),
            image_secs: image_time.as_secs_f64(),
            push_secs: push_time.as_secs_f64(),
            version_secs: version_time.as_secs_f64(),
        },
    })
}

/// Checks a `--version` name: a valid image tag (`[A-Za-z0-9_][A-Za-z0-9._-]*`), at most 64
/// characters (Edgegap's version name limit), never `latest`.
pub fn check_tag(name: &str) -> Result<String, Error> {
    let valid = name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        return Err(Error::Usage(format!(
            "--version `{name}` is not a tag: 1 to 64 letters, digits, `.`, `_`, `-`, not starting with `.` or `-`"
        )));
    }
    if name.eq_ignore_ascii_case("latest") {
        return Err(Error::Usage(
            "--version `latest` is refused: Edgegap asks for a tag per build, never `latest`"
                .into(),
        ));
    }
    Ok(name.to_owned())
}

/// The default version name and tag: the UTC date and the git commit
/// (`2026.12.06-ab46988`, `-dirty` with uncommitted changes), or the date and time outside
/// git (`2026.12.06-124512`).
pub fn default_tag(now: SystemTime, commit: Option<&Commit>) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let date = format!("{y:04}.{m:02}.{d:02}");
    match commit {
        Some(commit) => format!(
            "{date}-{}{}",
            commit.short,
            if commit.dirty { "-dirty" } else { "" }
        ),
        None => {
            let t = secs % 86_400;
            format!("{date}-{:02}{:02}{:02}", t / 3600, t / 60 % 60, t % 60)
        }
    }
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tags_are_date_and_commit() {
        // 2026-12-06 12:45:12 UTC.
        let now = UNIX_EPOCH + Duration::from_secs(1_796_561_112);
        let commit = Commit {
            short: "ab46988".into(),
            dirty: false,
            date: String::new(),
        };
        assert_eq!(default_tag(now, Some(&commit)), "2026.12.06-ab46988");
        let dirty = Commit {
            dirty: true,
            ..commit
        };
        assert_eq!(default_tag(now, Some(&dirty)), "2026.12.06-ab46988-dirty");
        assert_eq!(default_tag(now, None), "2026.12.06-124512");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        for tag in [default_tag(now, Some(&dirty)), default_tag(now, None)] {
            assert_eq!(check_tag(&tag).unwrap(), tag);
        }
    }

    #[test]
    fn tags_are_checked() {
        for ok in ["v1", "2026.05.01-build42", "_x", "A-b.c_d"] {
            assert_eq!(check_tag(ok).unwrap(), ok);
        }
        for bad in [
            "latest",
            "LATEST",
            "",
            "-x",
            ".x",
            "a b",
            "a/b",
            "a:b",
            &"x".repeat(65),
        ] {
            assert!(matches!(check_tag(bad), Err(Error::Usage(_))), "{bad}");
        }
    }
}
