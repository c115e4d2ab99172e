//! DPoP at the provider (RFC 9449): checking proofs at the token, PAR and
//! UserInfo endpoints. [`verify_proof`] holds the stateless rules of section
//! 4.3 as a pure function of the proof, the request and the clock; the nonce
//! (section 8) and the single use of `jti` (section 11.1) are checked by
//! [`server_proof`] and [`remember`], which need the provider's state.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::OAuthError;
use crate::jws::{Jws, KeyError, public_key};
use crate::replay::Replay;
use crate::state::{ProviderState, add_ttl, unix_secs};

/// The `typ` of a DPoP proof (RFC 9449 section 4.2).
pub(crate) const PROOF_TYP: &str = "dpop+jwt";

/// The proof algorithms accepted, as advertised in
/// `dpop_signing_alg_values_supported` (RFC 9449 section 5.1).
pub(crate) const SUPPORTED_ALGS: [&str; 3] = ["ES256", "PS256", "EdDSA"];

/// How old a proof's `iat` may be (RFC 9449 section 4.3 check 11).
pub(crate) const MAX_AGE: Duration = Duration::from_secs(300);

/// How far in the future a proof's `iat` may be (clock skew).
pub(crate) const MAX_AHEAD: Duration = Duration::from_secs(60);

/// Which rule of RFC 9449 section 4.3 a proof breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProofError {
    /// Check 1: more than one `DPoP` header.
    #[error("more than one DPoP header")]
    Multiple,
    /// Check 2: not a compact JWS with JSON header and claims.
    #[error("the DPoP proof is not a well-formed JWT")]
    Malformed,
    /// Check 4: `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ is not dpop+jwt")]
    WrongType,
    /// Check 5: `alg` is not an allowed asymmetric algorithm.
    #[error("the DPoP proof's alg is not one of ES256, PS256, EdDSA")]
    AlgNotAllowed,
    /// Check 7: `jwk` is missing or not a usable public key for `alg`.
    #[error("the DPoP proof's jwk is missing or unusable")]
    InvalidJwk,
    /// Check 7: `jwk` contains a private key.
    #[error("the DPoP proof's jwk contains a private key")]
    PrivateKey,
    /// Check 6: the signature does not verify with `jwk`.
    #[error("the DPoP proof's signature does not verify")]
    BadSignature,
    /// Check 3: a required claim is missing.
    #[error("the DPoP proof has no {0} claim")]
    MissingClaim(&'static str),
    /// Check 8: `htm` is not the request's method.
    #[error("the DPoP proof's htm is not the request method")]
    WrongMethod,
    /// Check 9: `htu` is not the request's URI.
    #[error("the DPoP proof's htu is not the request URI")]
    WrongUri,
    /// Check 11: `iat` is too old.
    #[error("the DPoP proof is too old")]
    Stale,
    /// Check 11: `iat` is too far in the future.
    #[error("the DPoP proof is issued in the future")]
    IssuedInFuture,
    /// Check 12: `ath` is not the hash of the access token.
    #[error("the DPoP proof's ath does not match the access token")]
    WrongAth,
    /// Section 11.1: the `jti` was seen before.
    #[error("the DPoP proof was already used")]
    Replayed,
}

/// What the request is, as the proof must describe it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// The request method (`htm`).
    pub htm: &'a str,
    /// The endpoint URL (`htu`), without query and fragment.
    pub htu: &'a str,
    /// The access token sent with the proof, which `ath` must hash.
    pub access_token: Option<&'a str>,
}

/// A proof that passed the stateless rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `nonce`, if any.
    pub nonce: Option<String>,
}

/// The request's one `DPoP` header (section 4.3 check 1), `None` without one.
pub(crate) fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, ProofError> {
    let mut all = headers.get_all("dpop").iter();
    let Some(value) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(ProofError::Multiple);
    }
    value.to_str().map(Some).map_err(|_| ProofError::Malformed)
}

/// `ath`: base64url of the SHA-256 of the access token (RFC 9449 section 4.2).
pub(crate) fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// Whether two absolute URIs are the same without query and fragment, after
/// the normalisation of the `url` crate (case of scheme and host, default
/// port, dot segments; RFC 9449 section 4.3 check 9, RFC 3986 section 6).
fn same_uri(a: &str, b: &str) -> bool {
    let strip = |u: &str| {
        let mut u = url::Url::parse(u).ok()?;
        u.set_query(None);
        u.set_fragment(None);
        Some(u)
    };
    matches!((strip(a), strip(b)), (Some(a), Some(b)) if a == b)
}

