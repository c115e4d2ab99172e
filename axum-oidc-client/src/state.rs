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
    /// The claims enrichers run at login, in order.
    pub enrichers: crate::enrich::Enrichers,
    /// The `Set-Cookie` that deletes the session cookie; the same for every request.
    pub session_removal: Option<HeaderValue>,
    /// The refresh in flight (or just finished) per session in this process.
    refresh_flights: RefreshFlights,
    /// The application's provider chooser page, when it replaced the library's.
    pub chooser: Option<crate::chooser::ChooserFn>,
}

impl AuthState {
    pub fn new(
        config: OAuthConfiguration,
        store: SharedStore,
        logout: Arc<dyn LogoutHandler>,
    ) -> Self {
        // Discovery (again) on schedule, from the first layer made inside a runtime.
        config.inner.providers.start_background();
        let cookies = &config.inner.cookies;
        let session_removal =
            HeaderValue::from_str(&removal(&cookies.session_name, "/", cookies)).ok();
        Self {
            store: BoundedStore::new(store, config.inner.store_timeout),
            config,
            logout,
            enrichers: crate::enrich::Enrichers::default(),
            session_removal,
            refresh_flights: RefreshFlights::default(),
            chooser: None,
        }
    }

    /// Whether logins can be served: discovery's state, and one read of the store
    /// (past any local tier, under the store timeout).
    pub async fn readiness(&self) -> crate::health::Readiness {
        use crate::health::StoreHealth;
        let probe = crate::session::SessionKey::from_stored("readiness-probe");
        let store = match self.store.op(self.store.get_fresh(&probe)).await {
            Ok(_) => StoreHealth::Reachable,
            Err(e) => StoreHealth::Unreachable {
                error: crate::observe::error_chain(&e),
            },
        };
        crate::health::Readiness {
            discovery: self.config.inner.providers.health(),
            store,
            invalidation: self.store.shared().invalidation_health(),
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
