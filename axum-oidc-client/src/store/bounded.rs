//! Every store operation the library makes is bounded in time: a store that hangs
//! must give a clear 503, never a request that waits forever. And every one is
//! metered ([`MeteredStore`]).

use std::future::Future;
use std::ops::Deref;
use std::time::Duration;

use super::metered::MeteredStore;
use super::{SharedStore, StoreError};

/// A shared store whose operations run under a timeout ([`op`](Self::op)). Derefs to
/// the metered store, so calls read `store.op(store.get(key))`.
pub(crate) struct BoundedStore {
    store: MeteredStore,
    timeout: Duration,
}

impl BoundedStore {
    /// `store`, each operation bounded by `timeout`.
    pub fn new(store: SharedStore, timeout: Duration) -> Self {
        Self {
            store: MeteredStore::new(store, timeout),
            timeout,
        }
    }

    /// The store itself.
    pub fn shared(&self) -> &SharedStore {
        self.store.shared()
    }

    /// Runs a store operation under the timeout ([`StoreError::Timeout`] past it). The
    /// operation is polled once first: one that completes at once (the memory store)
    /// never arms a timer.
    pub async fn op<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut op = std::pin::pin!(op);
        if let Some(done) = futures_util::FutureExt::now_or_never(op.as_mut()) {
            return done;
        }
        match tokio::time::timeout(self.timeout, op).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

impl Deref for BoundedStore {
    type Target = MeteredStore;

    fn deref(&self) -> &Self::Target {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test(start_paused = true)]
    async fn an_operation_that_hangs_times_out() {
        let store = BoundedStore::new(Arc::new(MemoryStore::default()), Duration::from_secs(2));
        let hung = store.op(std::future::pending::<Result<(), StoreError>>());
        assert!(matches!(hung.await, Err(StoreError::Timeout)));
        let quick = store.op(async { Ok::<_, StoreError>(7) });
        assert_eq!(quick.await.unwrap(), 7);
    }
}
