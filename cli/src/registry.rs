//! Talking to OCI registries with `oci-client`: the tag check, the base image, and the push.
//!
//! The push never leaves a half-made result: every blob is in the registry (uploaded, or found
//! there by digest) before the manifest is put, and the tag points at nothing new until that
//! last request. Afterwards the manifest the registry serves under the tag is read back and
//! must have the digest we computed. A tag that already holds a different image is refused
//! unless `--force`; one that holds exactly this image is left alone (nothing uploaded).
//!
//! Only a loopback registry (`127.0.0.0/8`, `localhost`, `[::1]`) is spoken to over plain
//! HTTP; every other one over HTTPS. Every request has a deadline (`--timeout`): a registry
//! that accepts a connection and never answers fails the push instead of hanging it.

use std::time::Duration;

use bytes::Bytes;
use oci_client::client::{ClientConfig, ClientProtocol, linux_amd64_resolver};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Serialize;

use crate::env::{Credentials, RegistryTarget, is_loopback};
use crate::error::{Error, RegistryError, error_chain, one_line};
use crate::image::{BaseImage, Image, LayerRef, OCI_MANIFEST};
use crate::output::Output;

/// How long a registry request may go without an answer, unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The bytes sent per upload request (one `PATCH` of a chunked upload): each must be
/// answered within the timeout, so a slow link still makes progress and a dead one is found.
const CHUNK: usize = 4 * 1024 * 1024;

/// A registry client: one connection pool, the scheme rule, the timeout.
pub struct Registries {
    client: Client,
    timeout: Duration,
}

impl std::fmt::Debug for Registries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registries")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Where one image goes, and as whom.
#[derive(Debug, Clone)]
pub struct Destination {
    reference: Reference,
    auth: RegistryAuth,
    host: String,
    user: Option<String>,
}

impl Destination {
    /// `<host>/<project>/<image>:<tag>` on `target`, with its credentials.
    pub fn new(target: &RegistryTarget, image: &str, tag: &str) -> Result<Self, Error> {
        let text = target.reference(image, tag);
        let reference: Reference = text
            .parse()
            .map_err(|e| Error::Usage(format!("`{text}` is not an image reference: {e}")))?;
        Ok(Self {
            reference,
            auth: auth(target.credentials.as_ref()),
            host: target.host.clone(),
            user: target.credentials.as_ref().map(|c| c.user.clone()),
        })
    }

    /// The full reference, as pushed.
    pub fn reference(&self) -> String {
        self.reference.whole()
    }
}

