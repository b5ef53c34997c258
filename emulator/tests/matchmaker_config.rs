//! Starting a matchmaker: the configuration is refused as Edgegap's dashboard refuses it
//! (typed errors), and the binary takes it from its config file.

mod support;

use std::time::Duration;

use edgegap_emulator::player_count_rule;
use edgegap_emulator::{AppVersion, Emulator, EmulatorError, MatchmakerConfigError};
use serde_json::{Value, json};
use support::{mm_config, send, spawn_binary_printing, temp_dir};

fn start(config: &str) -> Result<edgegap_emulator::EmulatorHandle, EmulatorError> {
    Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1"))
        .matchmaker(config)
        .start()
}

fn refusal(config: &str) -> MatchmakerConfigError {
    match start(config) {
        Err(EmulatorError::Matchmaker(error)) => error,
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("accepted: {config}"),
    }
}

fn valid() -> Value {
    serde_json::from_str(&mm_config(
        "casual",
        json!({ "match_size": player_count_rule(1, 2, 4) }),
        json!({ "30": { "match_size": { "min_team_size": 1 } } }),
    ))
    .expect("JSON")
}

fn changed(change: impl FnOnce(&mut Value)) -> String {
    let mut config = valid();
    change(&mut config);
    config.to_string()
}

#[test]
fn what_the_dashboard_refuses_is_refused() {
    assert!(start(&valid().to_string()).is_ok());
    assert!(matches!(
        refusal(&changed(|c| c["profiles"]["casual"]["application"]["version"] = json!("v9"))),
        MatchmakerConfigError::UnknownAppVersion { ref app, ref version, .. } if app == "game" && version == "v9"
    ));
    assert!(matches!(
        refusal(&changed(
            |c| c["profiles"]["casual"]["application"]["name"] = json!("other")
        )),
        MatchmakerConfigError::UnknownAppVersion { .. }
    ));
    assert!(matches!(
        refusal(&changed(|c| {
            c["profiles"]["casual"]["rules"]["initial"]["match_size"]["attributes"]["min_team_size"] = json!(5)
        })),
        MatchmakerConfigError::MinAboveMax { min: 5, max: 4, ref stage, .. } if stage == "initial"
    ));
    assert!(matches!(
        refusal(&changed(|c| {
            c["profiles"]["casual"]["rules"]["expansions"]["30"]["match_size"]["max_team_size"] = json!(1);
            c["profiles"]["casual"]["rules"]["expansions"]["30"]["match_size"]["min_team_size"] = json!(2);
        })),
        MatchmakerConfigError::MinAboveMax { ref stage, .. } if stage == "30"
    ));
    for duration in ["5 minutes", "5", "-5m", "0s", ""] {
        assert!(
            matches!(
                refusal(&changed(|c| c["profiles"]["casual"]["ticket_expiration_period"] = json!(duration))),
                MatchmakerConfigError::Duration { ref path, .. } if path.ends_with("ticket_expiration_period")
            ),
            "{duration:?}"
        );
    }
    assert!(matches!(
        refusal(&changed(
            |c| c["profiles"]["casual"]["ticket_removal_period"] = json!(60)
        )),
        MatchmakerConfigError::Invalid { .. }
    ));
    assert!(matches!(
        refusal(&changed(|c| c["version"] = json!("2.1.0"))),
        MatchmakerConfigError::Version(_)
    ));
    assert!(matches!(
        refusal("{ not json"),
        MatchmakerConfigError::Json(_)
    ));
    let invalid = [
        changed(|c| {
            c["profiles"]["casual"]["rules"]["initial"]["match_size"]["type"] = json!("players")
        }),
        changed(|c| {
            c["profiles"]["casual"]["rules"]["initial"]["match_size"]["attributes"]
                .as_object_mut()
                .expect("object")
                .remove("team_count");
        }),
        changed(
            |c| c["profiles"]["casual"]["rules"]["initial"] = json!({ "elo": { "type": "number_difference", "attributes": { "max_difference": 5 } } }),
        ),
        changed(|c| c["profiles"]["casual"]["rules"]["expansions"]["soon"] = json!({})),
        changed(|c| c["profiles"]["casual"]["rules"]["expansions"]["60"] = json!({ "elo": {} })),
        changed(|c| c["profiles"]["casual"]["ticket_expiry"] = json!("5m")),
        changed(|c| c["profiles"] = json!({})),
        changed(|c| c["allowed_cors_origins"] = json!("https://a.com")),
    ];
    for config in invalid {
        assert!(
            matches!(refusal(&config), MatchmakerConfigError::Invalid { .. }),
            "{config}"
        );
    }
    // The message names where.
    let message = refusal(&changed(|c| {
        c["profiles"]["casual"]["rules"]["initial"]["match_size"]["attributes"]["team_count"] =
            json!(0)
    }))
    .to_string();
    assert!(
        message.contains("profiles.casual.rules.initial.match_size.attributes.team_count"),
        "{message}"
    );
}

