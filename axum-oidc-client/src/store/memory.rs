//! In-process store on `moka`: bounded, with a TTL per entry. The default store, and the
//! first tier of two-tier store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache;

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

type Index = Mutex<HashMap<String, HashSet<SessionKey>>>;

#[derive(Default)]
struct Indexes {
    by_sid: Index,
    by_sub: Index,
}

impl Indexes {
    fn add(&self, key: &SessionKey, record: &SessionRecord) {
        if let Some(sid) = record.sid() {
            lock(&self.by_sid)
                .entry(sid.to_owned())
                .or_default()
                .insert(key.clone());
        }
        lock(&self.by_sub)
            .entry(record.sub().to_owned())
            .or_default()
            .insert(key.clone());
    }

    fn drop_key(&self, key: &SessionKey, record: &SessionRecord) {
        if let Some(sid) = record.sid() {
            unlink(&self.by_sid, sid, key);
        }
        unlink(&self.by_sub, record.sub(), key);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unlink(index: &Index, value: &str, key: &SessionKey) {
    let mut map = lock(index);
    if let Some(set) = map.get_mut(value) {
        set.remove(key);
        if set.is_empty() {
            map.remove(value);
        }
    }
}

/// Sessions in process memory.
///
/// Fast and simple, but sessions do not survive a restart and are not shared between
/// instances. Capacity-bounded: past the bound the least useful sessions are evicted.
#[derive(Clone)]
pub struct MemoryStore {
    sessions: Cache<SessionKey, (Arc<SessionRecord>, Duration)>,
    once: Cache<String, ((), Duration)>,
    indexes: Arc<Indexes>,
    leases: Arc<Mutex<HashMap<String, (String, Instant)>>>,
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
    pub fn new(capacity: u64) -> Self {
        let indexes = Arc::new(Indexes::default());
        let on_evict = indexes.clone();
        let sessions = Cache::builder()
            .max_capacity(capacity)
            .expire_after(PerEntryTtl)
            .eviction_listener(
                move |key: Arc<SessionKey>, value: (Arc<SessionRecord>, Duration), _| {
                    on_evict.drop_key(&key, &value.0);
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
        }
    }

    /// Number of live sessions (approximate, for metrics and tests).
    pub async fn session_count(&self) -> u64 {
        self.sessions.run_pending_tasks().await;
        self.sessions.entry_count()
    }

    async fn remove_keys(&self, keys: Option<HashSet<SessionKey>>) -> usize {
        let keys = keys.unwrap_or_default();
        for k in &keys {
            self.sessions.invalidate(k).await;
        }
        keys.len()
    }
}

#[async_trait]
impl AuthCache for MemoryStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.sessions.get(key).await.map(|(r, _)| r))
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.indexes.add(key, &record);
        self.sessions.insert(key.clone(), (record, ttl)).await;
        Ok(())
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.sessions.invalidate(key).await;
        Ok(())
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        let keys = lock(&self.indexes.by_sid).remove(sid);
        Ok(self.remove_keys(keys).await)
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        let keys = lock(&self.indexes.by_sub).remove(sub);
        Ok(self.remove_keys(keys).await)
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
