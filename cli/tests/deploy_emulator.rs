//! `deploy`, `status`, `stop`, `logs`, `list` against the in-process emulator, as a terminal
//! user runs them: statuses as they change, then where players connect; the token is never
//! printed.

mod support;

use std::process::Command;
use std::time::Duration;

use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Fault, FaultKind, Route};
use support::{Outcome, cli, run, wait_until};

const TOKEN: &str = "emu-Token-9d2f7Secret";
const LIMIT: Duration = Duration::from_secs(120);

fn emulator(step: Duration) -> EmulatorHandle {
    Emulator::builder()
        .token(TOKEN)
        .lifecycle_step(step)
        .app_version(AppVersion::simulated("arena", "v1").port("gameport", 7777, "UDP"))
        .app_version(
            // READY waits until the TCP port accepts, which it never does: the server exits.
            AppVersion::command("arena", "crashes", "/bin/sh", ["-c", "echo boom; exit 3"])
                .port("gameport", 7777, "TCP")
                .wait_for_port(true),
        )
        .start()
        .expect("the emulator starts")
}

fn edgegap(emulator: &EmulatorHandle, args: &[&str]) -> Outcome {
    let mut command: Command = cli();
    command
        .args(args)
        .env("EDGEGAP_BASE_URL", emulator.base_url())
        .env("EDGEGAP_TOKEN", emulator.token())
        .env("RUST_LOG", "trace");
    let outcome = run(command, LIMIT);
    assert!(
        !outcome.all().contains(TOKEN),
        "the token was printed: {outcome:#?}"
    );
    outcome
}

/// `deploy` of `v1` with `extra` against an emulator (statuses at once) whose first deploy
/// answer is `fault`.
fn deploy_answered(fault: FaultKind, extra: &[&str]) -> (EmulatorHandle, Outcome) {
    let emulator = emulator(Duration::ZERO);
    emulator.add_fault(Fault::new(Route::DeployV2, fault).times(1));
    let outcome = deploy(&emulator, "v1", extra);
    (emulator, outcome)
}

/// `deploy --app arena --version <version> <extra…>`.
fn deploy(emulator: &EmulatorHandle, version: &str, extra: &[&str]) -> Outcome {
    let mut args = vec!["deploy", "--app", "arena", "--version", version];
    args.extend_from_slice(extra);
    edgegap(emulator, &args)
}

#[test]
fn deploy_wait_prints_each_status_then_where_players_connect() {
    let emulator = emulator(Duration::from_millis(300));
    let outcome = deploy(&emulator, "v1", &["--ip", "1.2.3.4", "--wait"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let statuses: Vec<&str> = outcome
        .stderr
        .lines()
        .filter_map(|l| l.split("] ").nth(1))
        .collect();
    assert_eq!(statuses.last(), Some(&"Status.READY"), "{outcome:#?}");
    assert!(
        statuses.windows(2).all(|w| w[0] != w[1]),
        "each status once, as it changes: {statuses:?}"
    );
    let deployments = emulator.deployments();
    assert_eq!(deployments.len(), 1);
    let id = deployments[0].request_id.clone();
    let address = outcome
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("gameport: "))
        .unwrap_or_else(|| panic!("no gameport address: {outcome:#?}"));
    let (socket, protocol) = address.split_once(' ').expect("address and protocol");
    assert!(socket.parse::<std::net::SocketAddr>().is_ok(), "{address}");
    assert_eq!(protocol, "UDP");
    assert!(outcome.stdout.contains(&format!("`{id}` is READY")));

    // status, logs, list: text and --json.
    let status = edgegap(&emulator, &["status", &id]);
    assert_eq!(status.code, 0, "{status:#?}");
    assert!(status.stdout.contains("Status.READY") && status.stdout.contains(socket));
    let status = edgegap(&emulator, &["status", &id, "--json"]);
    assert_eq!(status.json()["current_status"], "Status.READY");
    assert_eq!(edgegap(&emulator, &["logs", &id]).code, 0);
    let list = edgegap(&emulator, &["list", "--json"]);
    assert_eq!(list.code, 0, "{list:#?}");
    assert_eq!(list.json()["count"], 1);
    assert_eq!(list.json()["deployments"][0]["request_id"], id.as_str());
    let list = edgegap(&emulator, &["list"]);
    assert!(list.stdout.contains(&id) && list.stdout.contains("1 deployment(s)"));

    // stop, then stop again: already stopped is not a failure.
    let stop = edgegap(&emulator, &["stop", &id]);
    assert_eq!(stop.code, 0, "{stop:#?}");
    wait_until(Duration::from_secs(30), "the deployment terminated", || {
        emulator
            .deployment(&id)
            .is_some_and(|d| d.status == "Status.TERMINATED")
    });
    let again = edgegap(&emulator, &["stop", &id, "--json"]);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(again.json()["already_terminated"], true);
}

#[test]
fn deploy_wait_reports_a_server_that_crashes() {
    let emulator = emulator(Duration::ZERO);
    let outcome = deploy(
        &emulator,
        "crashes",
        &["--geo", "45.5,-73.6", "--wait", "--json"],
    );
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let line = outcome.json();
    assert_eq!(line["kind"], "deployment", "{outcome:#?}");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("before READY") && error.contains("cargo edgegap logs"),
        "{error}"
    );
    let id = emulator.deployments()[0].request_id.clone();
    let logs = edgegap(&emulator, &["logs", &id]);
    assert_eq!(logs.code, 0, "{logs:#?}");
    assert!(logs.stdout.contains("boom"), "{logs:#?}");
}

