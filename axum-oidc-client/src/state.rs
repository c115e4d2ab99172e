//! State shared by the layer, the extractors and the endpoints.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};

use http::HeaderValue;

use crate::config::OAuthConfiguration;
use crate::logout::LogoutHandler;
use crate::refresh::RefreshFlight;
use crate::session::cookies::removal;
use crate::session::{SessionKey, SessionRecord};
use crate::store::{SharedStore, StoreError};

pub(crate) struct AuthState {
    pub config: OAuthConfiguration,
    pub store: SharedStore,
    pub logout: Arc<dyn LogoutHandler>,
    /// The `Set-Cookie` that deletes the session cookie; the same for every request.
    pub session_removal: Option<HeaderValue>,
    /// The refresh in flight (or just finished) per session in this process.
    refresh_flights: Mutex<HashMap<SessionKey, Weak<RefreshFlight>>>,
}

impl AuthState {
    pub fn new(
        config: OAuthConfiguration,
        store: SharedStore,
        logout: Arc<dyn LogoutHandler>,
    ) -> Self {
        let cookies = &config.inner.cookies;
        let session_removal =
            HeaderValue::from_str(&removal(&cookies.session_name, "/", cookies)).ok();
        Self {
            config,
            store,
            logout,
            session_removal,
            refresh_flights: Mutex::default(),
        }
    }

    /// Runs a store operation under the configured timeout. The operation is polled
    /// once first: one that completes at once (the memory store) never arms a timer.
    pub async fn store_op<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut op = std::pin::pin!(op);
        if let Some(done) = futures_util::FutureExt::now_or_never(op.as_mut()) {
            return done;
        }
        match tokio::time::timeout(self.config.inner.store_timeout, op).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// The refresh of a session to join: the one in flight, or one that just produced
    /// a record `still_good` accepts; otherwise a new one.
    pub fn refresh_flight(
        &self,
        key: &SessionKey,
        still_good: impl Fn(&SessionRecord) -> bool,
    ) -> Arc<RefreshFlight> {
        let mut map = self
            .refresh_flights
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(key).and_then(Weak::upgrade) {
            match existing.get() {
                None => return existing,
                Some(Ok(record)) if still_good(record) => return existing,
                Some(_) => {}
            }
        }
        map.retain(|_, w| w.strong_count() > 0);
        let flight = Arc::new(RefreshFlight::new());
        map.insert(key.clone(), Arc::downgrade(&flight));
        flight
    }
}
