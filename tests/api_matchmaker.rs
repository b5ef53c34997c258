//! The matchmaker's endpoints: requests (method, URL, raw `Authorization`, body) for each,
//! what `validate` refuses, and the answers of Edgegap's SDK models (copied from the
//! reference's examples) decoded leniently.

use bevy_edgegap::api::*;
use serde::Serialize;
use serde_json::json;

const BASE: &str = "https://mm.example.com/";
const TOKEN: &str = "mm-8d0c7d1e-raw";

fn mm() -> MatchmakerAccess {
    MatchmakerAccess::new(BASE, TOKEN)
}

/// Builds the request as the transport would (the base URL and token arguments are ignored).
fn build<E: Endpoint>(endpoint: &E) -> HttpRequest {
    endpoint
        .to_request("https://api.edgegap.com", &Secret::new("org-token"))
        .unwrap()
}

fn body(request: &HttpRequest) -> serde_json::Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[test]
fn every_endpoint_goes_to_the_matchmaker_with_the_raw_token() {
    let (g, m) = ("b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1", "m-1");
    let attributes = json!({ "elo_rating": 1337 });
    let cases: Vec<(HttpRequest, Method, &str)> = vec![
        (build(&GetMonitor::new(mm())), Method::Get, "/monitor"),
        (
            build(&ListBeacons::new(mm())),
            Method::Get,
            "/locations/beacons",
        ),
        (
            build(&CreateGroup::new(mm(), "ranked-2v2", attributes.clone())),
            Method::Post,
            "/groups",
        ),
        (
            build(&GetGroup::new(mm(), g)),
            Method::Get,
            "/groups/b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1",
        ),
        (
            build(&DeleteGroup::new(mm(), g)),
            Method::Delete,
            "/groups/b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1",
        ),
        (
            build(&CreateGroupMember::new(
                mm(),
                g,
                "ranked-2v2",
                attributes.clone(),
            )),
            Method::Post,
            "/groups/b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1/members",
        ),
        (
            build(&GetGroupMember::new(mm(), g, m)),
            Method::Get,
            "/groups/b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1/members/m-1",
        ),
        (
            build(&UpdateGroupMember::new(mm(), g, m, true)),
            Method::Patch,
            "/groups/b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1/members/m-1",
        ),
        (
            build(&DeleteGroupMember::new(mm(), g, m)),
            Method::Delete,
            "/groups/b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1/members/m-1",
        ),
        (
            build(&CreateTicket::new(mm(), "ranked-2v2", attributes)),
            Method::Post,
            "/tickets",
        ),
        (
            build(&GetTicket::new(mm(), "t1")),
            Method::Get,
            "/tickets/t1",
        ),
        (
            build(&DeleteTicket::new(mm(), "t1")),
            Method::Delete,
            "/tickets/t1",
        ),
        (
            build(&CreateBackfill::<serde_json::Value>::new(
                mm(),
                "coop",
                Assignment::default(),
            )),
            Method::Post,
            "/backfills",
        ),
        (
            build(&GetBackfill::new(mm(), "b1")),
            Method::Get,
            "/backfills/b1",
        ),
        (
            build(&DeleteBackfill::new(mm(), "b1")),
            Method::Delete,
            "/backfills/b1",
        ),
    ];
    for (request, method, path) in cases {
        assert_eq!(request.method, method, "{path}");
        assert_eq!(request.url, format!("https://mm.example.com{path}"));
        assert_eq!(request.header("authorization"), Some(TOKEN), "{path}");
        // The token never shows in the request's Debug.
        assert!(!format!("{request:?}").contains(TOKEN));
    }
}

#[test]
fn a_token_pasted_with_a_prefix_is_sent_raw() {
    for pasted in [
        format!("Bearer {TOKEN}"),
        format!("bearer  {TOKEN}"),
        format!("token {TOKEN}"),
        format!("  {TOKEN}\n"),
    ] {
        let access = MatchmakerAccess::new(BASE, pasted.as_str());
        let request = build(&GetMonitor::new(access.clone()));
        assert_eq!(request.header("authorization"), Some(TOKEN), "{pasted:?}");
        assert_eq!(access.raw_token().expose(), TOKEN);
        assert!(!format!("{access:?}").contains(TOKEN));
    }
}

