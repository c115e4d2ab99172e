//! Verifying a DPoP proof on the resource server (RFC 9449 sections 4.3 and 7.1):
//! a pure function of the request's headers, method, external URI, access token,
//! the rules and the clock. Replay detection is apart ([`super::replay`]), since it
//! needs the store.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method};
use serde_json::{Map, Value, json};

use super::key::{access_token_hash, canonical_hash};
use super::{DpopError, PROOF_TYP, htu};
use crate::jose::SigningAlgorithm;
use crate::secret::constant_time_eq;

/// Largest `DPoP` header accepted; a proof carries one public key, so even an RSA
/// 4096 key fits easily.
pub(crate) const MAX_PROOF_LEN: usize = 8 * 1024;

/// Members that only a private or symmetric JWK has (RFC 7518 section 6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The rules a proof is checked against.
#[derive(Clone, Debug)]
pub(crate) struct ProofRules {
    /// The asymmetric algorithms accepted (RFC 9449 section 4.3 check 5).
    pub(crate) algorithms: std::sync::Arc<[SigningAlgorithm]>,
    /// How old `iat` may be, in seconds (RFC 9449 section 4.3 check 11).
    pub(crate) max_age: i64,
    /// Clock skew tolerated both ways, in seconds.
    pub(crate) leeway: i64,
}

impl ProofRules {
    /// How long a `jti` must be remembered: as long as a proof with it can pass the
    /// `iat` check (issued up to `leeway` ahead, accepted until `max_age + leeway`
    /// after).
    pub(crate) fn replay_window(&self) -> std::time::Duration {
        std::time::Duration::from_secs((self.max_age + 2 * self.leeway).unsigned_abs())
    }
}

/// What the request is, as the proof must describe it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProofRequest<'a> {
    /// The request method (`htm`).
    pub(crate) method: &'a Method,
    /// The normalised external request URI without query and fragment (`htu`).
    pub(crate) htu: &'a str,
    /// The access token presented with the proof, for `ath`.
    pub(crate) access_token: Option<&'a str>,
}

/// A proof that passed every stateless rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VerifiedProof {
    /// The proof's `jti`, to be remembered against replay.
    pub(crate) jti: String,
    /// The RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: String,
    /// The proof's `iat`.
    pub(crate) iat: i64,
}

/// The one `DPoP` header of the request (RFC 9449 section 4.3 check 1).
pub(crate) fn proof_header(headers: &HeaderMap) -> Result<&str, DpopError> {
    let mut all = headers.get_all("dpop").iter();
    let value = all.next().ok_or(DpopError::MissingProof)?;
    if all.next().is_some() {
        return Err(DpopError::MultipleProofs);
    }
    let value = value.to_str().map_err(|_| DpopError::Malformed)?;
    if value.len() > MAX_PROOF_LEN {
        return Err(DpopError::Malformed);
    }
    Ok(value)
}

/// Checks the proof in `headers` for `request` at time `now`, in the order of RFC
/// 9449 section 4.3: one header; a compact JWS with JSON header and claims; `typ`
/// `dpop+jwt`; `alg` asymmetric and allowed; `jwk` a public key of that type; the
/// signature; the claims `jti`, `htm`, `htu`, `iat`; `htm` and `htu` match the
/// request; `iat` within `max_age` in the past and `leeway` in the future; `ath`
/// matches the access token. The binding of the token (`cnf.jkt`) and replay are the
/// caller's.
pub(crate) fn verify_proof(
    headers: &HeaderMap,
    request: ProofRequest<'_>,
    rules: &ProofRules,
    now: i64,
) -> Result<VerifiedProof, DpopError> {
    let proof = proof_header(headers)?;
    let mut parts = proof.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::Malformed);
    };
    let header = json_object(h)?;
    let claims = json_object(p)?;

    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case(PROOF_TYP)) {
        return Err(DpopError::WrongType);
    }
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = SigningAlgorithm::from_name(alg_name)
        .filter(|a| rules.algorithms.contains(a))
        .ok_or_else(|| DpopError::AlgNotAllowed(alg_name.chars().take(16).collect()))?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(DpopError::InvalidJwk)?;
    let (key, jkt) = public_key(jwk, alg)?;
    let signing_input = &proof[..h.len() + 1 + p.len()];
    match jsonwebtoken::crypto::verify(s, signing_input.as_bytes(), &key, alg.to_jsonwebtoken()) {
        Ok(true) => {}
        _ => return Err(DpopError::BadSignature),
    }

    let string = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(DpopError::MissingClaim(name))
    };
    let jti = string("jti")?;
    let htm = string("htm")?;
    let htu = string("htu")?;
    let iat = claims
        .get("iat")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .ok_or(DpopError::MissingClaim("iat"))?;

    if htm != request.method.as_str() {
        return Err(DpopError::WrongMethod);
    }
    if htu::normalise(htu).as_deref() != Some(request.htu) {
        return Err(DpopError::WrongUri);
    }
    if now.saturating_sub(iat) > rules.max_age.saturating_add(rules.leeway) {
        return Err(DpopError::Stale);
    }
    if iat.saturating_sub(now) > rules.leeway {
        return Err(DpopError::IssuedInFuture);
    }
    if let Some(token) = request.access_token {
        let ath = string("ath")?;
        if !constant_time_eq(ath.as_bytes(), access_token_hash(token).as_bytes()) {
            return Err(DpopError::WrongAth);
        }
    }
    Ok(VerifiedProof {
        jti: jti.to_owned(),
        jkt,
        iat,
    })
}

fn json_object(part: &str) -> Result<Map<String, Value>, DpopError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| DpopError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(DpopError::Malformed),
    }
}

/// The proof's public key for `alg`, and its RFC 7638 thumbprint. Refuses private
/// and symmetric keys, and keys of another type or curve than `alg`'s.
fn public_key(
    jwk: &Map<String, Value>,
    alg: SigningAlgorithm,
) -> Result<(jsonwebtoken::DecodingKey, String), DpopError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::PrivateKeyInJwk);
    }
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(DpopError::InvalidJwk)
    };
    let kty = member("kty")?;
    if kty == "oct" {
        return Err(DpopError::PrivateKeyInJwk);
    }
    if kty != alg.key_type()
        || alg
            .curve()
            .is_some_and(|crv| jwk.get("crv") != Some(&json!(crv)))
    {
        return Err(DpopError::InvalidJwk);
    }
    let canonical = match kty {
        "EC" => json!({"crv": member("crv")?, "kty": kty, "x": member("x")?, "y": member("y")?}),
        "RSA" => json!({"e": member("e")?, "kty": kty, "n": member("n")?}),
        "OKP" => json!({"crv": member("crv")?, "kty": kty, "x": member("x")?}),
        _ => return Err(DpopError::InvalidJwk),
    };
    let parsed: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(canonical.clone()).map_err(|_| DpopError::InvalidJwk)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&parsed).map_err(|_| DpopError::InvalidJwk)?;
    Ok((key, canonical_hash(&canonical)))
}
