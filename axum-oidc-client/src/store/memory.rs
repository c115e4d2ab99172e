//! In-process store on `moka`: bounded, with a TTL per entry. The default store, and the
//! first tier of two-tier store.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::{BuildHasher as _, BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};

use super::{AuthCache, StoreError};
use crate::session::{SessionKey, SessionRecord};

/// Default capacity of the memory store, in sessions.
pub const DEFAULT_CAPACITY: u64 = 100_000;

struct PerEntryTtl;

impl<K, V> Expiry<K, (V, Duration)> for PerEntryTtl {
    fn expire_after_create(&self, _: &K, value: &(V, Duration), _: Instant) -> Option<Duration> {
        Some(value.1)
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &(V, Duration),
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.1)
    }
}

/// The keys of the sessions of one `sid` or `sub`, each with the generation of the
/// write that indexed it. Almost every `sid` and most subjects have one session, so
/// one key is held inline and only a second one allocates a map.
enum Keys {
    One(SessionKey, u64),
    // Boxed: a bare map (48 bytes) would make every index slot 56 bytes instead of 32.
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<SessionKey, u64>>),
}

impl Keys {
    fn insert(&mut self, key: &SessionKey, generation: u64) {
        match self {
            Self::One(k, g) if k == key => *g = generation,
            Self::One(k, g) => {
                let mut many = HashMap::with_capacity(2);
                many.insert(k.clone(), *g);
                many.insert(key.clone(), generation);
                *self = Self::Many(Box::new(many));
            }
            Self::Many(many) => {
                many.insert(key.clone(), generation);
            }
        }
    }

    /// Unlinks `key` if `generation` is still the indexed one; `true` when no key is left.
    fn unlink(&mut self, key: &SessionKey, generation: u64) -> bool {
        match self {
            Self::One(k, g) => k == key && *g == generation,
            Self::Many(many) => {
                if many.get(key) == Some(&generation) {
                    many.remove(key);
                }
                let last = (many.len() == 1).then(|| many.drain().next()).flatten();
                if let Some((k, g)) = last {
                    *self = Self::One(k, g);
                    return false;
                }
                many.is_empty()
            }
        }
    }

    fn to_vec(&self) -> Vec<SessionKey> {
        match self {
            Self::One(k, _) => vec![k.clone()],
            Self::Many(many) => many.keys().cloned().collect(),
        }
    }
}

/// `sid` or `sub` → the keys of its sessions, each with the generation of the write
/// that indexed it. Eviction events arrive late; an event only unlinks the key when
/// its generation is still the indexed one, so a late event never hides a newer write.
///
/// The index holds no copy of the `sid` or `sub`: it is keyed by their 64-bit keyed
/// hash ([`Indexes::hash`]), and the keys share their text with the store's own
/// (a [`SessionKey`] is a reference-counted string). Whoever reads a bucket checks
/// each session's record, so two values with the same hash only share a bucket.
type Index = Mutex<HashMap<u64, Keys, BuildHasherDefault<Prehashed>>>;

/// The hasher of an [`Index`], whose keys are already uniform keyed hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here; fold anything else in for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Indexes {
    /// SipHash with this store's random keys: no one can choose values that collide.
    hasher: RandomState,
    /// Tests: every value hashes alike, so every session shares one bucket.
    #[cfg(test)]
    colliding: bool,
    by_sid: Index,
    by_sub: Index,
}

impl Indexes {
    fn hash(&self, value: &str) -> u64 {
        #[cfg(test)]
        if self.colliding {
            return 0;
        }
        self.hasher.hash_one(value)
    }

    fn add(&self, key: &SessionKey, record: &SessionRecord, generation: u64) {
        if let Some(sid) = record.logout_sid() {
            link(&self.by_sid, self.hash(&sid), key, generation);
        }
        link(&self.by_sub, self.hash(record.sub()), key, generation);
    }

    /// Unlinks an evicted or replaced write; a newer write of the same key keeps its
    /// entries because its generation differs.
    fn drop_key(&self, key: &SessionKey, record: &SessionRecord, generation: u64) {
        if let Some(sid) = record.logout_sid() {
            unlink(&self.by_sid, self.hash(&sid), key, generation);
        }
        unlink(&self.by_sub, self.hash(record.sub()), key, generation);
    }

