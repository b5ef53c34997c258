//! A version created through the API whose image is in a registry on loopback: a deploy pulls
//! it (a real `docker-registry`, with and without `htpasswd` auth), unpacks it into a
//! directory of its own and runs its entrypoint there with the injected environment and the
//! version's variables; the directory goes when the process does. A registry that lies,
//! fails or hangs, and layers that would write or point outside the directory, end in
//! `Status.ERROR` with a typed detail: nothing is launched and nothing is left behind.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use edgegap_emulator::{Emulator, EmulatorHandle};
use edgegap_test_services::Registry;
use serde_json::{Value, json};
use support::oci::{Answer, Entry, FakeRegistry, Image, OCI_MANIFEST, digest};
use support::{api, deploy, deploy_body};

/// An emulator configured only through the API: app `game`, no declared version.
fn emulator() -> EmulatorHandle {
    let emu = Emulator::builder()
        .token("t")
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    let app = api(
        &emu,
        "POST",
        "/v1/app",
        Some(&json!({"name": "game", "is_active": true, "image": ""})),
    );
    assert_eq!(app.status, 200, "{app:?}");
    emu
}

/// Creates version `name` of `game` on `host`'s `proj/server:<tag>` with `extra` keys.
fn version(emu: &EmulatorHandle, name: &str, host: &str, tag: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": name,
        "docker_repository": host,
        "docker_image": "proj/server",
        "docker_tag": tag,
        "req_cpu": 256,
        "req_memory": 512,
        "time_to_deploy": 15,
        "ports": [{"port": 7777, "protocol": "UDP", "name": "gameport"}],
        "envs": [
            {"key": "MAP", "value": "forest"},
            {"key": "STEAM_KEY", "value": "steam-Secret-77", "is_secret": true}
        ]
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    let answer = api(emu, "POST", "/v1/app/game/version", Some(&body));
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json
}

/// Deploys `game`/`name` and waits for a final status (READY, TERMINATED or ERROR).
fn deploy_until(emu: &EmulatorHandle, name: &str, status: &str) -> String {
    let id = deploy(emu, &deploy_body("game", name));
    assert!(
        emu.wait_for_status(&id, status, Duration::from_secs(60)),
        "{id} never reached {status}: {:?}",
        emu.deployment(&id)
    );
    id
}

