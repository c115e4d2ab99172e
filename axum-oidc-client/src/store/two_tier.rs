//! A process-local cache in front of a shared store.
//!
//! # Consistency
//!
//! Reads are served from the local tier (L1) when they can, so a change made by
//! another instance is seen here only once the L1 entry expires. The L1 TTL is short
//! (default [`DEFAULT_L1_TTL`], 5 s) and bounds that delay:
//!
//! - a session revoked on another instance (logout, back-channel logout, failed
//!   refresh) keeps working here for at most the L1 TTL;
//! - an access token refreshed on another instance may be served in its previous
//!   version for at most the L1 TTL (the refresh path itself reads with
//!   [`get_fresh`](AuthCache::get_fresh), which bypasses L1, so the previous
//!   refresh token is never reused).
//!
//! Changes made through *this* instance are visible here at once: writes and removals
//! go to the shared tier (L2) and then update or invalidate L1. The trade-off is a
//! store round trip saved on most requests against revocation that is eventual by a
//! few seconds. Use the shared store directly where revocation must be immediate.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{AuthCache, MemoryStore, SharedStore, StoreError};
use crate::session::{SessionKey, SessionRecord};

/// Default time an entry is served from the local tier.
pub const DEFAULT_L1_TTL: Duration = Duration::from_secs(5);

/// Default capacity of the local tier, in sessions.
pub const DEFAULT_L1_CAPACITY: u64 = 10_000;

/// Settings of a [`TwoTierStore`].
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::store::TwoTierStoreConfig;
///
/// let config = TwoTierStoreConfig::default()
///     .with_l1_ttl(Duration::from_secs(2))
///     .with_l1_capacity(50_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TwoTierStoreConfig {
    /// Longest time an entry is served from the local tier without asking the shared
    /// one: the bound on how long a session revoked elsewhere keeps working here.
    /// Default [`DEFAULT_L1_TTL`]. A session written through this instance is kept
    /// locally no longer than its own TTL; one read from the shared tier may be served
    /// up to `l1_ttl` past its expiry there (the layer's idle and absolute deadlines,
    /// checked on every request from the record itself, still apply).
    pub l1_ttl: Duration,
    /// Most sessions kept locally. Default [`DEFAULT_L1_CAPACITY`].
    pub l1_capacity: u64,
}

impl Default for TwoTierStoreConfig {
    fn default() -> Self {
        Self {
            l1_ttl: DEFAULT_L1_TTL,
            l1_capacity: DEFAULT_L1_CAPACITY,
        }
    }
}

impl TwoTierStoreConfig {
    /// Sets [`l1_ttl`](Self::l1_ttl).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::TwoTierStoreConfig;
    /// let config = TwoTierStoreConfig::default().with_l1_ttl(Duration::from_millis(500));
    /// ```
    #[must_use]
    pub fn with_l1_ttl(mut self, ttl: Duration) -> Self {
        self.l1_ttl = ttl;
        self
    }

    /// Sets [`l1_capacity`](Self::l1_capacity).
    ///
    /// ```
    /// # use axum_oidc_client::store::TwoTierStoreConfig;
    /// let config = TwoTierStoreConfig::default().with_l1_capacity(1_000);
    /// ```
    #[must_use]
    pub fn with_l1_capacity(mut self, sessions: u64) -> Self {
        self.l1_capacity = sessions;
        self
    }
}

/// A [`MemoryStore`] (L1) in front of any shared store (L2).
///
/// Reads try L1, then L2, and keep what L2 returned in L1 for the
/// [L1 TTL](TwoTierStoreConfig::l1_ttl). Writes and removals go to L2 first, then
/// L1. Leases and one-time values live only in L2, where every instance sees them.
/// See the [module docs](self) for the revocation bound.
///
/// ```
/// use axum_oidc_client::store::{SharedStore, TwoTierStore, TwoTierStoreConfig};
///
/// // `shared` is a Redis or SQL store, for example from `store::from_url`.
/// fn with_local_tier(shared: SharedStore) -> SharedStore {
///     std::sync::Arc::new(TwoTierStore::new(shared, TwoTierStoreConfig::default()))
/// }
/// ```
#[derive(Clone)]
pub struct TwoTierStore {
    l1: MemoryStore,
    l2: SharedStore,
    l1_ttl: Duration,
}

