//! Images of versions created through the API: pulled from a registry on loopback over the
//! OCI distribution API, checked, unpacked into a directory per deployment, and run from
//! there.
//!
//! The pull is hyper's HTTP/1 client over one loopback TCP connection per request (the
//! emulator's own HTTP stack; no TLS: only `127.0.0.0/8`, `localhost` and `[::1]` registries
//! are reached, over plain HTTP). Every answer is read with a size bound (a manifest or config
//! at most [`MAX_DOCUMENT_BYTES`], a layer no more than its descriptor says, the image at most
//! [`MAX_IMAGE_BYTES`] compressed and [`MAX_UNPACKED_BYTES`] unpacked) and the whole pull
//! within the version's `time_to_deploy`. Every digest is checked: the manifest's (against
//! `Docker-Content-Digest`, or the digest an index named), the config's, each layer's, and each
//! layer's uncompressed `diff_id`. Authentication: Basic, or the registry's bearer handshake,
//! with the version's `private_username`/`private_token`.
//!
//! Nothing half-made is ever run: layers are downloaded to a blob cache under temporary names
//! and kept only once their digest matches; the image is unpacked into a staging directory
//! that becomes the deployment's only when every layer is unpacked and checked, and is removed
//! otherwise. The unpacking refuses entries that would leave the directory (see [`unpack`]).

mod error;
mod unpack;

pub(crate) use error::PullError;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpStream;

use crate::config::ImageSource;
use crate::util::{hex, lock, random_hex};
use error::io_error;

/// Largest manifest, index or config read (4 MiB).
pub(crate) const MAX_DOCUMENT_BYTES: u64 = 4 << 20;
/// Largest image, its layers compressed (4 GiB).
pub(crate) const MAX_IMAGE_BYTES: u64 = 4 << 30;
/// Largest image unpacked (8 GiB).
pub(crate) const MAX_UNPACKED_BYTES: u64 = 8 << 30;
/// Redirects followed for one blob (to loopback only).
const MAX_REDIRECTS: usize = 3;

const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// Whether `host` (`host:port`) is a registry the emulator reaches: loopback
/// (`127.0.0.0/8`, `localhost`, `[::1]`) with an explicit port.
pub(crate) fn is_loopback_registry(host: &str) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once("]:") {
            Some((name, port)) => (name, port),
            None => return false,
        },
        None => match host.rsplit_once(':') {
            Some(pair) => pair,
            None => return false,
        },
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback && port.parse::<u16>().is_ok_and(|p| p != 0)
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// A content digest as the emulator accepts it: `sha256:` and 64 lower-case hex digits (it
/// names files of the blob cache, so nothing else may pass).
fn check_digest(what: &str, digest: &str) -> Result<String, PullError> {
    let valid = digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if valid {
        Ok(digest.to_owned())
    } else {
        Err(PullError::Invalid {
            what: what.to_owned(),
            message: format!(
                "digest `{}` is not `sha256:` and 64 hex digits",
                digest.chars().take(80).collect::<String>()
            ),
        })
    }
}

/// A blob as a manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
}

impl Descriptor {
    fn read(value: &Value, what: &str) -> Result<Self, PullError> {
        let invalid = |message: &str| PullError::Invalid {
            what: what.to_owned(),
            message: message.to_owned(),
        };
        let digest = value
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("has no `digest`"))?;
        Ok(Self {
            media_type: value
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            digest: check_digest(what, digest)?,
            size: value
                .get("size")
                .and_then(Value::as_u64)
                .ok_or_else(|| invalid("has no non-negative `size`"))?,
        })
    }
}

/// The `architecture` a registry image must have to run on this machine.
fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// One registry conversation: the source, and the `Authorization` it settled on.
struct Session<'a> {
    source: &'a ImageSource,
    authorization: Option<String>,
}

impl<'a> Session<'a> {
    fn new(source: &'a ImageSource) -> Self {
        Self {
            source,
            authorization: None,
        }
    }

