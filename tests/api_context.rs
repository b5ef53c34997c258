//! The engine-free context endpoints against the emulator: read the deployment's context with
//! the injected URL and raw token, add and remove its own tags.

mod support;

use bevy_edgegap::api::{CreateContextTag, DeleteContextTag, Endpoint, GetContext, Secret, Status};
use bevy_edgegap::http::send;
use edgegap_emulator::{EmulatorHandle, Route};
use futures_lite::future::block_on;

/// Sends `endpoint` (injected URL and token; no API token).
fn call<E: Endpoint>(endpoint: &E) -> Result<E::Output, bevy_edgegap::api::EdgegapError> {
    let request = endpoint.to_request("", &Secret::default())?;
    endpoint.decode(&block_on(send(request))?)
}

fn injected(emu: &EmulatorHandle, id: &str) -> (String, String) {
    let env = emu.deployment(id).unwrap().env;
    (
        env["ARBITRIUM_CONTEXT_URL"].clone(),
        env["ARBITRIUM_CONTEXT_TOKEN"].clone(),
    )
}

#[test]
fn the_context_describes_the_deployment() {
    let emu = support::simulated_emulator();
    let id = support::deploy_ready(&emu, support::game_v1().tag("start"));
    let (url, token) = injected(&emu, &id);
    let context = call(&GetContext::new(url, token)).expect("context read");
    assert_eq!(context.request_id.as_str(), id);
    assert_eq!(context.status, Status::Ready);
    assert!(context.ready);
    assert_eq!(context.public_ip.as_deref(), Some("127.0.0.1"));
    let port = context.port("gameport").expect("gameport in the context");
    assert!(port.external.is_some() && port.internal.is_some());
    assert!(
        context.tags.iter().any(|t| t == "start"),
        "{:?}",
        context.tags
    );
    assert_eq!(emu.request_count(Route::Context), 1);
}

#[test]
fn tags_added_and_removed_show_in_the_context() {
    let emu = support::simulated_emulator();
    let id = support::deploy_ready(&emu, support::game_v1().tag("start"));
    let (url, token) = injected(&emu, &id);
    let tag = call(&CreateContextTag::new(&url, token.as_str(), "full")).expect("tag added");
    assert_eq!(tag.name, "full");
    let tags = call(&GetContext::new(&url, token.as_str())).unwrap().tags;
    assert!(tags.iter().any(|t| t == "full"), "{tags:?}");
    assert!(
        emu.deployment(&id)
            .unwrap()
            .tags
            .contains(&"full".to_owned())
    );

    call(&DeleteContextTag::new(&url, token.as_str(), "full")).expect("tag removed");
    let tags = call(&GetContext::new(&url, token.as_str())).unwrap().tags;
    assert!(!tags.iter().any(|t| t == "full"), "{tags:?}");
    assert_eq!(emu.request_count(Route::ContextCreateTag), 1);
    assert_eq!(emu.request_count(Route::ContextDeleteTag), 1);
}

#[test]
fn a_wrong_context_token_is_refused() {
    let emu = support::simulated_emulator();
    let id = support::deploy_ready(&emu, support::game_v1().tag("start"));
    let (url, _) = injected(&emu, &id);
    let wrong = "ffffffffffffffffffffffffffffffff";
    let error = call(&GetContext::new(url, wrong)).unwrap_err();
    assert!(matches!(error.status(), Some(401 | 403)), "{error:?}");
    assert!(!error.to_string().contains(wrong));
}

#[test]
fn removing_a_missing_tag_is_an_error() {
    let emu = support::simulated_emulator();
    let id = support::deploy_ready(&emu, support::game_v1().tag("start"));
    let (url, token) = injected(&emu, &id);
    let error = call(&DeleteContextTag::new(url, token, "never-added")).unwrap_err();
    assert_eq!(error.status(), Some(404), "{error:?}");
}