fn auth(credentials: Option<&Credentials>) -> RegistryAuth {
    match credentials {
        Some(c) => RegistryAuth::Basic(c.user.clone(), c.token.expose().to_owned()),
        None => RegistryAuth::Anonymous,
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pushed {
    /// The full image reference (`registry.edgegap.com/project/image:tag`).
    pub image: String,
    /// The manifest digest the tag now points to.
    pub digest: String,
    /// Config and compressed layers, bytes.
    pub size: u64,
    /// Layers in the image.
    pub layers: usize,
    /// Blobs (layers and config) uploaded.
    pub uploaded_blobs: usize,
    /// Bytes uploaded in them.
    pub uploaded_bytes: u64,
    /// Blobs the registry already had.
    pub reused_blobs: usize,
    /// The tag already held exactly this image: nothing was sent.
    pub unchanged: bool,
}

impl Registries {
    /// A client that speaks plain HTTP to the loopback hosts among `hosts` and HTTPS to
    /// every other, with `timeout` per request.
    pub fn new(hosts: &[&str], timeout: Duration) -> Result<Self, Error> {
        crate::tls::install_crypto();
        let plain: Vec<String> = hosts
            .iter()
            .filter(|h| is_loopback(h))
            .map(|h| (*h).to_owned())
            .collect();
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain),
            platform_resolver: Some(Box::new(linux_amd64_resolver)),
            read_timeout: Some(timeout),
            connect_timeout: Some(timeout.min(Duration::from_secs(15))),
            user_agent: concat!("cargo-edgegap/", env!("CARGO_PKG_VERSION")),
            max_concurrent_upload: 1,
            ..ClientConfig::default()
        };
        let client = Client::try_from(config)
            .map_err(|e| Error::Build(format!("cannot make the registry client: {e}")))?;
        Ok(Self { client, timeout })
    }

    fn fail(&self, step: &str, to: &Destination) -> impl Fn(OciDistributionError) -> RegistryError {
        let step = step.to_owned();
        let host = to.host.clone();
        let user = to.user.clone();
        let timeout = self.timeout;
        move |error| classify(error, &step, &host, user.as_deref(), timeout)
    }

    /// The digest the tag holds now, or `None` when it is free. This is also the credentials
    /// check: it fails with [`RegistryError::Unauthorized`] before anything is built.
    pub async fn tag_digest(&self, to: &Destination) -> Result<Option<String>, RegistryError> {
        match self
            .client
            .fetch_manifest_digest(&to.reference, &to.auth)
            .await
        {
            Ok(digest) => Ok(Some(digest)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(self.fail("checking the tag", to)(error)),
        }
    }

    /// Resolves a base image for `linux/amd64` (an index is narrowed to it), with its config.
    /// Pulled anonymously, unless it lives on the destination's registry.
    pub async fn resolve_base(
        &self,
        base: &str,
        to: &Destination,
    ) -> Result<BaseImage, RegistryError> {
        let reference: Reference = base.parse().map_err(|e| RegistryError::Protocol {
            step: "reading --base".into(),
            message: format!("`{base}` is not an image reference: {e}"),
        })?;
        let auth = if reference.resolve_registry() == to.reference.resolve_registry() {
            to.auth.clone()
        } else {
            RegistryAuth::Anonymous
        };
        let from = Destination {
            reference: reference.clone(),
            auth: auth.clone(),
            host: reference.resolve_registry().to_owned(),
            user: to.user.clone().filter(|_| auth != RegistryAuth::Anonymous),
        };
        let step = format!("reading base image `{base}`");
        let (manifest, digest) = self
            .client
            .pull_image_manifest(&reference, &auth)
            .await
            .map_err(self.fail(&step, &from))?;
        let mut config = Vec::new();
        self.client
            .pull_blob(&reference, &manifest.config, &mut config)
            .await
            .map_err(self.fail(&step, &from))?;
        let config: serde_json::Value =
            serde_json::from_slice(&config).map_err(|e| RegistryError::Protocol {
                step: step.clone(),
                message: format!("its config is not JSON: {e}"),
            })?;
        let platform = (
            config.get("os").and_then(|v| v.as_str()).unwrap_or("?"),
            config
                .get("architecture")
                .and_then(|v| v.as_str())
                .unwrap_or("?"),
        );
        if platform != ("linux", "amd64") {
            return Err(RegistryError::Protocol {
                step,
                message: format!(
                    "it is {}/{}, and Edgegap runs linux/amd64",
                    platform.0, platform.1
                ),
            });
        }
        let layers = manifest
            .layers
            .iter()
            .map(|l: &OciDescriptor| {
                Ok(LayerRef {
                    digest: l.digest.clone(),
                    size: u64::try_from(l.size).map_err(|_| RegistryError::Protocol {
                        step: step.clone(),
                        message: format!("layer `{}` has a negative size", l.digest),
                    })?,
                    media_type: l.media_type.clone(),
                    data: None,
                })
            })
            .collect::<Result<_, RegistryError>>()?;
        Ok(BaseImage {
            reference: base.to_owned(),
            digest,
            layers,
            config,
        })
    }

    /// Pushes `image` to `to`: blobs the registry lacks (base layers pulled from the base
    /// image's registry first, their digests checked), then the manifest, then reads the tag
    /// back. Refuses a tag holding another image unless `force`.
    pub async fn push(
        &self,
        image: &Image,
        to: &Destination,
        force: bool,
        out: &Output,
    ) -> Result<Pushed, RegistryError> {
        let mut pushed = Pushed {
            image: to.reference(),
            digest: image.manifest_digest.clone(),
            size: image.size(),
            layers: image.layers.len(),
            uploaded_blobs: 0,
            uploaded_bytes: 0,
            reused_blobs: 0,
            unchanged: false,
        };
        match self.tag_digest(to).await? {
            Some(digest) if digest == image.manifest_digest => {
                pushed.unchanged = true;
                pushed.reused_blobs = image.layers.len() + 1;
                return Ok(pushed);
            }
            Some(digest) if !force => {
                return Err(RegistryError::TagExists {
                    reference: to.reference(),
                    digest,
                });
            }
            _ => {}
        }

        // What the registry lacks.
        let mut blobs: Vec<(String, &'static str, LayerRef)> = image
            .layers
            .iter()
            .map(|l| (l.digest.clone(), "layer", l.clone()))
            .collect();
        blobs.push((
            image.config_digest.clone(),
            "config",
            LayerRef {
                digest: image.config_digest.clone(),
                size: image.config.len() as u64,
                media_type: String::new(),
                data: Some(image.config.clone()),
            },
        ));
        let mut missing = Vec::new();
        for (digest, what, blob) in blobs {
            let step = format!("checking {what} {}", short(&digest));
            let there = self
                .client
                .blob_exists(&to.reference, &digest)
                .await
                .map_err(self.fail(&step, to))?;
            if there {
                pushed.reused_blobs += 1;
            } else {
                missing.push((what, blob));
            }
        }

        // Base layers first come from the base image's registry, checked against their
        // digests, before anything is uploaded.
        let mut uploads: Vec<(&'static str, String, Bytes)> = Vec::new();
        for (what, blob) in missing {
            let data = match blob.data {
                Some(data) => data,
                None => self.pull_base_layer(image, &blob, out).await?,
            };
            uploads.push((what, blob.digest, data));
        }

        let total: u64 = uploads.iter().map(|(_, _, d)| d.len() as u64).sum();
        if total > 0 {
            out.step(&format!(
                "uploading {} blob(s), {} ({} already in the registry)",
                uploads.len(),
                human_bytes(total),
                pushed.reused_blobs
            ));
        }
        let bar = if total > 0 {
            out.start_bytes(total, "uploading")
        } else {
            indicatif::ProgressBar::hidden()
        };
        for (what, digest, data) in uploads {
            let step = format!(
                "uploading {what} {} ({})",
                short(&digest),
                human_bytes(data.len() as u64)
            );
            let result = self.upload(to, &digest, data.clone(), &bar).await;
            let result = match result {
                Err(OciDistributionError::SpecViolationError(_)) => {
                    // A registry without chunked uploads: one request with the whole blob.
                    self.client
                        .push_blob(&to.reference, data.clone(), &digest)
                        .await
                        .map(|_| ())
                }
                other => other,
            };
            if let Err(error) = result {
                out.finish_bytes();
                return Err(self.fail(&step, to)(error));
            }
            pushed.uploaded_blobs += 1;
            pushed.uploaded_bytes += data.len() as u64;
        }
        out.finish_bytes();

        self.client
            .push_manifest_raw(
                &to.reference,
                image.manifest.clone(),
                http_value(OCI_MANIFEST),
            )
            .await
            .map_err(self.fail("pushing the manifest", to))?;
        let served = self
            .tag_digest(to)
            .await?
            .unwrap_or_else(|| "nothing".to_owned());
        if served != image.manifest_digest {
            return Err(RegistryError::DigestMismatch {
                what: format!(
                    "the manifest the registry serves under `{}`",
                    to.reference()
                ),
                expected: image.manifest_digest.clone(),
                found: served,
            });
        }
        Ok(pushed)
    }

    /// One blob as a chunked upload, the progress bar moving with each chunk.
    async fn upload(
        &self,
        to: &Destination,
        digest: &str,
        data: Bytes,
        bar: &indicatif::ProgressBar,
    ) -> Result<(), OciDistributionError> {
        let chunks: Vec<Bytes> = (0..data.len())
            .step_by(CHUNK)
            .map(|start| data.slice(start..(start + CHUNK).min(data.len())))
            .collect();
        let bar = bar.clone();
        let stream = futures_util::stream::iter(chunks.into_iter().map(move |chunk| {
            bar.inc(chunk.len() as u64);
            Ok::<_, OciDistributionError>(chunk)
        }));
        self.client
            .push_blob_stream(&to.reference, stream, digest, Some(data.len() as u64))
            .await
            .map(|_| ())
    }

    async fn pull_base_layer(
        &self,
        image: &Image,
        layer: &LayerRef,
        out: &Output,
    ) -> Result<Bytes, RegistryError> {
        let base = image.base.as_ref().ok_or_else(|| RegistryError::Protocol {
            step: "assembling the image".into(),
            message: format!("layer `{}` has no bytes and no base image", layer.digest),
        })?;
        let reference: Reference = base
            .reference
            .parse()
            .map_err(|e| RegistryError::Protocol {
                step: "reading --base".into(),
                message: format!("{e}"),
            })?;
        let step = format!(
            "pulling base layer {} ({}) from `{}`",
            short(&layer.digest),
            human_bytes(layer.size),
            base.reference
        );
        out.step(&step);
        let descriptor = OciDescriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: i64::try_from(layer.size).unwrap_or(i64::MAX),
            ..OciDescriptor::default()
        };
        // The size is the base registry's word: reserve no more than 64 MiB on it.
        let mut data = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0).min(64 << 20));
        let from = Destination {
            host: reference.resolve_registry().to_owned(),
            reference: reference.clone(),
            auth: RegistryAuth::Anonymous,
            user: None,
        };
        self.client
            .pull_blob(&reference, &descriptor, &mut data)
            .await
            .map_err(self.fail(&step, &from))?;
        Ok(Bytes::from(data))
    }
}

