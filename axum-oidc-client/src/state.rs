//! State shared by the layer, the extractors and the endpoints.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};

use crate::config::OAuthConfiguration;
use crate::logout::LogoutHandler;
use crate::session::SessionKey;
use crate::store::{SharedStore, StoreError};

pub(crate) struct AuthState {
    pub config: OAuthConfiguration,
    pub store: SharedStore,
    pub logout: Arc<dyn LogoutHandler>,
    /// One async mutex per session being refreshed in this process.
    refresh_locks: Mutex<HashMap<SessionKey, Weak<tokio::sync::Mutex<()>>>>,
}

impl AuthState {
    pub fn new(
        config: OAuthConfiguration,
        store: SharedStore,
        logout: Arc<dyn LogoutHandler>,
    ) -> Self {
        Self {
            config,
            store,
            logout,
            refresh_locks: Mutex::default(),
        }
    }

    /// Runs a store operation under the configured timeout.
    pub async fn store_op<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.config.inner.store_timeout, op).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// The process-local refresh mutex of a session.
    pub fn refresh_lock(&self, key: &SessionKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(key).and_then(Weak::upgrade) {
            return existing;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(key.clone(), Arc::downgrade(&lock));
        lock
    }
}
