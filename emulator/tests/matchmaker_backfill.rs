//! Backfill: a running server asks for one more group; the matchmaker assigns it the oldest
//! searching group that fits its players and profile, and that group gets the server's
//! assignment.

mod support;

use edgegap_emulator::player_count_rule;
use serde_json::{Map, Value, json};
use support::{create_group, matchmaker_emulator, mm, mm_config, wait_member, wait_until};

fn config() -> String {
    mm_config(
        "coop",
        json!({
            "match_size": player_count_rule(1, 2, 2),
            "backfill_group_size": { "type": "intersection", "attributes": { "overlap": 1 } },
        }),
        json!({}),
    )
}

fn sizes(sizes: &[&str]) -> Value {
    json!({ "backfill_group_size": sizes })
}

#[test]
fn a_backfill_is_assigned_the_one_group_that_fits() {
    let emu = matchmaker_emulator(&config());
    let a = create_group(&emu, "coop", sizes(&["new", "1"]), true);
    let b = create_group(&emu, "coop", sizes(&["new", "1"]), true);
    let a = wait_member(&emu, &a, "HOST_ASSIGNED");
    wait_member(&emu, &b, "HOST_ASSIGNED");
    // Player b left the server: it asks for one player, with the tickets it still has (as
    // the matchmaker injected them) and its own address.
    let env = emu.deployments()[0].env.clone();
    let kept = a["ticket_id"].as_str().expect("ticket");
    let ticket: Value = serde_json::from_str(&env[&format!("MM_TICKET_{kept}")]).expect("JSON");
    let mut tickets = Map::new();
    tickets.insert(kept.to_owned(), ticket);
    let mut assignment = a["assignment"].clone();
    assignment["request_id"] = json!(emu.deployments()[0].request_id);
    let request = json!({
        "profile": "coop",
        "attributes": { "assignment": assignment },
        "tickets": tickets,
    });
    let created = mm(&emu, "POST", "/backfills", Some(&request));
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.json["status"], "SEARCHING");
    assert!(created.json["assigned_ticket"].is_null());
    let path = format!("/backfills/{}", created.json["id"].as_str().expect("id"));

    // A player who only wants a group of three does not fit; the next one does.
    let misfit = create_group(&emu, "coop", sizes(&["3"]), true);
    let fit = create_group(&emu, "coop", sizes(&["new", "1"]), true);
    let assigned = wait_member(&emu, &fit, "HOST_ASSIGNED");
    assert_eq!(assigned["assignment"], request["attributes"]["assignment"]);
    assert_eq!(assigned["team_id"], a["team_id"], "the server's team");
    let mut backfill = mm(&emu, "GET", &path, None);
    wait_until(
        "the backfill to be ASSIGNED",
        std::time::Duration::from_secs(10),
        || {
            backfill = mm(&emu, "GET", &path, None);
            backfill.json["status"] == "ASSIGNED"
        },
    );
    let ticket = &backfill.json["assigned_ticket"];
    assert_eq!(ticket["id"], assigned["ticket_id"]);
    assert_eq!(ticket["group_id"], fit["group_id"]);
    assert_eq!(ticket["attributes"], sizes(&["new", "1"]));
    assert_eq!(ticket["team_id"], a["team_id"]);
    assert_eq!(backfill.json["tickets"], request["tickets"]);
    assert_eq!(
        wait_member(&emu, &misfit, "SEARCHING")["status"],
        "SEARCHING"
    );
    assert_eq!(emu.deployments().len(), 1, "a backfill deploys nothing");

    assert_eq!(mm(&emu, "DELETE", &path, None).status, 204);
    assert_eq!(mm(&emu, "GET", &path, None).status, 404);
    assert_eq!(mm(&emu, "DELETE", &path, None).status, 404);
}

#[test]
fn a_backfill_must_fit_the_profile() {
    let emu = matchmaker_emulator(&config());
    let assignment = json!({ "fqdn": "x.pr.edgegap.net", "public_ip": "127.0.0.1", "ports": {}, "location": {} });
    let cases = [
        json!({ "profile": "coop", "tickets": {} }),
        json!({ "profile": "ranked", "attributes": { "assignment": assignment }, "tickets": {} }),
        json!({ "profile": "coop", "attributes": { "assignment": assignment },
                "tickets": { "t1": { "id": "t1", "attributes": { "elo": 3 } } } }),
        json!({ "profile": "coop", "attributes": { "assignment": assignment }, "tickets": [] }),
    ];
    for body in cases {
        let answer = mm(&emu, "POST", "/backfills", Some(&body));
        assert_eq!(answer.status, 400, "{body} answered {answer:?}");
        assert!(answer.json["message"].is_string());
    }
    let empty = json!({ "profile": "coop", "attributes": { "assignment": assignment } });
    assert_eq!(mm(&emu, "POST", "/backfills", Some(&empty)).status, 201);
}