/// The emulator's image directories of this test process (`<tmp>/edgegap-emulator-<pid>-*`).
fn image_dirs() -> Vec<PathBuf> {
    let prefix = format!("edgegap-emulator-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// Whether any directory of deployment `id` (finished or staging) exists.
fn leftovers(id: &str) -> Vec<PathBuf> {
    image_dirs()
        .into_iter()
        .flat_map(|dir| {
            [
                dir.join("deployments").join(id),
                dir.join("deployments").join(format!("{id}.partial")),
            ]
        })
        .filter(|p| p.exists())
        .collect()
}

/// An image deploy that ended in ERROR: nothing launched, nothing left, the detail.
fn failed(emu: &EmulatorHandle, name: &str) -> String {
    let id = deploy_until(emu, name, "Status.ERROR");
    let info = emu.deployment(&id).expect("deployment");
    assert_eq!(info.pid, None, "nothing was launched: {info:?}");
    assert!(leftovers(&id).is_empty(), "{:?}", leftovers(&id));
    let detail = info.error_detail.unwrap_or_default();
    assert!(!detail.contains("steam-Secret-77"), "{detail}");
    eprintln!("{name}: {detail}");
    detail
}

const SCRIPT: &str = r#"echo "cwd=$(pwd)"
echo "request=$ARBITRIUM_REQUEST_ID map=$MAP key=$STEAM_KEY image_env=$FROM_IMAGE"
echo "port=$ARBITRIUM_PORT_GAMEPORT_INTERNAL cpu=$ARBITRIUM_DEPLOYMENT_VCPU_UNITS"
echo "args=$*"
cat ./assets/hello.txt"#;

#[test]
fn an_image_version_is_pulled_unpacked_and_its_entrypoint_run_there() {
    let registry = Registry::start();
    Image::script(SCRIPT).push(&registry.host(), "proj/server", "v1", None);
    let emu = emulator();
    version(&emu, "v1", &registry.host(), "v1", json!({}));
    // The script prints and exits 0: the deployment ends TERMINATED, stopped by its exit.
    let id = deploy_until(&emu, "v1", "Status.TERMINATED");
    let info = emu.deployment(&id).expect("deployment");
    assert_eq!(info.stopped_by.as_deref(), Some("exit"), "{info:?}");
    assert!(
        info.transitions.iter().any(|t| t == "Status.READY"),
        "{info:?}"
    );
    let logs = emu.logs(&id).expect("logs");
    let port = &info.env["ARBITRIUM_PORT_GAMEPORT_INTERNAL"];
    for line in [
        format!("request={id} map=forest key=steam-Secret-77 image_env=yes"),
        format!("port={port} cpu=256"),
        "args=--flag".to_owned(),
        "hello from the image".to_owned(),
    ] {
        assert!(logs.contains(&line), "`{line}` in {logs}");
    }
    // It ran in its own directory (WorkingDir /app of the unpacked image), gone with it.
    let cwd = logs
        .lines()
        .find_map(|l| l.strip_prefix("cwd="))
        .expect("cwd printed");
    assert!(cwd.ends_with(&format!("/deployments/{id}/app")), "{cwd}");
    support::wait_until("the directory removed", Duration::from_secs(10), || {
        !PathBuf::from(cwd).exists()
    });
    // A second deploy reuses the downloaded blobs, and runs again.
    let again = deploy_until(&emu, "v1", "Status.TERMINATED");
    assert!(
        emu.logs(&again)
            .expect("logs")
            .contains("hello from the image")
    );
}

#[test]
fn a_private_registry_is_pulled_with_the_versions_credentials() {
    let registry = Registry::with_htpasswd("robot$proj+pull", "pull-Secret-88");
    Image::script("echo private ok").push(
        &registry.host(),
        "proj/server",
        "v1",
        Some(("robot$proj+pull", "pull-Secret-88")),
    );
    let emu = emulator();
    let credentials = |token: &str| json!({"private_username": "robot$proj+pull", "private_token": token, "verify_image": true});
    version(
        &emu,
        "good",
        &registry.host(),
        "v1",
        credentials("pull-Secret-88"),
    );
    let id = deploy_until(&emu, "good", "Status.TERMINATED");
    assert!(emu.logs(&id).expect("logs").contains("private ok"));

    // Wrong credentials: verify_image refuses the version (424)...
    let mut body = json!({
        "name": "bad", "docker_repository": registry.host(), "docker_image": "proj/server",
        "docker_tag": "v1", "req_cpu": 256, "req_memory": 512,
    });
    for (k, v) in credentials("wrong-Secret-89").as_object().unwrap() {
        body[k] = v.clone();
    }
    let refused = api(&emu, "POST", "/v1/app/game/version", Some(&body));
    assert_eq!(refused.status, 424, "{refused:?}");
    assert!(!refused.text.contains("wrong-Secret-89"), "{refused:?}");
    // ...and without verify_image, its deploys end in ERROR saying so.
    body["verify_image"] = json!(false);
    assert_eq!(
        api(&emu, "POST", "/v1/app/game/version", Some(&body)).status,
        200
    );
    let detail = failed(&emu, "bad");
    assert!(
        detail.contains("refused the version's credentials"),
        "{detail}"
    );
    assert!(!detail.contains("wrong-Secret-89"), "{detail}");
}

#[test]
fn verify_image_checks_the_manifest_and_a_vanished_registry_is_an_error_not_a_crash() {
    let mut registry = Registry::start();
    Image::script("echo hi").push(&registry.host(), "proj/server", "v1", None);
    let emu = emulator();
    version(
        &emu,
        "v1",
        &registry.host(),
        "v1",
        json!({"verify_image": true}),
    );
    let mut missing = json!({
        "name": "v2", "docker_repository": registry.host(), "docker_image": "proj/server",
        "docker_tag": "no-such-tag", "req_cpu": 256, "req_memory": 512, "verify_image": true,
    });
    let answer = api(&emu, "POST", "/v1/app/game/version", Some(&missing));
    assert_eq!(answer.status, 424, "{answer:?}");
    assert!(answer.message().contains("not found"), "{answer:?}");
    // Without the check it is made, and its deploys fail.
    missing["verify_image"] = json!(false);
    assert_eq!(
        api(&emu, "POST", "/v1/app/game/version", Some(&missing)).status,
        200
    );
    assert!(failed(&emu, "v2").contains("not found"));
    // The registry goes away: deploys end in ERROR, the emulator keeps serving.
    registry.kill();
    let detail = failed(&emu, "v1");
    assert!(detail.contains("unreachable"), "{detail}");
    assert_eq!(api(&emu, "GET", "/v1/app/game", None).status, 200);
}

#[test]
fn layer_entries_that_leave_the_directory_are_refused() {
    let registry = Registry::start();
    let outside = std::env::temp_dir().join(format!("escaped-{}", std::process::id()));
    let _ = std::fs::remove_file(&outside);
    let entrypoint = || Entry::File("app/server", 0o755, b"#!/bin/sh\necho ran\n".to_vec());
    let config = json!({"Entrypoint": ["/app/server"]});
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "dotdot",
            vec![
                entrypoint(),
                Entry::File("../../../../../../tmp/escaped", 0o644, b"x".to_vec()),
            ],
            "`..`",
        ),
        (
            "through-a-link",
            vec![
                entrypoint(),
                Entry::Symlink("app/out", "/tmp"),
                Entry::File("app/out/escaped", 0o644, b"x".to_vec()),
            ],
            "symbolic link an earlier entry made",
        ),
        (
            "link-out",
            vec![entrypoint(), Entry::Symlink("app/etc", "../../../etc")],
            "leaves the image",
        ),
        (
            "link-chain",
            vec![
                entrypoint(),
                Entry::Dir("d/"),
                Entry::Symlink("d/up", ".."),
                Entry::Symlink("d/l", "up/../escaped-target"),
            ],
            "resolves outside the image",
        ),
        (
            "hardlink-out",
            vec![entrypoint(), Entry::Hardlink("app/passwd", "/etc/passwd")],
            "not a file of the image",
        ),
        (
            "hardlink-dotdot",
            vec![
                entrypoint(),
                Entry::Hardlink("app/passwd", "../../etc/passwd"),
            ],
            "`..`",
        ),
    ];
    let emu = emulator();
    for (name, entries, says) in cases {
        Image::new(&entries, config.clone(), None).push(
            &registry.host(),
            "proj/server",
            name,
            None,
        );
        version(&emu, name, &registry.host(), name, json!({}));
        let detail = failed(&emu, name);
        assert!(
            detail.contains("unsafe layer entry") && detail.contains(says),
            "{name}: {detail}"
        );
    }
    assert!(!outside.exists(), "a file was written outside");
    // An absolute link inside the image is the image's own path: kept inside, and it runs.
    let fine = Image::new(
        &[
            Entry::Dir("bin/"),
            Entry::File("bin/real", 0o755, b"#!/bin/sh\necho linked ok\n".to_vec()),
            Entry::Symlink("app", "/bin"),
        ],
        json!({"Entrypoint": ["/app/real"]}),
        None,
    );
    fine.push(&registry.host(), "proj/server", "fine", None);
    version(&emu, "fine", &registry.host(), "fine", json!({}));
    let id = deploy_until(&emu, "fine", "Status.TERMINATED");
    assert!(emu.logs(&id).expect("logs").contains("linked ok"));
}

