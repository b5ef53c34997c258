//! Replicas sharing state through a real `redis-server` (started by the tests on a free
//! loopback port, no persistence): the `RedisStore` semantics, and two gateways in front of
//! one emulator agreeing on idempotency keys, quotas and the status view (one upstream read
//! per deployment per interval across replicas; a webhook at one wakes requests held on the
//! other). Counted with the emulator's request log, never timed.

mod support;

use std::time::{Duration, Instant};

use edgegap_emulator::Route;
use edgegap_gateway::RedisStore;
use edgegap_gateway::store::{Claim, ReadClaim, StatusRecord, Store, ViewEvent};
use support::*;

/// Longer than any test: the views never refresh on their own within one.
const FOREVER: Duration = Duration::from_secs(300);

/// Longer than any deploy in these tests.
const STALE: Duration = Duration::from_secs(60);

/// The secret the replicas of these tests share (a gateway derives it from its owner key).
const SHARED: &[u8] = b"the replicas' shared secret";

/// A store on `redis`, as a replica's.
fn store_on(redis: &Redis) -> RedisStore {
    RedisStore::new(&redis.url(), SHARED)
        .unwrap()
        .with_timeout(REDIS_TIMEOUT)
}

fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn the_redis_store_keeps_the_store_contract() {
    let redis = Redis::start();
    let store = store_on(&redis);
    block(async {
        let window = Duration::from_secs(60);
        let claim = async |owner: &str| {
            store
                .claim_idempotency(owner, "k", window, STALE)
                .await
                .unwrap()
        };
        assert_eq!(claim("a").await, Claim::New);
        assert_eq!(claim("a").await, Claim::InProgress);
        assert_eq!(claim("b").await, Claim::New);
        store
            .finish_idempotency("a", "k", Some("id1".into()), window)
            .await
            .unwrap();
        assert_eq!(claim("a").await, Claim::Done("id1".into()));
        store
            .finish_idempotency("b", "k", None, window)
            .await
            .unwrap();
        assert_eq!(claim("b").await, Claim::New);

        assert!(store.reserve_live("o", 2, STALE).await.unwrap());
        assert!(store.reserve_live("o", 2, STALE).await.unwrap());
        assert!(!store.reserve_live("o", 2, STALE).await.unwrap());
        store.commit_live("o", Some("x".into())).await.unwrap();
        store.commit_live("o", None).await.unwrap();
        assert_eq!(store.live("o").await.unwrap(), vec!["x".into()]);
        assert!(store.reserve_live("o", 2, STALE).await.unwrap());
        assert!(!store.reserve_live("o", 2, STALE).await.unwrap());
        store.commit_live("o", None).await.unwrap();
        assert!(store.owns("o", &"x".into()).await.unwrap());
        assert!(!store.owns("p", &"x".into()).await.unwrap());
        store.remove_live("o", &"x".into(), STALE).await.unwrap();
        // Ended, still its owner's for `keep`; not once that has passed.
        assert!(store.owns("o", &"x".into()).await.unwrap());
        store
            .remove_live("o", &"w".into(), Duration::from_millis(1))
            .await
            .unwrap();
        store
            .add_live(vec![("o".into(), "y".into()), ("p".into(), "z".into())])
            .await
            .unwrap();
        assert_eq!(store.live("o").await.unwrap(), vec!["y".into()]);
        assert_eq!(store.live("p").await.unwrap(), vec!["z".into()]);
        assert!(store.owns("p", &"z".into()).await.unwrap());
        // `w` was kept for a millisecond only.
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.owns("o", &"w".into()).await.unwrap() {
            assert!(Instant::now() < deadline, "`w` is still owned");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let none = Duration::ZERO;
        // One token per 64 s: the calls below take far less, whatever the machine, and every
        // bound subtracts the time they did take (and a millisecond for Redis's µs clock).
        let (rate, interval) = (1.0 / 64.0, Duration::from_secs(64));
        let started = Instant::now();
        let took = || started.elapsed() + Duration::from_millis(1);
        for _ in 0..3 {
            assert_eq!(
                store.acquire("b", rate, 3, none).await.unwrap(),
                Ok(Duration::ZERO)
            );
        }
        let refused = store
            .acquire("b", rate, 3, none)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            refused <= interval && refused >= interval - took(),
            "{refused:?}"
        );
        let wait = store
            .acquire("b", rate, 3, interval * 2)
            .await
            .unwrap()
            .unwrap();
        assert!(wait <= interval && wait >= interval - took(), "{wait:?}");
        let next = store
            .acquire("b", rate, 3, none)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            next <= interval * 2 && next >= interval * 2 - took(),
            "{next:?}"
        );
        assert_eq!(
            store.acquire("c", rate, 1, none).await.unwrap(),
            Ok(Duration::ZERO)
        );
    });
    // A second store on the same server sees the same state (another replica).
    let other = store_on(&redis);
    assert_eq!(block(other.live("o")).unwrap(), vec!["y".into()]);
}

