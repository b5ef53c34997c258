//! `GET /metrics`: what each replica counts is what Edgegap (the emulator's request log) saw,
//! in the Prometheus text format, and no label names a player, a token or a deployment.

mod support;

use std::time::Duration;

use support::*;

/// The upstream calls every scrape counts, by endpoint, equal the emulator's (waited for: a
/// call is logged by the emulator before the gateway counts its answer).
fn counts_match(emu: &edgegap_emulator::EmulatorHandle, gateways: &[&dyn Fn() -> String]) {
    wait_until("the scrapes to count what the emulator saw", || {
        let scrapes: Vec<String> = gateways.iter().map(|scrape| scrape()).collect();
        UPSTREAM_ROUTES.iter().all(|(endpoint, route)| {
            let counted: usize = scrapes.iter().map(|s| upstream_counted(s, endpoint)).sum();
            counted == emu.request_count(*route)
        })
    });
}

#[test]
fn a_running_gateway_counts_its_upstream_calls_as_the_emulator_saw_them() {
    let emu = emulator();
    let gw = builder(&emu)
        .public_url("http://127.0.0.1:1")
        .status_interval(Duration::from_millis(200))
        .start()
        .unwrap();
    let player = "alice-7c1e";
    let alice = token(player);
    let deployed = deploy(&gw, &alice, None);
    assert_eq!(deployed.status, 202, "{}", deployed.text);
    let id = deployed.request_id();
    wait_ready(&gw, &alice, &id);
    assert!(matches!(stop(&gw, &alice, &id).status, 200 | 202));
    // A webhook with a wrong secret, and one with the right secret but no body.
    let secret = gw
        .webhook_url()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let hook = format!("{}/webhooks/{secret}", gw.base_url());
    assert_eq!(
        send("POST", &format!("{hook}x"), &[], Some("{}")).status,
        404
    );
    assert_eq!(send("POST", &hook, &[], Some("{}")).status, 400);
    let scrape_gw = || scrape(&gw);
    counts_match(&emu, &[&scrape_gw]);

    let answer = send("GET", &format!("{}/metrics", gw.base_url()), &[], None);
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        answer.header("content-type")
    );
    let text = answer.text;
    assert_eq!(
        upstream_counted(&text, "deploy"),
        1,
        "one deploy upstream\n{text}"
    );
    assert!(upstream_counted(&text, "status") + upstream_counted(&text, "list") >= 1);
    let series = |name: &str, with: &[(&str, &str)]| metric_sum(&text, name, with);
    assert_eq!(
        series(
            "edgegap_gateway_webhooks_total",
            &[("outcome", "wrong_secret")]
        ),
        1.0
    );
    assert_eq!(
        series("edgegap_gateway_webhooks_total", &[("outcome", "bad_body")]),
        1.0
    );
    // The player was told READY once: one latency observed.
    assert_eq!(
        series("edgegap_gateway_ready_notify_seconds_count", &[]),
        1.0
    );
    for gauge in [
        "edgegap_gateway_held_requests",
        "edgegap_gateway_open_connections",
        "edgegap_gateway_live_deployments",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{gauge} "))),
            "no {gauge}\n{text}"
        );
    }
    // Nothing that names who or what: not the player, their token, their owner tag, the
    // deployment, the organisation token or the webhook secret.
    let tag = owner_tag(&emu, &id);
    for secret in [player, &alice, &tag, &id, ORG_TOKEN, &secret] {
        assert!(!text.contains(secret), "`{secret}` in the metrics\n{text}");
    }
}

#[test]
fn two_replicas_each_count_their_own_and_together_what_the_emulator_saw() {
    let redis = Redis::start();
    let emu = emulator();
    let [a, b] = replicas(&emu, &redis.url());
    let (alice, bob) = (token("alice"), token("bob"));
    let first = deploy(&a, &alice, None).request_id();
    let second = deploy(&b, &bob, None).request_id();
    for (player, id) in [(&alice, &first), (&bob, &second)] {
        wait_ready(&a, player, id);
        wait_ready(&b, player, id);
    }
    let (scrape_a, scrape_b) = (|| scrape(&a), || scrape(&b));
    counts_match(&emu, &[&scrape_a, &scrape_b]);
    // Each deployed once, on its own.
    assert_eq!(upstream_counted(&scrape(&a), "deploy"), 1);
    assert_eq!(upstream_counted(&scrape(&b), "deploy"), 1);
}
