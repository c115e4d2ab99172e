//! Store metrics: [`STORE_OPERATIONS_TOTAL`](crate::observe::STORE_OPERATIONS_TOTAL)
//! and [`STORE_REQUEST_SECONDS`](crate::observe::STORE_REQUEST_SECONDS) for every
//! operation the layer makes, labelled with the [`AuthCache`] method's name.
//!
//! An operation that completes without waiting (an in-process store such as
//! [`MemoryStore`](super::MemoryStore), or the local tier of a
//! [`TwoTierStore`](super::TwoTierStore) that has the session) and succeeds records
//! nothing: it cannot be slow or unavailable, it takes about as long as recording a
//! sample would, and its count is the application's request count. So the hot path
//! of a request with a valid session in memory records nothing, with or without a
//! recorder installed. Every operation that waits on its backend is recorded: `ok`,
//! `error`, `timeout` (the layer's bound or the store's own), or `cancelled` (the
//! request was dropped while it waited, before the layer's bound). Failures are
//! recorded even when they come at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use super::{SessionKey, SessionRecord, SharedStore, StoreError};
use crate::observe;

type BoxOp<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What [`sessions_of`](super::AuthCache::sessions_of) returns.
type Sessions = Vec<(SessionKey, Arc<SessionRecord>)>;

/// A store operation in flight, recording its outcome and duration.
pub(crate) struct Metered<F> {
    op: F,
    name: &'static str,
    /// The layer's bound on each operation: an operation dropped unfinished after it
    /// is a timeout, one dropped earlier was cancelled.
    timeout: Duration,
    /// When the operation first had to wait; `None` while it never did.
    waiting_since: Option<Instant>,
    done: bool,
}

impl<F, T> Future for Metered<F>
where
    F: Future<Output = Result<T, StoreError>> + Unpin,
{
    type Output = Result<T, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match Pin::new(&mut this.op).poll(cx) {
            Poll::Pending => {
                if this.waiting_since.is_none() {
                    this.waiting_since = Some(Instant::now());
                }
                Poll::Pending
            }
            Poll::Ready(result) => {
                this.done = true;
                let elapsed = this.waiting_since.map(|t| t.elapsed());
                match (&result, elapsed) {
                    // Completed without waiting: nothing worth a sample (module docs).
                    (Ok(_), None) => {}
                    (Ok(_), Some(elapsed)) => observe::store_op(this.name, "ok", elapsed),
                    (Err(StoreError::Timeout), elapsed) => {
                        observe::store_op(this.name, "timeout", elapsed.unwrap_or_default())
                    }
                    (Err(_), elapsed) => {
                        observe::store_op(this.name, "error", elapsed.unwrap_or_default())
                    }
                }
                Poll::Ready(result)
            }
        }
    }
}

impl<F> Drop for Metered<F> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(since) = self.waiting_since {
            let elapsed = since.elapsed();
            let outcome = if elapsed >= self.timeout {
                "timeout"
            } else {
                "cancelled"
            };
            observe::store_op(self.name, outcome, elapsed);
        }
    }
}

/// The shared store with every operation metered: the same methods as
/// [`AuthCache`](super::AuthCache),
/// each returning a [`Metered`] future.
pub(crate) struct MeteredStore {
    store: SharedStore,
    timeout: Duration,
}

impl MeteredStore {
    pub fn new(store: SharedStore, timeout: Duration) -> Self {
        Self { store, timeout }
    }

    /// The store itself.
    pub fn shared(&self) -> &SharedStore {
        &self.store
    }

    fn meter<'a, T>(&self, name: &'static str, op: BoxOp<'a, T>) -> Metered<BoxOp<'a, T>> {
        Metered {
            op,
            name,
            timeout: self.timeout,
            waiting_since: None,
            done: false,
        }
    }

