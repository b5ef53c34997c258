//! `/healthz` says the process serves (liveness); `/readyz` says it can do its job: its shared
//! store answers and Edgegap answers with the organisation token. A load balancer takes a
//! replica that is not ready out of rotation instead of sending players 503s.

mod support;

use support::*;

fn probe(gw: &edgegap_gateway::GatewayHandle, path: &str) -> Answer {
    send("GET", &format!("{}{path}", gw.base_url()), &[], None)
}

#[test]
fn readyz_checks_the_store_and_edgegap_while_healthz_stays_live() {
    let mut redis = Redis::start();
    let emu = emulator();
    let gw = builder(&emu).redis(redis.url()).start().unwrap();
    let ready = probe(&gw, "/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json["status"], "ready");

    redis.kill();
    let unready = probe(&gw, "/readyz");
    assert_retry_later(&unready, 503);
    assert_eq!(
        probe(&gw, "/healthz").status,
        200,
        "liveness follows the process only"
    );

    // Edgegap refuses the organisation token: not ready either, and the token is not told.
    let refused = builder(&emu)
        .upstream(emu.base_url(), "not-the-organisation-token")
        .start()
        .unwrap();
    let unready = probe(&refused, "/readyz");
    assert_eq!(unready.status, 503, "{}", unready.text);
    assert!(!unready.text.contains("not-the-organisation-token"));
    assert_eq!(probe(&refused, "/healthz").status, 200);

    // Edgegap unreachable.
    let gone = gateway(&emu);
    emu.shutdown();
    wait_until("readyz to see Edgegap gone", || {
        probe(&gone, "/readyz").status == 503
    });
}
