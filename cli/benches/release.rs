//! `cargo bench -p cargo-edgegap --bench release`: what `cargo edgegap release` costs for the
//! `dedicated_server` example in the release profile, on a warm target, into a local
//! `docker-registry` (`--base none`: offline, the libraries bundled) and an in-process
//! emulator's API (the app and version). Prints figures, asserts only that the releases
//! succeed.
//!
//! Per round, with a fresh registry and emulator:
//! - first release: the tool's own image build + push (the `cargo build` it runs is a no-op on
//!   a warm target and is shown apart), the app and version it then makes, and the whole
//!   command's wall time;
//! - second release of the unchanged binary under a new tag: wall time, bytes uploaded;
//! - the image size (config and compressed layers).
//!
//! The release build is made once before the rounds (not timed; the first time it compiles
//! Bevy in release, which takes minutes).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use edgegap_emulator::{Emulator, EmulatorHandle};
use edgegap_test_services::Registry;

const ROUNDS: usize = 5;

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

struct Run {
    wall: Duration,
    json: serde_json::Value,
}

/// An emulator configured only through its API (the release makes the app and version).
fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .without_rate_limits()
        .start()
        .expect("the emulator starts")
}

fn release(registry: &Registry, emulator: &EmulatorHandle, version: &str) -> Run {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-edgegap"))
        .current_dir(workspace_root())
        .args(["release", "--example", "dedicated_server", "--base", "none"])
        .args(["--app", "dedicated-server", "--json", "--version", version])
        .env("EDGEGAP_REGISTRY", registry.host())
        .env("EDGEGAP_REGISTRY_PROJECT", "bench")
        .env("EDGEGAP_BASE_URL", emulator.base_url())
        .env("EDGEGAP_TOKEN", emulator.token())
        .env_remove("EDGEGAP_REGISTRY_USER")
        .env_remove("EDGEGAP_REGISTRY_TOKEN")
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo-edgegap");
    let wall = started.elapsed();
    assert!(output.status.success(), "release failed: {output:?}");
    let line = String::from_utf8_lossy(&output.stdout);
    let json =
        serde_json::from_str(line.lines().last().unwrap_or_default()).expect("a JSON result line");
    Run { wall, json }
}

fn secs(value: &serde_json::Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not name us means another bench.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && a != "release")
    {
        return;
    }
    eprintln!("release build of the dedicated_server example (once, not timed)...");
    let warm = Registry::start();
    release(&warm, &emulator(), "warm-up");
    drop(warm);

    let mut image_push = Vec::new();
    let mut image = Vec::new();
    let mut push = Vec::new();
    let mut second_push = Vec::new();
    let mut first_wall = Vec::new();
    let mut build = Vec::new();
    let mut second_wall = Vec::new();
    let mut version = Vec::new();
    let mut size = 0;
    let mut layer_bytes = 0;
    for round in 0..ROUNDS {
        let registry = Registry::start();
        let emulator = emulator();
        let first = release(&registry, &emulator, &format!("r{round}-a"));
        let second = release(&registry, &emulator, &format!("r{round}-b"));
        assert_eq!(second.json["uploaded_bytes"], 0, "{}", second.json);
        image_push.push(
            secs(&first.json["timings"]["image_secs"]) + secs(&first.json["timings"]["push_secs"]),
        );
        build.push(secs(&first.json["timings"]["build_secs"]));
        image.push(secs(&first.json["timings"]["image_secs"]));
        push.push(secs(&first.json["timings"]["push_secs"]));
        version.push(secs(&first.json["timings"]["version_secs"]));
        second_push.push(secs(&second.json["timings"]["push_secs"]));
        first_wall.push(first.wall.as_secs_f64());
        second_wall.push(second.wall.as_secs_f64());
        size = first.json["size"].as_u64().unwrap_or(0);
        layer_bytes = first.json["uploaded_bytes"].as_u64().unwrap_or(0);
    }
    println!(
        "cargo edgegap release --example dedicated_server --base none (release profile, warm target, local docker-registry, emulator API), {ROUNDS} rounds, medians:"
    );
    let rows = [
        ("image build + push (first release)", median(image_push)),
        ("  the image (layer, config, manifest)", median(image)),
        ("  the push (tag check, upload, read-back)", median(push)),
        (
            "then the app and version (API, verify_image)",
            median(version),
        ),
        ("cargo build inside it (no-op, warm)", median(build)),
        ("whole first release, wall", median(first_wall)),
        (
            "second release, unchanged binary, wall",
            median(second_wall),
        ),
        ("  its push (0 bytes uploaded)", median(second_push)),
    ];
    for (what, value) in rows {
        println!("  {what:<44} {value:.3} s");
    }
    println!(
        "  image size: {:.1} MiB ({size} bytes; {:.1} MiB uploaded by the first release)",
        size as f64 / 1_048_576.0,
        layer_bytes as f64 / 1_048_576.0
    );
}
