//! CORS: browser pages from the configured origins may call the gateway; no other page gets
//! a preflight answered, and without a list there is no CORS header at all. Edgegap's (the
//! emulator's) deployment API never answers a browser.

mod support;

use edgegap_gateway::{GatewayBuilder, GatewayConfig, GatewayError, GatewayHandle};
use support::*;

const PAGE: &str = "http://127.0.0.1:8000";
const GAME: &str = "https://game.example.com";

/// `GET /v1/status/…` without a token (401), from a page at `origin`.
fn unauthorised_status(gw: &GatewayHandle, origin: &str) -> Answer {
    send(
        "GET",
        &format!("{}/v1/status/aaaaaaaaaaaa", gw.base_url()),
        &[("Origin", origin)],
        None,
    )
}

/// Asserts `answer` has no `Access-Control-*` header (saying which when it has).
fn assert_no_cors(answer: &Answer) {
    let cors = cors_headers(answer);
    assert!(cors.is_empty(), "{cors:?}");
}

/// The `Access-Control-*` headers of `answer`.
fn cors_headers(answer: &Answer) -> Vec<&str> {
    answer
        .headers
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| name.to_ascii_lowercase().starts_with("access-control-"))
        .collect()
}

/// A browser's preflight for a deploy from `origin`.
fn preflight(url: &str, origin: &str) -> Answer {
    send(
        "OPTIONS",
        url,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "authorization,content-type,idempotency-key",
            ),
        ],
        None,
    )
}

#[test]
fn preflight_is_answered_for_allowed_origins_only() {
    let emu = emulator();
    let gw = builder(&emu)
        .cors_origin(PAGE)
        .cors_origin("https://*.itch.zone")
        .start()
        .unwrap();
    let deploys = format!("{}/v2/deployments", gw.base_url());
    for origin in [PAGE, "https://html.itch.zone"] {
        let answer = preflight(&deploys, origin);
        assert!(
            (200..300).contains(&answer.status),
            "{origin}: {}",
            answer.status
        );
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some(origin),
            "the origin itself, never `*`"
        );
        let allowed = answer
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for name in ["authorization", "content-type", "idempotency-key"] {
            assert!(allowed.contains(name), "`{name}` not in `{allowed}`");
        }
        let methods = answer
            .header("access-control-allow-methods")
            .unwrap_or_default();
        for method in ["GET", "POST", "DELETE"] {
            assert!(methods.contains(method), "`{method}` not in `{methods}`");
        }
        assert_eq!(answer.header("access-control-allow-credentials"), None);
        assert!(
            answer
                .header("vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("origin")),
            "caches must keep answers per origin: {:?}",
            answer.header("vary")
        );
    }
    for origin in [
        "http://127.0.0.1:8001",
        "https://evil.example.com",
        "https://itch.zone",
        "null",
    ] {
        let answer = preflight(&deploys, origin);
        assert_eq!(answer.status, 403, "{origin}: {}", answer.text);
        assert!(
            cors_headers(&answer).is_empty(),
            "{origin}: {:?}",
            cors_headers(&answer)
        );
    }
    // A preflight without an Origin is not a browser's: refused too.
    let bare = send("OPTIONS", &deploys, &[], None);
    assert_eq!(bare.status, 403);
    assert_no_cors(&bare);
}

#[test]
fn answers_to_an_allowed_origin_carry_it_errors_included() {
    let emu = emulator();
    let gw = builder(&emu).cors_origin(PAGE).start().unwrap();
    let token = token("alice");
    let auth = format!("Bearer {token}");
    let deploy = send(
        "POST",
        &format!("{}/v2/deployments", gw.base_url()),
        &[("Origin", PAGE), ("Authorization", &auth)],
        Some(r#"{"application":"game","version":"v1","users":[]}"#),
    );
    assert!(
        (200..300).contains(&deploy.status),
        "{}: {}",
        deploy.status,
        deploy.text
    );
    assert_eq!(deploy.header("access-control-allow-origin"), Some(PAGE));
    assert!(
        deploy
            .header("access-control-expose-headers")
            .is_some_and(|h| h.to_ascii_lowercase().contains("retry-after")),
        "Retry-After must be readable by the page: {:?}",
        deploy.headers
    );
    // A refusal is readable by the page too (else the browser reports a network error).
    let refused = unauthorised_status(&gw, PAGE);
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.header("access-control-allow-origin"), Some(PAGE));
    // Another origin's request is still served (CORS is not authentication), but nothing
    // tells its page it may read the answer.
    let foreign = unauthorised_status(&gw, GAME);
    assert_eq!(foreign.status, 401);
    assert_eq!(foreign.header("access-control-allow-origin"), None);
}

#[test]
fn without_a_list_there_is_no_cors_header_at_all() {
    let emu = emulator();
    let gw = gateway(&emu);
    let options = preflight(&format!("{}/v2/deployments", gw.base_url()), PAGE);
    assert!(!(200..300).contains(&options.status), "{}", options.status);
    assert_no_cors(&options);
    let get = unauthorised_status(&gw, PAGE);
    assert_eq!(get.status, 401);
    assert_no_cors(&get);
}

#[test]
fn origins_come_from_the_config_file_and_a_wildcard_never_starts() {
    let emu = emulator();
    let config = GatewayConfig::from_toml(&format!(
        r#"
        allowed_cors_origins = ["{PAGE}", "https://*.itch.zone"]
        [[policy.allow]]
        application = "game"
        version = "v1"
        [auth]
        hs256_secret = "a-long-enough-development-secret"
        "#
    ))
    .unwrap();
    let gw = GatewayBuilder::from_config(config)
        .upstream(emu.base_url(), emu.token())
        .start()
        .unwrap();
    let answer = preflight(&format!("{}/v2/deployments", gw.base_url()), PAGE);
    assert_eq!(answer.header("access-control-allow-origin"), Some(PAGE));

    match builder(&emu).cors_origin("*").start() {
        Err(GatewayError::Config(message)) => assert!(message.contains("`*`"), "{message}"),
        other => panic!("a wildcard origin started a gateway: {other:?}"),
    }
}

/// `GATEWAY_CORS_ORIGINS` replaces the file's list in the real binary.
#[test]
fn the_environment_replaces_the_files_origins() {
    let emu = emulator();
    let gw = GatewayProcess::start(
        GATEWAY_BINARY,
        &emu,
        "",
        &format!("allowed_cors_origins = [\"{GAME}\"]"),
        &[(
            "GATEWAY_CORS_ORIGINS",
            format!("{PAGE}, https://*.itch.zone"),
        )],
    );
    let deploys = format!("{}/v2/deployments", gw.url);
    let from_env = preflight(&deploys, PAGE);
    assert_eq!(from_env.header("access-control-allow-origin"), Some(PAGE));
    let from_file = preflight(&deploys, GAME);
    assert_eq!(from_file.status, 403, "the file's list was replaced");
    assert_no_cors(&from_file);
}

/// Edgegap's organisation API sends no CORS headers (a browser must never hold that token);
/// the emulator's deployment API must not either, so a browser test against it fails the
/// way it would against Edgegap.
#[test]
fn the_emulators_deployment_api_answers_no_browser() {
    let emu = emulator();
    let auth = format!("token {}", emu.token());
    let options = preflight(&format!("{}/v2/deployments", emu.base_url()), PAGE);
    assert_no_cors(&options);
    let list = send(
        "GET",
        &format!("{}/v1/deployments", emu.base_url()),
        &[("Origin", PAGE), ("Authorization", &auth)],
        None,
    );
    assert_eq!(list.status, 200, "{}", list.text);
    assert_no_cors(&list);
}
