//! The matchmaker's auth: `Authorization: <token>`, raw. A missing header, a `Bearer ` or
//! `token ` prefix, or another token get 401; the tokens of the deployment API and the
//! matchmaker are not interchangeable.

mod support;

use serde_json::json;
use support::{MM_TOKEN, duel_config, matchmaker_emulator, send};

fn config() -> String {
    duel_config()
}

#[test]
fn only_the_raw_token_is_accepted() {
    let emu = matchmaker_emulator(&config());
    let monitor = format!("{}/monitor", emu.matchmaker_url());
    let ok = send("GET", &monitor, Some(MM_TOKEN), None);
    assert_eq!(ok.status, 200, "{ok:?}");
    let refused = [
        None,
        Some(format!("Bearer {MM_TOKEN}")),
        Some(format!("bearer {MM_TOKEN}")),
        Some(format!("token {MM_TOKEN}")),
        Some(MM_TOKEN[..MM_TOKEN.len() - 1].to_owned()),
        Some("t".to_owned()),
        Some(String::new()),
    ];
    for auth in refused {
        for (method, path, body) in [
            ("GET", "/monitor", None),
            (
                "POST",
                "/groups",
                Some(json!({ "profile": "duel", "is_ready": true, "attributes": {} })),
            ),
            ("GET", "/groups/any/members/any", None),
            ("POST", "/backfills", Some(json!({}))),
        ] {
            let url = format!("{}{path}", emu.matchmaker_url());
            let body = body.map(|b| b.to_string());
            let answer = send(method, &url, auth.as_deref(), body.as_deref());
            assert_eq!(
                answer.status, 401,
                "{auth:?} on {method} {path}: {answer:?}"
            );
            assert!(!answer.text.contains(MM_TOKEN), "the token is not echoed");
        }
    }
    assert!(emu.deployments().is_empty(), "nothing was created");
    // The API token does not open the matchmaker, nor the matchmaker's the API.
    assert_eq!(send("GET", &monitor, Some(&emu.token()), None).status, 401);
    let api = format!("{}/v1/deployments", emu.base_url());
    assert_eq!(send("GET", &api, Some(MM_TOKEN), None).status, 401);
    assert_eq!(
        send("GET", &api, Some(&format!("token {MM_TOKEN}")), None).status,
        401
    );
}

#[test]
fn a_random_token_is_made_when_none_is_given() {
    let emu = edgegap_emulator::Emulator::builder()
        .app_version(edgegap_emulator::AppVersion::simulated("game", "v1"))
        .matchmaker(config())
        .start()
        .expect("starts");
    let token = emu.matchmaker_token();
    assert_eq!(token.len(), 32);
    assert_ne!(token, emu.token());
    let monitor = format!("{}/monitor", emu.matchmaker_url());
    assert_eq!(send("GET", &monitor, Some(&token), None).status, 200);
}
