//! A dedicated server to copy: reads what Edgegap injects, listens on the mapped game port,
//! plays a tiny UDP "match", stops its own deployment when the match is over or has been
//! empty for 30 s, and shuts down gracefully on `SIGTERM`. Runs locally without any Edgegap
//! variables (and says so).
//!
//! ```text
//! cargo run --example dedicated_server
//! ```
//!
//! # The match protocol (UDP, one ASCII line per datagram)
//!
//! | client sends | server answers | effect |
//! |---|---|---|
//! | `HELLO` | `WELCOME <rounds>` | the match starts (`Waiting` → `Playing`) |
//! | `HELLO <ticket>` | `WELCOME <rounds>`, or `REFUSED` | on a matchmaker deployment: only the tickets [`MatchEnv`] expects |
//! | `PING <n>` | `PONG <n>` | one round played |
//! | `PING <n>` (the last round) | `PONG <n>`, then `BYE` | the match is over (`Finished`) |
//! | `PING <n>` before a welcome | `ERR say HELLO first` | |
//! | anything once finished | `BYE` | |
//! | anything else | `ERR <what>` | |
//!
//! The match also ends after a time limit, counted from start. On `Finished` the server
//! self-stops; Edgegap (or the emulator) then sends `SIGTERM`, the server enters
//! `ShuttingDown` and exits with code 0. Locally there is nothing to stop, so it exits at once.
//!
//! On a deployment the matchmaker made ([`MatchEnv`] present: `cargo run --example
//! matchmaking`), a player must say `HELLO <ticket id>` with a ticket of the match: it is
//! reported to [`MatchArrivals`] (the no-show policy reads it), anyone else gets `REFUSED`.
//!
//! Players are reported to the plugin's [`PlayerCount`]: a new address saying `HELLO` joins,
//! and a player leaves when the match is over or after `PLAYER_TIMEOUT_SECS` without a
//! datagram (UDP has no disconnect). With
//! [`stop_when_empty_for`](EdgegapServerPlugin::stop_when_empty_for), a match everybody left
//! stops its deployment after `EMPTY_STOP_SECS`, even if it never reached `Finished`.
//!
//! Settings (environment): `MATCH_ROUNDS` (default 3), `MATCH_TIME_LIMIT_SECS` (default 300),
//! `EMPTY_STOP_SECS` (default 30), `PLAYER_TIMEOUT_SECS` (default 10), `LOCAL_PORT` (the UDP
//! port of a local run, default 7777; `0` picks a free one). The port name looked up on
//! Edgegap is `gameport`. The server prints `listening on <addr>` on stdout.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bevy::app::ScheduleRunnerPlugin;
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::prelude::*;

/// The app-version port name this server listens on.
pub const GAME_PORT: &str = "gameport";

/// The server. `pub` so that `local_match` and `matchmaking` run this same code as their server
/// role (through `examples/common`).
pub fn main() -> AppExit {
    let rules = MatchRules::from_env();
    App::new()
        .add_plugins((
            MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(10))),
            LogPlugin::default(),
            StatesPlugin,
        ))
        .init_state::<MatchState>()
        .add_plugins(
            EdgegapServerPlugin::new()
                .self_stop_on_enter(MatchState::Finished)
                // Everybody left and nobody came back: stop paying for this server.
                .stop_when_empty_for(rules.empty_stop)
                .on_shutdown_enter(MatchState::ShuttingDown)
                .self_stop_on_panic(true),
        )
        .insert_resource(rules)
        .add_systems(Startup, (bind_game_port, announce_match))
        .add_systems(
            Update,
            (answer_datagrams, forget_silent_players, end_on_time_limit).chain(),
        )
        .add_systems(OnEnter(MatchState::Finished), everybody_leaves)
        .add_systems(OnEnter(MatchState::Finished), exit_when_local)
        .add_systems(OnEnter(MatchState::ShuttingDown), exit_now)
        .add_systems(Update, exit_when_self_stop_fails)
        .run()
}

