//! A lobby host: deploys one game server on Edgegap for a match, prints where players connect,
//! holds it for a while, then stops it.
//!
//! ```text
//! cargo run --example lobby_client -- --app my-game --version 1.0.0 [--ip 203.0.113.7 |
//!     --lat 45.5 --lon -73.6] [--tag ranked]... [--env KEY=VALUE]... [--hold SECS]
//!     [--gateway URL [--player-token JWT]]
//! ```
//!
//! Directly, it talks to whatever `EDGEGAP_BASE_URL` (default `https://api.edgegap.com`) and
//! `EDGEGAP_TOKEN` name. Without a token it prints how to try it on `edgegap-emulator` and exits
//! 0; bad arguments exit 2; a failed deployment exits 1. Press Enter to stop early.
//!
//! The organisation token can deploy and stop anything in your organisation: keep it on a
//! backend or matchmaker you run, never inside a game client you ship. A shipped game uses
//! **gateway mode** instead: `--gateway URL` talks to an `edgegap-gateway` with a player's token
//! (`--player-token`, or `PLAYER_TOKEN`), and needs no Edgegap token at all. Locally:
//!
//! ```text
//! cargo run -p edgegap-gateway -- --emulator     # prints GATEWAY_URL and PLAYER_TOKEN
//! PLAYER_TOKEN=… cargo run --example lobby_client -- --gateway http://127.0.0.1:8080 \
//!     --app my-game --version 1.0.0
//! ```
//!
//! In gateway mode the gateway chooses `users` (the caller's address) and its policy decides
//! whether `--tag` and `--env` are allowed (by default neither: the deploy is refused with 403).
//!
//! It shows both ways to hear about a deployment:
//!
//! - a **system** with a `MessageReader<DeploymentReady>` ([`print_connect_address`]): every
//!   deployment's events, buffered, read once a frame;
//! - **observers** on the deployment entity (`.observe(..)` in [`deploy`]): only that
//!   deployment's events, run the moment they happen.
//!
//! And both ways to stop it: explicitly with [`Edgegap::stop_deployment`] when the hold is
//! over ([`stop_when_done`]), and the orphan guard [`StopOnExit`] (added by
//! [`Edgegap::deploy`]), which stops the deployment when the app exits any other way: a failed
//! deployment ([`on_failed`]), an error exit elsewhere, or Ctrl-C — `TerminalCtrlCHandlerPlugin`
//! (part of `DefaultPlugins`, added by hand next to `MinimalPlugins`) turns Ctrl-C into an
//! `AppExit`. Only a second Ctrl-C (or `kill -9`) leaves the deployment to Edgegap's max duration.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bevy::app::{ScheduleRunnerPlugin, TerminalCtrlCHandlerPlugin};
use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use crossbeam_channel::Receiver;

/// The app-version port players connect to.
const GAME_PORT: &str = "gameport";

const USAGE: &str = "\
usage: lobby_client --app NAME --version NAME [--ip ADDRESS | --lat DEG --lon DEG]
                    [--tag TAG]... [--env KEY=VALUE]... [--hold SECS]

  --app, --version  the Edgegap application and app version to deploy
  --ip              a player's public IP (placement); default 203.0.113.7
  --lat, --lon      a player's position instead of an IP
  --tag             a deployment tag (repeatable)
  --env             an environment variable for the server (repeatable)
  --hold            seconds to keep the server once READY (default 10; Enter stops early)
  --gateway         an edgegap-gateway's URL: deploy as a player, without an Edgegap token
  --player-token    the player's JWT for --gateway (default: $PLAYER_TOKEN)

