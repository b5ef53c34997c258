//! Redis is a trust boundary: what a Redis writer forges cannot decide who owns a server (status
//! records are authenticated, and checked against the player's known deployments), a time from
//! Redis cannot pin a status in the future, two environments sharing one Redis share no key,
//! and `rediss://` (TLS, with the operator's CA) works; the ACL the README gives the gateway's
//! Redis user is enough, and keeps it in its prefix. Each test plays the writer with a plain
//! Redis connection, as anyone who can reach that Redis could.

mod support;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edgegap_emulator::Route;
use edgegap_gateway::RedisStore;
use edgegap_gateway::store::{StatusRecord, Store};
use support::*;

/// Longer than any test: the views never refresh on their own within one.
const FOREVER: Duration = Duration::from_secs(300);

fn now_us() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}

fn replace(haystack: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8_lossy(haystack)
        .replace(from, to)
        .into_bytes()
}

#[test]
fn a_forged_status_record_does_not_let_one_player_stop_anothers_server() {
    let redis = Redis::start();
    let emu = emulator();
    let replica = || {
        builder(&emu)
            .redis(redis.url())
            .status_interval(FOREVER)
            .start()
            .unwrap()
    };
    let (a, b) = (replica(), replica());
    let (alice, bob) = (token("alice"), token("bob"));
    let id = deploy(&a, &alice, None).request_id();
    wait_ready(&a, &alice, &id);
    let bobs = deploy(&a, &bob, None).request_id();
    let (alice_tag, bob_tag) = (owner_tag(&emu, &id), owner_tag(&emu, &bobs));

    // The writer rewrites alice's status record so that it carries bob's owner tag, dated
    // now, and adds alice's server to bob's live deployments.
    let mut writer = redis_writer(&redis.url());
    let snap = redis_key(&mut writer, &format!("snap:{id}"));
    let record: Vec<u8> = redis::cmd("GET").arg(&snap).query(&mut writer).unwrap();
    let forged = replace(&record, &alice_tag, &bob_tag);
    let digits = forged.iter().take_while(|b| b.is_ascii_digit()).count();
    let forged = [now_us().to_string().as_bytes(), &forged[digits..]].concat();
    let () = redis::cmd("SET")
        .arg(&snap)
        .arg(forged)
        .query(&mut writer)
        .unwrap();
    let live = redis_key(&mut writer, &format!("live:{bob_tag}"));
    let _: i64 = redis::cmd("SADD")
        .arg(&live)
        .arg(&id)
        .query(&mut writer)
        .unwrap();

    // Bob, on the replica that never read alice's server itself.
    let stopped = stop(&b, &bob, &id);
    assert_eq!(
        stopped.status, 404,
        "bob stopped alice's server: {}",
        stopped.text
    );
    let seen = status(&b, &bob, &id);
    assert_eq!(seen.status, 404, "bob read alice's server: {}", seen.text);
    let info = emu.deployment(&id).unwrap();
    assert_eq!(info.stopped_by, None, "bob stopped alice's server");
    assert_eq!(info.status, "Status.READY");
    assert_eq!(emu.request_count(Route::Stop), 0);
    // Bob got as far as the record (his live set was forged too): its MAC refused it.
    assert!(logs().contains(&format!(
        "the status record of `{id}` in Redis does not verify"
    )));
    // Alice's own view is intact, on both replicas.
    assert_eq!(current(&status(&b, &alice, &id)), "Status.READY");
}