    /// The keys indexed under `value`: a superset of the sessions whose record has
    /// that value (records must be checked).
    fn keys(&self, index: &Index, value: &str) -> Vec<SessionKey> {
        lock(index)
            .get(&self.hash(value))
            .map(Keys::to_vec)
            .unwrap_or_default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn link(index: &Index, hash: u64, key: &SessionKey, generation: u64) {
    match lock(index).entry(hash) {
        Entry::Occupied(mut keys) => keys.get_mut().insert(key, generation),
        Entry::Vacant(slot) => {
            slot.insert(Keys::One(key.clone(), generation));
        }
    }
}

fn unlink(index: &Index, hash: u64, key: &SessionKey, generation: u64) {
    let mut map = lock(index);
    if let Entry::Occupied(mut keys) = map.entry(hash)
        && keys.get_mut().unlink(key, generation)
    {
        keys.remove();
    }
}

/// Sessions in process memory.
///
/// Fast and simple, but sessions do not survive a restart and are not shared between
/// instances. Capacity-bounded: past the bound the least useful sessions are evicted.
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey};
/// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
/// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
/// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
/// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
/// let store = MemoryStore::default();
/// let key = SessionKey::from_stored("k1");
/// store.put(&key, record("alice", None), Duration::from_secs(60)).await?;
/// assert_eq!(store.get(&key).await?.unwrap().sub(), "alice");
/// assert_eq!(store.session_count().await, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    sessions: Cache<SessionKey, ((Arc<SessionRecord>, u64), Duration)>,
    once: Cache<String, ((), Duration)>,
    indexes: Arc<Indexes>,
    leases: Arc<Mutex<HashMap<String, (String, Instant)>>>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.sessions.entry_count())
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` sessions.
    ///
    /// ```
    /// use axum_oidc_client::{AuthenticationLayer, MemoryStore};
    /// # fn config() -> axum_oidc_client::OAuthConfiguration {
    /// #     axum_oidc_client::OAuthConfigurationBuilder::default()
    /// #         .with_client_id("my-app")
    /// #         .with_client_secret("s3cret")
    /// #         .with_app_url("https://app.example")
    /// #         .with_authorization_endpoint("https://op.example/authorize")
    /// #         .with_token_endpoint("https://op.example/token")
    /// #         .with_end_session_endpoint("https://op.example/logout")
    /// #         .with_oauth2_only("https://op.example/user", "id")
    /// #         .build()
    /// #         .unwrap()
    /// # }
    ///
    /// let layer = AuthenticationLayer::new(config()).store(MemoryStore::new(100_000));
    /// # let _ = layer;
    /// ```
    pub fn new(capacity: u64) -> Self {
        Self::with_indexes(capacity, Indexes::default())
    }

    fn with_indexes(capacity: u64, indexes: Indexes) -> Self {
        let indexes = Arc::new(indexes);
        let on_evict = indexes.clone();
        let sessions = Cache::builder()
            .max_capacity(capacity)
            .expire_after(PerEntryTtl)
            .eviction_listener(
                move |key: Arc<SessionKey>, value: ((Arc<SessionRecord>, u64), Duration), _| {
                    let ((record, generation), _) = value;
                    on_evict.drop_key(&key, &record, generation);
                },
            )
            .build();
        let once = Cache::builder()
            .max_capacity(capacity.saturating_mul(4))
            .expire_after(PerEntryTtl)
            .build();
        Self {
            sessions,
            once,
            indexes,
            leases: Arc::default(),
            generation: Arc::default(),
        }
    }

    /// Drops every session (a local tier's flush). Their index entries go with them,
    /// through the eviction listener.
    pub(crate) async fn clear(&self) {
        self.sessions.invalidate_all();
        self.sessions.run_pending_tasks().await;
    }

    /// Number of live sessions (approximate, for metrics and tests).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey};
    /// # fn record(sub: &str, sid: Option<&str>) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
    /// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1, "sid": sid}})).unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
    /// let store = MemoryStore::new(1_000);
    /// assert_eq!(store.session_count().await, 0);
    /// store.put(&SessionKey::from_stored("a"), record("alice", None), Duration::from_secs(60)).await?;
    /// store.put(&SessionKey::from_stored("b"), record("bob", None), Duration::from_secs(60)).await?;
    /// assert_eq!(store.session_count().await, 2);
    /// # Ok(()) }
    /// ```
    pub async fn session_count(&self) -> u64 {
        self.sessions.run_pending_tasks().await;
        self.sessions.entry_count()
    }

    /// Writes `record` under `key`: always when `current` is `None` (a put), else only
    /// if a live session equal to `current` is stored (a replace). Every write and
    /// removal of a session goes through moka's compute methods, which are serialized
    /// per key, so the comparison and the write are one atomic step.
    async fn write(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
        current: Option<&SessionRecord>,
    ) -> bool {
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let indexes = &self.indexes;
        let result = self
            .sessions
            .entry(key.clone())
            .and_compute_with(|stored| {
                let write = match current {
                    None => true,
                    Some(current) => stored.is_some_and(|e| *e.value().0.0 == *current),
                };
                std::future::ready(if write {
                    indexes.add(key, &record, generation);
                    Op::Put(((record, generation), ttl))
                } else {
                    Op::Nop
                })
            })
            .await;
        matches!(
            result,
            CompResult::Inserted(_) | CompResult::ReplacedWith(_)
        )
    }

    /// Removes the live session under `key` if `matches` its record; `true` if removed.
    /// The removed write leaves the indexes here, not only through the eviction
    /// listener, so a bucket never keeps a key whose session is gone.
    async fn remove_if(
        &self,
        key: &SessionKey,
        matches: impl FnOnce(&SessionRecord) -> bool,
    ) -> bool {
        let result = self
            .sessions
            .entry(key.clone())
            .and_compute_with(|stored| {
                std::future::ready(match stored {
                    Some(e) if matches(&e.value().0.0) => Op::Remove,
                    _ => Op::Nop,
                })
            })
            .await;
        match result {
            CompResult::Removed(entry) => {
                let ((record, generation), _) = entry.into_value();
                self.indexes.drop_key(key, &record, generation);
                true
            }
            _ => false,
        }
    }

    /// Removes the sessions of `keys` whose record still `matches`; returns how many.
    async fn remove_keys(
        &self,
        keys: Vec<SessionKey>,
        matches: impl Fn(&SessionRecord) -> bool,
    ) -> usize {
        let mut removed = 0;
        for k in &keys {
            if self.remove_if(k, &matches).await {
                removed += 1;
            }
        }
        removed
    }
}

