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

mod channel {
    use super::*;
    use crate::store::{AuthCache, InvalidationHealth, LocalChannel};

    /// Two instances over one shared store and one channel.
    async fn fleet(l1_ttl: Duration) -> (SharedStore, LocalChannel, TwoTierStore, TwoTierStore) {
        let shared: SharedStore = Arc::new(MemoryStore::default());
        let channel = LocalChannel::default();
        let config = TwoTierStoreConfig::default().with_l1_ttl(l1_ttl);
        let a =
            TwoTierStore::with_channel(shared.clone(), Arc::new(channel.clone()), config.clone())
                .await;
        let b = TwoTierStore::with_channel(shared.clone(), Arc::new(channel.clone()), config).await;
        (shared, channel, a, b)
    }

    /// Waits until `check` holds, for up to three seconds.
    async fn eventually<F, Fut>(mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        for _ in 0..300 {
            if check().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn a_removal_on_one_instance_reaches_the_local_tier_of_the_other() {
        let (_, _, a, b) = fleet(HOUR).await;
        let k = key();
        a.put(&k, Arc::new(record("alice", Some("s1"))), HOUR)
            .await
            .unwrap();
        assert!(b.get(&k).await.unwrap().is_some(), "b's local tier is warm");
        a.remove(&k).await.unwrap();
        assert!(
            eventually(|| async { b.l1.get(&k).await.unwrap().is_none() }).await,
            "b dropped its copy"
        );
        assert!(b.get(&k).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn back_channel_removals_by_sid_and_sub_reach_the_other_instance() {
        let (_, _, a, b) = fleet(HOUR).await;
        let (k1, k2) = (key(), key());
        a.put(&k1, Arc::new(record("alice", Some("s1"))), HOUR)
            .await
            .unwrap();
        a.put(&k2, Arc::new(record("bob", None)), HOUR)
            .await
            .unwrap();
        assert!(b.get(&k1).await.unwrap().is_some());
        assert!(b.get(&k2).await.unwrap().is_some());
        assert_eq!(a.remove_by_sid("s1").await.unwrap(), 1);
        assert_eq!(a.remove_by_sub("bob").await.unwrap(), 1);
        assert!(eventually(|| async { b.l1.get(&k1).await.unwrap().is_none() }).await);
        assert!(eventually(|| async { b.l1.get(&k2).await.unwrap().is_none() }).await);
    }

    #[tokio::test]
    async fn a_refresh_on_one_instance_replaces_the_tokens_the_other_serves() {
        let (_, _, a, b) = fleet(HOUR).await;
        let k = key();
        let old = Arc::new(record("alice", None));
        a.put(&k, old.clone(), HOUR).await.unwrap();
        assert_eq!(b.get(&k).await.unwrap(), Some(old.clone()));
        let mut refreshed = (*old).clone();
        refreshed.tokens.access_token = crate::secret::AccessTokenValue::new("at-2");
        assert!(
            a.replace(&k, &old, Arc::new(refreshed.clone()), HOUR)
                .await
                .unwrap()
        );
        assert!(
            eventually(|| async { b.get(&k).await.unwrap().as_deref() == Some(&refreshed) }).await,
            "b serves the refreshed tokens"
        );
    }

    #[tokio::test]
    async fn an_instance_skips_its_own_messages_and_keeps_its_fresh_copy() {
        let (_, _, a, _b) = fleet(HOUR).await;
        let k = key();
        a.put(&k, Arc::new(record("alice", None)), HOUR)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(a.l1.get(&k).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_dropped_channel_is_reported_resubscribed_and_the_local_tier_flushed() {
        let (shared, channel, a, b) = fleet(HOUR).await;
        assert!(b.invalidation_health().unwrap().is_up());
        let k = key();
        a.put(&k, Arc::new(record("alice", None)), HOUR)
            .await
            .unwrap();
        // Let b hear of the write before it reads (that message drops nothing yet).
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(b.get(&k).await.unwrap().is_some());

        channel.set_down(true);
        assert!(
            eventually(|| async { !b.invalidation_health().unwrap().is_up() }).await,
            "the drop is reported"
        );
        let Some(InvalidationHealth::Down { last_error, .. }) = b.invalidation_health() else {
            panic!("down")
        };
        assert!(!last_error.is_empty());
        // A change b cannot hear about: made while the channel is down.
        shared.remove(&k).await.unwrap();
        assert!(
            b.get(&k).await.unwrap().is_some(),
            "within the local TTL, b still serves its copy (the documented bound)"
        );

        channel.set_down(false);
        assert!(
            eventually(|| async { b.invalidation_health().unwrap().is_up() }).await,
            "b subscribes again"
        );
        assert!(
            b.get(&k).await.unwrap().is_none(),
            "nothing is served from the flushed tier"
        );
    }

    #[tokio::test]
    async fn while_the_channel_is_down_the_local_ttl_still_bounds_revocation() {
        let (shared, channel, a, b) = fleet(Duration::from_millis(300)).await;
        let k = key();
        a.put(&k, Arc::new(record("alice", None)), HOUR)
            .await
            .unwrap();
        assert!(b.get(&k).await.unwrap().is_some());
        channel.set_down(true);
        a.remove(&k).await.unwrap();
        assert!(shared.get(&k).await.unwrap().is_none());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(b.get(&k).await.unwrap().is_none());
    }

    /// A shared store whose `get` waits at a gate, to order a read against a change.
    struct Gated {
        inner: SharedStore,
        entered: tokio::sync::Notify,
        gate: tokio::sync::Notify,
    }

    #[async_trait]
    impl AuthCache for Gated {
        async fn get(&self, k: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
            let found = self.inner.get(k).await;
            self.entered.notify_one();
            self.gate.notified().await;
            found
        }
        async fn put(
            &self,
            k: &SessionKey,
            r: Arc<SessionRecord>,
            t: Duration,
        ) -> Result<(), StoreError> {
            self.inner.put(k, r, t).await
        }
        async fn replace(
            &self,
            k: &SessionKey,
            c: &SessionRecord,
            r: Arc<SessionRecord>,
            t: Duration,
        ) -> Result<bool, StoreError> {
            self.inner.replace(k, c, r, t).await
        }
        async fn remove(&self, k: &SessionKey) -> Result<(), StoreError> {
            self.inner.remove(k).await
        }
        async fn remove_by_sid(&self, s: &str) -> Result<usize, StoreError> {
            self.inner.remove_by_sid(s).await
        }
        async fn remove_by_sub(&self, s: &str) -> Result<usize, StoreError> {
            self.inner.remove_by_sub(s).await
        }
        async fn remove_by_sub_without_sid(&self, s: &str) -> Result<usize, StoreError> {
            self.inner.remove_by_sub_without_sid(s).await
        }
        async fn try_lock(&self, n: &str, o: &str, l: Duration) -> Result<bool, StoreError> {
            self.inner.try_lock(n, o, l).await
        }
        async fn unlock(&self, n: &str, o: &str) -> Result<(), StoreError> {
            self.inner.unlock(n, o).await
        }
        async fn insert_once(&self, v: &str, t: Duration) -> Result<bool, StoreError> {
            self.inner.insert_once(v, t).await
        }
    }

    #[tokio::test]
    async fn a_read_that_raced_with_a_revocation_does_not_keep_its_older_copy() {
        let shared: SharedStore = Arc::new(MemoryStore::default());
        let gated = Arc::new(Gated {
            inner: shared.clone(),
            entered: tokio::sync::Notify::new(),
            gate: tokio::sync::Notify::new(),
        });
        let channel = LocalChannel::default();
        let config = TwoTierStoreConfig::default().with_l1_ttl(HOUR);
        let a =
            TwoTierStore::with_channel(shared.clone(), Arc::new(channel.clone()), config.clone())
                .await;
        let b = TwoTierStore::with_channel(gated.clone(), Arc::new(channel.clone()), config).await;
        let k = key();
        a.put(&k, Arc::new(record("alice", None)), HOUR)
            .await
            .unwrap();

        // b reads the session from the shared tier...
        let reader = {
            let (b, k) = (b.clone(), k.clone());
            tokio::spawn(async move { b.get(&k).await.unwrap() })
        };
        gated.entered.notified().await;
        // ...a revokes it, and b hears of it, before b's read returns.
        a.remove(&k).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        gated.gate.notify_one();
        assert!(
            reader.await.unwrap().is_some(),
            "the read itself predates the removal"
        );
        assert!(
            b.l1.get(&k).await.unwrap().is_none(),
            "but its copy is not kept in the local tier"
        );
    }
}
