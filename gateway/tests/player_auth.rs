//! Who the player is: a valid player token (HS256, or a public key with its one algorithm;
//! `exp` required, `iss`/`aud` when configured), anonymous mode only when asked for, and the
//! caller's address from `X-Forwarded-For` only through trusted proxies. Every bad token is 401
//! and reaches nothing upstream; the organisation token sent as a player token is refused and
//! logged.

mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use edgegap_gateway::KeyAlgorithm;
use serde_json::json;
use support::*;

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn bad_tokens_are_401_and_nothing_reaches_edgegap() {
    let emu = emulator();
    let gw = gateway(&emu);
    let before = emu.requests().len();
    let claims = json!({ "sub": "mallory", "exp": now() + 600 });
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&claims)
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("garbled", Some("Bearer not.a.jwt".into())),
        ("empty bearer", Some("Bearer ".into())),
        ("wrong scheme", Some(format!("Basic {}", token("mallory")))),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                signed(SECRET, &json!({ "sub": "mallory", "exp": now() - 3600 }))
            )),
        ),
        (
            "wrong key",
            Some(format!(
                "Bearer {}",
                signed(b"some-other-secret-of-some-other-game!", &claims)
            )),
        ),
        ("alg none", Some(format!("Bearer {alg_none}"))),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                signed(SECRET, &json!({ "sub": "mallory" }))
            )),
        ),
        (
            "no sub",
            Some(format!(
                "Bearer {}",
                signed(SECRET, &json!({ "exp": now() + 600 }))
            )),
        ),
        ("org token as bearer", Some(format!("Bearer {ORG_TOKEN}"))),
        (
            "org token, Edgegap style",
            Some(format!("token {ORG_TOKEN}")),
        ),
    ];
    let body = json!({ "application": APP, "version": VERSION }).to_string();
    for (name, auth) in &cases {
        let mut headers = Vec::new();
        if let Some(auth) = auth {
            headers.push(("Authorization", auth.as_str()));
        }
        let base = gw.base_url();
        for (method, url, body) in [
            (
                "POST",
                format!("{base}/v2/deployments"),
                Some(body.as_str()),
            ),
            ("GET", format!("{base}/v1/status/a69f8e3e0555"), None),
            ("DELETE", format!("{base}/v1/stop/a69f8e3e0555"), None),
        ] {
            let answer = send(method, &url, &headers, body);
            assert_eq!(answer.status, 401, "{name} {method}: {}", answer.text);
        }
    }
    assert_eq!(
        emu.requests().len(),
        before,
        "a refused client reached Edgegap: {:?}",
        &emu.requests()[before..]
    );
    assert!(emu.deployments().is_empty());
    // Both forms were recognised (Bearer, and Edgegap's own `token` scheme), 3 calls each.
    let warnings = logs()
        .matches("sent the organisation token as its player token")
        .count();
    assert!(
        warnings >= 6,
        "the gateway did not warn about each leaked organisation token: {warnings}"
    );
}

fn key(name: &str) -> String {
    let path = format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn public_keys_verify_their_algorithm_and_refuse_confusion() {
    let emu = emulator();
    let claims = json!({ "sub": "alice", "exp": now() + 600 });
    for (alg, jwt_alg, private, public) in [
        (
            KeyAlgorithm::EdDSA,
            jsonwebtoken::Algorithm::EdDSA,
            "ed25519.pem",
            "ed25519.pub.pem",
        ),
        (
            KeyAlgorithm::ES256,
            jsonwebtoken::Algorithm::ES256,
            "p256.pem",
            "p256.pub.pem",
        ),
        (
            KeyAlgorithm::RS256,
            jsonwebtoken::Algorithm::RS256,
            "rsa.pem",
            "rsa.pub.pem",
        ),
    ] {
        let gw = keyless_builder(&emu)
            .public_key_pem(alg, key(public))
            .max_live_per_player(100)
            .start()
            .unwrap();
        let pem = key(private);
        let encoding = match alg {
            KeyAlgorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()),
            KeyAlgorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()),
            _ => jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()),
        }
        .unwrap();
        let good =
            jsonwebtoken::encode(&jsonwebtoken::Header::new(jwt_alg), &claims, &encoding).unwrap();
        let answer = deploy(&gw, &good, None);
        assert_eq!(answer.status, 202, "{alg:?}: {}", answer.text);
        // Algorithm confusion: HS256 keyed with the public key's PEM text.
        let confused = signed(key(public).as_bytes(), &claims);
        assert_eq!(
            deploy(&gw, &confused, None).status,
            401,
            "{alg:?} confusion"
        );
        // An HS256 token with the tests' shared secret is not accepted either.
        assert_eq!(deploy(&gw, &token("alice"), None).status, 401);
    }
}

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let emu = emulator();
    let gw = builder(&emu)
        .issuer("https://auth.game.example")
        .audience("game")
        .max_live_per_player(10)
        .start()
        .unwrap();
    let exp = now() + 600;
    let cases = [
        (
            json!({ "sub": "a", "exp": exp, "iss": "https://auth.game.example", "aud": "game" }),
            202,
        ),
        (
            json!({ "sub": "a", "exp": exp, "iss": "https://evil.example", "aud": "game" }),
            401,
        ),
        (
            json!({ "sub": "a", "exp": exp, "iss": "https://auth.game.example", "aud": "other" }),
            401,
        ),
        (json!({ "sub": "a", "exp": exp, "aud": "game" }), 401),
        (
            json!({ "sub": "a", "exp": exp, "iss": "https://auth.game.example" }),
            401,
        ),
    ];
    for (claims, expected) in cases {
        let answer = deploy(&gw, &signed(SECRET, &claims), None);
        assert_eq!(answer.status, expected, "{claims}: {}", answer.text);
    }
    // A token expired within the tolerated skew still passes; one beyond it does not.
    let skewed =
        json!({ "sub": "a", "exp": now() - 5, "iss": "https://auth.game.example", "aud": "game" });
    assert_eq!(deploy(&gw, &signed(SECRET, &skewed), None).status, 202);
}