#[test]
fn api_refusals_and_missing_settings_exit_as_they_should() {
    let emulator = emulator(Duration::ZERO);
    let unknown = deploy(&emulator, "nope", &["--ip", "1.2.3.4", "--json"]);
    assert_eq!(unknown.code, 1, "{unknown:#?}");
    assert_eq!(unknown.json()["kind"], "api");
    assert!(
        unknown.stderr.contains("Edgegap's API: HTTP"),
        "{unknown:#?}"
    );
    assert!(emulator.deployments().is_empty());

    let missing = edgegap(&emulator, &["status", "0123456789ab"]);
    assert_eq!(missing.code, 1, "{missing:#?}");

    let mut command = cli();
    command
        .args(["list"])
        .env("EDGEGAP_BASE_URL", emulator.base_url());
    let no_token = run(command, LIMIT);
    assert_eq!(no_token.code, 2, "{no_token:#?}");
    assert!(no_token.stderr.contains("EDGEGAP_TOKEN"));

    let mut command = cli();
    command
        .args(["list"])
        .env("EDGEGAP_TOKEN", TOKEN)
        .env("EDGEGAP_BASE_URL", "http://api.example.com");
    let clear = run(command, LIMIT);
    assert_eq!(clear.code, 2, "{clear:#?}");
    assert!(!clear.all().contains(TOKEN));

    let mut command = cli();
    command
        .args(["list"])
        .env("EDGEGAP_TOKEN", "wrong-Token-1234")
        .env("EDGEGAP_BASE_URL", emulator.base_url());
    let refused = run(command, LIMIT);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(refused.stderr.contains("HTTP 401"), "{refused:#?}");
    assert!(!refused.all().contains("wrong-Token-1234"));
}

#[test]
fn a_deploy_whose_answer_is_lost_is_found_by_its_tag() {
    // The deployment is made, and the answer does not decode.
    let (emulator, outcome) = deploy_answered(
        FaultKind::MalformedJson,
        &["--ip", "1.2.3.4", "--wait", "--json"],
    );
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let deployments = emulator.deployments();
    assert_eq!(deployments.len(), 1, "one deployment, not two");
    assert_eq!(
        outcome.json()["request_id"],
        deployments[0].request_id.as_str()
    );
    assert!(
        deployments[0].tags.iter().any(|t| t.starts_with("cli-")),
        "{:?}",
        deployments[0].tags
    );
    assert!(
        outcome
            .stderr
            .contains("looking for a deployment tagged `cli-"),
        "{outcome:#?}"
    );
}

/// A `5xx` may come after the deployment was made (a proxy's error page): the deploy looks
/// for its tag rather than saying nothing was made, and says so when none carries it.
#[test]
fn a_deploy_answered_5xx_is_looked_for_by_its_tag() {
    let (emulator, outcome) = deploy_answered(FaultKind::Html502, &["--ip", "1.2.3.4"]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    assert!(emulator.deployments().is_empty(), "the 502 made nothing");
    assert!(
        outcome
            .stderr
            .contains("looking for a deployment tagged `cli-")
            && outcome.stderr.contains("check with `cargo edgegap list`"),
        "{outcome:#?}"
    );
}

#[test]
fn a_deploy_made_in_error_names_its_deployment() {
    let (emulator, outcome) = deploy_answered(FaultKind::CouldNotAllocate, &["--ip", "1.2.3.4"]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let id = emulator.deployments()[0].request_id.clone();
    assert!(
        outcome
            .stderr
            .contains(&format!("deployment `{id}` was made, in ERROR")),
        "{outcome:#?}"
    );
}

#[test]
fn deploy_wait_reads_again_after_a_failed_status_read() {
    let emulator = emulator(Duration::ZERO);
    emulator.add_fault(Fault::new(Route::Status, FaultKind::Html502).times(2));
    let outcome = deploy(&emulator, "v1", &["--ip", "1.2.3.4", "--wait", "--json"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(outcome.json()["status"], "Status.READY");
    assert_eq!(
        outcome.stderr.matches("not read").count(),
        2,
        "{outcome:#?}"
    );
}

/// `list` walks every page as the plugin and the gateway do (100 a page): the 150 deployments
/// are all listed, in two list reads.
#[test]
fn list_walks_every_page() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .lifecycle_step(Duration::ZERO)
        .without_rate_limits()
        .app_version(AppVersion::simulated("arena", "v1").port("gameport", 7777, "UDP"))
        .start()
        .expect("the emulator starts");
    let auth = format!("token {TOKEN}");
    let body = serde_json::json!({
        "application": "arena",
        "version": "v1",
        "users": [{"user_type": "ip_address", "user_data": {"ip_address": "1.2.3.4"}}],
    })
    .to_string();
    for _ in 0..150 {
        let answer = edgegap_test_services::http::send(
            "POST",
            &format!("{}/v2/deployments", emulator.base_url()),
            &[("Authorization", &auth)],
            Some(&body),
            LIMIT,
        )
        .expect("the emulator answers");
        assert_eq!(answer.status, 202, "{answer:?}");
    }
    let list = edgegap(&emulator, &["list", "--json"]);
    assert_eq!(list.code, 0, "{list:#?}");
    assert_eq!(list.json()["count"], 150, "{list:#?}");
    assert_eq!(emulator.request_count(Route::ListDeployments), 2);
}
