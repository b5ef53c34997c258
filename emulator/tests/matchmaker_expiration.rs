//! Timers: an unmatched ticket is `CANCELLED` at its expiration and gone (404) after the
//! removal period; an idle forming group is removed after the inactivity period.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{
    create_group, create_ticket, matchmaker_emulator, member_path, mm, size_only_config,
    wait_member, wait_until,
};

/// Two teams of two: two solo players never fill it, even partially.
fn config() -> String {
    size_only_config("duel", 2, 2, 2)
}

#[test]
fn an_unmatched_ticket_is_cancelled_then_removed() {
    let emu = matchmaker_emulator(&config());
    let alone = create_group(&emu, "duel", json!({}), true);
    let ticket = create_ticket(&emu, "duel", json!({}));
    assert_eq!(ticket["status"], "SEARCHING");
    let ticket_path = format!("/tickets/{}", ticket["id"].as_str().expect("id"));
    let path = member_path(&alone);

    emu.advance_matchmaker_clock(Duration::from_secs(299));
    assert_eq!(mm(&emu, "GET", &path, None).json["status"], "SEARCHING");
    emu.advance_matchmaker_clock(Duration::from_secs(1));
    let cancelled = wait_member(&emu, &alone, "CANCELLED");
    assert!(cancelled["assignment"].is_null());
    assert_eq!(
        mm(&emu, "GET", &ticket_path, None).json["status"],
        "CANCELLED"
    );

    emu.advance_matchmaker_clock(Duration::from_secs(59));
    assert_eq!(
        mm(&emu, "GET", &path, None).status,
        200,
        "kept for the removal period"
    );
    emu.advance_matchmaker_clock(Duration::from_secs(1));
    wait_until(
        "the expired member to be removed",
        Duration::from_secs(10),
        || mm(&emu, "GET", &path, None).status == 404,
    );
    assert_eq!(mm(&emu, "GET", &ticket_path, None).status, 404);
    assert_eq!(
        mm(
            &emu,
            "GET",
            &format!("/groups/{}", alone["group_id"].as_str().expect("gid")),
            None
        )
        .status,
        404
    );
    assert!(emu.deployments().is_empty(), "nothing was deployed");
}

#[test]
fn an_idle_forming_group_is_removed_and_polling_keeps_it() {
    let emu = matchmaker_emulator(&config());
    let idle = create_group(&emu, "duel", json!({}), false);
    let polled = create_group(&emu, "duel", json!({}), false);
    for _ in 0..4 {
        emu.advance_matchmaker_clock(Duration::from_secs(60));
        assert_eq!(mm(&emu, "GET", &member_path(&polled), None).status, 200);
    }
    emu.advance_matchmaker_clock(Duration::from_secs(60));
    wait_until(
        "the idle group to be removed",
        Duration::from_secs(10),
        || mm(&emu, "GET", &member_path(&idle), None).status == 404,
    );
    assert_eq!(
        mm(&emu, "GET", &member_path(&polled), None).json["status"],
        "INITIAL"
    );
}
