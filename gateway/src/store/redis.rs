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
//! µs, its MAC, then Edgegap's answer), `reading:<id>` the read lock (`SET NX PX`, holding the
//! replica's token), `nb:<id>` the last invalidation; [`ViewEvent`]s travel on one pub/sub
//! channel, which every gateway subscribes to with a connection of its own (re-made after a
//! failure; events published meanwhile are lost, and held requests fall back to re-reading).
//!
//! # Redis is a trust boundary
//!
//! Anyone who can write to this Redis can forge what it holds, so nothing read from it decides
//! who owns a server on its own:
//! - status records (in `snap:<id>` and on the channel) carry an HMAC-SHA256 of the
//!   deployment id and the whole record, keyed with a key derived from the gateway's secret
//!   (its owner key): a record that does not verify is dropped (and deleted) as if absent, so
//!   the owner tags a player is checked against always come from Edgegap. A forged record can
//!   cost an upstream read, never show or stop another player's server;
//! - the live and ended sets only let a request through to that check (a forged entry costs
//!   a read, then 404);
//! - times are clamped: a record, or an invalidation, dated further ahead of Redis's clock
//!   than the allowed skew is not believed (so it cannot pin a status in the future);
//! - every key and the channel start with a prefix (default derived from the secret), so two
//!   environments sharing one Redis share no key.
//!
//! What a Redis writer can still do is deny service: empty the budget, the quotas, the
//! idempotency keys. Redis must be private to the gateway, with an ACL limited to its prefix
//! (README). `rediss://` connects with TLS (rustls).

use std::time::Duration;

use bevy_edgegap::api::{HttpResponse, RequestId};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use redis::aio::ConnectionManager;
use sha2::Sha256;
use tokio::sync::OnceCell;

use super::contract::{
    Claim, ReadClaim, StatusRecord, Store, StoreError, StoreFuture, ViewEvent, ViewListener,
};

/// The allowed skew of a store made by [`RedisStore::new`].
const DEFAULT_SKEW: Duration = Duration::from_secs(2);

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

/// KEYS: live, ended. ARGV: id, keep_ms. `ended` scores are expiry times (Redis ms).
const REMOVE_LIVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(ARGV[2])))
return 1
";

/// KEYS: live, ended. ARGV: id.
const OWNS: &str = r"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
local expires = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not expires then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(expires) > now then return 1 end
return 0
";

/// The latest time (µs) believed from the store, `now + skew` on Redis's clock, as Lua: every
/// script that reads a time the gateways wrote starts with it. ARGV[1] is the skew in µs.
const LIMIT: &str = r"
local t = redis.call('TIME')
local limit = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
local function believed(v)
  local at = tonumber(string.match(v or '', '^(%d+)') or '')
  if at and at <= limit then return at end
  return nil
end
local function invalidated()
  return math.min(tonumber(redis.call('GET', KEYS[3]) or '0') or 0, limit)
end
";

/// KEYS: snap, reading, nb. ARGV: skew_us, fresh_after_us, token, lock_ms, discard.
/// `discard`: a record the caller found forged, deleted if it is still there.
/// Returns {1, record} (fresh), {2, ''} (lock taken), {3, ''} (busy).
const CLAIM_READ: &str = r"
if ARGV[5] ~= '' and redis.call('GET', KEYS[1]) == ARGV[5] then
  redis.call('DEL', KEYS[1])
end
local v = redis.call('GET', KEYS[1])
local at = believed(v)
if at and at >= tonumber(ARGV[2]) and at >= invalidated() then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return {2, ''} end
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return {2, ''}
end
return {3, ''}
";

/// KEYS: snap, reading, nb. ARGV: skew_us, read_at_us, record, keep_ms, token, channel,
/// message. A record dated beyond the limit is refused; one there already that is (forged,
/// or from a clock far ahead) never blocks a newer one.
const PUT_RECORD: &str = r"
local at = tonumber(ARGV[2])
local ok = at <= limit and at >= invalidated()
local old = believed(redis.call('GET', KEYS[1]))
if ok and old then ok = old < at end
if ok then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  redis.call('PUBLISH', ARGV[6], ARGV[7])
end
if redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end
if ok then return 1 end
return 0
";