    /// `GET path` on the source's registry; on a 401 challenge, authenticates once (Basic or
    /// bearer) and asks again. Follows up to [`MAX_REDIRECTS`] redirects to loopback.
    async fn get(
        &mut self,
        path: &str,
        accept: &str,
        step: &str,
    ) -> Result<Response<Incoming>, PullError> {
        let mut host = self.source.host.clone();
        let mut path = path.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            // Credentials go to the source's registry only, never to a redirect target.
            let same_host = host == self.source.host;
            let authorization = self.authorization.clone().filter(|_| same_host);
            let mut response =
                request(&host, &path, accept, authorization.as_deref(), step).await?;
            if response.status() == StatusCode::UNAUTHORIZED && same_host {
                if self.authorization.is_some() {
                    return Err(self.unauthorized());
                }
                let challenge = header_text(&response, hyper::header::WWW_AUTHENTICATE);
                self.authorization = Some(self.authorize(&challenge, step).await?);
                response =
                    request(&host, &path, accept, self.authorization.as_deref(), step).await?;
            }
            match response.status().as_u16() {
                401 | 403 => return Err(self.unauthorized()),
                301 | 302 | 303 | 307 | 308 => {
                    let location = header_text(&response, hyper::header::LOCATION);
                    (host, path) = redirect_target(&host, &location, step)?;
                }
                _ => return Ok(response),
            }
        }
        Err(PullError::Invalid {
            what: step.to_owned(),
            message: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    fn unauthorized(&self) -> PullError {
        PullError::Unauthorized {
            registry: self.source.host.clone(),
        }
    }

    fn basic(&self) -> Option<String> {
        use base64::Engine as _;
        let (user, token) = (self.source.user.as_ref()?, &self.source.token.as_ref()?.0);
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
        ))
    }

    /// The `Authorization` value for a `WWW-Authenticate` challenge.
    async fn authorize(&self, challenge: &str, step: &str) -> Result<String, PullError> {
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return self.basic().ok_or_else(|| self.unauthorized());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(self.unauthorized());
        }
        let params = challenge_params(params);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| PullError::Invalid {
                what: step.to_owned(),
                message: "a bearer challenge without a realm".into(),
            })?;
        let (host, mut path) = redirect_target(&self.source.host, realm, step)?;
        let query: Vec<String> = params
            .iter()
            .filter(|(k, _)| k == "service" || k == "scope")
            .map(|(k, v)| format!("{k}={}", query_encode(v)))
            .collect();
        if !query.is_empty() {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&query.join("&"));
        }
        let token_step = format!("getting a token for {step}");
        let response = request(
            &host,
            &path,
            "application/json",
            self.basic().as_deref(),
            &token_step,
        )
        .await?;
        if !response.status().is_success() {
            return Err(self.unauthorized());
        }
        let body = read_capped(response, MAX_DOCUMENT_BYTES, &token_step).await?;
        let answer: Value = serde_json::from_slice(&body).map_err(|e| PullError::Invalid {
            what: token_step.clone(),
            message: format!("the token answer is not JSON: {e}"),
        })?;
        let token = answer
            .get("token")
            .or_else(|| answer.get("access_token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_graphic()))
            .ok_or_else(|| PullError::Invalid {
                what: token_step,
                message: "the token answer has no usable `token`".into(),
            })?;
        Ok(format!("Bearer {token}"))
    }
}

/// `key="value"` pairs of a challenge.
fn challenge_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((value, next)) => (value, next),
                None => (quoted, ""),
            }
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        params.push((key, value.to_owned()));
        rest = next.trim_start_matches(',').trim();
    }
    params
}

