//! [`Error`]: every way a command can fail, with its exit code; [`RegistryError`]: every way a
//! registry can let a push down. No variant holds a token or password.

use std::fmt;
use std::time::Duration;

use bevy_edgegap::api::EdgegapError;

/// Exit code of a command that did what it was asked.
pub const EXIT_OK: u8 = 0;
/// Exit code of a command that was understood but failed (a build, a registry, the API).
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a command that cannot run as given (flags, environment, `Cargo.toml`).
pub const EXIT_USAGE: u8 = 2;

/// Why a command failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The command cannot run as given: a flag, an environment variable or a
    /// `[package.metadata.edgegap]` key is missing or wrong. Nothing was built or sent.
    Usage(String),
    /// `cargo metadata`, `cargo build` (or `cargo zigbuild`) or `ldd` failed.
    Build(String),
    /// A local file (the binary, an asset, a library) could not be read.
    Io {
        /// What was being read.
        what: String,
        /// Why not.
        error: std::io::Error,
    },
    /// The registry (or the base image's registry) failed or refused.
    Registry(RegistryError),
    /// Edgegap's API failed or refused.
    Api(EdgegapError),
    /// A deployment followed with `deploy --wait` did not become READY.
    Deployment(String),
    /// The app version exists with other settings and `--force` was not given. Checked before
    /// building; nothing was pushed or made.
    VersionExists {
        /// The application.
        app: String,
        /// The version.
        version: String,
        /// What differs (Edgegap's key names), or why it is refused.
        differences: String,
    },
    /// The image was pushed, and making its application or version failed: the image is in
    /// the registry, the version is not made. Running the same release again makes it (the
    /// unchanged image is not uploaded again).
    VersionNotMade {
        /// The pushed image, `<registry>/<project>/<image>:<tag>`.
        image: String,
        /// The application.
        app: String,
        /// The version.
        version: String,
        /// Whether this release created the application before failing.
        app_created: bool,
        /// Why.
        cause: Box<Error>,
    },
}

impl Error {
    /// The process exit code: [`EXIT_USAGE`] for [`Error::Usage`], else [`EXIT_FAILED`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }

    /// A short machine-readable name for the `--json` error line (`usage`, `build`, `io`,
    /// `registry.unauthorized`, ...).
    pub fn kind(&self) -> String {
        match self {
            Self::Usage(_) => "usage".into(),
            Self::Build(_) => "build".into(),
            Self::Io { .. } => "io".into(),
            Self::Registry(e) => format!("registry.{}", e.kind()),
            Self::Api(_) => "api".into(),
            Self::Deployment(_) => "deployment".into(),
            Self::VersionExists { .. } => "version_exists".into(),
            Self::VersionNotMade { .. } => "version_not_made".into(),
        }
    }