/// KEYS: reading. ARGV: token.
const RELEASE_READ: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
";

/// KEYS: snap, reading (unused), nb. ARGV: skew_us, at_us, keep_ms, channel, message.
const INVALIDATE: &str = r"
local at = math.min(tonumber(ARGV[2]), limit)
if at > invalidated() then redis.call('SET', KEYS[3], string.format('%.0f', at), 'PX', ARGV[3]) end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
";

/// A [`Store`] in Redis, shared by every gateway replica pointing at the same server with the
/// same secret. See the module docs for what it trusts Redis with.
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    /// This process's read-lock token.
    token: String,
    /// Authenticates status records.
    seal: Seal,
    /// How far ahead of Redis's clock a time from the store is believed.
    skew: Duration,
}

/// The MAC of status records: HMAC-SHA256 of the deployment id and the encoded record, with a
/// key derived from the store's secret.
#[derive(Clone)]
struct Seal([u8; 32]);

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Seal {
    fn mac(&self, id: &str, body: &[u8]) -> String {
        hex(&hmac(&self.0, &[id.as_bytes(), b"\n", body]))
    }

    /// `<read_at_us>\n<mac>\n<status>\n<headers as JSON>\n<body>`; the MAC covers the id and
    /// every other line.
    fn encode(&self, id: &str, record: &StatusRecord) -> Vec<u8> {
        let mut rest = format!(
            "{}\n{}\n",
            record.response.status,
            serde_json::to_string(&record.response.headers).unwrap_or_else(|_| "[]".into())
        )
        .into_bytes();
        rest.extend_from_slice(&record.response.body);
        let mut signed = format!("{}\n", record.read_at_us).into_bytes();
        signed.extend_from_slice(&rest);
        let mut out = format!("{}\n{}\n", record.read_at_us, self.mac(id, &signed)).into_bytes();
        out.extend_from_slice(&rest);
        out
    }

    /// The record of `id` in `bytes`, if it is well formed and its MAC verifies.
    fn decode(&self, id: &str, bytes: &[u8]) -> Option<StatusRecord> {
        let mut parts = bytes.splitn(5, |b| *b == b'\n');
        let at = parts.next()?;
        let mac = parts.next()?;
        let (status, headers, body) = (parts.next()?, parts.next()?, parts.next()?);
        let signed = [at, b"\n", status, b"\n", headers, b"\n", body].concat();
        let expected = self.mac(id, &signed);
        if !crate::secret::same_secret(mac, expected.as_bytes()) {
            return None;
        }
        Some(StatusRecord {
            read_at_us: std::str::from_utf8(at).ok()?.parse().ok()?,
            response: HttpResponse {
                status: std::str::from_utf8(status).ok()?.parse().ok()?,
                headers: serde_json::from_slice(headers).ok()?,
                body: body.to_vec(),
            },
        })
    }
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
    /// A store at `url` (`redis://host:port/db`, or `rediss://` with TLS, trusting the
    /// system's certificate authorities). Status records are authenticated with a key derived
    /// from `secret`, and every key starts with a prefix derived from it
    /// (`edgegap-gateway:<12 hex digits>:`): replicas sharing state use the same secret (the
    /// gateway passes one derived from its owner key). Nothing is connected until first use.
    pub fn new(url: &str, secret: &[u8]) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| failed(&e))?;
        let prefix = format!(
            "edgegap-gateway:{}:",
            &hex(&hmac(secret, &[b"edgegap-gateway redis prefix"]))[..12]
        );
        Ok(Self {
            client,
            connection: OnceCell::new(),
            prefix,
            token: replica_token(),
            seal: Seal(hmac(secret, &[b"edgegap-gateway redis records"])),
            skew: DEFAULT_SKEW,
        })
    }

    /// Every key, and the channel, start with `prefix` instead of the derived one.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// For `rediss://`: trusts only this certificate authority (PEM) for the server's
    /// certificate, instead of the system's.
    pub fn with_root_certificate(mut self, pem: Vec<u8>) -> Result<Self, StoreError> {
        let info = self.client.get_connection_info().clone();
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        };
        self.client = redis::Client::build_with_tls(info, certificates).map_err(|e| failed(&e))?;
        Ok(self)
    }

    /// How far ahead of Redis's clock a time from the store is believed (default 2 s).
    #[must_use]
    pub fn with_max_clock_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// The prefix of every key and of the channel (for the Redis ACL: `~<prefix>*`,
    /// `&<prefix>*`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn skew_us(&self) -> String {
        self.skew
            .as_micros()
            .min(u128::from(u64::MAX >> 12))
            .to_string()
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

    async fn script<T: redis::FromRedisValue, A: redis::ToRedisArgs>(
        &self,
        source: &str,
        keys: &[String],
        args: &[A],
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

    fn owned_keys(&self, owner: &str) -> [String; 2] {
        [self.key(&["live", owner]), self.key(&["ended", owner])]
    }

    /// A script that reads times the gateways wrote: [`LIMIT`] first, ARGV[1] the skew, then
    /// `args`.
    async fn timed<T: redis::FromRedisValue>(
        &self,
        source: &str,
        keys: &[String],
        args: Vec<Vec<u8>>,
    ) -> Result<T, StoreError> {
        let source = format!("{LIMIT}{source}");
        let mut all = vec![self.skew_us().into_bytes()];
        all.extend(args);
        self.script(&source, keys, &all).await
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

/// Messages on the view channel: `R <id>\n<sealed record>`, `I <id> <at_us>`,
/// `W <id> <at_us>`. A record that does not verify is not an event.
fn encode_event(seal: &Seal, event: &ViewEvent) -> Vec<u8> {
    match event {
        ViewEvent::Record { id, record } => {
            let mut out = format!("R {id}\n").into_bytes();
            out.extend_from_slice(&seal.encode(id, record));
            out
        }
        ViewEvent::Invalidated { id, at_us } => format!("I {id} {at_us}").into_bytes(),
        ViewEvent::Webhook { id, at_us } => format!("W {id} {at_us}").into_bytes(),
    }
}

fn decode_event(seal: &Seal, bytes: &[u8]) -> Option<ViewEvent> {
    if let Some(rest) = bytes.strip_prefix(b"R ") {
        let newline = rest.iter().position(|b| *b == b'\n')?;
        let id = std::str::from_utf8(&rest[..newline]).ok()?.to_owned();
        let record = seal.decode(&id, &rest[newline + 1..])?;
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
    seal: Seal,
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
                    if let Some(event) = decode_event(&seal, message.get_payload_bytes()) {
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

    fn remove_live<'a>(
        &'a self,
        owner: &'a str,
        id: &'a RequestId,
        keep: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let _: i64 = self
                .script(
                    REMOVE_LIVE,
                    &self.owned_keys(owner),
                    &[id.as_str().to_owned(), millis(keep)],
                )
                .await?;
            Ok(())
        })
    }

    fn owns<'a>(&'a self, owner: &'a str, id: &'a RequestId) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let owned: i64 = self
                .script(OWNS, &self.owned_keys(owner), &[id.as_str().to_owned()])
                .await?;
            Ok(owned == 1)
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
            let mut discard = Vec::new();
            // Twice at most: a record that does not verify is deleted by the second call,
            // which then takes the lock (or finds a real record put there meanwhile).
            for _ in 0..2 {
                let (kind, record): (i64, Vec<u8>) = self
                    .timed(
                        CLAIM_READ,
                        &self.view_keys(id),
                        vec![
                            fresh_after_us.to_string().into_bytes(),
                            self.token.clone().into_bytes(),
                            millis(lock).into_bytes(),
                            std::mem::take(&mut discard),
                        ],
                    )
                    .await?;
                match kind {
                    1 => match self.seal.decode(id, &record) {
                        Some(record) => return Ok(ReadClaim::Fresh(record)),
                        None => {
                            tracing::warn!(
                                "the status record of `{id}` in Redis does not verify: someone \
                                 else writes to this Redis; dropping it"
                            );
                            discard = record;
                        }
                    },
                    2 => return Ok(ReadClaim::Read),
                    _ => return Ok(ReadClaim::Busy),
                }
            }
            Ok(ReadClaim::Busy)
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
            let encoded = self.seal.encode(id, &record);
            let message = encode_event(
                &self.seal,
                &ViewEvent::Record {
                    id: id.to_owned(),
                    record,
                },
            );
            let _: i64 = self
                .timed(
                    PUT_RECORD,
                    &self.view_keys(id),
                    vec![
                        at.into_bytes(),
                        encoded,
                        millis(keep).into_bytes(),
                        self.token.clone().into_bytes(),
                        self.channel().into_bytes(),
                        message,
                    ],
                )
                .await?;
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
            let message = encode_event(&self.seal, &event);
            if let ViewEvent::Invalidated { id, at_us } = &event {
                let _: i64 = self
                    .timed(
                        INVALIDATE,
                        &self.view_keys(id),
                        vec![
                            at_us.to_string().into_bytes(),
                            millis(keep).into_bytes(),
                            self.channel().into_bytes(),
                            message,
                        ],
                    )
                    .await?;
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

    fn health(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let _: String = self.command(redis::cmd("PING")).await?;
            Ok(())
        })
    }

    fn listen(&self, listener: ViewListener) -> StoreFuture<'_, ()> {
        let client = self.client.clone();
        let channel = self.channel();
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let seal = self.seal.clone();
                runtime.spawn(subscribe(client, channel, seal, listener, subscribed_tx));
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
    fn records_and_events_survive_encoding_and_forgeries_do_not() {
        let seal = Seal(hmac(b"secret", &[b"records"]));
        let record = StatusRecord {
            read_at_us: 1_764_000_000_123_456,
            response: HttpResponse {
                status: 200,
                headers: vec![("retry-after".into(), "1".into())],
                body: b"{\"a\":\n1,\"tags\":[\"gw-0123456789abcdef\"]}".to_vec(),
            },
        };
        let sealed = seal.encode("abc123", &record);
        assert_eq!(seal.decode("abc123", &sealed), Some(record.clone()));
        // The same record under another id, another key, or with one byte changed: refused.
        assert_eq!(seal.decode("abc124", &sealed), None);
        assert_eq!(
            Seal(hmac(b"other", &[b"records"])).decode("abc123", &sealed),
            None
        );
        let text = String::from_utf8(sealed.clone()).unwrap();
        for forged in [
            text.replace("gw-0123456789abcdef", "gw-fedcba9876543210"),
            text.replacen("1764000000123456", "1764000000123457", 1),
            text.replacen("\n200\n", "\n404\n", 1),
        ] {
            assert_ne!(forged, text);
            assert_eq!(seal.decode("abc123", forged.as_bytes()), None, "{forged}");
        }
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
            assert_eq!(
                decode_event(&seal, &encode_event(&seal, &event)),
                Some(event)
            );
        }
        assert_eq!(decode_event(&seal, b"X abc 1"), None);
        let mut forged_event = b"R abc123\n".to_vec();
        forged_event.extend_from_slice(text.replace("gw-0123", "gw-9999").as_bytes());
        assert_eq!(decode_event(&seal, &forged_event), None);
    }

    #[test]
    fn the_prefix_is_derived_from_the_secret_unless_set() {
        let a = RedisStore::new("redis://127.0.0.1:1/", b"production").unwrap();
        let b = RedisStore::new("redis://127.0.0.1:1/", b"staging").unwrap();
        assert!(a.prefix().starts_with("edgegap-gateway:") && a.prefix().ends_with(':'));
        assert_eq!(a.prefix().len(), "edgegap-gateway:".len() + 13);
        assert_ne!(a.prefix(), b.prefix());
        assert_eq!(
            a.prefix(),
            RedisStore::new("redis://127.0.0.1:2/", b"production")
                .unwrap()
                .prefix()
        );
        assert_eq!(a.with_prefix("game:prod:").prefix(), "game:prod:");
    }
}
