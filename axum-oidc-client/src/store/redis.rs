//! Redis store: sessions as encoded bytes with a `PX` TTL, the logout indexes as sets,
//! leases and one-time values as `SET NX PX` keys.
//!
//! Key layout under the prefix (default [`DEFAULT_KEY_PREFIX`]):
//!
//! | key | type | content |
//! |---|---|---|
//! | `{prefix}session:{session key}` | string | [`SessionCodec`] bytes, `PX` = session TTL |
//! | `{prefix}sid:{sid}` | set | session keys of that provider session |
//! | `{prefix}sub:{sub}` | set | session keys of that subject |
//! | `{prefix}lease:{name}` | string | lease owner, `PX` = lease |
//! | `{prefix}once:{SHA-256 of value}` | string | `1`, `PX` = TTL |
//!
//! Every operation that touches more than one key is one Lua script, so it is atomic
//! ([Redis scripting](https://redis.io/docs/latest/develop/interact/programmability/eval-intro/)).
//! Scripts build session keys from the prefix, so the store targets standalone Redis
//! (or a primary with replicas), not Redis Cluster.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{AsyncCommands as _, Client, Script};
use async_trait::async_trait;

use super::remote::{decode_entry, once_digest, ttl_millis};
use super::{AuthCache, StoreError};
use crate::session::{SessionCodec, SessionKey, SessionRecord};

/// Default prefix of every key the store writes.
pub const DEFAULT_KEY_PREFIX: &str = "axum_oidc:";

/// Default time allowed to open a connection. Short, so a dead server fails the
/// request quickly instead of holding it.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Default time allowed for one reply.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// An index set larger than this is pruned of members whose session has expired when
/// it is next written, so a long-lived subject's set does not grow without bound.
const PRUNE_ABOVE: usize = 64;

/// `KEYS[1]` session, `KEYS[2..]` index sets; `ARGV`: encoded record, TTL in ms, the
/// session key (the set member), the session key prefix, the prune threshold.
/// Index sets live at least as long as the session they point to.
const PUT_BODY: &str = r"
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do
  local index = KEYS[i]
  redis.call('SADD', index, ARGV[3])
  if redis.call('SCARD', index) > tonumber(ARGV[5]) then
    for _, member in ipairs(redis.call('SMEMBERS', index)) do
      if redis.call('EXISTS', ARGV[4] .. member) == 0 then
        redis.call('SREM', index, member)
      end
    end
  end
  if redis.call('PTTL', index) < ttl then
    redis.call('PEXPIRE', index, ttl)
  end
end
return 1
";

/// [`PUT_BODY`].
static PUT: LazyLock<Script> = LazyLock::new(|| Script::new(PUT_BODY));

/// [`PUT_BODY`] with one more argument, `ARGV[6]`: the stored bytes the caller read.
/// Writes only if the session still holds exactly those bytes (an absent or expired
/// key reads as `false`, which never equals them); returns 1 if it wrote, else 0.
static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "if redis.call('GET', KEYS[1]) ~= ARGV[6] then\n  return 0\nend\n{PUT_BODY}"
    ))
});

/// `KEYS` sessions, `ARGV` the bytes read from each. Deletes each session that still
/// holds exactly those bytes; returns how many it deleted.
static REMOVE_UNCHANGED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local removed = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    removed = removed + redis.call('DEL', KEYS[i])
  end
end
return removed
",
    )
});

/// `KEYS[1]` index set; `ARGV[1]` session key prefix. Deletes every session in the
/// set, then the set; returns how many sessions existed.
static REMOVE_INDEXED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local removed = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  removed = removed + redis.call('DEL', ARGV[1] .. member)
end
redis.call('DEL', KEYS[1])
return removed
",
    )
});

/// `KEYS[1]` lease; `ARGV`: owner, lease in ms. Takes a free lease or extends our own.
static LOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
",
    )
});

/// `KEYS[1]` lease; `ARGV[1]` owner. Deletes the lease only if `owner` holds it.
static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Sessions in Redis, shared by every instance of the application.
///
/// The connection is a [`ConnectionManager`]: one multiplexed connection that is
/// re-established in the background after a failure, so the application recovers by
/// itself when Redis comes back. Until then, operations fail with
/// [`StoreError::Unavailable`]. `rediss://` URLs use TLS (rustls).
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
    conn: ConnectionManager,
    codec: SessionCodec,
    keys: Arc<KeyLayout>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("key_prefix", &self.keys.prefix)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

struct KeyLayout {
    prefix: String,
    /// `{prefix}session:`, the prefix of every session key (also passed to scripts).
    session: String,
}

impl KeyLayout {
    fn new(prefix: String) -> Self {
        let session = format!("{prefix}session:");
        Self { prefix, session }
    }

    fn session(&self, key: &SessionKey) -> String {
        format!("{}{}", self.session, key.as_str())
    }

    fn sid(&self, sid: &str) -> String {
        format!("{}sid:{sid}", self.prefix)
    }

    fn sub(&self, sub: &str) -> String {
        format!("{}sub:{sub}", self.prefix)
    }

    fn lease(&self, name: &str) -> String {
        format!("{}lease:{name}", self.prefix)
    }

