//! A whole Edgegap match on your machine, offline, in about five seconds:
//!
//! ```text
//! cargo run --example local_match            # client -> gateway -> emulator (a shipped game)
//! cargo run --example local_match -- --direct  # client -> emulator with the organisation token
//! ```
//!
//! 1. An [`edgegap_emulator`] (Edgegap's HTTP API on loopback) starts in this process, with one
//!    app version whose "container" is **this same binary** run with `--server`: the server
//!    role is `examples/dedicated_server.rs`, unchanged.
//! 2. An [`edgegap_gateway`] starts in front of it, holding the organisation token, as a shipped
//!    game's backend would. The client gets only a player JWT (minted here with
//!    [`edgegap_gateway::dev_token`]; a real game gets it from its own auth backend) and
//!    [`EdgegapConfig::gateway`]: **the client holds no Edgegap token**. The gateway fills the
//!    deploy's `users` with the caller's address and tags the deployment with the player's
//!    owner tag. With `--direct`, the client talks to the emulator with the organisation
//!    token instead, as a backend or lobby service you run would.
//! 3. A headless Bevy client deploys it with [`EdgegapClientPlugin`], exactly as a game or
//!    lobby would deploy on `https://api.edgegap.com`, and prints each status it sees.
//! 4. On [`DeploymentReady`] it connects over UDP to the reported address and plays the
//!    dedicated server's tiny match: `HELLO` → `WELCOME <rounds>`, `PING n` → `PONG n`, `BYE`.
//! 5. The match over, the server stops its own deployment (`ARBITRIUM_DELETE_URL`), receives
//!    `SIGTERM` and exits with code 0; the client sees [`DeploymentTerminated`] and prints a
//!    summary.
//!
//! Exit code 0 on success. Any failure (the deployment errors, the server dies or stops
//! answering, nothing happens for 60 s) is printed with the tail of the server's log, as
//! captured by the emulator, and exits with code 1. The server's own log is not shown on
//! success; `RUST_LOG=bevy_edgegap=debug` adds the client plugin's own log.
//!
//! To point the same client at the real Edgegap, run `edgegap-gateway --config gateway.toml`
//! with your token and policy, and give players `EdgegapConfig::gateway(url, player_jwt)`.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{Emulator, EmulatorHandle};
use edgegap_gateway::{Gateway, GatewayHandle};

// What this example shares with `matchmaking`, with the server role: the dedicated server
// example, compiled into this binary.
mod common;

use common::{GAME_PORT, VERSION};

/// The application the emulator knows, as on the Edgegap dashboard (its version:
/// [`VERSION`]; the port name declared on it, and looked up by both sides: [`GAME_PORT`]).
const APP: &str = "local-match";
/// Rounds in the match (the server reads `MATCH_ROUNDS`), and the pause between two.
const ROUNDS: u32 = 5;
const ROUND_PAUSE: Duration = Duration::from_millis(400);
/// Time between two emulated lifecycle statuses (Edgegap takes seconds, not milliseconds).
const LIFECYCLE_STEP: Duration = Duration::from_millis(500);
/// READY means the process is up, not that its socket is bound yet: `HELLO` is repeated every
/// `HELLO_EVERY` for at most `HELLO_FOR`.
const HELLO_EVERY: Duration = Duration::from_millis(200);
const HELLO_FOR: Duration = Duration::from_secs(10);
/// The longest wait for one answer from the server once the match started.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole run gives up after this long.
const OVERALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The player this client plays as, and the secret the game's auth backend signs player
/// tokens with (shared with the gateway; a real one is long, random and never in a client).
const PLAYER: &str = "player-1";
const PLAYER_TOKEN_SECRET: &[u8] = b"local-match auth backend secret, never shipped";

