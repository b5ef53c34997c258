//! Shared state behind one small trait, [`Store`]: idempotency keys, per-player live
//! deployments, token buckets (per-player deploy rate, the global upstream budget), and the
//! status view's shared part: the latest status record of each deployment, a short read lock
//! per deployment (one replica reads upstream, the others wait for its record), and
//! [`ViewEvent`]s delivered to every gateway using the store (new records, stops, webhooks).
//!
//! The trait and the values it exchanges are in `store/contract.rs`. Two implementations,
//! chosen at start: [`MemoryStore`] (`store/memory.rs`), the embedded
//! default for one gateway process, and [`RedisStore`] (`store/redis.rs`), shared by replicas
//! behind a load balancer ([`GatewayBuilder::redis`](crate::GatewayBuilder::redis)); any other
//! implementation can be passed to [`GatewayBuilder::store`](crate::GatewayBuilder::store). A
//! store that cannot answer returns [`StoreError`], which clients see as 503 with
//! `Retry-After`.

mod contract;
mod memory;
mod redis;

pub use contract::*;
pub use memory::MemoryStore;
pub use redis::RedisStore;
