//! Self-stop against the emulator: once per app, retried on 503/429, 410 counts as done, a
//! wrong token fails clearly.

mod support;

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::api::{EdgegapError, Endpoint, Secret, StopDeployment};
use bevy_edgegap::http::send;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{EmulatorHandle, Fault, FaultKind, Route};
use futures_lite::future::block_on;
use support::run_until;

#[derive(States, Debug, Clone, PartialEq, Eq, Hash, Default)]
enum MatchState {
    #[default]
    Playing,
    Finished,
}

fn env_of(emu: &EmulatorHandle, id: &str) -> ArbitriumEnv {
    ArbitriumEnv::from_vars(emu.deployment(id).expect("deployment known").env)
        .expect("the injected environment has a request id")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 10,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_elapsed: Some(Duration::from_secs(10)),
        ..RetryPolicy::default()
    }
}

fn server(env: ArbitriumEnv, retry: RetryPolicy) -> App {
    server_with(env, retry, EdgegapServerPlugin::new())
}

fn server_with(env: ArbitriumEnv, retry: RetryPolicy, plugin: EdgegapServerPlugin) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .init_state::<MatchState>()
        .insert_resource(env)
        .add_plugins(
            plugin
                .with_signals(false)
                .with_self_stop_retry(retry)
                .self_stop_on_enter(MatchState::Finished),
        );
    app.finish();
    app.update();
    app
}

fn finish(app: &mut App) {
    app.world_mut()
        .resource_mut::<NextState<MatchState>>()
        .set(MatchState::Finished);
}

enum Outcome {
    Completed(Box<SelfStopCompleted>),
    Failed(SelfStopFailed),
}

/// Updates until a self-stop result arrives.
fn outcome(app: &mut App) -> Outcome {
    let mut outcome = None;
    run_until(
        app,
        "a self-stop result",
        Duration::from_secs(15),
        |world| {
            if let Some(done) = world
                .resource_mut::<Messages<SelfStopCompleted>>()
                .drain()
                .next()
            {
                outcome = Some(Outcome::Completed(Box::new(done)));
            } else if let Some(failed) = world
                .resource_mut::<Messages<SelfStopFailed>>()
                .drain()
                .next()
            {
                outcome = Some(Outcome::Failed(failed));
            }
            outcome.is_some()
        },
    );
    outcome.expect("run_until returns once a result arrived")
}

fn completed(app: &mut App) -> SelfStopCompleted {
    match outcome(app) {
        Outcome::Completed(done) => *done,
        Outcome::Failed(failed) => panic!("self-stop failed: {:?}", failed.error),
    }
}

/// Frames for 300 ms, longer than [`fast_retry`]'s largest backoff: nothing else may arrive
/// or be sent (a check that something does not happen; see `support::run_for`). Returns the
/// results that arrived.
fn settle(app: &mut App) -> usize {
    let mut results = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        app.update();
        let world = app.world_mut();
        results += world
            .resource_mut::<Messages<SelfStopCompleted>>()
            .drain()
            .count();
        results += world
            .resource_mut::<Messages<SelfStopFailed>>()
            .drain()
            .count();
        std::thread::sleep(Duration::from_millis(2));
    }
    results
}

/// How many `SelfStopCompleted` observers saw.
#[derive(Resource, Default)]
struct Observed(usize);

#[test]
fn entering_the_finished_state_stops_the_deployment_once() {
    let (emu, id) = support::ready_deployment();
    let mut app = server(env_of(&emu, &id), fast_retry());
    app.init_resource::<Observed>().add_observer(
        |done: On<SelfStopCompleted>, mut seen: ResMut<Observed>| {
            assert!(!done.already_terminated);
            seen.0 += 1;
        },
    );
    assert_eq!(emu.request_count(Route::SelfStop), 0);
    finish(&mut app);
    let done = completed(&mut app);
    assert!(!done.already_terminated);
    assert_eq!(done.attempts, 1);
    assert!(matches!(
        done.response.map(|r| r.http_status),
        Some(200 | 202)
    ));
    support::assert_self_stopped(&emu, &id);
    assert_eq!(settle(&mut app), 0);
    assert_eq!(
        app.world().resource::<Observed>().0,
        1,
        "observers saw it once"
    );
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}

