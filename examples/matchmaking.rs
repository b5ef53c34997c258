//! Edgegap's matchmaker on your machine, offline: four players find a 2v2 and land on one
//! server, which admits only them.
//!
//! ```text
//! cargo run --example matchmaking
//! ```
//!
//! 1. An [`edgegap_emulator`] starts in this process with a **matchmaker** (profile
//!    `ranked-2v2`: two teams of two) whose app version launches **this same binary** with
//!    `--server`: the server role is `examples/dedicated_server.rs`, which reads [`MatchEnv`].
//! 2. A headless Bevy client holds **only the matchmaker's URL and token** (no Edgegap
//!    token: [`MatchmakerPlugin`]) and plays four players: two solo (`find_match`) and a
//!    party of two (`create_group`, a friend `join_group`s with its id, both `set_ready`).
//! 3. The matchmaker matches them, deploys the server with the `MM_*` variables, and every
//!    player gets [`HostAssigned`]: the same address. Each says `HELLO <ticket id>`; the
//!    server admits the tickets the matchmaker sent.
//! 4. A fifth player searches too, is not matched, tries the server with its own ticket: the
//!    server answers `REFUSED`. It leaves the matchmaker ([`MatchmakingCancelled`]).
//! 5. The four play (`PING`/`PONG`); the match over, the server stops its own deployment and
//!    exits 0. The summary shows the server's own lines (its `MatchEnv`, admissions).
//!
//! Exit code 0 on success; any failure is printed and exits 1 (never hangs: 60 s at most).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{Emulator, EmulatorHandle};
use serde_json::json;

// What this example shares with `local_match`, with the server role: the dedicated server
// example, compiled into this binary.
mod common;

use common::{GAME_PORT, VERSION};

const APP: &str = "matchmaking";
const PROFILE: &str = "ranked-2v2";
/// Rounds of the whole match (every player's `PING` counts one).
const ROUNDS: u32 = 12;
const OVERALL_TIMEOUT: Duration = Duration::from_secs(60);
const SEND_EVERY: Duration = Duration::from_millis(150);

fn main() -> AppExit {
    // Launched by the emulator as the deployment's process, this binary is the dedicated server.
    let emu = match common::server_or_emulator("matchmaking", start_emulator) {
        Ok(emu) => emu,
        Err(exit) => return exit,
    };
    println!(
        "matchmaking: matchmaker on {} (offline), profile `{PROFILE}`: two teams of two",
        emu.matchmaker_url()
    );
    println!("matchmaking: the client holds the matchmaker's token only, no Edgegap token");
    let config = MatchmakerConfig::new(emu.matchmaker_url(), emu.matchmaker_token())
        .with_poll_interval(Duration::from_millis(200));
    let exit = App::new()
        .add_plugins((
            common::headless("edgegap_emulator=error"),
            MatchmakerPlugin::new(config),
        ))
        .insert_resource(Emu(Arc::clone(&emu)))
        .insert_resource(Run::default())
        .add_systems(Startup, search)
        .add_systems(Update, (play, finish, give_up_after_timeout))
        .add_observer(on_joined)
        .add_observer(on_status)
        .add_observer(on_assigned)
        .add_observer(on_cancelled)
        .add_observer(on_failed)
        .run();
    emu.shutdown();
    exit
}

fn start_emulator() -> Result<EmulatorHandle, Box<dyn std::error::Error>> {
    let server = common::this_binary_as_server(APP, ROUNDS, 40)?;
    // The dashboard's JSON (matchmaker 3.3.x).
    let matchmaker = json!({
        "version": "3.3.2",
        "profiles": { PROFILE: {
            "ticket_expiration_period": "5m",
            "ticket_removal_period": "1m",
            "group_inactivity_removal_period": "5m",
            "application": { "name": APP, "version": VERSION },
            "rules": {
                "initial": {
                    "match_size": { "type": "player_count",
                        "attributes": { "team_count": 2, "min_team_size": 2, "max_team_size": 2 } },
                    "selected_game_mode": { "type": "string_equality" },
                },
                "expansions": {},
            },
        }},
    });
    Ok(Emulator::builder()
        .app_version(server)
        .lifecycle_step(Duration::from_millis(200))
        .matchmaker(matchmaker.to_string())
        .start()?)
}

#[derive(Resource)]
struct Emu(Arc<EmulatorHandle>);

/// One player's side of the match.
struct Player {
    name: &'static str,
    link: Option<(UdpSocket, Instant)>,
    ticket: Option<String>,
    welcomed: bool,
    round: u32,
}

#[derive(Resource)]
struct Run {
    started: Instant,
    players: HashMap<Entity, Player>,
    party: Option<(Entity, Entity)>,
    assigned: usize,
    server: Option<SocketAddr>,
    request_id: Option<String>,
    intruder: Option<Entity>,
    refused: bool,
    intruder_left: bool,
    over: bool,
    done: bool,
}

