//! Replicas sharing state through a real `redis-server` (started by the tests on a free
//! loopback port, no persistence): the `RedisStore` semantics, and two gateways in front of
//! one emulator agreeing on idempotency keys and quotas.

mod support;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edgegap_gateway::RedisStore;
use edgegap_gateway::store::{Claim, Store};
use support::*;

/// A `redis-server` of our own; killed (by its handle) on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::on_port(port)
    }

    /// A server on `port`, once it listens.
    fn on_port(port: u16) -> Self {
        let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("redis-server is needed for the replica tests (apt-get install redis-server)");
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let redis = Self { child, port };
        wait_until("redis-server to listen", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let store = RedisStore::new(&redis.url()).unwrap();
    block(async {
        let window = Duration::from_secs(60);
        assert_eq!(
            store.claim_idempotency("a", "k", window).await.unwrap(),
            Claim::New
        );
        assert_eq!(
            store.claim_idempotency("a", "k", window).await.unwrap(),
            Claim::InProgress
        );
        assert_eq!(
            store.claim_idempotency("b", "k", window).await.unwrap(),
            Claim::New
        );
        store
            .finish_idempotency("a", "k", Some("id1".into()), window)
            .await
            .unwrap();
        assert_eq!(
            store.claim_idempotency("a", "k", window).await.unwrap(),
            Claim::Done("id1".into())
        );
        store
            .finish_idempotency("b", "k", None, window)
            .await
            .unwrap();
        assert_eq!(
            store.claim_idempotency("b", "k", window).await.unwrap(),
            Claim::New
        );

        assert!(store.reserve_live("o", 2).await.unwrap());
        assert!(store.reserve_live("o", 2).await.unwrap());
        assert!(!store.reserve_live("o", 2).await.unwrap());
        store.commit_live("o", Some("x".into())).await.unwrap();
        store.commit_live("o", None).await.unwrap();
        assert_eq!(store.live("o").await.unwrap(), vec!["x".into()]);
        assert!(store.reserve_live("o", 2).await.unwrap());
        assert!(!store.reserve_live("o", 2).await.unwrap());
        store.commit_live("o", None).await.unwrap();
        store.remove_live("o", &"x".into()).await.unwrap();
        store
            .add_live(vec![("o".into(), "y".into()), ("p".into(), "z".into())])
            .await
            .unwrap();
        assert_eq!(store.live("o").await.unwrap(), vec!["y".into()]);
        assert_eq!(store.live("p").await.unwrap(), vec!["z".into()]);

        let none = Duration::ZERO;
        for _ in 0..3 {
            assert_eq!(
                store.acquire("b", 1.0, 3, none).await.unwrap(),
                Ok(Duration::ZERO)
            );
        }
        let refused = store.acquire("b", 1.0, 3, none).await.unwrap().unwrap_err();
        assert!(refused > Duration::from_millis(900), "{refused:?}");
        let wait = store
            .acquire("b", 1.0, 3, Duration::from_secs(2))
            .await
            .unwrap()
            .unwrap();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert_eq!(
            store.acquire("c", 1.0, 1, none).await.unwrap(),
            Ok(Duration::ZERO)
        );
    });
    // A second store on the same server sees the same state (another replica).
    let other = RedisStore::new(&redis.url()).unwrap();
    assert_eq!(block(other.live("o")).unwrap(), vec!["y".into()]);
}

#[test]
fn two_replicas_share_idempotency_keys_and_quotas() {
    let redis = Redis::start();
    let emu = emulator();
    let a = builder(&emu).redis(redis.url()).start().unwrap();
    let b = builder(&emu).redis(redis.url()).start().unwrap();
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
    let port = redis.port;
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
    assert_eq!(down.status, 503, "{}", down.text);
    assert!(down.header("retry-after").is_some());
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
