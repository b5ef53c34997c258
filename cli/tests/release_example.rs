//! `cargo edgegap release --example dedicated_server --dev --base none` into a real registry
//! (`docker-registry`): an independent client (`skopeo`) reads `linux`/`amd64` and the
//! entrypoint back, and a second release of the unchanged binary uploads no layer bytes,
//! counted on the registry's side (its access log).
//!
//! The debug build is the workspace's own (same target directory), so a warm `cargo test`
//! reuses it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use edgegap_test_services::{Registry, RegistryRequest};
use serde_json::json;
use support::{Outcome, cli, run, skopeo_inspect, wait_until};

const LIMIT: Duration = Duration::from_secs(1200);

fn release(registry: &Registry, version: &str) -> Outcome {
    let mut command = cli();
    command
        .args(["release", "--example", "dedicated_server", "--dev"])
        .args(["--base", "none", "--app", "dedicated-server", "--json"])
        .args(["--version", version])
        .env("EDGEGAP_REGISTRY", registry.host())
        .env("EDGEGAP_REGISTRY_PROJECT", "proj");
    run(command, LIMIT)
}

/// The registry's requests once everything before now is in its access log: a marker
/// request is sent and waited for (the log is written as requests finish).
fn settled(registry: &Registry, marker: &str) -> Vec<RegistryRequest> {
    let mut stream = TcpStream::connect(("127.0.0.1", registry.port())).expect("connect");
    write!(
        stream,
        "GET /v2/{marker}/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let _ = stream.read_to_end(&mut Vec::new());
    wait_until(
        Duration::from_secs(10),
        "the marker in the access log",
        || registry.requests().iter().any(|r| r.path.contains(marker)),
    );
    registry.requests()
}

fn uploads(requests: &[RegistryRequest]) -> usize {
    requests.iter().filter(|r| r.is_blob_upload()).count()
}

#[test]
fn the_example_is_pushed_read_back_and_never_uploaded_twice() {
    let registry = Registry::start();
    let started = Instant::now();
    let first = release(&registry, "first");
    let first_time = started.elapsed();
    assert_eq!(first.code, 0, "{first:#?}");
    let line = first.json();
    let reference = format!("{}/proj/dedicated-server:first", registry.host());
    assert_eq!(line["image"], reference);
    assert_eq!(line["platform"], "linux/amd64");
    assert_eq!(line["entrypoint"], json!(["/app/dedicated_server"]));
    assert_eq!(line["uploaded_blobs"], 2, "layer and config: {line}");
    let size = line["size"].as_u64().expect("a size");

    // An independent client reads it back.
    let inspect = skopeo_inspect(&reference, false);
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Digest"], line["digest"]);
    let config = skopeo_inspect(&reference, true);
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/app/dedicated_server"])
    );

    let after_first = settled(&registry, "after-first");
    let first_uploads = uploads(&after_first);
    assert!(
        first_uploads >= 2,
        "the registry saw the first release's uploads: {after_first:#?}"
    );

    // The same binary under a new tag: every blob is already there.
    let started = Instant::now();
    let second = release(&registry, "second");
    let second_time = started.elapsed();
    assert_eq!(second.code, 0, "{second:#?}");
    let line = second.json();
    assert_eq!(line["uploaded_blobs"], 0, "{line}");
    assert_eq!(line["uploaded_bytes"], 0, "{line}");
    assert_eq!(line["reused_blobs"], 2, "{line}");
    let after_second = settled(&registry, "after-second");
    assert_eq!(
        uploads(&after_second),
        first_uploads,
        "the registry saw no upload for the second release: {:#?}",
        &after_second[after_first.len()..]
    );
    assert!(
        after_second[after_first.len()..]
            .iter()
            .any(|r| r.method == "PUT" && r.path.ends_with("/manifests/second")),
        "the new tag was put"
    );

    // The same tag again: nothing at all is written.
    let third = release(&registry, "second");
    assert_eq!(third.code, 0, "{third:#?}");
    assert_eq!(third.json()["unchanged"], true);
    let after_third = settled(&registry, "after-third");
    assert!(
        !after_third[after_second.len()..]
            .iter()
            .any(|r| matches!(r.method.as_str(), "PUT" | "POST" | "PATCH")),
        "{:#?}",
        &after_third[after_second.len()..]
    );
    eprintln!(
        "dedicated_server (--dev, --base none): image {} bytes; first release {first_time:?}, second (unchanged binary, new tag) {second_time:?}",
        size
    );
}
