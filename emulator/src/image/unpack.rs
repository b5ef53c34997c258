//! Unpacking an image's layers into a directory, so that nothing lands or points outside it.
//!
//! Each layer is a tar (gzip-compressed or not), applied in order with OCI whiteouts
//! (`.wh.<name>` removes a lower layer's file, `.wh..wh..opq` empties a directory). Refused,
//! with [`PullError::Unsafe`], and the whole unpacking abandoned:
//! - an entry path with a `..` component (`../x`, `a/../../x`; a leading `/` is dropped:
//!   entry paths are the image's own);
//! - an entry written through a symbolic link an earlier entry made (`lib -> /etc`, then
//!   `lib/passwd`): every directory on an entry's path must be a real directory;
//! - a symbolic link whose target leaves the directory (`../../etc`); an absolute target
//!   (`/lib/x`) is the image's own path and is rewritten relative, to stay inside;
//! - a hard link to a path outside, or through a symbolic link;
//! - after every layer, a symbolic link that resolves (through other links) outside.
//!
//! Devices and FIFOs are skipped; modes keep their permission bits only (no set-uid); every
//! directory stays writable by its owner (so it can be removed). The uncompressed bytes of
//! each layer are hashed and compared with its `diff_id`, and counted against a limit.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use sha2::{Digest as _, Sha256};

use super::error::{PullError, io_error};
use crate::util::hex;

/// A downloaded layer, ready to unpack.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    /// The verified blob.
    pub path: PathBuf,
    pub media_type: String,
    /// `sha256:…` of the uncompressed tar.
    pub diff_id: String,
    /// How errors name it.
    pub what: String,
}

/// Removes a directory tree, making its directories writable first (best effort).
pub(crate) fn remove_tree(path: &Path) {
    fn writable(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = fs::symlink_metadata(path) else {
            return;
        };
        if meta.is_dir() {
            let mode = meta.permissions().mode();
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o700));
            if let Ok(entries) = fs::read_dir(path) {
                for entry in entries.flatten() {
                    writable(&entry.path());
                }
            }
        }
    }
    writable(path);
    let _ = fs::remove_dir_all(path);
}

/// A reader that hashes and counts what passes, failing past `limit` bytes.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(LimitExceeded));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The marker error of [`Hashing`] past its limit.
#[derive(Debug)]
struct LimitExceeded;

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the unpacked image is too large")
    }
}

impl std::error::Error for LimitExceeded {}

/// Unpacks `layers` in order into `root` (created), at most `limit` uncompressed bytes in all.
pub(crate) fn unpack(layers: &[Layer], root: &Path, limit: u64) -> Result<(), PullError> {
    fs::create_dir_all(root).map_err(io_error("the image directory"))?;
    let mut used = 0u64;
    for layer in layers {
        used += unpack_layer(layer, root, limit.saturating_sub(used), limit)?;
    }
    check_links(root)
}

/// Unpacks one layer, at most `limit` uncompressed bytes (what is left of `total_limit`).
fn unpack_layer(
    layer: &Layer,
    root: &Path,
    limit: u64,
    total_limit: u64,
) -> Result<u64, PullError> {
    let file = fs::File::open(&layer.path).map_err(io_error(layer.what.clone()))?;
    let media = layer.media_type.as_str();
    let reader: Box<dyn Read> = if media.ends_with("+zstd") || media.ends_with(".zstd") {
        return Err(PullError::Invalid {
            what: layer.what.clone(),
            message: format!("media type `{media}` (zstd) is not supported by the emulator"),
        });
    } else if media.ends_with("gzip") || media.is_empty() {
        Box::new(GzDecoder::new(io::BufReader::new(file)))
    } else if media.ends_with(".tar") {
        Box::new(io::BufReader::new(file))
    } else {
        return Err(PullError::Invalid {
            what: layer.what.clone(),
            message: format!("media type `{media}` is not a layer"),
        });
    };
    let mut hashing = Hashing {
        inner: reader,
        hasher: Sha256::new(),
        read: 0,
        limit,
    };
    let read_error = |what: &str, e: io::Error| {
        if e.get_ref().is_some_and(|inner| inner.is::<LimitExceeded>()) {
            PullError::TooLarge {
                what: "the unpacked image".into(),
                limit: total_limit,
            }
        } else {
            PullError::Invalid {
                what: what.to_owned(),
                message: format!("not a readable tar: {e}"),
            }
        }
    };
    {
        let mut archive = tar::Archive::new(&mut hashing);
        let entries = archive.entries().map_err(|e| read_error(&layer.what, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| read_error(&layer.what, e))?;
            place(&mut entry, root).map_err(|error| match error {
                Placed::Refused(error) => error,
                Placed::Io(e) => read_error(&layer.what, e),
            })?;
        }
    }
    // The tar's end padding counts in its digest.
    io::copy(&mut hashing, &mut io::sink()).map_err(|e| read_error(&layer.what, e))?;
    let found = format!("sha256:{}", hex(&hashing.hasher.finalize()));
    if found != layer.diff_id {
        return Err(PullError::DigestMismatch {
            what: format!("{} (uncompressed, its diff_id)", layer.what),
            expected: layer.diff_id.clone(),
            found,
        });
    }
    Ok(hashing.read)
}

