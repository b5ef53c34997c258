//! `cargo xtask test [ARGS]`: brings what the workspace's tests need, then runs them all.
//!
//! 1. Everything in `edgegap_test_services::SERVICES` that is missing is installed, each the
//!    way the table says: Debian packages with `apt-get` (as root or through `sudo -n`), Rust
//!    targets with `rustup target add`, a CLI with `cargo install --version` at the version
//!    the workspace locks. Where that is impossible it says, in one line per program, how to
//!    get it, and exits 2.
//! 2. `cargo test --workspace ARGS` runs.
//! 3. The browser tests run (`edgegap-web-tests`: the client plugin in headless Chromium,
//!    against an emulator and a gateway it starts; then the `web_lobby` example, clicked and
//!    photographed). The command fails if either step fails.
//!
//! `cargo xtask test-web [ARGS]` does steps 1 and 3 (ARGS go to the browser harness, e.g.
//! `--update-screenshot`); `cargo xtask services` does step 1 alone. `.ci/run` calls
//! `cargo xtask test`, the same command the README gives a newcomer.

use std::process::{Command, ExitCode};

use edgegap_test_services::{Install, SERVICES, Service, install_command, is_installed, missing};

const USAGE: &str = "usage: cargo xtask test [cargo test args]   install what the tests need, then run every test (the browser tests included)
       cargo xtask test-web [harness args]   install what the tests need, then run only the browser tests (--update-screenshot: also refresh docs/web_lobby.png)
       cargo xtask services                  only install what the tests need";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    match command.as_deref() {
        Some("test") => {
            if let Err(code) = bring_services() {
                return code;
            }
            let workspace = run(cargo().args(["test", "--workspace"]).args(&rest));
            let browser = browser_tests(&[]);
            if workspace != ExitCode::SUCCESS {
                return workspace;
            }
            browser
        }
        Some("test-web") => match bring_services() {
            Ok(()) => browser_tests(&rest),
            Err(code) => code,
        },
        Some("services") => match bring_services() {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The browser harness: starts the services, runs the wasm tests in headless Chromium, then
/// the example's screenshot test (see `web-tests/`).
fn browser_tests(args: &[String]) -> ExitCode {
    run(cargo()
        .args(["run", "--quiet", "-p", "edgegap-web-tests", "--"])
        .args(args))
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
    let absent: Vec<&Service> = SERVICES.iter().filter(|s| !is_installed(s)).collect();
    if absent.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = absent
        .iter()
        .filter_map(|s| match s.install {
            Install::Apt(package) => Some(package),
            _ => None,
        })
        .collect();
    if !packages.is_empty() {
        eprintln!(
            "xtask: installing what the tests need: {}",
            packages.join(" ")
        );
        install_packages(&packages);
    }
    for service in &absent {
        if matches!(service.install, Install::Apt(_)) {
            continue;
        }
        let command = install_command(service);
        eprintln!(
            "xtask: installing what the tests need: {}",
            command.join(" ")
        );
        let mut run = match command[0].as_str() {
            "cargo" => cargo(),
            program => Command::new(program),
        };
        // Failure is reported below, with the one line that says how to get it.
        let _ = run.args(&command[1..]).status();
    }
    let still: Vec<&&Service> = absent.iter().filter(|s| !is_installed(s)).collect();
    if still.is_empty() {
        return Ok(());
    }
    for service in still {
        eprintln!("xtask: {}", missing(service));
    }
    Err(ExitCode::from(2))
}

/// `apt-get install` of `packages`, as root or through `sudo -n` (nothing when neither works).
fn install_packages(packages: &[&str]) {
    let Some(prefix) = package_manager() else {
        return;
    };
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
    let _ = apt(&["update", "-qq"])
        && apt(&[
            &["install", "-y", "-qq", "--no-install-recommends"],
            packages,
        ]
        .concat());
}

/// How to run `apt-get` with the rights it needs: `env` as root, `sudo -n` otherwise.
fn package_manager() -> Option<&'static [&'static str]> {
    edgegap_test_services::find("apt-get")?;
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        Some(&["env"])
    } else if edgegap_test_services::find("sudo").is_some() {
        Some(&["sudo", "-n", "env"])
    } else {
        None
    }
}