#[test]
fn two_replicas_share_idempotency_keys_and_quotas() {
    let redis = Redis::start();
    let emu = emulator();
    let [a, b] = replicas(&emu, &redis.url());
    let alice = token("alice");
    let first = deploy(&a, &alice, Some("join-1"));
    assert_eq!(first.status, 202, "{}", first.text);
    // The client's retry lands on the other replica: same server, no second one.
    let retry = deploy(&b, &alice, Some("join-1"));
    assert_eq!(retry.request_id(), first.request_id());
    assert_eq!(emu.deployments().len(), 1);
    // Alice's one live slot is taken on every replica.
    let another = deploy(&b, &alice, Some("join-2"));
    assert_eq!(another.status, 429, "{}", another.text);
    assert_eq!(emu.deployments().len(), 1);
    // Stopped on one replica, the slot is free on the other.
    let id = first.request_id();
    assert!(matches!(stop(&a, &alice, &id).status, 200 | 202));
    let again = deploy(&b, &alice, Some("join-3"));
    assert_eq!(again.status, 202, "{}", again.text);
}

#[test]
fn redis_down_is_503_with_retry_after_and_the_gateway_recovers() {
    let redis = Redis::start();
    let url = redis.url();
    let port = redis.port();
    let emu = emulator();
    let gw = builder(&emu).redis(url).start().unwrap();
    let alice = token("alice");
    // Connected and in use first, so the restart below is a reconnect.
    let before = deploy(&gw, &alice, Some("k0"));
    assert_eq!(before.status, 202, "{}", before.text);
    assert!(matches!(
        stop(&gw, &alice, &before.request_id()).status,
        200 | 202
    ));
    drop(redis);
    let down = deploy(&gw, &alice, Some("k1"));
    assert_retry_later(&down, 503);
    assert_eq!(
        emu.deployments().len(),
        1,
        "nothing deployed while Redis was down"
    );
    // The same server comes back on the same port: the gateway carries on by itself.
    let _back = Redis::on_port(port);
    let mut answer = deploy(&gw, &alice, Some("k2"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while answer.status == 503 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        answer = deploy(&gw, &alice, Some("k2"));
    }
    assert_eq!(answer.status, 202, "{}", answer.text);
}

/// Why the gateways of these tests wait [`REDIS_TIMEOUT`] for Redis: a Redis call that takes
/// longer than `redis_timeout_ms` fails, and the client gets 503 (nothing is deployed); within
/// it, the call waits, and the deploy succeeds. Redis is paused (`CLIENT PAUSE`, in effect once
/// it answers) rather than the machine loaded, so the outcome does not depend on its speed.
#[test]
fn a_redis_stall_longer_than_the_store_timeout_is_503_and_a_shorter_one_is_waited_out() {
    let redis = Redis::start();
    let emu = emulator();
    let pause = |millis: u64| {
        let () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(millis)
            .arg("ALL")
            .query(&mut redis_writer(&redis.url()))
            .unwrap();
    };
    let alice = token("alice");
    let impatient = builder(&emu)
        .redis(redis.url())
        .redis_timeout(Duration::from_millis(200))
        .start()
        .unwrap();
    // Connected and in use first: the stall below is Redis's, not a connection's.
    let first = deploy(&impatient, &alice, Some("before"));
    assert_eq!(first.status, 202, "{}", first.text);
    assert!(matches!(
        stop(&impatient, &alice, &first.request_id()).status,
        200 | 202
    ));
    pause(5000);
    let stalled = deploy(&impatient, &token("bob"), Some("stalled"));
    assert_eq!(stalled.status, 503, "{}", stalled.text);
    assert!(
        stalled.message().contains("shared state"),
        "{}",
        stalled.text
    );
    assert!(stalled.header("retry-after").is_some());
    assert_eq!(emu.deployments().len(), 1, "nothing deployed meanwhile");
    drop(impatient);

    let patient = builder(&emu).redis(redis.url()).start().unwrap();
    let carol = token("carol");
    let ready = deploy(&patient, &carol, Some("warm-up"));
    assert_eq!(ready.status, 202, "{}", ready.text);
    pause(1500);
    let waited = deploy(&patient, &token("dave"), Some("waited"));
    assert_eq!(waited.status, 202, "{}", waited.text);
}

#[test]
fn the_redis_store_shares_status_records_read_locks_and_events() {
    let redis = Redis::start();
    let a = store_on(&redis);
    let b = store_on(&redis);
    let lock = Duration::from_secs(5);
    let keep = Duration::from_secs(60);
    let record = |at: u64, body: &str| StatusRecord {
        read_at_us: at,
        response: bevy_edgegap::api::HttpResponse::new(200, body),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (events_tx, events_rx) = std::sync::mpsc::channel();
    // Subscribed once `listen` answers: every event published from now on reaches b.
    let listener = std::sync::Arc::new(move |event| {
        let _ = events_tx.send(event);
    });
    runtime
        .block_on(async { b.listen(listener).await })
        .expect("b subscribes");
    let stopped = ViewEvent::Invalidated {
        id: "d1".into(),
        at_us: 200,
    };
    runtime.block_on(async {
        // Nothing yet: a takes the read lock, b finds it busy.
        assert_eq!(
            a.claim_read("d1", 100, lock).await.unwrap(),
            ReadClaim::Read
        );
        assert_eq!(
            b.claim_read("d1", 100, lock).await.unwrap(),
            ReadClaim::Busy
        );
        // a's record releases the lock and reaches b, as a record and as an event.
        a.put_record("d1", record(150, "{}"), keep).await.unwrap();
        assert_eq!(
            b.claim_read("d1", 100, lock).await.unwrap(),
            ReadClaim::Fresh(record(150, "{}"))
        );
        // Not fresh enough for a later reader: b may read now.
        assert_eq!(
            b.claim_read("d1", 151, lock).await.unwrap(),
            ReadClaim::Read
        );
        // An older record never replaces a newer one; a release frees the lock.
        b.put_record("d1", record(140, "old"), keep).await.unwrap();
        assert_eq!(
            a.claim_read("d1", 0, lock).await.unwrap(),
            ReadClaim::Fresh(record(150, "{}"))
        );
        assert_eq!(a.claim_read("d2", 0, lock).await.unwrap(), ReadClaim::Read);
        a.release_read("d2").await.unwrap();
        assert_eq!(b.claim_read("d2", 0, lock).await.unwrap(), ReadClaim::Read);
        // A stop makes records read before it unusable, on every replica.
        a.publish(stopped.clone(), keep).await.unwrap();
        assert_eq!(a.claim_read("d1", 0, lock).await.unwrap(), ReadClaim::Read);
        a.put_record("d1", record(190, "before the stop"), keep)
            .await
            .unwrap();
        assert_eq!(b.claim_read("d1", 0, lock).await.unwrap(), ReadClaim::Read);
    });
    let mut events = Vec::new();
    while events.len() < 2 {
        match events_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(event) => events.push(event),
            Err(_) => break,
        }
    }
    assert_eq!(
        events,
        vec![
            ViewEvent::Record {
                id: "d1".into(),
                record: record(150, "{}")
            },
            stopped
        ],
        "b heard a's record and stop, and nothing that was refused"
    );
}

#[test]
fn a_webhook_at_one_replica_wakes_a_request_held_on_the_other() {
    let redis = Redis::start();
    let emu = emulator();
    let a_address = free_address();
    let public = format!("http://{a_address}");
    let a = builder(&emu)
        .redis(redis.url())
        .bind(a_address)
        .public_url(&public)
        .status_interval(FOREVER)
        .start()
        .unwrap();
    // B's deploys point their webhooks at A, as a load balancer may route them. Started, B
    // hears what A publishes.
    let b = builder(&emu)
        .allow(APP, GATED)
        .redis(redis.url())
        .public_url(&public)
        .status_interval(FOREVER)
        .start()
        .unwrap();
    let before = upstream_reads(&emu);
    let alice = token("alice");
    let id = deploy_gated(&b, &alice).request_id();
    assert!(emu.wait_for_status(&id, "Status.DEPLOYING", Duration::from_secs(10)));
    let first = current(&status(&b, &alice, &id));
    assert_eq!(first, "Status.DEPLOYING");
    // Neither view refreshes on its own (interval 300 s): only the READY webhook, delivered to
    // A, can answer this request held on B before its 20 s.
    let answer = while_held(&b, &alice, &id, &format!("since={first}&wait=20"), || {
        open_gate(&emu, &id)
    });
    assert_eq!(current(&answer), "Status.READY");
    assert_eq!(
        upstream_reads(&emu) - before,
        1,
        "one read when asked (a page of the list); the READY webhook, proven, is believed at \
         A and reaches B as a record through the store"
    );
    // A answers from the record it shared: no read.
    assert_eq!(current(&status(&a, &alice, &id)), "Status.READY");
    assert_eq!(upstream_reads(&emu) - before, 1);
    assert_eq!(emu.request_count(Route::Status), 0);
}

#[test]
fn many_clients_polling_through_two_replicas_cause_one_upstream_read_per_deployment() {
    const CLIENTS: usize = 12;
    const POLLS: usize = 15;
    let redis = Redis::start();
    let emu = emulator();
    let replica = || {
        builder(&emu)
            .redis(redis.url())
            .max_live_per_player(2)
            .status_interval(FOREVER)
            .start()
            .unwrap()
    };
    let (a, b) = (replica(), replica());
    let (alice, [first, _], reads) = poll_two_ready(&emu, &[&a, &b], CLIENTS, POLLS);
    assert!(
        (1..=2).contains(&reads),
        "{reads} upstream reads for {} client reads of two deployments through two replicas \
         within one interval",
        CLIENTS * POLLS
    );
    // Both READY on the list's first page, read by one replica for both.
    assert_eq!(emu.request_count(Route::Status), 0);
    // A stop through A makes B's view out of date too: B's next answers show it.
    assert!(matches!(stop(&a, &alice, &first).status, 200 | 202));
    wait_until("B to see the stop", || {
        let seen = current(&status(&b, &alice, &first));
        matches!(seen.as_str(), "Status.TERMINATING" | "Status.TERMINATED")
    });
    // The list cannot say a deployment is stopping: one status read, for both replicas.
    assert_eq!(
        emu.request_count(Route::Status),
        1,
        "one status read after the stop, for both replicas"
    );
}

#[test]
fn with_redis_down_a_replica_answers_only_what_it_read_within_the_interval() {
    let redis = Redis::start();
    let emu = emulator();
    let gw = builder(&emu)
        .redis(redis.url())
        .max_live_per_player(2)
        .status_interval(FOREVER)
        .start()
        .unwrap();
    let alice = token("alice");
    let read = deploy(&gw, &alice, None).request_id();
    let unread = deploy(&gw, &alice, None).request_id();
    assert!(emu.wait_for_status(&read, "Status.READY", Duration::from_secs(10)));
    assert_eq!(current(&status(&gw, &alice, &read)), "Status.READY");
    let reads = emu.request_count(Route::Status);
    drop(redis);
    // Read by this replica within the interval: still the answer.
    assert_eq!(current(&status(&gw, &alice, &read)), "Status.READY");
    // Never read here: no guess, but 503 with Retry-After (the budget lives in Redis too).
    let down = status(&gw, &alice, &unread);
    assert_retry_later(&down, 503);
    assert_eq!(emu.request_count(Route::Status), reads);
}
