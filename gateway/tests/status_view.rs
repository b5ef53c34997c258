//! The gateway at scale: coalesced status reads (at most one upstream read per deployment per
//! interval, however many clients ask; in bulk, one page of the list for many deployments),
//! long-poll (`?since=<Status.X>&wait=<seconds>`), and webhooks that wake held requests: a READY
//! carrying its owner's proof at once, any other after one confirming read. Everything is
//! counted with the emulator's request log, never timed.

mod support;

use std::time::Duration;

use edgegap_emulator::Route;
use support::*;

/// Longer than any test: the view never refreshes on its own within one.
const FOREVER: Duration = Duration::from_secs(300);

#[test]
fn many_clients_polling_one_deployment_cause_one_upstream_read_per_interval() {
    const CLIENTS: usize = 12;
    const POLLS: usize = 15;
    let emu = emulator();
    let gw = builder(&emu)
        .max_live_per_player(2)
        .status_interval(FOREVER)
        .start()
        .unwrap();
    let (alice, [first, _], reads) = poll_two_ready(&emu, &[&gw], CLIENTS, POLLS);
    let after = upstream_reads(&emu);
    assert!(
        (1..=2).contains(&reads),
        "{reads} upstream reads for {} client reads of two deployments within one interval",
        CLIENTS * POLLS
    );
    // Both READY on the list's first page: no status read at all.
    assert_eq!(emu.request_count(Route::Status), 0);
    // Another player still gets 404 from the same view, with no upstream read.
    assert_eq!(status(&gw, &token("mallory"), &first).status, 404);
    assert_eq!(upstream_reads(&emu), after);

    // A stop makes the view out of date: the next read goes upstream and shows it.
    assert!(matches!(stop(&gw, &alice, &first).status, 200 | 202));
    let after_stop = current(&status(&gw, &alice, &first));
    assert!(
        matches!(
            after_stop.as_str(),
            "Status.TERMINATING" | "Status.TERMINATED"
        ),
        "{after_stop}"
    );
}

#[test]
fn a_short_interval_refreshes_the_view_and_clients_see_the_lifecycle() {
    let emu = emulator_with(|b| b.lifecycle_step(Duration::from_millis(150)));
    let gw = builder(&emu)
        .status_interval(Duration::from_millis(50))
        .start()
        .unwrap();
    let alice = token("alice");
    let id = deploy(&gw, &alice, None).request_id();
    // Fed only by coalesced reads, the player still reaches READY.
    wait_ready(&gw, &alice, &id);
}

#[test]
fn a_held_status_request_is_answered_when_the_deployment_moves_on() {
    let emu = emulator();
    let gw = builder(&emu).status_interval(FOREVER).start().unwrap();
    let alice = token("alice");
    let id = deploy(&gw, &alice, None).request_id();
    // READY "at once" is still a step of the emulator's lifecycle task: wait for it.
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));
    assert_eq!(current(&status(&gw, &alice, &id)), "Status.READY");
    let reads = emu.request_count(Route::Status);
    // READY = since: held, not answered, until the stop.
    let held = while_held(&gw, &alice, &id, "since=Status.READY&wait=20", || {
        assert!(matches!(stop(&gw, &alice, &id).status, 200 | 202));
    });
    let moved_on = current(&held);
    assert!(
        matches!(
            moved_on.as_str(),
            "Status.TERMINATING" | "Status.TERMINATED"
        ),
        "{moved_on}"
    );
    assert_eq!(gw.held_requests(), 0);
    // Held from the view: the stop's ownership check is answered from the view, and the one
    // read is the one after the stop.
    assert_eq!(emu.request_count(Route::Status) - reads, 1);

    // Moving on by itself (no stop, no webhooks): the held request re-reads every interval.
    let emu = emulator();
    let gw = builder(&emu)
        .allow(APP, GATED)
        .status_interval(Duration::from_millis(50))
        .start()
        .unwrap();
    let id = deploy_gated(&gw, &alice).request_id();
    assert!(emu.wait_for_status(&id, "Status.DEPLOYING", Duration::from_secs(10)));
    assert_eq!(current(&status(&gw, &alice, &id)), "Status.DEPLOYING");
    let next = while_held(&gw, &alice, &id, "since=Status.DEPLOYING&wait=20", || {
        let reads = upstream_reads(&emu);
        wait_until("the held request to re-read", || {
            upstream_reads(&emu) > reads
        });
        open_gate(&emu, &id)
    });
    assert_eq!(current(&next), "Status.READY");
}

