//! Choosing what to ship (`cargo metadata`), building it for `linux/amd64` (`cargo build`, or
//! `cargo zigbuild` on another host), finding the shared libraries it links (`ldd`) and the
//! git commit it was built from.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, MetadataCommand, Package, TargetKind};

use crate::env::SECRET_VARIABLES;
use crate::error::Error;
use crate::metadata::EdgegapMetadata;

/// The Rust target Edgegap runs.
pub const LINUX_AMD64: &str = "x86_64-unknown-linux-gnu";

/// A binary or an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `[[bin]]` target (`--bin`).
    Bin,
    /// An example (`--example`).
    Example,
}

/// What to ship: a package's binary or example, and where its files are.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The package name.
    pub package: String,
    /// The package's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The target's name (the executable's file name).
    pub target: String,
    /// Binary or example.
    pub kind: Kind,
    /// `[package.metadata.edgegap]` as written.
    pub metadata: EdgegapMetadata,
}

impl Selection {
    /// The package's directory.
    pub fn package_dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }

    /// The package's `assets/` directory, when it has one.
    pub fn assets(&self) -> Option<PathBuf> {
        let assets = self.package_dir().join("assets");
        assets.is_dir().then_some(assets)
    }
}

/// The `cargo` to run: the one that ran us (`$CARGO`), else `cargo` on `PATH`.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for name in left_out_variables() {
        command.env_remove(name);
    }
    command
}

/// Variables the builds we run must not see: the secrets, and those cargo sets for a
/// package it runs (`cargo run`, a test): `CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ... A build
/// script that watches one of them (ring's does) would otherwise see a change and rebuild,
/// and a warm target would not be reused.
fn left_out_variables() -> Vec<std::ffi::OsString> {
    let mut names: Vec<std::ffi::OsString> = SECRET_VARIABLES.iter().map(|n| (*n).into()).collect();
    names.extend(std::env::vars_os().map(|(name, _)| name).filter(|name| {
        let name = name.to_string_lossy();
        name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
            )
    }));
    names
}

/// Chooses the package (`-p`, else the one of the current directory) and its target
/// (`--bin`/`--example`, else its only binary or its `default-run`).
pub fn select(
    manifest_path: Option<&Path>,
    package: Option<&str>,
    bin: Option<&str>,
    example: Option<&str>,
) -> Result<Selection, Error> {
    let mut command = MetadataCommand::new();
    command.no_deps();
    if let Some(cargo) = std::env::var_os("CARGO") {
        command.cargo_path(cargo);
    }
    for name in left_out_variables() {
        command.env_remove(name);
    }
    if let Some(path) = manifest_path {
        command.manifest_path(path);
    }
    let metadata = command
        .exec()
        .map_err(|e| Error::Build(format!("cargo metadata failed: {e}")))?;
    let members = metadata.workspace_packages();
    let chosen: &Package = match package {
        Some(name) => members
            .iter()
            .copied()
            .find(|p| p.name.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                Error::Usage(format!(
                    "no package `{name}` in this workspace (its packages: {})",
                    names.join(", ")
                ))
            })?,
        None => metadata.root_package().ok_or_else(|| {
            Error::Usage(
                "this is a virtual workspace: choose the server's package with -p PACKAGE".into(),
            )
        })?,
    };
    let targets = |kind: TargetKind| -> Vec<&str> {
        chosen
            .targets
            .iter()
            .filter(|t| t.is_kind(kind.clone()))
            .map(|t| t.name.as_str())
            .collect()
    };
    // The target `name` of `kind` (a `one` of the package's `many`), or why not.
    let named = |name: &str, kind: TargetKind, one: &str, many: &str| {
        let found = targets(kind);
        if found.contains(&name) {
            Ok(name.to_owned())
        } else {
            Err(Error::Usage(format!(
                "package `{}` has no {one} `{name}` (its {many}: {})",
                chosen.name,
                list(&found)
            )))
        }
    };
    let (target, kind) = match (bin, example) {
        (Some(_), Some(_)) => {
            return Err(Error::Usage("give --bin or --example, not both".to_owned()));
        }
        (Some(name), None) => (
            named(name, TargetKind::Bin, "binary", "binaries")?,
            Kind::Bin,
        ),
        (None, Some(name)) => (
            named(name, TargetKind::Example, "example", "examples")?,
            Kind::Example,
        ),
        (None, None) => {
            let bins = targets(TargetKind::Bin);
            match (bins.as_slice(), chosen.default_run.as_deref()) {
                (_, Some(default)) => (default.to_owned(), Kind::Bin),
                ([only], None) => ((*only).to_owned(), Kind::Bin),
                ([], None) => {
                    return Err(Error::Usage(format!(
                        "package `{}` has no binary: choose one with --bin NAME or --example NAME",
                        chosen.name
                    )));
                }
                (many, None) => {
                    return Err(Error::Usage(format!(
                        "package `{}` has several binaries ({}): choose one with --bin NAME",
                        chosen.name,
                        list(many)
                    )));
                }
            }
        }
    };
    Ok(Selection {
        package: chosen.name.to_string(),
        manifest_path: chosen.manifest_path.clone().into_std_path_buf(),
        target,
        kind,
        metadata: EdgegapMetadata::from_package_metadata(&chosen.metadata)?,
    })
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// How this host builds for `linux/amd64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    /// This host is x86_64 Linux: a plain `cargo build` (same target directory as every other
    /// build, so a warm debug build is reused).
    Native,
    /// Another host: `cargo zigbuild --target x86_64-unknown-linux-gnu`.
    Zigbuild,
}