fn http_value(text: &'static str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_static(text)
}

/// `sha256:0123456789ab` (the first 12 hex digits).
pub fn short(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

/// `12.3 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A manifest that is not there: 404 in any of the shapes registries answer it.
fn is_not_found(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code: 404, .. } => true,
        OciDistributionError::RequestError(e) => e.status().is_some_and(|s| s.as_u16() == 404),
        OciDistributionError::RegistryError { envelope, .. } => {
            !envelope.errors.is_empty()
                && envelope.errors.iter().all(|e| {
                    matches!(
                        e.code,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                    )
                })
        }
        _ => false,
    }
}

/// The registry's answer, one line: an HTML page is named as such, not quoted.
fn describe_body(body: &str) -> String {
    let head: String = body
        .trim_start()
        .chars()
        .take(512)
        .collect::<String>()
        .to_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<body") {
        "an HTML page, not a registry answer (a proxy, a login page, or not a registry at this address?)".into()
    } else if body.trim().is_empty() {
        "(empty answer)".into()
    } else {
        one_line(body, 200)
    }
}

/// Sorts an `oci-client` error into a [`RegistryError`].
fn classify(
    error: OciDistributionError,
    step: &str,
    host: &str,
    user: Option<&str>,
    timeout: Duration,
) -> RegistryError {
    let unauthorized = || RegistryError::Unauthorized {
        registry: host.to_owned(),
        user: user.map(str::to_owned),
    };
    let step = step.to_owned();
    match error {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => unauthorized(),
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => unauthorized(),
        OciDistributionError::ServerError { code, message, .. } => RegistryError::Status {
            step,
            status: code,
            detail: describe_body(&message),
        },
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| match &e.code {
                    OciErrorCode::Other(other) => other.clone(),
                    known => serde_json::to_value(known)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| format!("{known:?}")),
                })
                .collect();
            if envelope
                .errors
                .iter()
                .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                return unauthorized();
            }
            let messages: Vec<&str> = envelope.errors.iter().map(|e| e.message.as_str()).collect();
            RegistryError::Refused {
                step,
                code: codes.join(", "),
                message: one_line(&messages.join("; "), 200),
            }
        }
        OciDistributionError::RequestError(e) => {
            if e.is_timeout() {
                RegistryError::Timeout {
                    step,
                    after: timeout,
                }
            } else if let Some(status) = e.status() {
                match status.as_u16() {
                    401 | 403 => unauthorized(),
                    code => RegistryError::Status {
                        step,
                        status: code,
                        detail: status.canonical_reason().unwrap_or("").to_owned(),
                    },
                }
            } else {
                RegistryError::Unreachable {
                    step,
                    message: error_chain(&e),
                }
            }
        }
        OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
            expected,
            actual,
        }) => RegistryError::DigestMismatch {
            what: step,
            expected,
            found: actual,
        },
        OciDistributionError::IoError(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            RegistryError::Timeout {
                step,
                after: timeout,
            }
        }
        other => RegistryError::Protocol {
            step,
            message: one_line(&other.to_string(), 300),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_pages_are_named_not_quoted() {
        assert!(
            describe_body("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
                .starts_with("an HTML page")
        );
        assert!(describe_body("  <html>\n<head>").starts_with("an HTML page"));
        assert_eq!(describe_body("upstream\n  broke"), "upstream broke");
        assert_eq!(describe_body(""), "(empty answer)");
    }

    #[test]
    fn errors_are_sorted() {
        let sort = |e| classify(e, "doing", "r.example", Some("robot$x"), DEFAULT_TIMEOUT);
        assert_eq!(
            sort(OciDistributionError::UnauthorizedError { url: "u".into() }).kind(),
            "unauthorized"
        );
        assert_eq!(
            sort(OciDistributionError::ServerError {
                code: 500,
                url: "u".into(),
                message: "<html><body>oops</body></html>".into()
            }),
            RegistryError::Status {
                step: "doing".into(),
                status: 500,
                detail: describe_body("<html>")
            }
        );
        let envelope = serde_json::from_str(
            r#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}"#,
        )
        .unwrap();
        assert_eq!(
            sort(OciDistributionError::RegistryError {
                envelope,
                url: "u".into()
            }),
            RegistryError::Refused {
                step: "doing".into(),
                code: "MANIFEST_INVALID".into(),
                message: "manifest invalid".into()
            }
        );
        assert_eq!(
            sort(OciDistributionError::DigestError(
                oci_client::errors::DigestError::VerificationError {
                    expected: "sha256:a".into(),
                    actual: "sha256:b".into()
                }
            ))
            .kind(),
            "digest_mismatch"
        );
        assert!(is_not_found(&OciDistributionError::ServerError {
            code: 404,
            url: "u".into(),
            message: String::new()
        }));
    }

    #[test]
    fn a_destination_never_shows_its_token() {
        let target = RegistryTarget::from_env(&crate::env::Env::from_pairs([
            (crate::env::EDGEGAP_REGISTRY_PROJECT, "proj"),
            (crate::env::EDGEGAP_REGISTRY_USER, "robot$proj+push"),
            (crate::env::EDGEGAP_REGISTRY_TOKEN, "tok-SECRET-42"),
        ]))
        .unwrap();
        let destination = Destination::new(&target, "game", "v1").unwrap();
        let debug = format!("{destination:?} {target:?}");
        assert!(debug.contains("robot$proj+push"), "{debug}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert_eq!(destination.reference(), "registry.edgegap.com/proj/game:v1");
    }

    #[test]
    fn sizes_and_digests_print_short() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 + 1024 * 512), "3.5 MiB");
        assert_eq!(short("sha256:0123456789abcdef0123"), "sha256:0123456789ab");
    }
}
