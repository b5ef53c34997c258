//! Edgegap's documented rate limits: 429 with `Retry-After`, on by default, removable.

mod support;

use edgegap_emulator::{Emulator, Route};
use support::api;

#[test]
fn documented_rate_limit_answers_429_with_retry_after() {
    let emu = Emulator::builder()
        .token("t")
        .rate_limit(Route::Status, 2)
        .start()
        .expect("starts");
    let statuses: Vec<u16> = (0..6)
        .map(|_| api(&emu, "GET", "/v1/status/000000000000", None).status)
        .collect();
    assert_eq!(
        statuses[..2],
        [404, 404],
        "a burst up to the limit passes: {statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    let limited = loop {
        let answer = api(&emu, "GET", "/v1/status/000000000000", None);
        if answer.status == 429 {
            break answer;
        }
    };
    let secs: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!(secs >= 1);
    assert!(limited.json["message"].is_string());
    assert!(
        emu.request_count(Route::Status) >= 7,
        "429s still count as requests"
    );
    assert_eq!(
        api(&emu, "GET", "/v1/locations", None).status,
        200,
        "other routes unaffected"
    );
}

#[test]
fn default_limits_apply_and_can_be_removed() {
    let limited = Emulator::builder().token("t").start().expect("starts");
    let statuses: Vec<u16> = (0..30)
        .map(|_| api(&limited, "GET", "/v1/deployments", None).status)
        .collect();
    assert!(
        statuses.contains(&429),
        "list is limited to 10/s by default: {statuses:?}"
    );
    let free = Emulator::builder()
        .token("t")
        .without_rate_limits()
        .start()
        .expect("starts");
    let statuses: Vec<u16> = (0..30)
        .map(|_| api(&free, "GET", "/v1/deployments", None).status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}