#[test]
fn group_up_bodies() {
    let create = CreateGroup::new(
        mm(),
        "ranked-2v2",
        json!({ "beacons": { "Chicago": 12.3 }, "selected_map": ["Airport"] }),
    )
    .ready(true)
    .player_ip("174.93.233.25");
    let request = build(&create);
    assert_eq!(
        body(&request),
        json!({ "profile": "ranked-2v2", "is_ready": true, "player_ip": "174.93.233.25",
                "attributes": { "beacons": { "Chicago": 12.3 }, "selected_map": ["Airport"] } })
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(!create.idempotent(), "a create is never sent twice blindly");

    // A user type as attributes; no `player_ip` key when none is given.
    #[derive(Debug, Clone, Serialize)]
    struct Mine {
        elo_rating: u32,
        selected_game_mode: &'static str,
    }
    let join = CreateGroupMember::new(
        mm(),
        "g1",
        "ranked-2v2",
        Mine {
            elo_rating: 1200,
            selected_game_mode: "quickplay",
        },
    );
    assert_eq!(
        body(&build(&join)),
        json!({ "profile": "ranked-2v2", "is_ready": false,
                "attributes": { "elo_rating": 1200, "selected_game_mode": "quickplay" } })
    );
    let ready = UpdateGroupMember::new(mm(), "g1", "m1", false);
    assert_eq!(body(&build(&ready)), json!({ "is_ready": false }));
    assert!(ready.idempotent());
    let ticket = CreateTicket::new(mm(), "duel", json!({})).player_ip("1.2.3.4");
    assert_eq!(
        body(&build(&ticket)),
        json!({ "profile": "duel", "attributes": {}, "player_ip": "1.2.3.4" })
    );
}

#[test]
fn a_backfill_body_carries_the_assignment_and_the_tickets() {
    let assignment: Assignment = serde_json::from_value(json!({
        "fqdn": "abc123.pr.edgegap.net", "public_ip": "172.236.117.196", "request_id": "abc123",
        "ports": { "gameport": { "internal": "7777", "external": "31504", "protocol": "UDP" } },
    }))
    .unwrap();
    let ticket: MatchTicket = serde_json::from_value(json!({
        "id": "cusfn10msflc73beiik0", "created_at": "2025-02-21T22:17:42.388697Z",
        "player_ip": "174.93.233.25", "group_id": "b2080c27", "team_id": "cusfn1gm",
        "attributes": { "backfill_group_size": ["new", "1"] },
    }))
    .unwrap();
    let backfill = CreateBackfill::new(mm(), "coop", assignment).ticket(ticket);
    let sent = body(&build(&backfill));
    assert_eq!(sent["profile"], "coop");
    assert_eq!(sent["attributes"]["assignment"]["request_id"], "abc123");
    assert_eq!(
        sent["attributes"]["assignment"]["ports"]["gameport"]["external"],
        31504
    );
    assert_eq!(
        sent["tickets"]["cusfn10msflc73beiik0"]["attributes"]["backfill_group_size"],
        json!(["new", "1"])
    );
}

fn refused<E: Endpoint>(endpoint: &E) -> EdgegapError {
    let error = endpoint.validate().unwrap_err();
    assert_eq!(
        endpoint
            .to_request("https://api.edgegap.com", &Secret::new("x"))
            .unwrap_err(),
        error
    );
    assert!(!error.to_string().contains(TOKEN), "{error}");
    error
}

#[test]
fn what_validate_refuses() {
    for id in ["", " ", ".", "..", "a/b", "a b", "a\u{7}"] {
        assert!(
            matches!(
                refused(&GetGroupMember::new(mm(), id, "m")),
                EdgegapError::Invalid { .. }
            ),
            "group {id:?}"
        );
        assert!(matches!(
            refused(&GetTicket::new(mm(), id)),
            EdgegapError::Invalid { .. }
        ));
    }
    // Attributes must be a JSON object.
    assert!(matches!(
        refused(&CreateGroup::new(mm(), "p", json!([1, 2]))),
        EdgegapError::Invalid { field, .. } if field == "attributes"
    ));
    assert!(matches!(
        refused(&CreateGroup::new(mm(), " ", json!({}))),
        EdgegapError::Invalid { .. }
    ));
    // Access: a base URL and a token, never shown in the error.
    for access in [
        MatchmakerAccess::new("", TOKEN),
        MatchmakerAccess::new("ftp://mm", TOKEN),
        MatchmakerAccess::new(BASE, ""),
        MatchmakerAccess::new(BASE, "Bearer "),
        MatchmakerAccess::new(BASE, format!("{TOKEN}\u{1}")),
    ] {
        assert!(matches!(
            refused(&GetMonitor::new(access)),
            EdgegapError::Config(_)
        ));
    }
    // Null attributes are sent as `{}`.
    let empty = CreateGroup::new(mm(), "p", ());
    assert_eq!(body(&build(&empty))["attributes"], json!({}));
}

/// The member answer of the reference (US `GroupUpResponseDTO`), ports as strings.
const MEMBER_HOST_ASSIGNED: &str = r#"{ "member_id": "a0c3a4c1", "group_id": "b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1", "is_ready": true,
  "status": "HOST_ASSIGNED", "ticket_id": "cusfn10msflc73beiik0", "team_id": "cusfn1gmsflc73beiim0",
  "assignment": { "fqdn": "abc123.pr.edgegap.net", "public_ip": "172.236.117.196",
    "ports": { "gameport": { "internal": "7777", "external": "31504",
                             "link": "abc123.pr.edgegap.net:31504", "protocol": "UDP" } },
    "location": { "city": "Chicago", "country": "United States of America", "continent": "North America",
                  "administrative_division": "Illinois", "timezone": "Central Time" } } }"#;