#[test]
fn a_held_status_request_times_out_with_the_unchanged_status() {
    let emu = emulator();
    let gw = builder(&emu).status_interval(FOREVER).start().unwrap();
    let before = upstream_reads(&emu);
    let alice = token("alice");
    let id = deploy(&gw, &alice, None).request_id();
    // READY "at once" is still a step of the emulator's lifecycle task.
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));
    let answer = status_query(&gw, &alice, &id, "since=Status.READY&wait=1");
    assert_eq!(current(&answer), "Status.READY");
    assert_eq!(answer.json["request_id"], id.as_str());
    // One read for the whole hold.
    assert_eq!(upstream_reads(&emu) - before, 1);
    // No `since`, `wait=0`, or a `since` that differs: answered at once, as before.
    for query in [
        "wait=20",
        "since=Status.READY&wait=0",
        "since=Status.DEPLOYING",
    ] {
        assert_eq!(
            current(&status_query(&gw, &alice, &id, query)),
            "Status.READY"
        );
    }
    // Garbage `wait` is a clear 400; not yours is still 404 (before any hold).
    let bad = status_query(&gw, &alice, &id, "since=Status.READY&wait=soon");
    assert_eq!(bad.status, 400);
    assert!(bad.message().contains("wait"), "{}", bad.text);
    let other = status_query(&gw, &token("bob"), &id, "since=Status.READY&wait=10");
    assert_eq!(other.status, 404);
}

/// A gateway whose deploys carry webhooks pointing at itself, reads every `interval`; it may
/// deploy [`GATED`].
fn webhook_gateway(
    emu: &edgegap_emulator::EmulatorHandle,
    interval: Duration,
) -> edgegap_gateway::GatewayHandle {
    let address = free_address();
    builder(emu)
        .allow(APP, GATED)
        .bind(address)
        .public_url(format!("http://{address}"))
        .status_interval(interval)
        .start()
        .unwrap()
}

/// A deployment of [`GATED`] by `player`, held at DEPLOYING upstream (nothing moves on unless
/// the test opens the gate), which the gateway's first status answer shows.
fn deploying(
    emu: &edgegap_emulator::EmulatorHandle,
    gw: &edgegap_gateway::GatewayHandle,
    player: &str,
) -> String {
    let id = deploy_gated(gw, player).request_id();
    assert!(emu.wait_for_status(&id, "Status.DEPLOYING", Duration::from_secs(10)));
    assert_eq!(current(&status(gw, player, &id)), "Status.DEPLOYING");
    id
}

