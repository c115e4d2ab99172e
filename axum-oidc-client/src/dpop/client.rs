//! The client side of DPoP (RFC 9449): the pure rules a relying party follows when it
//! asks for and uses DPoP-bound tokens. The calls themselves are in
//! [`crate::token`] (token endpoint), [`crate::userinfo`] and the BFF proxy.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::DpopKey;

/// The longest `DPoP-Nonce` kept, in bytes. Nonces are opaque and short; a longer
/// value is ignored rather than echoed in every proof.
pub const MAX_NONCE_LEN: usize = 512;

/// The last `DPoP-Nonce` a server sent (RFC 9449 section 8): the next proof to it
/// carries it, so that only the first request after a nonce rotation is challenged.
/// Shared by every session of one provider; not a secret (the server sends it in
/// the clear, to anyone), but never logged either.
#[derive(Default)]
pub(crate) struct NonceCell(std::sync::Mutex<Option<String>>);

impl std::fmt::Debug for NonceCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceCell")
    }
}

impl NonceCell {
    /// The nonce to put in the next proof, if the server sent one.
    pub(crate) fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Keeps `nonce` for the next proofs.
    pub(crate) fn set(&self, nonce: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(nonce);
    }
}

/// The `DPoP-Nonce` header's value when it is a valid nonce (RFC 9449 section 8:
/// `1*NQCHAR`, printable ASCII without `"` and `\`) of at most [`MAX_NONCE_LEN`]
/// bytes; `None` otherwise.
///
/// ```
/// # use axum_oidc_client::dpop::server_nonce;
/// let mut h = http::HeaderMap::new();
/// assert_eq!(server_nonce(&h), None);
/// h.insert("dpop-nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v".parse().unwrap());
/// assert_eq!(server_nonce(&h).as_deref(), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
/// h.insert("dpop-nonce", "has space".parse().unwrap());
/// assert_eq!(server_nonce(&h), None);
/// ```
pub fn server_nonce(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get("dpop-nonce")?.to_str().ok()?;
    let valid = !value.is_empty()
        && value.len() <= MAX_NONCE_LEN
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
    valid.then(|| value.to_owned())
}

/// A session's DPoP key from its stored form; `None` for a session of bearer tokens.
pub(crate) fn stored_key(
    stored: Option<&crate::secret::DpopPrivateKey>,
) -> Result<Option<DpopKey>, super::DpopError> {
    stored.map(DpopKey::from_stored).transpose()
}

/// A proof of a session's stored key for a `method` call to `url` with its access
/// token (RFC 9449 section 7.1: `ath`), issued now with the server's last nonce;
/// `None` for a session of bearer tokens.
pub(crate) fn resource_proof(
    stored: Option<&crate::secret::DpopPrivateKey>,
    method: &http::Method,
    url: &str,
    nonce: Option<&str>,
    access_token: &str,
) -> Result<Option<String>, super::DpopError> {
    let now = chrono::Utc::now().timestamp();
    stored_key(stored)?
        .map(|key| key.proof(method, url, now, nonce, Some(access_token)))
        .transpose()
}

#[derive(Deserialize)]
struct ErrorCode {
    error: String,
}

/// Whether a token endpoint answer is the nonce challenge of RFC 9449 section 8: a
/// 400 with `error` `use_dpop_nonce`.
///
/// ```
/// # use axum_oidc_client::dpop::is_token_nonce_challenge;
/// assert!(is_token_nonce_challenge(400, br#"{"error":"use_dpop_nonce"}"#));
/// assert!(!is_token_nonce_challenge(400, br#"{"error":"invalid_dpop_proof"}"#));
/// assert!(!is_token_nonce_challenge(401, br#"{"error":"use_dpop_nonce"}"#));
/// ```
pub fn is_token_nonce_challenge(status: u16, body: &[u8]) -> bool {
    status == 400
        && serde_json::from_slice::<ErrorCode>(body).is_ok_and(|e| e.error == "use_dpop_nonce")
}

/// Whether a resource server's answer is the nonce challenge of RFC 9449 section 9: a
/// 401 whose `WWW-Authenticate` has a `DPoP` challenge with `error="use_dpop_nonce"`.
///
/// ```
/// # use axum_oidc_client::dpop::is_resource_nonce_challenge;
/// let mut h = http::HeaderMap::new();
/// h.insert("www-authenticate", r#"DPoP error="use_dpop_nonce", algs="ES256""#.parse().unwrap());
/// assert!(is_resource_nonce_challenge(401, &h));
/// assert!(!is_resource_nonce_challenge(403, &h));
/// h.insert("www-authenticate", r#"DPoP error="invalid_token""#.parse().unwrap());
/// assert!(!is_resource_nonce_challenge(401, &h));
/// ```
pub fn is_resource_nonce_challenge(status: u16, headers: &http::HeaderMap) -> bool {
    status == 401
        && headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                let v = v.trim_start();
                v.get(..5)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("dpop "))
                    && v.contains("error=\"use_dpop_nonce\"")
            })
}

