//! The matchmaker client's refusals: attributes that do not match the profile (`400`), a
//! wrong token (`401`), attributes that are not an object (nothing sent), a token pasted
//! with `Bearer ` (sent raw: it works); and the token in no log line (at trace level), error
//! or `Debug` output.

mod support;

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{
    AppVersion, Emulator, EmulatorHandle, matchmaker_config, player_count_rule,
};
use serde_json::json;

const MM_TOKEN: &str = "mm-secret-7c1d9e0f";
const WRONG: &str = "mm-wrong-4b8a2c";

fn emulator() -> EmulatorHandle {
    let rules = json!({
        "match_size": player_count_rule(2, 1, 1),
        "elo": { "type": "number_difference", "attributes": { "max_difference": 50 } },
    });
    let config = matchmaker_config("ranked", ("game", "v1"), rules, json!({}));
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .matchmaker(config.to_string())
        .matchmaker_token(MM_TOKEN)
        .matchmaker_manual_clock()
        .start()
        .expect("the emulator starts")
}

fn app(emu: &EmulatorHandle, token: &str) -> App {
    support::logs::capture();
    let config = MatchmakerConfig::new(emu.matchmaker_url(), token)
        .with_poll_interval(Duration::from_millis(20));
    assert!(
        !format!("{config:?}").contains(token),
        "Debug shows the token"
    );
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(MatchmakerPlugin::new(config));
    app.finish();
    app
}

/// Starts one solo search with `attributes` and runs until it fails or searches.
fn search(app: &mut App, attributes: serde_json::Value) -> (Entity, Option<MatchmakingFailed>) {
    app.world_mut().insert_resource(Failed(None));
    let id = app
        .world_mut()
        .register_system(move |mut mm: Matchmaker, mut commands: Commands| {
            let entity = mm.find_match("ranked", attributes.clone());
            commands.entity(entity).observe(
                |failed: On<MatchmakingFailed>, mut out: ResMut<Failed>| {
                    out.0 = Some(failed.clone());
                },
            );
            entity
        });
    let entity = app.world_mut().run_system(id).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        app.update();
        let failed = app.world().resource::<Failed>().0.clone();
        if failed.is_some() || app.world().get::<Searching>(entity).is_some() {
            return (entity, failed);
        }
        assert!(Instant::now() < deadline, "neither failed nor searching");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[derive(Resource)]
struct Failed(Option<MatchmakingFailed>);

#[test]
fn refusals_are_typed_and_the_token_is_never_shown() {
    let emu = emulator();

    // Attributes that do not match the profile: 400, the entity ends unmatched.
    let mut good = app(&emu, MM_TOKEN);
    let (entity, failed) = search(&mut good, json!({ "mmr": 1000 }));
    let failed = failed.expect("a 400 fails the search");
    assert_eq!(failed.entity, entity);
    assert_eq!(failed.error.status(), Some(400), "{}", failed.error);
    assert!(good.world().get::<Unmatched>(entity).is_some());

    // Attributes that are not a JSON object: refused before sending.
    let (_, failed) = search(&mut good, json!(["not", "an", "object"]));
    assert!(matches!(
        failed.expect("refused").error,
        EdgegapError::Invalid { .. }
    ));

    // The right attributes: searching.
    let (entity, failed) = search(&mut good, json!({ "elo": 1000 }));
    assert!(failed.is_none(), "{failed:?}");
    assert!(
        good.world()
            .get::<Matchmaking>(entity)
            .unwrap()
            .ticket_id()
            .is_some()
    );

    // A token pasted with `Bearer `: sent raw, no 401.
    let mut pasted = app(&emu, &format!("Bearer {MM_TOKEN}"));
    let (_, failed) = search(&mut pasted, json!({ "elo": 1000 }));
    assert!(
        failed.is_none(),
        "a prefixed token was not sent raw: {failed:?}"
    );

    // A wrong token: 401, never shown.
    let mut wrong = app(&emu, WRONG);
    let (_, failed) = search(&mut wrong, json!({ "elo": 1000 }));
    let error = failed.expect("a 401 fails the search").error;
    assert_eq!(error.status(), Some(401));
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains(WRONG) && !shown.contains(MM_TOKEN),
        "{shown}"
    );

    // Nothing logged, at any level, shows either token.
    let logs = support::logs::text();
    assert!(logs.contains("groups"), "trace logs were captured: {logs}");
    assert!(!logs.contains(MM_TOKEN), "the token was logged");
    assert!(!logs.contains(WRONG), "the wrong token was logged");
}
