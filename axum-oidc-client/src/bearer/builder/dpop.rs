//! The DPoP options of [`JwtConfigurationBuilder`] (RFC 9449 section 7).

use super::JwtConfigurationBuilder;
use crate::bearer::DpopPolicy;

impl JwtConfigurationBuilder {
    /// Accepts (or requires) DPoP-bound access tokens: `Authorization: DPoP
    /// <token>` with a `DPoP` proof header (RFC 9449 section 7.1). See
    /// [`DpopPolicy`] for the modes and the replay store.
    ///
    /// The proof's `htu` is compared with the URI the client called, which this
    /// server cannot see behind a proxy: set it with
    /// [`with_dpop_origin`](Self::with_dpop_origin), else the origin of the first
    /// audience that is an http(s) URL is used; [`build`](Self::build) fails when
    /// there is neither.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_oidc_client::MemoryStore;
    /// use axum_oidc_client::bearer::{DpopPolicy, JwtConfiguration};
    ///
    /// let config = JwtConfiguration::builder()
    ///     .with_jwks_uri("https://login.example", "https://login.example/jwks")
    ///     .with_audience("https://api.example") // also the origin for `htu`
    ///     .with_dpop(DpopPolicy::required(Arc::new(MemoryStore::default())))
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), axum_oidc_client::ConfigError>(())
    /// ```
    pub fn with_dpop(mut self, policy: DpopPolicy) -> Self {
        self.dpop = Some(policy);
        self
    }

    /// The external origin of this API as clients call it, e.g.
    /// `https://api.example` (scheme, host, port, and a path prefix when a proxy
    /// strips one). A proof's `htu` must equal this origin followed by the request's
    /// path (RFC 9449 section 4.3 check 9, after normalisation). Used with
    /// [`with_dpop`](Self::with_dpop).
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_dpop_origin("https://api.example");
    /// # let _ = b;
    /// ```
    pub fn with_dpop_origin(mut self, origin: impl Into<String>) -> Self {
        self.dpop_origin = Some(origin.into());
        self
    }
}