#[test]
fn a_status_record_dated_in_the_future_does_not_stick() {
    let redis = Redis::start();
    let emu = emulator();
    let setup = builder(&emu)
        .redis(redis.url())
        .status_interval(Duration::from_millis(200));
    let replica = RedisStore::for_config(setup.config()).unwrap();
    let gw = setup.start().unwrap();
    let alice = token("alice");
    let id = deploy(&gw, &alice, None).request_id();
    let ready = wait_ready(&gw, &alice, &id);

    // A replica whose clock is a day ahead shares a record (authentic, but dated tomorrow)
    // that says the server failed.
    let tomorrow = now_us() + 86_400 * 1_000_000;
    let failed = bevy_edgegap::api::HttpResponse::new(
        200,
        ready.text.replace("Status.READY", "Status.ERROR"),
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(replica.put_record(
            &id,
            StatusRecord {
                read_at_us: tomorrow,
                response: failed,
            },
            FOREVER,
        ))
        .unwrap();
    // Whatever was made of it, once its key is gone the real status comes back within the
    // interval and the allowed skew.
    let mut writer = redis_writer(&redis.url());
    let snap = format!("snap:{id}");
    for key in redis_keys(&mut writer)
        .iter()
        .filter(|k| k.ends_with(&snap))
    {
        let _: i64 = redis::cmd("DEL").arg(key).query(&mut writer).unwrap();
    }
    wait_until("the real status again", || {
        let answer = status(&gw, &alice, &id);
        // 429: alice's own read budget; she asks again.
        answer.status == 200 && current(&answer) == "Status.READY"
    });
}

#[test]
fn two_environments_sharing_one_redis_share_no_key() {
    let redis = Redis::start();
    let emu = emulator();
    let environment = |owner_key: &str| {
        builder(&emu)
            .redis(redis.url())
            .owner_key(owner_key)
            .start()
            .unwrap()
    };
    let production = environment("production-owner-key-5d0c2a97e3b14f68");
    let staging = environment("staging-owner-key-a81f3c6e92d04b57");
    let alice = token("alice");
    for gw in [&production, &staging] {
        let id = deploy(gw, &alice, Some("join")).request_id();
        wait_ready(gw, &alice, &id);
    }
    let keys = redis_keys(&mut redis_writer(&redis.url()));
    let budgets: Vec<&String> = keys
        .iter()
        .filter(|k| k.ends_with("bucket:upstream:deploy"))
        .collect();
    assert_eq!(
        budgets.len(),
        2,
        "one deploy budget for both environments: {keys:?}"
    );
    let prefix = |key: &str| key.split(':').take(2).collect::<Vec<_>>().join(":");
    let prefixes: std::collections::BTreeSet<String> = keys.iter().map(|k| prefix(k)).collect();
    assert_eq!(prefixes.len(), 2, "{keys:?}");
}

#[test]
fn rediss_with_the_operators_ca_works() {
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");
    let port = free_port();
    let mut command = Command::new(require("redis-server"));
    command
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .args(["--tls-port", &port.to_string()])
        .args(["--tls-cert-file", &format!("{keys}/redis-server.pem")])
        .args(["--tls-key-file", &format!("{keys}/redis-server.key")])
        .args(["--tls-ca-cert-file", &format!("{keys}/redis-ca.pem")])
        .args([
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
    let _tls = Spawned::start(
        command,
        port,
        "redis-server with TLS",
        Duration::from_secs(10),
    );
    let emu = emulator();
    let url = format!("rediss://127.0.0.1:{port}/");
    let mut config = builder(&emu).redis(&url).config().clone();
    config.redis_ca_file = Some(format!("{keys}/redis-ca.pem"));
    let gw = edgegap_gateway::GatewayBuilder::from_config(config)
        .start()
        .unwrap();
    let alice = token("alice");
    let deployed = deploy(&gw, &alice, Some("over-tls"));
    assert_eq!(deployed.status, 202, "{}", deployed.text);
    let replay = deploy(&gw, &alice, Some("over-tls"));
    assert_eq!(
        replay.request_id(),
        deployed.request_id(),
        "Redis kept the key"
    );
    wait_ready(&gw, &alice, &deployed.request_id());

    // Without the operator's CA, the server's certificate is not believed: no shared state.
    let untrusting = builder(&emu).redis(&url).start().unwrap();
    let refused = deploy(&untrusting, &token("bob"), Some("k"));
    assert_eq!(refused.status, 503, "{}", refused.text);
}

/// The ACL the README gives the gateway's Redis user, after `~<prefix>* &<prefix>*`.
const README_ACL: &[&str] = &[
    "+@read",
    "+@write",
    "+@scripting",
    "+@pubsub",
    "+ping",
    "+time",
    "-@dangerous",
];

#[test]
fn the_acl_the_readme_gives_is_enough_and_keeps_the_gateway_in_its_prefix() {
    let redis = Redis::start();
    let emu = emulator();
    let prefix = "my-game:prod:";
    let mut admin = redis_writer(&redis.url());
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER")
        .arg("gateway")
        .arg("on")
        .arg(">a-long-redis-password-for-the-gateway")
        .arg(format!("~{prefix}*"))
        .arg(format!("&{prefix}*"))
        .arg(README_ACL);
    let () = acl.query(&mut admin).unwrap();
    let url = format!(
        "redis://gateway:a-long-redis-password-for-the-gateway@127.0.0.1:{}/",
        redis.port()
    );
    let mut config = builder(&emu).redis(&url).config().clone();
    config.redis_prefix = Some(prefix.into());
    let gw = edgegap_gateway::GatewayBuilder::from_config(config)
        .start()
        .unwrap();
    let alice = token("alice");
    let id = deploy(&gw, &alice, Some("acl")).request_id();
    assert_eq!(
        deploy(&gw, &alice, Some("acl")).request_id(),
        id,
        "the key was kept"
    );
    wait_ready(&gw, &alice, &id);
    assert_eq!(status(&gw, &token("bob"), &id).status, 404);
    assert!(matches!(stop(&gw, &alice, &id).status, 200 | 202));
    assert_eq!(
        send("GET", &format!("{}/readyz", gw.base_url()), &[], None).status,
        200
    );
    let keys = redis_keys(&mut admin);
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k.starts_with(prefix)),
        "{keys:?}"
    );
    // That user can touch nothing else.
    let mut user = redis_writer(&url);
    let refused: redis::RedisResult<()> =
        redis::cmd("SET").arg("other:key").arg("1").query(&mut user);
    assert!(refused.is_err());
    let refused: redis::RedisResult<()> = redis::cmd("FLUSHALL").query(&mut user);
    assert!(refused.is_err());
}
