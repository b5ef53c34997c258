//! Example binaries for tests that run them as processes.

use std::path::PathBuf;

/// The example's binary, built now if needed (a no-op when `cargo test` already built it).
pub fn example_binary(name: &str) -> PathBuf {
    let mut cargo = std::process::Command::new(env!("CARGO"));
    // Variables cargo sets for this test would change build-script fingerprints (and rebuild
    // half the tree); the nested build sees the environment a shell has.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR")
            || key == "OUT_DIR"
        {
            cargo.env_remove(&*key);
        }
    }
    let status = cargo
        .args([
            "build",
            "--offline",
            // `--workspace` resolves features as `cargo test --workspace` did: nothing rebuilds.
            "--workspace",
            "--example",
            name,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the example `{name}` does not build");
    // target/debug/deps/<this test> -> target/debug/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join(name))
        .unwrap();
    assert!(path.exists(), "no example binary at {}", path.display());
    path
}
