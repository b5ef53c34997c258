//! Images for the image-deploy tests: layers built entry by entry (hostile ones included),
//! pushed to a real registry over the distribution API, or served by a fake registry that
//! answers what a test wants.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// `sha256:<hex>`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    format!(
        "sha256:{}",
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// One entry of a layer, written as given (paths are not checked: hostile ones are the point).
pub enum Entry {
    File(&'static str, u32, Vec<u8>),
    Dir(&'static str),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
}

fn header(path: &str, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_old();
    let name = &mut header.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header
}

fn set_link(header: &mut tar::Header, target: &str) {
    let link = &mut header.as_old_mut().linkname;
    link[..target.len()].copy_from_slice(target.as_bytes());
}

/// The uncompressed tar of `entries`.
pub fn tar(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let (mut header, data): (tar::Header, &[u8]) = match entry {
            Entry::File(path, mode, data) => (
                header(path, tar::EntryType::Regular, *mode, data.len() as u64),
                data,
            ),
            Entry::Dir(path) => (header(path, tar::EntryType::Directory, 0o755, 0), &[]),
            Entry::Symlink(path, target) => {
                let mut h = header(path, tar::EntryType::Symlink, 0o777, 0);
                set_link(&mut h, target);
                (h, &[])
            }
            Entry::Hardlink(path, target) => {
                let mut h = header(path, tar::EntryType::Link, 0o644, 0);
                set_link(&mut h, target);
                (h, &[])
            }
        };
        header.set_cksum();
        builder.append(&header, data).expect("append");
    }
    builder.into_inner().expect("tar")
}

/// `bytes` gzipped.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// An image: its blobs by digest, its manifest.
pub struct Image {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
}

impl Image {
    /// A one-layer linux/amd64 image of `entries`, with `config` as its `config` object and
    /// `diff_id` (the layer's, unless given).
    pub fn new(entries: &[Entry], config: Value, diff_id: Option<String>) -> Self {
        let tar = tar(entries);
        let layer = gzip(&tar);
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id.unwrap_or_else(|| digest(&tar))]},
        }))
        .expect("config");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest(&config), "size": config.len()},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": digest(&layer), "size": layer.len()}],
        }))
        .expect("manifest");
        Self {
            manifest,
            config,
            layers: vec![layer],
        }
    }

    /// The image of a shell script at `/app/server` (its entrypoint, with `Cmd` `--flag`),
    /// `/app/assets/hello.txt` beside it, `WorkingDir` `/app`, `Env` `FROM_IMAGE=yes`.
    pub fn script(body: &str) -> Self {
        Self::new(
            &[
                Entry::Dir("app/"),
                Entry::File(
                    "app/server",
                    0o755,
                    format!("#!/bin/sh\n{body}\n").into_bytes(),
                ),
                Entry::Dir("app/assets/"),
                Entry::File(
                    "app/assets/hello.txt",
                    0o644,
                    b"hello from the image\n".to_vec(),
                ),
            ],
            json!({
                "Entrypoint": ["/app/server"],
                "Cmd": ["--flag"],
                "WorkingDir": "/app",
                "Env": ["PATH=/nonexistent", "FROM_IMAGE=yes"],
            }),
            None,
        )
    }

    /// Pushes it to the registry at `host` (`127.0.0.1:port`) as `repository:tag`, with
    /// `basic` (`user`, `password`) if given.
    pub fn push(&self, host: &str, repository: &str, tag: &str, basic: Option<(&str, &str)>) {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .redirects(0)
            .build();
        let auth = basic.map(|(user, password)| {
            use base64::Engine as _;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        });
        let with_auth = |request: ureq::Request| match &auth {
            Some(auth) => request.set("Authorization", auth),
            None => request,
        };
        let blobs = std::iter::once(&self.config).chain(self.layers.iter());
        for blob in blobs {
            let started =
                with_auth(agent.post(&format!("http://{host}/v2/{repository}/blobs/uploads/")))
                    .call()
                    .expect("start an upload");
            let location = started.header("Location").expect("Location").to_owned();
            let location = if location.starts_with('/') {
                format!("http://{host}{location}")
            } else {
                location
            };
            let separator = if location.contains('?') { '&' } else { '?' };
            with_auth(agent.put(&format!("{location}{separator}digest={}", digest(blob))))
                .set("Content-Type", "application/octet-stream")
                .send_bytes(blob)
                .expect("upload a blob");
        }
        with_auth(agent.put(&format!("http://{host}/v2/{repository}/manifests/{tag}")))
            .set("Content-Type", OCI_MANIFEST)
            .send_bytes(&self.manifest)
            .expect("put the manifest");
    }

    /// Its blobs by digest (config and layers).
    pub fn blobs(&self) -> HashMap<String, Vec<u8>> {
        std::iter::once(&self.config)
            .chain(self.layers.iter())
            .map(|b| (digest(b), b.clone()))
            .collect()
    }
}

/// What the fake registry answers to one `GET path`.
pub enum Answer {
    /// Status, headers, body.
    Reply(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// No answer: the connection is held open until the fake is dropped.
    Hang,
}

/// A registry that is not one: answers each `GET` with `handler(path)`, one request per
/// connection. Stops accepting when dropped.
pub struct FakeRegistry {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FakeRegistry {
    pub fn start(handler: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                }
                match handler(&path) {
                    Answer::Hang => held.push(stream),
                    Answer::Reply(status, headers, body) => {
                        let mut stream = stream;
                        let mut head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(&body);
                        let _ = stream.flush();
                        let mut rest = Vec::new();
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
                        let _ = stream.read_to_end(&mut rest);
                    }
                }
            }
        });
        Self { port, stop }
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A registry serving `image` as `repository:tag` (manifest by tag and by digest, blobs by
    /// digest), where `sabotage` may answer instead.
    pub fn serving(
        image: &Image,
        repository: &'static str,
        tag: &'static str,
        sabotage: impl Fn(&str) -> Option<Answer> + Send + Sync + 'static,
    ) -> Self {
        let manifest = image.manifest.clone();
        let blobs = image.blobs();
        Self::start(move |path| {
            if let Some(answer) = sabotage(path) {
                return answer;
            }
            let manifest_digest = digest(&manifest);
            if path == format!("/v2/{repository}/manifests/{tag}")
                || path == format!("/v2/{repository}/manifests/{manifest_digest}")
            {
                return Answer::Reply(
                    200,
                    vec![
                        ("Content-Type", OCI_MANIFEST.into()),
                        ("Docker-Content-Digest", manifest_digest),
                    ],
                    manifest.clone(),
                );
            }
            if let Some(d) = path.strip_prefix(&format!("/v2/{repository}/blobs/"))
                && let Some(blob) = blobs.get(d)
            {
                return Answer::Reply(200, vec![], blob.clone());
            }
            Answer::Reply(
                404,
                vec![("Content-Type", "application/json".into())],
                br#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#.to_vec(),
            )
        })
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
