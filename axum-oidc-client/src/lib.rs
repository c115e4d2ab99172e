#![doc = include_str!("../README.md")]
//!
//! ## Access rules
//!
//! Per route, a [`Requirement`] on claims:
//! `claim("groups").contains("admin")`, nested paths (`claim("realm_access.roles")`, or segments for a
//! namespaced name: `claim(["https://example.com/roles"])`),
//! [`email_domain`](access::email_domain) (verified addresses only), composed with
//! [`any_of`](access::any_of) / [`all_of`](access::all_of). Put it on a session route
//! with `.route_layer(access::require(rule))` (403 page or JSON for a signed-in user who
//! fails it, login or 401 without a session), or on a bearer route with
//! [`JwtLayer::require`](bearer::JwtLayer::require) (403 `insufficient_scope`).
//! [`Claims<T>`](Claims) hands a handler the session's claims in its own type.
//!
//! ```
//! use axum::{Router, routing::get};
//! use axum_oidc_client::access::{Claims, claim, require};
//!
//! #[derive(serde::Deserialize)]
//! struct Me { sub: String, groups: Vec<String> }
//!
//! let app: Router = Router::new().route(
//!     "/admin",
//!     get(|Claims(me): Claims<Me>| async move { format!("{} {:?}", me.sub, me.groups) })
//!         .route_layer(require(claim("groups").contains("admin"))),
//! );
//! # let _ = app;
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The public modules: the seed's extractor path, access rules, the bearer layer and
// the stores.
pub mod access;
pub mod auth_session;
pub mod bearer;
pub mod bff;
pub mod client_auth;
pub mod dpop;
pub mod enrich;
pub mod logout;
pub mod sessions;
pub mod store;

// Everything else is private; the re-exports below are the API.
mod backchannel;
mod callback;
mod chooser;
mod config;
mod discovery;
mod extract;
mod failure;
mod health;
mod http_util;
mod id_token;
mod issuer;
mod jose;
mod layer;
mod login;
mod observe;
mod pages;
mod par;
mod pkce;
mod redirect;
mod refresh;
mod resolve;
mod secret;
mod session;
mod state;
mod token;
mod userinfo;

// ---- The layer and its configuration ----
pub use config::{
    ClientAuthMethod, Clock, ConfigError, DEFAULT_SCOPES, IdentityMode, OAuthConfiguration,
    OAuthConfigurationBuilder, ProviderSettings, SecurityProfile,
};
pub use health::{DiscoveryHealth, Readiness, StoreHealth};
pub use layer::{AuthLayer, Authentication, AuthenticationLayer, ResponseFuture};
pub use pkce::CodeChallengeMethod;
pub use session::SessionPolicy;
pub use session::cookies::CookieKey;

// ---- Extractors and what they carry ----
pub use access::{Claims, RequireLayer, Requirement};
pub use auth_session::AuthSession;
pub use chooser::ProviderChoice;
pub use extract::{
    AccessToken, AuthRejection, IdToken, OptionalAccessToken, OptionalAuthSession, OptionalIdToken,
    UnauthenticatedBehavior,
};
pub use failure::{ErrorPage, ErrorPages, Failure, FailureClass};
pub use id_token::{AdditionalClaims, Audiences, IdTokenClaims};
pub use token::AccessTokenResponse;

// ---- A user's sessions ----
pub use sessions::{SameOrigin, SameOriginRejection, SessionInfo, UserSessions, UserSessionsAdmin};

// ---- Logout ----
pub use logout::{DefaultLogoutHandler, LogoutContext, LogoutHandler, OidcLogoutHandler};

// ---- Keys and tokens ----
pub use discovery::{DiscoveryError, ProviderMetadata};
pub use issuer::IssuerError;
pub use jose::{Audience, JwkSet, JwksCache, JwksError, KeyEntry, SigningAlgorithm};
pub use secret::{AccessTokenValue, ClientSecret, DpopPrivateKey, IdTokenValue, RefreshTokenValue};

// ---- Stores (more in [`store`]) ----
pub use store::{AuthCache, MemoryStore, StoreError, TwoTierStore, TwoTierStoreConfig};
#[allow(deprecated)]
pub use store::{TwoTierAuthCache, TwoTierCacheConfig};

// ---- Bearer-token APIs (more in [`bearer`]) ----
pub use bearer::{
    JwtClaims, JwtConfiguration, JwtConfigurationBuilder, JwtLayer, OidcClaims, OptionalJwtClaims,
};

