//! What the matchmaker refuses: 400 for a profile or attribute mismatch (unknown attributes
//! included) and malformed bodies, 404 for unknown ids, 405 for a wrong method, 409 for
//! joining a group that already searches.

mod support;

use edgegap_emulator::player_count_rule;
use serde_json::{Value, json};
use support::{MM_TOKEN, create_group, join_group, matchmaker_emulator, mm, mm_config, send};

fn config() -> String {
    mm_config(
        "ranked",
        json!({
            "match_size": player_count_rule(2, 2, 2),
            "beacons": { "type": "latencies", "attributes": { "difference": 100, "max_latency": 200 } },
            "elo": { "type": "number_difference", "attributes": { "max_difference": 50 } },
            "mode": { "type": "string_equality" },
            "maps": { "type": "intersection", "attributes": { "overlap": 1 } },
        }),
        json!({}),
    )
}

fn valid() -> Value {
    json!({ "beacons": { "Montreal": 12.5 }, "elo": 1200, "mode": "ranked", "maps": ["Vault"] })
}

fn with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut attributes = valid();
    change(attributes.as_object_mut().expect("object"));
    attributes
}

#[test]
fn attribute_mismatches_are_400() {
    let emu = matchmaker_emulator(&config());
    let cases = [
        (
            "unknown attribute",
            with(|a| {
                a.insert("color".into(), json!("red"));
            }),
        ),
        (
            "the player_count rule is no attribute",
            with(|a| {
                a.insert("match_size".into(), json!(2));
            }),
        ),
        (
            "missing attribute",
            with(|a| {
                a.remove("elo");
            }),
        ),
        (
            "number as a string",
            with(|a| {
                a.insert("elo".into(), json!("1200"));
            }),
        ),
        (
            "string equality takes a string",
            with(|a| {
                a.insert("mode".into(), json!(["ranked"]));
            }),
        ),
        (
            "intersection takes strings",
            with(|a| {
                a.insert("maps".into(), json!([1, 2]));
            }),
        ),
        (
            "latencies are numbers",
            with(|a| {
                a.insert("beacons".into(), json!({ "Montreal": "fast" }));
            }),
        ),
        ("attributes are an object", json!(["ranked"])),
    ];
    for (what, attributes) in cases {
        for path in ["/groups", "/tickets"] {
            let body = json!({ "profile": "ranked", "is_ready": true, "attributes": attributes });
            let answer = mm(&emu, "POST", path, Some(&body));
            assert_eq!(answer.status, 400, "{what} on {path}: {answer:?}");
            assert!(answer.message().contains("profile"), "{answer:?}");
        }
    }
    // An attribute too large to travel in the server's environment (4,096-byte values).
    let huge = with(|a| {
        a.insert("maps".into(), json!(vec!["Vault".repeat(8); 100]));
    });
    let answer = mm(
        &emu,
        "POST",
        "/groups",
        Some(&json!({ "profile": "ranked", "attributes": huge })),
    );
    assert_eq!(answer.status, 400, "{answer:?}");
    let unknown_profile = json!({ "profile": "casual", "attributes": valid() });
    assert_eq!(
        mm(&emu, "POST", "/groups", Some(&unknown_profile)).status,
        400
    );
    assert_eq!(
        mm(&emu, "POST", "/tickets", Some(&unknown_profile)).status,
        400
    );
    // A member must use the group's profile and attributes.
    let owner = create_group(&emu, "ranked", valid(), false);
    let gid = owner["group_id"].as_str().expect("gid");
    let path = format!("/groups/{gid}/members");
    let other = json!({ "profile": "casual", "attributes": valid() });
    assert_eq!(mm(&emu, "POST", &path, Some(&other)).status, 400);
    let bad = json!({ "profile": "ranked", "attributes": with(|a| { a.remove("maps"); }) });
    assert_eq!(mm(&emu, "POST", &path, Some(&bad)).status, 400);
    // Nothing refused was created: the valid ones still work and nothing was deployed.
    assert_eq!(
        create_group(&emu, "ranked", valid(), true)["status"],
        "SEARCHING"
    );
    assert!(emu.deployments().is_empty());
}

#[test]
fn malformed_bodies_are_400() {
    let emu = matchmaker_emulator(&config());
    let url = format!("{}/groups", emu.matchmaker_url());
    for body in ["", "{", "[]", "\"ranked\"", "{\"profile\": 3}"] {
        let answer = send("POST", &url, Some(MM_TOKEN), Some(body));
        assert_eq!(answer.status, 400, "{body:?}: {answer:?}");
    }
    let bad_ip = json!({ "profile": "ranked", "player_ip": "not an ip", "attributes": valid() });
    assert_eq!(mm(&emu, "POST", "/groups", Some(&bad_ip)).status, 400);
    let bad_ready = json!({ "profile": "ranked", "is_ready": "yes", "attributes": valid() });
    assert_eq!(mm(&emu, "POST", "/groups", Some(&bad_ready)).status, 400);
    let owner = create_group(&emu, "ranked", valid(), false);
    let member = format!(
        "/groups/{}/members/{}",
        owner["group_id"].as_str().unwrap(),
        owner["member_id"].as_str().unwrap()
    );
    assert_eq!(mm(&emu, "PATCH", &member, Some(&json!({}))).status, 400);
    assert_eq!(
        mm(&emu, "PATCH", &member, Some(&json!({ "is_ready": 1 }))).status,
        400
    );
}

#[test]
fn unknown_ids_are_404_and_wrong_methods_405() {
    let emu = matchmaker_emulator(&config());
    for path in [
        "/groups/nope",
        "/groups/nope/members/none",
        "/tickets/nope",
        "/backfills/nope",
        "/v2/deployments",
    ] {
        assert_eq!(mm(&emu, "GET", path, None).status, 404, "{path}");
    }
    let owner = create_group(&emu, "ranked", valid(), false);
    let gid = owner["group_id"].as_str().expect("gid");
    assert_eq!(
        mm(&emu, "GET", &format!("/groups/{gid}/members/none"), None).status,
        404
    );
    let join = json!({ "profile": "ranked", "attributes": valid() });
    assert_eq!(
        mm(&emu, "POST", "/groups/nope/members", Some(&join)).status,
        404
    );
    let wrong = mm(&emu, "PUT", &format!("/groups/{gid}"), None);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("Allow"), Some("GET, DELETE"));
}

#[test]
fn groups_take_members_only_while_forming_and_up_to_a_team() {
    let emu = matchmaker_emulator(&config());
    let owner = create_group(&emu, "ranked", valid(), false);
    let gid = owner["group_id"].as_str().expect("gid").to_owned();
    join_group(&emu, &gid, "ranked", valid(), false);
    let third = json!({ "profile": "ranked", "attributes": valid() });
    let full = mm(
        &emu,
        "POST",
        &format!("/groups/{gid}/members"),
        Some(&third),
    );
    assert_eq!(full.status, 400, "a team holds two: {full:?}");
    let searching = create_group(&emu, "ranked", valid(), true);
    let late = mm(
        &emu,
        "POST",
        &format!(
            "/groups/{}/members",
            searching["group_id"].as_str().expect("gid")
        ),
        Some(&third),
    );
    assert_eq!(late.status, 409, "{late:?}");
}