/// Checks `proof` against `expected` at `now` (RFC 9449 section 4.3 checks
/// 2 to 12 but 10, the nonce): a compact JWS, `typ` `dpop+jwt`, `alg` in
/// [`SUPPORTED_ALGS`], a public `jwk` that verifies the signature, the claims
/// `jti`, `htm`, `htu` and `iat`, `htm` and `htu` matching the request, `iat`
/// within [`MAX_AGE`] before and [`MAX_AHEAD`] after `now`, and `ath` hashing
/// the access token when one is sent.
pub(crate) fn verify_proof(
    proof: &str,
    expected: Expected<'_>,
    now: SystemTime,
) -> Result<Proof, ProofError> {
    let jws = Jws::parse(proof).ok_or(ProofError::Malformed)?;
    let typ = jws.header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case(PROOF_TYP)) {
        return Err(ProofError::WrongType);
    }
    let alg = jws
        .asymmetric_alg()
        .filter(|a| SUPPORTED_ALGS.contains(&format!("{a:?}").as_str()))
        .ok_or(ProofError::AlgNotAllowed)?;
    let jwk = jws
        .header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(ProofError::InvalidJwk)?;
    let key = public_key(jwk).map_err(|e| match e {
        KeyError::Private => ProofError::PrivateKey,
        KeyError::Unsupported => ProofError::InvalidJwk,
    })?;
    if !key.suits(alg) {
        return Err(ProofError::InvalidJwk);
    }
    if !jws.verify(&key, alg) {
        return Err(ProofError::BadSignature);
    }
    let jti = jws
        .claim_str("jti")
        .ok_or(ProofError::MissingClaim("jti"))?;
    let htm = jws
        .claim_str("htm")
        .ok_or(ProofError::MissingClaim("htm"))?;
    let htu = jws
        .claim_str("htu")
        .ok_or(ProofError::MissingClaim("htu"))?;
    let iat = jws
        .claim_secs("iat")
        .ok_or(ProofError::MissingClaim("iat"))?;
    if htm != expected.htm {
        return Err(ProofError::WrongMethod);
    }
    if !same_uri(htu, expected.htu) {
        return Err(ProofError::WrongUri);
    }
    let now = unix_secs(now);
    if iat.saturating_add(MAX_AGE.as_secs()) < now {
        return Err(ProofError::Stale);
    }
    if iat > now.saturating_add(MAX_AHEAD.as_secs()) {
        return Err(ProofError::IssuedInFuture);
    }
    if let Some(token) = expected.access_token {
        let ath = jws
            .claim_str("ath")
            .ok_or(ProofError::MissingClaim("ath"))?;
        let hash = access_token_hash(token);
        if aws_lc_rs::constant_time::verify_slices_are_equal(ath.as_bytes(), hash.as_bytes())
            .is_err()
        {
            return Err(ProofError::WrongAth);
        }
    }
    Ok(Proof {
        jkt: key.thumbprint,
        jti: jti.to_owned(),
        nonce: jws.claim_str("nonce").map(str::to_owned),
    })
}

/// Remembers the proof's `jti` for as long as a proof with it could pass the
/// `iat` check (section 11.1); a `jti` seen before is refused.
pub(crate) fn remember(state: &ProviderState, proof: &Proof) -> Result<(), ProofError> {
    let now = SystemTime::now();
    let until = add_ttl(now, MAX_AGE + MAX_AHEAD);
    // Per key: `jti` only has to be unique for the key that signs it.
    let key = format!("{}.{}", proof.jkt, proof.jti);
    match state.store().proof_jtis.insert(key, until, now) {
        Ok(()) => Ok(()),
        Err(Replay::Seen | Replay::Full) => Err(ProofError::Replayed),
    }
}

/// `invalid_dpop_proof` (RFC 9449 section 5) for the token and PAR endpoints.
pub(crate) fn invalid_proof(description: impl Into<String>) -> OAuthError {
    OAuthError::bad_request("invalid_dpop_proof", description)
}

/// The `DPoP-Nonce` header value of this provider, when it requires nonces
/// (RFC 9449 section 8).
pub(crate) fn nonce_header(state: &ProviderState) -> Option<HeaderValue> {
    state
        .dpop_nonce()
        .and_then(|n| HeaderValue::from_str(n).ok())
}

/// The DPoP proof of a request to the authorization server endpoint `path`
/// (`/token` or `/par`), checked: section 4.3, the provider's nonce
/// (section 8: `use_dpop_nonce`) and the single use of its `jti`. `None`
/// without a `DPoP` header.
pub(crate) fn server_proof(
    state: &ProviderState,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<Proof>, OAuthError> {
    let Some(proof) = proof_header(headers).map_err(|e| invalid_proof(e.to_string()))? else {
        return Ok(None);
    };
    let htu = state.endpoint(path);
    let expected = Expected {
        htm: "POST",
        htu: &htu,
        access_token: None,
    };
    let proof = verify_proof(proof, expected, SystemTime::now())
        .map_err(|e| invalid_proof(e.to_string()))?;
    if let Some(nonce) = state.dpop_nonce()
        && proof.nonce.as_deref() != Some(nonce)
    {
        return Err(OAuthError::bad_request(
            "use_dpop_nonce",
            "the DPoP proof must carry the nonce of the DPoP-Nonce header",
        ));
    }
    remember(state, &proof).map_err(|e| invalid_proof(e.to_string()))?;
    Ok(Some(proof))
}

/// An error of a DPoP-protected resource (RFC 9449 section 7.1): 401 with a
/// `DPoP` challenge naming the error and the algorithms accepted.
pub(crate) fn resource_error(error: &'static str, description: impl Into<String>) -> OAuthError {
    let description = description.into();
    let challenge = format!(
        "DPoP error=\"{error}\", error_description=\"{}\", algs=\"{}\"",
        description.replace(['"', '\\'], "'"),
        SUPPORTED_ALGS.join(" ")
    );
    OAuthError {
        status: StatusCode::UNAUTHORIZED,
        error,
        description,
        www_authenticate: Some(challenge),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_is_compared_without_query_and_after_normalisation() {
        assert!(same_uri(
            "HTTP://Example.com:80/token?x=1",
            "http://example.com/token"
        ));
        assert!(!same_uri(
            "http://example.com/token2",
            "http://example.com/token"
        ));
        assert!(!same_uri("/token", "/token"));
    }

    #[test]
    fn ath_is_the_base64url_sha256_of_the_token() {
        // RFC 9449 section 7.1's example token and ath.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