/// How to build for `linux/amd64` here, or the one line that says how to make it possible.
pub fn toolchain() -> Result<Toolchain, Error> {
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Ok(Toolchain::Native);
    }
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            dir.join("cargo-zigbuild").is_file() || dir.join("cargo-zigbuild.exe").is_file()
        })
    });
    if found {
        Ok(Toolchain::Zigbuild)
    } else {
        Err(Error::Build(format!(
            "Edgegap runs linux/amd64 and this host is not: install cargo-zigbuild (`cargo install cargo-zigbuild`, with zig from `pip3 install ziglang`) and `rustup target add {LINUX_AMD64}`"
        )))
    }
}

/// Builds the selected target for `linux/amd64` (release, or debug with `dev`) and returns
/// the executable's path. Cargo's progress and diagnostics go to stderr as usual. The build
/// does not see the secret variables, nor the `hidden` ones.
pub fn build(
    selection: &Selection,
    dev: bool,
    manifest_path: Option<&Path>,
    toolchain: Toolchain,
    hidden: &[String],
) -> Result<PathBuf, Error> {
    let mut command = cargo();
    // The version's secret variables are for the server at run time, not for build scripts.
    for name in hidden {
        command.env_remove(name);
    }
    match toolchain {
        Toolchain::Native => command.arg("build"),
        Toolchain::Zigbuild => command.args(["zigbuild", "--target", LINUX_AMD64]),
    };
    if !dev {
        command.arg("--release");
    }
    command.args(["--package", &selection.package]);
    command.arg(match selection.kind {
        Kind::Bin => "--bin",
        Kind::Example => "--example",
    });
    command.arg(&selection.target);
    if let Some(path) = manifest_path {
        command.arg("--manifest-path").arg(path);
    }
    command
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .map_err(|e| Error::Build(format!("cannot run cargo: {e}")))?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for message in Message::parse_stream(BufReader::new(stdout)) {
            let Ok(Message::CompilerArtifact(artifact)) = message else {
                continue;
            };
            let wanted = match selection.kind {
                Kind::Bin => TargetKind::Bin,
                Kind::Example => TargetKind::Example,
            };
            if artifact.target.name == selection.target && artifact.target.is_kind(wanted) {
                executable = artifact.executable.map(|p| p.into_std_path_buf());
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::Build(format!("cargo build: {e}")))?;
    if !status.success() {
        return Err(Error::Build(format!(
            "cargo build of `{}` failed ({status})",
            selection.target
        )));
    }
    executable.ok_or_else(|| {
        Error::Build(format!(
            "cargo build did not report the executable of `{}`",
            selection.target
        ))
    })
}

/// The shared libraries `executable` loads, as `ldd` lists them (the dynamic loader
/// included, the kernel's vDSO left out). Empty for a static executable.
pub fn shared_libraries(executable: &Path) -> Result<Vec<PathBuf>, Error> {
    let output = Command::new("ldd").arg(executable).output().map_err(|e| {
        Error::Build(format!(
            "--base none needs `ldd` (Linux, package libc-bin) to find the libraries to bundle: {e}"
        ))
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stdout.contains("not a dynamic executable") || stderr.contains("not a dynamic executable") {
        return Ok(Vec::new());
    }
    if !output.status.success() {
        return Err(Error::Build(format!(
            "ldd {} failed: {}",
            executable.display(),
            stderr.trim()
        )));
    }
    parse_ldd(&stdout)
}

/// The library paths in `ldd` output.
pub fn parse_ldd(output: &str) -> Result<Vec<PathBuf>, Error> {
    let mut libraries = Vec::new();
    for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = match line.split_once("=>") {
            Some((name, target)) => {
                let target = target.trim();
                if target.starts_with("not found") {
                    return Err(Error::Build(format!(
                        "the server links `{}`, which is not installed here",
                        name.trim()
                    )));
                }
                target.split(" (").next().unwrap_or_default().trim()
            }
            None => line.split(" (").next().unwrap_or_default().trim(),
        };
        if path.starts_with('/') {
            libraries.push(PathBuf::from(path));
        }
    }
    Ok(libraries)
}

/// The git commit a directory is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The abbreviated hash (7 characters).
    pub short: String,
    /// Whether tracked files have uncommitted changes.
    pub dirty: bool,
    /// The commit's date, RFC 3339 (`2026-12-06T12:00:00+00:00`).
    pub date: String,
}

/// The commit `dir` is checked out at, if it is in a git work tree and `git` runs.
pub fn git_commit(dir: &Path) -> Option<Commit> {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let short = git(&["rev-parse", "--short=7", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    let date = git(&["log", "-1", "--format=%cI"])?;
    Some(Commit { short, dirty, date })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_is_read() {
        let output = "\tlinux-vdso.so.1 (0x00007ffd6b5f2000)\n\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0c)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0b)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f0d)\n";
        assert_eq!(
            parse_ldd(output).unwrap(),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        let missing = parse_ldd("\tlibfoo.so.1 => not found\n").unwrap_err();
        assert!(missing.to_string().contains("libfoo.so.1"), "{missing}");
    }

    #[test]
    fn this_host_can_build_for_edgegap_or_says_how() {
        let native = cfg!(all(target_os = "linux", target_arch = "x86_64"));
        match toolchain() {
            Ok(Toolchain::Native) => assert!(native),
            Ok(Toolchain::Zigbuild) => assert!(!native),
            Err(error) => {
                assert!(!native);
                let message = error.to_string();
                assert!(
                    !message.contains('\n') && message.contains("cargo install cargo-zigbuild")
                );
            }
        }
    }
}
