//! Bearer-token validation for APIs (RFC 6750, RFC 9068).
//!
//! [`JwtLayer`] protects routes with JWT access tokens sent as
//! `Authorization: Bearer <token>` (RFC 6750 section 2.1). It verifies each token
//! once and leaves the verified claims for the extractors: [`JwtClaims<C>`],
//! [`OptionalJwtClaims<C>`], `Option<JwtClaims<C>>` and [`VerifiedJwt`].
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use axum_oidc_client::bearer::{JwtClaims, JwtConfiguration, JwtLayer, OidcClaims};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = JwtConfiguration::builder()
//!     .with_discovered_issuer("https://login.example").await // discovery, then its jwks_uri
//!     .with_audience("https://api.example")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/me", get(|JwtClaims(c): JwtClaims<OidcClaims>| async move { c.sub }))
//!     .layer(JwtLayer::new(config));
//! # let _ = app; Ok(()) }
//! ```
//!
//! # What is checked
//!
//! [`JwtConfiguration::verify`] lists the rules in order. In short:
//! - **Algorithms** (RFC 8725 sections 2.1, 3.1, 3.2): `none` never; public-key
//!   issuers accept only the allow-list of [`SigningAlgorithm`](crate::SigningAlgorithm),
//!   which cannot express HMAC; HMAC is only accepted from an issuer configured with
//!   [`with_hmac_secret`](JwtConfigurationBuilder::with_hmac_secret), which then
//!   accepts nothing else. A public key can never serve as an HMAC secret.
//! - **Issuer** (RFC 8725 section 3.8): several issuers may be trusted, each with its
//!   own keys. The unverified `iss` only picks the issuer (exact string match);
//!   the signature must then verify with *that* issuer's keys, so a token claiming
//!   issuer A but signed with B's key fails.
//! - **Audience** (RFC 7519 section 4.1.3, RFC 8725 section 3.9): `aud` must contain
//!   a configured audience; building without one needs
//!   [`insecure_skip_audience`](JwtConfigurationBuilder::insecure_skip_audience).
//! - **Time** (RFC 7519 sections 4.1.4, 4.1.5): `exp` required, `nbf` honoured, with a
//!   leeway (default 60 s).
//! - **Type** (RFC 8725 section 3.11, RFC 9068 section 4): with
//!   [`with_rfc9068_profile`](JwtConfigurationBuilder::with_rfc9068_profile), `typ`
//!   must be `at+jwt` and the RFC 9068 section 2.2 claims present; always, tokens
//!   explicitly typed as another JWT kind (`logout+jwt`...) are refused.
//! - **Access tokens only** (RFC 9068 section 2.1, OIDC Core 2): an OIDC ID token
//!   is refused (401 `invalid_token`) even when its issuer and audience fit. A token
//!   typed `at+jwt` is an access token; any other token carrying `nonce`, `at_hash`
//!   or `c_hash`, or `auth_time` with its audience as `azp` and no `scope`, is an ID
//!   token. ID tokens reach the browser (`id_token_hint` of RP-initiated logout), so
//!   accepting them would let anyone who saw one call the API.
//!   [`insecure_accept_id_tokens`](JwtConfigurationBuilder::insecure_accept_id_tokens)
//!   turns this off.
//! - **Required claims** ([`with_required_claims`](JwtConfigurationBuilder::with_required_claims))
//!   and **scopes per route** ([`JwtLayer::require_scopes`]).
//! - **Size**: tokens over 16 KiB are refused before any decoding.
//!
//! # Responses (RFC 6750 section 3)
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no token, or another scheme | 401 | `Bearer realm="…"` |
//! | `Bearer` with an empty or non-`b64token` value, repeated header | 400 | `… error="invalid_request"` |
//! | token present but invalid (any rule above) | 401 | `… error="invalid_token", error_description="…"` |
//! | valid token lacking a route's scope | 403 | `… error="insufficient_scope", scope="…"` |
//! | the issuer's keys cannot be fetched | 503 + `Retry-After` | none |
//!
//! Bodies are generic JSON (`{"error":"invalid_token"}`), never the token; the
//! `error_description` is a fixed text per rule ([`BearerError::description`]). The
//! rule that failed is logged at `debug` level.
//!
//! # DPoP-bound tokens (RFC 9449)
//!
//! With [`with_dpop`](JwtConfigurationBuilder::with_dpop) the layer accepts
//! `Authorization: DPoP <token>` with a `DPoP` proof header
//! ([`DpopPolicy::required`]: only that; [`DpopPolicy::allowed`]: bearer tokens
//! too). The proof is checked as RFC 9449 section 4.3 says (`typ`, `alg`, a public
//! `jwk`, the signature, `htm`, `htu`, the `iat` window, `ath`), then the token's
//! `cnf.jkt` must be the proof key's thumbprint, and the proof's `jti` must be new
//! across every instance sharing the store given to the policy. `htu` is compared
//! with [`with_dpop_origin`](JwtConfigurationBuilder::with_dpop_origin) (the origin
//! clients call, before any proxy) followed by the request path. Failures answer
//! 401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (or
//! `invalid_token` for the binding) and `algs="…"`; a failing replay store 503.
//! Whatever the configuration, a token with `cnf.jkt` presented with the `Bearer`
//! scheme is refused: it is bound to a key the caller did not prove.
//!
//! # Sharing keys with the login side
//!
//! The login side's [`OAuthConfiguration::jwks`](crate::OAuthConfiguration::jwks)
//! cache can serve the API too, so both see one key rotation:
//! `JwtConfiguration::builder().with_oauth_configuration(&login)` or
//! `.with_jwks_cache(issuer, login.jwks().unwrap().clone())`. A token naming an
//! unknown `kid` makes the cache refetch (rate-limited); tokens signed with the old
//! keys keep verifying meanwhile.
//!
//! # Performance
//!
//! Per request with a token: one parse of the header and claims that borrows from
//! the decoded payload, one signature check, one `Arc` with the verified payload,
//! one boxed future. Extractors deserialize the stored payload straight into `C`.
//! A cache of recently verified tokens (keyed by the SHA-256 of the token, never the
//! token) skips the signature check for a token seen again; it cannot accept what a
//! fresh verification would refuse: `exp`/`nbf` are re-checked on every hit, and an
//! entry is ignored once the issuer's key set has changed. Disable it with
//! [`with_token_cache_capacity(0)`](JwtConfigurationBuilder::with_token_cache_capacity).

mod builder;
mod claims;
mod config;
mod dpop;
mod env;
mod error;
mod extract;
mod header;
mod keys;
mod layer;
mod oidc_claims;
mod tenant;
mod token_cache;
mod validate;
mod verified;

pub use builder::{DEFAULT_LEEWAY, DEFAULT_REALM, JwtConfigurationBuilder, MAX_LEEWAY};
pub use config::JwtConfiguration;
pub use dpop::{DEFAULT_DPOP_MAX_AGE, DpopPolicy, MAX_DPOP_MAX_AGE};
#[allow(deprecated)]
pub use error::BearerConfigError;
pub use error::{BearerError, BearerRejection};
pub use extract::{JwtClaims, OptionalJwtClaims};
pub use keys::HmacAlgorithm;
pub use layer::{JwtLayer, JwtService, ResponseFuture};
pub use oidc_claims::OidcClaims;
pub use verified::VerifiedJwt;