impl Default for Run {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            players: HashMap::new(),
            party: None,
            assigned: 0,
            server: None,
            request_id: None,
            intruder: None,
            refused: false,
            intruder_left: false,
            over: false,
            done: false,
        }
    }
}

impl Run {
    fn stamp(&self) -> String {
        format!("[{:5.2}s]", self.started.elapsed().as_secs_f64())
    }

    fn name(&self, entity: Entity) -> &'static str {
        self.players.get(&entity).map_or("?", |p| p.name)
    }

    fn add(&mut self, entity: Entity, name: &'static str) {
        self.players.insert(
            entity,
            Player {
                name,
                link: None,
                ticket: None,
                welcomed: false,
                round: 0,
            },
        );
    }

    fn fail(&mut self, exit: &mut MessageWriter<AppExit>, emu: &EmulatorHandle, why: &str) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        eprintln!("{} matchmaking FAILED: {why}", self.stamp());
        if let Some(id) = &self.request_id {
            for line in emu.logs(id).unwrap_or_default().lines().rev().take(8) {
                eprintln!("  server | {line}");
            }
        }
        exit.write(AppExit::error());
    }
}

fn attributes() -> serde_json::Value {
    json!({ "selected_game_mode": "quickplay" })
}

/// `Startup`: two solo players search; the party's owner creates its group.
fn search(mut matchmaker: Matchmaker, mut run: ResMut<Run>) {
    let alice = matchmaker.find_match(PROFILE, attributes());
    let bob = matchmaker.find_match(PROFILE, attributes());
    let carol = matchmaker.create_group(PROFILE, attributes());
    run.add(alice, "alice");
    run.add(bob, "bob");
    run.add(carol, "carol");
    println!(
        "{} alice and bob search alone; carol creates a party",
        run.stamp()
    );
}

/// A group was created or joined: the owner's friend joins; once both are in, both ready.
fn on_joined(joined: On<GroupJoined>, mut run: ResMut<Run>, mut matchmaker: Matchmaker) {
    let name = run.name(joined.entity);
    println!("{} {name}: in group `{}`", run.stamp(), joined.group_id);
    if name == "carol" {
        let dave = matchmaker.join_group(joined.group_id.clone(), PROFILE, attributes());
        run.add(dave, "dave");
        run.party = Some((joined.entity, dave));
        println!("{} dave joins carol's party with its group id", run.stamp());
    } else if name == "dave"
        && let Some((carol, dave)) = run.party
    {
        matchmaker.set_ready(carol, true);
        matchmaker.set_ready(dave, true);
        println!("{} carol and dave are ready", run.stamp());
    }
}

fn on_status(changed: On<MatchmakingStatusChanged>, run: Res<Run>) {
    let name = run.name(changed.entity);
    println!("{} {name}: {} -> {}", run.stamp(), changed.from, changed.to);
}

/// `HOST_ASSIGNED`: connect to the server with the ticket; once all four are, a fifth player
/// searches.
fn on_assigned(
    assigned: On<HostAssigned>,
    mut run: ResMut<Run>,
    mut matchmaker: Matchmaker,
    emu: Res<Emu>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(address) = assigned.address(GAME_PORT).and_then(|a| a.socket_addr()) else {
        run.fail(&mut exit, &emu.0, "an assignment without a game port");
        return;
    };
    let stamp = run.stamp();
    run.server = Some(address);
    run.request_id = assigned
        .assignment
        .fqdn
        .as_deref()
        .and_then(|f| f.split('.').next())
        .map(str::to_owned);
    run.assigned += 1;
    let socket = UdpSocket::bind("127.0.0.1:0").and_then(|s| {
        s.set_nonblocking(true)?;
        s.connect(address)?;
        Ok(s)
    });
    let Some(player) = run.players.get_mut(&assigned.entity) else {
        return;
    };
    println!(
        "{stamp} {}: host assigned {address} (ticket `{}`, team `{}`)",
        player.name,
        assigned.ticket_id.as_deref().unwrap_or("?"),
        assigned.team_id.as_deref().unwrap_or("?")
    );
    player.ticket = assigned.ticket_id.clone();
    match socket {
        Ok(socket) => player.link = Some((socket, Instant::now())),
        Err(error) => {
            let why = format!("no UDP socket: {error}");
            run.fail(&mut exit, &emu.0, &why);
            return;
        }
    }
    if run.assigned == 4 {
        let deployments = emu.0.deployments();
        println!(
            "{} one server for the four: {} deployment(s), `{}`",
            run.stamp(),
            deployments.len(),
            run.request_id.as_deref().unwrap_or("?")
        );
        let eve = matchmaker.find_match(PROFILE, attributes());
        run.add(eve, "eve");
        run.intruder = Some(eve);
        println!(
            "{} eve searches too: nobody is left to match her",
            run.stamp()
        );
    }
}

fn on_cancelled(cancelled: On<MatchmakingCancelled>, mut run: ResMut<Run>) {
    println!(
        "{} {}: {}",
        run.stamp(),
        run.name(cancelled.entity),
        cancelled.reason
    );
    if Some(cancelled.entity) == run.intruder {
        run.intruder_left = true;
    }
}