    pub(crate) fn io(what: impl Into<String>, error: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            error,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) | Self::Build(message) | Self::Deployment(message) => {
                f.write_str(message)
            }
            Self::Io { what, error } => write!(f, "cannot read {what}: {error}"),
            Self::Registry(e) => e.fmt(f),
            Self::Api(e) => write!(f, "Edgegap's API: {}", api_message(e)),
            Self::VersionExists {
                app,
                version,
                differences,
            } => write!(
                f,
                "version `{version}` of app `{app}` already exists ({differences}): pass --version NAME for a new version, or --force to update this one"
            ),
            Self::VersionNotMade {
                image,
                app,
                version,
                app_created,
                cause,
            } => {
                if matches!(cause.as_ref(), Self::Api(e) if e.outcome_unknown()) {
                    return write!(
                        f,
                        "pushed `{image}`, but whether version `{version}` of app `{app}` was made is not known: {cause}. Run the same command again (with --version {version}): it keeps the version if it was made, or makes it; the image is not uploaded again"
                    );
                }
                write!(
                    f,
                    "pushed `{image}`, but version `{version}` of app `{app}` was not made: {cause}. "
                )?;
                if matches!(cause.as_ref(), Self::Api(e) if e.status() == Some(424)) {
                    write!(
                        f,
                        "Edgegap could not pull the image with the registry credentials it was given (the version pulls with EDGEGAP_REGISTRY_USER, which must be allowed to pull). "
                    )?;
                }
                if *app_created {
                    write!(f, "App `{app}` was created. ")?;
                }
                write!(
                    f,
                    "The image stays in the registry and no version names it: run the same command again (with --version {version}) to make the version; the image is not uploaded again"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<RegistryError> for Error {
    fn from(value: RegistryError) -> Self {
        Self::Registry(value)
    }
}

impl From<EdgegapError> for Error {
    fn from(value: EdgegapError) -> Self {
        match value {
            EdgegapError::Config(message) => Self::Usage(message),
            other => Self::Api(other),
        }
    }
}

/// One line for an API error: status and Edgegap's message, never the whole body.
fn api_message(error: &EdgegapError) -> String {
    match error {
        EdgegapError::Api {
            status,
            message,
            request_id,
            ..
        } => match request_id {
            // A v2 422: the deployment exists, in ERROR.
            Some(id) => format!(
                "HTTP {status}: {} (deployment `{id}` was made, in ERROR)",
                one_line(message, 200)
            ),
            None => format!("HTTP {status}: {}", one_line(message, 200)),
        },
        EdgegapError::Decode { status, error, .. } => {
            format!("HTTP {status} with an answer that does not decode: {error}")
        }
        EdgegapError::Transport { message, .. } => format!("no answer: {message}"),
        EdgegapError::Timeout => "no answer in time".into(),
        other => other.to_string(),
    }
}

/// `text` on one line, at most `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect();
    flat
}

/// An error and its sources on one line (reqwest's own message is only "error sending
/// request").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    one_line(&text, 300)
}

/// How a registry let a push (or a base-image pull) down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry refused the credentials (401/403), or wants some and none were given.
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The user name tried (`EDGEGAP_REGISTRY_USER`), if any. Never the token.
        user: Option<String>,
    },
    /// The registry answered with an error status.
    Status {
        /// What was being done (`uploading layer sha256:…`).
        step: String,
        /// The HTTP status.
        status: u16,
        /// The registry's message, shortened to one line; for an HTML page, a note saying so.
        detail: String,
    },
    /// The registry refused the request with an OCI error (`MANIFEST_INVALID`,
    /// `BLOB_UNKNOWN`, `DENIED`, ...).
    Refused {
        /// What was being done.
        step: String,
        /// The OCI error codes, comma-separated.
        code: String,
        /// The registry's messages, shortened to one line.
        message: String,
    },
    /// Content did not match its digest: a base layer pulled, or the manifest the registry
    /// serves under the tag after the push.
    DigestMismatch {
        /// What was checked.
        what: String,
        /// The digest it should have.
        expected: String,
        /// The digest it had.
        found: String,
    },
    /// No answer within the timeout (`--timeout`).
    Timeout {
        /// What was being done.
        step: String,
        /// The timeout.
        after: Duration,
    },
    /// The registry could not be reached, or the connection broke.
    Unreachable {
        /// What was being done.
        step: String,
        /// What the HTTP layer said.
        message: String,
    },
    /// The tag already holds a different image and `--force` was not given.
    TagExists {
        /// The full image reference.
        reference: String,
        /// The digest it holds now.
        digest: String,
    },
    /// The answer broke the OCI distribution protocol, or the base image is unusable
    /// (not `linux/amd64`, not an image).
    Protocol {
        /// What was being done.
        step: String,
        /// What was wrong.
        message: String,
    },
}

impl RegistryError {
    /// Short machine-readable name (`unauthorized`, `status`, `refused`, `digest_mismatch`, `timeout`,
    /// `unreachable`, `tag_exists`, `protocol`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::Status { .. } => "status",
            Self::Refused { .. } => "refused",
            Self::DigestMismatch { .. } => "digest_mismatch",
            Self::Timeout { .. } => "timeout",
            Self::Unreachable { .. } => "unreachable",
            Self::TagExists { .. } => "tag_exists",
            Self::Protocol { .. } => "protocol",
        }
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized {
                registry,
                user: Some(user),
            } => write!(
                f,
                "registry `{registry}` refused the credentials of `{user}` (EDGEGAP_REGISTRY_USER / EDGEGAP_REGISTRY_TOKEN): check both, and that this robot account may push to the project"
            ),
            Self::Unauthorized {
                registry,
                user: None,
            } => write!(
                f,
                "registry `{registry}` wants credentials: set EDGEGAP_REGISTRY_USER and EDGEGAP_REGISTRY_TOKEN"
            ),
            Self::Status {
                step,
                status,
                detail,
            } => write!(f, "registry failed while {step}: HTTP {status}: {detail}"),
            Self::Refused {
                step,
                code,
                message,
            } => write!(f, "registry refused while {step}: {code}: {message}"),
            Self::DigestMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "digest mismatch for {what}: expected `{expected}`, got `{found}`"
            ),
            Self::Timeout { step, after } => write!(
                f,
                "registry did not answer within {}s while {step} (--timeout)",
                after.as_secs_f32()
            ),
            Self::Unreachable { step, message } => {
                write!(f, "registry unreachable while {step}: {message}")
            }
            Self::TagExists { reference, digest } => write!(
                f,
                "`{reference}` already holds a different image (`{digest}`): pass --version NAME for a new tag, or --force to move this one"
            ),
            Self::Protocol { step, message } => write!(f, "registry error while {step}: {message}"),
        }
    }
}

impl std::error::Error for RegistryError {}
