//! Command versions: the launched process gets the injected environment and real ports; stop
//! sends SIGTERM then SIGKILL; exits become TERMINATED or ERROR; output is captured; no process
//! outlives the emulator.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{alive, api, deploy, deploy_body, wait_status, wait_until};
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle};
use serde_json::Value;

fn script(version: &str, body: &str) -> AppVersion {
    AppVersion::command("game", version, "/bin/sh", ["-c", body])
        .grace_period(Duration::from_secs(2))
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgegap-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn emulator(versions: Vec<AppVersion>) -> EmulatorHandle {
    versions
        .into_iter()
        .fold(
            Emulator::builder()
                .token("t")
                .without_rate_limits()
                .lifecycle_step(Duration::ZERO),
            |b, v| b.app_version(v),
        )
        .start()
        .expect("starts")
}

fn read_env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

#[test]
fn process_receives_the_documented_environment_and_real_ports() {
    let out = temp_file("env.txt");
    let _ = std::fs::remove_file(&out);
    let emu = emulator(vec![
        script(
            "env",
            "env > \"$OUT_FILE.tmp\" && mv \"$OUT_FILE.tmp\" \"$OUT_FILE\"; exec sleep 30",
        )
        .port("gameport", 7777, "UDP")
        .port("web", 8080, "TCP")
        .env("OUT_FILE", out.display().to_string())
        .env("FROM_VERSION", "yes"),
    ]);
    let mut body = deploy_body("game", "env");
    body["environment_variables"] =
        serde_json::json!([{"key": "FROM_DEPLOY", "value": "1", "is_hidden": true}]);
    body["tags"] = serde_json::json!(["t1", "t2"]);
    let id = deploy(&emu, &body);
    wait_status(&emu, &id, "Status.READY");
    wait_until("the env file", Duration::from_secs(10), || out.exists());
    let env = read_env_file(&out);
    let get = |key: &str| {
        env.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{key} not in env"))
    };
    let info = emu.deployment(&id).expect("known");
    assert_eq!(get("ARBITRIUM_REQUEST_ID"), id);
    assert_eq!(get("ARBITRIUM_PUBLIC_IP"), "127.0.0.1");
    for key in info.env.keys() {
        assert_eq!(
            get(key),
            info.env[key],
            "{key} differs between the process and DeploymentInfo"
        );
    }
    let internal = get("ARBITRIUM_PORT_GAMEPORT_INTERNAL");
    assert_eq!(
        internal,
        get("ARBITRIUM_PORT_GAMEPORT_EXTERNAL"),
        "internal == external on loopback"
    );
    assert_ne!(
        internal, "7777",
        "a real free port replaces the declared one"
    );
    let web: u16 = get("ARBITRIUM_PORT_WEB_INTERNAL").parse().expect("port");
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", web)).is_ok(),
        "the given port is free for the server"
    );
    assert_eq!(get("ARBITRIUM_DEPLOYMENT_TAGS"), "t1,t2");
    assert_eq!(get("FROM_VERSION"), "yes");
    assert_eq!(get("FROM_DEPLOY"), "1");
    assert!(get("ARBITRIUM_DELETE_URL").starts_with(&emu.base_url()));
    assert!(
        env.iter().all(|(k, _)| k != "EDGEGAP_TOKEN"),
        "the API token is not passed on"
    );
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None).json;
    assert_eq!(status["ports"]["web"]["external"], web);
    assert_eq!(status["ports"]["web"]["internal"], web);
    assert!(info.pid.is_some_and(alive));
}

#[test]
fn stop_sends_sigterm_and_the_process_exits_gracefully() {
    let emu = emulator(vec![script(
        "trap",
        "trap 'echo got-sigterm; exit 0' TERM; echo started; while :; do sleep 0.05; done",
    )]);
    let id = deploy(&emu, &deploy_body("game", "trap"));
    wait_status(&emu, &id, "Status.READY");
    wait_until("output", Duration::from_secs(10), || {
        emu.logs(&id).is_some_and(|l| l.contains("started"))
    });
    let pid = emu.deployment(&id).and_then(|d| d.pid).expect("pid");
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{id}"), None).status,
        200
    );
    wait_status(&emu, &id, "Status.TERMINATED");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(info.exit_code, Some(0));
    assert_eq!(info.stopped_by.as_deref(), Some("api"));
    assert!(
        emu.logs(&id).is_some_and(|l| l.contains("got-sigterm")),
        "{:?}",
        emu.logs(&id)
    );
    wait_until("the process to be reaped", Duration::from_secs(5), || {
        !alive(pid)
    });
}

#[test]
fn sigkill_after_the_grace_period() {
    let emu = emulator(vec![
        script(
            "stubborn",
            "trap '' TERM; echo started; while :; do sleep 0.05; done",
        )
        .grace_period(Duration::from_millis(300)),
    ]);
    let id = deploy(&emu, &deploy_body("game", "stubborn"));
    wait_status(&emu, &id, "Status.READY");
    wait_until("output", Duration::from_secs(10), || {
        emu.logs(&id).is_some_and(|l| l.contains("started"))
    });
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{id}"), None).status,
        200
    );
    wait_status(&emu, &id, "Status.TERMINATED");
    assert_eq!(
        emu.deployment(&id).expect("known").exit_code,
        Some(128 + 9),
        "killed by SIGKILL"
    );
}