fn on_failed(
    failed: On<MatchmakingFailed>,
    mut run: ResMut<Run>,
    emu: Res<Emu>,
    mut exit: MessageWriter<AppExit>,
) {
    let why = format!("{} failed: {}", run.name(failed.entity), failed.error);
    run.fail(&mut exit, &emu.0, &why);
}

/// The UDP side: `HELLO <ticket>` until welcomed, then `PING`s once eve was refused; eve
/// tries the server with her ticket and leaves the matchmaker when refused.
fn play(
    mut run: ResMut<Run>,
    searches: Query<&Matchmaking>,
    mut matchmaker: Matchmaker,
    emu: Res<Emu>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = Instant::now();
    // Eve, once searching with a ticket: to the server the others were given.
    if let (Some(eve), Some(server), false) = (run.intruder, run.server, run.refused)
        && let Some(ticket) = searches.get(eve).ok().and_then(|s| s.ticket_id())
        && run.players[&eve].link.is_none()
    {
        let ticket = ticket.to_owned();
        match UdpSocket::bind("127.0.0.1:0").and_then(|s| {
            s.set_nonblocking(true)?;
            s.connect(server)?;
            Ok(s)
        }) {
            Ok(socket) => {
                let player = run.players.get_mut(&eve).expect("eve");
                player.ticket = Some(ticket.clone());
                player.link = Some((socket, now));
                println!(
                    "{} eve tries the server with her own ticket `{ticket}`",
                    run.stamp()
                );
            }
            Err(error) => return run.fail(&mut exit, &emu.0, &format!("no socket: {error}")),
        }
    }
    let refused = run.refused;
    let mut events = Vec::new();
    for (&entity, player) in run.players.iter_mut() {
        let Some((socket, next)) = &mut player.link else {
            continue;
        };
        let mut buf = [0u8; 128];
        while let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).trim().to_owned();
            events.push((entity, player.name, text.clone()));
            match text.split_whitespace().next() {
                Some("WELCOME") => player.welcomed = true,
                Some("REFUSED") => player.welcomed = false,
                _ => {}
            }
        }
        if now < *next {
            continue;
        }
        *next = now + SEND_EVERY;
        let message = if !player.welcomed {
            format!("HELLO {}", player.ticket.as_deref().unwrap_or(""))
        } else if refused {
            player.round += 1;
            format!("PING {}", player.round)
        } else {
            continue;
        };
        let _ = socket.send(message.as_bytes());
    }
    for (entity, name, text) in events {
        let stamp = run.stamp();
        match text.as_str() {
            "REFUSED" if Some(entity) == run.intruder && !run.refused => {
                run.refused = true;
                println!("{stamp} {name}: HELLO -> REFUSED (not a ticket of this match)");
                run.players.get_mut(&entity).expect("eve").link = None;
                matchmaker.leave(entity);
            }
            t if t.starts_with("WELCOME") => println!("{stamp} {name}: HELLO -> {t}"),
            t if t.starts_with("PONG") => println!("{stamp} {name}: {t}"),
            "BYE" if !run.over => {
                run.over = true;
                println!("{stamp} {name}: BYE: match over, the server stops its own deployment");
            }
            _ => {}
        }
    }
    if run.over {
        for player in run.players.values_mut() {
            player.link = None;
        }
    }
}

/// Done once the match is over, eve left, and the server exited 0 on its own.
fn finish(mut run: ResMut<Run>, emu: Res<Emu>, mut exit: MessageWriter<AppExit>) {
    if run.done || !run.over || !run.intruder_left {
        return;
    }
    let Some(id) = run.request_id.clone() else {
        return;
    };
    let Some(info) = emu.0.deployment(&id) else {
        return;
    };
    if info.status != "Status.TERMINATED" || info.exit_code.is_none() {
        return;
    }
    if info.exit_code != Some(0) {
        let why = format!("the server exited with `{:?}`", info.exit_code);
        return run.fail(&mut exit, &emu.0, &why);
    }
    run.done = true;
    println!(
        "{} server exited with code 0 (stopped by: {})",
        run.stamp(),
        info.stopped_by.unwrap_or_default()
    );
    println!("the server's side (its log, as the emulator captured it):");
    for line in emu.0.logs(&id).unwrap_or_default().lines() {
        if ["match `", "admitted", "refused"]
            .iter()
            .any(|needle| line.contains(needle))
        {
            println!("  server | {line}");
        }
    }
    println!("done: 4 players matched on one server, 1 refused, match played, server stopped");
    exit.write(AppExit::Success);
}

fn give_up_after_timeout(mut run: ResMut<Run>, emu: Res<Emu>, mut exit: MessageWriter<AppExit>) {
    if !run.done && run.started.elapsed() > OVERALL_TIMEOUT {
        let why = format!(
            "not finished after {OVERALL_TIMEOUT:?} (assigned {}, refused {}, over {})",
            run.assigned, run.refused, run.over
        );
        run.fail(&mut exit, &emu.0, &why);
    }
}
