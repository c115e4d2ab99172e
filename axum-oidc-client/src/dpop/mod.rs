//! DPoP: sender-constrained tokens (RFC 9449).
//!
//! - [`DpopKey`]: an ES256 key pair, its public JWK and RFC 7638 thumbprint (the
//!   `jkt` a provider binds tokens to), stored as PKCS#8, and the proofs it signs
//!   ([`DpopKey::proof`], RFC 9449 section 4.2) for token requests and resource
//!   calls.
//! - Verification of proofs on the resource server (RFC 9449 sections 4.3 and 7.1),
//!   used by the bearer layer with
//!   [`JwtConfigurationBuilder::with_dpop`](crate::bearer::JwtConfigurationBuilder::with_dpop):
//!   one `DPoP` header; `typ` `dpop+jwt`; an asymmetric, allowed `alg`; a public
//!   `jwk` that verifies the signature; `htm` and `htu` matching the request; `iat`
//!   within a window; `ath` the hash of the access token; the token's `cnf.jkt` the
//!   proof key's thumbprint; and a `jti` never seen before, across every instance
//!   sharing the store ([`AuthCache::insert_once`](crate::AuthCache::insert_once)).
//! - The client's rules: [`check_binding`] (a response to a proved token request is
//!   `token_type` `DPoP`, bound to the session's key), [`server_nonce`] and the nonce
//!   challenges of sections 8 and 9 ([`is_token_nonce_challenge`],
//!   [`is_resource_nonce_challenge`]), answered with one retry.
//! - [`DpopError`]: one variant per rule.
//!
//! ```
//! use axum_oidc_client::dpop::DpopKey;
//!
//! let key = DpopKey::generate()?;
//! let proof = key.proof(
//!     &http::Method::GET,
//!     "https://api.example/orders",
//!     chrono::Utc::now().timestamp(),
//!     None,
//!     Some("the access token"),
//! )?;
//! // Send `Authorization: DPoP <access token>` and `DPoP: <proof>`.
//! # let _ = proof;
//! # Ok::<(), axum_oidc_client::dpop::DpopError>(())
//! ```

mod client;
mod error;
mod htu;
mod key;
mod replay;
mod verify;
#[cfg(test)]
mod verify_tests;

pub use client::{
    BindingError, MAX_NONCE_LEN, check_binding, is_resource_nonce_challenge,
    is_token_nonce_challenge, server_nonce,
};
pub use error::DpopError;
pub use key::{DpopKey, access_token_hash};

pub(crate) use client::{NonceCell, resource_proof, stored_key};
pub(crate) use htu::request_htu;
pub(crate) use key::canonical_hash;
pub(crate) use replay::remember_jti;
#[cfg(test)]
pub(crate) use verify::VerifiedProof;
pub(crate) use verify::{ProofRequest, ProofRules, verify_proof};

/// The `typ` of a DPoP proof (RFC 9449 section 4.2).
pub(crate) const PROOF_TYP: &str = "dpop+jwt";