environment: EDGEGAP_TOKEN (required without --gateway), EDGEGAP_BASE_URL (default
https://api.edgegap.com), PLAYER_TOKEN (with --gateway)";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) if problem == "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("lobby_client: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let config = match &args.gateway {
        Some(url) => {
            let token = args
                .player_token
                .clone()
                .or_else(|| std::env::var("PLAYER_TOKEN").ok())
                .unwrap_or_default();
            if token.trim().is_empty() {
                eprintln!(
                    "lobby_client: --gateway needs --player-token or PLAYER_TOKEN\n\n{USAGE}"
                );
                return ExitCode::from(2);
            }
            println!("gateway mode: deploying as a player; this process holds no Edgegap token");
            EdgegapConfig::gateway(url, token)
        }
        None => EdgegapConfig::from_env(),
    };
    if config.token().is_empty() {
        println!(
            "EDGEGAP_TOKEN is not set: nothing to talk to.\n\n\
             Try it offline on the emulator. In one terminal:\n\
             \x20   cargo run -p edgegap-emulator -- --config assets/emulator.toml\n\
             then export the EDGEGAP_BASE_URL and EDGEGAP_TOKEN it prints, and in another:\n\
             \x20   cargo run --example lobby_client -- --app my-game --version 1.0.0 --tag demo\n\n\
             Or as a player, through a gateway in front of an emulator:\n\
             \x20   cargo run -p edgegap-gateway -- --emulator\n\
             \x20   PLAYER_TOKEN=<printed> cargo run --example lobby_client -- \\\n\
             \x20       --gateway http://127.0.0.1:8080 --app my-game --version 1.0.0\n\n\
             With an Edgegap account, export your own EDGEGAP_TOKEN (and leave \
             EDGEGAP_BASE_URL unset)."
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "deploying `{}` `{}` on {}",
        args.app,
        args.version,
        config.base_url()
    );

    let exit = App::new()
        .add_plugins((
            MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(10))),
            // Ctrl-C becomes an `AppExit`, so `StopOnExit` stops the deployment.
            TerminalCtrlCHandlerPlugin,
            EdgegapClientPlugin::new(config),
        ))
        .insert_resource(Match {
            request: args.request(),
            hold: args.hold,
            deployment: None,
            hold_until: None,
            enter: spawn_enter_listener(),
        })
        .add_systems(Startup, deploy)
        .add_systems(Update, (print_connect_address, stop_when_done))
        .run();
    match exit {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(_) => ExitCode::FAILURE,
    }
}

/// The command line, parsed by hand.
struct Args {
    app: String,
    version: String,
    ip: Option<String>,
    geo: Option<(f64, f64)>,
    tags: Vec<String>,
    env: Vec<(String, String)>,
    hold: Duration,
    /// `--gateway`: an edgegap-gateway's URL.
    gateway: Option<String>,
    /// `--player-token`: the player's JWT for the gateway.
    player_token: Option<String>,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let (mut app, mut version, mut ip, mut lat, mut lon) = (None, None, None, None, None);
        let (mut tags, mut env, mut hold) = (Vec::new(), Vec::new(), Duration::from_secs(10));
        let (mut gateway, mut player_token) = (None, None);
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err("help".into());
            }
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--app" => app = Some(value()?),
                "--version" => version = Some(value()?),
                "--ip" => ip = Some(value()?),
                "--lat" => lat = Some(number(&flag, &value()?)?),
                "--lon" => lon = Some(number(&flag, &value()?)?),
                "--tag" => tags.push(value()?),
                "--env" => {
                    let pair = value()?;
                    let Some((key, val)) = pair.split_once('=').filter(|(k, _)| !k.is_empty())
                    else {
                        return Err(format!("--env wants KEY=VALUE, got `{pair}`"));
                    };
                    env.push((key.to_owned(), val.to_owned()));
                }
                "--hold" => hold = Duration::from_secs_f64(number(&flag, &value()?)?.max(0.0)),
                "--gateway" => gateway = Some(value()?),
                "--player-token" => player_token = Some(value()?),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        let geo = match (lat, lon) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            (None, None) => None,
            _ => return Err("--lat and --lon go together".into()),
        };
        if geo.is_some() && ip.is_some() {
            return Err("give --ip or --lat/--lon, not both".into());
        }
        Ok(Self {
            app: app.ok_or("--app is required")?,
            version: version.ok_or("--version is required")?,
            ip,
            geo,
            tags,
            env,
            hold,
            gateway,
            player_token,
        })
    }

    /// The deploy request. Bad values (an empty tag, a malformed IP) are caught by the
    /// crate's validation and arrive as a [`DeploymentFailed`].
    fn request(&self) -> DeployRequest {
        let mut request = DeployRequest::new(&self.app, &self.version);
        request = match (&self.ip, self.geo) {
            (_, Some((lat, lon))) => request.user_geo(lat, lon),
            (Some(ip), None) => request.user_ip(ip),
            // Through a gateway, `users` is the caller's address.
            (None, None) if self.gateway.is_some() => request,
            (None, None) => request.user_ip("203.0.113.7"),
        };
        for tag in &self.tags {
            request = request.tag(tag);
        }
        for (key, value) in &self.env {
            request = request.env(key, value);
        }
        request
    }
}