#[test]
fn ready_reaches_a_long_polling_client_by_webhook_without_waiting_for_the_interval() {
    let emu = emulator();
    let gw = webhook_gateway(&emu, FOREVER);
    let hook = gw
        .webhook_url()
        .expect("a public URL was configured")
        .to_owned();
    assert!(hook.starts_with(&format!("{}/webhooks/", gw.base_url())));
    let before = upstream_reads(&emu);
    let alice = token("alice");
    let id = deploying(&emu, &gw, &alice);
    let first = "Status.DEPLOYING";
    // The view never refreshes on its own (interval: 300 s); only the READY webhook can
    // answer this before its 20 s.
    let answer = while_held(&gw, &alice, &id, &format!("since={first}&wait=20"), || {
        open_gate(&emu, &id)
    });
    assert_eq!(current(&answer), "Status.READY");
    assert_eq!(
        upstream_reads(&emu) - before,
        1,
        "one read when asked (a page of the list); the READY webhook carries its owner's \
         proof and is believed without a read"
    );
    assert_eq!(emu.request_count(Route::Status), 0);
    let proven = gw.webhook_url_for(&owner_tag(&emu, &id)).unwrap();
    assert!(proven.starts_with(&format!("{hook}?owner=")), "{proven}");
    let logged = logs();
    assert!(!logged.contains(&hook), "the webhook secret was logged");
    let proof = proven.rsplit("proof=").next().unwrap();
    assert!(!logged.contains(proof), "a webhook proof was logged");
}

/// A READY body as Edgegap's webhook carries it, for `id` tagged `tags`, at a made-up address
/// (the gated deployment is not READY upstream: only a believed webhook shows this one).
fn ready_body(id: &str, tags: &[&str]) -> String {
    serde_json::json!({
        "request_id": id,
        "current_status": "Status.READY",
        "running": true,
        "fqdn": "believed.example",
        "public_ip": "203.0.113.7",
        "tags": tags,
        "ports": {
            "gameport": { "name": "gameport", "internal": 7777, "external": 31500, "protocol": "UDP" }
        },
    })
    .to_string()
}

/// A webhook gateway and Alice's deployment held at DEPLOYING: `(emulator, gateway, Alice's
/// token, the deployment, her owner tag)`.
fn alice_deploying() -> (
    edgegap_emulator::EmulatorHandle,
    edgegap_gateway::GatewayHandle,
    String,
    String,
    String,
) {
    let emu = emulator();
    let gw = webhook_gateway(&emu, FOREVER);
    let alice = token("alice");
    let id = deploying(&emu, &gw, &alice);
    let owner = owner_tag(&emu, &id);
    (emu, gw, alice, id, owner)
}

#[test]
fn a_proven_ready_webhook_wakes_its_player_with_no_upstream_read() {
    let (emu, gw, alice, id, owner) = alice_deploying();
    let first = "Status.DEPLOYING";
    let hook = gw.webhook_url_for(&owner).unwrap();
    let before = upstream_reads(&emu);
    let answer = while_held(&gw, &alice, &id, &format!("since={first}&wait=20"), || {
        let posted = send("POST", &hook, &[], Some(&ready_body(&id, &[&owner])));
        assert_eq!(posted.status, 204, "{}", posted.text);
    });
    assert_eq!(current(&answer), "Status.READY");
    assert_eq!(answer.json["fqdn"], "believed.example");
    assert_eq!(upstream_reads(&emu) - before, 0, "believed without a read");
    // Later asks are answered from it too, and another player still gets 404.
    assert_eq!(status(&gw, &alice, &id).json["fqdn"], "believed.example");
    assert_eq!(status(&gw, &token("mallory"), &id).status, 404);
    assert_eq!(upstream_reads(&emu) - before, 0);
}

/// Posts each of `lies` (URL, body) about Alice's deployment `id` while her request is held:
/// each costs one confirming status read (the list cannot say ERROR), which shows no change,
/// so the request stays held; then the proven READY wakes it. At most three (the
/// confirmations one deployment gets at once).
fn confirmed_one_by_one(
    emu: &edgegap_emulator::EmulatorHandle,
    gw: &edgegap_gateway::GatewayHandle,
    (alice, id, owner): (&str, &str, &str),
    lies: &[(String, String)],
) {
    let reads = emu.request_count(Route::Status);
    let proven = gw.webhook_url_for(owner).unwrap();
    let answer = while_held(gw, alice, id, "since=Status.DEPLOYING&wait=20", || {
        for (confirmed, (url, body)) in lies.iter().enumerate() {
            let posted = send("POST", url, &[], Some(body));
            assert_eq!(posted.status, 204, "{}", posted.text);
            wait_until("the confirming read", || {
                emu.request_count(Route::Status) == reads + confirmed + 1
            });
        }
        let posted = send("POST", &proven, &[], Some(&ready_body(id, &[owner])));
        assert_eq!(posted.status, 204, "{}", posted.text);
    });
    assert_eq!(current(&answer), "Status.READY");
    assert_eq!(emu.request_count(Route::Status), reads + lies.len());
}

