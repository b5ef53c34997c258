//! The OCI image, made without Docker: one layer (a gzipped tar) holding the server under
//! `/app/`, its `assets/` beside it, and with `--base none` the shared libraries it links; a
//! config naming `linux`/`amd64`, the entrypoint and the exposed ports; a manifest listing
//! the base image's layers first, then ours.
//!
//! Everything is deterministic: entries sorted, owner `0:0`, modification time 0, gzip without
//! a timestamp, the config's `created` taken from the git commit. An unchanged binary makes
//! the same layer digest, so a second release uploads no layer bytes.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzipped layer media type.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The directory in the image that holds the server and its `assets/`; the working directory.
pub const APP_DIR: &str = "/app";
/// `PATH` of an image made from no base.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    hex_digest(Sha256::digest(bytes).as_slice())
}

fn hex_digest(hash: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// What goes into our layer.
#[derive(Debug, Clone)]
pub struct LayerInput {
    /// The server executable on this machine.
    pub executable: PathBuf,
    /// Its file name in [`APP_DIR`].
    pub name: String,
    /// The package's `assets/` directory, copied to `/app/assets/`.
    pub assets: Option<PathBuf>,
    /// Shared libraries (absolute paths), stored at the same paths in the image (`--base
    /// none`).
    pub libraries: Vec<PathBuf>,
    /// No base image: also add `/tmp` (mode 1777), which programs expect.
    pub scratch: bool,
    /// Fast gzip (level 1) instead of the default (level 6): for `--dev` builds, which are
    /// big and rebuilt often.
    pub fast: bool,
}

/// Our layer, built.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    /// The gzipped tar.
    pub data: Bytes,
    /// `sha256:` of [`data`](Self::data) (what the registry stores it under).
    pub digest: String,
    /// `sha256:` of the uncompressed tar (the config's `diff_id`).
    pub diff_id: String,
    /// Bytes before compression.
    pub uncompressed: u64,
    /// Files in it.
    pub files: usize,
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One entry of the layer's tar.
enum Entry {
    Dir { mode: u32 },
    File { source: PathBuf, mode: u32 },
}

/// Builds our layer from `input`.
pub fn build_layer(input: &LayerInput) -> Result<BuiltLayer, Error> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let app = APP_DIR.trim_start_matches('/');
    add_parents(&mut entries, &format!("{app}/{}", input.name));
    entries.insert(
        format!("{app}/{}", input.name),
        Entry::File {
            source: input.executable.clone(),
            mode: 0o755,
        },
    );
    if let Some(assets) = &input.assets {
        let root = format!("{app}/assets");
        add_parents(&mut entries, &format!("{root}/x"));
        add_tree(&mut entries, assets, &root, 0)?;
    }
    for library in &input.libraries {
        let path = library.to_string_lossy().trim_start_matches('/').to_owned();
        if path.is_empty() || path.split('/').any(|c| c == ".." || c == ".") {
            return Err(Error::Build(format!(
                "cannot bundle library `{}`: not a plain absolute path",
                library.display()
            )));
        }
        add_parents(&mut entries, &path);
        entries.insert(
            path,
            Entry::File {
                source: library.clone(),
                mode: 0o755,
            },
        );
    }
    if input.scratch {
        entries.insert("tmp".into(), Entry::Dir { mode: 0o1777 });
    }

    let level = if input.fast {
        Compression::fast()
    } else {
        Compression::default()
    };
    // `GzEncoder::new` writes no timestamp and no file name: the same tar, the same bytes.
    let writer = Hashing {
        inner: GzEncoder::new(Vec::new(), level),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut tar = tar::Builder::new(writer);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut files = 0;
    for (path, entry) in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match entry {
            Entry::Dir { mode } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                header.set_size(0);
                tar.append_data(&mut header, format!("{path}/"), io::empty())
                    .map_err(|e| Error::io("the layer being written", e))?;
            }
            Entry::File { source, mode } => {
                let file = std::fs::File::open(source)
                    .map_err(|e| Error::io(format!("`{}`", source.display()), e))?;
                let size = file
                    .metadata()
                    .map_err(|e| Error::io(format!("`{}`", source.display()), e))?
                    .len();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(size);
                tar.append_data(&mut header, path, file)
                    .map_err(|e| Error::io(format!("`{}`", source.display()), e))?;
                files += 1;
            }
        }
    }
    let hashing = tar
        .into_inner()
        .map_err(|e| Error::io("the layer being written", e))?;
    let diff_id = hex_digest(hashing.hasher.finalize().as_slice());
    let data = hashing
        .inner
        .finish()
        .map_err(|e| Error::io("the layer being compressed", e))?;
    Ok(BuiltLayer {
        digest: sha256_digest(&data),
        data: Bytes::from(data),
        diff_id,
        uncompressed: hashing.bytes,
        files,
    })
}