#[test]
fn crash_becomes_error_with_logs_and_crash_data() {
    let emu = emulator(vec![script(
        "crash",
        "echo booting; echo boom >&2; sleep 0.1; exit 3",
    )]);
    let id = deploy(&emu, &deploy_body("game", "crash"));
    wait_status(&emu, &id, "Status.ERROR");
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None).json;
    assert_eq!(status["error"], true);
    assert!(
        status["error_detail"]
            .as_str()
            .is_some_and(|d| d.contains("exit") && d.contains('3')),
        "{status}"
    );
    let logs = api(
        &emu,
        "GET",
        &format!("/v1/deployment/{id}/container-logs"),
        None,
    );
    assert_eq!(logs.status, 200);
    assert!(
        logs.json["logs"]
            .as_str()
            .is_some_and(|l| l.contains("booting") && l.contains("boom")),
        "{logs:?}"
    );
    assert_eq!(logs.json["crash_data"]["exit_code"], 3);
    assert_eq!(logs.json["encoding"], "utf-8");
    assert_eq!(emu.deployment(&id).expect("known").exit_code, Some(3));
    assert_eq!(
        api(&emu, "GET", "/v1/locations", None).status,
        200,
        "the emulator is still up"
    );
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{id}"), None).status,
        200
    );
    wait_status(&emu, &id, "Status.TERMINATED");
}

#[test]
fn clean_exit_becomes_terminated() {
    let emu = emulator(vec![script("done", "sleep 0.1; exit 0")]);
    let id = deploy(&emu, &deploy_body("game", "done"));
    wait_status(&emu, &id, "Status.TERMINATED");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(
        (info.exit_code, info.stopped_by.as_deref()),
        (Some(0), Some("exit"))
    );
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{id}"), None).status,
        410
    );
}

#[test]
fn a_missing_program_is_an_error_not_a_crash() {
    let emu = emulator(vec![AppVersion::command(
        "game",
        "missing",
        "/nonexistent/server",
        ["--x"],
    )]);
    let id = deploy(&emu, &deploy_body("game", "missing"));
    wait_status(&emu, &id, "Status.ERROR");
    let detail = emu
        .deployment(&id)
        .and_then(|d| d.error_detail)
        .expect("detail");
    assert!(detail.contains("failed to start"), "{detail}");
}

#[test]
fn wait_for_port_holds_deploying_until_the_port_accepts() {
    let emu = emulator(vec![
        script("port", "exec sleep 30")
            .port("game", 7777, "TCP")
            .wait_for_port(true),
    ]);
    let id = deploy(&emu, &deploy_body("game", "port"));
    wait_status(&emu, &id, "Status.DEPLOYING");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        emu.deployment(&id).expect("known").status,
        "Status.DEPLOYING",
        "nothing listens yet"
    );
    let port = emu.deployment(&id).expect("known").ports["game"].0;
    let _listener =
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("the given port is free");
    wait_status(&emu, &id, "Status.READY");
}

#[test]
fn shutdown_ends_launched_processes() {
    let emu = emulator(vec![script("sleepy", "exec sleep 30")]);
    let ids: Vec<String> = (0..2)
        .map(|_| deploy(&emu, &deploy_body("game", "sleepy")))
        .collect();
    for id in &ids {
        wait_status(&emu, id, "Status.READY");
    }
    let pids: Vec<u32> = ids
        .iter()
        .map(|id| emu.deployment(id).and_then(|d| d.pid).expect("pid"))
        .collect();
    assert!(pids.iter().all(|p| alive(*p)));
    drop(emu);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} outlived the emulator or was not reaped"
        );
    }
}

#[test]
fn metrics_sample_the_real_process() {
    let emu = emulator(vec![script("busy", "while :; do :; done")]);
    let id = deploy(&emu, &deploy_body("game", "busy"));
    wait_status(&emu, &id, "Status.READY");
    let path = format!("/v1/metrics/deployment/{id}?raw=true");
    let mut answer = api(&emu, "GET", &path, None);
    wait_until("two CPU/memory samples", Duration::from_secs(10), || {
        answer = api(&emu, "GET", &path, None);
        answer.json["mem"]["datasets"]
            .as_array()
            .is_some_and(|d| d.len() >= 2)
    });
    assert_eq!(answer.status, 200);
    let mem: Vec<f64> = answer.json["mem"]["datasets"]
        .as_array()
        .expect("mem")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let cpu: Vec<f64> = answer.json["cpu"]["datasets"]
        .as_array()
        .expect("cpu")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert!(mem.iter().all(|m| *m > 0.0), "RSS in MB: {mem:?}");
    assert!(
        cpu.last().is_some_and(|c| *c > 1.0),
        "a busy loop uses CPU: {cpu:?}"
    );
    assert_eq!(
        answer.json["total"]["receive_total"]["datasets"]
            .as_array()
            .map(Vec::len),
        Some(mem.len())
    );
}

#[test]
fn stop_while_waiting_for_the_port_ends_it() {
    let emu = emulator(vec![
        script("closed", "exec sleep 30")
            .port("game", 7777, "TCP")
            .wait_for_port(true),
    ]);
    let id = deploy(&emu, &deploy_body("game", "closed"));
    wait_status(&emu, &id, "Status.DEPLOYING");
    wait_until("the process", Duration::from_secs(10), || {
        emu.deployment(&id).is_some_and(|d| d.pid.is_some())
    });
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{id}"), None).status,
        202
    );
    wait_status(&emu, &id, "Status.TERMINATED");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(info.stopped_by.as_deref(), Some("api"));
    assert!(
        !info.transitions.iter().any(|s| s == "Status.READY"),
        "{info:?}"
    );
}