#[test]
fn a_flood_of_proven_webhooks_is_believed_three_times_then_once_per_interval() {
    let (emu, gw, _alice, id, owner) = alice_deploying();
    let hook = gw.webhook_url_for(&owner).unwrap();
    let before = upstream_reads(&emu);
    for _ in 0..10 {
        let posted = send("POST", &hook, &[], Some(&ready_body(&id, &[&owner])));
        assert_eq!(posted.status, 204, "{}", posted.text);
    }
    let text = scrape(&gw);
    let outcome = |outcome| {
        metric_sum(
            &text,
            "edgegap_gateway_webhooks_total",
            &[("outcome", outcome)],
        )
    };
    // The rest are treated as unproven: nobody waits on the deployment, so nothing is read.
    assert_eq!((outcome("believed"), outcome("accepted")), (3.0, 7.0));
    assert_eq!(upstream_reads(&emu), before);
}

#[test]
fn webhooks_short_of_a_proof_for_a_live_deployment_of_their_tag_are_confirmed_by_a_read() {
    let (emu, gw, alice, id, owner) = alice_deploying();
    let bob = deploy_gated(&gw, &token("bob")).request_id();
    let bobs = owner_tag(&emu, &bob);
    let base = gw.webhook_url().unwrap().to_owned();
    let lies = [
        // Alice's tag, a wrong proof.
        (
            format!("{base}?owner={owner}&proof=0123456789abcdef0123456789abcdef"),
            ready_body(&id, &[&owner]),
        ),
        // Bob's proof, about Alice's deployment (tagged hers, or his).
        (
            gw.webhook_url_for(&bobs).unwrap(),
            ready_body(&id, &[&owner]),
        ),
        // Alice's proof, a body without her tag.
        (
            gw.webhook_url_for(&owner).unwrap(),
            ready_body(&id, &["someone-else"]),
        ),
    ];
    confirmed_one_by_one(&emu, &gw, (&alice, &id, &owner), &lies);
}

#[test]
fn a_proven_ready_webhook_a_player_could_not_connect_with_is_confirmed_by_a_read() {
    let (emu, gw, alice, id, owner) = alice_deploying();
    // Alice's proof and tag, READY without a host or a port: the webhook body's shape is not
    // documented, so only what a status read of a READY deployment says is believed.
    let ready = serde_json::from_str::<serde_json::Value>(&ready_body(&id, &[&owner])).unwrap();
    let mut no_port = ready.clone();
    no_port["ports"]["gameport"]["external"] = serde_json::Value::Null;
    let mut no_host = ready;
    no_host["fqdn"] = serde_json::Value::Null;
    no_host["public_ip"] = serde_json::Value::Null;
    let bare = serde_json::json!({
        "request_id": id,
        "current_status": "Status.READY",
        "tags": [owner],
    });
    let proven = gw.webhook_url_for(&owner).unwrap();
    let lies = [no_port, no_host, bare].map(|body| (proven.clone(), body.to_string()));
    confirmed_one_by_one(&emu, &gw, (&alice, &id, &owner), &lies);
}