#[test]
fn the_reference_member_answer() {
    let member = GetGroupMember::new(mm(), "g", "m")
        .decode(&HttpResponse::new(200, MEMBER_HOST_ASSIGNED))
        .unwrap();
    assert_eq!(member.status, MatchStatus::HostAssigned);
    assert!(member.status.is_final() && member.status.is_matched());
    assert_eq!(member.ticket_id.as_deref(), Some("cusfn10msflc73beiik0"));
    let assignment = member.assignment.unwrap();
    let port = assignment.port("gameport").unwrap();
    assert_eq!((port.internal, port.external), (Some(7777), Some(31504)));
    assert_eq!(
        assignment.address("gameport").unwrap().to_string(),
        "172.236.117.196:31504"
    );
    assert_eq!(
        assignment.location.unwrap().city.as_deref(),
        Some("Chicago")
    );
    assert!(member.is_ready);
}

#[test]
fn lenient_answers() {
    // Ports as numbers (the mock environment's form), no public IP: the FQDN is the host.
    let member: GroupMember = serde_json::from_str(
        r#"{"member_id": 7, "group_id": "g", "status": "searching", "ticket_id": null,
            "assignment": {"fqdn": "x.pr.edgegap.net", "ports": {"gameport": {"external": 30000}}}}"#,
    )
    .unwrap();
    assert_eq!(member.member_id, "7");
    assert_eq!(member.status, MatchStatus::Searching);
    assert_eq!(
        member
            .assignment
            .unwrap()
            .address("gameport")
            .unwrap()
            .to_string(),
        "x.pr.edgegap.net:30000"
    );
    // Unknown and deprecated statuses, a missing status, unknown fields.
    for (wire, status) in [
        ("\"TEAM_FOUND\"", MatchStatus::TeamFound),
        ("\"INITIAL\"", MatchStatus::Initial),
        ("\"PAUSED\"", MatchStatus::Other("PAUSED".into())),
        ("null", MatchStatus::Initial),
    ] {
        let json = format!(r#"{{"status": {wire}, "surprise": [1]}}"#);
        let member: GroupMember = serde_json::from_str(&json).unwrap();
        assert_eq!(member.status, status, "{wire}");
    }
    assert_eq!(MatchStatus::Other("PAUSED".into()).to_string(), "PAUSED");
    // An empty object is a member with nothing known yet.
    assert_eq!(
        serde_json::from_str::<GroupMember>("{}").unwrap(),
        GroupMember::default()
    );
    // A success that is not JSON keeps its status and body.
    let error = GetGroupMember::new(mm(), "g", "m")
        .decode(&HttpResponse::new(200, "<html>"))
        .unwrap_err();
    assert!(matches!(error, EdgegapError::Decode { status: 200, .. }));
}

