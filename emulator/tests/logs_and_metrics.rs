//! Container logs (gone once terminated unless configured) and metrics (the documented time
//! format) of a simulated deployment.

mod support;

use std::time::Duration;

use support::{
    api, container_logs, deploy_ready, deploy_tagged, emulator, game_v1_builder, status_of,
    wait_status,
};

#[test]
fn container_logs_and_metrics_of_a_simulated_deployment() {
    let emu = emulator();
    let id = deploy_tagged(&emu, "v1", &[]);
    let logs = container_logs(&emu, &id);
    assert!(
        logs["logs"]
            .as_str()
            .is_some_and(|l| l.contains(&id) && l.lines().count() >= 3),
        "{logs}"
    );
    assert!(logs["crash_data"].is_null());
    assert_eq!(emu.logs(&id), logs["logs"].as_str().map(str::to_owned));
    assert_eq!(
        api(
            &emu,
            "GET",
            "/v1/deployment/000000000000/container-logs",
            None
        )
        .status,
        404
    );
    let path = format!(
        "/v1/metrics/deployment/{id}?start_time=2026-01-01%2000:00:00.00&end_time=2026-01-01%2000:10:00.00&steps=1m"
    );
    let metrics = api(&emu, "GET", &path, None);
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let m = &metrics.json;
    for series in [
        &m["cpu"],
        &m["mem"],
        &m["total"]["receive_total"],
        &m["total"]["transmit_total"],
        &m["network"]["receive"],
    ] {
        let labels = series["labels"].as_array().expect("labels").len();
        assert_eq!(labels, 10, "ten 1-minute steps: {series}");
        assert_eq!(series["datasets"].as_array().map(Vec::len), Some(10));
        assert_eq!(series["timestamps"].as_array().map(Vec::len), Some(10));
    }
    assert_eq!(m["cpu"]["timestamps"][1], "2026-01-01 00:01:00.000");
    assert_eq!(m["cpu"]["labels"][1], "00:01:00");
    assert_eq!(
        status_of(&emu, "GET", &format!("/v1/metrics/deployment/{id}")),
        200
    );
    let backwards = format!(
        "/v1/metrics/deployment/{id}?start_time=2026-01-02%2000:00:00.0&end_time=2026-01-01%2000:00:00.0"
    );
    assert_eq!(api(&emu, "GET", &backwards, None).status, 422);
    assert_eq!(
        api(
            &emu,
            "GET",
            &format!("/v1/metrics/deployment/{id}?steps=fast"),
            None
        )
        .status,
        400
    );
    assert_eq!(
        api(
            &emu,
            "GET",
            &format!("/v1/metrics/deployment/{id}?start_time=soon"),
            None
        )
        .status,
        400
    );
    assert_eq!(
        status_of(&emu, "GET", "/v1/metrics/deployment/000000000000"),
        404
    );
}

#[test]
fn container_logs_are_gone_once_terminated_unless_configured() {
    for keep in [false, true] {
        let mut builder = game_v1_builder().lifecycle_step(Duration::ZERO);
        if keep {
            builder = builder.logs_after_termination(true);
        }
        let emu = builder.start().expect("starts");
        let id = deploy_ready(&emu);
        let path = format!("/v1/deployment/{id}/container-logs");
        assert_eq!(api(&emu, "GET", &path, None).status, 200);
        assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{id}")), 200);
        wait_status(&emu, &id, "Status.TERMINATED");
        let after = api(&emu, "GET", &path, None);
        if keep {
            assert_eq!(after.status, 200, "{after:?}");
            assert!(after.json["logs"].is_string());
        } else {
            assert_eq!(after.status, 404, "{after:?}");
            assert!(after.message().contains("terminated"), "{after:?}");
        }
        assert!(emu.logs(&id).is_some(), "the handle still sees the logs");
    }
}

#[test]
fn metrics_times_need_the_documented_fractional_seconds() {
    let emu = emulator();
    let id = deploy_ready(&emu);
    let with = |start: &str, end: &str| {
        api(
            &emu,
            "GET",
            &format!("/v1/metrics/deployment/{id}?start_time={start}&end_time={end}&steps=1m"),
            None,
        )
    };
    let ok = with("2026-01-01%2000:00:00.00", "2026-01-01%2000:10:00.000000");
    assert_eq!(ok.status, 200, "{ok:?}");
    for (start, end) in [
        ("2026-01-01%2000:00:00", "2026-01-01%2000:10:00.0"),
        ("2026-01-01%2000:00:00.0", "2026-01-01%2000:10:00"),
        ("2026-01-01T00:00:00.0Z", "2026-01-01%2000:10:00.0"),
        ("2026-01-01%2000:00:00.1234567", "2026-01-01%2000:10:00.0"),
    ] {
        let answer = with(start, end);
        assert_eq!(answer.status, 400, "{start} {end}: {answer:?}");
        assert!(
            answer.message().contains("%Y-%m-%d %H:%M:%S.%f"),
            "{answer:?}"
        );
    }
}