#[test]
fn requests_made_while_running_or_after_success_send_nothing_more() {
    let (emu, id) = support::ready_deployment();
    let mut app = server(env_of(&emu, &id), fast_retry());
    app.world_mut().write_message(SelfStop);
    app.world_mut().write_message(SelfStop);
    app.update();
    app.world_mut().write_message(SelfStop);
    finish(&mut app);
    completed(&mut app);
    app.world_mut().write_message(SelfStop);
    assert_eq!(settle(&mut app), 0, "a second result arrived");
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}

#[test]
fn three_503s_are_retried_until_success() {
    let (emu, id) = support::ready_deployment();
    emu.add_fault(Fault::new(Route::SelfStop, FaultKind::Status(503)).times(3));
    let mut app = server(env_of(&emu, &id), fast_retry());
    finish(&mut app);
    let done = completed(&mut app);
    assert_eq!(done.attempts, 4);
    assert_eq!(emu.faults_injected(Route::SelfStop), 3);
    assert_eq!(emu.request_count(Route::SelfStop), 4);
    assert!(emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)));
}

#[test]
fn a_429_is_retried_after_retry_after() {
    let (emu, id) = support::ready_deployment();
    emu.add_fault(
        Fault::new(
            Route::SelfStop,
            FaultKind::RateLimited {
                retry_after: Duration::from_secs(1),
            },
        )
        .times(1),
    );
    let mut app = server(env_of(&emu, &id), fast_retry());
    finish(&mut app);
    let done = completed(&mut app);
    assert_eq!(done.attempts, 2);
    assert_eq!(emu.request_count(Route::SelfStop), 2);
}

#[test]
fn retries_stop_after_the_configured_time() {
    let (emu, id) = support::ready_deployment();
    emu.add_fault(Fault::new(Route::SelfStop, FaultKind::Status(503)));
    let retry = RetryPolicy {
        max_elapsed: Some(Duration::from_millis(300)),
        ..fast_retry()
    };
    let mut app = server(env_of(&emu, &id), retry);
    finish(&mut app);
    let Outcome::Failed(failed) = outcome(&mut app) else {
        panic!("a self-stop that only got 503s completed");
    };
    assert_eq!(failed.error.status(), Some(503));
    assert!(failed.attempts >= 2, "503 was not retried");
    assert_eq!(emu.request_count(Route::SelfStop), failed.attempts as usize);
    assert_eq!(emu.deployment(&id).unwrap().status, "Status.READY");
}

#[test]
fn an_already_terminated_deployment_counts_as_stopped() {
    let (emu, id) = support::ready_deployment();
    let stop = StopDeployment::new(id.as_str())
        .to_request(&emu.base_url(), &Secret::new(emu.token()))
        .unwrap();
    block_on(send(stop)).unwrap();
    assert!(emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)));
    let mut app = server(env_of(&emu, &id), fast_retry());
    finish(&mut app);
    let done = completed(&mut app);
    assert!(
        done.already_terminated,
        "410 should read as already stopped"
    );
    assert_eq!(done.attempts, 1);
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}

#[test]
fn a_wrong_token_fails_clearly_without_retrying() {
    let (emu, id) = support::ready_deployment();
    let mut vars = emu.deployment(&id).unwrap().env;
    let wrong = "00000000000000000000000000000000";
    vars.insert("ARBITRIUM_DELETE_TOKEN".into(), wrong.into());
    let mut app = server(ArbitriumEnv::from_vars(vars).unwrap(), fast_retry());
    finish(&mut app);
    let Outcome::Failed(failed) = outcome(&mut app) else {
        panic!("a wrong token self-stopped the deployment");
    };
    let status = failed.error.status();
    assert!(
        matches!(status, Some(401 | 403)),
        "expected an auth error, got {:?}",
        failed.error
    );
    assert_eq!(failed.attempts, 1);
    let shown = failed.error.to_string();
    assert!(shown.contains(&status.unwrap().to_string()), "{shown}");
    assert!(!shown.contains(wrong) && !format!("{:?}", failed.error).contains(wrong));
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    assert_eq!(emu.deployment(&id).unwrap().status, "Status.READY");
}

