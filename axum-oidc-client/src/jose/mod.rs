//! The JOSE core shared by ID tokens, logout tokens and bearer access tokens.
//!
//! - [`UnverifiedJws`]: the one compact-JWS parser (RFC 7515 section 7.1), with the
//!   `alg` allow-list and `crit` rules, and the signature check.
//! - [`JwkSet`] and [`JwksCache`]: the issuer's keys (RFC 7517 section 5), fetched,
//!   cached and refetched with limits (OIDC Core 10.1.1).
//! - [`Audience`]: the one-or-many `aud` claim (RFC 7519 section 4.1.3).
//! - [`time`]: the `exp`, `nbf` and `iat` rules with a leeway (RFC 7519 sections
//!   4.1.4-4.1.6).
//!
//! The modules depend on each other in one direction only:
//! `alg` <- `keys` <- `jws` <- `jwks`.

mod alg;
mod audience;
mod jwks;
mod jws;
mod keys;
pub mod time;

pub(crate) use alg::HashLen;
pub use alg::SigningAlgorithm;
pub use audience::Audience;
pub use jwks::{JwksCache, SignatureError};
pub(crate) use jws::{CompactJws, from_json_object};
pub use jws::{JoseError, JoseHeader, MAX_JWS_LEN, UnverifiedJws};
pub use keys::{JwkSet, JwksError, KeyEntry, MAX_JWKS_LEN};
