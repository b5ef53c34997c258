//! `cargo xtask test [ARGS]`: brings what the workspace's tests need, then runs them all.
//!
//! 1. Every program in `edgegap_test_services::SERVICES` (`redis-server`, an OCI registry, ...)
//!    that is not installed is installed with the system package manager (`apt-get`, as root
//!    or through `sudo -n`). Where that is impossible it says, in one line per program, how
//!    to get it, and exits 2.
//! 2. `cargo test --workspace ARGS` runs, and its exit code is this command's.
//!
//! `cargo xtask services` does step 1 alone. `.ci/run` calls `cargo xtask test`, the same
//! command the README gives a newcomer.

use std::process::{Command, ExitCode};

use edgegap_test_services::{SERVICES, Service, find, missing};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("test") => {
            if let Err(code) = bring_services() {
                return code;
            }
            let rest: Vec<String> = args.collect();
            run(cargo().args(["test", "--workspace"]).args(&rest))
        }
        Some("services") => match bring_services() {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        _ => {
            eprintln!(
                "usage: cargo xtask test [cargo test args]   install what the tests need, then run every test\n       cargo xtask services                 only install what the tests need"
            );
            ExitCode::from(2)
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(command: &mut Command) -> ExitCode {
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c.clamp(1, 255) as u8)),
        Err(e) => {
            eprintln!("xtask: cannot run {command:?}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the missing services, or explains in one line each how to get them.
fn bring_services() -> Result<(), ExitCode> {
    let absent: Vec<&Service> = SERVICES
        .iter()
        .filter(|s| find(s.program).is_none())
        .collect();
    if absent.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = absent.iter().map(|s| s.package).collect();
    eprintln!(
        "xtask: installing what the tests need: {}",
        packages.join(" ")
    );
    let installed = package_manager().is_some_and(|prefix| {
        let apt = |args: &[&str]| {
            let mut command = Command::new(prefix[0]);
            command
                .args(&prefix[1..])
                .arg("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                // dpkg's progress lines: only its errors (stderr) matter here.
                .stdout(std::process::Stdio::null());
            command.status().is_ok_and(|s| s.success())
        };
        apt(&["update", "-qq"])
            && apt(&[
                &["install", "-y", "-qq", "--no-install-recommends"],
                &packages[..],
            ]
            .concat())
    });
    let still: Vec<&&Service> = absent
        .iter()
        .filter(|s| find(s.program).is_none())
        .collect();
    if installed && still.is_empty() {
        return Ok(());
    }
    for service in still {
        eprintln!("xtask: {}", missing(service));
    }
    Err(ExitCode::from(2))
}

/// How to run `apt-get` with the rights it needs: `env` as root, `sudo -n` otherwise.
fn package_manager() -> Option<&'static [&'static str]> {
    find("apt-get")?;
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        Some(&["env"])
    } else if find("sudo").is_some() {
        Some(&["sudo", "-n", "env"])
    } else {
        None
    }
}