impl std::fmt::Debug for TwoTierStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoTierStore")
            .field("l1", &self.l1)
            .field("l1_ttl", &self.l1_ttl)
            .finish_non_exhaustive()
    }
}

impl TwoTierStore {
    /// Puts a local tier in front of `shared`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_oidc_client::store::{MemoryStore, TwoTierStore, TwoTierStoreConfig};
    ///
    /// // A memory store stands in for a shared one here.
    /// let store = TwoTierStore::new(Arc::new(MemoryStore::default()), TwoTierStoreConfig::default());
    /// ```
    pub fn new(shared: SharedStore, config: TwoTierStoreConfig) -> Self {
        Self {
            l1: MemoryStore::new(config.l1_capacity),
            l2: shared,
            l1_ttl: config.l1_ttl,
        }
    }

    /// Keeps a record read from L2 in L1, or forgets L1's copy when L2 has none.
    async fn remember(
        &self,
        key: &SessionKey,
        found: &Option<Arc<SessionRecord>>,
    ) -> Result<(), StoreError> {
        match found {
            Some(record) => self.l1.put(key, record.clone(), self.l1_ttl).await,
            None => self.l1.remove(key).await,
        }
    }
}

/// The earlier name of [`TwoTierStore`].
#[deprecated(note = "renamed to `TwoTierStore`")]
pub type TwoTierAuthCache = TwoTierStore;

/// The earlier name of [`TwoTierStoreConfig`].
#[deprecated(note = "renamed to `TwoTierStoreConfig`")]
pub type TwoTierCacheConfig = TwoTierStoreConfig;

