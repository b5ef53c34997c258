//! Every `Edgegap` method end to end against the emulator: a success and a documented error
//! each; bad configuration (a token that cannot be a header included); a token pasted with
//! its `token ` prefix; an id that is not one (`..`) is refused before anything is sent; the
//! token never shows in logs or `Debug`.

mod support;

use std::time::Duration;

use bevy::prelude::*;
use bevy_edgegap::api::*;
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, PrivateHost, Route};
use support::stub::{Answer, status_body, status_stub};
use support::{app, ask, config, quick};

const TOKEN: &str = "tok-7f3a9c1e5b";

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token(TOKEN)
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .private_host("my-fleet", PrivateHost::new("host-1"))
        .lifecycle_step(Duration::ZERO)
        .without_rate_limits()
        .start()
        .expect("the emulator starts")
}

fn deploy(app: &mut App) -> RequestId {
    let created = ask::<DeployRequest>(app, |eg| {
        eg.deploy(DeployRequest::new("game", "v1").user_ip("1.2.3.4"))
    })
    .expect("deploy succeeds");
    created.request_id
}

/// The emulator, a client of it, and one deployment that client made.
fn deployed() -> (EmulatorHandle, App, RequestId) {
    let emu = emulator();
    let mut app = app_for(&emu);
    let id = deploy(&mut app);
    (emu, app, id)
}

fn app_for(emu: &EmulatorHandle) -> App {
    support::logs::capture();
    app(config(emu))
}

#[test]
fn deploy_and_deploy_to_fleet() {
    let (emu, mut app, id) = deployed();
    assert!(emu.deployment(id.as_str()).is_some());
    let unknown = ask::<DeployRequest>(&mut app, |eg| {
        eg.deploy(DeployRequest::new("no-such-game", "v1").user_ip("1.2.3.4"))
    })
    .unwrap_err();
    assert!(
        matches!(unknown.status(), Some(400 | 404)),
        "unknown app: {unknown:?}"
    );
    let invalid = ask::<DeployRequest>(&mut app, |eg| eg.deploy(DeployRequest::new("game", "v1")))
        .unwrap_err();
    assert!(
        matches!(invalid, EdgegapError::Invalid { .. }),
        "no user: {invalid:?}"
    );

    let fleet = ask::<FleetDeployRequest>(&mut app, |eg| {
        eg.deploy_to_fleet(FleetDeployRequest::new(
            DeployRequest::new("game", "v1").user_ip("1.2.3.4"),
            ["host-1"],
        ))
    })
    .expect("fleet deploy succeeds");
    assert!(emu.deployment(fleet.request_id.as_str()).is_some());
    assert_eq!(emu.request_count(Route::FleetDeploy), 1);
    let fleet_error = ask::<FleetDeployRequest>(&mut app, |eg| {
        eg.deploy_to_fleet(FleetDeployRequest::new(
            DeployRequest::new("no-such-game", "v1").user_ip("1.2.3.4"),
            ["host-1"],
        ))
    })
    .unwrap_err();
    assert!(
        matches!(fleet_error.status(), Some(400 | 404)),
        "{fleet_error:?}"
    );
}

#[test]
fn status_and_stop() {
    let (emu, mut app, id) = deployed();
    let status_id = id.clone();
    let status = ask::<GetStatus>(&mut app, move |eg| eg.status(status_id)).unwrap();
    assert_eq!(status.request_id, id);
    let missing = ask::<GetStatus>(&mut app, |eg| eg.status("0123456789ab")).unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");

    let stop_id = id.clone();
    let stopped = ask::<StopDeployment>(&mut app, move |eg| eg.stop(stop_id)).unwrap();
    assert!(matches!(stopped.http_status, 200 | 202));
    assert!(emu.wait_for_status(id.as_str(), "Status.TERMINATED", Duration::from_secs(5)));
    let again_id = id.clone();
    let gone = ask::<StopDeployment>(&mut app, move |eg| eg.stop(again_id)).unwrap_err();
    assert!(gone.is_already_terminated(), "{gone:?}");
}

