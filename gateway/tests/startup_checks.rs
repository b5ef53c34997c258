//! What the gateway refuses to start with: a player-token secret anyone could know (the example
//! config ships none; a placeholder or an HS256 secret under 32 bytes is refused), and plaintext
//! to a host that is not loopback unless the operator allows it. And what it warns about at
//! start: player tokens checked for neither issuer nor audience.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use edgegap_emulator::EmulatorHandle;
use edgegap_gateway::GatewayBuilder;
use support::*;

/// The example config the README's production command uses.
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/gateway.toml");

/// Runs `edgegap-gateway --config assets/gateway.toml` in front of `emu`, with `secret` as
/// `GATEWAY_HS256_SECRET` (unset: `None`). `Ok(url)` once it serves (then it is killed),
/// `Err(what it printed on stderr)` when it exits instead.
fn run_example(emu: &EmulatorHandle, secret: Option<&str>) -> Result<String, String> {
    let mut command = Command::new(GATEWAY_BINARY);
    command
        .args(["--config", EXAMPLE])
        .env("EDGEGAP_BASE_URL", emu.base_url())
        .env("EDGEGAP_TOKEN", emu.token())
        .env("GATEWAY_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "edgegap_gateway=warn")
        .env_remove("GATEWAY_HS256_SECRET")
        .env_remove("GATEWAY_PUBLIC_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(secret) = secret {
        command.env("GATEWAY_HS256_SECRET", secret);
    }
    let mut child = command.spawn().expect("the edgegap-gateway binary starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        if let Some(url) = line.unwrap().strip_prefix("GATEWAY_URL=") {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(url.to_owned());
        }
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "exited 0 without serving: {stderr}");
    Err(stderr)
}

#[test]
fn the_example_config_starts_only_with_a_secret_of_the_operators_own() {
    let emu = emulator();
    // As shipped: no secret at all, so nobody can sign tokens the gateway believes.
    let error = run_example(&emu, None).expect_err("started without a player-token key");
    assert!(error.contains("no player-token key"), "{error}");

    let placeholder = "change-me-to-a-long-random-secret-from-your-auth-backend";
    let error = run_example(&emu, Some(placeholder)).expect_err("started with a placeholder");
    assert!(error.contains("placeholder"), "{error}");
    assert!(
        !error.contains(placeholder),
        "the secret was printed: {error}"
    );

    let short = "0123456789abcdef0123456789abcde"; // 31 bytes
    let error = run_example(&emu, Some(short)).expect_err("started with a 31-byte secret");
    assert!(error.contains("at least 32"), "{error}");
    assert!(!error.contains(short), "the secret was printed: {error}");

    let url = run_example(&emu, Some("Xk3v9Qm2Lw8Rt5Zp7Yb1Nc4Hd6Jf0Gs2Ae8Uq5Wo3Ti"))
        .expect("a long random secret starts the example config");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
}

#[test]
fn the_builder_refuses_placeholders_and_short_secrets_too() {
    let emu = emulator();
    let refused = |builder: GatewayBuilder, why: &str| {
        let error = builder
            .rebuild_on_start(false)
            .start()
            .expect_err("started with a guessable secret")
            .to_string();
        assert!(error.contains(why), "{error}");
    };
    refused(
        builder(&emu).hs256_secret("change-me-please-to-something-long-and-random"),
        "placeholder",
    );
    refused(builder(&emu).hs256_secret(vec![7u8; 31]), "at least 32");
    refused(
        builder(&emu).owner_key("change-me-to-an-owner-key"),
        "placeholder",
    );
    refused(
        builder(&emu).webhook_secret("change-me-webhook-path-0123"),
        "placeholder",
    );
    builder(&emu)
        .hs256_secret(vec![7u8; 32])
        .rebuild_on_start(false)
        .start()
        .expect("32 bytes are enough");
}

#[test]
fn plaintext_to_a_host_that_is_not_loopback_is_refused_unless_allowed() {
    let emu = emulator();
    // Nothing listens there: a gateway that starts never calls it (no rebuild).
    let remote = "http://192.0.2.10:8090";
    for (what, changed) in [
        ("upstream", builder(&emu).upstream(remote, emu.token())),
        (
            "public_url",
            builder(&emu).public_url("http://gw.my-game.example"),
        ),
        (
            "redis_url",
            builder(&emu).redis("redis://:hunter2-redis-password@192.0.2.11:6379/0"),
        ),
    ] {
        let changed = changed.rebuild_on_start(false);
        let error = GatewayBuilder::from_config(changed.config().clone())
            .start()
            .expect_err(what)
            .to_string();
        assert!(error.contains("plaintext"), "{what}: {error}");
        assert!(!error.contains("hunter2"), "{what}: {error}");
        let mut allowed = changed.config().clone();
        allowed.allow_plaintext = true;
        if what != "redis_url" {
            // Allowed on purpose (a private network): it starts.
            GatewayBuilder::from_config(allowed)
                .start()
                .unwrap_or_else(|e| panic!("{what} with allow_plaintext: {e}"));
        }
    }
    // Loopback is fine without TLS: the emulator, local development.
    gateway(&emu);
}

#[test]
fn a_gateway_checking_neither_issuer_nor_audience_says_so() {
    let emu = emulator();
    let open = gateway(&emu);
    let warning = |gw: &edgegap_gateway::GatewayHandle| {
        logs()
            .lines()
            .any(|l| l.contains(&gw.base_url()) && l.contains("neither issuer nor audience"))
    };
    assert!(warning(&open), "no warning for {}", open.base_url());
    let checked = builder(&emu)
        .issuer("https://auth.game.example")
        .start()
        .unwrap();
    assert!(!warning(&checked), "a warning although `iss` is checked");
}
