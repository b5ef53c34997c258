//! A matchmaker deployment of a command version: the launched server gets the `MM_*`
//! variables in its environment, the same as `DeploymentInfo::env` shows.

mod support;

use std::time::Duration;

use support::{
    duel, duel_config, matchmaker_builder, read_env_file, script, temp_file, wait_until,
};

#[test]
fn the_server_process_gets_the_match_environment() {
    let out = temp_file("mm-env.txt");
    let _ = std::fs::remove_file(&out);
    let config = duel_config();
    let emu = matchmaker_builder(&config)
        .app_version(
            script(
                "v1",
                "env > \"$OUT_FILE.tmp\" && mv \"$OUT_FILE.tmp\" \"$OUT_FILE\"; exec sleep 30",
            )
            .port("gameport", 7777, "UDP")
            .env("OUT_FILE", out.display().to_string()),
        )
        .start()
        .expect("starts");
    let [a, _] = duel(&emu, "HOST_ASSIGNED");
    wait_until("the env file", Duration::from_secs(10), || out.exists());
    let env = read_env_file(&out);
    let info = emu.deployments().pop().expect("one deployment");
    let mm_vars: Vec<&String> = info.env.keys().filter(|k| k.starts_with("MM_")).collect();
    assert_eq!(
        mm_vars.len(),
        10,
        "8 variables and one MM_TICKET_<id> per ticket: {mm_vars:?}"
    );
    for key in mm_vars {
        let value = env.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        assert_eq!(value, Some(&info.env[key]), "{key} differs in the process");
    }
    // The server can tell its players apart by ticket id.
    let ticket = a["ticket_id"].as_str().expect("ticket");
    assert!(info.env["MM_TICKET_IDS"].contains(ticket));
    // The assignment points at the process's real port.
    let port = info.ports["gameport"].1.to_string();
    assert_eq!(a["assignment"]["ports"]["gameport"]["external"], port);
    assert_eq!(a["assignment"]["ports"]["gameport"]["internal"], port);
}
