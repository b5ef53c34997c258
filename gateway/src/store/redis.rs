//! [`RedisStore`]: the [`Store`] shared by gateway replicas through Redis (or Valkey).
//!
//! Every operation that reads then writes is one Lua script, so replicas never race. Token
//! buckets and idempotency claims use the Redis server's clock (`TIME`), so replicas with
//! skewed clocks agree. Live reservations expire (after twice the longest a deploy takes), so
//! a replica killed mid-deploy frees its slot; its idempotency claim is taken over by the
//! client's retry once stale ([`Claim::Abandoned`]).
//! The connection is made on first use and re-made after a failure; meanwhile every store
//! call fails with [`StoreError`], which clients see as 503 with `Retry-After`.
//!
//! The status view's shared part: `snap:<id>` holds the latest status record (read time in
//! µs, then Edgegap's answer), `reading:<id>` the read lock (`SET NX PX`, holding the
//! replica's token), `nb:<id>` the last invalidation; [`ViewEvent`]s travel on one pub/sub
//! channel, which every gateway subscribes to with a connection of its own (re-made after a
//! failure; events published meanwhile are lost, and held requests fall back to re-reading).

use std::time::Duration;

use bevy_edgegap::api::{HttpResponse, RequestId};
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::contract::{
    Claim, ReadClaim, StatusRecord, Store, StoreError, StoreFuture, ViewEvent, ViewListener,
};

/// KEYS: slot. ARGV: window_ms, stale_ms. A pending claim is `pending:<Redis time in ms>`.
const CLAIM: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('GET', KEYS[1])
local answer = 'new'
if v then
  local at = tonumber(string.match(v, '^pending:(%d+)$') or '')
  if not at then return v end
  if now - at < tonumber(ARGV[2]) then return 'pending' end
  answer = 'abandoned'
end
redis.call('SET', KEYS[1], string.format('pending:%.0f', now), 'PX', ARGV[1])
return answer
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

/// KEYS: snap, reading, nb. ARGV: fresh_after_us, token, lock_ms.
/// Returns {1, record} (fresh), {2, ''} (lock taken), {3, ''} (busy).
const CLAIM_READ: &str = r"
local v = redis.call('GET', KEYS[1])
if v then
  local at = tonumber(string.match(v, '^(%d+)'))
  local nb = tonumber(redis.call('GET', KEYS[3]) or '0')
  if at >= tonumber(ARGV[1]) and at >= nb then return {1, v} end
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {2, ''} end
if redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {2, ''}
end
return {3, ''}
";

/// KEYS: snap, reading, nb. ARGV: read_at_us, record, keep_ms, token, channel, message.
const PUT_RECORD: &str = r"
local at = tonumber(ARGV[1])
local ok = at >= tonumber(redis.call('GET', KEYS[3]) or '0')
local old = redis.call('GET', KEYS[1])
if ok and old then ok = tonumber(string.match(old, '^(%d+)')) < at end
if ok then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
if ok then return 1 end
return 0
";

/// KEYS: reading. ARGV: token.
const RELEASE_READ: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
";

/// KEYS: snap, nb. ARGV: at_us, keep_ms, channel, message.
const INVALIDATE: &str = r"
local nb = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > nb then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
";

/// A [`Store`] in Redis, shared by every gateway replica pointing at the same server.
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    /// This process's read-lock token.
    token: String,
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
            token: replica_token(),
        })
    }

    fn channel(&self) -> String {
        self.key(&["view"])
    }

    fn view_keys(&self, id: &str) -> [String; 3] {
        [
            self.key(&["snap", id]),
            self.key(&["reading", id]),
            self.key(&["nb", id]),
        ]
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

/// A token unique to this store instance (process id, time, address).
fn replica_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{}-{nanos:x}-{:016x}", std::process::id(), hasher.finish())
}

/// `<read_at_us>\n<status>\n<headers as JSON>\n<body>`.
fn encode_record(record: &StatusRecord) -> Vec<u8> {
    let mut out = format!(
        "{}\n{}\n{}\n",
        record.read_at_us,
        record.response.status,
        serde_json::to_string(&record.response.headers).unwrap_or_else(|_| "[]".into())
    )
    .into_bytes();
    out.extend_from_slice(&record.response.body);
    out
}

fn decode_record(bytes: &[u8]) -> Option<StatusRecord> {
    let mut parts = bytes.splitn(4, |b| *b == b'\n');
    let read_at_us = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let status = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let headers = serde_json::from_slice(parts.next()?).ok()?;
    let body = parts.next()?.to_vec();
    Some(StatusRecord {
        read_at_us,
        response: HttpResponse {
            status,
            headers,
            body,
        },
    })
}

/// Messages on the view channel: `R <id>\n<record>`, `I <id> <at_us>`, `W <id> <at_us>`.
fn encode_event(event: &ViewEvent) -> Vec<u8> {
    match event {
        ViewEvent::Record { id, record } => {
            let mut out = format!("R {id}\n").into_bytes();
            out.extend_from_slice(&encode_record(record));
            out
        }
        ViewEvent::Invalidated { id, at_us } => format!("I {id} {at_us}").into_bytes(),
        ViewEvent::Webhook { id, at_us } => format!("W {id} {at_us}").into_bytes(),
    }
}

