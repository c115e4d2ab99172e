//! An embedded OpenID Connect provider for local development and tests.
//!
//! It implements the authorization code flow with mandatory PKCE
//! (OIDC Core 3.1, RFC 7636), refresh tokens with rotation and reuse
//! detection, UserInfo (OIDC Core 5.3), discovery (OpenID Connect Discovery
//! 1.0), token revocation (RFC 7009), pushed authorization requests (RFC 9126),
//! DPoP-bound tokens (RFC 9449), `private_key_jwt` client authentication
//! (RFC 7523), RP-Initiated Logout 1.0 and
//! Back-Channel Logout 1.0, with freshly generated keys and all data in
//! memory. It is **not** meant for production: the users are hard-coded
//! demo accounts and nothing survives a restart.
//!
//! ```no_run
//! use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig};
//!
//! # async fn demo() -> Result<(), oidc_dev_provider::DevProviderError> {
//! let config = DevProviderConfig::default().with_client(ClientRegistration::confidential(
//!     "demo",
//!     "demo-secret",
//!     "http://127.0.0.1:3000/auth/callback",
//! ));
//! let provider = DevProvider::start(config).await?;
//! println!("issuer: {}", provider.issuer());
//! // ... run the relying party against provider.issuer() ...
//! provider.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Default users
//!
//! | username | password | `sub`        | name           | `email_verified` | `groups`             |
//! |----------|----------|--------------|----------------|------------------|----------------------|
//! | alice    | alice    | `user-alice` | Alice Anderson | true             | `["admin", "staff"]` |
//! | bob      | bob      | `user-bob`   | Bob Brown      | true             | `["staff"]`          |
//! | carol    | carol    | `user-carol` | Carol Clark    | false            | `[]`                 |
//!
//! E-mail addresses are `{username}@example.com`. `groups` is in every ID token,
//! access token and UserInfo answer, whatever the scopes. Clients must be
//! registered explicitly ([`DevProviderConfig::with_client`]).
//!
//! # Development-only shortcut: `login_hint`
//!
//! When an authorization request carries `login_hint=<username>` naming a
//! configured user, the login page is skipped and the user is signed in
//! immediately. Tests use this to run a whole login with plain HTTP
//! requests. Without it, `GET /authorize` shows an HTML form that posts
//! `request_id`, `username` and `password` to `/login`.
//!
//! # `auth_time`, `max_age` and `acr`
//!
//! The provider keeps no browser session: every authorization request signs the
//! user in anew (form or `login_hint`), so `auth_time` is always the time of that
//! request and any `max_age` (OIDC Core 3.1.2.1) is honoured. Every ID token and
//! access token carries `auth_time` and `acr`: [`ACR_PASSWORD`] by default, or
//! [`ACR_MFA`] when the request's `acr_values` list it (a stand-in for a second
//! factor, so that step-up flows can be run locally).

//! # DPoP and `private_key_jwt`
//!
//! A token request with a `DPoP` proof (RFC 9449 section 4) gets
//! `token_type: DPoP` and an access token with `cnf.jkt`; UserInfo then wants
//! `Authorization: DPoP` and a proof with `ath`. A proof on a pushed request,
//! or `dpop_jkt` on the authorization request, binds the code (section 10).
//! [`ClientRegistration::with_dpop_bound_access_tokens`] refuses token
//! requests without a proof, [`DevProviderConfig::with_dpop_nonce`] asks for
//! server nonces (section 8). [`ClientRegistration::private_key_jwt`]
//! registers a client that signs assertions with its own key (RFC 7523
//! section 2.2) at the token, PAR and revocation endpoints.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod assertion;
mod authorize;
mod backchannel;
mod claims;
mod client_auth;
mod config;
mod discovery;
mod dpop;
mod error;
mod jws;
mod keys;
mod login;
mod logout;
mod pages;
mod par;
mod params;
mod redirect;
mod replay;
mod revoke;
mod server;
mod state;
mod store;
mod token;
mod userinfo;

pub use config::{ClientAuthMethod, ClientRegistration, DemoUser, DevProviderConfig, SigningAlg};
pub use error::{DevProviderError, OAuthError};
pub use server::{DevProvider, RunningProvider, router};
pub use state::{ProviderState, ProviderStats};

/// The `acr` of an ordinary sign-in (password).
pub const ACR_PASSWORD: &str = "urn:example:pwd";
/// The `acr` issued when an authorization request's `acr_values` list it: the
/// provider's stand-in for a stronger (multi-factor) sign-in.
pub const ACR_MFA: &str = "urn:example:mfa";
