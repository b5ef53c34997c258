//! Expansions: tickets that cannot match under the initial rules match once an expansion
//! relaxes them, and partial matches wait for an expansion or the expiration.

mod support;

use std::time::Duration;

use edgegap_emulator::player_count_rule;
use serde_json::json;
use support::{
    create_group, matchmaker_emulator, member_path, mm, mm_config, size_only_config, wait_member,
};

#[test]
fn a_ticket_matches_only_after_the_expansion_relaxes_a_rule() {
    let config = mm_config(
        "duel",
        json!({
            "match_size": player_count_rule(2, 1, 1),
            "elo": { "type": "number_difference", "attributes": { "max_difference": 50 } },
        }),
        json!({ "30": { "elo": { "max_difference": 500 } } }),
    );
    let emu = matchmaker_emulator(&config);
    let low = create_group(&emu, "duel", json!({ "elo": 1000 }), true);
    let high = create_group(&emu, "duel", json!({ "elo": 1300 }), true);
    emu.advance_matchmaker_clock(Duration::from_secs(29));
    // Every request first brings the matchmaker up to its clock: at 29 s nothing has changed.
    for player in [&low, &high] {
        assert_eq!(
            mm(&emu, "GET", &member_path(player), None).json["status"],
            "SEARCHING"
        );
    }
    assert!(emu.deployments().is_empty());

    emu.advance_matchmaker_clock(Duration::from_secs(1));
    let low = wait_member(&emu, &low, "HOST_ASSIGNED");
    let high = wait_member(&emu, &high, "HOST_ASSIGNED");
    assert_eq!(low["assignment"], high["assignment"]);
    assert_ne!(low["team_id"], high["team_id"], "one team each");
    let deployments = emu.deployments();
    assert_eq!(deployments.len(), 1);
    let env = &deployments[0].env;
    assert_eq!(env["MM_EXPANSION"], "30", "the stage that formed the match");
    assert!(
        env["MM_MATCH_ID"].starts_with("duel_30-"),
        "{}",
        env["MM_MATCH_ID"]
    );
}

fn casual() -> String {
    // Edgegap's casual template: one team of 2 to 4; a lone player may play after 30 s.
    mm_config(
        "casual",
        json!({ "match_size": player_count_rule(1, 2, 4) }),
        json!({ "30": { "match_size": { "min_team_size": 1 } } }),
    )
}

#[test]
fn a_partial_match_waits_for_the_expansion() {
    let emu = matchmaker_emulator(&casual());
    let players: Vec<_> = (0..3)
        .map(|_| create_group(&emu, "casual", json!({}), true))
        .collect();
    emu.advance_matchmaker_clock(Duration::from_secs(29));
    assert_eq!(
        mm(&emu, "GET", &member_path(&players[0]), None).json["status"],
        "SEARCHING",
        "three of four: no partial match in the initial stage"
    );
    assert!(emu.deployments().is_empty());
    emu.advance_matchmaker_clock(Duration::from_secs(1));
    let assigned: Vec<_> = players
        .iter()
        .map(|p| wait_member(&emu, p, "HOST_ASSIGNED"))
        .collect();
    assert!(
        assigned
            .iter()
            .all(|a| a["assignment"] == assigned[0]["assignment"])
    );
    let deployments = emu.deployments();
    assert_eq!(deployments.len(), 1, "the three play together");
    let ids: Vec<String> = serde_json::from_str(&deployments[0].env["MM_TICKET_IDS"]).expect("ids");
    assert_eq!(ids.len(), 3);
}

#[test]
fn a_full_match_does_not_wait() {
    let emu = matchmaker_emulator(&casual());
    let players: Vec<_> = (0..4)
        .map(|_| create_group(&emu, "casual", json!({}), true))
        .collect();
    // The clock never moved: four players fill the team at once.
    for player in &players {
        wait_member(&emu, player, "HOST_ASSIGNED");
    }
    assert_eq!(emu.deployments()[0].env["MM_EXPANSION"], "initial");
}

#[test]
fn the_expiration_is_the_last_chance_for_a_partial_match() {
    let config = size_only_config("squad", 1, 2, 4);
    let emu = matchmaker_emulator(&config);
    let a = create_group(&emu, "squad", json!({}), true);
    let b = create_group(&emu, "squad", json!({}), true);
    emu.advance_matchmaker_clock(Duration::from_secs(299));
    assert_eq!(
        mm(&emu, "GET", &member_path(&a), None).json["status"],
        "SEARCHING"
    );
    emu.advance_matchmaker_clock(Duration::from_secs(1));
    let a = wait_member(&emu, &a, "HOST_ASSIGNED");
    let b = wait_member(&emu, &b, "HOST_ASSIGNED");
    assert_eq!(a["assignment"], b["assignment"]);
}

#[test]
fn without_a_manual_clock_timers_run_on_wall_time() {
    let config = mm_config(
        "casual",
        json!({ "match_size": player_count_rule(1, 2, 4) }),
        json!({ "1": { "match_size": { "min_team_size": 1 } } }),
    );
    let emu = edgegap_emulator::Emulator::builder()
        .app_version(edgegap_emulator::AppVersion::simulated("game", "v1"))
        .lifecycle_step(Duration::ZERO)
        .matchmaker(config)
        .matchmaker_token(support::MM_TOKEN)
        .start()
        .expect("starts");
    let alone = create_group(&emu, "casual", json!({}), true);
    // Nobody else comes: the expansion at 1 s (wall time) lets the player play alone.
    let assigned = wait_member(&emu, &alone, "HOST_ASSIGNED");
    assert!(assigned["assignment"]["fqdn"].is_string());
    assert_eq!(emu.deployments()[0].env["MM_EXPANSION"], "1");
}
