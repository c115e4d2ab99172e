//! Redis store: sessions as encoded bytes with a `PX` TTL, the logout indexes as sets,
//! leases and one-time values as `SET NX PX` keys. One server, a primary found through
//! Redis Sentinel, or Redis Cluster ([`topology`] has the URL forms).
//!
//! # Key layout
//!
//! Under the prefix (default [`DEFAULT_KEY_PREFIX`]), with `{g}` empty on one server
//! or Sentinel and a hash tag `{g0}` … `{gf}` in a cluster:
//!
//! | key | type | content |
//! |---|---|---|
//! | `{prefix}{g}session:{session key}` | string | [`SessionCodec`] bytes, `PX` = session TTL |
//! | `{prefix}{g}sid:{sid}` | set | session keys of that provider session in group `g` |
//! | `{prefix}{g}sub:{sub}` | set | session keys of that subject in group `g` |
//! | `{prefix}lease:{name}` | string | lease owner, `PX` = lease |
//! | `{prefix}once:{SHA-256 of value}` | string | `1`, `PX` = TTL |
//!
//! Every operation that touches more than one key is one Lua script, so it is atomic
//! ([Redis scripting](https://redis.io/docs/latest/develop/interact/programmability/eval-intro/)).
//! In a cluster, a script may only touch keys of one hash slot
//! ([cluster spec, "Hash tags"](https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags)).
//!
//! # Hash slots in Redis Cluster
//!
//! A session and the index entries that point to it share one hash slot: the
//! session's *group*, a hash of its session key into one of 16 groups, is the hash
//! tag of the session key and of the `sid`/`sub` sets that list it. So `put`,
//! `replace` and the removal scripts stay single-slot and atomic, and a read needs
//! nothing but the session key, which is all a request knows.
//!
//! The alternatives, and why not:
//! - *One tag for all keys* is simplest, and makes `remove_by_sub` one script, but
//!   puts every session on one primary: the cluster then adds failover, not capacity.
//! - *A tag per user* (`{sub}`) would keep a user's sessions and indexes together,
//!   but a request knows only its session key, not its user, so it could not find
//!   the session without a lookup key in another slot, which a script cannot update
//!   atomically with the session.
//!
//! The cost of groups: `remove_by_sid`, `remove_by_sub` and
//! `remove_by_sub_without_sid` (back-channel logout, "sign out everywhere") run one
//! script per group, 16 in all, concurrently. Each is atomic within its group; the
//! operation as a whole is not, which is the same as a logout that races a login on
//! one server: a session written after its group was cleared survives. Leases and
//! one-time values are single keys and need no tag.
//!
//! On one server and with Sentinel there is a single group without a tag: the key
//! names are those of earlier releases, so existing sessions stay valid. Moving from
//! one server to a cluster does not carry sessions over (users log in again).

use std::sync::Arc;
use std::time::Duration;

use ::redis::{AsyncCommands as _, Script};
use async_trait::async_trait;

pub use self::builder::RedisStoreBuilder;
use self::conn::Connection;
use self::keys::KeyLayout;
use self::scripts::{LOCK, PRUNE_ABOVE, PUT, REMOVE_INDEXED, REMOVE_UNCHANGED, REPLACE, UNLOCK};
use super::remote::{decode_entry, ttl_millis};
use super::{AuthCache, StoreError};
use crate::session::{SessionCodec, SessionKey, SessionRecord};

mod builder;
mod conn;
mod invalidate;
mod keys;
mod list;
mod scripts;
pub mod topology;

/// Default prefix of every key the store writes.
pub const DEFAULT_KEY_PREFIX: &str = "axum_oidc:";

