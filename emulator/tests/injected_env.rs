//! The environment a deployment is given: Edgegap's `ARBITRIUM_*` variables (simulated and
//! launched alike), then the app version's and the deploy's, with real free ports for a
//! launched process.

mod support;

use std::time::Duration;

use edgegap_emulator::{AppVersion, Emulator};
use serde_json::{Value, json};
use support::{
    alive, api, command_emulator, deploy, deploy_body, read_env_file, script, temp_file,
    wait_status, wait_until,
};

#[test]
fn injected_environment_of_a_simulated_deployment() {
    let emu = Emulator::builder()
        .app_version(
            AppVersion::simulated("game", "v1")
                .port("gameport", 7777, "UDP")
                .port("Web Port", 8080, "TCP")
                .env("FROM_VERSION", "version")
                .env("OVERRIDDEN", "version"),
        )
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    let mut body = deploy_body("game", "v1");
    body["environment_variables"] =
        json!([{"key": "OVERRIDDEN", "value": "deploy", "is_hidden": false}]);
    body["tags"] = json!(["a", "b"]);
    let id = deploy(&emu, &body);
    let info = emu.deployment(&id).expect("known");
    let env = &info.env;
    assert_eq!(env["ARBITRIUM_REQUEST_ID"], id);
    assert_eq!(env["ARBITRIUM_PUBLIC_IP"], "127.0.0.1");
    let mapping: Value = serde_json::from_str(&env["ARBITRIUM_PORTS_MAPPING"]).expect("JSON");
    let external = info.ports["gameport"].1;
    assert_eq!(
        mapping["ports"]["gameport"],
        json!({"name": "gameport", "internal": 7777, "external": external, "protocol": "UDP"})
    );
    assert_eq!(env["ARBITRIUM_PORT_GAMEPORT_INTERNAL"], "7777");
    assert_eq!(
        env["ARBITRIUM_PORT_GAMEPORT_EXTERNAL"],
        external.to_string()
    );
    assert_eq!(env["ARBITRIUM_PORT_GAMEPORT_PROTOCOL"], "UDP");
    assert_eq!(env["ARBITRIUM_PORT_WEB_PORT_INTERNAL"], "8080");
    assert!(
        env["ARBITRIUM_CONTEXT_URL"].starts_with(&format!("{}/v1/context/{id}/", emu.base_url()))
    );
    assert_eq!(env["ARBITRIUM_CONTEXT_TOKEN"].len(), 32);
    let location: Value =
        serde_json::from_str(&env["ARBITRIUM_DEPLOYMENT_LOCATION"]).expect("JSON");
    assert!(location["city"].is_string() && location["latitude"].is_number());
    assert_eq!(env["ARBITRIUM_DEPLOYMENT_TAGS"], "a,b");
    for key in [
        "ARBITRIUM_HOST_ID",
        "ARBITRIUM_HOST_BASE_CLOCK_FREQUENCY",
        "ARBITRIUM_DEPLOYMENT_VCPU_UNITS",
        "ARBITRIUM_DEPLOYMENT_MEMORY_MB",
        "ARBITRIUM_BEACON_ENABLED",
    ] {
        assert!(env.contains_key(key), "{key} missing");
    }
    assert_eq!(env["FROM_VERSION"], "version");
    assert_eq!(env["OVERRIDDEN"], "deploy", "deploy env wins");
}

#[test]
fn process_receives_the_documented_environment_and_real_ports() {
    let out = temp_file("env.txt");
    let _ = std::fs::remove_file(&out);
    let emu = command_emulator(vec![
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