/// Where the match is.
#[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
enum MatchState {
    /// No player yet.
    #[default]
    Waiting,
    /// Rounds are being played.
    Playing,
    /// The match is over: self-stop.
    Finished,
    /// `SIGTERM` (or Ctrl-C): wrap up and exit.
    ShuttingDown,
}

#[derive(Resource)]
struct MatchRules {
    rounds: u32,
    time_limit: Duration,
    empty_stop: Duration,
    player_timeout: Duration,
    local_port: u16,
}

impl MatchRules {
    fn from_env() -> Self {
        let number = |key: &str, default: u64| {
            std::env::var(key)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Self {
            rounds: number("MATCH_ROUNDS", 3).max(1) as u32,
            time_limit: Duration::from_secs(number("MATCH_TIME_LIMIT_SECS", 300)),
            empty_stop: Duration::from_secs(number("EMPTY_STOP_SECS", 30)),
            player_timeout: Duration::from_secs(number("PLAYER_TIMEOUT_SECS", 10)),
            local_port: number("LOCAL_PORT", 7777) as u16,
        }
    }
}

#[derive(Resource)]
struct GameSocket {
    socket: UdpSocket,
    rounds_played: u32,
    /// Players by address, with when each was last heard from.
    players: HashMap<SocketAddr, Instant>,
}

fn bind_game_port(
    mut commands: Commands,
    env: Option<Res<ArbitriumEnv>>,
    rules: Res<MatchRules>,
    mut exit: MessageWriter<AppExit>,
) {
    let addr: SocketAddr = match env.as_deref() {
        Some(env) => match env.bind_addr(GAME_PORT) {
            Some(addr) => {
                info!(
                    "deployment `{}`: players connect to `{:?}`",
                    env.request_id(),
                    env.public_addr(GAME_PORT)
                );
                addr
            }
            None => {
                error!("no `{GAME_PORT}` port in the injected environment");
                exit.write(AppExit::error());
                return;
            }
        },
        None => {
            info!("not on edgegap: local run on port `{}`", rules.local_port);
            SocketAddr::from(([0, 0, 0, 0], rules.local_port))
        }
    };
    let socket = match UdpSocket::bind(addr).and_then(|s| s.set_nonblocking(true).map(|()| s)) {
        Ok(socket) => socket,
        Err(e) => {
            error!("cannot listen on `{addr}`: {e}");
            exit.write(AppExit::error());
            return;
        }
    };
    let local = socket.local_addr().unwrap_or(addr);
    println!("listening on {local}");
    commands.insert_resource(GameSocket {
        socket,
        rounds_played: 0,
        players: HashMap::new(),
    });
}

/// On a matchmaker deployment: who is coming.
fn announce_match(env: Option<Res<MatchEnv>>) {
    if let Some(env) = env {
        println!(
            "match `{}` (profile `{}`): expecting {} players",
            env.match_id,
            env.profile.as_deref().unwrap_or("?"),
            env.expected_players()
        );
    }
}

/// Whether a `HELLO` may join: anyone on a plain deployment; on a matchmaker deployment only
/// a ticket of the match, reported as arrived.
fn admit(ticket: Option<&str>, env: Option<&MatchEnv>, arrivals: &mut MatchArrivals) -> bool {
    let Some(env) = env else {
        return true;
    };
    match ticket {
        Some(ticket) if env.expects(ticket) => {
            if arrivals.arrived(ticket) {
                let team = env.team_of(ticket).unwrap_or("?");
                println!("admitted ticket `{ticket}` (team `{team}`)");
            }
            true
        }
        _ => {
            println!(
                "refused ticket `{}`: not in this match",
                ticket.unwrap_or("")
            );
            false
        }
    }
}

fn answer_datagrams(
    socket: Option<ResMut<GameSocket>>,
    rules: Res<MatchRules>,
    state: Res<State<MatchState>>,
    mut next: ResMut<NextState<MatchState>>,
    mut count: ResMut<PlayerCount>,
    env: Option<Res<MatchEnv>>,
    mut arrivals: ResMut<MatchArrivals>,
) {
    let Some(mut game) = socket else {
        return;
    };
    let mut buf = [0u8; 512];
    // Everything that arrived since the last frame.
    while let Ok((len, from)) = game.socket.recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..len]);
        let mut words = text.split_whitespace();
        let finished = matches!(state.get(), MatchState::Finished | MatchState::ShuttingDown);
        if let Some(seen) = game.players.get_mut(&from) {
            *seen = Instant::now();
        }
        let reply = match (words.next(), words.next()) {
            _ if finished => "BYE".to_owned(),
            (Some("HELLO"), ticket) if !admit(ticket, env.as_deref(), &mut arrivals) => {
                "REFUSED".to_owned()
            }
            (Some("HELLO"), _) => {
                if game.players.insert(from, Instant::now()).is_none() {
                    count.joined();
                    info!("player `{from}` joined (`{}` connected)", count.count());
                }
                if *state.get() == MatchState::Waiting {
                    info!("first player `{from}`: the match starts");
                    next.set(MatchState::Playing);
                }
                format!("WELCOME {}", rules.rounds)
            }
            // Only players who were welcome play rounds.
            (Some("PING"), _) if !game.players.contains_key(&from) => {
                "ERR say HELLO first".to_owned()
            }
            (Some("PING"), Some(n)) if n.parse::<u64>().is_ok() => {
                game.rounds_played += 1;
                let pong = format!("PONG {n}");
                if game.rounds_played >= rules.rounds {
                    let _ = game.socket.send_to(pong.as_bytes(), from);
                    info!("`{}` rounds played: the match is over", game.rounds_played);
                    next.set(MatchState::Finished);
                    "BYE".to_owned()
                } else {
                    pong
                }
            }
            _ => format!("ERR unknown `{}`", text.trim()),
        };
        let _ = game.socket.send_to(reply.as_bytes(), from);
        if reply == "BYE" && !finished {
            // Later datagrams this frame see the match as over.
            break;
        }
    }
}