    fn once(&self, value: &str) -> String {
        format!("{}once:{}", self.prefix, once_digest(value))
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
        RedisStoreBuilder {
            codec,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
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

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// Settings of a [`RedisStore`]; made by [`RedisStore::builder`].
///
/// ```no_run
/// use axum_oidc_client::store::SessionCodec;
/// use axum_oidc_client::store::RedisStore;
///
/// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
/// // Starts even when Redis is down; the first operation connects.
/// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
///     .connect_lazy("redis://127.0.0.1:6379")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    codec: SessionCodec,
    key_prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl std::fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("codec", &self.codec)
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl RedisStoreBuilder {
    /// Sets the prefix of every key (default [`DEFAULT_KEY_PREFIX`]). Applications
    /// sharing one Redis database need distinct prefixes.
    ///
    /// ```
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// let builder = RedisStore::builder(SessionCodec::plain()).with_key_prefix("app-a:");
    /// ```
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets the time allowed to open a connection (default
    /// [`DEFAULT_CONNECT_TIMEOUT`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// let builder = RedisStore::builder(SessionCodec::plain()).with_connect_timeout(Duration::from_millis(500));
    /// ```
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the time allowed for one reply (default [`DEFAULT_RESPONSE_TIMEOUT`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// let builder = RedisStore::builder(SessionCodec::plain()).with_response_timeout(Duration::from_secs(1));
    /// ```
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Connects now; fails with [`StoreError::Connect`] if Redis cannot be reached,
    /// and with [`StoreError::Config`] for a malformed URL.
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
    ///     .connect("redis://:password@127.0.0.1:6379/0")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self, url: &str) -> Result<RedisStore, StoreError> {
        let (client, config) = self.client(url)?;
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| super::url::Scheme::Redis.connect_error(url, e))?;
        Ok(self.build(conn))
    }

    /// Returns at once without contacting Redis; the first operation connects. Use it
    /// when the application must start while Redis is down.
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
    ///     .connect_lazy("redis://127.0.0.1:6379")?;
    /// # Ok(()) }
    /// ```
    pub fn connect_lazy(self, url: &str) -> Result<RedisStore, StoreError> {
        let (client, config) = self.client(url)?;
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(StoreError::unavailable)?;
        Ok(self.build(conn))
    }

    /// Uses a connection the application already has; its own timeouts apply.
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let conn = client.get_connection_manager().await?;
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key)).build(conn);
    /// # Ok(()) }
    /// ```
    pub fn build(self, connection: ConnectionManager) -> RedisStore {
        RedisStore {
            conn: connection,
            codec: self.codec,
            keys: Arc::new(KeyLayout::new(self.key_prefix)),
        }
    }

    fn client(&self, url: &str) -> Result<(Client, ConnectionManagerConfig), StoreError> {
        let client =
            Client::open(url).map_err(|e| StoreError::Config(format!("invalid Redis URL: {e}")))?;
        if url
            .get(..9)
            .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"))
        {
            ensure_crypto_provider();
        }
        // No retry loop inside a (re)connection attempt: every failed operation starts
        // the next attempt, so retrying inside would only delay the error (each try
        // can take the whole connect timeout).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(0);
        Ok((client, config))
    }
}

/// `rediss://` connections build their rustls configuration from the process-wide
/// default crypto provider. rustls picks one by itself only when exactly one provider
/// is compiled in; an application that also links `ring` would make every TLS
/// handshake panic. So when the application has installed none, install aws-lc-rs
/// (a provider the application installs itself, before connecting, is kept).
fn ensure_crypto_provider() {
    use rustls::crypto::CryptoProvider;
    if CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a default then exists.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
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
        self.remove_indexed(self.keys.sid(sid)).await
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        self.remove_indexed(self.keys.sub(sub)).await
    }

    /// The subject's index set holds every session key written for it; each entry is
    /// read and decoded here, and the `REMOVE_UNCHANGED` script deletes those without a `sid`
    /// unless they were rewritten meanwhile. Needs no index of its own, so sessions
    /// written before this method existed are found too.
    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        let members: Vec<String> = self
            .conn()
            .smembers(self.keys.sub(sub))
            .await
            .map_err(StoreError::unavailable)?;
        if members.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = members
            .iter()
            .map(|m| self.keys.session(&SessionKey::from_stored(m.clone())))
            .collect();
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
        let mut call = script.key(self.keys.session(key));
        call.key(self.keys.sub(record.sub()));
        if let Some(sid) = record.sid() {
            call.key(self.keys.sid(sid));
        }
        call.arg(bytes)
            .arg(ttl_millis(ttl))
            .arg(key.as_str())
            .arg(&self.keys.session)
            .arg(PRUNE_ABOVE);
        if let Some(read) = read {
            call.arg(read);
        }
        call.invoke_async::<bool>(&mut self.conn())
            .await
            .map_err(StoreError::unavailable)
    }

    async fn remove_indexed(&self, index: String) -> Result<usize, StoreError> {
        REMOVE_INDEXED
            .key(index)
            .arg(&self.keys.session)
            .invoke_async::<usize>(&mut self.conn())
            .await
            .map_err(StoreError::unavailable)
    }
}
