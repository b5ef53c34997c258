//! The matchmaker client against the emulator's matchmaker, end to end through the plugin:
//! a 2v2 of two solo players and a party of two; a match that needs an expansion; leaving
//! after the match was found (refused, the assignment still comes); expiration then removal;
//! a deployment in ERROR retried; resuming a search from its ids; beacons measured.
//! (Helpers are local to this file for now.)

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{
    AppVersion, Emulator, EmulatorHandle, Fault, FaultKind, Route, matchmaker_config,
    player_count_rule,
};
use serde_json::{Value, json};

const MM_TOKEN: &str = "mm-client-token-5e2b";

fn mm_config(profile: &str, rules: Value, expansions: Value) -> String {
    let mut config = matchmaker_config(profile, ("game", "v1"), rules, expansions);
    config["max_deployment_retry_count"] = 2.into();
    config.to_string()
}

fn emulator(config: &str, fault: Option<Fault>) -> EmulatorHandle {
    let builder = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .matchmaker(config)
        .matchmaker_token(MM_TOKEN)
        .matchmaker_manual_clock();
    match fault {
        Some(fault) => builder.fault(fault),
        None => builder,
    }
    .start()
    .expect("the emulator starts")
}

/// A headless app with only the matchmaker plugin (no organisation token anywhere), quick
/// polls and no client rate limit.
fn app(emu: &EmulatorHandle) -> App {
    let config = MatchmakerConfig::new(emu.matchmaker_url(), emu.matchmaker_token())
        .with_poll_interval(Duration::from_millis(20))
        .with_rate_limit(None);
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(MatchmakerPlugin::new(config))
        .init_resource::<Seen>()
        .init_resource::<Polls>()
        .add_systems(Last, record)
        .add_systems(
            Last,
            |searches: Query<Ref<Matchmaking>>, mut polls: ResMut<Polls>| {
                polls.0 += searches.iter().filter(|s| s.is_changed()).count();
            },
        );
    app.finish();
    app
}

/// Poll answers applied so far (each one writes the `Matchmaking` component).
#[derive(Resource, Default)]
struct Polls(usize);

#[derive(Resource, Default)]
struct Seen {
    found: Vec<MatchFound>,
    assigned: Vec<HostAssigned>,
    cancelled: Vec<MatchmakingCancelled>,
    failed: Vec<MatchmakingFailed>,
}

fn record(
    mut found: MessageReader<MatchFound>,
    mut assigned: MessageReader<HostAssigned>,
    mut cancelled: MessageReader<MatchmakingCancelled>,
    mut failed: MessageReader<MatchmakingFailed>,
    mut seen: ResMut<Seen>,
) {
    seen.found.extend(found.read().cloned());
    seen.assigned.extend(assigned.read().cloned());
    seen.cancelled.extend(cancelled.read().cloned());
    seen.failed.extend(failed.read().cloned());
}

/// Runs `f` with the `Matchmaker` param once; returns what it returns.
fn with_matchmaker<T: Send + 'static>(
    app: &mut App,
    f: impl FnOnce(&mut Matchmaker) -> T + Send + Sync + 'static,
) -> T {
    let mut f = Some(f);
    let id = app
        .world_mut()
        .register_system(move |mut mm: Matchmaker| (f.take().expect("once"))(&mut mm));
    let out = app.world_mut().run_system(id).expect("runs");
    app.world_mut().flush();
    out
}

