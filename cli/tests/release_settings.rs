//! `[package.metadata.edgegap]` and the flags, against a real registry and the emulator's
//! API: exposed ports, the package's assets, the app version made from the metadata (secret
//! variables from the environment, never printed) and deployable, tags and versions (refused,
//! moved or updated with `--force`, kept when unchanged, the default date + commit), a base
//! image pulled from a registry, mistakes found before building.

mod support;

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bevy_edgegap::api::{DeployRequest, RestartPolicy};
use edgegap_test_services::Registry;
use serde_json::json;
use support::{Fixture, call, run, skopeo_inspect, version_of, wait_until};

const LIMIT: Duration = Duration::from_secs(300);

const METADATA: &str = r#"app = "Tiny Arena"
cpu = 512
memory = 1024
max_duration = 30
ports = [
  { name = "gameport", port = 7777, protocol = "UDP" },
  { name = "web", port = 8080, protocol = "HTTP", to_check = false },
]
envs = { MAP = "forest" }
secret_envs = ["STEAM_KEY"]"#;

/// The files of a stored layer blob (`sha256:…`), from the registry's storage.
fn layer_files(registry: &Registry, digest: &str) -> Vec<String> {
    let hex = digest.trim_start_matches("sha256:");
    let path: PathBuf = registry
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let gz = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut tar)
        .expect("gzip");
    tar::Archive::new(&tar[..])
        .entries()
        .expect("tar")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

const STEAM_KEY: &str = "steam-Key-Secret-31f9";

#[test]
fn metadata_ports_and_assets_are_in_the_image() {
    let registry = Registry::start();
    let fixture = Fixture::new("arena", METADATA);
    let mut command = fixture.release(&registry.host(), "none", &["--version", "v1"]);
    command.env("STEAM_KEY", STEAM_KEY);
    let outcome = run(command, LIMIT);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(!outcome.all().contains(STEAM_KEY), "{outcome:#?}");
    let line = outcome.json();
    assert_eq!(line["app"], "Tiny Arena");
    assert_eq!(
        line["image"],
        format!("{}/proj/tiny-arena:v1", registry.host())
    );
    assert_eq!(line["exposed_ports"], json!(["7777/udp", "8080/tcp"]));
    assert_eq!(line["settings"]["cpu"], 512);
    assert_eq!(line["settings"]["memory"], 1024);
    assert_eq!(line["settings"]["max_duration"], 30);
    assert_eq!(line["settings"]["envs"], json!({"MAP": "forest"}));
    assert_eq!(line["settings"]["secret_envs"], json!(["STEAM_KEY"]));

    let reference = format!("{}/proj/tiny-arena:v1", registry.host());
    let config = skopeo_inspect(&reference, true);
    assert_eq!(
        config["config"]["ExposedPorts"],
        json!({"7777/udp": {}, "8080/tcp": {}})
    );
    assert_eq!(config["config"]["Entrypoint"], json!(["/app/tiny-server"]));
    assert_eq!(config["config"]["WorkingDir"], "/app");
    let inspect = skopeo_inspect(&reference, false);
    let layer = inspect["Layers"][0].as_str().expect("one layer");
    let files = layer_files(&registry, layer);
    for expected in [
        "app/tiny-server",
        "app/assets/maps/forest.txt",
        "lib64/ld-linux-x86-64.so.2",
        "tmp/",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} in {files:?}"
        );
    }
    assert!(
        files.iter().any(|f| f.ends_with("/libc.so.6")),
        "--base none bundles libc: {files:?}"
    );

    // The app version, made from the same metadata and naming the image.
    assert_eq!(line["app_created"], true, "{line}");
    assert_eq!(line["version_action"], "created", "{line}");
    let emu = fixture.emulator();
    let version = version_of(emu, "Tiny Arena", "v1");
    assert_eq!(version.docker_repository, Some(registry.host()));
    assert_eq!(version.docker_image.as_deref(), Some("proj/tiny-arena"));
    assert_eq!(version.docker_tag.as_deref(), Some("v1"));
    assert_eq!(
        (version.req_cpu, version.req_memory),
        (Some(512), Some(1024))
    );
    assert_eq!(version.max_duration, Some(30));
    assert_eq!(version.verify_image, Some(true));
    assert_eq!(version.restart_policy, Some(RestartPolicy::Always));
    let ports: Vec<_> = version
        .ports
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.port,
                p.protocol.clone(),
                p.to_check,
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("gameport".into(), 7777, "UDP".into(), Some(true)),
            ("web".into(), 8080, "HTTP".into(), Some(false)),
        ]
    );
    let envs: Vec<_> = version
        .envs
        .iter()
        .map(|e| (e.key.as_str(), e.is_secret))
        .collect();
    assert_eq!(envs, [("MAP", false), ("STEAM_KEY", true)]);
    // Deployed, the image's server runs with the version's variables, the secret included.
    let deployed = call(
        emu,
        &DeployRequest::new("Tiny Arena", "v1").user_ip("1.2.3.4"),
    )
    .expect("deploy");
    let id = deployed.request_id.as_str().to_owned();
    wait_until(Duration::from_secs(60), "the server ran and exited", || {
        emu.deployment(&id)
            .is_some_and(|d| d.status == "Status.TERMINATED")
    });
    let info = emu.deployment(&id).expect("deployment");
    assert_eq!(info.stopped_by.as_deref(), Some("exit"), "{info:?}");
    assert_eq!(info.env["STEAM_KEY"], STEAM_KEY);
    assert_eq!(info.env["MAP"], "forest");
    assert!(
        emu.logs(&id).unwrap_or_default().contains("arena"),
        "{:?}",
        emu.logs(&id)
    );
}