#[test]
fn a_registry_that_lies_fails_or_hangs_gives_a_typed_error() {
    let image = Image::script("echo should not run");
    let layer = digest(&image.layers[0]);
    let emu = emulator();
    let mut fakes = Vec::new();
    let mut add = |name: &str, registry: FakeRegistry, extra: Value| {
        version(&emu, name, &registry.host(), "v1", extra);
        fakes.push(registry);
    };
    // The layer's bytes are not the ones its digest names.
    let blob_path = format!("/v2/proj/server/blobs/{layer}");
    let tampered = image.layers[0].iter().rev().copied().collect::<Vec<u8>>();
    let wrong = blob_path.clone();
    add(
        "tampered",
        FakeRegistry::serving(&image, "proj/server", "v1", move |path| {
            (path == wrong).then(|| Answer::Reply(200, vec![], tampered.clone()))
        }),
        json!({}),
    );
    // The manifest under the tag is not the one its Docker-Content-Digest names.
    let manifest = image.manifest.clone();
    add(
        "wrong-manifest",
        FakeRegistry::serving(&image, "proj/server", "v1", move |path| {
            path.ends_with("/manifests/v1").then(|| {
                Answer::Reply(
                    200,
                    vec![
                        ("Content-Type", OCI_MANIFEST.into()),
                        (
                            "Docker-Content-Digest",
                            format!("sha256:{}", "0".repeat(64)),
                        ),
                    ],
                    manifest.clone(),
                )
            })
        }),
        json!({}),
    );
    // A proxy's HTML error page instead of the layer.
    let html = blob_path.clone();
    add(
        "html",
        FakeRegistry::serving(&image, "proj/server", "v1", move |path| {
            (path == html).then(|| {
                Answer::Reply(
                    500,
                    vec![("Content-Type", "text/html".into())],
                    b"<html><body><h1>500 Internal Server Error</h1></body></html>".to_vec(),
                )
            })
        }),
        json!({}),
    );
    // A manifest of 5 MiB.
    add(
        "huge",
        FakeRegistry::serving(&image, "proj/server", "v1", |path| {
            path.ends_with("/manifests/v1")
                .then(|| Answer::Reply(200, vec![], vec![b' '; 5 << 20]))
        }),
        json!({}),
    );
    // More layer bytes than the manifest says.
    let (longer, mut extra) = (blob_path.clone(), image.layers[0].clone());
    extra.extend_from_slice(&[0; 4096]);
    add(
        "longer",
        FakeRegistry::serving(&image, "proj/server", "v1", move |path| {
            (path == longer).then(|| Answer::Reply(200, vec![], extra.clone()))
        }),
        json!({}),
    );
    // A digest that would name a file outside the blob cache.
    let mut bad = serde_json::from_slice::<Value>(&image.manifest).expect("manifest");
    bad["layers"][0]["digest"] = json!("sha256:../../../../etc/passwd");
    let bad = serde_json::to_vec(&bad).expect("json");
    add(
        "bad-digest",
        FakeRegistry::serving(&image, "proj/server", "v1", move |path| {
            path.ends_with("/manifests/v1")
                .then(|| Answer::Reply(200, vec![], bad.clone()))
        }),
        json!({}),
    );
    for (name, says) in [
        ("tampered", "digest mismatch for layer 0"),
        ("wrong-manifest", "digest mismatch for manifest"),
        ("html", "registry answered 500"),
        ("huge", "larger than its limit"),
        ("longer", "larger than its limit"),
        ("bad-digest", "is not `sha256:` and 64 hex digits"),
    ] {
        let detail = failed(&emu, name);
        assert!(detail.contains(says), "{name}: `{says}` in {detail}");
        if name == "html" {
            assert!(
                detail.contains("an HTML page") && !detail.contains("<h1>"),
                "{detail}"
            );
        }
    }
    // A wrong diff_id (the uncompressed layer is not the one the config names), from a real
    // registry (it checks blob digests, not what the config says about them).
    let registry = Registry::start();
    Image::new(
        &[Entry::File("app/server", 0o755, b"#!/bin/sh\n".to_vec())],
        json!({"Entrypoint": ["/app/server"]}),
        Some(format!("sha256:{}", "1".repeat(64))),
    )
    .push(&registry.host(), "proj/server", "diff", None);
    version(&emu, "diff", &registry.host(), "diff", json!({}));
    assert!(failed(&emu, "diff").contains("diff_id"));
}

#[test]
fn a_registry_that_never_answers_times_out_after_time_to_deploy() {
    let image = Image::script("echo should not run");
    let registry = FakeRegistry::serving(&image, "proj/server", "v1", |path| {
        path.contains("/blobs/").then_some(Answer::Hang)
    });
    let emu = emulator();
    version(
        &emu,
        "hang",
        &registry.host(),
        "v1",
        json!({"time_to_deploy": 15}),
    );
    let started = std::time::Instant::now();
    let detail = failed(&emu, "hang");
    assert!(
        detail.contains("Pull image timeout exceeded (15 s"),
        "{detail}"
    );
    eprintln!("hung registry: ERROR after {:?}", started.elapsed());
}
