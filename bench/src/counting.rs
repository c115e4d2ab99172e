//! A store wrapper that counts every operation and remembers the last session
//! written, so the `flood` scenario can show forged cookies never reach the store and
//! the `memory` scenario can copy a real session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_oidc_client::async_trait;
use axum_oidc_client::store::{AuthCache, SharedStore, StoreError};
use axum_oidc_client::store::{SessionKey, SessionRecord};
use serde::Serialize;

/// Operation counters.
#[derive(Debug, Default)]
pub struct Counts {
    get: AtomicU64,
    get_fresh: AtomicU64,
    put: AtomicU64,
    remove: AtomicU64,
    remove_by: AtomicU64,
    lock: AtomicU64,
    unlock: AtomicU64,
    insert_once: AtomicU64,
}

/// A snapshot of [`Counts`].
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct CountsSnapshot {
    pub get: u64,
    pub get_fresh: u64,
    pub put: u64,
    pub remove: u64,
    pub remove_by: u64,
    pub lock: u64,
    pub unlock: u64,
    pub insert_once: u64,
}

impl CountsSnapshot {
    /// Every operation, reads and writes.
    pub fn total(&self) -> u64 {
        self.get
            + self.get_fresh
            + self.put
            + self.remove
            + self.remove_by
            + self.lock
            + self.unlock
            + self.insert_once
    }

    /// Operations since `earlier`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            get: self.get - earlier.get,
            get_fresh: self.get_fresh - earlier.get_fresh,
            put: self.put - earlier.put,
            remove: self.remove - earlier.remove,
            remove_by: self.remove_by - earlier.remove_by,
            lock: self.lock - earlier.lock,
            unlock: self.unlock - earlier.unlock,
            insert_once: self.insert_once - earlier.insert_once,
        }
    }
}

impl Counts {
    pub fn snapshot(&self) -> CountsSnapshot {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountsSnapshot {
            get: l(&self.get),
            get_fresh: l(&self.get_fresh),
            put: l(&self.put),
            remove: l(&self.remove),
            remove_by: l(&self.remove_by),
            lock: l(&self.lock),
            unlock: l(&self.unlock),
            insert_once: l(&self.insert_once),
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Counts the operations on `inner` and keeps the last record put.
pub struct CountingStore {
    inner: SharedStore,
    counts: Arc<Counts>,
    last_put: Arc<Mutex<Option<Arc<SessionRecord>>>>,
}

impl CountingStore {
    pub fn new(inner: SharedStore) -> Self {
        Self {
            inner,
            counts: Arc::default(),
            last_put: Arc::default(),
        }
    }

    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }

    pub fn last_put(&self) -> Arc<Mutex<Option<Arc<SessionRecord>>>> {
        self.last_put.clone()
    }
}

#[async_trait]
impl AuthCache for CountingStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        bump(&self.counts.get);
        self.inner.get(key).await
    }

    async fn get_fresh(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        bump(&self.counts.get_fresh);
        self.inner.get_fresh(key).await
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        bump(&self.counts.put);
        *self.last_put.lock().unwrap_or_else(|p| p.into_inner()) = Some(record.clone());
        self.inner.put(key, record, ttl).await
    }

    /// Counted as a `put`: it is the refresh's write.
    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        bump(&self.counts.put);
        *self.last_put.lock().unwrap_or_else(|p| p.into_inner()) = Some(record.clone());
        self.inner.replace(key, current, record, ttl).await
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        bump(&self.counts.remove);
        self.inner.remove(key).await
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        bump(&self.counts.remove_by);
        self.inner.remove_by_sid(sid).await
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        bump(&self.counts.remove_by);
        self.inner.remove_by_sub(sub).await
    }

    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        bump(&self.counts.remove_by);
        self.inner.remove_by_sub_without_sid(sub).await
    }

    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError> {
        bump(&self.counts.lock);
        self.inner.try_lock(name, owner, lease).await
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        bump(&self.counts.unlock);
        self.inner.unlock(name, owner).await
    }

    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        bump(&self.counts.insert_once);
        self.inner.insert_once(value, ttl).await
    }
}
