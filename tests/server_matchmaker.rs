//! A matchmaker deployment's server side: the no-show policy on a real matchmaker deployment: the emulator's matchmaker matches two
//! tickets and deploys; the server (an in-process app given that deployment's environment)
//! reports each matched player who did not arrive within the grace period as `PlayerNoShow`,
//! and stops its own deployment when none arrived. Also the server-side backfill: the same
//! environment asks the matchmaker for one more player, who gets this server's address.
//! (Helpers are local to this file for now.)

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::api::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{
    AppVersion, Emulator, EmulatorHandle, matchmaker_config, player_count_rule,
};
use serde_json::json;

const MM_TOKEN: &str = "mm-token-no-show";

/// One team of two; `backfill_group_size` lets a server ask for one more player.
fn config() -> String {
    let rules = json!({
        "match_size": player_count_rule(1, 2, 2),
        "backfill_group_size": { "type": "intersection", "attributes": { "overlap": 1 } },
    });
    matchmaker_config("coop", ("game", "v1"), rules, json!({})).to_string()
}

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .matchmaker(config())
        .matchmaker_token(MM_TOKEN)
        .matchmaker_manual_clock()
        .start()
        .expect("the emulator starts")
}

fn access(emu: &EmulatorHandle) -> MatchmakerAccess {
    MatchmakerAccess::new(emu.matchmaker_url(), emu.matchmaker_token())
}

/// Sends `endpoint` and decodes its answer, blocking this thread (not a system).
fn call<E: Endpoint>(endpoint: &E) -> Result<E::Output, EdgegapError> {
    let request = endpoint.to_request("", &Secret::default())?;
    let response = bevy::tasks::block_on(bevy_edgegap::http::send(request))?;
    endpoint.decode(&response)
}

fn ticket(emu: &EmulatorHandle) -> Ticket {
    let attributes = json!({ "backfill_group_size": ["new", "1"] });
    call(&CreateTicket::new(access(emu), "coop", attributes)).expect("a ticket")
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Two tickets matched and deployed: the deployment's environment and the two ticket ids.
fn matched(emu: &EmulatorHandle) -> (Vec<(String, String)>, [String; 2]) {
    let ids = [ticket(emu).id, ticket(emu).id];
    wait_for("the match's deployment to be READY", || {
        emu.deployments()
            .first()
            .is_some_and(|d| d.status == "Status.READY")
    });
    let env = emu.deployments()[0].env.clone().into_iter().collect();
    (env, ids)
}

/// The server: the plugin with the deployment's environment handed over, a short grace.
fn server(env: &[(String, String)], arrived: &[&str]) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(ArbitriumEnv::from_vars(env.to_vec()).expect("an edgegap deployment"))
        .insert_resource(MatchEnv::from_vars(env.to_vec()).expect("a matchmaker deployment"))
        .add_plugins(
            EdgegapServerPlugin::new()
                .with_signals(false)
                .no_show_grace(Duration::from_millis(200)),
        )
        .init_resource::<Seen>()
        .add_systems(
            Last,
            |mut no_shows: MessageReader<PlayerNoShow>,
             mut done: MessageReader<SelfStopCompleted>,
             mut seen: ResMut<Seen>| {
                seen.no_shows.extend(no_shows.read().cloned());
                seen.stops.extend(done.read().map(|d| d.reason.clone()));
            },
        );
    let mut arrivals = app.world_mut().resource_mut::<MatchArrivals>();
    for ticket in arrived {
        arrivals.arrived(*ticket);
    }
    app
}

#[derive(Resource, Default)]
struct Seen {
    no_shows: Vec<PlayerNoShow>,
    stops: Vec<SelfStopReason>,
}

fn run_until(app: &mut App, what: &str, mut done: impl FnMut(&Seen) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        app.update();
        if done(app.world().resource::<Seen>()) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn nobody_arrived_the_server_stops_itself() {
    let emu = emulator();
    let (env, ids) = matched(&emu);
    let mut app = server(&env, &[]);
    run_until(&mut app, "the self-stop", |seen| !seen.stops.is_empty());
    let seen = app.world().resource::<Seen>();
    let mut missing: Vec<&str> = seen.no_shows.iter().map(|n| n.ticket_id.as_str()).collect();
    missing.sort_unstable();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(missing, expected, "each matched player is a no-show");
    assert!(
        seen.no_shows
            .iter()
            .all(|n| n.team_id.is_some() && n.grace == Duration::from_millis(200))
    );
    assert_eq!(
        seen.stops,
        [SelfStopReason::NoShow(Duration::from_millis(200))]
    );
    let id = env
        .iter()
        .find(|(k, _)| k == "ARBITRIUM_REQUEST_ID")
        .unwrap()
        .1
        .clone();
    wait_for("the deployment to be stopped by itself", || {
        emu.deployment(&id).and_then(|d| d.stopped_by).as_deref() == Some("self")
    });
}

#[test]
fn one_arrived_the_other_is_a_no_show_and_the_match_goes_on() {
    let emu = emulator();
    let (env, [here, missing]) = matched(&emu);
    let mut app = server(&env, &[here.as_str()]);
    run_until(&mut app, "the no-show", |seen| !seen.no_shows.is_empty());
    // A few more frames: the self-stop would have started in the frame of the no-show.
    for _ in 0..20 {
        app.update();
    }
    let seen = app.world().resource::<Seen>();
    assert_eq!(seen.no_shows.len(), 1);
    assert_eq!(seen.no_shows[0].ticket_id, missing);
    assert!(seen.stops.is_empty(), "{:?}", seen.stops);
    assert_eq!(emu.deployments()[0].stopped_by, None);
    assert_eq!(emu.deployments()[0].status, "Status.READY");
}

#[test]
fn a_backfill_brings_one_more_player_to_this_server() {
    let emu = emulator();
    let (vars, [stays, _left]) = matched(&emu);
    let arbitrium = ArbitriumEnv::from_vars(vars.clone()).unwrap();
    let match_env = MatchEnv::from_vars(vars).unwrap();
    // One player left: ask for one more, with the ticket the server still has.
    let request = match_env.backfill(access(&emu), &arbitrium, [stays.as_str()]);
    assert_eq!(request.tickets.len(), 1);
    let backfill = call(&request).expect("the backfill is created");
    assert_eq!(backfill.status, BackfillStatus::Searching);
    let newcomer = ticket(&emu);
    let mut assigned = None;
    wait_for("the newcomer to be HOST_ASSIGNED", || {
        let answer = call(&GetTicket::new(access(&emu), &newcomer.id)).expect("the ticket");
        assigned = answer
            .assignment
            .filter(|_| answer.status == MatchStatus::HostAssigned);
        assigned.is_some()
    });
    let address = assigned.unwrap().address("gameport").expect("a game port");
    assert_eq!(
        address.socket_addr(),
        arbitrium.public_addr("gameport"),
        "this server"
    );
    let done = call(&GetBackfill::new(access(&emu), &backfill.id)).unwrap();
    assert_eq!(done.status, BackfillStatus::Assigned);
    assert_eq!(done.assigned_ticket.and_then(|t| t.id), Some(newcomer.id));
    assert_eq!(emu.deployments().len(), 1, "a backfill deploys nothing");
    call(&DeleteBackfill::new(access(&emu), &backfill.id)).expect("deleted");
    let gone = call(&GetBackfill::new(access(&emu), &backfill.id)).unwrap_err();
    assert_eq!(gone.status(), Some(404));
}
