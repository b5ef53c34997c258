//! The server plugin's context messages against the emulator: `ReadContext`,
//! `AddContextTag`, `RemoveContextTag`, and what they answer when not on Edgegap.

mod support;

use std::time::Duration;

use bevy::ecs::message::Message;
use bevy::prelude::*;
use bevy_edgegap::api::EdgegapError;
use bevy_edgegap::prelude::*;
use edgegap_emulator::Route;
use support::next_message;

fn server(env: Option<ArbitriumEnv>) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    if let Some(env) = env {
        app.insert_resource(env);
    }
    app.add_plugins(EdgegapServerPlugin::new().with_signals(false));
    app.finish();
    app.update();
    app
}

/// Writes `request`, then updates until one `M` arrives.
fn ask<M: Message>(app: &mut App, request: impl Message) -> M {
    app.world_mut().write_message(request);
    next_message(app, Duration::from_secs(10))
}

/// Answers seen by observers: 1 per read, 10 per tag added, 100 per tag removed.
#[derive(Resource, Default)]
struct Observed(usize);

#[test]
fn the_server_reads_its_context_and_changes_its_tags() {
    let (emu, id) = support::ready_deployment();
    let env = ArbitriumEnv::from_vars(emu.deployment(&id).unwrap().env).unwrap();
    let mut app = server(Some(env));
    app.init_resource::<Observed>()
        .add_observer(|_: On<ContextRead>, mut seen: ResMut<Observed>| seen.0 += 1)
        .add_observer(|_: On<ContextTagAdded>, mut seen: ResMut<Observed>| seen.0 += 10)
        .add_observer(|_: On<ContextTagRemoved>, mut seen: ResMut<Observed>| seen.0 += 100);

    let read: ContextRead = ask(&mut app, ReadContext);
    assert_eq!(read.result.unwrap().request_id.as_str(), id);

    let added: ContextTagAdded = ask(&mut app, AddContextTag::new("full"));
    assert_eq!(added.name, "full");
    assert_eq!(added.result.unwrap().name, "full");
    assert!(
        emu.deployment(&id)
            .unwrap()
            .tags
            .contains(&"full".to_owned())
    );

    let removed: ContextTagRemoved = ask(&mut app, RemoveContextTag::new("full"));
    assert_eq!(removed.name, "full");
    removed.result.unwrap();
    assert!(
        !emu.deployment(&id)
            .unwrap()
            .tags
            .contains(&"full".to_owned())
    );
    assert_eq!(emu.request_count(Route::Context), 1);
    // Observers saw each answer once, too.
    assert_eq!(app.world().resource::<Observed>().0, 111);
}

#[test]
fn adding_an_existing_tag_reports_the_conflict() {
    let (emu, id) = support::ready_deployment();
    let env = ArbitriumEnv::from_vars(emu.deployment(&id).unwrap().env).unwrap();
    let mut app = server(Some(env));
    let first: ContextTagAdded = ask(&mut app, AddContextTag::new("dup"));
    first.result.unwrap();
    let second: ContextTagAdded = ask(&mut app, AddContextTag::new("dup"));
    assert_eq!(second.result.unwrap_err().status(), Some(409));
}

#[test]
fn not_on_edgegap_every_context_call_fails_without_sending() {
    let mut app = server(None);
    let read: ContextRead = ask(&mut app, ReadContext);
    assert_invalid(read.result, "ARBITRIUM_REQUEST_ID");
    let added: ContextTagAdded = ask(&mut app, AddContextTag::new("x"));
    assert_invalid(added.result, "ARBITRIUM_REQUEST_ID");
    let removed: ContextTagRemoved = ask(&mut app, RemoveContextTag::new("x"));
    assert_invalid(removed.result, "ARBITRIUM_REQUEST_ID");
}

/// The one error kind for a missing or invalid injected variable, naming it.
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, EdgegapError>, variable: &str) {
    match result {
        Err(EdgegapError::Invalid { field, .. }) => assert_eq!(field, variable),
        other => panic!("expected `{variable}` to be reported, got {other:?}"),
    }
}

#[test]
fn a_missing_context_variable_is_named_and_nothing_is_sent() {
    let (emu, id) = support::ready_deployment();
    let mut vars = emu.deployment(&id).unwrap().env;
    vars.remove("ARBITRIUM_CONTEXT_TOKEN");
    let mut app = server(ArbitriumEnv::from_vars(vars.clone()));
    let read: ContextRead = ask(&mut app, ReadContext);
    assert_invalid(read.result, "ARBITRIUM_CONTEXT_TOKEN");
    vars.insert("ARBITRIUM_CONTEXT_URL".into(), "not a url".into());
    let mut app = server(ArbitriumEnv::from_vars(vars));
    let added: ContextTagAdded = ask(&mut app, AddContextTag::new("x"));
    assert_invalid(added.result, "ARBITRIUM_CONTEXT_URL");
    assert_eq!(emu.request_count(Route::Context), 0);
    assert_eq!(emu.request_count(Route::ContextCreateTag), 0);
}

#[test]
fn the_frame_that_asks_sends_the_context_read() {
    let (emu, id) = support::ready_deployment();
    let env = ArbitriumEnv::from_vars(emu.deployment(&id).unwrap().env).unwrap();
    let mut app = server(Some(env));
    support::one_frame_sends(&mut app, ReadContext, &emu, Route::Context);
}