#[test]
fn no_matchmaker_unless_configured() {
    let emu = Emulator::builder().start().expect("starts");
    assert_eq!(emu.matchmaker_url(), "");
    assert_eq!(emu.matchmaker_token(), "");
    emu.advance_matchmaker_clock(Duration::from_secs(1));
}

#[test]
fn the_binary_reads_the_matchmaker_from_its_config_file() {
    let dir = temp_dir("mm-binary");
    std::fs::write(dir.join("matchmaker.json"), valid().to_string()).expect("written");
    let toml = r#"
token = "api-token"
[[app_versions]]
app = "game"
version = "v1"
[matchmaker]
config = "matchmaker.json"
token = "mm-binary-token"
"#;
    let (mut child, printed) = spawn_binary_printing("mm-binary", toml, 5);
    let value = |key: &str| {
        printed
            .iter()
            .find_map(|(k, v)| (k == key).then(|| v.clone()))
            .unwrap_or_else(|| panic!("{key} not printed: {printed:?}"))
    };
    let url = value("EDGEGAP_MATCHMAKER_URL");
    assert_ne!(url, value("EDGEGAP_BASE_URL"));
    assert_eq!(value("EDGEGAP_MATCHMAKER_TOKEN"), "mm-binary-token");
    let body = json!({ "profile": "casual", "is_ready": true, "attributes": {} }).to_string();
    let created = send(
        "POST",
        &format!("{url}/groups"),
        Some("mm-binary-token"),
        Some(&body),
    );
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.json["status"], "SEARCHING");
    let _ = child.kill();
    let _ = child.wait();

    // Inline JSON works too; a refused configuration stops the binary with its reason.
    let inline = format!(
        "[[app_versions]]\napp = \"game\"\nversion = \"v1\"\n[matchmaker]\njson = '''{}'''\n",
        valid()
    );
    let (mut child, printed) = spawn_binary_printing("mm-inline", &inline, 5);
    assert!(
        printed.iter().any(|(k, _)| k == "EDGEGAP_MATCHMAKER_URL"),
        "{printed:?}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let refused = inline.replace("\"version\":\"v1\"", "\"version\":\"v2\"");
    assert_ne!(refused, inline);
    let path = temp_dir("mm-refused").join("emulator.toml");
    std::fs::write(&path, refused).expect("written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_edgegap-emulator"))
        .args(["--config", path.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid matchmaker configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("casual"), "{stderr}");
}

#[test]
fn the_config_file_wants_one_source_for_the_matchmaker() {
    let both = "[matchmaker]\nconfig = \"a.json\"\njson = \"{}\"\n";
    assert!(matches!(
        Emulator::from_config_str(both),
        Err(EmulatorError::Config(_))
    ));
    let neither = "[matchmaker]\ntoken = \"x\"\n";
    assert!(matches!(
        Emulator::from_config_str(neither),
        Err(EmulatorError::Config(_))
    ));
    let unknown = "[matchmaker]\njson = \"{}\"\nport = 3\n";
    assert!(matches!(
        Emulator::from_config_str(unknown),
        Err(EmulatorError::Config(_))
    ));
}