#[test]
fn a_proven_ready_webhook_after_its_player_stopped_the_deployment_is_not_believed() {
    let (emu, gw, alice, id, owner) = alice_deploying();
    let hook = gw.webhook_url_for(&owner).unwrap();
    // Edgegap stops a deployment that is not READY yet once it is: its READY webhook may
    // still come.
    assert!(matches!(stop(&gw, &alice, &id).status, 200 | 202));
    let first = current(&status(&gw, &alice, &id));
    assert_ne!(first, "Status.READY");
    let reads = emu.request_count(Route::Status);
    let held = while_held(&gw, &alice, &id, &format!("since={first}&wait=20"), || {
        let posted = send("POST", &hook, &[], Some(&ready_body(&id, &[&owner])));
        assert_eq!(posted.status, 204, "{}", posted.text);
        wait_until("the confirming read", || {
            emu.request_count(Route::Status) > reads
        });
        gw.shutdown();
    });
    assert_eq!(current(&held), first);
    assert_ne!(held.json["fqdn"], "believed.example");
}

#[test]
fn forged_webhooks_change_nothing() {
    let emu = emulator();
    let gw = webhook_gateway(&emu, FOREVER);
    let hook = gw.webhook_url().unwrap().to_owned();
    let before = upstream_reads(&emu);
    let alice = token("alice");
    // Held at DEPLOYING: nothing moves on unless the test opens the gate.
    let id = deploying(&emu, &gw, &alice);
    let first = "Status.DEPLOYING";
    let lie = serde_json::json!({ "request_id": id, "current_status": "Status.READY" }).to_string();

    // A wrong secret: 404, and nothing read upstream.
    let base = gw.base_url();
    for url in [
        format!("{base}/webhooks/0123456789abcdef0123456789abcdef"),
        format!("{base}/webhooks/"),
        format!("{hook}x"),
    ] {
        let answer = send("POST", &url, &[], Some(&lie));
        assert_eq!(answer.status, 404, "{url}: {}", answer.text);
    }
    // A webhook about a deployment nobody waits on reads nothing, this one included; a body
    // without an id is 400.
    let unknown = serde_json::json!({ "request_id": "abcdef123456" }).to_string();
    assert_eq!(send("POST", &hook, &[], Some(&unknown)).status, 204);
    assert_eq!(send("POST", &hook, &[], Some(&lie)).status, 204);
    assert_eq!(send("POST", &hook, &[], Some("{}")).status, 400);
    assert_eq!(upstream_reads(&emu) - before, 1);

    // The right secret but a lie, while a request is held: it is confirmed (a page of the
    // list, which shows no change, then one status read, since the list cannot say ERROR),
    // and the held client still sees the truth (answered when the gateway stops).
    let held = while_held(&gw, &alice, &id, &format!("since={first}&wait=20"), || {
        let answer = send("POST", &hook, &[], Some(&lie));
        assert_eq!(answer.status, 204, "{}", answer.text);
        wait_until("the confirming read", || {
            emu.request_count(Route::Status) == 1
        });
        gw.shutdown();
    });
    assert_eq!(current(&held), first);
    assert_eq!(emu.request_count(Route::Status), 1);
    assert_eq!(upstream_reads(&emu) - before, 3);
    assert_eq!(emu.deployment(&id).unwrap().status, first);
}

#[test]
fn without_a_public_url_no_webhook_wakes_a_held_request() {
    let emu = emulator();
    let gw = builder(&emu)
        .allow(APP, GATED)
        .status_interval(FOREVER)
        .start()
        .unwrap();
    assert!(gw.webhook_url().is_none());
    let before = upstream_reads(&emu);
    let alice = token("alice");
    let id = deploying(&emu, &gw, &alice);
    let first = "Status.DEPLOYING";
    let _gate = open_gate(&emu, &id);
    assert!(emu.wait_for_status(&id, "Status.READY", Duration::from_secs(10)));
    // READY upstream, but nothing tells the gateway: the hold ends with the view's status.
    let answer = status_query(&gw, &alice, &id, &format!("since={first}&wait=1"));
    assert_eq!(current(&answer), first);
    assert_eq!(upstream_reads(&emu) - before, 1);
}
