//! `MatchEnv`: the Unity SDK's mock environment (as Edgegap's reference lists it), the
//! emulator's 2v2 example, lenient parsing, and hostile values that never panic.

use bevy_edgegap::prelude::*;
use proptest::prelude::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The mock values of Edgegap's Unity SDK (`MatchmakingServerHandler.cs`), as the reference
/// quotes them; the reference shortens the second group id, completed here.
fn unity_mock() -> Vec<(String, String)> {
    vars(&[
        (
            "MM_MATCH_ID",
            "advanced-example_initial-2025-02-21T22:17:43.3886970Z",
        ),
        ("MM_MATCH_PROFILE", "advanced-example"),
        ("MM_EXPANSION", "initial"),
        (
            "MM_TICKET_IDS",
            r#"["cusfn10msflc73beiik0","cusfn18msflc73beiil0"]"#,
        ),
        (
            "MM_TICKET_cusfn10msflc73beiik0",
            r#"{"id":"cusfn10msflc73beiik0","created_at":"2025-02-21T22:17:42.388697Z","player_ip":"174.93.233.25","group_id":"b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1","team_id":"cusfn1gmsflc73beiim0","attributes":{"beacons":{"Chicago":12.3}}}"#,
        ),
        (
            "MM_TICKET_cusfn18msflc73beiil0",
            r#"{"id":"cusfn18msflc73beiil0","created_at":"2025-02-21T22:17:42.7897Z","player_ip":"174.93.233.26","group_id":"015d4dc8-b7e2-4c7c-8c8a-5d7e2b1f4a90","team_id":"cusfn1gmsflc73beiim0","attributes":{"beacons":{"Chicago":20.1}}}"#,
        ),
        (
            "MM_GROUPS",
            r#"{"b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1":["cusfn10msflc73beiik0"],"015d4dc8-b7e2-4c7c-8c8a-5d7e2b1f4a90":["cusfn18msflc73beiil0"]}"#,
        ),
        (
            "MM_TEAMS",
            r#"{"cusfn1gmsflc73beiim0":["b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1","015d4dc8-b7e2-4c7c-8c8a-5d7e2b1f4a90"]}"#,
        ),
        ("MM_EQUALITY", r#"{"selected_game_mode":"quickplay"}"#),
        (
            "MM_INTERSECTION",
            r#"{"selected_map":["Airport"],"backfill_group_size":["new","1"]}"#,
        ),
        // Not the matchmaker's: ignored.
        ("ARBITRIUM_REQUEST_ID", "a69f8e3e0555"),
    ])
}

#[test]
fn the_unity_sdk_mock_environment() {
    let env = MatchEnv::from_vars(unity_mock()).expect("a matchmaker deployment");
    assert_eq!(
        env.match_id,
        "advanced-example_initial-2025-02-21T22:17:43.3886970Z"
    );
    assert_eq!(env.profile.as_deref(), Some("advanced-example"));
    assert_eq!(env.expansion.as_deref(), Some("initial"));
    assert_eq!(env.expected_players(), 2);
    assert_eq!(
        env.ticket_ids,
        ["cusfn10msflc73beiik0", "cusfn18msflc73beiil0"]
    );
    assert!(env.expects("cusfn10msflc73beiik0"));
    assert!(
        !env.expects("cusfn1gmsflc73beiim0"),
        "a team id is not a ticket"
    );
    assert!(!env.expects(""));
    assert_eq!(
        env.team_of("cusfn18msflc73beiil0"),
        Some("cusfn1gmsflc73beiim0")
    );
    assert_eq!(env.team_of("someone-else"), None);
    let ticket = &env.tickets["cusfn10msflc73beiik0"];
    assert_eq!(ticket.player_ip.as_deref(), Some("174.93.233.25"));
    assert_eq!(ticket.attributes["beacons"]["Chicago"], 12.3);
    assert_eq!(env.groups.len(), 2);
    assert_eq!(env.teams["cusfn1gmsflc73beiim0"].len(), 2);
    assert_eq!(env.equality["selected_game_mode"], "quickplay");
    assert_eq!(env.intersection["backfill_group_size"], ["new", "1"]);
    assert!(env.warnings().is_empty(), "{:?}", env.warnings());
}

/// The 2v2 of two solo players and a party of two, as the emulator's README shows it: the
/// party's team is found through team → group → tickets.
#[test]
fn teams_go_through_groups_to_tickets() {
    let env = MatchEnv::from_vars(vars(&[
        ("MM_MATCH_ID", "ranked-2v2_initial-2026-12-06T13:47:04.808202Z"),
        ("MM_MATCH_PROFILE", "ranked-2v2"),
        ("MM_EXPANSION_STAGE", "30"),
        (
            "MM_TICKET_IDS",
            r#"["pise4p5hn1dm7as6b7pe","pdu499502u2o21pjjg3l","neiskj18mop73ssgou5a","8bvj8man9hkko8n2224o"]"#,
        ),
        (
            "MM_GROUPS",
            r#"{"56525c27":["neiskj18mop73ssgou5a","8bvj8man9hkko8n2224o"],"5c5b74cb":["pise4p5hn1dm7as6b7pe"],"c0b08b45":["pdu499502u2o21pjjg3l"]}"#,
        ),
        (
            "MM_TEAMS",
            r#"{"0i95186kr9cifjvs87cn":["5c5b74cb","c0b08b45"],"tt9koth4mvo2qfusgjvi":["56525c27"]}"#,
        ),
    ]))
    .unwrap();
    assert_eq!(
        env.expansion.as_deref(),
        Some("30"),
        "MM_EXPANSION_STAGE when MM_EXPANSION is unset"
    );
    assert_eq!(
        env.team_of("neiskj18mop73ssgou5a"),
        Some("tt9koth4mvo2qfusgjvi")
    );
    assert_eq!(
        env.team_of("8bvj8man9hkko8n2224o"),
        Some("tt9koth4mvo2qfusgjvi")
    );
    assert_eq!(
        env.team_of("pdu499502u2o21pjjg3l"),
        Some("0i95186kr9cifjvs87cn")
    );
    assert_eq!(env.expected_players(), 4);
    // MM_EXPANSION wins over MM_EXPANSION_STAGE.
    let both = MatchEnv::from_vars(vars(&[
        ("MM_MATCH_ID", "m"),
        ("MM_EXPANSION_STAGE", "30"),
        ("MM_EXPANSION", "90"),
    ]))
    .unwrap();
    assert_eq!(both.expansion.as_deref(), Some("90"));
}

#[test]
fn absent_when_the_matchmaker_did_not_make_the_deployment() {
    assert!(MatchEnv::from_vars(Vec::new()).is_none());
    assert!(
        MatchEnv::from_vars(vars(&[("ARBITRIUM_REQUEST_ID", "x"), ("MM_GROUPS", "{}")])).is_none()
    );
    assert!(MatchEnv::from_vars(vars(&[("MM_MATCH_ID", "  ")])).is_none());
    assert!(MatchEnv::from_vars(vars(&[("MM_TICKET_IDS", "[]")])).is_some());
}

#[test]
fn bad_values_are_warnings_not_failures() {
    let env = MatchEnv::from_vars(vars(&[
        ("MM_MATCH_ID", "m"),
        ("MM_TICKET_IDS", "not json"),
        ("MM_TICKET_t1", r#"{"id":"t1","team_id":"red"}"#),
        ("MM_TICKET_t2", "{broken"),
        ("MM_TICKET_t3", r#"{"id":"someone-else"}"#),
        ("MM_TEAMS", r#"["not","a","map"]"#),
        ("MM_GROUPS", r#"{"g":"not a list"}"#),
        ("MM_EQUALITY", "42"),
    ]))
    .unwrap();
    // Without a readable MM_TICKET_IDS, the MM_TICKET_<id> variables name the players.
    assert_eq!(env.ticket_ids, ["t1", "t2", "t3"]);
    assert_eq!(
        env.tickets["t3"].id.as_deref(),
        Some("t3"),
        "the variable's name wins"
    );
    assert_eq!(env.team_of("t1"), Some("red"), "the ticket's own team_id");
    let named: Vec<&str> = env.warnings().iter().map(|w| w.variable.as_str()).collect();
    for variable in [
        "MM_TICKET_IDS",
        "MM_TICKET_t2",
        "MM_TICKET_t3",
        "MM_TEAMS",
        "MM_GROUPS",
        "MM_EQUALITY",
    ] {
        assert!(
            named.contains(&variable),
            "no warning for {variable}: {named:?}"
        );
    }
    // A ticket listed twice is one player; an empty id is none.
    let twice = MatchEnv::from_vars(vars(&[("MM_TICKET_IDS", r#"["a","a","","b"]"#)])).unwrap();
    assert_eq!(twice.ticket_ids, ["a", "b"]);
    assert_eq!(twice.expected_players(), 2);
}

const KEYS: [&str; 12] = [
    "MM_MATCH_ID",
    "MM_MATCH_PROFILE",
    "MM_EXPANSION",
    "MM_EXPANSION_STAGE",
    "MM_TICKET_IDS",
    "MM_TICKET_",
    "MM_TICKET_a",
    "MM_TICKET_IDS_",
    "MM_GROUPS",
    "MM_TEAMS",
    "MM_EQUALITY",
    "MM_INTERSECTION",
];

fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[\\[\\]{}\",:a-z0-9 ]{0,40}",
        Just(r#"{"t":["g"]}"#.to_owned()),
        Just(r#"["a","b"]"#.to_owned()),
        Just(r#"{"id":null,"attributes":[1,{"x":1e400}]}"#.to_owned()),
    ]
}

proptest! {
    #[test]
    fn hostile_values_never_panic(
        pairs in prop::collection::vec(
            (prop_oneof![prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned), "MM_[A-Z_]{0,12}", ".{0,12}"],
             hostile_value()),
            0..16,
        ),
        probe in ".{0,12}",
    ) {
        if let Some(env) = MatchEnv::from_vars(pairs) {
            let _ = env.expects(&probe);
            let _ = env.team_of(&probe);
            prop_assert_eq!(env.expected_players(), env.ticket_ids.len());
            for id in &env.ticket_ids {
                prop_assert!(env.expects(id));
            }
            let _ = format!("{env:?}");
        }
    }
}
