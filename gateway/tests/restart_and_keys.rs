//! Edgegap is the source of truth: a restarted gateway still knows who owns what and how many
//! servers each player runs. And the public-key variants, `iss`/`aud`, anonymous mode.

mod support;

use std::time::Duration;

use edgegap_emulator::Route;
use edgegap_gateway::{Gateway, KeyAlgorithm};
use serde_json::json;
use support::*;

#[test]
fn a_restarted_gateway_loses_nothing() {
    let emu = emulator();
    let alice = token("alice");
    let id = {
        let first = gateway(&emu);
        let id = deploy(&first, &alice, Some("k")).request_id();
        wait_ready(&first, &alice, &id);
        id
        // dropped: stopped
    };
    let lists_before = emu.request_count(Route::ListDeployments);
    let second = gateway(&emu);
    assert!(
        emu.request_count(Route::ListDeployments) > lists_before,
        "no rebuild at start"
    );
    // Ownership comes from Edgegap's tags.
    assert_eq!(status(&second, &alice, &id).status, 200);
    assert_eq!(status(&second, &token("bob"), &id).status, 404);
    // The live count was rebuilt: alice's quota (1) is still used.
    let refused = deploy(&second, &alice, Some("k2"));
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(emu.deployments().len(), 1);
    assert!(matches!(stop(&second, &alice, &id).status, 200 | 202));
}

#[test]
fn owner_tags_survive_a_token_rotation_with_a_configured_owner_key() {
    let emu = emulator();
    let alice = token("alice");
    let start = || {
        builder(&emu)
            .owner_key("a-stable-owner-key")
            .start()
            .unwrap()
    };
    let id = deploy(&start(), &alice, None).request_id();
    let derived = gateway(&emu); // owner key derived from the token: other tags
    assert_eq!(status(&derived, &alice, &id).status, 404);
    assert_eq!(status(&start(), &alice, &id).status, 200);
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
        let gw = Gateway::builder()
            .upstream(emu.base_url(), emu.token())
            .allow(APP, VERSION)
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
    let error = Gateway::builder()
        .upstream(emu.base_url(), emu.token())
        .allow(APP, VERSION)
        .start()
        .unwrap_err();
    assert!(error.to_string().contains("no player-token key"), "{error}");

    capture_logs();
    let gw = Gateway::builder()
        .upstream(emu.base_url(), emu.token())
        .allow(APP, VERSION)
        .anonymous(true)
        .start()
        .unwrap();
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
    let gw = Gateway::builder()
        .upstream(emu.base_url(), emu.token())
        .allow(APP, VERSION)
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
        let builder = Gateway::builder()
            .upstream(emu.base_url(), emu.token())
            .allow(APP, VERSION)
            .anonymous(true)
            .max_live_per_player(5);
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