/// The names the layer reports under: metrics through the `metrics` facade (install
/// a recorder, such as a Prometheus exporter, to collect them; without one they cost
/// nothing) and the `tracing` target of its audit events.
///
/// ```
/// use axum_oidc_client::observability;
///
/// assert_eq!(observability::LOGINS_TOTAL, "axum_oidc_logins_total");
/// assert_eq!(observability::AUDIT_TARGET, "axum_oidc_client::audit");
/// ```
pub mod observability {
    pub use crate::observe::audit::TARGET as AUDIT_TARGET;
    pub use crate::observe::{
        INVALIDATION_CHANNEL_UP, INVALIDATIONS_TOTAL, JWKS_FETCHES_TOTAL, LOGINS_TOTAL,
        LOGOUTS_TOTAL, PROVIDER_REQUEST_SECONDS, REFRESHES_TOTAL, STORE_OPERATIONS_TOTAL,
        STORE_REQUEST_SECONDS,
    };
}

/// Re-exported for implementing [`LogoutHandler`] and [`AuthCache`].
pub use async_trait::async_trait;

/// Former path of the layer (`axum_oidc_client::auth::AuthLayer`).
#[deprecated(note = "use axum_oidc_client::AuthenticationLayer")]
pub mod auth {
    pub use crate::{AuthLayer, AuthenticationLayer};
}

/// Former path of the builder.
#[deprecated(note = "use axum_oidc_client::OAuthConfigurationBuilder")]
pub mod auth_builder {
    pub use crate::OAuthConfigurationBuilder;
}

/// Former path of the store trait.
#[deprecated(note = "use axum_oidc_client::store::AuthCache")]
pub mod auth_cache {
    pub use crate::store::AuthCache;
}

/// Former path of the stores.
#[deprecated(note = "use axum_oidc_client::store")]
pub mod cache {
    pub use crate::store::*;
}

/// Former path of the SQL store (features `postgres`, `mysql`, `sqlite`).
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
#[deprecated(note = "use axum_oidc_client::store::SqlStore")]
pub mod sql_cache {
    pub use crate::store::sql::*;
}

/// Former path of the bearer-token layer.
#[deprecated(note = "use axum_oidc_client::bearer")]
pub mod jwt {
    pub use crate::bearer::*;
}

/// Internals for the project's own fuzz targets, benchmarks and tests. Not part of the
/// API: anything here may change in any release.
#[doc(hidden)]
pub mod __private {
    /// Callback query parsing and response checks.
    pub mod callback {
        pub use crate::callback::*;
    }
    /// Cookie formats.
    pub mod cookies {
        pub use crate::session::cookies::*;
    }
    /// Discovery document parsing.
    pub mod discovery {
        pub use crate::discovery::*;
    }
    /// ID token rules.
    pub mod id_token {
        pub use crate::id_token::*;
    }
    /// The issuer rule, exact or multi-tenant.
    pub mod issuer {
        pub use crate::issuer::*;
    }
    /// The JOSE core.
    pub mod jose {
        pub use crate::jose::*;
    }
    /// Back-channel logout token rules.
    pub mod backchannel {
        pub use crate::backchannel::*;
    }
    /// The open-redirect rule.
    pub mod redirect {
        pub use crate::redirect::*;
    }
    /// Secret newtypes.
    pub mod secret {
        pub use crate::secret::*;
    }
    /// Session records and their codec.
    pub mod session {
        pub use crate::session::*;
    }
    /// Pushed authorization request responses (RFC 9126).
    pub mod par {
        pub use crate::par::*;
    }
    /// Token endpoint responses.
    pub mod token {
        pub use crate::token::*;
    }

    /// Starts a login for `config` (what `GET {base}/login` does, but always through
    /// the front channel: nothing is pushed); `None` while the provider is not
    /// discovered.
    pub fn start_login(
        config: &crate::OAuthConfiguration,
        next: String,
    ) -> Option<crate::login::LoginStart> {
        let entry = config.inner.providers.first();
        let provider = entry.cell.get()?;
        Some(crate::login::start_login_for(
            config, entry, &provider, next, None,
        ))
    }

    /// Exchanges a code as the callback does.
    pub async fn exchange_code(
        config: &crate::OAuthConfiguration,
        code: &str,
        verifier: &crate::secret::PkceCodeVerifier,
    ) -> Result<crate::token::AccessTokenResponse, Box<dyn std::error::Error + Send + Sync>> {
        let c = &config.inner;
        let provider = c
            .providers
            .first()
            .cell
            .get()
            .ok_or("the provider is not discovered yet")?;
        Ok(crate::token::exchange_code(
            &provider,
            c.routes.token_request_redirect_uri(),
            code,
            verifier,
            None,
        )
        .await?)
    }
}

/// The workspace README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadmeExamples;