/// Default time allowed to open a connection. Short, so a dead server fails the
/// request quickly instead of holding it.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Default time allowed for one reply.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Sessions in Redis, shared by every instance of the application.
///
/// On one server the connection is a [`ConnectionManager`](::redis::aio::ConnectionManager):
/// one multiplexed connection that is re-established in the background after a
/// failure, so the application recovers by itself when Redis comes back. Until then,
/// operations fail with [`StoreError::Unavailable`]. In a cluster the redis crate
/// follows the slot map; with Sentinel, a failed operation makes the next one ask the
/// sentinels for the primary, so a failover gives errors until it completes, and a
/// primary that failed or was demoted is not used again. `rediss…` URLs use TLS (rustls).
///
/// Records are encoded with the [`SessionCodec`] given at construction; pass
/// [`SessionCodec::encrypted`] (what [`from_url`](super::from_url) does) to keep
/// tokens encrypted at rest. Expiry is Redis's own TTL, so an expired session is
/// never returned.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum_oidc_client::CookieKey;
/// use axum_oidc_client::store::SessionCodec;
/// use axum_oidc_client::store::RedisStore;
///
/// # async fn run() -> Result<(), axum_oidc_client::StoreError> {
/// let key = CookieKey::derive(b"a secret of at least thirty-two bytes!").unwrap();
/// let store = RedisStore::connect(
///     "redis://127.0.0.1:6379",
///     SessionCodec::encrypted(key.at_rest_key()),
/// )
/// .await?;
/// let shared: axum_oidc_client::store::SharedStore = Arc::new(store);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: Connection,
    codec: SessionCodec,
    keys: Arc<KeyLayout>,
    /// How to open a pub/sub connection; `None` when built from a connection.
    pubsub: Option<Arc<invalidate::PubSubSource>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("key_prefix", &self.keys.prefix)
            .field("deployment", &self.deployment())
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects with the default settings; fails if Redis cannot be reached now.
    ///
    /// ```no_run
    /// use axum_oidc_client::store::SessionCodec;
    /// use axum_oidc_client::store::RedisStore;
    ///
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = RedisStore::connect("rediss://cache.internal:6380", SessionCodec::encrypted(at_rest_key)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str, codec: SessionCodec) -> Result<Self, StoreError> {
        Self::builder(codec).connect(url).await
    }

    /// A builder for the key prefix and timeouts.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use axum_oidc_client::store::SessionCodec;
    /// use axum_oidc_client::store::RedisStore;
    ///
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
    ///     .with_key_prefix("shop:auth:")
    ///     .with_connect_timeout(Duration::from_secs(1))
    ///     .connect("redis://127.0.0.1:6379/2")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(codec: SessionCodec) -> RedisStoreBuilder {
        RedisStoreBuilder::new(codec)
    }

    /// The prefix of every key this store writes.
    ///
    /// ```no_run
    /// # async fn run(store: axum_oidc_client::store::RedisStore) {
    /// assert_eq!(store.key_prefix(), "axum_oidc:");
    /// # }
    /// ```
    pub fn key_prefix(&self) -> &str {
        &self.keys.prefix
    }

    /// The Redis key a session is stored under: `{prefix}session:{key}` on one server
    /// or Sentinel, `{prefix}{gN}session:{key}` in a cluster (see the
    /// [module docs](crate::store::redis)). For inspecting a store; the value is encoded by the codec.
    ///
    /// ```
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec, SessionKey};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = RedisStore::builder(SessionCodec::plain())
    ///     .connect_lazy("redis://127.0.0.1:6379")
    ///     .unwrap();
    /// let key = SessionKey::from_stored("abc");
    /// assert_eq!(store.session_redis_key(&key), "axum_oidc:session:abc");
    /// # }
    /// ```
    pub fn session_redis_key(&self, key: &SessionKey) -> String {
        self.keys.session(key)
    }

    fn deployment(&self) -> &'static str {
        match self.conn {
            Connection::Single(_) => "single",
            Connection::Cluster(_) => "cluster",
            Connection::Sentinel(_) => "sentinel",
        }
    }

    fn conn(&self) -> Connection {
        self.conn.clone()
    }
}

#[async_trait]
impl AuthCache for RedisStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let bytes = self.raw(key).await?;
        Ok(bytes.and_then(|b| decode_entry(&self.codec, key, &b)))
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.write(&PUT, key, &record, ttl, None).await.map(drop)
    }

    /// Reads the raw bytes, decodes them and compares the record with `current` here
    /// (encrypted entries carry a random nonce, so equal records have different
    /// bytes); then the `REPLACE` script writes only if the key still holds those exact bytes.
    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let Some(read) = self.raw(key).await? else {
            return Ok(false);
        };
        if decode_entry(&self.codec, key, &read).as_deref() != Some(current) {
            return Ok(false);
        }
        self.write(&REPLACE, key, &record, ttl, Some(read)).await
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        // Index sets keep the key until they are pruned or expire; a dangling member
        // costs a failed DEL in `remove_by_*`, nothing more.
        self.conn()
            .del::<_, ()>(self.keys.session(key))
            .await
            .map_err(StoreError::unavailable)
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        self.remove_indexed(|g| self.keys.sid(g, sid)).await
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        self.remove_indexed(|g| self.keys.sub(g, sub)).await
    }

    /// Group by group: the subject's index set lists every session written for it;
    /// each is decoded here and deleted unless it was rewritten meanwhile.
    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        let groups = (0..self.keys.group_count()).map(|g| self.remove_without_sid_in(g, sub));
        let removed = futures_util::future::try_join_all(groups).await?;
        Ok(removed.into_iter().sum())
    }

    /// Reads the subject's index sets; see `list.rs`.
    async fn sessions_of(
        &self,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        self.list_sessions(iss, sub).await
    }

    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError> {
        LOCK.key(self.keys.lease(name))
            .arg(owner)
            .arg(ttl_millis(lease))
            .invoke_async::<bool>(&mut self.conn())
            .await
            .map_err(StoreError::unavailable)
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        UNLOCK
            .key(self.keys.lease(name))
            .arg(owner)
            .invoke_async::<()>(&mut self.conn())
            .await
            .map_err(StoreError::unavailable)
    }

    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        let set: Option<String> = ::redis::cmd("SET")
            .arg(self.keys.once(value))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(StoreError::unavailable)?;
        Ok(set.is_some())
    }
}