/// Adds the directories above `path` (not `path` itself).
fn add_parents(entries: &mut BTreeMap<String, Entry>, path: &str) {
    let mut at = String::new();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        entries
            .entry(at.clone())
            .or_insert(Entry::Dir { mode: 0o755 });
    }
}

/// Adds everything under `dir` as `prefix/...`, following symbolic links (at most 32 deep,
/// so a link loop ends).
fn add_tree(
    entries: &mut BTreeMap<String, Entry>,
    dir: &Path,
    prefix: &str,
    depth: usize,
) -> Result<(), Error> {
    if depth > 32 {
        return Err(Error::Build(format!(
            "`{}` is nested more than 32 deep (a symbolic link loop?)",
            dir.display()
        )));
    }
    entries.insert(prefix.to_owned(), Entry::Dir { mode: 0o755 });
    let read = std::fs::read_dir(dir).map_err(|e| Error::io(format!("`{}`", dir.display()), e))?;
    for item in read {
        let item = item.map_err(|e| Error::io(format!("`{}`", dir.display()), e))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else {
            return Err(Error::Build(format!(
                "`{}` has a name that is not UTF-8",
                item.path().display()
            )));
        };
        let path = item.path();
        let meta =
            std::fs::metadata(&path).map_err(|e| Error::io(format!("`{}`", path.display()), e))?;
        let inside = format!("{prefix}/{name}");
        if meta.is_dir() {
            add_tree(entries, &path, &inside, depth + 1)?;
        } else if meta.is_file() {
            entries.insert(
                inside,
                Entry::File {
                    source: path,
                    mode: 0o644,
                },
            );
        }
    }
    Ok(())
}

/// A base image, resolved for `linux/amd64`.
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// Its reference as given (`gcr.io/distroless/cc-debian12`).
    pub reference: String,
    /// Its manifest's digest.
    pub digest: String,
    /// Its layers, in order.
    pub layers: Vec<LayerRef>,
    /// Its config (kept whole: environment, user, labels, history).
    pub config: Value,
}

/// A layer of the image: where it is and what it is.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// `sha256:…` of the compressed bytes.
    pub digest: String,
    /// Compressed size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// The bytes of our own layer; `None` for a base layer (pulled from the base image's
    /// registry when the target registry lacks it).
    pub data: Option<Bytes>,
}

/// The image, ready to push.
#[derive(Debug, Clone)]
pub struct Image {
    /// Layers, the base image's first.
    pub layers: Vec<LayerRef>,
    /// The config blob.
    pub config: Bytes,
    /// Its digest.
    pub config_digest: String,
    /// The manifest.
    pub manifest: Bytes,
    /// Its digest (what the tag will point to).
    pub manifest_digest: String,
    /// The entrypoint.
    pub entrypoint: Vec<String>,
    /// The exposed ports (`7777/udp`).
    pub exposed_ports: Vec<String>,
    /// The base image, if any.
    pub base: Option<BaseImage>,
}

impl Image {
    /// What a registry stores for it: config and compressed layers (the manifest aside).
    pub fn size(&self) -> u64 {
        self.config.len() as u64 + self.layers.iter().map(|l| l.size).sum::<u64>()
    }
}

/// What the config says beyond the layers.
#[derive(Debug, Clone, Default)]
pub struct ConfigInput {
    /// The entrypoint (`/app/<name>`).
    pub entrypoint: Vec<String>,
    /// Exposed ports (`7777/udp`).
    pub exposed_ports: Vec<String>,
    /// Labels (`org.opencontainers.image.*`).
    pub labels: BTreeMap<String, String>,
    /// `created`, RFC 3339 (the commit date), or none.
    pub created: Option<String>,
}

/// Maps Docker's layer media types to their OCI names (same bytes), so the manifest is all
/// OCI.
fn oci_layer_type(media_type: &str) -> Result<String, Error> {
    Ok(match media_type {
        OCI_LAYER_GZIP | "application/vnd.docker.image.rootfs.diff.tar.gzip" => OCI_LAYER_GZIP,
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+zstd" => media_type,
        other => {
            return Err(Error::Build(format!(
                "the base image has a layer of type `{other}`, which cannot be carried into an OCI image"
            )));
        }
    }
    .to_owned())
}

