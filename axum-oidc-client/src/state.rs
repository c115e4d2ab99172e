//! State shared by the layer, the extractors and the endpoints.

use std::sync::Arc;

use http::HeaderValue;

use crate::config::OAuthConfiguration;
use crate::logout::LogoutHandler;
use crate::refresh::{RefreshFlights, Refresher};
use crate::session::cookies::removal;
use crate::store::{BoundedStore, SharedStore};

pub(crate) struct AuthState {
    pub config: OAuthConfiguration,
    /// The store, every operation bounded by the configured timeout.
    pub store: BoundedStore,
    pub logout: Arc<dyn LogoutHandler>,
    /// The `Set-Cookie` that deletes the session cookie; the same for every request.
    pub session_removal: Option<HeaderValue>,
    /// The refresh in flight (or just finished) per session in this process.
    refresh_flights: RefreshFlights,
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
            store: BoundedStore::new(store, config.inner.store_timeout),
            config,
            logout,
            session_removal,
            refresh_flights: RefreshFlights::default(),
        }
    }

    /// What a refresh needs of this state.
    pub fn refresher(&self) -> Refresher<'_> {
        Refresher {
            config: &self.config,
            store: &self.store,
            flights: &self.refresh_flights,
        }
    }
}