fn number(flag: &str, text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("{flag} wants a number, got `{text}`"))
}

/// This run's match.
#[derive(Resource)]
struct Match {
    request: DeployRequest,
    hold: Duration,
    /// The deployment entity.
    deployment: Option<Entity>,
    /// Set once READY.
    hold_until: Option<Instant>,
    /// A line from stdin (Enter).
    enter: Receiver<()>,
}

/// Deploys, and observes this one deployment's events on its entity.
fn deploy(mut edgegap: Edgegap, mut game: ResMut<Match>) {
    let entity = edgegap.deploy(game.request.clone());
    game.deployment = Some(entity);
    edgegap
        .commands()
        .entity(entity)
        .observe(|created: On<DeploymentCreated>| {
            println!("deployment `{}` created", created.request_id);
        })
        .observe(|changed: On<DeploymentStatusChanged>| {
            println!("  `{}` → `{}`", changed.from, changed.to);
        })
        .observe(on_failed)
        .observe(
            |gone: On<DeploymentTerminated>, mut exit: MessageWriter<AppExit>| {
                println!("deployment `{}` terminated", gone.request_id);
                exit.write(AppExit::Success);
            },
        );
}

/// A failed deployment ends the app with code 1. One that exists on Edgegap (in ERROR, or not
/// READY in time) is stopped by the orphan guard: [`StopOnExit`] stops, on `AppExit`, every
/// deployment this app created that it has not seen terminated (Edgegap itself deletes errored
/// deployments only "after some time").
fn on_failed(failed: On<DeploymentFailed>, mut exit: MessageWriter<AppExit>) {
    eprintln!("deployment failed: {}", failed.reason);
    exit.write(AppExit::from_code(1));
}

/// Reads every READY deployment as a message and prints where players connect.
fn print_connect_address(mut ready: MessageReader<DeploymentReady>, mut game: ResMut<Match>) {
    for ready in ready.read() {
        match ready.address(GAME_PORT) {
            Some(address) => println!("READY: players connect to {address} (`{GAME_PORT}`)"),
            None => println!("READY, but the app version has no port named `{GAME_PORT}`"),
        }
        for (name, port) in &ready.status.ports {
            let show = |port: Option<u16>| port.map_or("?".to_owned(), |p| p.to_string());
            println!(
                "  port `{name}`: internal `{}`, external `{}`, `{}`",
                show(port.internal),
                show(port.external),
                port.protocol.as_deref().unwrap_or("?")
            );
        }
        println!("holding it for {:?} (Enter stops now)", game.hold);
        game.hold_until = Some(Instant::now() + game.hold);
    }
}

/// Stops the deployment explicitly once the hold is over or Enter was pressed; the
/// [`DeploymentTerminated`] observer then ends the app.
fn stop_when_done(mut edgegap: Edgegap, mut game: ResMut<Match>) {
    let Some(until) = game.hold_until else {
        return;
    };
    let enter = matches!(game.enter.try_recv(), Ok(()));
    if Instant::now() < until && !enter {
        return;
    }
    game.hold_until = None;
    if let Some(entity) = game.deployment {
        println!("stopping the deployment");
        edgegap.stop_deployment(entity);
    }
}

/// A thread that sends `()` for each line on stdin. At end of input (stdin closed or not a
/// terminal) it sends nothing: the hold then runs its course.
fn spawn_enter_listener() -> Receiver<()> {
    let (send, receive) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() || send.try_send(()).is_err_and(|e| e.is_disconnected()) {
                break;
            }
        }
    });
    receive
}