fn decode_event(bytes: &[u8]) -> Option<ViewEvent> {
    if let Some(rest) = bytes.strip_prefix(b"R ") {
        let newline = rest.iter().position(|b| *b == b'\n')?;
        let id = std::str::from_utf8(&rest[..newline]).ok()?.to_owned();
        let record = decode_record(&rest[newline + 1..])?;
        return Some(ViewEvent::Record { id, record });
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let mut words = text.split(' ');
    let (kind, id, at_us) = (words.next()?, words.next()?, words.next()?.parse().ok()?);
    let id = id.to_owned();
    match kind {
        "I" => Some(ViewEvent::Invalidated { id, at_us }),
        "W" => Some(ViewEvent::Webhook { id, at_us }),
        _ => None,
    }
}

/// Subscribes to `channel` and hands every event to `listener`, reconnecting after failures.
/// The outcome of the first attempt goes to `first`.
async fn subscribe(
    client: redis::Client,
    channel: String,
    listener: ViewListener,
    first: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
) {
    let mut first = Some(first);
    let mut logged = false;
    loop {
        let connected = tokio::time::timeout(Duration::from_secs(2), async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match connected {
            Ok(Ok(pubsub)) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Ok(()));
                }
                if logged {
                    tracing::info!("view events from Redis: subscribed again");
                }
                logged = false;
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    if let Some(event) = decode_event(message.get_payload_bytes()) {
                        listener(event);
                    }
                }
            }
            Ok(Err(error)) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Err(failed(&error)));
                }
                if !logged {
                    tracing::warn!("cannot subscribe to view events: {}", failed(&error));
                    logged = true;
                }
            }
            Err(_) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Err(StoreError("redis: subscribing timed out".into())));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
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
        stale: Duration,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let slot = self.key(&["idem", owner, key]);
            let found: String = self
                .script(CLAIM, &[slot], &[millis(window), millis(stale)])
                .await?;
            Ok(match found.strip_prefix("done:") {
                Some(id) => Claim::Done(RequestId::from(id)),
                None if found == "new" => Claim::New,
                None if found == "abandoned" => Claim::Abandoned,
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

    fn reserve_live<'a>(
        &'a self,
        owner: &'a str,
        max: u32,
        hold: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let ok: i64 = self
                .script(
                    RESERVE,
                    &self.live_keys(owner),
                    &[max.to_string(), millis(hold)],
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

    fn claim_read<'a>(
        &'a self,
        id: &'a str,
        fresh_after_us: u64,
        lock: Duration,
    ) -> StoreFuture<'a, ReadClaim> {
        Box::pin(async move {
            let (kind, record): (i64, Vec<u8>) = self
                .script(
                    CLAIM_READ,
                    &self.view_keys(id),
                    &[fresh_after_us.to_string(), self.token.clone(), millis(lock)],
                )
                .await?;
            Ok(match kind {
                1 => decode_record(&record).map_or(ReadClaim::Busy, ReadClaim::Fresh),
                2 => ReadClaim::Read,
                _ => ReadClaim::Busy,
            })
        })
    }

    fn put_record<'a>(
        &'a self,
        id: &'a str,
        record: StatusRecord,
        keep: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let at = record.read_at_us.to_string();
            let encoded = encode_record(&record);
            let message = encode_event(&ViewEvent::Record {
                id: id.to_owned(),
                record,
            });
            let mut connection = self.connection().await?;
            let script = redis::Script::new(PUT_RECORD);
            let mut invocation = script.prepare_invoke();
            for key in self.view_keys(id) {
                invocation.key(key);
            }
            invocation
                .arg(at)
                .arg(encoded)
                .arg(millis(keep))
                .arg(&self.token)
                .arg(self.channel())
                .arg(message);
            let _: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(|e| failed(&e))?;
            Ok(())
        })
    }

    fn release_read<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let [_, reading, _] = self.view_keys(id);
            let _: i64 = self
                .script(RELEASE_READ, &[reading], std::slice::from_ref(&self.token))
                .await?;
            Ok(())
        })
    }

    fn publish(&self, event: ViewEvent, keep: Duration) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let message = encode_event(&event);
            if let ViewEvent::Invalidated { id, at_us } = &event {
                let [snap, _, nb] = self.view_keys(id);
                let mut connection = self.connection().await?;
                let script = redis::Script::new(INVALIDATE);
                let _: i64 = script
                    .key(snap)
                    .key(nb)
                    .arg(at_us.to_string())
                    .arg(millis(keep))
                    .arg(self.channel())
                    .arg(message)
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|e| failed(&e))?;
            } else {
                let _: i64 = self
                    .command(
                        redis::cmd("PUBLISH")
                            .arg(self.channel())
                            .arg(message)
                            .clone(),
                    )
                    .await?;
            }
            Ok(())
        })
    }

    fn listen(&self, listener: ViewListener) -> StoreFuture<'_, ()> {
        let client = self.client.clone();
        let channel = self.channel();
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(subscribe(client, channel, listener, subscribed_tx));
            }
            Err(_) => tracing::error!(
                "RedisStore::listen called outside a Tokio runtime: no view events from other \
                 replicas"
            ),
        }
        Box::pin(async move {
            subscribed
                .await
                .unwrap_or_else(|_| Err(StoreError("redis: not subscribed".into())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_events_survive_encoding() {
        let record = StatusRecord {
            read_at_us: 1_764_000_000_123_456,
            response: HttpResponse {
                status: 200,
                headers: vec![("retry-after".into(), "1".into())],
                body: b"{\"a\":\n1}".to_vec(),
            },
        };
        assert_eq!(decode_record(&encode_record(&record)), Some(record.clone()));
        for event in [
            ViewEvent::Record {
                id: "abc123".into(),
                record,
            },
            ViewEvent::Invalidated {
                id: "abc123".into(),
                at_us: 42,
            },
            ViewEvent::Webhook {
                id: "abc123".into(),
                at_us: 43,
            },
        ] {
            assert_eq!(decode_event(&encode_event(&event)), Some(event));
        }
        assert_eq!(decode_event(b"X abc 1"), None);
    }
}