    pub fn get<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> Metered<BoxOp<'a, Option<Arc<SessionRecord>>>> {
        self.meter("get", self.store.get(key))
    }

    pub fn get_fresh<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> Metered<BoxOp<'a, Option<Arc<SessionRecord>>>> {
        self.meter("get_fresh", self.store.get_fresh(key))
    }

    pub fn put<'a>(
        &'a self,
        key: &'a SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Metered<BoxOp<'a, ()>> {
        self.meter("put", self.store.put(key, record, ttl))
    }

    pub fn replace<'a>(
        &'a self,
        key: &'a SessionKey,
        current: &'a SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Metered<BoxOp<'a, bool>> {
        self.meter("replace", self.store.replace(key, current, record, ttl))
    }

    pub fn remove<'a>(&'a self, key: &'a SessionKey) -> Metered<BoxOp<'a, ()>> {
        self.meter("remove", self.store.remove(key))
    }

    pub fn remove_by_sid<'a>(&'a self, sid: &'a str) -> Metered<BoxOp<'a, usize>> {
        self.meter("remove_by_sid", self.store.remove_by_sid(sid))
    }

    pub fn remove_by_sub<'a>(&'a self, sub: &'a str) -> Metered<BoxOp<'a, usize>> {
        self.meter("remove_by_sub", self.store.remove_by_sub(sub))
    }

    pub fn remove_by_sub_without_sid<'a>(&'a self, sub: &'a str) -> Metered<BoxOp<'a, usize>> {
        self.meter(
            "remove_by_sub_without_sid",
            self.store.remove_by_sub_without_sid(sub),
        )
    }

    pub fn sessions_of<'a>(&'a self, iss: &'a str, sub: &'a str) -> Metered<BoxOp<'a, Sessions>> {
        self.meter("sessions_of", self.store.sessions_of(iss, sub))
    }

    pub fn try_lock<'a>(
        &'a self,
        name: &'a str,
        owner: &'a str,
        lease: Duration,
    ) -> Metered<BoxOp<'a, bool>> {
        self.meter("try_lock", self.store.try_lock(name, owner, lease))
    }

    pub fn unlock<'a>(&'a self, name: &'a str, owner: &'a str) -> Metered<BoxOp<'a, ()>> {
        self.meter("unlock", self.store.unlock(name, owner))
    }

    pub fn insert_once<'a>(&'a self, value: &'a str, ttl: Duration) -> Metered<BoxOp<'a, bool>> {
        self.meter("insert_once", self.store.insert_once(value, ttl))
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::observe::testing::Recorded;
    use crate::observe::{STORE_OPERATIONS_TOTAL, STORE_REQUEST_SECONDS};
    use crate::store::{AuthCache, BoundedStore, MemoryStore};

    /// A store whose every operation waits `delay` (forever when `None`), then
    /// succeeds with nothing.
    struct SlowStore(Option<Duration>);

    impl SlowStore {
        async fn wait(&self) {
            match self.0 {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        }
    }

    #[async_trait]
    impl AuthCache for SlowStore {
        async fn get(&self, _: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
            self.wait().await;
            Ok(None)
        }
        async fn put(
            &self,
            _: &SessionKey,
            _: Arc<SessionRecord>,
            _: Duration,
        ) -> Result<(), StoreError> {
            self.wait().await;
            Ok(())
        }
        async fn replace(
            &self,
            _: &SessionKey,
            _: &SessionRecord,
            _: Arc<SessionRecord>,
            _: Duration,
        ) -> Result<bool, StoreError> {
            self.wait().await;
            Ok(false)
        }
        async fn remove(&self, _: &SessionKey) -> Result<(), StoreError> {
            self.wait().await;
            Err(StoreError::unavailable(std::io::Error::other("down")))
        }
        async fn remove_by_sid(&self, _: &str) -> Result<usize, StoreError> {
            self.wait().await;
            Ok(0)
        }
        async fn remove_by_sub(&self, _: &str) -> Result<usize, StoreError> {
            self.wait().await;
            Ok(0)
        }
        async fn remove_by_sub_without_sid(&self, _: &str) -> Result<usize, StoreError> {
            self.wait().await;
            Ok(0)
        }
        async fn try_lock(&self, _: &str, _: &str, _: Duration) -> Result<bool, StoreError> {
            self.wait().await;
            Ok(true)
        }
        async fn unlock(&self, _: &str, _: &str) -> Result<(), StoreError> {
            self.wait().await;
            Ok(())
        }
        async fn insert_once(&self, _: &str, _: Duration) -> Result<bool, StoreError> {
            self.wait().await;
            Ok(true)
        }
    }

    const TIMEOUT: Duration = Duration::from_secs(2);

    #[tokio::test(start_paused = true)]
    async fn a_store_operation_that_times_out_is_counted_as_a_timeout() {
        let mut m = Recorded::start();
        let store = BoundedStore::new(Arc::new(SlowStore(None)), TIMEOUT);
        let key = SessionKey::from_stored("k");
        assert!(matches!(
            store.op(store.get(&key)).await,
            Err(StoreError::Timeout)
        ));
        let labels = [("op", "get"), ("outcome", "timeout")];
        assert_eq!(m.counter(STORE_OPERATIONS_TOTAL, &labels), 1, "{}", m.all());
        assert_eq!(m.samples(STORE_REQUEST_SECONDS, &[("op", "get")]), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_operation_that_waits_is_counted_with_its_outcome() {
        let mut m = Recorded::start();
        let store = BoundedStore::new(Arc::new(SlowStore(Some(Duration::from_millis(5)))), TIMEOUT);
        let key = SessionKey::from_stored("k");
        store.op(store.get_fresh(&key)).await.unwrap();
        store.op(store.remove(&key)).await.unwrap_err();
        assert_eq!(
            m.counter(
                STORE_OPERATIONS_TOTAL,
                &[("op", "get_fresh"), ("outcome", "ok")]
            ),
            1,
            "{}",
            m.all()
        );
        assert_eq!(
            m.counter(
                STORE_OPERATIONS_TOTAL,
                &[("op", "remove"), ("outcome", "error")]
            ),
            1
        );
        assert_eq!(m.samples(STORE_REQUEST_SECONDS, &[("op", "get_fresh")]), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_abandoned_before_the_timeout_is_counted_as_cancelled() {
        let mut m = Recorded::start();
        let store = BoundedStore::new(Arc::new(SlowStore(None)), TIMEOUT);
        let key = SessionKey::from_stored("k");
        let abandoned = tokio::time::timeout(Duration::from_millis(10), store.op(store.get(&key)));
        assert!(abandoned.await.is_err());
        assert_eq!(
            m.counter(
                STORE_OPERATIONS_TOTAL,
                &[("op", "get"), ("outcome", "cancelled")]
            ),
            1,
            "{}",
            m.all()
        );
        assert_eq!(
            m.counter(
                STORE_OPERATIONS_TOTAL,
                &[("op", "get"), ("outcome", "timeout")]
            ),
            0
        );
    }

    #[tokio::test]
    async fn an_in_memory_operation_records_nothing() {
        let mut m = Recorded::start();
        let store = BoundedStore::new(Arc::new(MemoryStore::default()), TIMEOUT);
        let key = SessionKey::from_stored("k");
        assert!(store.op(store.get(&key)).await.unwrap().is_none());
        assert!(store.op(store.insert_once("v", TIMEOUT)).await.unwrap());
        assert_eq!(m.all(), "");
    }
}