/// `fixture`'s `[package.metadata.edgegap]` body replaced by `metadata`.
fn set_metadata(fixture: &Fixture, metadata: &str) {
    std::fs::write(
        fixture.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"tiny-server\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n[package.metadata.edgegap]\n{metadata}\n"
        ),
    )
    .expect("Cargo.toml");
}

#[test]
fn an_existing_version_with_other_settings_is_refused_before_building_unless_forced() {
    let registry = Registry::start();
    let fixture = Fixture::new("versioned", "max_duration = 30");
    let release = |extra: &[&str]| {
        let mut args = vec!["--version", "v1"];
        args.extend_from_slice(extra);
        run(fixture.release(&registry.host(), "none", &args), LIMIT)
    };
    let first = release(&[]);
    assert_eq!(first.code, 0, "{first:#?}");
    assert_eq!(first.json()["version_action"], "created");

    // The same settings and image: kept, nothing written.
    let again = release(&[]);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(again.json()["version_action"], "unchanged");
    assert_eq!(again.json()["unchanged"], true);

    // Other settings: refused before building or pushing.
    set_metadata(&fixture, "max_duration = 60");
    let writes = |registry: &Registry| {
        registry
            .requests()
            .iter()
            .filter(|r| matches!(r.method.as_str(), "PUT" | "POST" | "PATCH"))
            .count()
    };
    let before = writes(&registry);
    let refused = release(&[]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert_eq!(refused.json()["kind"], "version_exists");
    assert!(
        refused.stderr.contains("max_duration") && refused.stderr.contains("--force"),
        "{refused:#?}"
    );
    assert!(
        !refused.stderr.contains("Compiling") && !refused.stderr.contains("Finished"),
        "nothing was built: {refused:#?}"
    );
    assert_eq!(writes(&registry), before, "nothing was pushed");
    assert_eq!(
        version_of(fixture.emulator(), "tiny-server", "v1").max_duration,
        Some(30)
    );

    // --force updates it.
    let forced = release(&["--force"]);
    assert_eq!(forced.code, 0, "{forced:#?}");
    assert_eq!(forced.json()["version_action"], "updated");
    assert_eq!(
        version_of(fixture.emulator(), "tiny-server", "v1").max_duration,
        Some(60)
    );

    // Other resources cannot be updated (Edgegap's update takes none): said before building.
    set_metadata(&fixture, "max_duration = 60\ncpu = 512");
    let resources = release(&["--force"]);
    assert_eq!(resources.code, 2, "{resources:#?}");
    assert!(
        resources.stderr.contains("--version NAME"),
        "{resources:#?}"
    );
    assert_eq!(fixture.versions().len(), 1);
}

#[test]
fn a_tag_holding_another_image_is_refused_unless_forced_and_kept_when_unchanged() {
    let registry = Registry::start();
    let first = Fixture::new("first build", "");
    let push = |fixture: &Fixture, extra: &[&str]| {
        let mut args = vec!["--version", "v1"];
        args.extend_from_slice(extra);
        run(fixture.release(&registry.host(), "none", &args), LIMIT)
    };
    let outcome = push(&first, &[]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let first_digest = outcome.json()["digest"].clone();

    // The same image again: kept as is, nothing sent.
    let again = push(&first, &[]);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(again.json()["unchanged"], true);
    assert_eq!(again.json()["uploaded_blobs"], 0);

    let second = Fixture::new("second build, another binary", "");
    let refused = push(&second, &[]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert_eq!(refused.json()["kind"], "registry.tag_exists");
    assert!(refused.stderr.contains("--force"), "{refused:#?}");
    let reference = format!("{}/proj/tiny-server:v1", registry.host());
    assert_eq!(
        skopeo_inspect(&reference, false)["Digest"],
        first_digest,
        "the refused release left the tag alone"
    );

    let forced = push(&second, &["--force"]);
    assert_eq!(forced.code, 0, "{forced:#?}");
    let forced_digest = forced.json()["digest"].clone();
    assert_ne!(forced_digest, first_digest);
    assert_eq!(skopeo_inspect(&reference, false)["Digest"], forced_digest);
}

#[test]
fn the_default_tag_is_the_date_and_the_commit() {
    let registry = Registry::start();
    let fixture = Fixture::new("tagged", "");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .arg("-C")
            .arg(fixture.path())
            .args(args)
            .output()
            .expect("git");
        assert!(status.status.success(), "git {args:?}: {status:?}");
        String::from_utf8_lossy(&status.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    std::fs::write(fixture.path().join(".gitignore"), "/target\n").expect("gitignore");
    git(&["add", "-A"]);
    git(&["commit", "-qm", "init"]);
    let commit = git(&["rev-parse", "--short=7", "HEAD"]);
    let outcome = run(fixture.release(&registry.host(), "none", &[]), LIMIT);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let version = outcome.json()["version"]
        .as_str()
        .expect("a version")
        .to_owned();
    let (date, rest) = version.split_at(10);
    assert_eq!(rest, format!("-{commit}"), "{version}");
    let parts: Vec<&str> = date.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())),
        "{version}"
    );
    let config = skopeo_inspect(
        &format!("{}/proj/tiny-server:{version}", registry.host()),
        true,
    );
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.revision"],
        commit
    );
}

