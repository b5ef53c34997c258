//! Command versions run as local processes: READY when up (or when the port accepts), exits
//! become `TERMINATED` or `ERROR` with logs and crash data, a missing program is an error, and
//! metrics sample the real process.

mod support;

use std::time::Duration;

use edgegap_emulator::AppVersion;
use serde_json::Value;
use support::{
    api, container_logs, deployment_of, port_waiting_deployment, script_deployment, status_of,
    wait_status, wait_until,
};

#[test]
fn crash_becomes_error_with_logs_and_crash_data() {
    let (emu, id) = script_deployment("crash", "echo booting; echo boom >&2; sleep 0.1; exit 3");
    wait_status(&emu, &id, "Status.ERROR");
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None).json;
    assert_eq!(status["error"], true);
    assert!(
        status["error_detail"]
            .as_str()
            .is_some_and(|d| d.contains("exit") && d.contains('3')),
        "{status}"
    );
    let logs = container_logs(&emu, &id);
    assert!(
        logs["logs"]
            .as_str()
            .is_some_and(|l| l.contains("booting") && l.contains("boom")),
        "{logs}"
    );
    assert_eq!(logs["crash_data"]["exit_code"], 3);
    assert_eq!(logs["encoding"], "utf-8");
    assert_eq!(emu.deployment(&id).expect("known").exit_code, Some(3));
    assert_eq!(
        api(&emu, "GET", "/v1/locations", None).status,
        200,
        "the emulator is still up"
    );
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 200);
    wait_status(&emu, &id, "Status.TERMINATED");
}

#[test]
fn clean_exit_becomes_terminated() {
    let (emu, id) = script_deployment("done", "sleep 0.1; exit 0");
    wait_status(&emu, &id, "Status.TERMINATED");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(
        (info.exit_code, info.stopped_by.as_deref()),
        (Some(0), Some("exit"))
    );
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 410);
}

#[test]
fn a_missing_program_is_an_error_not_a_crash() {
    let (emu, id) = deployment_of(
        AppVersion::command("game", "missing", "/nonexistent/server", ["--x"]),
        "missing",
    );
    wait_status(&emu, &id, "Status.ERROR");
    let detail = emu
        .deployment(&id)
        .and_then(|d| d.error_detail)
        .expect("detail");
    assert!(detail.contains("failed to start"), "{detail}");
}

#[test]
fn wait_for_port_holds_deploying_until_the_port_accepts() {
    let (emu, id) = port_waiting_deployment("port");
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
fn metrics_sample_the_real_process() {
    let (emu, id) = script_deployment("busy", "while :; do :; done");
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
    let [mem, cpu] = ["mem", "cpu"].map(|metric| {
        answer.json[metric]["datasets"]
            .as_array()
            .expect(metric)
            .iter()
            .filter_map(Value::as_f64)
            .collect::<Vec<f64>>()
    });
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