#[test]
fn a_missing_delete_url_fails_without_sending() {
    let (emu, id) = support::ready_deployment();
    let mut vars = emu.deployment(&id).unwrap().env;
    vars.remove("ARBITRIUM_DELETE_URL");
    let mut app = server(ArbitriumEnv::from_vars(vars).unwrap(), fast_retry());
    finish(&mut app);
    let Outcome::Failed(failed) = outcome(&mut app) else {
        panic!("self-stop without a delete URL completed");
    };
    assert_eq!(failed.attempts, 0);
    assert!(!failed.error.may_have_been_sent());
    assert!(
        matches!(&failed.error, EdgegapError::Invalid { field, .. } if field == "ARBITRIUM_DELETE_URL"),
        "{:?}",
        failed.error
    );
    assert_eq!(emu.request_count(Route::SelfStop), 0);
}

#[test]
fn a_delete_url_that_is_not_http_fails_naming_the_variable_and_why() {
    let (emu, id) = support::ready_deployment();
    let mut vars = emu.deployment(&id).unwrap().env;
    vars.insert(
        "ARBITRIUM_DELETE_URL".into(),
        "api.edgegap.com/v1/self/stop/x/1".into(),
    );
    let mut app = server(ArbitriumEnv::from_vars(vars).unwrap(), fast_retry());
    finish(&mut app);
    let Outcome::Failed(failed) = outcome(&mut app) else {
        panic!("self-stop through a non-http URL completed");
    };
    match &failed.error {
        EdgegapError::Invalid { field, reason, .. } => {
            assert_eq!(field, "ARBITRIUM_DELETE_URL");
            assert!(reason.contains("http"), "{reason}");
        }
        other => panic!("expected the injected-variable error, got {other:?}"),
    }
    assert_eq!(emu.request_count(Route::SelfStop), 0);
}

#[test]
fn the_frame_that_asks_sends_the_self_stop() {
    let (emu, id) = support::ready_deployment();
    let mut app = server(env_of(&emu, &id), fast_retry());
    support::one_frame_sends(&mut app, SelfStop, &emu, Route::SelfStop);
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}

#[test]
fn an_attempt_without_an_answer_times_out_and_is_retried() {
    let (emu, id) = support::ready_deployment();
    emu.add_fault(Fault::new(Route::SelfStop, FaultKind::Hang(Duration::from_secs(3))).times(1));
    let plugin = EdgegapServerPlugin::new().with_attempt_timeout(Duration::from_millis(300));
    let mut app = server_with(env_of(&emu, &id), fast_retry(), plugin);
    finish(&mut app);
    let done = completed(&mut app);
    assert_eq!(done.attempts, 2, "the hung attempt was not retried");
    assert_eq!(emu.faults_injected(Route::SelfStop), 1);
    assert!(emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)));
}

#[test]
fn a_policy_self_stops_once_with_its_reason_on_frame_time() {
    use bevy::time::TimeUpdateStrategy;

    let (emu, id) = support::ready_deployment();
    let plugin = EdgegapServerPlugin::new().stop_if_no_player_within(Duration::from_secs(10));
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .init_state::<MatchState>()
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs(1)))
        .insert_resource(env_of(&emu, &id))
        .add_plugins(
            plugin
                .with_signals(false)
                .with_self_stop_retry(fast_retry())
                .self_stop_on_enter(MatchState::Finished),
        );
    app.finish();
    // One simulated second a frame: nothing before the tenth.
    for _ in 0..9 {
        app.update();
    }
    assert_eq!(emu.request_count(Route::SelfStop), 0);
    let done = completed(&mut app);
    assert_eq!(
        done.reason,
        SelfStopReason::NoPlayerWithin(Duration::from_secs(10))
    );
    assert!(!done.sigterm_first);
    // A state and a message asking again afterwards send nothing more.
    finish(&mut app);
    app.world_mut().write_message(SelfStop);
    assert_eq!(settle(&mut app), 0);
    assert_eq!(emu.request_count(Route::SelfStop), 1);
    support::assert_self_stopped(&emu, &id);
}

#[test]
fn the_first_reason_is_the_one_reported() {
    let (emu, id) = support::ready_deployment();
    let mut app = server(env_of(&emu, &id), fast_retry());
    finish(&mut app);
    app.update();
    app.world_mut().write_message(SelfStop);
    let done = completed(&mut app);
    assert_eq!(done.reason, SelfStopReason::StateEntered("Finished".into()));
    assert_eq!(emu.request_count(Route::SelfStop), 1);
}
