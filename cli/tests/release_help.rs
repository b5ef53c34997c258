//! `cargo edgegap release --help` documents every flag; usage mistakes exit 2.

mod support;

use std::time::Duration;

use clap::CommandFactory;
use support::{cli, run};

fn help(args: &[&str]) -> String {
    let mut command = cli();
    command.args(args);
    let outcome = run(command, Duration::from_secs(60));
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    outcome.stdout
}

#[test]
fn release_help_documents_every_flag() {
    let text = help(&["release", "--help"]);
    // The flags of the brief, then every flag clap knows (so a new one must be documented).
    let mut flags: Vec<String> = [
        "--bin",
        "--example",
        "--package",
        "--app",
        "--version",
        "--dev",
        "--base",
        "--force",
        "--json",
        "--manifest-path",
        "--timeout",
    ]
    .iter()
    .map(|f| (*f).to_owned())
    .collect();
    let root = cargo_edgegap::cli::Cargo::command();
    let release = root
        .find_subcommand("edgegap")
        .and_then(|e| e.find_subcommand("release"))
        .expect("a release subcommand");
    for arg in release.get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                arg.get_help()
                    .is_some_and(|h| !h.to_string().trim().is_empty()),
                "--{long} has no help text"
            );
            flags.push(format!("--{long}"));
        }
    }
    assert!(text.contains("-p, --package <PACKAGE>"), "{text}");
    for flag in flags {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&flag) || l.contains(&format!(", {flag}"))),
            "`release --help` does not document {flag}:\n{text}"
        );
    }
    for variable in [
        "EDGEGAP_TOKEN",
        "EDGEGAP_BASE_URL",
        "EDGEGAP_REGISTRY",
        "EDGEGAP_REGISTRY_PROJECT",
        "EDGEGAP_REGISTRY_USER",
        "EDGEGAP_REGISTRY_TOKEN",
        "[package.metadata.edgegap]",
        "IMAGE|none",
    ] {
        assert!(text.contains(variable), "{variable} missing:\n{text}");
    }
}

#[test]
fn every_command_has_help_as_cargo_calls_it_and_directly() {
    for sub in ["release", "deploy", "status", "stop", "logs", "list"] {
        let through_cargo = help(&["edgegap", sub, "--help"]);
        let direct = help(&[sub, "--help"]);
        assert_eq!(through_cargo, direct, "{sub}");
        assert!(
            through_cargo.contains("Usage: cargo edgegap"),
            "{through_cargo}"
        );
    }
    assert!(help(&["--version"]).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_mistakes_exit_2() {
    for args in [
        &["release", "--no-such-flag"][..],
        &["release", "--bin", "a", "--example", "b"],
        &["deploy", "--version", "v1", "--ip", "1.2.3.4"],
        &["deploy", "--app", "a", "--version", "v1"],
        &["deploy", "--app", "a", "--version", "v1", "--geo", "200,0"],
        &["status"],
        &["no-such-command"],
        &[],
    ] {
        let mut command = cli();
        command.args(args);
        let outcome = run(command, Duration::from_secs(60));
        assert_eq!(outcome.code, 2, "{args:?}: {outcome:#?}");
    }
}
