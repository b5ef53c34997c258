//! A 2v2 match: two solo players and a party of two land on one deployment, every member gets
//! the same assignment, and the deployment's environment names all four tickets and both teams.

mod support;

use std::collections::BTreeSet;

use edgegap_emulator::player_count_rule;
use serde_json::{Value, json};
use support::{
    create_group, duel_config, join_group, matchmaker_emulator, member_path, mm, mm_config,
    set_ready, wait_member,
};

fn config() -> String {
    mm_config(
        "ranked-2v2",
        json!({
            "match_size": player_count_rule(2, 2, 2),
            "selected_game_mode": { "type": "string_equality" },
            "selected_map": { "type": "intersection", "attributes": { "overlap": 1 } },
        }),
        json!({}),
    )
}

fn attributes(maps: &[&str]) -> Value {
    json!({ "selected_game_mode": "quickplay", "selected_map": maps })
}

fn parse(env: &std::collections::BTreeMap<String, String>, key: &str) -> Value {
    serde_json::from_str(env.get(key).unwrap_or_else(|| panic!("{key} missing")))
        .unwrap_or_else(|e| panic!("{key} is not JSON: {e}"))
}

#[test]
fn two_solos_and_a_party_of_two_share_one_server() {
    let emu = matchmaker_emulator(&config());
    assert_ne!(emu.matchmaker_url(), emu.base_url());
    let solo_a = create_group(&emu, "ranked-2v2", attributes(&["Airport", "Vault"]), true);
    let solo_b = create_group(&emu, "ranked-2v2", attributes(&["Vault"]), true);
    assert_eq!(solo_a["status"], "SEARCHING");
    let owner = create_group(&emu, "ranked-2v2", attributes(&["Vault", "Dock"]), false);
    assert_eq!(owner["status"], "INITIAL");
    assert!(owner["ticket_id"].is_null(), "no ticket before the search");
    let gid = owner["group_id"].as_str().expect("group id").to_owned();
    let friend = join_group(&emu, &gid, "ranked-2v2", attributes(&["Vault"]), true);
    assert_eq!(friend["group_id"], gid);
    // Three searching players cannot fill two teams of two: nothing is deployed.
    assert_eq!(
        wait_member(&emu, &solo_b, "SEARCHING")["status"],
        "SEARCHING"
    );
    assert!(
        emu.deployments().is_empty(),
        "no partial match in the initial stage"
    );

    let ready = set_ready(&emu, &owner, true);
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json["is_ready"], true);

    let members = [&solo_a, &solo_b, &owner, &friend];
    let assigned: Vec<Value> = members
        .iter()
        .map(|m| wait_member(&emu, m, "HOST_ASSIGNED"))
        .collect();
    let assignment = &assigned[0]["assignment"];
    for answer in &assigned {
        assert_eq!(&answer["assignment"], assignment, "one server for everyone");
    }
    let deployments = emu.deployments();
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    let deployment = &deployments[0];
    assert_eq!(deployment.status, "Status.READY");
    assert_eq!(
        assignment["fqdn"],
        format!("{}.pr.edgegap.net", deployment.request_id)
    );
    assert_eq!(assignment["public_ip"], "127.0.0.1");
    let external = deployment.ports["gameport"].1.to_string();
    assert_eq!(assignment["ports"]["gameport"]["external"], external);
    assert_eq!(assignment["ports"]["gameport"]["internal"], "7777");
    assert_eq!(assignment["ports"]["gameport"]["protocol"], "UDP");
    assert!(assignment["location"]["city"].is_string());

    // The environment names the four tickets, the groups and both teams.
    let env = &deployment.env;
    let tickets: BTreeSet<String> = assigned
        .iter()
        .map(|a| a["ticket_id"].as_str().expect("ticket id").to_owned())
        .collect();
    assert_eq!(tickets.len(), 4);
    let ids: BTreeSet<String> = serde_json::from_value(parse(env, "MM_TICKET_IDS")).expect("ids");
    assert_eq!(ids, tickets);
    for (answer, member) in assigned.iter().zip(members) {
        let ticket = answer["ticket_id"].as_str().expect("ticket id");
        let injected = parse(env, &format!("MM_TICKET_{ticket}"));
        assert_eq!(injected["id"], ticket);
        assert_eq!(injected["group_id"], member["group_id"]);
        assert_eq!(injected["team_id"], answer["team_id"]);
        assert_eq!(injected["player_ip"], "127.0.0.1");
        assert!(
            injected["created_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert_eq!(injected["attributes"]["selected_game_mode"], "quickplay");
    }
    let groups = parse(env, "MM_GROUPS");
    assert_eq!(groups.as_object().map(|g| g.len()), Some(3));
    assert_eq!(groups[&gid].as_array().map(Vec::len), Some(2));
    let teams = parse(env, "MM_TEAMS");
    let teams = teams.as_object().expect("teams object");
    assert_eq!(teams.len(), 2);
    let party_team = assigned[2]["team_id"].as_str().expect("team");
    assert_eq!(
        assigned[3]["team_id"], party_team,
        "a party plays in one team"
    );
    assert_eq!(teams[party_team], json!([gid]));
    let solo_team = assigned[0]["team_id"].as_str().expect("team");
    assert_eq!(assigned[1]["team_id"], solo_team);
    assert_ne!(solo_team, party_team);
    assert_eq!(teams[solo_team].as_array().map(Vec::len), Some(2));
    assert_eq!(env["MM_MATCH_PROFILE"], "ranked-2v2");
    assert_eq!(env["MM_EXPANSION"], "initial");
    assert!(env["MM_MATCH_ID"].starts_with("ranked-2v2_initial-"));
    assert_eq!(
        parse(env, "MM_EQUALITY"),
        json!({ "selected_game_mode": "quickplay" })
    );
    assert_eq!(
        parse(env, "MM_INTERSECTION"),
        json!({ "selected_map": ["Vault"] })
    );
    assert!(
        env.contains_key("ARBITRIUM_REQUEST_ID"),
        "the usual variables too"
    );

    // The group view agrees.
    let group = mm(&emu, "GET", &format!("/groups/{gid}"), None);
    assert_eq!(group.status, 200);
    assert_eq!(group.json["status"], "HOST_ASSIGNED");
    assert_eq!(&group.json["assignment"], assignment);
    assert_eq!(group.json["team_id"], party_team);
}

#[test]
fn first_in_first_out_and_one_match_per_full_set() {
    let config = duel_config();
    let emu = matchmaker_emulator(&config);
    let players: Vec<Value> = (0..5)
        .map(|_| create_group(&emu, "duel", json!({}), true))
        .collect();
    for player in &players[..4] {
        wait_member(&emu, player, "HOST_ASSIGNED");
    }
    let assignment =
        |i: usize| wait_member(&emu, &players[i], "HOST_ASSIGNED")["assignment"].clone();
    assert_eq!(assignment(0), assignment(1), "the first two play together");
    assert_eq!(assignment(2), assignment(3));
    assert_ne!(assignment(0), assignment(2));
    assert_eq!(
        mm(&emu, "GET", &member_path(&players[4]), None).json["status"],
        "SEARCHING",
        "the fifth waits for an opponent"
    );
    assert_eq!(emu.deployments().len(), 2);
}
