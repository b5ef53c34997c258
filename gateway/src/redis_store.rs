//! [`RedisStore`]: the [`Store`] shared by gateway replicas through Redis (or Valkey).
//!
//! Every operation that reads then writes is one Lua script, so replicas never race. Token
//! buckets use the Redis server's clock (`TIME`), so replicas with skewed clocks agree. Live
//! reservations expire after ten minutes, so a replica killed mid-deploy frees its slot.
//! The connection is made on first use and re-made after a failure; meanwhile every store
//! call fails with [`StoreError`], which clients see as 503 with `Retry-After`.

use std::time::Duration;

use bevy_edgegap::api::RequestId;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use crate::store::{Claim, Store, StoreError, StoreFuture};

/// How long a live-slot reservation survives a replica that never commits it.
const RESERVATION_TTL_MS: u64 = 600_000;

const CLAIM: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'pending', 'PX', ARGV[1])
  return 'new'
end
return v
";

const RESERVE: &str = r"
local used = redis.call('SCARD', KEYS[1]) + tonumber(redis.call('GET', KEYS[2]) or '0')
if used < tonumber(ARGV[1]) then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
";

const COMMIT: &str = r"
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end
if ARGV[1] ~= '' then
  redis.call('SADD', KEYS[1], ARGV[1])
end
return 1
";

/// Microseconds. Returns the wait (>= 0), or -(retry_after + 1) when it is over `max_wait`.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local full = tonumber(redis.call('GET', KEYS[1]) or '0')
if full < now then full = now end
full = full + tonumber(ARGV[1])
local wait = full - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
if wait <= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], string.format('%.0f', full), 'PX', math.floor((full - now) / 1000) + 1000)
  return wait
end
return -(wait - tonumber(ARGV[3])) - 1
";

/// A [`Store`] in Redis, shared by every gateway replica pointing at the same server.
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn failed(error: &redis::RedisError) -> StoreError {
    // The kind only: a message could echo the URL and its password.
    StoreError(format!("redis: {:?}", error.kind()))
}

impl RedisStore {
    /// A store at `url` (`redis://host:port/db`, `rediss://` with TLS not built in). Nothing
    /// is connected until first use.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| failed(&e))?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            prefix: "edgegap-gateway:".into(),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| self.client.get_connection_manager_with_config(config))
            .await
            .cloned()
            .map_err(|e| failed(&e))
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    async fn script<T: redis::FromRedisValue>(
        &self,
        source: &str,
        keys: &[String],
        args: &[String],
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        let script = redis::Script::new(source);
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| failed(&e))
    }

    async fn command<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        cmd.query_async(&mut connection)
            .await
            .map_err(|e| failed(&e))
    }

    fn live_keys(&self, owner: &str) -> [String; 2] {
        [self.key(&["live", owner]), self.key(&["reserved", owner])]
    }
}

fn millis(window: Duration) -> String {
    window
        .as_millis()
        .clamp(1, u128::from(u64::MAX))
        .to_string()
}

impl Store for RedisStore {
    fn claim_idempotency<'a>(
        &'a self,
        owner: &'a str,
        key: &'a str,
        window: Duration,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let slot = self.key(&["idem", owner, key]);
            let found: String = self.script(CLAIM, &[slot], &[millis(window)]).await?;
            Ok(match found.strip_prefix("done:") {
                Some(id) => Claim::Done(RequestId::from(id)),
                None if found == "new" => Claim::New,
                None => Claim::InProgress,
            })
        })
    }

    fn finish_idempotency<'a>(
        &'a self,
        owner: &'a str,
        key: &'a str,
        outcome: Option<RequestId>,
        window: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let slot = self.key(&["idem", owner, key]);
            let mut cmd = redis::cmd(if outcome.is_some() { "SET" } else { "DEL" });
            cmd.arg(&slot);
            if let Some(id) = outcome {
                cmd.arg(format!("done:{id}")).arg("PX").arg(millis(window));
            }
            let _: redis::Value = self.command(cmd).await?;
            Ok(())
        })
    }

    fn reserve_live<'a>(&'a self, owner: &'a str, max: u32) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let ok: i64 = self
                .script(
                    RESERVE,
                    &self.live_keys(owner),
                    &[max.to_string(), RESERVATION_TTL_MS.to_string()],
                )
                .await?;
            Ok(ok == 1)
        })
    }

    fn commit_live<'a>(&'a self, owner: &'a str, id: Option<RequestId>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let id = id.map(|id| id.as_str().to_owned()).unwrap_or_default();
            let _: i64 = self.script(COMMIT, &self.live_keys(owner), &[id]).await?;
            Ok(())
        })
    }

    fn live<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<RequestId>> {
        Box::pin(async move {
            let [ids, _] = self.live_keys(owner);
            let mut found: Vec<String> = self
                .command(redis::cmd("SMEMBERS").arg(ids).clone())
                .await?;
            found.sort();
            Ok(found.into_iter().map(RequestId::from).collect())
        })
    }

    fn remove_live<'a>(&'a self, owner: &'a str, id: &'a RequestId) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let [ids, _] = self.live_keys(owner);
            let _: i64 = self
                .command(redis::cmd("SREM").arg(ids).arg(id.as_str()).clone())
                .await?;
            Ok(())
        })
    }

    fn add_live(&self, found: Vec<(String, RequestId)>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            for (owner, id) in found {
                let [ids, _] = self.live_keys(&owner);
                let _: i64 = self
                    .command(redis::cmd("SADD").arg(ids).arg(id.as_str()).clone())
                    .await?;
            }
            Ok(())
        })
    }

    fn acquire<'a>(
        &'a self,
        name: &'a str,
        per_second: f64,
        burst: u32,
        max_wait: Duration,
    ) -> StoreFuture<'a, Result<Duration, Duration>> {
        Box::pin(async move {
            let interval = Duration::from_secs_f64(1.0 / per_second.max(1e-6));
            let span = interval * burst.max(1);
            let micros = |d: Duration| d.as_micros().min(u128::from(u64::MAX >> 12)).to_string();
            let answer: i64 = self
                .script(
                    ACQUIRE,
                    &[self.key(&["bucket", name])],
                    &[micros(interval), micros(span), micros(max_wait)],
                )
                .await?;
            let us = |n: i64| Duration::from_micros(n.unsigned_abs());
            Ok(if answer >= 0 {
                Ok(us(answer))
            } else {
                Err(us(answer + 1))
            })
        })
    }
}
