//! Every server is its player's alone: another player's deployment answers 404 exactly like an
//! unknown one and is left untouched; twenty players at once each get their own; and Edgegap is
//! the source of truth, so a restarted gateway still knows who owns what and how many servers
//! each player runs (owner tags survive a token rotation with a configured owner key).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use edgegap_emulator::Route;
use support::*;

/// Players deploying at once in `twenty_players_in_parallel_each_get_their_own_server`.
const PLAYERS: usize = 20;

#[test]
fn another_players_deployment_is_404_and_untouched() {
    let emu = emulator();
    let gw = gateway(&emu);
    let (alice, bob) = (token("alice"), token("bob"));
    let id = deploy(&gw, &alice, Some("a-1")).request_id();
    let ready = wait_ready(&gw, &alice, &id);
    assert_eq!(
        ready.json["request_id"],
        id.as_str(),
        "Edgegap's status object, forwarded"
    );

    for answer in [status(&gw, &bob, &id), stop(&gw, &bob, &id)] {
        assert_eq!(answer.status, 404, "{}", answer.text);
        assert_eq!(answer.message(), "deployment not found");
    }
    // An unknown id answers exactly the same, so bob cannot tell the two apart.
    let unknown = status(&gw, &bob, "0123456789ab");
    assert_eq!(
        (unknown.status, unknown.text.clone()),
        (404, status(&gw, &bob, &id).text)
    );
    // Ids that are not ids never reach Edgegap.
    let before = upstream_calls(&emu);
    assert_eq!(status(&gw, &bob, "..%2F..%2Fv1%2Fdeployments").status, 404);
    assert_eq!(upstream_calls(&emu), before);

    let info = emu.deployment(&id).unwrap();
    assert_eq!(info.status, "Status.READY");
    assert_eq!(info.stopped_by, None, "bob stopped alice's server");

    let stopped = stop(&gw, &alice, &id);
    assert!(matches!(stopped.status, 200 | 202), "{}", stopped.text);
    assert!(emu.wait_for_status(&id, "Status.TERMINATED", Duration::from_secs(10)));
    assert_eq!(
        emu.deployment(&id).unwrap().stopped_by.as_deref(),
        Some("api")
    );
}

#[test]
fn twenty_players_in_parallel_each_get_their_own_server() {
    let emu = emulator();
    let gw = gateway(&emu);
    let ids: Vec<(String, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PLAYERS)
            .map(|i| {
                let gw = &gw;
                scope.spawn(move || {
                    let player = format!("player-{i}");
                    let token = token(&player);
                    let answer = deploy(gw, &token, Some(&format!("join-{i}")));
                    assert_eq!(answer.status, 202, "{player}: {}", answer.text);
                    let id = answer.request_id();
                    let ready = wait_ready(gw, &token, &id);
                    assert!(ready.json["ports"]["gameport"]["external"].is_u64());
                    (player, id)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });

    let distinct: BTreeSet<&String> = ids.iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), PLAYERS, "two players share a server");
    assert_eq!(
        emu.deployments().len(),
        PLAYERS,
        "duplicated or lost servers"
    );
    // One owner tag per server, all different.
    let owners: BTreeSet<String> = emu
        .deployments()
        .iter()
        .map(|d| {
            let owner: Vec<&String> = d
                .tags
                .iter()
                .filter(|t| t.starts_with(edgegap_gateway::OWNER_TAG_PREFIX))
                .collect();
            assert_eq!(owner.len(), 1, "{:?}", d.tags);
            owner[0].clone()
        })
        .collect();
    assert_eq!(owners.len(), PLAYERS);
    // Each player sees only their own.
    let (_, first) = &ids[0];
    assert_eq!(status(&gw, &token("player-1"), first).status, 404);

    let rate_limited = emu.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(
        rate_limited, 0,
        "the gateway went over Edgegap's rate limits"
    );

    for (player, id) in &ids {
        let answer = stop(&gw, &token(player), id);
        assert!(matches!(answer.status, 200 | 202), "{}", answer.text);
    }
    assert_eq!(emu.request_count(Route::Stop), PLAYERS);
}

#[test]
fn a_restarted_gateway_loses_nothing() {
    let emu = emulator();
    let alice = token("alice");
    let id = {
        let first = gateway(&emu);
        let id = deploy(&first, &alice, Some("k")).request_id();
        wait_ready(&first, &alice, &id);
        id
        // dropped: stopped
    };
    let lists_before = emu.request_count(Route::ListDeployments);
    let second = gateway(&emu);
    assert!(
        emu.request_count(Route::ListDeployments) > lists_before,
        "no rebuild at start"
    );
    // Ownership comes from Edgegap's tags.
    assert_eq!(status(&second, &alice, &id).status, 200);
    assert_eq!(status(&second, &token("bob"), &id).status, 404);
    // The live count was rebuilt: alice's quota (1) is still used.
    let refused = deploy(&second, &alice, Some("k2"));
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(emu.deployments().len(), 1);
    assert!(matches!(stop(&second, &alice, &id).status, 200 | 202));
}

#[test]
fn owner_tags_survive_a_token_rotation_with_a_configured_owner_key() {
    let emu = emulator();
    let alice = token("alice");
    let start = || {
        builder(&emu)
            .owner_key("a-stable-owner-key")
            .start()
            .unwrap()
    };
    let id = deploy(&start(), &alice, None).request_id();
    let derived = gateway(&emu); // owner key derived from the token: other tags
    assert_eq!(status(&derived, &alice, &id).status, 404);
    assert_eq!(status(&start(), &alice, &id).status, 200);
}
