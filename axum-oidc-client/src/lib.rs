#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth_session;
pub mod backchannel;
pub mod bearer;
pub mod builder;
pub mod callback;
pub mod config;
pub mod cookies;
pub mod discovery;
pub mod extract;
pub mod id_token;
pub mod jose;
pub mod jwks;
pub mod layer;
pub mod login;
pub mod logout;
pub mod pkce;
pub mod redirect;
pub mod refresh;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;
pub mod userinfo;

mod http_util;
mod pages;
mod resolve;
mod state;

/// Re-exported for implementing [`LogoutHandler`] and [`AuthCache`].
pub use async_trait::async_trait;
pub use bearer::{
    JwtClaims, JwtConfiguration, JwtConfigurationBuilder, JwtLayer, OidcClaims, OptionalJwtClaims,
};
pub use builder::OAuthConfigurationBuilder;
pub use config::{ClientAuthMethod, Clock, ConfigError, IdentityMode, OAuthConfiguration};
pub use extract::{
    AccessToken, AuthRejection, IdToken, OptionalAccessToken, OptionalAuthSession, OptionalIdToken,
    UnauthenticatedBehavior,
};
pub use id_token::IdTokenClaims;
pub use jose::SigningAlgorithm;
pub use layer::{AuthLayer, Authentication, AuthenticationLayer};
pub use logout::{DefaultLogoutHandler, LogoutHandler, OidcLogoutHandler};
pub use session::SessionPolicy;
pub use store::{AuthCache, MemoryStore, StoreError, TwoTierStore, TwoTierStoreConfig};
#[allow(deprecated)]
pub use store::{TwoTierAuthCache, TwoTierCacheConfig};
pub use token::AccessTokenResponse;

/// Seed-compatible path for the layer (`axum_oidc_client::auth::AuthLayer`).
pub mod auth {
    pub use crate::layer::{AuthLayer, AuthenticationLayer};
}

/// Seed-compatible path for the builder.
pub mod auth_builder {
    pub use crate::builder::OAuthConfigurationBuilder;
}

/// Seed-compatible path for the store trait.
pub mod auth_cache {
    pub use crate::store::AuthCache;
}

/// Seed-compatible path for the stores.
pub mod cache {
    pub use crate::store::*;
}

/// Seed-compatible path for the SQL store (features `postgres`, `mysql`, `sqlite`).
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub mod sql_cache {
    pub use crate::store::sql::*;
}

/// Seed-compatible path for the bearer-token layer.
pub mod jwt {
    pub use crate::bearer::*;
}
