//! `ArbitriumEnv`: the documented injected variables, a local run without them, and malformed
//! values that are reported by name while the rest still parses.

use bevy::prelude::*;
use bevy_edgegap::prelude::*;

const DELETE_TOKEN: &str = "7df4cd933df87084b34ae80d8abde293";
const CONTEXT_TOKEN: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn documented() -> Vec<(String, String)> {
    [
        ("ARBITRIUM_REQUEST_ID", "f68e011bfb01"),
        ("ARBITRIUM_PUBLIC_IP", "162.254.141.66"),
        ("ARBITRIUM_FQDN", "f68e011bfb01.pr.edgegap.net"),
        (
            "ARBITRIUM_DELETE_URL",
            "https://api.edgegap.com/v1/self/stop/f68e011bfb01/463660",
        ),
        ("ARBITRIUM_DELETE_TOKEN", DELETE_TOKEN),
        (
            "ARBITRIUM_CONTEXT_URL",
            "https://api.edgegap.com/v1/context/f68e011bfb01/17",
        ),
        ("ARBITRIUM_CONTEXT_TOKEN", CONTEXT_TOKEN),
        (
            "ARBITRIUM_DEPLOYMENT_LOCATION",
            r#"{"city": "Montreal", "country": "Canada", "continent": "North America", "administrative_division": "Quebec", "timezone": "Eastern Time", "latitude": 45.513707, "longitude": -73.619073}"#,
        ),
        (
            "ARBITRIUM_PORTS_MAPPING",
            r#"{"ports": {"gameport": {"name": "gameport", "internal": 7777, "external": 32013, "protocol": "UDP"}, "web": {"name": "web", "internal": "8080", "external": "31000", "protocol": "TCP"}}}"#,
        ),
        ("ARBITRIUM_PORT_GAMEPORT_INTERNAL", "7777"),
        ("ARBITRIUM_PORT_GAMEPORT_EXTERNAL", "32013"),
        ("ARBITRIUM_PORT_GAMEPORT_PROTOCOL", "UDP"),
        ("ARBITRIUM_PORT_VOICE_INTERNAL", "9000"),
        ("ARBITRIUM_PORT_VOICE_EXTERNAL", "31999"),
        ("ARBITRIUM_PORT_VOICE_PROTOCOL", "UDP"),
        ("ARBITRIUM_DEPLOYMENT_TAGS", "tag1, tag2,,eu"),
        ("ARBITRIUM_HOST_ID", "chicago-edge-od-1205-e3-30a8e1"),
        ("ARBITRIUM_HOST_BASE_CLOCK_FREQUENCY", "2000"),
        ("ARBITRIUM_DEPLOYMENT_VCPU_UNITS", "1536"),
        ("ARBITRIUM_DEPLOYMENT_MEMORY_MB", "3072"),
        ("ARBITRIUM_BEACON_ENABLED", "true"),
        ("ARBITRIUM_HOST_BEACON_PUBLIC_IP", "162.254.141.70"),
        ("ARBITRIUM_HOST_BEACON_PORT_UDP_EXTERNAL", "30001"),
        ("ARBITRIUM_HOST_BEACON_PORT_TCP_EXTERNAL", ""),
        ("ARBITRIUM_HOST_IN_PRIVATE_FLEET", "false"),
        ("ARBITRIUM_PRIVATE_FLEET_ID", "PUBLIC_CLOUD"),
        ("MM_MATCH_ID", "match-42"),
        ("MM_TEAMS", r#"[{"name": "red"}]"#),
        ("MM_TICKET_abc", r#"{"id": "abc"}"#),
        ("HOME", "/root"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn with(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = documented();
    for (key, value) in vars {
        all.retain(|(k, _)| k != key);
        all.push(((*key).to_owned(), (*value).to_owned()));
    }
    all
}

#[test]
fn every_documented_variable_is_read() {
    let env = ArbitriumEnv::from_vars(documented()).expect("request id is set");
    assert!(env.warnings().is_empty(), "{:?}", env.warnings());
    assert_eq!(env.request_id().as_str(), "f68e011bfb01");
    assert_eq!(env.public_ip(), Some("162.254.141.66"));
    assert_eq!(
        env.public_ip_addr(),
        Some("162.254.141.66".parse().unwrap())
    );
    assert_eq!(env.fqdn.as_deref(), Some("f68e011bfb01.pr.edgegap.net"));

    let game = env.port("gameport").unwrap();
    assert_eq!(
        (game.internal, game.external, game.protocol.as_deref()),
        (Some(7777), Some(32013), Some("UDP"))
    );
    let web = env.port("WEB").unwrap();
    assert_eq!((web.internal, web.external), (Some(8080), Some(31000)));
    // Known only from its per-port variables.
    let voice = env.port("voice").unwrap();
    assert_eq!(
        (voice.internal, voice.external, voice.protocol.as_deref()),
        (Some(9000), Some(31999), Some("UDP"))
    );
    assert_eq!(env.ports.len(), 3);
    assert_eq!(
        env.bind_addr("gameport"),
        Some("0.0.0.0:7777".parse().unwrap())
    );
    assert_eq!(
        env.public_addr("gameport"),
        Some("162.254.141.66:32013".parse().unwrap())
    );
    assert_eq!(env.bind_addr("nope"), None);

    let location = env.location.as_ref().unwrap();
    assert_eq!(location.city.as_deref(), Some("Montreal"));
    assert_eq!(location.longitude, Some(-73.619073));
    assert_eq!(env.tags(), ["tag1", "tag2", "eu"]);
    assert_eq!(
        env.delete_url.as_deref(),
        Some("https://api.edgegap.com/v1/self/stop/f68e011bfb01/463660")
    );
    assert_eq!(env.delete_token.as_ref().unwrap().expose(), DELETE_TOKEN);
    assert_eq!(env.context_token.as_ref().unwrap().expose(), CONTEXT_TOKEN);
    assert!(env.context_url.as_deref().unwrap().ends_with("/17"));
    assert!(env.can_self_stop());

    assert_eq!(
        env.host.host_id.as_deref(),
        Some("chicago-edge-od-1205-e3-30a8e1")
    );
    assert_eq!(env.host.base_clock_mhz, Some(2000));
    assert_eq!(env.host.vcpu_units, Some(1536));
    assert_eq!(env.host.memory_mb, Some(3072));
    assert_eq!(env.beacon.enabled, Some(true));
    assert_eq!(env.beacon.public_ip.as_deref(), Some("162.254.141.70"));
    assert_eq!(env.beacon.udp_external, Some(30001));
    assert_eq!(env.beacon.tcp_external, None, "empty means unset");
    assert_eq!(env.private_fleet.in_private_fleet, Some(false));
    assert_eq!(env.private_fleet.fleet_id.as_deref(), Some("PUBLIC_CLOUD"));

    assert_eq!(env.matchmaker_var("MM_MATCH_ID"), Some("match-42"));
    assert_eq!(
        env.matchmaker_var("MM_TICKET_abc"),
        Some(r#"{"id": "abc"}"#)
    );
    assert_eq!(env.matchmaker.len(), 3);
}

#[test]
fn port_names_match_like_edgegap_spells_them() {
    // The mock form: keyed by internal port, with a spaced name; per-port variables upper-cased.
    let env = ArbitriumEnv::from_vars(with(&[
        (
            "ARBITRIUM_PORTS_MAPPING",
            r#"{"ports": {"7777": {"name": "Game Port", "internal": 7777, "external": 31504, "protocol": "UDP"}}}"#,
        ),
        ("ARBITRIUM_PORT_GAMEPORT_INTERNAL", ""),
        ("ARBITRIUM_PORT_GAMEPORT_EXTERNAL", ""),
        ("ARBITRIUM_PORT_GAMEPORT_PROTOCOL", ""),
        ("ARBITRIUM_PORT_GAME_PORT_INTERNAL", "7777"),
        ("ARBITRIUM_PORT_GAME_PORT_EXTERNAL", "31504"),
        ("ARBITRIUM_PORT_GAME_PORT_PROTOCOL", "UDP"),
    ]))
    .unwrap();
    assert!(env.warnings().is_empty(), "{:?}", env.warnings());
    for name in ["Game Port", "GAME_PORT", "game port", "game-port"] {
        let port = env
            .port(name)
            .unwrap_or_else(|| panic!("`{name}` not found"));
        assert_eq!(port.name, "Game Port");
        assert_eq!(port.external, Some(31504));
    }
    assert!(env.port("gameport").is_none(), "GAMEPORT is not GAME_PORT");
}

#[test]
fn the_host_beacon_name_is_read_too() {
    let env = ArbitriumEnv::from_vars(with(&[
        ("ARBITRIUM_BEACON_ENABLED", ""),
        ("ARBITRIUM_HOST_BEACON_ENABLED", "false"),
    ]))
    .unwrap();
    assert_eq!(env.beacon.enabled, Some(false));
}

#[test]
fn without_a_request_id_there_is_no_env() {
    assert!(ArbitriumEnv::from_vars(Vec::new()).is_none());
    let mut vars = documented();
    vars.retain(|(k, _)| k != "ARBITRIUM_REQUEST_ID");
    assert!(ArbitriumEnv::from_vars(vars).is_none());
    assert!(ArbitriumEnv::from_vars(with(&[("ARBITRIUM_REQUEST_ID", "  ")])).is_none());
    // This test process is not an Edgegap deployment.
    assert!(std::env::var_os("ARBITRIUM_REQUEST_ID").is_none());
    assert!(ArbitriumEnv::from_env().is_none());
}

#[test]
fn a_local_run_has_no_env_and_self_stop_is_a_no_op() {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(EdgegapServerPlugin::new().with_signals(false));
    app.finish();
    app.update();
    assert!(app.world().get_resource::<ArbitriumEnv>().is_none());
    app.world_mut().write_message(SelfStop);
    for _ in 0..3 {
        app.update();
    }
    let completed = app.world().resource::<Messages<SelfStopCompleted>>();
    let failed = app.world().resource::<Messages<SelfStopFailed>>();
    assert!(completed.is_empty() && failed.is_empty());
    assert!(app.should_exit().is_none());
}

#[test]
fn an_env_inserted_before_the_plugin_is_kept() {
    let env = ArbitriumEnv::from_vars(documented()).unwrap();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(env.clone())
        .add_plugins(EdgegapServerPlugin::new().with_signals(false));
    app.update();
    assert_eq!(app.world().resource::<ArbitriumEnv>(), &env);
}

fn warned(vars: &[(&str, &str)]) -> (ArbitriumEnv, Vec<String>) {
    let env = ArbitriumEnv::from_vars(with(vars)).unwrap();
    let names = env.warnings().iter().map(|w| w.variable.clone()).collect();
    (env, names)
}

#[test]
fn malformed_variables_are_named_and_the_rest_still_parses() {
    let cases: &[(&str, &str)] = &[
        ("ARBITRIUM_PORTS_MAPPING", "{not json"),
        ("ARBITRIUM_PORTS_MAPPING", r#"{"ports": 7}"#),
        ("ARBITRIUM_DEPLOYMENT_LOCATION", "Montreal"),
        ("ARBITRIUM_PORT_GAMEPORT_EXTERNAL", "thirty"),
        ("ARBITRIUM_PORT_VOICE_INTERNAL", "70000"),
        ("ARBITRIUM_HOST_BASE_CLOCK_FREQUENCY", "fast"),
        ("ARBITRIUM_DEPLOYMENT_VCPU_UNITS", "-1"),
        ("ARBITRIUM_DEPLOYMENT_MEMORY_MB", "3 GB"),
        ("ARBITRIUM_BEACON_ENABLED", "maybe"),
        ("ARBITRIUM_HOST_BEACON_PORT_UDP_EXTERNAL", "0"),
        ("ARBITRIUM_HOST_IN_PRIVATE_FLEET", "sometimes"),
        ("ARBITRIUM_DELETE_URL", "api.edgegap.com/v1/self/stop/x/1"),
        ("ARBITRIUM_CONTEXT_URL", "not a url"),
    ];
    for &(key, value) in cases {
        let (env, names) = warned(&[(key, value)]);
        assert_eq!(names, [key], "`{key}={value}` should warn once, by name");
        // Everything else is still there.
        assert_eq!(env.request_id().as_str(), "f68e011bfb01");
        assert_eq!(env.tags(), ["tag1", "tag2", "eu"]);
        assert_eq!(
            env.host.host_id.as_deref(),
            Some("chicago-edge-od-1205-e3-30a8e1")
        );
        assert_eq!(env.delete_token.as_ref().unwrap().expose(), DELETE_TOKEN);
        assert!(env.port("voice").is_some());
        assert!(env.port("gameport").is_some(), "{key}");
        let shown = env.warnings()[0].to_string();
        assert!(shown.contains(key), "{shown}");
    }
}

#[test]
fn one_bad_port_entry_keeps_the_others() {
    let (env, names) = warned(&[(
        "ARBITRIUM_PORTS_MAPPING",
        r#"{"ports": {"gameport": {"name": "gameport", "internal": 7777, "external": 32013, "protocol": "UDP"}, "web": {"internal": "eighty"}}}"#,
    )]);
    assert_eq!(names, ["ARBITRIUM_PORTS_MAPPING"]);
    assert!(env.warnings()[0].reason.contains("web"));
    assert_eq!(env.port("gameport").unwrap().internal, Some(7777));
    assert!(env.port("web").is_none());
}

#[test]
fn a_per_port_variable_that_disagrees_with_the_mapping_is_reported() {
    let (env, names) = warned(&[("ARBITRIUM_PORT_GAMEPORT_INTERNAL", "7000")]);
    assert_eq!(names, ["ARBITRIUM_PORT_GAMEPORT_INTERNAL"]);
    assert_eq!(env.port("gameport").unwrap().internal, Some(7777));
}

#[test]
fn debug_output_never_shows_a_token() {
    let env = ArbitriumEnv::from_vars(documented()).unwrap();
    let debug = format!("{env:?} {env:#?}");
    assert!(!debug.contains(DELETE_TOKEN) && !debug.contains(CONTEXT_TOKEN));
    assert!(debug.contains("f68e011bfb01"), "{debug}");
    // The URLs embed secrets too: the stop key and the context's security number.
    assert!(!debug.contains("463660"), "the stop key shows: {debug}");
    assert!(
        !debug.contains("f68e011bfb01/17"),
        "the context path shows: {debug}"
    );
    assert!(debug.contains("https://api.edgegap.com"), "{debug}");
    let (env, _) = warned(&[("ARBITRIUM_DELETE_TOKEN", " ")]);
    assert!(env.delete_token.is_none() && !env.can_self_stop());
}