fn run_until(app: &mut App, what: &str, mut done: impl FnMut(&mut World) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        app.update();
        if done(app.world_mut()) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn search(app: &App, entity: Entity) -> &Matchmaking {
    app.world().get::<Matchmaking>(entity).expect("a search")
}

fn has<C: Component>(app: &App, entity: Entity) -> bool {
    app.world().get::<C>(entity).is_some()
}

/// Profile `duel`: two teams of one, no expansion.
fn duel() -> String {
    mm_config(
        "duel",
        json!({ "match_size": player_count_rule(2, 1, 1) }),
        json!({}),
    )
}

fn two_v_two() -> String {
    mm_config(
        "ranked-2v2",
        json!({
            "match_size": player_count_rule(2, 2, 2),
            "selected_game_mode": { "type": "string_equality" },
        }),
        json!({}),
    )
}

#[test]
fn a_2v2_of_two_solos_and_a_party_lands_on_one_server() {
    let emu = emulator(&two_v_two(), None);
    let mut app = app(&emu);
    let mode = json!({ "selected_game_mode": "quickplay" });
    let (a, b, owner) = with_matchmaker(&mut app, {
        let mode = mode.clone();
        move |mm| {
            (
                mm.find_match("ranked-2v2", mode.clone()),
                mm.find_match("ranked-2v2", mode.clone()),
                mm.create_group("ranked-2v2", mode),
            )
        }
    });
    run_until(&mut app, "the party to form", |w| {
        w.get::<Forming>(owner).is_some()
    });
    let group_id = search(&app, owner)
        .group_id()
        .expect("a group id")
        .to_owned();
    let friend = with_matchmaker(&mut app, move |mm| {
        mm.join_group(group_id, "ranked-2v2", mode)
    });
    run_until(&mut app, "the friend to join", |w| {
        w.get::<Forming>(friend).is_some()
    });
    assert!(search(&app, owner).is_owner() && !search(&app, friend).is_owner());
    assert!(has::<Searching>(&app, a) && has::<Searching>(&app, b));
    assert!(
        emu.deployments().is_empty(),
        "three players cannot fill two teams"
    );
    with_matchmaker(&mut app, move |mm| {
        mm.set_ready(owner, true);
        mm.set_ready(friend, true);
    });
    let players = [a, b, owner, friend];
    run_until(&mut app, "four assignments", |w| {
        players.iter().all(|&p| w.get::<Assigned>(p).is_some())
    });
    let seen = app.world().resource::<Seen>();
    assert_eq!(seen.assigned.len(), 4);
    assert_eq!(seen.found.len(), 4, "MatchFound once each");
    let first = &seen.assigned[0];
    assert!(
        seen.assigned
            .iter()
            .all(|h| h.assignment == first.assignment)
    );
    let deployments = emu.deployments();
    assert_eq!(deployments.len(), 1);
    let port = deployments[0].ports["gameport"].1;
    assert_eq!(
        first.address("gameport").unwrap().to_string(),
        format!("127.0.0.1:{port}")
    );
    // The tickets are the server's MM_TICKET_IDS; the party shares a team.
    let ids: Vec<String> = serde_json::from_str(&deployments[0].env["MM_TICKET_IDS"]).unwrap();
    for &p in &players {
        let ticket = search(&app, p).ticket_id().expect("a ticket").to_owned();
        assert!(ids.contains(&ticket), "{ticket} not in {ids:?}");
    }
    assert_eq!(
        search(&app, owner).team_id(),
        search(&app, friend).team_id()
    );
    assert_ne!(search(&app, owner).team_id(), search(&app, a).team_id());
    // The assignment is kept; the plugin polls no more.
    app.update();
    assert!(search(&app, a).assignment().is_some() && search(&app, a).is_over());
}

#[test]
fn a_ticket_matches_only_after_the_expansion() {
    let config = mm_config(
        "duel",
        json!({
            "match_size": player_count_rule(2, 1, 1),
            "elo": { "type": "number_difference", "attributes": { "max_difference": 50 } },
        }),
        json!({ "30": { "elo": { "max_difference": 500 } } }),
    );
    let emu = emulator(&config, None);
    let mut app = app(&emu);
    let (low, high) = with_matchmaker(&mut app, |mm| {
        (
            mm.find_match("duel", json!({ "elo": 1000 })),
            mm.find_match("duel", json!({ "elo": 1300 })),
        )
    });
    run_until(&mut app, "both to search", |w| {
        w.get::<Searching>(low).is_some() && w.get::<Searching>(high).is_some()
    });
    emu.advance_matchmaker_clock(Duration::from_secs(29));
    // Two more poll answers at 29 s: still searching.
    let polled = app.world().resource::<Polls>().0;
    run_until(&mut app, "more polls", |w| {
        w.resource::<Polls>().0 >= polled + 4
    });
    assert!(has::<Searching>(&app, low), "no match before the expansion");
    emu.advance_matchmaker_clock(Duration::from_secs(1));
    run_until(&mut app, "the match after the expansion", |w| {
        w.get::<Assigned>(low).is_some() && w.get::<Assigned>(high).is_some()
    });
    assert_eq!(emu.deployments()[0].env["MM_EXPANSION"], "30");
}

/// The race: the matchmaker matches the player between two polls, and the player leaves
/// before the next poll tells it so. The leave is refused (`409`), polling goes on, and the
/// assignment comes; nothing is reported cancelled.
#[test]
fn leaving_after_the_match_was_found_still_gets_the_assignment() {
    let config = duel();
    // The server is READY only once its TCP port accepts: the test opens it after the leave.
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::gated("game", "v1", "gameport", 7777))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .matchmaker(config)
        .matchmaker_token(MM_TOKEN)
        .matchmaker_manual_clock()
        .start()
        .expect("starts");
    let mut app = app(&emu);
    app.world_mut()
        .resource_mut::<MatchmakerConfig>()
        .poll_interval = Duration::from_secs(1);
    let a = with_matchmaker(&mut app, |mm| mm.find_match("duel", json!({})));
    run_until(&mut app, "a search", |w| w.get::<Searching>(a).is_some());
    // An opponent arrives (server to server): matched at once, the client does not know yet.
    let access = MatchmakerAccess::new(emu.matchmaker_url(), emu.matchmaker_token());
    let opponent = bevy_edgegap::api::CreateTicket::new(access, "duel", json!({}));
    let request =
        bevy_edgegap::api::Endpoint::to_request(&opponent, "", &Default::default()).unwrap();
    let answer = bevy::tasks::block_on(bevy_edgegap::http::send(request)).unwrap();
    assert_eq!(answer.status, 201);
    with_matchmaker(&mut app, move |mm| mm.leave(a));
    run_until(&mut app, "the match", |w| w.get::<Matched>(a).is_some());
    let deployment = emu.deployments().pop().expect("one deployment");
    let _server = emu
        .open_port(&deployment.request_id, "gameport")
        .expect("the port is free");
    run_until(&mut app, "the assignment after the refused leave", |w| {
        w.get::<Assigned>(a).is_some()
    });
    let seen = app.world().resource::<Seen>();
    assert!(seen.cancelled.is_empty(), "{:?}", seen.cancelled);
    assert!(seen.failed.is_empty(), "{:?}", seen.failed);
    assert_eq!(seen.assigned.len(), 1);
}