/// UDP has no disconnect: a player silent for `player_timeout` has left.
fn forget_silent_players(
    socket: Option<ResMut<GameSocket>>,
    rules: Res<MatchRules>,
    mut count: ResMut<PlayerCount>,
) {
    let Some(mut game) = socket else {
        return;
    };
    let timeout = rules.player_timeout;
    game.players.retain(|player, seen| {
        let silent = seen.elapsed() >= timeout;
        if silent {
            count.left();
            info!(
                "player `{player}` timed out (`{}` connected)",
                count.count()
            );
        }
        !silent
    });
}

/// The match is over: its players are gone.
fn everybody_leaves(socket: Option<ResMut<GameSocket>>, mut count: ResMut<PlayerCount>) {
    if let Some(mut game) = socket {
        game.players.clear();
    }
    count.set(0);
}

fn end_on_time_limit(
    time: Res<Time<Real>>,
    rules: Res<MatchRules>,
    state: Res<State<MatchState>>,
    mut next: ResMut<NextState<MatchState>>,
) {
    let running = matches!(state.get(), MatchState::Waiting | MatchState::Playing);
    if running && time.elapsed() >= rules.time_limit {
        info!(
            "time limit `{:?}` reached: the match is over",
            rules.time_limit
        );
        next.set(MatchState::Finished);
    }
}

/// Locally there is no deployment to stop (and no `SIGTERM` coming): exit at once.
fn exit_when_local(env: Option<Res<ArbitriumEnv>>, mut exit: MessageWriter<AppExit>) {
    if env.is_none() {
        info!("local run: match over, exiting");
        exit.write(AppExit::Success);
    }
}

/// `SIGTERM` after the self-stop (or Ctrl-C): nothing to save here, exit now.
fn exit_now(mut exit: MessageWriter<AppExit>) {
    println!("shutting down");
    exit.write(AppExit::Success);
}

/// Without a self-stop the deployment would idle until its max duration: exit with an error.
fn exit_when_self_stop_fails(
    mut failed: MessageReader<SelfStopFailed>,
    mut exit: MessageWriter<AppExit>,
) {
    for failure in failed.read() {
        error!("self-stop failed: {}", failure.error);
        exit.write(AppExit::error());
    }
}