#[test]
fn bulk_stop_and_list_deployments() {
    let (emu, mut app, id) = deployed();
    let list =
        ask::<ListDeployments>(&mut app, |eg| eg.list_deployments(ListDeployments::new())).unwrap();
    assert!(list.data.iter().any(|d| d.request_id == id), "{list:?}");
    let bad_page = ask::<ListDeployments>(&mut app, |eg| {
        eg.list_deployments(ListDeployments::new().page(0))
    })
    .unwrap_err();
    assert!(
        matches!(bad_page, EdgegapError::Invalid { .. }) || bad_page.status() == Some(400),
        "{bad_page:?}"
    );

    let stop_id = id.clone();
    let stopped = ask::<BulkStop>(&mut app, move |eg| {
        eg.bulk_stop(BulkStop::new().request_ids(FilterType::Any, [stop_id.as_str()]))
    })
    .unwrap();
    assert!(stopped.processable.iter().any(|d| d.request_id == id));
    assert!(emu.wait_for_status(id.as_str(), "Status.TERMINATED", Duration::from_secs(5)));
    let empty = ask::<BulkStop>(&mut app, |eg| eg.bulk_stop(BulkStop::new())).unwrap_err();
    assert!(matches!(empty, EdgegapError::Invalid { .. }), "{empty:?}");
    assert_eq!(
        emu.request_count(Route::BulkStop),
        1,
        "an invalid call is never sent"
    );
}

#[test]
fn locations_logs_metrics_and_fleet_hosts() {
    let (_emu, mut app, id) = deployed();

    let locations =
        ask::<ListLocations>(&mut app, |eg| eg.locations(ListLocations::new())).unwrap();
    assert!(!locations.locations.is_empty());
    let bad_app = ask::<ListLocations>(&mut app, |eg| {
        eg.locations(ListLocations::new().app("no-such-game"))
    })
    .unwrap_err();
    assert_eq!(bad_app.status(), Some(400), "{bad_app:?}");

    let logs_id = id.clone();
    ask::<GetContainerLogs>(&mut app, move |eg| eg.container_logs(logs_id)).unwrap();
    let no_logs =
        ask::<GetContainerLogs>(&mut app, |eg| eg.container_logs("0123456789ab")).unwrap_err();
    assert!(no_logs.is_not_found(), "{no_logs:?}");

    let metrics_id = id.clone();
    ask::<GetMetrics>(&mut app, move |eg| eg.metrics(metrics_id)).unwrap();
    let no_metrics = ask::<GetMetrics>(&mut app, |eg| eg.metrics("0123456789ab")).unwrap_err();
    assert!(no_metrics.is_not_found(), "{no_metrics:?}");

    let hosts = ask::<ListFleetHosts>(&mut app, |eg| eg.fleet_hosts("my-fleet")).unwrap();
    assert!(
        hosts.data.iter().any(|h| h.host_id == "host-1"),
        "{hosts:?}"
    );
    let no_fleet =
        ask::<ListFleetHosts>(&mut app, |eg| eg.fleet_hosts("no-such-fleet")).unwrap_err();
    assert!(no_fleet.is_not_found(), "{no_fleet:?}");
}

#[test]
fn tags() {
    let (emu, mut app, id) = deployed();

    let i = id.clone();
    let created = ask::<CreateTag>(&mut app, move |eg| eg.create_tag(i, "blue")).unwrap();
    assert_eq!(created.name, "blue");
    let i = id.clone();
    let duplicate = ask::<CreateTag>(&mut app, move |eg| eg.create_tag(i, "blue")).unwrap_err();
    assert_eq!(duplicate.status(), Some(409), "{duplicate:?}");

    let i = id.clone();
    assert_eq!(
        ask::<GetTag>(&mut app, move |eg| eg.get_tag(i, "blue"))
            .unwrap()
            .name,
        "blue"
    );
    let i = id.clone();
    let missing = ask::<GetTag>(&mut app, move |eg| eg.get_tag(i, "nope")).unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");

    let i = id.clone();
    let renamed = ask::<UpdateTag>(&mut app, move |eg| eg.update_tag(i, "blue", "green")).unwrap();
    assert_eq!(renamed.name, "green");
    let i = id.clone();
    let rename_missing =
        ask::<UpdateTag>(&mut app, move |eg| eg.update_tag(i, "blue", "red")).unwrap_err();
    assert!(rename_missing.is_not_found(), "{rename_missing:?}");

    let i = id.clone();
    let tags = ask::<ListTags>(&mut app, move |eg| eg.list_tags(i)).unwrap();
    assert!(tags.tags.iter().any(|t| t.name == "green"), "{tags:?}");
    let no_tags = ask::<ListTags>(&mut app, |eg| eg.list_tags("0123456789ab")).unwrap_err();
    assert!(no_tags.is_not_found(), "{no_tags:?}");

    let i = id.clone();
    ask::<DeleteTag>(&mut app, move |eg| eg.delete_tag(i, "green")).unwrap();
    let i = id.clone();
    let deleted_again =
        ask::<DeleteTag>(&mut app, move |eg| eg.delete_tag(i, "green")).unwrap_err();
    assert!(deleted_again.is_not_found(), "{deleted_again:?}");
    // Only the client's own correlation and instance tags are left.
    let left = emu.deployment(id.as_str()).unwrap().tags;
    assert!(
        left.iter()
            .all(|t| t.starts_with("bx-") || t.starts_with("bi-")),
        "{left:?}"
    );
}