/// Why an entry was not placed.
enum Placed {
    Refused(PullError),
    Io(io::Error),
}

impl From<io::Error> for Placed {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

fn unsafe_entry(entry: &Path, why: impl Into<String>) -> Placed {
    Placed::Refused(PullError::Unsafe {
        entry: entry.display().to_string().chars().take(200).collect(),
        why: why.into(),
    })
}

/// The `Normal` components of `path`, refusing `..`; a leading `/` and `.` are dropped.
fn relative(path: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => return Err("it has a `..` component"),
            Component::Prefix(_) => return Err("it has a drive prefix"),
        }
    }
    Ok(out)
}

/// Makes sure every directory of `rel` (relative to `root`) below its last component is a
/// real directory, creating missing ones; refuses one that is a symbolic link or a file.
fn real_parents(root: &Path, rel: &Path, shown: &Path) -> Result<(), Placed> {
    let mut at = root.to_path_buf();
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    for part in parent.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(unsafe_entry(
                    shown,
                    "it goes through a symbolic link an earlier entry made",
                ));
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(unsafe_entry(shown, "a parent of it is not a directory")),
            Err(_) => fs::create_dir(&at)?,
        }
    }
    Ok(())
}

/// Removes what is at `path` (a lower layer's file, link or directory), without following a
/// link.
fn clear(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            remove_tree(path);
            Ok(())
        }
        Ok(_) => fs::remove_file(path),
        Err(_) => Ok(()),
    }
}

