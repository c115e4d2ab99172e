//! JWT client authentication at the token and revocation endpoints (OIDC Core 9):
//! `private_key_jwt` (RFC 7523 section 2.2, signed with a [`ClientSigningKey`]) and
//! `client_secret_jwt` (HS256 with the client secret), and the public JWKS of the
//! client's keys served at `{base}/jwks.json` for providers that fetch a `jwks_uri`.
//!
//! The assertion carries `iss` = `sub` = the client id, `aud` = the issuer identifier
//! (RFC 7523 section 3 point 3; the FAPI 2.0 Security Profile asks for the issuer),
//! a fresh random `jti`, `iat` and an `exp` [`ASSERTION_LIFETIME_SECS`] later, and,
//! signed with a key, that key's `kid`. It is sent as `client_assertion_type` =
//! [`ASSERTION_TYPE`] and `client_assertion`.

mod key;

pub use key::ClientSigningKey;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// `client_assertion_type` for a JWT assertion (RFC 7523 section 2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: `exp` - `iat`, seconds.
pub const ASSERTION_LIFETIME_SECS: i64 = 60;

/// A client authentication key or assertion could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// The key is unreadable, of an unsupported type, or does not suit the algorithm.
    #[error("client signing key: {0}")]
    Key(&'static str),
    /// Signing the assertion failed.
    #[error("the client assertion could not be signed")]
    Signing,
}

/// What signs an assertion.
pub(crate) enum AssertionSigner<'a> {
    /// `private_key_jwt`: the first configured key.
    Key(&'a ClientSigningKey),
    /// `client_secret_jwt`: HMAC SHA-256 with the client secret (OIDC Core 9).
    Secret(&'a str),
}

/// The claims of a client assertion (RFC 7523 section 3), issued at `now`.
pub(crate) fn assertion_claims(client_id: &str, audience: &str, now: i64, jti: &str) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
    })
}

/// A signed client assertion for `client_id` at `audience` (the issuer), issued at
/// `now`, with a fresh 128-bit `jti`.
pub(crate) fn client_assertion(
    signer: &AssertionSigner<'_>,
    client_id: &str,
    audience: &str,
    now: i64,
) -> Result<String, ClientAuthError> {
    let claims = assertion_claims(client_id, audience, now, &crate::secret::random_token(16));
    let (header, key) = match signer {
        AssertionSigner::Key(k) => {
            let mut header = Header::new(k.algorithm());
            header.kid = Some(k.kid().to_owned());
            (header, std::borrow::Cow::Borrowed(k.encoding_key()))
        }
        AssertionSigner::Secret(s) => (
            Header::new(Algorithm::HS256),
            std::borrow::Cow::Owned(EncodingKey::from_secret(s.as_bytes())),
        ),
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(|_| ClientAuthError::Signing)
}

/// The JWK Set (RFC 7517 section 5) of `keys`' public halves, each `kid` once.
#[cfg(test)]
pub(crate) fn public_jwks<'a>(keys: impl IntoIterator<Item = &'a ClientSigningKey>) -> Value {
    jwk_set(keys.into_iter().map(ClientSigningKey::public_jwk))
}

/// A JWK Set (RFC 7517 section 5) of public JWKs, each `kid` once.
pub(crate) fn jwk_set(jwks: impl IntoIterator<Item = Value>) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for jwk in jwks {
        if !out.iter().any(|j| j["kid"] == jwk["kid"]) {
            out.push(jwk);
        }
    }
    json!({ "keys": out })
}

#[cfg(test)]
mod tests;
