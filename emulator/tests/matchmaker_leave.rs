//! Leaving: before the match a member or the group leaves (204); once the match is found it is
//! too late (409 on every way out) and the player still gets the assignment.

mod support;

use edgegap_emulator::AppVersion;
use serde_json::json;
use support::{
    create_group, create_ticket, duel_config, join_group, matchmaker_builder, matchmaker_emulator,
    member_path, mm, set_ready, size_only_config, wait_member, wait_status,
};

#[test]
fn leaving_after_the_match_is_found_is_refused_and_the_assignment_still_comes() {
    let config = duel_config();
    // The server is READY only once its TCP port accepts: the test opens it, so the match
    // stays MATCH_FOUND for as long as the test needs.
    let emu = matchmaker_builder(&config)
        .app_version(AppVersion::gated("game", "v1", "gameport", 7777))
        .start()
        .expect("starts");
    let player = create_group(&emu, "duel", json!({}), true);
    let ticket = create_ticket(&emu, "duel", json!({}));
    let ticket_path = format!("/tickets/{}", ticket["id"].as_str().expect("id"));
    let found = wait_member(&emu, &player, "MATCH_FOUND");
    assert!(found["assignment"].is_null());
    assert!(found["team_id"].is_string(), "teams are set at MATCH_FOUND");
    let gid = player["group_id"].as_str().expect("gid");

    let refusals = [
        mm(&emu, "DELETE", &member_path(&player), None),
        mm(&emu, "DELETE", &format!("/groups/{gid}"), None),
        set_ready(&emu, &player, false),
        mm(&emu, "DELETE", &ticket_path, None),
    ];
    for answer in &refusals {
        assert_eq!(answer.status, 409, "{answer:?}");
        assert!(answer.json["message"].is_string());
    }
    assert_eq!(
        mm(&emu, "GET", &member_path(&player), None).json["status"],
        "MATCH_FOUND"
    );

    let deployment = emu.deployments().pop().expect("one deployment");
    wait_status(&emu, &deployment.request_id, "Status.DEPLOYING");
    let port = deployment.ports["gameport"].0;
    let _server = emu
        .open_port(&deployment.request_id, "gameport")
        .expect("the given port is free");
    let assigned = wait_member(&emu, &player, "HOST_ASSIGNED");
    assert_eq!(
        assigned["assignment"]["ports"]["gameport"]["external"],
        port.to_string()
    );
    let other = mm(&emu, "GET", &ticket_path, None);
    assert_eq!(other.json["status"], "HOST_ASSIGNED");
    assert_eq!(other.json["assignment"], assigned["assignment"]);
    assert_eq!(other.json["match_id"], deployment.env["MM_MATCH_ID"]);
    assert_eq!(mm(&emu, "DELETE", &member_path(&player), None).status, 409);
    assert_eq!(
        mm(&emu, "GET", &member_path(&player), None).json["assignment"],
        assigned["assignment"],
        "the assignment is kept"
    );
}

#[test]
fn leaving_before_the_match() {
    let config = size_only_config("squad", 2, 2, 2);
    let emu = matchmaker_emulator(&config);
    // Forming: a member leaves, the group stays.
    let owner = create_group(&emu, "squad", json!({}), false);
    let gid = owner["group_id"].as_str().expect("gid").to_owned();
    let guest = join_group(&emu, &gid, "squad", json!({}), false);
    assert_eq!(mm(&emu, "DELETE", &member_path(&guest), None).status, 204);
    assert_eq!(mm(&emu, "GET", &member_path(&guest), None).status, 404);
    assert_eq!(
        mm(&emu, "GET", &member_path(&owner), None).json["status"],
        "INITIAL"
    );
    // Searching: a member leaving cancels the whole group.
    let friend = join_group(&emu, &gid, "squad", json!({}), true);
    let ready = set_ready(&emu, &owner, true);
    assert_eq!(ready.json["status"], "SEARCHING");
    assert!(ready.json["ticket_id"].is_string());
    assert_eq!(mm(&emu, "DELETE", &member_path(&friend), None).status, 204);
    assert_eq!(mm(&emu, "GET", &member_path(&friend), None).status, 404);
    assert_eq!(
        mm(&emu, "GET", &member_path(&owner), None).json["status"],
        "CANCELLED"
    );
    // The owner deletes a forming group: gone for everyone.
    let other = create_group(&emu, "squad", json!({}), false);
    let other_gid = other["group_id"].as_str().expect("gid");
    let member = join_group(&emu, other_gid, "squad", json!({}), false);
    assert_eq!(
        mm(&emu, "DELETE", &format!("/groups/{other_gid}"), None).status,
        204
    );
    assert_eq!(mm(&emu, "GET", &member_path(&member), None).status, 404);
    assert_eq!(
        mm(&emu, "DELETE", &format!("/groups/{other_gid}"), None).status,
        404
    );
    // Un-readying stops a search: back to forming, the ticket dropped.
    let solo = create_group(&emu, "squad", json!({}), true);
    let unready = set_ready(&emu, &solo, false);
    assert_eq!(unready.json["status"], "INITIAL");
    assert!(unready.json["ticket_id"].is_null());
    let old_ticket = solo["ticket_id"].as_str().expect("ticket");
    assert_eq!(
        mm(&emu, "GET", &format!("/tickets/{old_ticket}"), None).status,
        404
    );
}
