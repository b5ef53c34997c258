//! A registry with `htpasswd` auth (the real `docker-registry`) takes the right credentials;
//! wrong or missing ones give one clear error before anything is built. The app version pulls
//! with the same credentials (the emulator checks it can, `verify_image`). The registry token
//! and the API token are never printed, whatever `RUST_LOG` says, though the API echoes the
//! registry token back.

mod support;

use std::time::Duration;

use edgegap_test_services::Registry;
use support::{API_TOKEN, Fixture, Outcome, run, version_of};

const USER: &str = "robot$proj+push";
const TOKEN: &str = "tok-Sup3rSecret-4f1c9a";
const LIMIT: Duration = Duration::from_secs(300);

fn release(
    registry: &Registry,
    fixture: &Fixture,
    user: Option<&str>,
    token: Option<&str>,
) -> Outcome {
    let mut command = fixture.release(&registry.host(), "none", &["--version", "v1"]);
    command.env("RUST_LOG", "trace");
    if let Some(user) = user {
        command.env("EDGEGAP_REGISTRY_USER", user);
    }
    if let Some(token) = token {
        command.env("EDGEGAP_REGISTRY_TOKEN", token);
    }
    let outcome = run(command, LIMIT);
    for secret in [TOKEN, "wrong-Secret-77aa", API_TOKEN] {
        assert!(
            !outcome.all().contains(secret),
            "a token was printed: {outcome:#?}"
        );
    }
    outcome
}

#[test]
fn the_right_credentials_push() {
    let registry = Registry::with_htpasswd(USER, TOKEN);
    let fixture = Fixture::new("authorised", "");
    let outcome = release(&registry, &fixture, Some(USER), Some(TOKEN));
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(outcome.json()["uploaded_blobs"], 2);
    let requests = registry.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.path.contains("/manifests/v1") && r.status == 201),
        "the registry stored the manifest: {requests:#?}"
    );
    // The version pulls as the same robot: the emulator fetched the manifest with it
    // (`verify_image`), and echoes the token back, which the tool never printed.
    assert_eq!(outcome.json()["version_action"], "created");
    let version = version_of(fixture.emulator(), "tiny-server", "v1");
    assert_eq!(version.private_username.as_deref(), Some(USER));
    assert_eq!(
        version.private_token.as_ref().map(|t| t.expose()),
        Some(TOKEN)
    );
    assert!(!format!("{version:?}").contains(TOKEN));
}

#[test]
fn wrong_credentials_give_one_clear_error_before_building() {
    let registry = Registry::with_htpasswd(USER, TOKEN);
    let fixture = Fixture::new("refused", "");
    let outcome = release(&registry, &fixture, Some(USER), Some("wrong-Secret-77aa"));
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let line = outcome.json();
    assert_eq!(line["kind"], "registry.unauthorized", "{outcome:#?}");
    let errors: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{outcome:#?}");
    assert!(
        errors[0].contains(&format!("refused the credentials of `{USER}`"))
            && errors[0].contains("EDGEGAP_REGISTRY_TOKEN"),
        "{}",
        errors[0]
    );
    assert!(
        !fixture.path().join("target").exists(),
        "nothing is built with credentials the registry refuses"
    );
}

#[test]
fn missing_credentials_are_asked_for() {
    let registry = Registry::with_htpasswd(USER, TOKEN);
    let fixture = Fixture::new("anonymous", "");
    let outcome = release(&registry, &fixture, None, None);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    assert_eq!(outcome.json()["kind"], "registry.unauthorized");
    assert!(
        outcome
            .stderr
            .contains("set EDGEGAP_REGISTRY_USER and EDGEGAP_REGISTRY_TOKEN"),
        "{outcome:#?}"
    );
    // Half a pair is a usage mistake, found before the registry is asked anything.
    let outcome = release(&registry, &fixture, None, Some(TOKEN));
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert_eq!(outcome.json()["kind"], "usage");
}

#[test]
fn plain_http_is_only_for_loopback() {
    let fixture = Fixture::new("tls", "");
    let mut command = fixture.release("http://registry.example.com", "none", &[]);
    command
        .env("EDGEGAP_REGISTRY_USER", USER)
        .env("EDGEGAP_REGISTRY_TOKEN", TOKEN);
    let outcome = run(command, LIMIT);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(
        outcome
            .stderr
            .contains("plain http is only for a registry on this machine")
    );
    assert!(!outcome.all().contains(TOKEN));
}