#[test]
fn a_base_image_is_pulled_from_its_registry_and_comes_first() {
    let registry = Registry::start();
    let base = Fixture::new("the base", "image = \"base\"");
    let outcome = run(
        base.release(&registry.host(), "none", &["--version", "1"]),
        LIMIT,
    );
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let base_reference = format!("{}/proj/base:1", registry.host());
    let base_layer = skopeo_inspect(&base_reference, false)["Layers"][0].clone();

    let server = Fixture::new(
        "on top",
        "ports = [{ name = \"gameport\", port = 7777, protocol = \"UDP\" }]",
    );
    let outcome = run(
        server.release(&registry.host(), &base_reference, &["--version", "v1"]),
        LIMIT,
    );
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let line = outcome.json();
    assert_eq!(line["base"], base_reference);
    assert_eq!(line["layers"], 2);
    let reference = format!("{}/proj/tiny-server:v1", registry.host());
    let inspect = skopeo_inspect(&reference, false);
    assert_eq!(inspect["Layers"][0], base_layer, "the base's layer first");
    let config = skopeo_inspect(&reference, true);
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(config["config"]["ExposedPorts"], json!({"7777/udp": {}}));
    let files = layer_files(&registry, inspect["Layers"][1].as_str().expect("ours"));
    assert!(
        !files.iter().any(|f| f.ends_with("libc.so.6")),
        "on a base, no libraries are bundled: {files:?}"
    );
}

#[test]
fn mistakes_are_usage_errors_found_before_building() {
    let registry = Registry::start();
    for (metadata, flags, says) in [
        ("cpu = 50", &[][..], "`cpu`"),
        ("cpus = 2", &[][..], "unknown field `cpus`"),
        ("", &["--version", "latest"][..], "latest"),
        ("", &["--version", "a/b"][..], "not a tag"),
        ("", &["--bin", "nope"][..], "no binary `nope`"),
    ] {
        let fixture = Fixture::new("mistake", metadata);
        let outcome = run(fixture.release(&registry.host(), "none", flags), LIMIT);
        assert_eq!(outcome.code, 2, "{metadata} {flags:?}: {outcome:#?}");
        assert_eq!(outcome.json()["kind"], "usage");
        assert!(outcome.stderr.contains(says), "{says}: {outcome:#?}");
        assert!(!fixture.path().join("target").exists(), "built anyway");
    }
    for (variable, says) in [
        ("EDGEGAP_REGISTRY_PROJECT", "EDGEGAP_REGISTRY_PROJECT"),
        ("EDGEGAP_TOKEN", "set EDGEGAP_TOKEN"),
    ] {
        let fixture = Fixture::new("no variable", "");
        let mut command = fixture.release(&registry.host(), "none", &[]);
        command.env_remove(variable);
        let outcome = run(command, LIMIT);
        assert_eq!(outcome.code, 2, "{variable}: {outcome:#?}");
        assert!(outcome.stderr.contains(says), "{variable}: {outcome:#?}");
    }
    // A secret variable the metadata names and the environment lacks.
    let fixture = Fixture::new("no secret", "secret_envs = [\"NOT_SET_ANYWHERE_77\"]");
    let outcome = run(fixture.release(&registry.host(), "none", &[]), LIMIT);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(
        outcome
            .stderr
            .contains("`NOT_SET_ANYWHERE_77` is in `secret_envs`"),
        "{outcome:#?}"
    );
    assert!(!fixture.path().join("target").exists(), "built anyway");
    assert!(
        registry.requests().is_empty(),
        "the registry was never asked"
    );
}