#[test]
fn the_reference_ticket_monitor_beacons_and_backfill_answers() {
    let ticket = GetTicket::new(mm(), "t").decode(&HttpResponse::new(200, r#"{
        "id": "cusfn10msflc73beiik0", "profile": "advanced-example", "created_at": "2025-02-21T22:17:42.388697Z",
        "status": "MATCH_FOUND", "player_ip": "174.93.233.25", "group_id": "b2080c27", "team_id": "cusfn1gm",
        "match_id": "advanced-example_initial-2025-02-21T22:17:43.3886970Z", "assignment": null }"#)).unwrap();
    assert_eq!(ticket.status, MatchStatus::MatchFound);
    assert!(ticket.assignment.is_none());
    assert_eq!(
        ticket.match_id.as_deref(),
        Some("advanced-example_initial-2025-02-21T22:17:43.3886970Z")
    );

    let monitor = GetMonitor::new(mm()).decode(&HttpResponse::new(200,
        r#"{"status": "Healthy", "message": "ok", "healthy_components": 3, "unhealthy_components": 0}"#)).unwrap();
    assert!(monitor.is_healthy());
    assert!(!MonitorStatus::default().is_healthy());

    let beacons = ListBeacons::new(mm()).decode(&HttpResponse::new(200, r#"{"count": 1, "beacons": [
        {"fqdn": "beacon-chicago.pr.edgegap.net", "public_ip": "1.2.3.4", "tcp_port": 32001, "udp_port": "32002",
         "location": {"city": "Chicago", "country": "United States of America", "continent": "North America",
                      "administrative_division": "Illinois", "timezone": "Central Time"}}]}"#)).unwrap();
    let beacon = &beacons.beacons[0];
    assert_eq!(
        (beacon.city(), beacon.host()),
        (Some("Chicago"), Some("1.2.3.4"))
    );
    assert_eq!(
        (beacon.tcp_port, beacon.udp_port),
        (Some(32001), Some(32002))
    );

    let backfill = GetBackfill::new(mm(), "b").decode(&HttpResponse::new(200, r#"{"id": "b1", "profile": "coop",
        "tickets": {}, "status": "ASSIGNED", "assigned_ticket": {"id": "t9", "group_id": "g9", "team_id": "team",
        "attributes": {"backfill_group_size": ["new", "1"]}}}"#)).unwrap();
    assert_eq!(backfill.status, BackfillStatus::Assigned);
    assert_eq!(backfill.assigned_ticket.unwrap().id.as_deref(), Some("t9"));
    let other: Backfill = serde_json::from_str(r#"{"status": "WAITING"}"#).unwrap();
    assert_eq!(other.status, BackfillStatus::Other("WAITING".into()));
}

#[test]
fn errors_keep_their_status() {
    for (status, check) in [
        (400, "profile"),
        (401, "unauthorized"),
        (404, "not found"),
        (409, "too late"),
    ] {
        let body = format!(r#"{{"message": "{check}"}}"#);
        let error = DeleteGroupMember::new(mm(), "g", "m")
            .decode(&HttpResponse::new(status, body))
            .unwrap_err();
        assert_eq!(error.status(), Some(status));
        assert!(error.to_string().contains(check));
    }
    assert_eq!(
        DeleteGroup::new(mm(), "g").decode(&HttpResponse::new(204, "")),
        Ok(())
    );
}