#[async_trait]
impl AuthCache for MemoryStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.sessions.get(key).await.map(|((r, _), _)| r))
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.write(key, record, ttl, None).await;
        Ok(())
    }

    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.write(key, record, ttl, Some(current)).await)
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.remove_if(key, |_| true).await;
        Ok(())
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        let keys = self.indexes.keys(&self.indexes.by_sid, sid);
        Ok(self
            .remove_keys(keys, |r| r.logout_sid().as_deref() == Some(sid))
            .await)
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        let keys = self.indexes.keys(&self.indexes.by_sub, sub);
        Ok(self.remove_keys(keys, |r| r.sub() == sub).await)
    }

    /// Goes through the subject's index and removes the sessions whose record, checked
    /// under the key's lock, has no `sid`; those with one stay indexed.
    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        let keys = self.indexes.keys(&self.indexes.by_sub, sub);
        Ok(self
            .remove_keys(keys, |r| r.sub() == sub && r.sid().is_none())
            .await)
    }

    async fn sessions_of(
        &self,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        let keys = self.indexes.keys(&self.indexes.by_sub, sub);
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(((record, _), _)) = self.sessions.get(&key).await
                && record.sub() == sub
                && record.claims.iss == iss
            {
                found.push((key, record));
            }
        }
        Ok(found)
    }

    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError> {
        let mut leases = lock(&self.leases);
        let now = Instant::now();
        leases.retain(|_, (_, until)| *until > now);
        match leases.get(name) {
            Some((holder, _)) if holder != owner => Ok(false),
            _ => {
                leases.insert(name.to_owned(), (owner.to_owned(), now + lease));
                Ok(true)
            }
        }
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let mut leases = lock(&self.leases);
        if leases.get(name).is_some_and(|(holder, _)| holder == owner) {
            leases.remove(name);
        }
        Ok(())
    }

    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        let entry = self.once.entry(value.to_owned()).or_insert(((), ttl)).await;
        Ok(entry.is_fresh())
    }
}

#[cfg(test)]
mod tests;