#[test]
fn an_unmatched_search_is_cancelled_then_removed() {
    let emu = emulator(&two_v_two(), None);
    let mut app = app(&emu);
    let (alone, left) = with_matchmaker(&mut app, |mm| {
        let mode = json!({ "selected_game_mode": "quickplay" });
        (
            mm.find_match("ranked-2v2", mode.clone()),
            mm.find_match("ranked-2v2", mode),
        )
    });
    run_until(&mut app, "both to search", |w| {
        w.get::<Searching>(alone).is_some() && w.get::<Searching>(left).is_some()
    });
    // One leaves before any match.
    with_matchmaker(&mut app, move |mm| mm.leave(left));
    run_until(&mut app, "the leave", |w| {
        w.get::<Unmatched>(left).is_some()
    });
    emu.advance_matchmaker_clock(Duration::from_secs(300));
    run_until(&mut app, "the expiration", |w| {
        w.get::<Unmatched>(alone).is_some()
    });
    let seen = app.world().resource::<Seen>();
    let reasons: Vec<(Entity, CancelReason)> = seen
        .cancelled
        .iter()
        .map(|c| (c.entity, c.reason.clone()))
        .collect();
    assert_eq!(
        reasons,
        [(left, CancelReason::Left), (alone, CancelReason::Cancelled)]
    );
    // Resumed after a "restart": the search is gone once the removal period passed.
    let (group, member) = {
        let s = search(&app, alone);
        (
            s.group_id().unwrap().to_owned(),
            s.member_id().unwrap().to_owned(),
        )
    };
    emu.advance_matchmaker_clock(Duration::from_secs(60));
    let resumed = with_matchmaker(&mut app, move |mm| mm.resume(group, member));
    run_until(&mut app, "the removal", |w| {
        w.get::<Unmatched>(resumed).is_some()
    });
    let last = app
        .world()
        .resource::<Seen>()
        .cancelled
        .last()
        .cloned()
        .unwrap();
    assert_eq!((last.entity, last.reason), (resumed, CancelReason::Removed));
    assert!(emu.deployments().is_empty());
}