impl RedisStore {
    /// The stored bytes of a session.
    async fn raw(&self, key: &SessionKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn()
            .get(self.keys.session(key))
            .await
            .map_err(StoreError::unavailable)
    }

    /// Runs [`PUT`], or [`REPLACE`] with the bytes `read`; `true` if it wrote.
    async fn write(
        &self,
        script: &Script,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
        read: Option<Vec<u8>>,
    ) -> Result<bool, StoreError> {
        let bytes = self.codec.encode(key, record)?;
        let g = self.keys.group_of(key);
        let mut call = script.key(self.keys.session(key));
        call.key(self.keys.sub(g, record.sub()));
        if let Some(sid) = record.logout_sid() {
            call.key(self.keys.sid(g, &sid));
        }
        call.arg(bytes)
            .arg(ttl_millis(ttl))
            .arg(key.as_str())
            .arg(self.keys.session_prefix(g))
            .arg(PRUNE_ABOVE);
        if let Some(read) = read {
            call.arg(read);
        }
        call.invoke_async::<bool>(&mut self.conn())
            .await
            .map_err(StoreError::unavailable)
    }

    /// Runs [`REMOVE_INDEXED`] on the index set `index(g)` of every group.
    async fn remove_indexed(&self, index: impl Fn(usize) -> String) -> Result<usize, StoreError> {
        let groups = (0..self.keys.group_count()).map(|g| {
            let mut call = REMOVE_INDEXED.key(index(g));
            call.arg(self.keys.session_prefix(g));
            async move {
                call.invoke_async::<usize>(&mut self.conn())
                    .await
                    .map_err(StoreError::unavailable)
            }
        });
        let removed = futures_util::future::try_join_all(groups).await?;
        Ok(removed.into_iter().sum())
    }

    /// `remove_by_sub_without_sid` in group `g`: the subject's index set holds every
    /// session key written for it there; each entry is read and decoded here, and the
    /// [`REMOVE_UNCHANGED`] script deletes those without a `sid` unless they were
    /// rewritten meanwhile. Needs no index of its own, so sessions written before this
    /// method existed are found too.
    async fn remove_without_sid_in(&self, g: usize, sub: &str) -> Result<usize, StoreError> {
        let members: Vec<String> = self
            .conn()
            .smembers(self.keys.sub(g, sub))
            .await
            .map_err(StoreError::unavailable)?;
        if members.is_empty() {
            return Ok(0);
        }
        let prefix = self.keys.session_prefix(g);
        let keys: Vec<String> = members.iter().map(|m| format!("{prefix}{m}")).collect();
        let entries: Vec<Option<Vec<u8>>> = self
            .conn()
            .mget(&keys)
            .await
            .map_err(StoreError::unavailable)?;
        let mut call = REMOVE_UNCHANGED.prepare_invoke();
        let mut any = false;
        for ((member, redis_key), bytes) in members.into_iter().zip(keys).zip(entries) {
            let Some(bytes) = bytes else { continue };
            let record = decode_entry(&self.codec, &SessionKey::from_stored(member), &bytes);
            if record.is_some_and(|r| r.sub() == sub && r.sid().is_none()) {
                call.key(redis_key).arg(bytes);
                any = true;
            }
        }
        if !any {
            return Ok(0);
        }
        call.invoke_async::<usize>(&mut self.conn())
            .await
            .map_err(StoreError::unavailable)
    }
}