/// `target` of a link at `rel`, resolved lexically from the image's root: `Some(path inside)`,
/// or `None` when it climbs above the root. An absolute target starts at the root.
fn lexical(rel: &Path, target: &Path) -> Option<PathBuf> {
    let mut stack: Vec<std::ffi::OsString> = if target.is_absolute() {
        Vec::new()
    } else {
        rel.parent()
            .map(|p| {
                p.components()
                    .filter_map(|c| match c {
                        Component::Normal(part) => Some(part.to_owned()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for component in target.components() {
        match component {
            Component::Normal(part) => stack.push(part.to_owned()),
            Component::ParentDir => {
                stack.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(stack.iter().collect())
}

/// The relative target that reaches `inside` (a path from the root) from the directory of the
/// link at `rel`.
fn relative_target(rel: &Path, inside: &Path) -> PathBuf {
    let depth = rel.parent().map_or(0, |p| p.components().count());
    let mut out = PathBuf::new();
    for _ in 0..depth {
        out.push("..");
    }
    out.push(inside);
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn place<R: Read>(entry: &mut tar::Entry<'_, R>, root: &Path) -> Result<(), Placed> {
    let shown = entry.path()?.into_owned();
    let rel = relative(&shown).map_err(|why| unsafe_entry(&shown, why))?;
    if rel.as_os_str().is_empty() {
        return Ok(());
    }
    real_parents(root, &rel, &shown)?;
    let target = root.join(&rel);
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(hidden) = name.strip_prefix(".wh.") {
        let dir = target.parent().unwrap_or(root);
        if hidden == ".wh..opq" {
            for child in fs::read_dir(dir)?.flatten() {
                clear(&child.path())?;
            }
        } else if !hidden.is_empty() && hidden != "." && hidden != ".." {
            clear(&dir.join(hidden))?;
        }
        return Ok(());
    }
    let kind = entry.header().entry_type();
    match kind {
        tar::EntryType::Directory => {
            if !fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
                clear(&target)?;
                fs::create_dir(&target)?;
            }
            let mode = entry.header().mode().unwrap_or(0o755) & 0o777;
            set_mode(&target, mode | 0o700)?;
        }
        tar::EntryType::Regular | tar::EntryType::Continuous => {
            clear(&target)?;
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)?;
            io::copy(entry, &mut file)?;
            let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
            set_mode(&target, mode)?;
        }
        tar::EntryType::Symlink => {
            let link = entry
                .link_name()?
                .ok_or_else(|| unsafe_entry(&shown, "a symbolic link without a target"))?
                .into_owned();
            let inside = lexical(&rel, &link).ok_or_else(|| {
                unsafe_entry(
                    &shown,
                    format!("its target `{}` leaves the image", link.display()),
                )
            })?;
            let written = if link.is_absolute() {
                relative_target(&rel, &inside)
            } else {
                link
            };
            clear(&target)?;
            std::os::unix::fs::symlink(written, &target)?;
        }
        tar::EntryType::Link => {
            let link = entry
                .link_name()?
                .ok_or_else(|| unsafe_entry(&shown, "a hard link without a target"))?
                .into_owned();
            let source_rel = relative(&link).map_err(|why| {
                unsafe_entry(&shown, format!("its target `{}`: {why}", link.display()))
            })?;
            real_parents(root, &source_rel, &shown)?;
            let source = root.join(&source_rel);
            match fs::symlink_metadata(&source) {
                Ok(meta) if meta.is_file() => {}
                _ => {
                    return Err(unsafe_entry(
                        &shown,
                        format!("its target `{}` is not a file of the image", link.display()),
                    ));
                }
            }
            clear(&target)?;
            fs::hard_link(&source, &target)?;
        }
        // Devices and FIFOs (and anything newer): not made by an unprivileged emulator.
        _ => {}
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Every symbolic link under `root` that resolves (through other links) must stay inside it;
/// for a dangling one, the nearest part of its target that exists must.
fn check_links(root: &Path) -> Result<(), PullError> {
    let canonical_root = fs::canonicalize(root).map_err(io_error("the image directory"))?;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(io_error("the image directory"))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap_or_default();
                let mut probe = path.parent().unwrap_or(root).join(&target);
                let resolved = loop {
                    if let Ok(real) = fs::canonicalize(&probe) {
                        break Some(real);
                    }
                    if !probe.pop() {
                        break None;
                    }
                };
                if !resolved.is_some_and(|real| real.starts_with(&canonical_root)) {
                    let shown = path.strip_prefix(root).unwrap_or(&path);
                    return Err(PullError::Unsafe {
                        entry: shown.display().to_string(),
                        why: format!(
                            "its target `{}` resolves outside the image",
                            target.display()
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// `path` (absolute, or relative to `from`, a path inside the image) as a path under `root`,
/// resolved through the image's links, refused when it leaves the image.
pub(crate) fn inside(root: &Path, from: &Path, path: &str) -> Result<PathBuf, String> {
    let start = if path.starts_with('/') {
        PathBuf::from("/")
    } else {
        from.strip_prefix(root)
            .map_or_else(|_| from.to_path_buf(), |rest| Path::new("/").join(rest))
    };
    let rel = lexical(&start.join("x"), Path::new(path))
        .ok_or_else(|| "it leaves the image".to_owned())?;
    let joined = root.join(rel);
    let canonical_root = fs::canonicalize(root).map_err(|e| e.to_string())?;
    match fs::canonicalize(&joined) {
        Ok(real) if real.starts_with(&canonical_root) => Ok(real),
        Ok(_) => Err("it resolves outside the image".into()),
        Err(_) => Err("it is not in the image".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_or_refused() {
        assert_eq!(relative(Path::new("./app/x")), Ok(PathBuf::from("app/x")));
        assert_eq!(relative(Path::new("/app/x")), Ok(PathBuf::from("app/x")));
        assert!(relative(Path::new("../x")).is_err());
        assert!(relative(Path::new("a/../../x")).is_err());
        assert!(relative(Path::new("a/../b")).is_err());
    }

    #[test]
    fn link_targets_resolve_from_the_root() {
        let at = |rel: &str, target: &str| lexical(Path::new(rel), Path::new(target));
        assert_eq!(at("lib64/ld", "/lib/x/ld"), Some(PathBuf::from("lib/x/ld")));
        assert_eq!(at("a/b/l", "../c"), Some(PathBuf::from("a/c")));
        assert_eq!(at("a/l", "../../etc"), None);
        assert_eq!(at("l", ".."), None);
        assert_eq!(at("l", "/../etc"), None);
        assert_eq!(
            relative_target(Path::new("lib64/ld"), Path::new("lib/x/ld")),
            PathBuf::from("../lib/x/ld")
        );
        assert_eq!(
            relative_target(Path::new("l"), Path::new("")),
            PathBuf::from(".")
        );
    }
}
