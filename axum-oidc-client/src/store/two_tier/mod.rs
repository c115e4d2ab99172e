//! A process-local cache in front of a shared store.
//!
//! # Consistency
//!
//! Reads are served from the local tier (L1) when they can. Changes made through
//! *this* instance are visible here at once: writes and removals go to the shared
//! tier (L2) and then update or invalidate L1. How soon a change made by *another*
//! instance is seen here depends on the invalidation channel:
//!
//! - **With a channel** ([`TwoTierStore::with_channel`], which
//!   [`store::from_url`](super::from_url) sets up for every `tiered+` URL): every
//!   write and removal is published, and every instance drops its local copy when the
//!   message arrives, within milliseconds (BENCHMARKS.md has the measured latency).
//!   A logout, a back-channel logout, "sign out everywhere" and a refresh that
//!   replaces tokens all reach every instance this way. The local TTL is then only the
//!   safety net, so it can be minutes ([`DEFAULT_L1_TTL_WITH_CHANNEL`]).
//! - **While the channel is down** (or without one), a change made elsewhere is seen
//!   here once the local copy expires: the local TTL bounds how long a revoked session
//!   keeps working here. The store reports the channel in
//!   [`invalidation_health`](AuthCache::invalidation_health), logs when it drops,
//!   resubscribes with backoff and flushes the local tier when it is back, since
//!   messages may have been missed.
//!
//! The refresh path reads with [`get_fresh`](AuthCache::get_fresh), which bypasses
//! L1, so a refresh token that another instance has replaced is never reused.

mod subscriber;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::invalidation::{Invalidation, InvalidationHealth, SharedChannel};
use super::{AuthCache, MemoryStore, SharedStore, StoreError};
use crate::session::{SessionKey, SessionRecord};

/// Default time an entry is served from the local tier without an invalidation
/// channel: the bound on revocation made elsewhere.
pub const DEFAULT_L1_TTL: Duration = Duration::from_secs(5);

/// The local TTL [`store::from_url`](super::from_url) uses for `tiered+` URLs, which
/// always have an invalidation channel: the bound on revocation made elsewhere only
/// while the channel is down.
pub const DEFAULT_L1_TTL_WITH_CHANNEL: Duration = Duration::from_secs(300);

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
    sync: Option<Arc<subscriber::Sync>>,
}