fn main() -> AppExit {
    // Launched by the emulator as the deployment's process, this binary is the dedicated server.
    let emu = match common::server_or_emulator("local_match", start_emulator) {
        Ok(emu) => emu,
        Err(exit) => return exit,
    };
    println!(
        "local_match: Edgegap emulator on {} (offline), app `{APP}` version `{VERSION}`",
        emu.base_url()
    );

    // On the real API the default polling (1 s, up to 5 s) is right; here statuses change
    // every 500 ms, so poll at least every 300 ms to see each one.
    let poll = PollPolicy {
        initial: Duration::from_millis(150),
        max: Duration::from_millis(300),
        multiplier: 1.5,
    };
    let direct = std::env::args().any(|arg| arg == "--direct");
    let (config, gateway) = if direct {
        // A backend you run: the organisation token, straight to Edgegap.
        println!("local_match: --direct: the client holds the organisation token");
        (EdgegapConfig::new(emu.base_url(), emu.token()), None)
    } else {
        match start_gateway(&emu) {
            Ok((gateway, player_token)) => {
                println!(
                    "local_match: gateway on {} holds the organisation token; the client holds \
                     no Edgegap token, only a player JWT for `{PLAYER}`",
                    gateway.base_url()
                );
                let config = EdgegapConfig::gateway(gateway.base_url(), player_token);
                (config, Some(gateway))
            }
            Err(error) => {
                eprintln!("local_match FAILED: cannot start the gateway: {error}");
                return AppExit::error();
            }
        }
    };
    let config = config
        .with_poll(poll)
        .with_ready_timeout(Some(Duration::from_secs(30)));

    let exit = App::new()
        .add_plugins((
            common::headless("edgegap_emulator=error,edgegap_gateway=error"),
            EdgegapClientPlugin::new(config),
        ))
        .insert_resource(Emu(Arc::clone(&emu)))
        .insert_resource(Run {
            through_gateway: gateway.is_some(),
            ..default()
        })
        .add_systems(Startup, deploy)
        .add_systems(Update, (play, give_up_after_timeout))
        // The deployment's events, triggered on its entity (also readable as messages).
        .add_observer(on_created)
        .add_observer(on_status_changed)
        .add_observer(on_ready)
        .add_observer(on_failed)
        .add_observer(on_terminated)
        .run();

    if let Some(gateway) = gateway {
        gateway.shutdown();
    }
    // Ends any server process still running (SIGTERM, then SIGKILL after its grace period).
    emu.shutdown();
    exit
}

/// The gateway in front of the emulator (what a game's team runs), and a player token for
/// the client (what the game's auth backend hands out after login).
fn start_gateway(
    emu: &EmulatorHandle,
) -> Result<(GatewayHandle, String), edgegap_gateway::GatewayError> {
    let gateway = Gateway::builder()
        .upstream(emu.base_url(), emu.token())
        .allow(APP, VERSION)
        .hs256_secret(PLAYER_TOKEN_SECRET)
        .max_live_per_player(1)
        .start()?;
    let token = edgegap_gateway::dev_token(PLAYER_TOKEN_SECRET, PLAYER, Duration::from_secs(600))?;
    Ok((gateway, token))
}

/// The emulator, with one app version launching this binary as the server.
fn start_emulator() -> Result<EmulatorHandle, Box<dyn std::error::Error>> {
    Ok(Emulator::builder()
        .app_version(common::this_binary_as_server(APP, ROUNDS, 30)?)
        .lifecycle_step(LIFECYCLE_STEP)
        .start()?)
}

/// The running emulator, for the server's pid, exit code and captured log.
#[derive(Resource)]
struct Emu(Arc<EmulatorHandle>);

/// What happened so far, with the moments the summary reports.
#[derive(Resource)]
struct Run {
    deployed_at: Instant,
    request_id: Option<RequestId>,
    ready_at: Option<Instant>,
    match_started_at: Option<Instant>,
    match_over_at: Option<Instant>,
    rounds: u32,
    /// An exit was requested: ignore whatever comes after.
    done: bool,
    /// The client talks to the gateway with a player token (not `--direct`).
    through_gateway: bool,
}

