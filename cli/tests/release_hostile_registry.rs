//! A registry that fails, lies or hangs gives a typed error (the `--json` line's `kind`) and
//! never a tag: no manifest is put after a failed blob, and a push the registry does not read
//! back as ours is reported as failed, not as pushed. And never a half-made version: no app
//! version is created unless the push went through; one that fails after the push names the
//! pushed image and how to retry, and the retry makes it without uploading again.

mod support;

use std::time::{Duration, Instant};

use edgegap_emulator::{Fault, FaultKind, Route};
use serde_json::json;
use support::{FakeRegistry, Fixture, Outcome, Reply, digest, run, working_registry};

const LIMIT: Duration = Duration::from_secs(300);

/// Releases `fixture` into `registry` (`--version v1`, and `extra`).
fn release_into(fixture: &Fixture, registry: &FakeRegistry, base: &str, extra: &[&str]) -> Outcome {
    let mut flags = vec!["--version", "v1"];
    flags.extend_from_slice(extra);
    run(fixture.release(&registry.host(), base, &flags), LIMIT)
}

/// Checks a failure of `kind` that printed no result and one error line, and that `fixture`'s
/// emulator holds no app version; its message.
fn failed(fixture: &Fixture, outcome: &Outcome, kind: &str) -> String {
    assert!(
        fixture.versions().is_empty(),
        "no version without an image: {:?}",
        fixture.versions()
    );
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let line = outcome.json();
    eprintln!("{kind}: {}", line["error"]);
    assert_eq!(line["kind"], kind, "{outcome:#?}");
    assert!(
        !outcome.stdout.contains("\"digest\""),
        "a failed release printed a result: {outcome:#?}"
    );
    assert_eq!(
        outcome
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "one error line: {outcome:#?}"
    );
    line["error"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_500_mid_upload_fails_typed_and_tags_nothing() {
    let fixture = Fixture::new("five hundred", "");
    // The first blob's upload goes through; the second one's bytes get a 500.
    let registry = working_registry(|request| {
        let earlier_patches = request.seen.iter().filter(|s| s.method == "PATCH").count();
        (request.method == "PATCH" && earlier_patches >= 1).then(|| {
            Reply::Answer(
                500,
                vec![("Content-Type".into(), "text/plain".into())],
                b"storage backend exploded".to_vec(),
            )
        })
    });
    let outcome = release_into(&fixture, &registry, "none", &[]);
    let error = failed(&fixture, &outcome, "registry.status");
    assert!(
        error.contains("HTTP 500") && error.contains("uploading"),
        "{error}"
    );
    assert!(error.contains("storage backend exploded"), "{error}");
    assert!(
        registry
            .seen()
            .iter()
            .filter(|s| s.method == "PATCH")
            .count()
            == 2,
        "the first upload went through, the second failed: {:#?}",
        registry.seen()
    );
    assert!(!registry.manifest_put(), "no tag after a failed upload");
}

#[test]
fn an_html_error_page_is_named_not_dumped() {
    let fixture = Fixture::new("html", "");
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "<p>nginx</p>".repeat(200)
    );
    let registry = working_registry(move |request| {
        (request.method == "POST").then(|| {
            Reply::Answer(
                502,
                vec![("Content-Type".into(), "text/html".into())],
                page.clone().into_bytes(),
            )
        })
    });
    let outcome = release_into(&fixture, &registry, "none", &[]);
    let error = failed(&fixture, &outcome, "registry.status");
    assert!(
        error.contains("HTTP 502") && error.contains("HTML page"),
        "{error}"
    );
    assert!(!outcome.all().contains("<p>nginx</p>"), "{outcome:#?}");
    assert!(!registry.manifest_put());
}

#[test]
fn a_registry_serving_another_digest_is_reported_not_trusted() {
    let fixture = Fixture::new("liar", "");
    let registry = working_registry(|request| {
        let put = request
            .seen
            .iter()
            .any(|s| s.method == "PUT" && s.path.contains("/manifests/"));
        (put && request.path.contains("/manifests/") && matches!(request.method, "HEAD" | "GET"))
            .then(|| {
                let other = format!("sha256:{}", "0".repeat(64));
                Reply::manifest(other, b"{}".to_vec())
            })
    });
    let outcome = release_into(&fixture, &registry, "none", &[]);
    let error = failed(&fixture, &outcome, "registry.digest_mismatch");
    assert!(error.contains(&"0".repeat(64)), "{error}");
}

#[test]
fn a_corrupt_base_layer_is_refused_before_anything_is_uploaded() {
    let fixture = Fixture::new("on a base", "");
    let layer = b"the real layer bytes".to_vec();
    let layer_digest = digest(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(b"x")]},
    }))
    .unwrap();
    let config_digest = digest(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": cargo_edgegap::image::OCI_MANIFEST,
        "config": {"mediaType": cargo_edgegap::image::OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": cargo_edgegap::image::OCI_LAYER_GZIP, "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let manifest_digest = digest(&manifest);
    let registry = working_registry(move |request| {
        let path = request.path;
        if path == "/v2/base/img/manifests/1" {
            return Some(Reply::manifest(manifest_digest.clone(), manifest.clone()));
        }
        if request.method == "GET" && path == format!("/v2/base/img/blobs/{config_digest}") {
            return Some(Reply::Answer(200, vec![], config.clone()));
        }
        if request.method == "GET" && path == format!("/v2/base/img/blobs/{layer_digest}") {
            return Some(Reply::Answer(200, vec![], b"tampered bytes!".to_vec()));
        }
        None
    });
    let base = format!("{}/base/img:1", registry.host());
    let outcome = release_into(&fixture, &registry, &base, &[]);
    let error = failed(&fixture, &outcome, "registry.digest_mismatch");
    assert!(error.contains("base layer"), "{error}");
    let seen = registry.seen();
    assert!(
        !seen
            .iter()
            .any(|s| s.method == "POST" || s.method == "PATCH"),
        "nothing uploaded: {seen:#?}"
    );
    assert!(!registry.manifest_put());
}

#[test]
fn a_registry_that_stops_answering_mid_upload_times_out() {
    let fixture = Fixture::new("hang", "");
    let registry = working_registry(|request| (request.method == "PATCH").then_some(Reply::Hang));
    let started = Instant::now();
    let outcome = release_into(&fixture, &registry, "none", &["--timeout", "2"]);
    let error = failed(&fixture, &outcome, "registry.timeout");
    assert!(error.contains("uploading"), "{error}");
    assert!(!registry.manifest_put());
    eprintln!("hung upload reported after {:?}", started.elapsed());
}

#[test]
fn a_registry_that_never_answers_fails_before_the_build() {
    let fixture = Fixture::new("never", "");
    let registry = FakeRegistry::start(|_| Reply::Hang);
    let outcome = release_into(&fixture, &registry, "none", &["--timeout", "2"]);
    failed(&fixture, &outcome, "registry.timeout");
    assert!(
        !fixture.path().join("target").exists(),
        "nothing is built for a registry that does not answer"
    );
}

/// The control: the same fake registry, unsabotaged, takes the push (so each failure above
/// comes from its sabotage).
#[test]
fn the_fake_registry_unsabotaged_takes_the_push() {
    let fixture = Fixture::new("control", "");
    let registry = working_registry(|_| None);
    let outcome = release_into(&fixture, &registry, "none", &[]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let line = outcome.json();
    assert_eq!(line["uploaded_blobs"], 2, "{line}");
    assert!(registry.manifest_put());
    assert_eq!(
        line["image"],
        format!("{}/proj/tiny-server:v1", registry.host())
    );
    assert_eq!(line["version_action"], "created", "{line}");
    assert_eq!(line["app_created"], true, "{line}");
    assert_eq!(
        fixture.versions(),
        [("tiny-server".to_owned(), "v1".to_owned())]
    );
}

#[test]
fn a_version_not_made_after_the_push_names_the_image_and_a_retry_makes_it() {
    let fixture = Fixture::new("half", "");
    let registry = working_registry(|_| None);
    // Edgegap cannot pull the pushed image (424: not made), then fails (500: perhaps made, as
    // any 5xx may come after the work was done).
    for (status, says) in [
        (424, "version `v1` of app `tiny-server` was not made"),
        (
            500,
            "whether version `v1` of app `tiny-server` was made is not known",
        ),
    ] {
        fixture
            .emulator()
            .add_fault(Fault::new(Route::CreateAppVersion, FaultKind::Status(status)).times(1));
        let outcome = release_into(&fixture, &registry, "none", &[]);
        let image = format!("{}/proj/tiny-server:v1", registry.host());
        assert_eq!(outcome.code, 1, "{outcome:#?}");
        let line = outcome.json();
        assert_eq!(line["kind"], "version_not_made", "{outcome:#?}");
        assert_eq!(line["image"], image.as_str());
        let error = line["error"].as_str().unwrap_or_default();
        eprintln!("{status}: {error}");
        for part in [
            format!("pushed `{image}`"),
            says.to_owned(),
            "run the same command again (with --version v1)".to_owned(),
        ] {
            let found = error.to_lowercase().contains(&part.to_lowercase());
            assert!(found, "`{part}` in {error}");
        }
        assert!(fixture.versions().is_empty(), "{:?}", fixture.versions());
        assert!(registry.manifest_put(), "the image is there");
    }
    // The retry: the image is not uploaded again, the version is made.
    let before = registry.seen().len();
    let outcome = release_into(&fixture, &registry, "none", &[]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let line = outcome.json();
    assert_eq!(line["unchanged"], true, "{line}");
    assert_eq!(line["version_action"], "created", "{line}");
    assert_eq!(line["app_created"], false, "made by the first try: {line}");
    assert!(
        !registry.seen()[before..]
            .iter()
            .any(|s| matches!(s.method.as_str(), "POST" | "PATCH" | "PUT")),
        "nothing uploaded: {:#?}",
        &registry.seen()[before..]
    );
    assert_eq!(
        fixture.versions(),
        [("tiny-server".to_owned(), "v1".to_owned())]
    );
}

#[test]
fn a_version_whose_answer_is_lost_is_found_by_the_retry() {
    let fixture = Fixture::new("lost", "");
    let registry = working_registry(|_| None);
    // The version is made, and the answer does not decode.
    fixture
        .emulator()
        .add_fault(Fault::new(Route::CreateAppVersion, FaultKind::MalformedJson).times(1));
    let outcome = release_into(&fixture, &registry, "none", &[]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let line = outcome.json();
    assert_eq!(line["kind"], "version_not_made", "{outcome:#?}");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("whether version `v1` of app `tiny-server` was made is not known"),
        "{error}"
    );
    assert_eq!(fixture.versions().len(), 1, "it was made");
    // The retry finds it with these settings and keeps it.
    let retry = release_into(&fixture, &registry, "none", &[]);
    assert_eq!(retry.code, 0, "{retry:#?}");
    assert_eq!(retry.json()["version_action"], "unchanged");
    assert_eq!(fixture.versions().len(), 1);
}
