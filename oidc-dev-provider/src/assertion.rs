//! `private_key_jwt` client assertions (RFC 7523 sections 2.2 and 3, OIDC
//! Core 9): [`verify_assertion`] holds the rules as a pure function of the
//! assertion, the client's registered keys, the accepted audiences and the
//! clock; the single use of `jti` needs the store and is checked by
//! [`client_auth`](crate::client_auth).

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::config::ClientRegistration;
use crate::jws::{Jws, registered_key};
use crate::state::unix_secs;

/// `client_assertion_type` of a JWT assertion (RFC 7523 section 2.2).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest lifetime (`exp` - now) an assertion may claim: assertions
/// are meant for one request (RFC 7523 section 3 point 4 lets the server
/// refuse far-off expiry).
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(600);

/// Clock skew allowed on `exp` and `nbf`.
pub(crate) const LEEWAY: Duration = Duration::from_secs(10);

/// Which rule of RFC 7523 section 3 an assertion breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AssertionError {
    /// Not a compact JWS with JSON header and claims.
    #[error("the client assertion is not a well-formed JWT")]
    Malformed,
    /// `alg` is not RS256, PS256, ES256 or EdDSA.
    #[error("the client assertion's alg is not allowed")]
    AlgNotAllowed,
    /// No registered key has the header's `kid`.
    #[error("no registered key has the client assertion's kid")]
    UnknownKey,
    /// No registered key for `alg` verifies the signature (point 9).
    #[error("the client assertion's signature does not verify")]
    BadSignature,
    /// A required claim is missing (points 1 to 4, 7).
    #[error("the client assertion has no {0} claim")]
    MissingClaim(&'static str),
    /// `iss` is not the client id (point 1).
    #[error("the client assertion's iss is not the client_id")]
    WrongIssuer,
    /// `sub` is not the client id (point 2.B).
    #[error("the client assertion's sub is not the client_id")]
    WrongSubject,
    /// `aud` does not name this provider (point 3).
    #[error("the client assertion's aud does not name this provider")]
    WrongAudience,
    /// `exp` has passed (point 4).
    #[error("the client assertion has expired")]
    Expired,
    /// `exp` is more than [`MAX_LIFETIME`] away (point 4).
    #[error("the client assertion's exp is too far in the future")]
    TooLong,
    /// `nbf` is in the future (point 5).
    #[error("the client assertion is not valid yet")]
    NotYetValid,
    /// The `jti` was used before (point 7).
    #[error("the client assertion was already used")]
    Replayed,
}

/// An assertion that passed [`verify_assertion`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedAssertion {
    /// Its `jti`, to be remembered until `exp`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: SystemTime,
}

/// The unverified `sub` of an assertion, to find the client when the request
/// has no `client_id` (RFC 7523 section 3 point 2.B: `sub` is the client id).
pub(crate) fn claimed_client(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Checks a `private_key_jwt` assertion of `client` at `now` (RFC 7523
/// section 3): an allowed asymmetric `alg`; a signature by a registered key
/// (the one with the header's `kid`, else any that verifies); `iss` = `sub` =
/// the client id; an `aud` naming one of `audiences` (the issuer, the token
/// endpoint or the endpoint called); `exp` in the future but at most
/// [`MAX_LIFETIME`] away; no `nbf` in the future; a `jti`.
pub(crate) fn verify_assertion(
    assertion: &str,
    client: &ClientRegistration,
    audiences: &[String],
    now: SystemTime,
) -> Result<VerifiedAssertion, AssertionError> {
    let jws = Jws::parse(assertion).ok_or(AssertionError::Malformed)?;
    let alg = jws.asymmetric_alg().ok_or(AssertionError::AlgNotAllowed)?;
    let kid = jws.header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&Value> = (client.jwks.iter())
        .filter(|jwk| kid.is_none_or(|k| jwk.get("kid").and_then(Value::as_str) == Some(k)))
        .collect();
    if candidates.is_empty() {
        return Err(AssertionError::UnknownKey);
    }
    let verified = candidates
        .into_iter()
        .filter_map(|jwk| registered_key(jwk).ok())
        .any(|key| jws.verify(&key, alg));
    if !verified {
        return Err(AssertionError::BadSignature);
    }

    let id = client.client_id.as_str();
    let iss = jws
        .claim_str("iss")
        .ok_or(AssertionError::MissingClaim("iss"))?;
    if iss != id {
        return Err(AssertionError::WrongIssuer);
    }
    let sub = jws
        .claim_str("sub")
        .ok_or(AssertionError::MissingClaim("sub"))?;
    if sub != id {
        return Err(AssertionError::WrongSubject);
    }
    let aud = jws
        .claims
        .get("aud")
        .ok_or(AssertionError::MissingClaim("aud"))?;
    let names_us = |v: &Value| v.as_str().is_some_and(|a| audiences.iter().any(|x| x == a));
    let aud_ok = match aud {
        Value::Array(list) => list.iter().any(names_us),
        single => names_us(single),
    };
    if !aud_ok {
        return Err(AssertionError::WrongAudience);
    }
    let now_secs = unix_secs(now);
    let exp = jws
        .claim_secs("exp")
        .ok_or(AssertionError::MissingClaim("exp"))?;
    if exp.saturating_add(LEEWAY.as_secs()) <= now_secs {
        return Err(AssertionError::Expired);
    }
    if exp > now_secs.saturating_add(MAX_LIFETIME.as_secs()) {
        return Err(AssertionError::TooLong);
    }
    if jws
        .claim_secs("nbf")
        .is_some_and(|nbf| nbf > now_secs.saturating_add(LEEWAY.as_secs()))
    {
        return Err(AssertionError::NotYetValid);
    }
    let jti = jws
        .claim_str("jti")
        .ok_or(AssertionError::MissingClaim("jti"))?;
    Ok(VerifiedAssertion {
        jti: jti.to_owned(),
        expires_at: SystemTime::UNIX_EPOCH
            + Duration::from_secs(exp.saturating_add(LEEWAY.as_secs())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_client_is_the_unverified_sub() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"app","iss":"x"}"#);
        assert_eq!(
            claimed_client(&format!("e30.{payload}.sig")).as_deref(),
            Some("app")
        );
        assert_eq!(claimed_client("garbage"), None);
    }
}
