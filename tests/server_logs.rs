//! No token ever reaches a log line, at any level: every event and span of a whole server run
//! (env parsing with warnings, self-stop with retries and a refusal, context calls, shutdown)
//! is captured through `LogPlugin::custom_layer` at `trace`, then searched for both tokens.
//! Also: a local run (no `ARBITRIUM_*`) logs that once, at `info`.
//!
//! One test in this file: the log subscriber is global to the process.

mod support;

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bevy::ecs::message::Message;
use bevy::log::tracing::field::{Field, Visit};
use bevy::log::tracing::span::Attributes;
use bevy::log::tracing::{Event, Id, Subscriber};
use bevy::log::tracing_subscriber::layer::{Context, Layer};
use bevy::log::{BoxedLayer, Level, LogPlugin};
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, Fault, FaultKind, Route};
use support::next_message;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields(format!("{} {}", meta.level(), meta.target()));
        event.record(&mut fields);
        LINES.lock().unwrap().push(fields.0);
    }
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut fields = Fields(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut fields);
        LINES.lock().unwrap().push(fields.0);
    }
}

fn capture_layer(_app: &mut App) -> Option<BoxedLayer> {
    Some(Box::new(Capture))
}

#[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
enum MatchState {
    #[default]
    Playing,
    Finished,
}

fn wait_for<M: Message>(app: &mut App) -> M {
    next_message(app, Duration::from_secs(15))
}

#[test]
fn no_token_appears_in_any_log_line() {
    let emu = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .unwrap();
    let refused = support::deploy_ready(&emu, support::game_v1());
    let stopped = support::deploy_ready(&emu, support::game_v1());

    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        StatesPlugin,
        LogPlugin {
            level: Level::TRACE,
            filter: "trace".into(),
            custom_layer: capture_layer,
            ..LogPlugin::default()
        },
    ));

    // A refused self-stop (wrong token) and a malformed variable next to the real tokens.
    let mut vars = emu.deployment(&refused).unwrap().env;
    let refused_tokens = [
        vars["ARBITRIUM_DELETE_TOKEN"].clone(),
        vars["ARBITRIUM_CONTEXT_TOKEN"].clone(),
    ];
    vars.insert(
        "ARBITRIUM_DELETE_TOKEN".into(),
        "wrong-token-value-0123".into(),
    );
    vars.insert("ARBITRIUM_PORTS_MAPPING".into(), "{broken".into());
    let env = ArbitriumEnv::from_vars(vars).unwrap();
    info!("refused env: {env:?}");
    let mut refused_app = App::new();
    refused_app
        .add_plugins(MinimalPlugins)
        .insert_resource(env)
        .add_plugins(EdgegapServerPlugin::new().with_signals(false));
    refused_app.finish();
    refused_app.world_mut().write_message(SelfStop);
    let failed: SelfStopFailed = wait_for(&mut refused_app);
    error!("refused: {:?} / {}", failed.error, failed.error);

    // A full run: context read, tag added and removed, self-stop after a 503, shutdown.
    let vars = emu.deployment(&stopped).unwrap().env;
    let tokens = [
        vars["ARBITRIUM_DELETE_TOKEN"].clone(),
        vars["ARBITRIUM_CONTEXT_TOKEN"].clone(),
    ];
    // The secret parts of the injected URLs: `…/self/stop/<id>/<stop key>`,
    // `…/context/<id>/<security number>`.
    let secret_paths = [
        secret_path(&vars["ARBITRIUM_DELETE_URL"]),
        secret_path(&vars["ARBITRIUM_CONTEXT_URL"]),
    ];
    let env = ArbitriumEnv::from_vars(vars).unwrap();
    info!("env: {env:?}");
    emu.add_fault(Fault::new(Route::SelfStop, FaultKind::Status(503)).times(1));
    app.init_state::<MatchState>()
        .insert_resource(env)
        .add_plugins(
            EdgegapServerPlugin::new()
                .with_signals(false)
                .with_self_stop_retry(RetryPolicy {
                    initial_backoff: Duration::from_millis(20),
                    ..RetryPolicy::default()
                })
                .self_stop_on_enter(MatchState::Finished),
        );
    app.finish();
    app.update();
    app.world_mut().write_message(ReadContext);
    let read: ContextRead = wait_for(&mut app);
    debug!("context: {:?}", read.result);
    app.world_mut().write_message(AddContextTag::new("full"));
    let _: ContextTagAdded = wait_for(&mut app);
    app.world_mut().write_message(RemoveContextTag::new("full"));
    let _: ContextTagRemoved = wait_for(&mut app);
    app.world_mut()
        .resource_mut::<NextState<MatchState>>()
        .set(MatchState::Finished);
    let done: SelfStopCompleted = wait_for(&mut app);
    assert_eq!(done.attempts, 2);
    app.world_mut().write_message(ShutdownRequested {
        grace: Duration::ZERO,
        reason: ShutdownReason::Requested,
    });
    let bound = Instant::now() + Duration::from_secs(5);
    while app.should_exit().is_none() {
        assert!(Instant::now() < bound, "no exit after the grace window");
        app.update();
    }
    assert!(emu.wait_for_status(&stopped, "Status.TERMINATED", Duration::from_secs(10)));

    // A local run: one info line says so, and a self-stop is a logged no-op.
    let mut local = App::new();
    local
        .add_plugins(MinimalPlugins)
        .add_plugins(EdgegapServerPlugin::new().with_signals(false));
    local.finish();
    for _ in 0..3 {
        local.update();
    }
    local.world_mut().write_message(SelfStop);
    local.update();

    let lines = LINES.lock().unwrap().clone();
    let local_lines = lines
        .iter()
        .filter(|l| l.contains("not running on edgegap (no `ARBITRIUM_REQUEST_ID`)"))
        .count();
    assert_eq!(local_lines, 1, "a local run should say so exactly once");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("INFO")
                && l.contains("self-stop (requested by the game) skipped")),
        "a local self-stop should be an info no-op"
    );
    // The capture works: lines from every part of the run are there, at every level.
    for needle in [
        "`ARBITRIUM_PORTS_MAPPING`",
        "self-stop (requested by the game) failed",
        "attempt `1` failed",
        "self-stop accepted",
        "shutdown requested",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "no log line mentions `{needle}`: the capture missed it"
        );
    }
    for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] {
        assert!(
            lines.iter().any(|l| l.starts_with(level)),
            "no `{level}` line captured"
        );
    }
    for token in tokens
        .iter()
        .chain(&refused_tokens)
        .map(String::as_str)
        .chain(["wrong-token-value-0123"])
    {
        assert!(
            token.len() >= 16,
            "a token that short would match by chance"
        );
        if let Some(line) = lines.iter().find(|l| l.contains(token)) {
            panic!("a token appears in a log line: {line}");
        }
    }
    // This crate's lines only: the HTTP library's own `debug` lines name the URLs it fetches.
    let leaks: Vec<_> = lines
        .iter()
        .filter(|l| {
            l.split(' ')
                .nth(1)
                .is_some_and(|t| t.starts_with("bevy_edgegap"))
        })
        .filter(|l| secret_paths.iter().any(|path| l.contains(path.as_str())))
        .collect();
    assert!(
        leaks.is_empty(),
        "the secret part of an injected URL appears in log lines: {leaks:#?}"
    );
}

/// `<id>/<secret>`: the last two segments of an injected URL.
fn secret_path(url: &str) -> String {
    let mut segments = url.rsplit('/');
    let secret = segments.next().unwrap();
    let id = segments.next().unwrap();
    format!("{id}/{secret}")
}
