//! How a launched process ends: SIGTERM, then SIGKILL after the grace period, to its whole
//! process group; a stop while waiting for the port; and nothing outlives the emulator, even
//! when the emulator's own process is killed.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{
    alive, command_emulator, deploy, deploy_body, deployment_of, port_waiting_deployment, script,
    script_deployment, send, spawn_binary, status_of, temp_dir, wait_status, wait_until,
};

#[test]
fn stop_sends_sigterm_and_the_process_exits_gracefully() {
    let (emu, id) = script_deployment(
        "trap",
        "trap 'echo got-sigterm; exit 0' TERM; echo started; while :; do sleep 0.05; done",
    );
    wait_status(&emu, &id, "Status.READY");
    wait_until("output", Duration::from_secs(10), || {
        emu.logs(&id).is_some_and(|l| l.contains("started"))
    });
    let pid = emu.deployment(&id).and_then(|d| d.pid).expect("pid");
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 200);
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
    let stubborn = script(
        "stubborn",
        "trap '' TERM; echo started; while :; do sleep 0.05; done",
    )
    .grace_period(Duration::from_millis(300));
    let (emu, id) = deployment_of(stubborn, "stubborn");
    wait_status(&emu, &id, "Status.READY");
    wait_until("output", Duration::from_secs(10), || {
        emu.logs(&id).is_some_and(|l| l.contains("started"))
    });
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 200);
    wait_status(&emu, &id, "Status.TERMINATED");
    assert_eq!(
        emu.deployment(&id).expect("known").exit_code,
        Some(128 + 9),
        "killed by SIGKILL"
    );
}

#[test]
fn stop_while_waiting_for_the_port_ends_it() {
    let (emu, id) = port_waiting_deployment("closed");
    wait_until("the process", Duration::from_secs(10), || {
        emu.deployment(&id).is_some_and(|d| d.pid.is_some())
    });
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 202);
    wait_status(&emu, &id, "Status.TERMINATED");
    let info = emu.deployment(&id).expect("known");
    assert_eq!(info.stopped_by.as_deref(), Some("api"));
    assert!(
        !info.transitions.iter().any(|s| s == "Status.READY"),
        "{info:?}"
    );
}

#[test]
fn shutdown_ends_launched_processes() {
    let emu = command_emulator(vec![script("sleepy", "exec sleep 30")]);
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

/// Reads the pid a script wrote to `path`, waiting for it.
fn read_pid(path: &std::path::Path) -> i32 {
    let mut pid = None;
    wait_until("a pid file", Duration::from_secs(10), || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        pid.is_some()
    });
    pid.expect("pid")
}

#[test]
fn grandchildren_die_when_the_emulator_process_is_killed() {
    let pid_file = temp_dir("grandchild").join("grandchild.pid");
    let _ = std::fs::remove_file(&pid_file);
    let config = format!(
        "token = \"t\"\nlifecycle_step_ms = 0\n[[app_versions]]\napp = \"g\"\nversion = \"v\"\ncommand = \"/bin/sh\"\nargs = [\"-c\", \"sleep 300 & echo $! > {}; wait\"]\n",
        pid_file.display()
    );
    let (mut child, base, token) = spawn_binary("grandchild", &config);
    let body = deploy_body("g", "v").to_string();
    let deployed = send(
        "POST",
        &format!("{base}/v2/deployments"),
        Some(&format!("token {token}")),
        Some(&body),
    );
    assert_eq!(deployed.status, 202, "{deployed:?}");
    let grandchild = read_pid(&pid_file);
    assert!(alive(grandchild));
    child.kill().expect("SIGKILL to the emulator");
    child.wait().expect("reaped");
    wait_until(
        "the grandchild to die with the emulator",
        Duration::from_secs(10),
        || !alive(grandchild),
    );
}

#[test]
fn the_whole_process_group_ends_with_a_stop_or_an_exit() {
    let dir = temp_dir("groups");
    let (stopped_pid, exited_pid) = (dir.join("stopped.pid"), dir.join("exited.pid"));
    let _ = std::fs::remove_file(&stopped_pid);
    let _ = std::fs::remove_file(&exited_pid);
    let emu = command_emulator(vec![
        script(
            "stopped",
            &format!(
                "sleep 300 & echo $! > {}; trap 'exit 0' TERM; while :; do sleep 0.05; done",
                stopped_pid.display()
            ),
        ),
        script(
            "exits",
            &format!(
                "sleep 300 & echo $! > {}; sleep 0.3; exit 0",
                exited_pid.display()
            ),
        ),
    ]);
    let stopped = deploy(&emu, &deploy_body("game", "stopped"));
    wait_status(&emu, &stopped, "Status.READY");
    let grandchild = read_pid(&stopped_pid);
    assert!(alive(grandchild));
    assert_eq!(
        status_of(&emu, "DELETE", &format!("/v1/stop/{stopped}")),
        200
    );
    wait_status(&emu, &stopped, "Status.TERMINATED");
    wait_until(
        "the stopped server's child to die",
        Duration::from_secs(10),
        || !alive(grandchild),
    );
    let exits = deploy(&emu, &deploy_body("game", "exits"));
    let grandchild = read_pid(&exited_pid);
    wait_status(&emu, &exits, "Status.TERMINATED");
    assert_eq!(emu.deployment(&exits).expect("known").exit_code, Some(0));
    wait_until(
        "the exited server's child to die",
        Duration::from_secs(10),
        || !alive(grandchild),
    );
}