impl std::fmt::Debug for TwoTierStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoTierStore")
            .field("l1", &self.l1)
            .field("l1_ttl", &self.l1_ttl)
            .field("invalidation", &self.invalidation_health())
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
            sync: None,
        }
    }

    /// Puts a local tier in front of `shared`, kept current through `channel`: every
    /// change made here is published on it, and every change published by another
    /// instance is dropped from the local tier (see the [module docs](self)).
    ///
    /// Waits up to a few seconds for the first subscription; if the channel cannot be
    /// reached, the store works anyway with the local TTL as the bound, reports the
    /// channel as down and keeps retrying in the background.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_oidc_client::store::{AuthCache, LocalChannel, MemoryStore};
    /// use axum_oidc_client::store::{TwoTierStore, TwoTierStoreConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Two instances over one shared store; a memory store and an in-process channel
    /// // stand in for Redis here.
    /// let shared = Arc::new(MemoryStore::default());
    /// let channel = Arc::new(LocalChannel::default());
    /// let config = TwoTierStoreConfig::default();
    /// let a = TwoTierStore::with_channel(shared.clone(), channel.clone(), config.clone()).await;
    /// let b = TwoTierStore::with_channel(shared, channel, config).await;
    /// assert!(a.invalidation_health().unwrap().is_up());
    /// # let _ = b;
    /// # }
    /// ```
    pub async fn with_channel(
        shared: SharedStore,
        channel: SharedChannel,
        config: TwoTierStoreConfig,
    ) -> Self {
        let mut store = Self::new(shared, config);
        store.sync = Some(subscriber::Sync::start(channel, store.l1.clone()).await);
        store
    }

    /// Keeps a record read from L2 in L1, or forgets L1's copy when L2 has none.
    /// `epoch` is the channel's epoch from before the L2 read: if an invalidation
    /// arrived since, the copy may predate it and is not kept.
    async fn remember(
        &self,
        key: &SessionKey,
        found: &Option<Arc<SessionRecord>>,
        epoch: Option<u64>,
    ) -> Result<(), StoreError> {
        match found {
            Some(record) => {
                self.l1.put(key, record.clone(), self.l1_ttl).await?;
                if self.epoch() != epoch {
                    self.l1.remove(key).await?;
                }
                Ok(())
            }
            None => self.l1.remove(key).await,
        }
    }

    /// Whether the local tier holds a copy of `key` now, without reading the shared
    /// tier: for measuring how fast an invalidation arrives, and for tests.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey};
    /// use axum_oidc_client::store::{TwoTierStore, TwoTierStoreConfig};
    /// # fn record() -> Arc<axum_oidc_client::store::SessionRecord> {
    /// #     Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
    /// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
    /// #         "claims": {"iss": "https://op.example", "sub": "alice", "aud": "my-app", "exp": 2, "iat": 1}})).unwrap())
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
    /// let store = TwoTierStore::new(Arc::new(MemoryStore::default()), TwoTierStoreConfig::default());
    /// let key = SessionKey::from_stored("k");
    /// assert!(!store.is_cached_locally(&key).await);
    /// store.put(&key, record(), Duration::from_secs(60)).await?;
    /// assert!(store.is_cached_locally(&key).await);
    /// # Ok(()) }
    /// ```
    pub async fn is_cached_locally(&self, key: &SessionKey) -> bool {
        matches!(self.l1.get(key).await, Ok(Some(_)))
    }

    fn epoch(&self) -> Option<u64> {
        self.sync.as_ref().map(|s| s.epoch())
    }

    /// Called before this instance changes a session: a read of L2 racing with the
    /// change must not leave its older copy in L1.
    fn changing(&self) {
        if let Some(sync) = &self.sync {
            sync.bump();
        }
    }

    /// Tells the other instances, when there is a channel.
    async fn publish(&self, invalidation: Invalidation) {
        if let Some(sync) = &self.sync {
            sync.publish(invalidation).await;
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
        let epoch = self.epoch();
        let found = self.l2.get(key).await?;
        self.remember(key, &found, epoch).await?;
        Ok(found)
    }

    async fn get_fresh(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let epoch = self.epoch();
        let found = self.l2.get_fresh(key).await?;
        self.remember(key, &found, epoch).await?;
        Ok(found)
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.changing();
        let written = self.l2.put(key, record.clone(), ttl).await;
        // On failure L1 must not keep a version L2 may not have.
        match &written {
            Ok(()) => self.l1.put(key, record, ttl.min(self.l1_ttl)).await?,
            Err(_) => self.l1.remove(key).await?,
        }
        // Even a failed write may have landed: the others drop their copy either way.
        self.publish(Invalidation::Session(key.clone())).await;
        written
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
        self.changing();
        let replaced = self.l2.replace(key, current, record.clone(), ttl).await;
        match replaced {
            Ok(true) => self.l1.put(key, record, ttl.min(self.l1_ttl)).await?,
            Ok(false) | Err(_) => self.l1.remove(key).await?,
        }
        // `false`: whoever changed it told the others.
        if !matches!(replaced, Ok(false)) {
            self.publish(Invalidation::Session(key.clone())).await;
        }
        replaced
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.changing();
        let removed = self.l2.remove(key).await;
        self.l1.remove(key).await?;
        self.publish(Invalidation::Session(key.clone())).await;
        removed
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        self.changing();
        let removed = self.l2.remove_by_sid(sid).await;
        self.l1.remove_by_sid(sid).await?;
        self.publish(Invalidation::Sid(sid.to_owned())).await;
        removed
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        self.changing();
        let removed = self.l2.remove_by_sub(sub).await;
        self.l1.remove_by_sub(sub).await?;
        self.publish(Invalidation::Sub(sub.to_owned())).await;
        removed
    }

    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        self.changing();
        let removed = self.l2.remove_by_sub_without_sid(sub).await;
        self.l1.remove_by_sub_without_sid(sub).await?;
        // Wider than needed (every session of `sub`), which is safe for a local tier.
        self.publish(Invalidation::Sub(sub.to_owned())).await;
        removed
    }

    /// The shared tier's list: the local tier holds only what this instance saw.
    async fn sessions_of(
        &self,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        self.l2.sessions_of(iss, sub).await
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

    fn invalidation_health(&self) -> Option<InvalidationHealth> {
        self.sync.as_ref().map(|s| s.health())
    }
}

#[cfg(test)]
mod tests;