#[test]
fn bad_config_is_a_config_error_on_the_first_call_without_panic() {
    support::logs::capture();
    let mut no_token = app(EdgegapConfig::new("http://127.0.0.1:9", ""));
    let error = ask::<GetStatus>(&mut no_token, |eg| eg.status("0123456789ab")).unwrap_err();
    assert!(matches!(error, EdgegapError::Config(_)), "{error:?}");

    let mut bad_url = app(EdgegapConfig::new("not a url", TOKEN));
    let error = ask::<DeployRequest>(&mut bad_url, |eg| {
        eg.deploy(DeployRequest::new("game", "v1").user_ip("1.2.3.4"))
    })
    .unwrap_err();
    assert!(matches!(error, EdgegapError::Config(_)), "{error:?}");
    assert!(!error.to_string().contains(TOKEN));

    let mut from_env = App::new();
    // SAFETY-free: only this test reads these variables.
    from_env
        .add_plugins(MinimalPlugins)
        .add_plugins(EdgegapClientPlugin::new(
            EdgegapConfig::from_env().with_token(""),
        ));
    let error = ask::<GetStatus>(&mut from_env, |eg| eg.status("0123456789ab")).unwrap_err();
    assert!(matches!(error, EdgegapError::Config(_)), "{error:?}");
}

#[test]
fn the_token_never_shows_in_logs_or_debug() {
    let emu = emulator();
    let mut app = app_for(&emu);
    let config = app.world().resource::<EdgegapConfig>().clone();
    assert!(!format!("{config:?}").contains(TOKEN));
    let id = deploy(&mut app);
    let i = id.clone();
    let _ = ask::<StopDeployment>(&mut app, move |eg| eg.stop(i));
    let _ = ask::<GetStatus>(&mut app, |eg| eg.status("0123456789ab"));
    let stats = app.world().resource::<EdgegapStats>().clone();
    assert!(!format!("{stats:?}").contains(TOKEN));
    let text = support::logs::text();
    assert!(
        text.contains("bevy_edgegap"),
        "the crate logged nothing at trace level: {text}"
    );
    assert!(!text.contains(TOKEN), "the token leaked into the logs");
}

#[test]
fn a_token_that_cannot_be_a_header_is_a_config_error_that_hides_it() {
    let config = EdgegapConfig::new("http://127.0.0.1:9", "s3cret\r\nX-Evil: 1");
    let error = config.validate().unwrap_err();
    assert!(matches!(error, EdgegapError::Config(_)), "{error:?}");
    assert!(!error.to_string().contains("s3cret"));
}

#[test]
fn a_key_with_the_token_prefix_is_not_prefixed_twice() {
    let stub = status_stub(|| Answer::json(200, status_body("abc", "READY")));
    let mut app = app(quick(EdgegapConfig::new(
        stub.base_url.clone(),
        "token abc123",
    )));
    let _ = ask::<GetStatus>(&mut app, |e| e.status("abc"));
    assert_eq!(stub.seen()[0].header("authorization"), Some("token abc123"));
}

#[test]
fn dot_dot_is_not_a_request_id() {
    let stub = status_stub(|| Answer::json(200, "{}"));
    let mut app = app(quick(EdgegapConfig::new(stub.base_url.clone(), "t")));
    for bad in ["..", ".", "a/b"] {
        let result = ask::<GetStatus>(&mut app, move |e| e.status(bad));
        assert!(
            matches!(result, Err(EdgegapError::Invalid { .. })),
            "{bad:?}: {result:?}"
        );
    }
    assert!(stub.seen().is_empty(), "nothing was sent");
}