/// Puts the image together: the base's layers and config (if any), then `layer`.
pub fn assemble(
    base: Option<BaseImage>,
    layer: &BuiltLayer,
    input: &ConfigInput,
) -> Result<Image, Error> {
    let mut layers = Vec::new();
    let mut config = match &base {
        Some(base) => {
            for l in &base.layers {
                layers.push(LayerRef {
                    media_type: oci_layer_type(&l.media_type)?,
                    ..l.clone()
                });
            }
            base.config.clone()
        }
        None => json!({}),
    };
    layers.push(LayerRef {
        digest: layer.digest.clone(),
        size: layer.data.len() as u64,
        media_type: OCI_LAYER_GZIP.to_owned(),
        data: Some(layer.data.clone()),
    });
    let Value::Object(root) = &mut config else {
        return Err(Error::Build(
            "the base image's config is not a JSON object".into(),
        ));
    };
    root.insert("architecture".into(), json!("amd64"));
    root.insert("os".into(), json!("linux"));
    match &input.created {
        Some(created) => root.insert("created".into(), json!(created)),
        None => root.remove("created"),
    };
    let inner = root.entry("config").or_insert_with(|| json!({}));
    if !inner.is_object() {
        *inner = json!({});
    }
    if let Value::Object(inner) = inner {
        inner.insert("Entrypoint".into(), json!(input.entrypoint));
        inner.remove("Cmd");
        inner.insert("WorkingDir".into(), json!(APP_DIR));
        let env = inner.entry("Env").or_insert_with(|| json!([DEFAULT_PATH]));
        if !env.is_array() {
            *env = json!([DEFAULT_PATH]);
        }
        let ports = inner.entry("ExposedPorts").or_insert_with(|| json!({}));
        if !ports.is_object() {
            *ports = json!({});
        }
        if let Value::Object(ports) = ports {
            for port in &input.exposed_ports {
                ports.insert(port.clone(), json!({}));
            }
        }
        if inner
            .get("ExposedPorts")
            .is_some_and(|p| p.as_object().is_some_and(|o| o.is_empty()))
        {
            inner.remove("ExposedPorts");
        }
        let labels = inner.entry("Labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        if let Value::Object(labels) = labels {
            for (k, v) in &input.labels {
                labels.insert(k.clone(), json!(v));
            }
        }
    }
    let mut diff_ids: Vec<Value> = root
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if diff_ids.len() != layers.len() - 1 {
        return Err(Error::Build(format!(
            "the base image lists {} layers but {} diff_ids",
            layers.len() - 1,
            diff_ids.len()
        )));
    }
    diff_ids.push(json!(layer.diff_id));
    root.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": diff_ids}),
    );
    let mut history: Vec<Value> = root
        .get("history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut ours = json!({
        "created_by": "cargo edgegap release",
        "comment": format!("{} and its assets", input.entrypoint.join(" ")),
    });
    if let Some(created) = &input.created {
        ours["created"] = json!(created);
    }
    history.push(ours);
    root.insert("history".into(), Value::Array(history));

    let config = serde_json::to_vec(&config)
        .map_err(|e| Error::Build(format!("cannot write the image config: {e}")))?;
    let config_digest = sha256_digest(&config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": layers.iter().map(|l| json!({
            "mediaType": l.media_type, "digest": l.digest, "size": l.size
        })).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest)
        .map_err(|e| Error::Build(format!("cannot write the image manifest: {e}")))?;
    Ok(Image {
        layers,
        config_digest,
        config: Bytes::from(config),
        manifest_digest: sha256_digest(&manifest),
        manifest: Bytes::from(manifest),
        entrypoint: input.entrypoint.clone(),
        exposed_ports: input.exposed_ports.clone(),
        base,
    })
}