#[test]
fn a_deployment_in_error_is_retried_and_the_players_are_assigned() {
    let config = duel();
    let fault = Fault::new(Route::DeployV2, FaultKind::CouldNotAllocate).times(1);
    let emu = emulator(&config, Some(fault));
    let mut app = app(&emu);
    let (a, b) = with_matchmaker(&mut app, |mm| {
        (
            mm.find_match("duel", json!({})),
            mm.find_match("duel", json!({})),
        )
    });
    run_until(&mut app, "both assigned", |w| {
        w.get::<Assigned>(a).is_some() && w.get::<Assigned>(b).is_some()
    });
    let deployments = emu.deployments();
    assert_eq!(deployments.len(), 2, "the failed one and its retry");
    assert_eq!(deployments[0].status, "Status.ERROR");
    let assignment = search(&app, a).assignment().unwrap();
    assert_eq!(
        assignment.fqdn.as_deref(),
        Some(format!("{}.pr.edgegap.net", deployments[1].request_id).as_str())
    );
    assert!(app.world().resource::<Seen>().failed.is_empty());
}

#[test]
fn a_resumed_search_gets_its_assignment_and_beacons_are_measured() {
    let config = duel();
    let emu = emulator(&config, None);
    let mut first = app(&emu);
    let a = with_matchmaker(&mut first, |mm| mm.find_match("duel", json!({})));
    run_until(&mut first, "a search", |w| w.get::<Searching>(a).is_some());
    let ids = (
        search(&first, a).group_id().unwrap().to_owned(),
        search(&first, a).member_id().unwrap().to_owned(),
    );
    drop(first); // the game "restarts"
    let mut app = app(&emu);
    let resumed = with_matchmaker(&mut app, move |mm| mm.resume(ids.0, ids.1));
    let b = with_matchmaker(&mut app, |mm| mm.find_match("duel", json!({})));
    run_until(&mut app, "both assigned", |w| {
        w.get::<Assigned>(resumed).is_some() && w.get::<Assigned>(b).is_some()
    });
    assert_eq!(
        search(&app, resumed).assignment(),
        search(&app, b).assignment()
    );

    // Beacons: the emulator's listen on loopback and echo.
    app.init_resource::<Measured>().add_systems(
        Last,
        |mut read: MessageReader<BeaconsMeasured>, mut measured: ResMut<Measured>| {
            measured.0.extend(read.read().cloned());
        },
    );
    with_matchmaker(&mut app, |mm| mm.measure_beacons(Duration::from_secs(2)));
    run_until(&mut app, "the beacons measured", |w| {
        !w.resource::<Measured>().0.is_empty()
    });
    let measured = app.world().resource::<Measured>().0[0].clone();
    assert!(measured.error.is_none(), "{:?}", measured.error);
    assert!(
        measured.latencies.contains_key("Chicago"),
        "{:?}",
        measured.latencies
    );
    assert!(measured.latencies.values().all(|&ms| ms >= 1.0));
    let mut attributes = json!({ "elo": 3 });
    measured.fill(&mut attributes);
    assert_eq!(
        attributes["beacons"].as_object().unwrap().len(),
        measured.latencies.len()
    );
}

#[derive(Resource, Default)]
struct Measured(Vec<BeaconsMeasured>);
