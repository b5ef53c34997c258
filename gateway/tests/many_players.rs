//! 20 players deploy at once through one gateway: each gets a server of their own, owned by
//! them alone, and the gateway's budget keeps Edgegap's rate limits (on in the emulator) from
//! ever answering 429.

mod support;

use std::collections::BTreeSet;

use edgegap_emulator::Route;
use support::*;

const PLAYERS: usize = 20;

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