#[test]
fn anonymous_mode_is_explicit_and_warns() {
    let emu = emulator();
    // Without a key and without anonymous mode, the gateway does not start.
    let error = keyless_builder(&emu).start().unwrap_err();
    assert!(error.to_string().contains("no player-token key"), "{error}");

    capture_logs();
    let gw = keyless_builder(&emu).anonymous(true).start().unwrap();
    assert!(logs().contains("ANONYMOUS MODE"));
    let answer = send(
        "POST",
        &format!("{}/v2/deployments", gw.base_url()),
        &[],
        Some(&json!({ "application": APP, "version": VERSION }).to_string()),
    );
    assert_eq!(answer.status, 202, "{}", answer.text);
    let id = answer.request_id();
    // The caller's address is the player: the same caller may read it.
    let status = send(
        "GET",
        &format!("{}/v1/status/{id}", gw.base_url()),
        &[],
        None,
    );
    assert_eq!(status.status, 200);
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));
}

#[test]
fn a_binary_hs256_secret_is_used_byte_for_byte() {
    let emu = emulator();
    // 32 random-looking bytes, not valid UTF-8, as an auth backend may generate them.
    let secret: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    assert!(std::str::from_utf8(&secret).is_err());
    let gw = keyless_builder(&emu)
        .hs256_secret(secret.clone())
        .start()
        .unwrap();
    let token = edgegap_gateway::dev_token(&secret, "alice", Duration::from_secs(60)).unwrap();
    let answer = deploy(&gw, &token, None);
    assert_eq!(answer.status, 202, "{}", answer.text);
}

/// In anonymous mode the player is the caller's address, which makes the address the gateway
/// resolved visible: `X-Forwarded-For` counts only from a trusted proxy.
#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let emu = emulator();
    let anonymous = |trust: bool| {
        let builder = keyless_builder(&emu).anonymous(true).max_live_per_player(5);
        let builder = if trust {
            builder.trusted_proxy("127.0.0.0/8")
        } else {
            builder
        };
        builder.start().unwrap()
    };
    let body = json!({ "application": APP, "version": VERSION }).to_string();
    let as_client = |gw: &edgegap_gateway::GatewayHandle, ip: &str, method: &str, path: &str| {
        let with_body = (method == "POST").then_some(body.as_str());
        send(
            method,
            &format!("{}{path}", gw.base_url()),
            &[("X-Forwarded-For", ip)],
            with_body,
        )
    };

    let behind_proxy = anonymous(true);
    let id = as_client(&behind_proxy, "203.0.113.9", "POST", "/v2/deployments").request_id();
    let path = format!("/v1/status/{id}");
    assert_eq!(
        as_client(&behind_proxy, "203.0.113.9", "GET", &path).status,
        200
    );
    assert_eq!(
        as_client(&behind_proxy, "203.0.113.10", "GET", &path).status,
        404
    );

    // Without trusting the proxy, the header is ignored: every caller is 127.0.0.1.
    let direct = anonymous(false);
    let id = as_client(&direct, "203.0.113.9", "POST", "/v2/deployments").request_id();
    let path = format!("/v1/status/{id}");
    assert_eq!(as_client(&direct, "198.51.100.1", "GET", &path).status, 200);
}

/// `GET /v1/status/{unknown id}` with `token`: 401 when the token is refused, 404 otherwise.
fn token_status(gw: &edgegap_gateway::GatewayHandle, token: &str) -> u16 {
    status(gw, token, "a69f8e3e0555").status
}

