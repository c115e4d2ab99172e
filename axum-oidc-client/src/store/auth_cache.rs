//! The store trait, [`AuthCache`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

#[cfg(doc)]
use super::TwoTierStore;
use super::{InvalidationHealth, SessionKey, SessionRecord, StoreError};

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
///
/// # A store of your own
///
/// A complete store: every method, in one process, under one lock. Holding the lock
/// for the whole of each method is what makes [`replace`](Self::replace) and
/// [`try_lock`](Self::try_lock) atomic; a remote store gets the same from its
/// server (a script, a conditional `UPDATE`). This one scans for `sid` and `sub`
/// where a real store keeps an index.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex, MutexGuard};
/// use std::time::{Duration, Instant};
///
/// use axum_oidc_client::async_trait;
/// use axum_oidc_client::store::{SessionKey, SessionRecord};
/// use axum_oidc_client::store::{AuthCache, SharedStore, StoreError};
///
/// #[derive(Default)]
/// struct MapStore(Mutex<Maps>);
///
/// #[derive(Default)]
/// struct Maps {
///     sessions: HashMap<SessionKey, (Arc<SessionRecord>, Instant)>,
///     leases: HashMap<String, (String, Instant)>,
///     once: HashMap<String, Instant>,
/// }
///
/// impl MapStore {
///     /// The maps, with every expired entry dropped.
///     fn live(&self) -> MutexGuard<'_, Maps> {
///         let mut maps = self.0.lock().unwrap_or_else(|p| p.into_inner());
///         let now = Instant::now();
///         maps.sessions.retain(|_, (_, until)| *until > now);
///         maps.leases.retain(|_, (_, until)| *until > now);
///         maps.once.retain(|_, until| *until > now);
///         maps
///     }
///
///     /// Removes the sessions whose record matches; returns how many.
///     fn remove_where(&self, matches: impl Fn(&SessionRecord) -> bool) -> usize {
///         let mut maps = self.live();
///         let before = maps.sessions.len();
///         maps.sessions.retain(|_, (record, _)| !matches(record));
///         before - maps.sessions.len()
///     }
/// }
///
/// #[async_trait]
/// impl AuthCache for MapStore {
///     // Sessions.
///     async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
///         Ok(self.live().sessions.get(key).map(|(record, _)| record.clone()))
///     }
///
///     async fn put(
///         &self,
///         key: &SessionKey,
///         record: Arc<SessionRecord>,
///         ttl: Duration,
///     ) -> Result<(), StoreError> {
///         let until = Instant::now() + ttl;
///         self.live().sessions.insert(key.clone(), (record, until));
///         Ok(())
///     }
///
///     async fn replace(
///         &self,
///         key: &SessionKey,
///         current: &SessionRecord,
///         record: Arc<SessionRecord>,
///         ttl: Duration,
///     ) -> Result<bool, StoreError> {
///         // Compare and write under one lock.
///         let mut maps = self.live();
///         match maps.sessions.get_mut(key) {
///             Some(stored) if *stored.0 == *current => {
///                 *stored = (record, Instant::now() + ttl);
///                 Ok(true)
///             }
///             _ => Ok(false),
///         }
///     }
///
///     async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
///         self.live().sessions.remove(key);
///         Ok(())
///     }
///
///     // The sid/sub index, for back-channel logout.
///     async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
///         Ok(self.remove_where(|r| r.logout_sid().as_deref() == Some(sid)))
///     }
///
///     async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
///         Ok(self.remove_where(|r| r.sub() == sub))
///     }
///
///     async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
///         Ok(self.remove_where(|r| r.sub() == sub && r.sid().is_none()))
///     }
///
///     // Leases, for the refresh single flight.
///     async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError> {
///         let mut maps = self.live();
///         if maps.leases.get(name).is_some_and(|(holder, _)| holder != owner) {
///             return Ok(false);
///         }
///         let until = Instant::now() + lease;
///         maps.leases.insert(name.to_owned(), (owner.to_owned(), until));
///         Ok(true)
///     }
///
///     async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
///         let mut maps = self.live();
///         if maps.leases.get(name).is_some_and(|(holder, _)| holder == owner) {
///             maps.leases.remove(name);
///         }
///         Ok(())
///     }
///
///     // One-time values.
///     async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError> {
///         let mut maps = self.live();
///         if maps.once.contains_key(value) {
///             return Ok(false);
///         }
///         maps.once.insert(value.to_owned(), Instant::now() + ttl);
///         Ok(true)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), StoreError> {
/// let store: SharedStore = Arc::new(MapStore::default());
/// let minute = Duration::from_secs(60);
/// assert!(store.try_lock("refresh:k", "instance-a", minute).await?);
/// assert!(!store.try_lock("refresh:k", "instance-b", minute).await?);
/// assert!(store.insert_once("jti-1", minute).await?);
/// assert!(!store.insert_once("jti-1", minute).await?);
/// assert_eq!(store.remove_by_sub_without_sid("alice").await?, 0);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait AuthCache: Send + Sync + 'static {
    // ---- sessions ----

    /// Reads a live session. Expired entries are never returned.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// let key = SessionKey::from_stored("k1");
    /// assert!(store.get(&key).await?.is_none());
    /// store.put(&key, record("alice", None), hour).await?;
    /// assert_eq!(store.get(&key).await?.unwrap().sub(), "alice");
    /// # Ok(()) }
    /// ```
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError>;

    /// Reads a session from the shared tier, bypassing any local cache. Used after
    /// waiting for another instance's refresh. Defaults to [`get`](Self::get).
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// let key = SessionKey::from_stored("k1");
    /// store.put(&key, record("alice", None), hour).await?;
    /// assert_eq!(store.get_fresh(&key).await?, store.get(&key).await?);
    /// # Ok(()) }
    /// ```
    async fn get_fresh(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.get(key).await
    }

    /// Writes a session for `ttl` and indexes it by its `sid` and `sub`,
    /// unconditionally (a new session, or a touch of one just read).
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// let key = SessionKey::from_stored("k1");
    /// store.put(&key, record("alice", Some("sid-1")), hour).await?;
    /// // Indexed by `sid` and `sub`: back-channel logout finds it.
    /// assert_eq!(store.remove_by_sid("sid-1").await?, 1);
    /// assert!(store.get(&key).await?.is_none());
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// let key = SessionKey::from_stored("k1");
    /// let read = record("alice", None);
    /// store.put(&key, read.clone(), hour).await?;
    /// let refreshed = record("alice", Some("sid-2"));
    /// assert!(store.replace(&key, &read, refreshed.clone(), hour).await?);
    /// // A second writer still holding the old version loses.
    /// assert!(!store.replace(&key, &read, record("alice", None), hour).await?);
    /// // A removed session is never brought back.
    /// store.remove(&key).await?;
    /// assert!(!store.replace(&key, &refreshed, record("alice", None), hour).await?);
    /// assert!(store.get(&key).await?.is_none());
    /// # Ok(()) }
    /// ```
    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Deletes a session.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// let key = SessionKey::from_stored("k1");
    /// store.put(&key, record("alice", None), hour).await?;
    /// store.remove(&key).await?;
    /// assert!(store.get(&key).await?.is_none());
    /// store.remove(&key).await?; // removing an absent session is not an error
    /// # Ok(()) }
    /// ```
    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError>;

    // ---- sid/sub index, for back-channel logout ----

    /// Deletes every session whose [`SessionRecord::logout_sid`] is `sid`: the
    /// provider session id, scoped by its issuer for sessions of named providers;
    /// returns how many. Index what `logout_sid` gives when a session is written.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// store.put(&SessionKey::from_stored("a"), record("alice", Some("sid-1")), hour).await?;
    /// store.put(&SessionKey::from_stored("b"), record("alice", Some("sid-2")), hour).await?;
    /// assert_eq!(store.remove_by_sid("sid-1").await?, 1);
    /// assert!(store.get(&SessionKey::from_stored("b")).await?.is_some());
    /// # Ok(()) }
    /// ```
    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError>;

    /// Deletes every session of this subject; returns how many.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// store.put(&SessionKey::from_stored("a"), record("alice", Some("sid-1")), hour).await?;
    /// store.put(&SessionKey::from_stored("b"), record("alice", None), hour).await?;
    /// store.put(&SessionKey::from_stored("c"), record("bob", None), hour).await?;
    /// assert_eq!(store.remove_by_sub("alice").await?, 2);
    /// assert!(store.get(&SessionKey::from_stored("c")).await?.is_some());
    /// # Ok(()) }
    /// ```
    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError>;

    /// Deletes every session of this subject whose record has no `sid`, and no other;
    /// returns how many. A logout token with both `sid` and `sub` ends the provider
    /// session `sid` and also these (Back-Channel Logout 1.0 §2.7: many providers
    /// put no `sid` in ID tokens). Subjects compare exactly (case and trailing spaces
    /// count).
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// store.put(&SessionKey::from_stored("a"), record("alice", Some("sid-1")), hour).await?;
    /// store.put(&SessionKey::from_stored("b"), record("alice", None), hour).await?;
    /// assert_eq!(store.remove_by_sub_without_sid("alice").await?, 1);
    /// assert!(store.get(&SessionKey::from_stored("a")).await?.is_some());
    /// assert!(store.get(&SessionKey::from_stored("b")).await?.is_none());
    /// # Ok(()) }
    /// ```
    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError>;

    // ---- leases, for the refresh single flight ----

    /// Takes the lease `name` for `owner` unless someone else holds a live one.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// assert!(store.try_lock("refresh:k1", "instance-a", hour).await?);
    /// assert!(!store.try_lock("refresh:k1", "instance-b", hour).await?);
    /// # Ok(()) }
    /// ```
    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError>;

    /// Releases the lease if `owner` still holds it.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// assert!(store.try_lock("refresh:k1", "instance-a", hour).await?);
    /// store.unlock("refresh:k1", "instance-b").await?; // not the holder: no effect
    /// assert!(!store.try_lock("refresh:k1", "instance-b", hour).await?);
    /// store.unlock("refresh:k1", "instance-a").await?;
    /// assert!(store.try_lock("refresh:k1", "instance-b", hour).await?);
    /// # Ok(()) }
    /// ```
    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError>;

    // ---- one-time values ----

    /// Records a one-time value for `ttl`; `false` when it was already recorded.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// // A back-channel logout token's `jti` is accepted once.
    /// assert!(store.insert_once("jti-1", hour).await?);
    /// assert!(!store.insert_once("jti-1", hour).await?);
    /// # Ok(()) }
    /// ```
    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError>;

    // ---- a user's sessions ----

    /// The live sessions of the user `(iss, sub)`, for a "your sessions" page and
    /// "sign out everywhere". A subject is only unique per issuer (OIDC Core 2), so
    /// sessions of the same `sub` from another issuer are not returned. The order is
    /// unspecified.
    ///
    /// The default refuses with [`StoreError::Config`]: a store of your own lists
    /// sessions only once it implements this.
    ///
    /// ```
    /// # use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey, StoreError};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), StoreError> {
    /// # let hour = std::time::Duration::from_secs(3600);
    /// let store = MemoryStore::default();
    /// store.put(&SessionKey::from_stored("a"), record("alice", None), hour).await?;
    /// store.put(&SessionKey::from_stored("b"), record("bob", None), hour).await?;
    /// let mine = store.sessions_of("https://op.example", "alice").await?;
    /// assert_eq!(mine.len(), 1);
    /// assert!(store.sessions_of("https://other.example", "alice").await?.is_empty());
    /// # Ok(()) }
    /// ```
    async fn sessions_of(
        &self,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        let _ = (iss, sub);
        Err(StoreError::Config(
            "this session store cannot list a user's sessions (AuthCache::sessions_of)".into(),
        ))
    }

    // ---- health ----

    /// How the store's invalidation channel stands, for a store that has one (a
    /// [`TwoTierStore`] made with a channel); `None` otherwise.
    ///
    /// ```
    /// use axum_oidc_client::store::{AuthCache, MemoryStore};
    ///
    /// assert!(MemoryStore::default().invalidation_health().is_none());
    /// ```
    fn invalidation_health(&self) -> Option<InvalidationHealth> {
        None
    }
}