#[async_trait]
impl AuthCache for TwoTierStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        if let Some(hit) = self.l1.get(key).await? {
            return Ok(Some(hit));
        }
        let found = self.l2.get(key).await?;
        self.remember(key, &found).await?;
        Ok(found)
    }

    async fn get_fresh(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let found = self.l2.get_fresh(key).await?;
        self.remember(key, &found).await?;
        Ok(found)
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let written = self.l2.put(key, record.clone(), ttl).await;
        // On failure L1 must not keep a version L2 may not have.
        match written {
            Ok(()) => self.l1.put(key, record, ttl.min(self.l1_ttl)).await,
            Err(e) => {
                self.l1.remove(key).await?;
                Err(e)
            }
        }
    }

    /// The shared tier decides; the local copy becomes `record` if it wrote, and is
    /// dropped otherwise (the shared tier holds another version, or none).
    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let replaced = self.l2.replace(key, current, record.clone(), ttl).await;
        match replaced {
            Ok(true) => self.l1.put(key, record, ttl.min(self.l1_ttl)).await?,
            Ok(false) | Err(_) => self.l1.remove(key).await?,
        }
        replaced
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        let removed = self.l2.remove(key).await;
        self.l1.remove(key).await?;
        removed
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        let removed = self.l2.remove_by_sid(sid).await;
        self.l1.remove_by_sid(sid).await?;
        removed
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        let removed = self.l2.remove_by_sub(sub).await;
        self.l1.remove_by_sub(sub).await?;
        removed
    }

    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        let removed = self.l2.remove_by_sub_without_sid(sub).await;
        self.l1.remove_by_sub_without_sid(sub).await?;
        removed
    }

    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError> {
        self.l2.try_lock(name, owner, lease).await
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        self.l2.unlock(name, owner).await
    }

    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.l2.insert_once(value, ttl).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::new_session_id;
    use crate::session::tests::record;

    fn pair(l1_ttl: Duration) -> (SharedStore, TwoTierStore, TwoTierStore) {
        let shared: SharedStore = Arc::new(MemoryStore::default());
        let config = TwoTierStoreConfig::default().with_l1_ttl(l1_ttl);
        let a = TwoTierStore::new(shared.clone(), config.clone());
        let b = TwoTierStore::new(shared.clone(), config);
        (shared, a, b)
    }

    fn key() -> SessionKey {
        SessionKey::of(&new_session_id())
    }

    #[tokio::test]
    async fn a_session_revoked_elsewhere_is_served_from_l1_until_read_fresh() {
        let (_, a, b) = pair(DEFAULT_L1_TTL);
        let k = key();
        a.put(&k, Arc::new(record("alice", None)), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(b.get(&k).await.unwrap().is_some());
        a.remove(&k).await.unwrap();
        // b still serves its L1 copy (the documented bound)...
        assert!(b.get(&k).await.unwrap().is_some());
        // ...but bypasses it when asked for the shared state,
        assert!(b.get_fresh(&k).await.unwrap().is_none());
        // which also dropped the stale copy.
        assert!(b.get(&k).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_stale_local_copy_expires_after_the_l1_ttl() {
        let (_, a, b) = pair(Duration::from_millis(200));
        let k = key();
        a.put(&k, Arc::new(record("alice", None)), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(b.get(&k).await.unwrap().is_some());
        a.remove(&k).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(b.get(&k).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn changes_made_here_are_visible_here_at_once() {
        let (shared, a, _) = pair(Duration::from_secs(60));
        let k = key();
        a.put(
            &k,
            Arc::new(record("alice", Some("s1"))),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert!(a.get(&k).await.unwrap().is_some());
        assert_eq!(a.remove_by_sid("s1").await.unwrap(), 1);
        assert!(a.get(&k).await.unwrap().is_none());
        assert!(shared.get(&k).await.unwrap().is_none());

        a.put(&k, Arc::new(record("bob", None)), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(a.remove_by_sub("bob").await.unwrap(), 1);
        assert!(a.get(&k).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn local_copies_never_outlive_the_session_ttl() {
        let (_, a, _) = pair(Duration::from_secs(60));
        let k = key();
        a.put(
            &k,
            Arc::new(record("alice", None)),
            Duration::from_millis(100),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(a.get(&k).await.unwrap().is_none());
    }

    /// An L2 that fails every call.
    struct Down;

    #[async_trait]
    impl AuthCache for Down {
        async fn get(&self, _: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn put(
            &self,
            _: &SessionKey,
            _: Arc<SessionRecord>,
            _: Duration,
        ) -> Result<(), StoreError> {
            Err(StoreError::Timeout)
        }
        async fn replace(
            &self,
            _: &SessionKey,
            _: &SessionRecord,
            _: Arc<SessionRecord>,
            _: Duration,
        ) -> Result<bool, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn remove(&self, _: &SessionKey) -> Result<(), StoreError> {
            Err(StoreError::Timeout)
        }
        async fn remove_by_sub_without_sid(&self, _: &str) -> Result<usize, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn remove_by_sid(&self, _: &str) -> Result<usize, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn remove_by_sub(&self, _: &str) -> Result<usize, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn try_lock(&self, _: &str, _: &str, _: Duration) -> Result<bool, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn unlock(&self, _: &str, _: &str) -> Result<(), StoreError> {
            Err(StoreError::Timeout)
        }
        async fn insert_once(&self, _: &str, _: Duration) -> Result<bool, StoreError> {
            Err(StoreError::Timeout)
        }
    }

    #[tokio::test]
    async fn shared_tier_faults_are_reported_and_never_cached() {
        let store = TwoTierStore::new(Arc::new(Down), TwoTierStoreConfig::default());
        let k = key();
        let r = Arc::new(record("alice", None));
        assert!(store.put(&k, r, Duration::from_secs(60)).await.is_err());
        assert!(store.get(&k).await.is_err());
        assert!(store.remove(&k).await.is_err());
        assert!(
            store
                .try_lock("l", "o", Duration::from_secs(1))
                .await
                .is_err()
        );
        assert!(
            store
                .insert_once("v", Duration::from_secs(1))
                .await
                .is_err()
        );
    }
}