#[test]
fn not_before_and_the_maximum_token_age_are_checked() {
    let emu = emulator();
    let gw = gateway(&emu);
    let not_yet = json!({ "sub": "alice", "exp": now() + 7200, "nbf": now() + 3600 });
    assert_eq!(token_status(&gw, &signed(SECRET, &not_yet)), 401, "nbf");
    let valid_now = json!({ "sub": "alice", "exp": now() + 7200, "nbf": now() - 10 });
    assert_eq!(token_status(&gw, &signed(SECRET, &valid_now)), 404);

    let mut config = builder(&emu).config().clone();
    config.auth.max_token_age_secs = Some(600);
    let aged = edgegap_gateway::GatewayBuilder::from_config(config)
        .start()
        .unwrap();
    for (name, claims, expected) in [
        (
            "fresh",
            json!({ "sub": "a", "exp": now() + 600, "iat": now() }),
            404,
        ),
        (
            "minted an hour ago",
            json!({ "sub": "a", "exp": now() + 600, "iat": now() - 3600 }),
            401,
        ),
        (
            "no iat, exp forever",
            json!({ "sub": "a", "exp": u64::MAX / 2 }),
            401,
        ),
        (
            "issued in the future",
            json!({ "sub": "a", "exp": now() + 7200, "iat": now() + 3600 }),
            401,
        ),
    ] {
        assert_eq!(
            token_status(&aged, &signed(SECRET, &claims)),
            expected,
            "{name}"
        );
    }
}

#[test]
fn with_two_issuers_the_same_sub_is_two_players() {
    let emu = emulator();
    let (one, two) = (
        "https://auth-eu.game.example",
        "https://auth-us.game.example",
    );
    let gw = builder(&emu).issuer(one).issuer(two).start().unwrap();
    let alice_at = |iss: &str| {
        signed(
            SECRET,
            &json!({ "sub": "alice", "exp": now() + 600, "iss": iss }),
        )
    };
    let id = deploy(&gw, &alice_at(one), None).request_id();
    assert_eq!(status(&gw, &alice_at(one), &id).status, 200);
    let other = status(&gw, &alice_at(two), &id);
    assert_eq!(other.status, 404, "another issuer's alice: {}", other.text);
    assert_eq!(stop(&gw, &alice_at(two), &id).status, 404);
    // Each has a quota of their own.
    assert_eq!(deploy(&gw, &alice_at(two), None).status, 202);
    assert_eq!(deploy(&gw, &alice_at(one), None).status, 429);
}

#[test]
fn a_sub_with_control_characters_or_surrounding_whitespace_is_refused() {
    let emu = emulator();
    let gw = gateway(&emu);
    let id = deploy(&gw, &token("alice"), None).request_id();
    for sub in [
        " alice",
        "alice ",
        "alice\n",
        "\u{a0}alice",
        "alice\u{2028}",
        "mallory\nINFO edgegap_gateway: deployed for player `alice`",
        "mal\u{7}lory",
        "mal\u{1b}[2Klory",
    ] {
        let token = signed(SECRET, &json!({ "sub": sub, "exp": now() + 600 }));
        for answer in [status(&gw, &token, &id), deploy(&gw, &token, None)] {
            assert_eq!(answer.status, 401, "{sub:?}: {}", answer.text);
        }
    }
    assert_eq!(emu.deployments().len(), 1);
}

/// Raw `GET /v1/status/{id}` with these `X-Forwarded-For` lines (an HTTP client sends one).
fn status_forwarded(gw: &edgegap_gateway::GatewayHandle, id: &str, lines: &[&str]) -> u16 {
    let headers: String = lines
        .iter()
        .map(|l| format!("X-Forwarded-For: {l}\r\n"))
        .collect();
    raw_request(
        gw,
        &format!("GET /v1/status/{id} HTTP/1.1\r\nHost: gw\r\n{headers}Connection: close\r\n\r\n"),
    )
    .0
}

/// A proxy may add its own `X-Forwarded-For` line instead of appending to the client's: the
/// lines are one list, so the client cannot choose its address with a line of its own; and
/// `::ffff:a.b.c.d` is the IPv4 address it maps.
#[test]
fn every_forwarded_for_line_counts_and_mapped_addresses_are_ipv4() {
    let emu = emulator();
    let gw = keyless_builder(&emu)
        .anonymous(true)
        .trusted_proxy("127.0.0.0/8")
        .start()
        .unwrap();
    let body = json!({ "application": APP, "version": VERSION }).to_string();
    // The client wrote the first line; the trusted proxy added the second, with the address
    // it saw.
    let (code, text) = raw_request(
        &gw,
        &format!(
            "POST /v2/deployments HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 203.0.113.9\r\n\
             X-Forwarded-For: 198.51.100.7\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(code, 202, "{text}");
    let id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The deploy belongs to the address the proxy saw, not to the one the client wrote.
    assert_eq!(status_forwarded(&gw, &id, &["198.51.100.7"]), 200);
    assert_eq!(status_forwarded(&gw, &id, &["203.0.113.9"]), 404);
    // The same address, IPv4-mapped, is the same caller.
    assert_eq!(status_forwarded(&gw, &id, &["::ffff:198.51.100.7"]), 200);
    assert_eq!(
        status_forwarded(&gw, &id, &["10.9.9.9", "::ffff:198.51.100.7"]),
        200
    );
}
