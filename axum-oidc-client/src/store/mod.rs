//! The session store interface and its backends.
//!
//! A store keeps four things, each with an expiry:
//! - sessions by [`SessionKey`];
//! - the indexes back-channel logout needs: `sid` and `sub` to session keys;
//! - short leases used as the cross-instance refresh lock;
//! - a replay cache of one-time values (logout-token `jti`, consumed `state`).
//!
//! Every backend runs the same behaviour suite (`tests/store_suite.rs`).
//!
//! # Backends
//!
//! | store | feature | shared between instances | notes |
//! |---|---|---|---|
//! | [`MemoryStore`] | — | no | the default; sessions die with the process |
//! | `RedisStore` | `redis` | yes | reconnects by itself; TTLs are Redis's own |
//! | `SqlAuthCache` | `postgres`, `mysql`, `sqlite` | yes (SQLite: one host) | tables created at connect; expired rows purged in the background |
//! | [`TwoTierAuthCache`] | — | through its second tier | a short-lived local copy in front of a shared store |
//!
//! [`from_url`] picks one from a URL (`memory`, `redis://…`, `postgres://…`,
//! `mysql://…`, `sqlite://…`, `tiered+redis://…`).
//!
//! # Encryption at rest
//!
//! Remote stores write records through a [`SessionCodec`](crate::session::SessionCodec).
//! [`from_url`] always uses the encrypting codec keyed by
//! [`CookieKey::at_rest_key`](crate::cookies::CookieKey::at_rest_key): a copy of the
//! database does not yield usable tokens, and rows cannot be moved between sessions.
//! Session keys are SHA-256 digests of the session ids, so the store holds no cookie
//! value either.
//!
//! # Faults
//!
//! Every backend failure is [`StoreError::Unavailable`] (never "absent"); an entry
//! that cannot be decoded (another key, another format version) reads as absent.
//! Connections time out after about 2 s so a dead server fails fast; the layer also
//! bounds each operation with its own timeout ([`StoreError::Timeout`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::session::{SessionKey, SessionRecord};

pub mod memory;
pub use memory::MemoryStore;

pub mod two_tier;
pub use two_tier::{TwoTierAuthCache, TwoTierCacheConfig};

pub mod url;
pub use self::url::from_url;

#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{RedisStore, RedisStoreBuilder};

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub mod sql;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub use self::sql::{SqlAuthCache, SqlCacheConfig};

#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "mysql",
    feature = "sqlite"
))]
mod remote;

/// Why a store operation failed. Any of these makes the request answer 503: a store
/// fault is never read as "logged out" nor as "logged in".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or failed.
    #[error("session store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The operation did not finish in time.
    #[error("session store timed out")]
    Timeout,
    /// A record could not be encoded.
    #[error("session record could not be encoded")]
    Codec,
    /// The store was configured wrongly (bad URL, unknown scheme).
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

/// Storage for sessions, their logout indexes, refresh leases and one-time values.
///
/// Implementations must be safe to share between instances of the application when
/// they are remote (Redis, SQL): every operation is atomic on its own. Every backend
/// of this crate passes the same behaviour suite; a store of your own can run it too
/// (Cargo feature `test-util`, see `store::suite`).
///
/// The methods come in four groups:
///
/// - **Sessions** by [`SessionKey`]: [`get`](Self::get), [`get_fresh`](Self::get_fresh),
///   [`put`](Self::put), [`replace`](Self::replace), [`remove`](Self::remove). Every
///   write carries a TTL; an expired session is never returned.
/// - **The `sid`/`sub` index** for back-channel logout (Back-Channel Logout 1.0 §2.7):
///   [`remove_by_sid`](Self::remove_by_sid), [`remove_by_sub`](Self::remove_by_sub),
///   [`remove_by_sub_without_sid`](Self::remove_by_sub_without_sid). `put` and
///   `replace` index a record by its `sid` (when it has one) and its `sub`.
/// - **Leases** for the refresh single flight across instances:
///   [`try_lock`](Self::try_lock), [`unlock`](Self::unlock).
/// - **One-time values** (logout-token `jti`, consumed `state`):
///   [`insert_once`](Self::insert_once).
#[async_trait]
pub trait AuthCache: Send + Sync + 'static {
    // ---- sessions ----

    /// Reads a live session. Expired entries are never returned.
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError>;

    /// Reads a session from the shared tier, bypassing any local cache. Used after
    /// waiting for another instance's refresh. Defaults to [`get`](Self::get).
    async fn get_fresh(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.get(key).await
    }

    /// Writes a session for `ttl` and indexes it by its `sid` and `sub`,
    /// unconditionally (a new session, or a touch of one just read).
    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Compare-and-set: writes `record` for `ttl` (and indexes it by its `sid` and
    /// `sub`, as [`put`](Self::put)) only if a live session is stored under `key` and
    /// it equals `current`, the version the caller read.
    ///
    /// - `Ok(true)`: the stored session equalled `current` and is now `record`.
    /// - `Ok(false)`: nothing was written, because the session is absent, expired,
    ///   unreadable, or differs from `current`: it was removed (logout, back-channel
    ///   logout) or rewritten by someone else meanwhile. A removed session is never
    ///   brought back. A store may also answer `false` when the session was rewritten
    ///   meanwhile with a record equal to `current`; the caller re-reads either way.
    ///
    /// The comparison and the write are one atomic step with respect to every other
    /// write and removal of the session, on every instance sharing the store: of
    /// concurrent `replace` calls with the same `current`, at most one returns `true`.
    /// The refresh writes through it, so a back-channel logout that lands during a
    /// refresh is not undone (Back-Channel Logout 1.0 §2.7). There is deliberately no
    /// default body: a read-then-`put` default would not be atomic.
    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Deletes a session.
    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError>;

    // ---- sid/sub index, for back-channel logout ----

    /// Deletes every session with this provider session id; returns how many.
    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError>;

    /// Deletes every session of this subject; returns how many.
    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError>;

    /// Deletes every session of this subject whose record has no `sid`, and no other;
    /// returns how many. A logout token with both `sid` and `sub` ends the provider
    /// session `sid` and also these (Back-Channel Logout 1.0 §2.7: many providers
    /// put no `sid` in ID tokens). Subjects compare exactly (case and trailing spaces
    /// count).
    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError>;

    // ---- leases, for the refresh single flight ----

    /// Takes the lease `name` for `owner` unless someone else holds a live one.
    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError>;

    /// Releases the lease if `owner` still holds it.
    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError>;

    // ---- one-time values ----

    /// Records a one-time value for `ttl`; `false` when it was already recorded.
    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError>;
}

/// The name the rest of the crate uses for a shared store.
pub type SharedStore = Arc<dyn AuthCache>;
