//! DPoP at the adversary's token endpoint (RFC 9449): how it binds, or fails to bind,
//! the tokens it issues, and what the proofs it received said.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest as _;

/// How the token endpoint treats DPoP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopReply {
    /// `token_type` `DPoP`, the access token a JWT whose `cnf.jkt` is the proof key's
    /// thumbprint (RFC 9449 sections 5 and 6.1).
    Bound,
    /// As [`Self::Bound`], but the provider first requires its nonce: a proof without
    /// the current one gets `400 use_dpop_nonce` and a `DPoP-Nonce` (section 8).
    NonceRequired,
    /// Every proof gets `400 use_dpop_nonce` with a new nonce.
    NonceEveryTime,
    /// `token_type` `DPoP`, but `cnf.jkt` names another key.
    BoundElsewhere,
    /// Ignores the proof: `token_type` `Bearer`.
    Unbound,
}

/// What one DPoP proof said (its signature is not checked: the library's own tests
/// verify proofs; this records what the client sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofSeen {
    /// RFC 7638 thumbprint of the header's `jwk`.
    pub jkt: String,
    pub htm: String,
    pub htu: String,
    pub jti: String,
    pub nonce: Option<String>,
    pub ath: Option<String>,
}

fn part(jwt: &str, i: usize) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(jwt.split('.').nth(i)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `DPoP` header's proof, read.
pub fn read_proof(headers: &HeaderMap) -> Option<ProofSeen> {
    let proof = headers.get("dpop")?.to_str().ok()?;
    let header = part(proof, 0)?;
    let claims = part(proof, 1)?;
    let jwk = &header["jwk"];
    // RFC 7638 section 3.2: the required EC members in lexicographic order.
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str()?,
        jwk["x"].as_str()?,
        jwk["y"].as_str()?
    );
    let s = |k: &str| claims[k].as_str().map(str::to_owned);
    Some(ProofSeen {
        jkt: URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes())),
        htm: s("htm")?,
        htu: s("htu")?,
        jti: s("jti")?,
        nonce: s("nonce"),
        ath: s("ath"),
    })
}

/// An access token that is a JWT bound to `jkt` (unsigned: the client only reads it).
pub fn bound_access_token(id: &str, jkt: &str) -> String {
    let payload = json!({ "jti": id, "cnf": { "jkt": jkt } }).to_string();
    format!(
        "eyJhbGciOiJub25lIn0.{}.",
        URL_SAFE_NO_PAD.encode(payload.as_bytes())
    )
}

/// The nonce challenge (RFC 9449 section 8) a token request gets, if any: a new nonce
/// when `reply` requires one the proof lacks, or always for
/// [`DpopReply::NonceEveryTime`]. `nonces` counts the nonces handed out; the last is
/// current.
pub fn challenge(
    reply: Option<DpopReply>,
    proof: Option<&ProofSeen>,
    nonces: &mut u64,
) -> Option<String> {
    let current = format!("adv-nonce-{nonces}");
    let nonce_ok = proof.and_then(|p| p.nonce.as_deref()) == Some(current.as_str());
    match reply {
        Some(DpopReply::NonceRequired) if !nonce_ok => {}
        Some(DpopReply::NonceEveryTime) => {}
        _ => return None,
    }
    *nonces += 1;
    Some(format!("adv-nonce-{nonces}"))
}

/// The access token and `token_type` issued for a request with `proof`, or the
/// OAuth error when a DPoP provider got no proof.
pub fn issued(
    reply: Option<DpopReply>,
    proof: Option<&ProofSeen>,
    bearer_type: &'static str,
) -> Result<(String, &'static str), &'static str> {
    let id = super::unique("at");
    match (reply, proof) {
        (None | Some(DpopReply::Unbound), _) => Ok((id, bearer_type)),
        (Some(DpopReply::BoundElsewhere), Some(_)) => Ok((
            bound_access_token(&id, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
            "DPoP",
        )),
        (Some(_), Some(p)) => Ok((bound_access_token(&id, &p.jkt), "DPoP")),
        (Some(_), None) => Err("invalid_dpop_proof"),
    }
}