impl Default for Run {
    fn default() -> Self {
        Self {
            deployed_at: Instant::now(),
            request_id: None,
            ready_at: None,
            match_started_at: None,
            match_over_at: None,
            rounds: 0,
            done: false,
            through_gateway: false,
        }
    }
}

impl Run {
    /// `[ 1.23s]`: time since the deploy was issued.
    fn stamp(&self) -> String {
        format!("[{:5.2}s]", self.deployed_at.elapsed().as_secs_f64())
    }

    /// Prints why the run failed, with the end of the server's log, and exits with code 1.
    fn fail(&mut self, emu: &EmulatorHandle, exit: &mut MessageWriter<AppExit>, why: &str) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        eprintln!("{} local_match FAILED: {why}", self.stamp());
        if let Some(id) = &self.request_id {
            let info = emu.deployment(id.as_str());
            if let Some(code) = info.as_ref().and_then(|info| info.exit_code) {
                let signal = (code > 128).then(|| format!(" (128 + signal {})", code - 128));
                eprintln!(
                    "server process exit code: {code}{}",
                    signal.unwrap_or_default()
                );
            }
            let log = emu.logs(id.as_str()).unwrap_or_default();
            let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
            eprintln!("last lines of the server's log (emulator capture):");
            for line in &lines[lines.len().saturating_sub(8)..] {
                eprintln!("  server | {line}");
            }
        }
        exit.write(AppExit::error());
    }
}

/// The UDP conversation with the server, once the deployment is READY.
#[derive(Resource)]
struct Link {
    socket: UdpSocket,
    step: Step,
}

enum Step {
    /// Sending `HELLO` until `WELCOME <rounds>` comes back.
    Hello {
        tries: u32,
        next_try: Instant,
        until: Instant,
    },
    /// Playing round `round`: `PING` not sent yet, or sent at `sent_at`.
    Ping {
        round: u32,
        send_at: Instant,
        sent_at: Option<Instant>,
    },
    /// The last `PONG` is in: waiting for `BYE`.
    Bye { since: Instant },
    /// The match is over: waiting for the deployment to terminate.
    Over,
}

/// `Startup`: one deploy, as a game or a lobby host would do it.
fn deploy(mut edgegap: Edgegap, mut run: ResMut<Run>) {
    let request = DeployRequest::new(APP, VERSION);
    // Edgegap places the server near the players' public IPs: the gateway fills them with the
    // caller's address; directly, the client names them.
    edgegap.deploy(if run.through_gateway {
        request
    } else {
        request.user_ip("127.0.0.1")
    });
    run.deployed_at = Instant::now();
    println!("{} deploy `{APP}`/`{VERSION}`", run.stamp());
}

fn on_created(created: On<DeploymentCreated>, mut run: ResMut<Run>, emu: Res<Emu>) {
    run.request_id = Some(created.request_id.clone());
    println!(
        "{} accepted: request_id `{}`",
        run.stamp(),
        created.request_id
    );
    if run.through_gateway {
        // Seen from Edgegap's side: the gateway's owner tag, a keyed hash of the player id.
        let tags = emu
            .0
            .deployment(created.request_id.as_str())
            .map(|info| info.tags)
            .unwrap_or_default();
        let owner = tags
            .iter()
            .find(|t| t.starts_with(edgegap_gateway::OWNER_TAG_PREFIX))
            .map_or("?", String::as_str);
        println!(
            "{} owned by player `{PLAYER}` (owner tag `{owner}`): only their token can read or stop it",
            run.stamp()
        );
    }
}

/// One line per status the client's polling sees change.
fn on_status_changed(changed: On<DeploymentStatusChanged>, run: Res<Run>) {
    let name = |status: &Status| status.as_wire().trim_start_matches("Status.").to_owned();
    println!(
        "{} {} -> {}",
        run.stamp(),
        name(&changed.from),
        name(&changed.to)
    );
}