fn query_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a `Location` (or a bearer realm) points: a path on `host`, or an `http://` URL on a
/// loopback registry. Anything else is refused: the emulator talks to loopback only.
/// The text of `response`'s header `name`; empty when absent or not text.
fn header_text(response: &Response<Incoming>, name: hyper::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn redirect_target(host: &str, location: &str, step: &str) -> Result<(String, String), PullError> {
    if location.starts_with('/') {
        return Ok((host.to_owned(), location.to_owned()));
    }
    if let Some(rest) = location.strip_prefix("http://") {
        let (target, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if is_loopback_registry(target) {
            return Ok((target.to_owned(), path.to_owned()));
        }
    }
    Err(PullError::Invalid {
        what: step.to_owned(),
        message: format!(
            "the registry sent us to `{}`: only http:// on loopback is followed",
            location.chars().take(200).collect::<String>()
        ),
    })
}

/// One `GET` on a fresh connection to `host`.
async fn request(
    host: &str,
    path: &str,
    accept: &str,
    authorization: Option<&str>,
    step: &str,
) -> Result<Response<Incoming>, PullError> {
    let unreachable = |message: String| PullError::Unreachable {
        step: step.to_owned(),
        message,
    };
    let stream = TcpStream::connect(host)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut builder = Request::get(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::ACCEPT, accept)
        .header(
            hyper::header::USER_AGENT,
            concat!("edgegap-emulator/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(value) = authorization {
        builder = builder.header(hyper::header::AUTHORIZATION, value);
    }
    let request = builder
        .body(Empty::<Bytes>::new())
        .map_err(|e| PullError::Invalid {
            what: step.to_owned(),
            message: format!("cannot make the request: {e}"),
        })?;
    sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(e.to_string()))
}

/// The body of `response`, at most `limit` bytes.
async fn read_capped(
    response: Response<Incoming>,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, PullError> {
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| PullError::Unreachable {
            step: what.to_owned(),
            message: e.to_string(),
        })?;
        if let Ok(data) = frame.into_data() {
            if (out.len() + data.len()) as u64 > limit {
                return Err(PullError::TooLarge {
                    what: what.to_owned(),
                    limit,
                });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// An error for a non-success answer: 404 names what is missing; an HTML page is named as
/// such, not quoted.
async fn status_error(response: Response<Incoming>, what: &str, step: &str) -> PullError {
    let status = response.status().as_u16();
    if status == 404 {
        return PullError::NotFound {
            what: what.to_owned(),
        };
    }
    let body = read_capped(response, 16 << 10, step)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let head = text.trim_start().to_ascii_lowercase();
    let detail = if head.starts_with("<!doctype html") || head.starts_with("<html") {
        "an HTML page, not a registry answer".to_owned()
    } else {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(200)
            .collect()
    };
    PullError::Status {
        step: step.to_owned(),
        status,
        detail,
    }
}

/// A manifest fetched and checked.
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// Fetches the manifest of `source` for this machine's platform (an index is narrowed to it),
/// its digest checked.
async fn fetch_manifest(session: &mut Session<'_>) -> Result<Manifest, PullError> {
    let source = session.source;
    let what = format!("manifest `{source}`");
    let mut reference = source.tag.clone();
    let mut expected: Option<String> = None;
    for _ in 0..2 {
        let step = format!("reading the {what}");
        let path = format!("/v2/{}/manifests/{reference}", source.repository);
        let response = session.get(&path, MANIFEST_TYPES, &step).await?;
        if !response.status().is_success() {
            return Err(status_error(response, &what, &step).await);
        }
        let header = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_capped(response, MAX_DOCUMENT_BYTES, &what).await?;
        let digest = sha256_digest(&body);
        if let Some(expected) = expected.take().or(header)
            && expected != digest
        {
            return Err(PullError::DigestMismatch {
                what: what.clone(),
                expected,
                found: digest,
            });
        }
        let document: Value = serde_json::from_slice(&body).map_err(|e| PullError::Invalid {
            what: what.clone(),
            message: format!("not JSON: {e}"),
        })?;
        if let Some(manifests) = document.get("manifests").and_then(Value::as_array) {
            let arch = host_architecture();
            let chosen = manifests
                .iter()
                .find(|m| {
                    let platform = m.get("platform");
                    let field = |k: &str| platform.and_then(|p| p.get(k)).and_then(Value::as_str);
                    field("os") == Some("linux") && field("architecture") == Some(arch)
                })
                .ok_or_else(|| PullError::Invalid {
                    what: what.clone(),
                    message: format!("the index has no linux/{arch} image"),
                })?;
            let descriptor = Descriptor::read(chosen, &what)?;
            reference = descriptor.digest.clone();
            expected = Some(descriptor.digest);
            continue;
        }
        let config = document
            .get("config")
            .ok_or_else(|| PullError::Invalid {
                what: what.clone(),
                message: "has neither `config` nor `manifests`".into(),
            })
            .and_then(|c| Descriptor::read(c, &format!("{what} config")))?;
        let layers = document
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| PullError::Invalid {
                what: what.clone(),
                message: "has no `layers`".into(),
            })?
            .iter()
            .enumerate()
            .map(|(i, l)| Descriptor::read(l, &format!("{what} layer {i}")))
            .collect::<Result<Vec<_>, _>>()?;
        let total = layers
            .iter()
            .try_fold(0u64, |sum, l| sum.checked_add(l.size))
            .filter(|total| *total <= MAX_IMAGE_BYTES);
        if total.is_none() {
            return Err(PullError::TooLarge {
                what: format!("image `{source}`"),
                limit: MAX_IMAGE_BYTES,
            });
        }
        return Ok(Manifest { config, layers });
    }
    Err(PullError::Invalid {
        what,
        message: "an index that points to another index".into(),
    })
}

/// Checks that the manifest of `source` can be fetched (`verify_image`), within `timeout`.
pub(crate) async fn verify(source: &ImageSource, timeout: Duration) -> Result<(), PullError> {
    let mut session = Session::new(source);
    tokio::time::timeout(timeout, fetch_manifest(&mut session))
        .await
        .map_err(|_| PullError::Timeout { after: timeout })?
        .map(|_| ())
}

/// What runs a pulled image: its entrypoint in its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// The deployment's directory (the image's root).
    pub root: PathBuf,
    /// The entrypoint's executable, inside `root`.
    pub program: PathBuf,
    /// The rest of `Entrypoint`, then `Cmd`.
    pub args: Vec<String>,
    /// `WorkingDir`, inside `root`.
    pub cwd: PathBuf,
    /// The image's `Env`, without `PATH` (its directories are inside the image).
    pub env: Vec<(String, String)>,
}

/// The emulator's working directory for images: a blob cache shared by its deployments, and a
/// directory per deployment. Made on first use under the system's temporary directory and
/// removed when the emulator shuts down.
#[derive(Debug, Default)]
pub(crate) struct Store {
    dir: OnceLock<PathBuf>,
    /// Serialises moving a blob into the cache.
    cache: Mutex<()>,
}

impl Store {
    fn dir(&self) -> Result<&Path, PullError> {
        if let Some(dir) = self.dir.get() {
            return Ok(dir);
        }
        let dir = std::env::temp_dir().join(format!(
            "edgegap-emulator-{}-{}",
            std::process::id(),
            random_hex(8)
        ));
        for sub in ["blobs", "deployments"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io_error("the image directory"))?;
        }
        Ok(self.dir.get_or_init(|| dir))
    }

    /// Where deployment `id`'s image is unpacked.
    fn deployment_dir(&self, id: &str) -> Result<PathBuf, PullError> {
        Ok(self.dir()?.join("deployments").join(id))
    }

    /// Removes deployment `id`'s directory (its process is gone).
    pub(crate) fn remove_deployment(&self, id: &str) {
        if let Some(dir) = self.dir.get() {
            unpack::remove_tree(&dir.join("deployments").join(id));
        }
    }

    /// Removes everything (on shutdown).
    pub(crate) fn remove_all(&self) {
        if let Some(dir) = self.dir.get() {
            unpack::remove_tree(dir);
        }
    }

    /// Downloads blob `descriptor` into the cache (kept only once its digest matches) unless it
    /// is there; returns its path.
    async fn blob(
        &self,
        session: &mut Session<'_>,
        descriptor: &Descriptor,
        what: &str,
    ) -> Result<PathBuf, PullError> {
        let hex = descriptor.digest.trim_start_matches("sha256:");
        let path = self.dir()?.join("blobs").join(hex);
        if path.is_file() {
            return Ok(path);
        }
        let step = format!("downloading {what}");
        let url = format!(
            "/v2/{}/blobs/{}",
            session.source.repository, descriptor.digest
        );
        let response = session.get(&url, "*/*", &step).await?;
        if !response.status().is_success() {
            return Err(status_error(response, what, &step).await);
        }
        let partial = path.with_extension(format!("partial-{}", random_hex(8)));
        let written = write_blob(response, &partial, descriptor, what).await;
        if let Err(error) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
        let _moving = lock(&self.cache);
        std::fs::rename(&partial, &path).map_err(io_error(format!("{what} to the cache")))?;
        Ok(path)
    }

    /// Pulls `source` and unpacks it for deployment `id`, within `timeout`.
    pub(crate) async fn prepare(
        &self,
        source: &ImageSource,
        id: &str,
        timeout: Duration,
    ) -> Result<Prepared, PullError> {
        let root = self.deployment_dir(id)?;
        let staging = root.with_extension("partial");
        let result = tokio::time::timeout(timeout, self.pull(source, &staging))
            .await
            .unwrap_or(Err(PullError::Timeout { after: timeout }));
        let result = result.and_then(|config| {
            std::fs::rename(&staging, &root).map_err(io_error("the deployment's directory"))?;
            entrypoint(&root, &config)
        });
        if result.is_err() {
            unpack::remove_tree(&staging);
            unpack::remove_tree(&root);
        }
        result
    }

    /// Downloads what is missing and unpacks every layer into `staging`; returns the config.
    async fn pull(&self, source: &ImageSource, staging: &Path) -> Result<Value, PullError> {
        let mut session = Session::new(source);
        let manifest = fetch_manifest(&mut session).await?;
        if manifest.config.size > MAX_DOCUMENT_BYTES {
            return Err(PullError::TooLarge {
                what: format!("config of `{source}`"),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        let config_what = format!("config `{}` of `{source}`", manifest.config.digest);
        let config_path = self
            .blob(&mut session, &manifest.config, &config_what)
            .await?;
        let config_bytes = std::fs::read(&config_path).map_err(io_error(config_what.clone()))?;
        let config: Value =
            serde_json::from_slice(&config_bytes).map_err(|e| PullError::Invalid {
                what: config_what.clone(),
                message: format!("not JSON: {e}"),
            })?;
        let field = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("?");
        let arch = host_architecture();
        if (field("os"), field("architecture")) != ("linux", arch) {
            return Err(PullError::Invalid {
                what: format!("image `{source}`"),
                message: format!(
                    "it is {}/{}, and this machine runs linux/{arch}",
                    field("os"),
                    field("architecture")
                ),
            });
        }
        let diff_ids: Vec<String> = config
            .pointer("/rootfs/diff_ids")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .map(|d| check_digest(&config_what, d.as_str().unwrap_or_default()))
                    .collect::<Result<_, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        if diff_ids.len() != manifest.layers.len() {
            return Err(PullError::Invalid {
                what: config_what,
                message: format!(
                    "{} diff_ids for {} layers",
                    diff_ids.len(),
                    manifest.layers.len()
                ),
            });
        }
        let mut layers = Vec::new();
        for (i, (layer, diff_id)) in manifest.layers.iter().zip(diff_ids).enumerate() {
            let what = format!("layer {i} `{}` of `{source}`", layer.digest);
            let path = self.blob(&mut session, layer, &what).await?;
            layers.push(unpack::Layer {
                path,
                media_type: layer.media_type.clone(),
                diff_id,
                what,
            });
        }
        let staging = staging.to_owned();
        tokio::task::spawn_blocking(move || {
            unpack::remove_tree(&staging);
            unpack::unpack(&layers, &staging, MAX_UNPACKED_BYTES)
        })
        .await
        .map_err(|e| PullError::Io {
            what: "the image".into(),
            message: e.to_string(),
        })??;
        Ok(config)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// Streams a blob answer into `path`: at most `descriptor.size` bytes, exactly that many, and
/// with its digest.
async fn write_blob(
    response: Response<Incoming>,
    path: &Path,
    descriptor: &Descriptor,
    what: &str,
) -> Result<(), PullError> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).map_err(io_error(what.to_owned()))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| PullError::Unreachable {
            step: format!("downloading {what}"),
            message: e.to_string(),
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        written += data.len() as u64;
        if written > descriptor.size {
            return Err(PullError::TooLarge {
                what: what.to_owned(),
                limit: descriptor.size,
            });
        }
        hasher.update(&data);
        file.write_all(&data).map_err(io_error(what.to_owned()))?;
    }
    file.flush().map_err(io_error(what.to_owned()))?;
    let found = format!("sha256:{}", hex(&hasher.finalize()));
    if found != descriptor.digest {
        return Err(PullError::DigestMismatch {
            what: what.to_owned(),
            expected: descriptor.digest.clone(),
            found,
        });
    }
    if written != descriptor.size {
        return Err(PullError::Invalid {
            what: what.to_owned(),
            message: format!("{written} bytes, the manifest says {}", descriptor.size),
        });
    }
    Ok(())
}

/// The image's entrypoint, arguments, working directory and environment, every path inside
/// `root`.
fn entrypoint(root: &Path, config: &Value) -> Result<Prepared, PullError> {
    let inner = config.get("config").cloned().unwrap_or(Value::Null);
    let strings = |key: &str| -> Vec<String> {
        inner
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut command = strings("Entrypoint");
    command.extend(strings("Cmd"));
    let invalid = |message: String| PullError::Invalid {
        what: "the image's config".into(),
        message,
    };
    if command.is_empty() {
        return Err(invalid("it has no Entrypoint or Cmd".into()));
    }
    let env: Vec<(String, String)> = strings("Env")
        .into_iter()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect();
    let working_dir = inner
        .get("WorkingDir")
        .and_then(Value::as_str)
        .filter(|w| !w.is_empty())
        .unwrap_or("/");
    let cwd = unpack::inside(root, Path::new("/"), working_dir)
        .map_err(|why| invalid(format!("WorkingDir `{working_dir}`: {why}")))?;
    let program_name = &command[0];
    let program = if program_name.contains('/') {
        unpack::inside(root, &cwd, program_name)
    } else {
        let path = env.iter().find(|(k, _)| k == "PATH").map_or(
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            |(_, v)| v.as_str(),
        );
        path.split(':')
            .filter_map(|dir| unpack::inside(root, Path::new("/"), dir).ok())
            .map(|dir| dir.join(program_name))
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| format!("not found on the image's PATH `{path}`"))
    }
    .map_err(|why| invalid(format!("entrypoint `{program_name}`: {why}")))?;
    if !program.is_file() {
        return Err(invalid(format!(
            "entrypoint `{program_name}` is not a file in the image"
        )));
    }
    Ok(Prepared {
        root: root.to_owned(),
        program,
        args: command[1..].to_vec(),
        cwd,
        env: env.into_iter().filter(|(k, _)| k != "PATH").collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_registries_with_a_port_are_reached() {
        for host in [
            "127.0.0.1:5000",
            "localhost:80",
            "[::1]:5000",
            "127.2.3.4:1",
        ] {
            assert!(is_loopback_registry(host), "{host}");
        }
        for host in [
            "registry.edgegap.com",
            "127.0.0.1",
            "10.0.0.1:5000",
            "localhost.evil.com:5000",
            "[::1]",
            "127.0.0.1:0",
            "127.0.0.1:x",
        ] {
            assert!(!is_loopback_registry(host), "{host}");
        }
    }

    #[test]
    fn digests_are_sha256_hex_only() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert_eq!(check_digest("x", &good), Ok(good.clone()));
        for bad in [
            "sha256:../../etc/passwd".to_owned(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha512:{}", "a".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
        ] {
            assert!(check_digest("x", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn challenges_and_redirects_are_read() {
        assert_eq!(
            challenge_params(
                r#"realm="http://127.0.0.1:5001/token",service="registry",scope="repository:p/i:pull""#
            ),
            vec![
                ("realm".into(), "http://127.0.0.1:5001/token".into()),
                ("service".into(), "registry".into()),
                ("scope".into(), "repository:p/i:pull".into()),
            ]
        );
        assert_eq!(
            redirect_target("127.0.0.1:5000", "/v2/x", "s"),
            Ok(("127.0.0.1:5000".into(), "/v2/x".into()))
        );
        assert_eq!(
            redirect_target("127.0.0.1:5000", "http://localhost:9/blob?a=1", "s"),
            Ok(("localhost:9".into(), "/blob?a=1".into()))
        );
        for away in [
            "http://evil.example.com/x",
            "https://127.0.0.1:5000/x",
            "file:///etc",
        ] {
            assert!(
                redirect_target("127.0.0.1:5000", away, "s").is_err(),
                "{away}"
            );
        }
    }
}