/// The newest `GLIBC_2.x` symbol version a dynamically linked executable asks for, read
/// from its bytes (the version names are in its `.dynstr`).
pub fn required_glibc(executable: &[u8]) -> Option<(u32, u32)> {
    const NEEDLE: &[u8] = b"GLIBC_2.";
    let mut newest = None;
    let mut at = 0;
    while let Some(found) = find(&executable[at..], NEEDLE) {
        let start = at + found + NEEDLE.len();
        let digits: Vec<u8> = executable[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        if let Ok(minor) = std::str::from_utf8(&digits).unwrap_or("").parse::<u32>() {
            newest = newest.max(Some((2, minor)));
        }
        at = start;
    }
    newest
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        match haystack[i..].iter().position(|&b| b == first) {
            Some(p) => i += p,
            None => return None,
        }
        if haystack[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The glibc of the distroless bases whose glibc is known: Debian 12's 2.36, Debian 13's 2.41.
pub fn known_base_glibc(base: &str) -> Option<(u32, u32)> {
    let reference: oci_client::Reference = base.parse().ok()?;
    if reference.registry() != "gcr.io" {
        return None;
    }
    match reference.repository() {
        "distroless/cc-debian12" | "distroless/base-debian12" => Some((2, 36)),
        "distroless/cc-debian13" | "distroless/base-debian13" => Some((2, 41)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cargo-edgegap-image-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("assets/maps")).unwrap();
        std::fs::write(dir.join("server"), b"\x7fELF fake server").unwrap();
        std::fs::write(dir.join("assets/maps/forest.txt"), b"trees").unwrap();
        std::fs::write(dir.join("assets/a.txt"), b"a").unwrap();
        dir
    }

    fn input(dir: &Path) -> LayerInput {
        LayerInput {
            executable: dir.join("server"),
            name: "server".into(),
            assets: Some(dir.join("assets")),
            libraries: Vec::new(),
            scratch: true,
            fast: true,
        }
    }

    #[test]
    fn the_layer_holds_server_and_assets_and_is_reproducible() {
        let dir = scratch_dir("layer");
        let layer = build_layer(&input(&dir)).unwrap();
        let again = build_layer(&input(&dir)).unwrap();
        assert_eq!(layer.digest, again.digest, "same input, same bytes");
        assert_eq!(layer.files, 3);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&layer.data[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(sha256_digest(&tar), layer.diff_id);
        let mut archive = tar::Archive::new(&tar[..]);
        let listed: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            vec![
                ("app/".into(), 0o755),
                ("app/assets/".into(), 0o755),
                ("app/assets/a.txt".into(), 0o644),
                ("app/assets/maps/".into(), 0o755),
                ("app/assets/maps/forest.txt".into(), 0o644),
                ("app/server".into(), 0o755),
                ("tmp/".into(), 0o1777),
            ]
        );
        std::fs::write(dir.join("server"), b"\x7fELF changed").unwrap();
        assert_ne!(build_layer(&input(&dir)).unwrap().digest, layer.digest);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_config_names_platform_entrypoint_ports_and_keeps_the_base() {
        let dir = scratch_dir("config");
        let layer = build_layer(&input(&dir)).unwrap();
        let base = BaseImage {
            reference: "example.com/base:1".into(),
            digest: "sha256:b".into(),
            layers: vec![LayerRef {
                digest: "sha256:base".into(),
                size: 10,
                media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
                data: None,
            }],
            config: json!({
                "architecture": "amd64", "os": "linux",
                "config": {"Env": ["PATH=/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"], "User": "0", "Cmd": ["/bin/sh"]},
                "rootfs": {"type": "layers", "diff_ids": ["sha256:basediff"]},
                "history": [{"created_by": "base"}]
            }),
        };
        let input = ConfigInput {
            entrypoint: vec!["/app/server".into()],
            exposed_ports: vec!["7777/udp".into()],
            labels: [(
                "org.opencontainers.image.title".to_owned(),
                "game".to_owned(),
            )]
            .into(),
            created: Some("2026-12-06T12:00:00+00:00".into()),
        };
        let image = assemble(Some(base), &layer, &input).unwrap();
        let config: Value = serde_json::from_slice(&image.config).unwrap();
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["config"]["Entrypoint"], json!(["/app/server"]));
        assert_eq!(config["config"]["Cmd"], Value::Null);
        assert_eq!(config["config"]["WorkingDir"], "/app");
        assert_eq!(config["config"]["User"], "0");
        assert_eq!(config["config"]["ExposedPorts"], json!({"7777/udp": {}}));
        assert_eq!(
            config["config"]["Env"][1],
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
        );
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!(["sha256:basediff", layer.diff_id])
        );
        assert_eq!(config["history"].as_array().unwrap().len(), 2);
        let manifest: Value = serde_json::from_slice(&image.manifest).unwrap();
        assert_eq!(manifest["mediaType"], OCI_MANIFEST);
        assert_eq!(manifest["config"]["digest"], json!(image.config_digest));
        assert_eq!(manifest["layers"][0]["digest"], "sha256:base");
        assert_eq!(manifest["layers"][0]["mediaType"], OCI_LAYER_GZIP);
        assert_eq!(manifest["layers"][1]["digest"], json!(layer.digest));
        assert_eq!(image.manifest_digest, sha256_digest(&image.manifest));
        assert_eq!(
            image.size(),
            10 + layer.data.len() as u64 + image.config.len() as u64
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn glibc_needs_are_read_and_known_bases_matched() {
        let bytes = b"\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0GLIBC_PRIVATE\0";
        assert_eq!(required_glibc(bytes), Some((2, 34)));
        assert_eq!(required_glibc(b"static"), None);
        assert_eq!(
            known_base_glibc("gcr.io/distroless/cc-debian12"),
            Some((2, 36))
        );
        assert_eq!(
            known_base_glibc("gcr.io/distroless/cc-debian12:nonroot"),
            Some((2, 36))
        );
        assert_eq!(
            known_base_glibc(&format!(
                "gcr.io/distroless/cc-debian13@sha256:{}",
                "a".repeat(64)
            )),
            Some((2, 41))
        );
        assert_eq!(known_base_glibc("127.0.0.1:5000/base/img:1"), None);
    }
}
