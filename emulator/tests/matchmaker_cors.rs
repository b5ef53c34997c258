//! CORS: the matchmaker honours `allowed_cors_origins` (`https://play.example.com`,
//! `https://*.my-game.com` and `localhost` in these tests) as Edgegap documents it; the
//! deployment API sends no CORS header at all.

mod support;

use edgegap_emulator::EmulatorHandle;
use support::{Answer, MM_TOKEN, duel_config, matchmaker_emulator, send_with};

fn emulator() -> EmulatorHandle {
    matchmaker_emulator(&duel_config())
}

/// `GET /monitor` with the matchmaker's token, from a page at `origin`.
fn monitor_from(emu: &EmulatorHandle, origin: &str) -> Answer {
    send_with(
        "GET",
        &format!("{}/monitor", emu.matchmaker_url()),
        &[("Authorization", MM_TOKEN), ("Origin", origin)],
        None,
    )
}

#[test]
fn allowed_origins_get_cors_headers() {
    let emu = emulator();
    let monitor = format!("{}/monitor", emu.matchmaker_url());
    for origin in [
        "https://play.example.com",
        "https://eu.my-game.com",
        "https://a.b.my-game.com",
    ] {
        let answer = monitor_from(&emu, origin);
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("Access-Control-Allow-Origin"),
            Some(origin),
            "{origin}"
        );
        assert_eq!(answer.header("Vary"), Some("Origin"));
        // A browser can read a refusal too.
        let refused = send_with("GET", &monitor, &[("Origin", origin)], None);
        assert_eq!(refused.status, 401);
        assert_eq!(refused.header("Access-Control-Allow-Origin"), Some(origin));
        let preflight = send_with(
            "OPTIONS",
            &format!("{}/groups", emu.matchmaker_url()),
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization, content-type",
                ),
            ],
            None,
        );
        assert_eq!(
            preflight.status, 204,
            "preflights carry no token: {preflight:?}"
        );
        assert_eq!(
            preflight.header("Access-Control-Allow-Origin"),
            Some(origin)
        );
        let methods = preflight
            .header("Access-Control-Allow-Methods")
            .expect("methods");
        assert!(
            ["GET", "POST", "PATCH", "DELETE"]
                .iter()
                .all(|m| methods.contains(m))
        );
        let headers = preflight
            .header("Access-Control-Allow-Headers")
            .expect("headers");
        assert!(headers.contains("Authorization") && headers.contains("Content-Type"));
    }
}

#[test]
fn other_origins_get_none() {
    let emu = emulator();
    let monitor = format!("{}/monitor", emu.matchmaker_url());
    for origin in [
        "https://my-game.com",
        "http://eu.my-game.com",
        "https://evil.example.org",
        "http://localhost",
        "http://localhost:8080",
        "https://play.example.com.evil.org",
        "null",
    ] {
        let answer = monitor_from(&emu, origin);
        assert_eq!(answer.status, 200, "CORS is enforced by the browser");
        assert_eq!(
            answer.header("Access-Control-Allow-Origin"),
            None,
            "{origin}"
        );
        let preflight = send_with(
            "OPTIONS",
            &monitor,
            &[("Origin", origin), ("Access-Control-Request-Method", "GET")],
            None,
        );
        assert_eq!(preflight.status, 403, "{origin}");
        assert_eq!(preflight.header("Access-Control-Allow-Origin"), None);
        assert_eq!(preflight.header("Access-Control-Allow-Methods"), None);
    }
}

#[test]
fn the_deployment_api_sends_no_cors_headers() {
    let emu = emulator();
    let origin = "https://play.example.com";
    for (method, path) in [
        ("GET", "/v1/deployments"),
        ("OPTIONS", "/v1/deployments"),
        ("GET", "/v1/locations"),
    ] {
        let answer = send_with(
            method,
            &format!("{}{path}", emu.base_url()),
            &[
                ("Authorization", "token t"),
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
            ],
            None,
        );
        assert!(
            answer
                .headers
                .iter()
                .all(|(name, _)| !name.starts_with("access-control-")),
            "{method} {path}: {:?}",
            answer.headers
        );
    }
}