/// Why a token response does not carry the DPoP binding that was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// `token_type` is `Bearer`: the provider ignored the proof and issued an
    /// unbound token (RFC 9449 section 5). A client configured for DPoP does not
    /// fall back to bearer tokens.
    #[error("the provider issued a bearer token, not a DPoP-bound one")]
    NotBound,
    /// The access token is a JWT whose `cnf.jkt` is not the session key's
    /// thumbprint (RFC 9449 section 6.1).
    #[error("the access token is bound to another key than the session's")]
    OtherKey,
}

#[derive(Deserialize)]
struct Confirmation {
    jkt: Option<String>,
}

#[derive(Deserialize)]
struct AccessTokenClaims {
    cnf: Option<Confirmation>,
}

/// Checks a token response to a DPoP-proved request (RFC 9449 section 5):
/// `token_type` is `DPoP` (case-insensitive), and, where the access token is a JWT
/// that shows it, its `cnf.jkt` is `key`'s thumbprint (section 6.1). An opaque
/// access token, or a JWT without `cnf`, is taken on the provider's word.
///
/// ```
/// # use axum_oidc_client::dpop::{check_binding, BindingError};
/// let key = axum_oidc_client::dpop::DpopKey::generate().unwrap();
/// assert_eq!(check_binding("DPoP", "opaque-token", &key), Ok(()));
/// assert_eq!(check_binding("Bearer", "opaque-token", &key), Err(BindingError::NotBound));
/// ```
pub fn check_binding(
    token_type: &str,
    access_token: &str,
    key: &DpopKey,
) -> Result<(), BindingError> {
    if !token_type.eq_ignore_ascii_case("dpop") {
        return Err(BindingError::NotBound);
    }
    match bound_thumbprint(access_token) {
        Some(jkt) if jkt != key.thumbprint() => Err(BindingError::OtherKey),
        _ => Ok(()),
    }
}

/// The `cnf.jkt` of an access token that is a JWT (its payload decoded, its signature
/// not checked: the token is for the resource server, not for us).
fn bound_thumbprint(access_token: &str) -> Option<String> {
    let mut parts = access_token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<AccessTokenClaims>(&bytes)
        .ok()?
        .cnf?
        .jkt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn a_jwt_access_token_bound_to_the_session_key_passes() {
        let key = DpopKey::generate().unwrap();
        let token = jwt(serde_json::json!({"sub": "a", "cnf": {"jkt": key.thumbprint()}}));
        assert_eq!(check_binding("DPoP", &token, &key), Ok(()));
        assert_eq!(check_binding("dpop", &token, &key), Ok(()));
    }

    #[test]
    fn a_jwt_access_token_bound_to_another_key_is_refused() {
        let key = DpopKey::generate().unwrap();
        let other = DpopKey::generate().unwrap();
        let token = jwt(serde_json::json!({"cnf": {"jkt": other.thumbprint()}}));
        assert_eq!(
            check_binding("DPoP", &token, &key),
            Err(BindingError::OtherKey)
        );
    }

    #[test]
    fn a_bearer_token_type_is_refused_even_with_the_right_cnf() {
        let key = DpopKey::generate().unwrap();
        let token = jwt(serde_json::json!({"cnf": {"jkt": key.thumbprint()}}));
        assert_eq!(
            check_binding("Bearer", &token, &key),
            Err(BindingError::NotBound)
        );
    }

    #[test]
    fn a_jwt_without_cnf_or_a_malformed_token_is_taken_on_the_providers_word() {
        let key = DpopKey::generate().unwrap();
        for token in [
            jwt(serde_json::json!({"sub": "a"})),
            "a.b.c".to_owned(),
            "a.b.c.d.e".to_owned(),
            "opaque".to_owned(),
        ] {
            assert_eq!(check_binding("DPoP", &token, &key), Ok(()), "{token}");
        }
    }

    #[test]
    fn a_nonce_cell_keeps_the_last_nonce() {
        let cell = NonceCell::default();
        assert_eq!(cell.get(), None);
        cell.set("n1".into());
        cell.set("n2".into());
        assert_eq!(cell.get().as_deref(), Some("n2"));
        assert_eq!(format!("{cell:?}"), "NonceCell");
    }

    #[test]
    fn an_overlong_nonce_is_ignored() {
        let mut h = http::HeaderMap::new();
        h.insert("dpop-nonce", "n".repeat(MAX_NONCE_LEN + 1).parse().unwrap());
        assert_eq!(server_nonce(&h), None);
        h.insert("dpop-nonce", "n".repeat(MAX_NONCE_LEN).parse().unwrap());
        assert!(server_nonce(&h).is_some());
    }
}