/// READY: open a UDP socket towards the reported address and start saying `HELLO`.
fn on_ready(
    ready: On<DeploymentReady>,
    mut run: ResMut<Run>,
    emu: Res<Emu>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
) {
    run.ready_at = Some(Instant::now());
    let Some(address) = ready.address(GAME_PORT).and_then(|a| a.socket_addr()) else {
        let why = format!("READY without a `{GAME_PORT}` IP address");
        run.fail(&emu.0, &mut exit, &why);
        return;
    };
    let pid = emu
        .0
        .deployment(ready.request_id.as_str())
        .and_then(|info| info.pid)
        .map_or_else(|| "?".to_owned(), |pid| pid.to_string());
    println!(
        "{} server process `{pid}`: players connect to {address}/udp",
        run.stamp()
    );
    match connect(address) {
        Ok(socket) => {
            let now = Instant::now();
            commands.insert_resource(Link {
                socket,
                step: Step::Hello {
                    tries: 0,
                    next_try: now,
                    until: now + HELLO_FOR,
                },
            });
        }
        Err(error) => {
            let why = format!("cannot open a UDP socket to {address}: {error}");
            run.fail(&emu.0, &mut exit, &why);
        }
    }
}

/// A non-blocking UDP socket that only talks to `server`.
fn connect(server: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// `Update`: reads the server's answers, then sends what is due. Never blocks a frame.
fn play(
    link: Option<ResMut<Link>>,
    mut run: ResMut<Run>,
    emu: Res<Emu>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(mut link) = link else {
        return;
    };
    if run.done {
        return;
    }
    let now = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        let text = match link.socket.recv(&mut buf) {
            Ok(len) => String::from_utf8_lossy(&buf[..len]).trim().to_owned(),
            Err(error) if error.kind() == ErrorKind::WouldBlock => break,
            // Nobody on the port (yet, or any more): the timeouts below decide.
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => break,
            Err(error) => {
                run.fail(&emu.0, &mut exit, &format!("UDP receive failed: {error}"));
                return;
            }
        };
        if let Err(why) = answer(&mut link.step, &mut run, &text, now) {
            run.fail(&emu.0, &mut exit, &why);
            return;
        }
    }
    let sent = match &mut link.step {
        Step::Hello {
            tries,
            next_try,
            until,
        } if now >= *next_try => {
            if now >= *until {
                let why = format!("no WELCOME after {HELLO_FOR:?} of HELLO");
                run.fail(&emu.0, &mut exit, &why);
                return;
            }
            *tries += 1;
            *next_try = now + HELLO_EVERY;
            Some("HELLO".to_owned())
        }
        Step::Ping {
            round,
            send_at,
            sent_at: sent_at @ None,
        } if now >= *send_at => {
            *sent_at = Some(now);
            Some(format!("PING {round}"))
        }
        Step::Ping {
            round,
            sent_at: Some(at),
            ..
        } if now.duration_since(*at) > ANSWER_TIMEOUT => {
            let why = format!("no answer to `PING {round}` within {ANSWER_TIMEOUT:?}");
            run.fail(&emu.0, &mut exit, &why);
            return;
        }
        Step::Bye { since } if now.duration_since(*since) > ANSWER_TIMEOUT => {
            let why = format!("no BYE within {ANSWER_TIMEOUT:?} of the last round");
            run.fail(&emu.0, &mut exit, &why);
            return;
        }
        _ => None,
    };
    if let Some(message) = sent {
        // A refused or lost datagram is retried (HELLO) or caught by a timeout (PING).
        let _ = link.socket.send(message.as_bytes());
    }
}

