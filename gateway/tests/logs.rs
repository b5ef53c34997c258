//! The gateway's log stays the operator's: a player cannot write lines into it (a `sub` with a
//! newline is refused, ids are logged quoted) nor flood it (a refusal for lack of budget warns
//! once per while, not once per request).

mod support;

use std::time::{Duration, Instant};

use edgegap_gateway::GatewayBuilder;
use serde_json::json;
use support::*;

#[test]
fn a_player_cannot_forge_a_log_line() {
    let emu = emulator();
    let gw = gateway(&emu);
    let forged = "mallory\nINFO edgegap_gateway::service::deploy: forged-line-5c1e";
    let token = signed(SECRET, &json!({ "sub": forged, "exp": now() + 600 }));
    let answer = deploy(&gw, &token, None);
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_eq!(status(&gw, &token, "a69f8e3e0555").status, 401);
    let logs = logs();
    assert!(
        !logs
            .lines()
            .any(|l| l.starts_with("INFO edgegap_gateway::service::deploy: forged-line")),
        "a player wrote a line of the log:\n{logs}"
    );
}

#[test]
fn budget_refusals_warn_once_in_a_while_not_once_per_request() {
    const REFUSALS: usize = 20;
    let emu = emulator();
    let mut config = builder(&emu).max_live_per_player(100).config().clone();
    config.budget.deploy_per_second = 1;
    config.budget.max_wait_ms = 0;
    let gw = GatewayBuilder::from_config(config).start().unwrap();
    let warnings = || {
        logs()
            .lines()
            .filter(|l| l.contains(" WARN ") && l.contains("upstream budget `upstream:deploy`"))
            .count()
    };
    let before = warnings();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30);
    let mut refused = 0;
    let mut player = 0;
    while refused < REFUSALS {
        assert!(Instant::now() < deadline, "only {refused} budget refusals");
        player += 1;
        let answer = deploy(&gw, &token(&format!("player-{player}")), None);
        match answer.status {
            202 => {}
            503 => refused += 1,
            other => panic!("{other}: {}", answer.text),
        }
    }
    let elapsed = started.elapsed();
    let logged = warnings() - before;
    // One warning per 10 s at most (with its count of refusals), whatever the machine's speed.
    let allowed = 1 + usize::try_from(elapsed.as_secs() / 10).unwrap();
    assert!(
        logged <= allowed,
        "{logged} budget warnings for {refused} refusals in {elapsed:?}"
    );
    assert!(logged >= 1, "the refusals were not logged at all");
}