/// One datagram from the server, in the match protocol of `dedicated_server.rs`.
fn answer(step: &mut Step, run: &mut Run, text: &str, now: Instant) -> Result<(), String> {
    let mut words = text.split_whitespace();
    match (&*step, words.next(), words.next()) {
        (Step::Hello { tries, .. }, Some("WELCOME"), Some(rounds)) => {
            run.rounds = rounds
                .parse()
                .map_err(|_| format!("bad WELCOME `{text}`"))?;
            run.match_started_at = Some(now);
            let retries = match tries {
                1 => String::new(),
                n => format!(" (after {n} tries: the server was still starting)"),
            };
            println!("{} HELLO -> {text}{retries}", run.stamp());
            *step = Step::Ping {
                round: 1,
                send_at: now,
                sent_at: None,
            };
        }
        // A late answer to a repeated HELLO.
        (Step::Ping { .. }, Some("WELCOME"), _) => {}
        (
            Step::Ping {
                round,
                sent_at: Some(sent_at),
                ..
            },
            Some("PONG"),
            Some(n),
        ) if n == round.to_string() => {
            let round = *round;
            // Frames included: the server runs at 100 Hz, this client at 60 Hz.
            let rtt = now.duration_since(*sent_at).as_millis();
            println!(
                "{} round {round}/{}: PING {round} -> {text} ({rtt} ms)",
                run.stamp(),
                run.rounds
            );
            *step = if round >= run.rounds {
                Step::Bye { since: now }
            } else {
                Step::Ping {
                    round: round + 1,
                    send_at: now + ROUND_PAUSE,
                    sent_at: None,
                }
            };
        }
        (Step::Bye { .. }, Some("BYE"), None) => {
            run.match_over_at = Some(now);
            println!(
                "{} BYE: match over, the server stops its own deployment",
                run.stamp()
            );
            *step = Step::Over;
        }
        (Step::Over, _, _) => {}
        _ => return Err(format!("unexpected answer `{text}` from the server")),
    }
    Ok(())
}

fn on_failed(
    failed: On<DeploymentFailed>,
    mut run: ResMut<Run>,
    emu: Res<Emu>,
    mut exit: MessageWriter<AppExit>,
) {
    let why = format!("deployment failed: {}", failed.reason);
    run.fail(&emu.0, &mut exit, &why);
}

/// TERMINATED: a success only if the match was played to its end and the server exited
/// gracefully (code 0, not a `SIGKILL` after the grace period).
fn on_terminated(
    terminated: On<DeploymentTerminated>,
    mut run: ResMut<Run>,
    emu: Res<Emu>,
    mut exit: MessageWriter<AppExit>,
) {
    if run.done {
        return;
    }
    let Some(over_at) = run.match_over_at else {
        let why = "the deployment terminated before the match was over";
        run.fail(&emu.0, &mut exit, why);
        return;
    };
    let now = Instant::now();
    // What the emulator saw of the server process.
    let server = emu.0.deployment(terminated.request_id.as_str());
    let exit_code = server.as_ref().and_then(|s| s.exit_code);
    if exit_code != Some(0) {
        let why = format!("the server process exited with `{exit_code:?}`, not 0");
        run.fail(&emu.0, &mut exit, &why);
        return;
    }
    run.done = true;
    let stopped_by = server.and_then(|s| s.stopped_by).unwrap_or_default();
    println!(
        "{} server exited with code 0 (stopped by: {stopped_by})",
        run.stamp()
    );
    let secs = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64();
    println!(
        "done: deploy -> ready {:.2}s, match {:.2}s ({} rounds), match over -> terminated {:.2}s",
        secs(run.deployed_at, run.ready_at.unwrap_or(now)),
        secs(run.match_started_at.unwrap_or(over_at), over_at),
        run.rounds,
        secs(over_at, now),
    );
    exit.write(AppExit::Success);
}

/// Never hang: past [`OVERALL_TIMEOUT`], whatever is missing is the failure.
fn give_up_after_timeout(mut run: ResMut<Run>, emu: Res<Emu>, mut exit: MessageWriter<AppExit>) {
    if !run.done && run.deployed_at.elapsed() > OVERALL_TIMEOUT {
        let why = format!("not finished after {OVERALL_TIMEOUT:?}");
        run.fail(&emu.0, &mut exit, &why);
    }
}
