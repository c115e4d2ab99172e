//! The one compact-JWS parser (RFC 7515 section 7.1) and signature check.
//!
//! Only parsing lives here; the signature primitive itself comes from `jsonwebtoken`'s
//! aws-lc-rs backend. Every check that can fail has its own [`JoseError`] variant.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::alg::SigningAlgorithm;
use super::keys::{JwkSet, KeyEntry};

/// Largest compact JWS the library will look at (bytes). Larger inputs are rejected
/// before any decoding work.
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// Reads a JOSE header or a JWT claims set, which must be the UTF-8 encoding of a
/// JSON object (RFC 7515 section 5.2 steps 4 and 8, RFC 7519 section 7.2 step 10).
///
/// A derived `Deserialize` would also accept an array, field by field, and the JSON
/// parser skips members nobody reads without checking their encoding; both are
/// refused here.
pub(crate) fn from_json_object<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Why a compact JWS was rejected before or at its signature check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoseError {
    /// The token is larger than [`MAX_JWS_LEN`].
    #[error("token too large")]
    TooLarge,
    /// Not three dot-separated parts (a JWE or garbage).
    #[error("token is not a compact JWS")]
    Malformed,
    /// A part is not valid base64url.
    #[error("token part is not base64url")]
    BadBase64,
    /// The header is not a JSON object with a string `alg`.
    #[error("token header is not valid JSON")]
    BadHeader,
    /// The payload is not a JSON object.
    #[error("token payload is not a JSON object")]
    BadPayload,
    /// `alg` is `none` (RFC 7518 section 3.6); never accepted.
    #[error("unsigned tokens are not accepted")]
    AlgNone,
    /// `alg` is not on the allow-list (this includes every `HS*`).
    #[error("algorithm {0} is not allowed")]
    AlgNotAllowed(String),
    /// The header has a `crit` parameter naming an extension this library does not
    /// understand (RFC 7515 section 4.1.11).
    #[error("unsupported critical header parameter")]
    UnsupportedCrit,
    /// The header's `typ` is not the one required for this token kind.
    #[error("unexpected token type")]
    WrongType,
    /// No key in the JWKS, even after a refetch, matches the header's `kid`.
    #[error("no key matches the token's kid")]
    UnknownKid,
    /// The header has no `kid` and the JWKS has several candidate keys.
    #[error("token has no kid and the key set is ambiguous")]
    AmbiguousKey,
    /// The key found for the `kid` does not fit the algorithm (kty, crv or alg mismatch).
    #[error("key does not fit the token's algorithm")]
    KeyAlgMismatch,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

/// The JOSE header fields this library reads.
#[derive(Debug, Clone, Deserialize)]
pub struct JoseHeader {
    /// `alg`.
    pub alg: String,
    /// `kid`, if any.
    #[serde(default)]
    pub kid: Option<String>,
    /// `typ`, if any.
    #[serde(default)]
    pub typ: Option<String>,
    /// `crit`, if any.
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// Largest decoded signature accepted (an RSA-16384 signature).
const MAX_SIGNATURE_LEN: usize = 2048;

/// A compact JWS split and decoded (RFC 7515 section 7.1 and section 5.2 steps 1-8),
/// with the rules that hold whatever the token kind: at most [`MAX_JWS_LEN`], three
/// base64url parts, a header that is a JSON object, never `alg` `none`
/// (RFC 8725 section 3.2), no `crit` (RFC 7515 section 4.1.11). The algorithm
/// allow-list, which depends on the issuer, comes next:
/// [`with_allowed`](Self::with_allowed).
#[derive(Debug, Clone)]
pub(crate) struct CompactJws<'a> {
    /// The decoded header.
    pub(crate) header: JoseHeader,
    /// The decoded payload, not yet verified.
    pub(crate) payload: Vec<u8>,
    /// `header.payload`, the JWS signing input.
    pub(crate) signing_input: &'a str,
    /// The base64url signature.
    pub(crate) signature: &'a str,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes `token` and applies the rules every token kind shares.
    pub(crate) fn parse(token: &'a str) -> Result<Self, JoseError> {
        if token.len() > MAX_JWS_LEN {
            return Err(JoseError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| JoseError::BadBase64)
        };
        let header_bytes = decode(h)?;
        let payload = decode(p)?;
        // The signature is checked without being kept: the verifier decodes it again.
        if URL_SAFE_NO_PAD
            .decode_slice(s, &mut [0u8; MAX_SIGNATURE_LEN])
            .is_err()
        {
            return Err(JoseError::BadBase64);
        }
        let header: JoseHeader = from_json_object(&header_bytes).ok_or(JoseError::BadHeader)?;
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(JoseError::AlgNone);
        }
        // No JWS extension is understood, so any `crit` makes the token invalid
        // (RFC 7515 section 4.1.11).
        if header.crit.is_some() {
            return Err(JoseError::UnsupportedCrit);
        }
        Ok(Self {
            header,
            payload,
            signing_input: &token[..h.len() + 1 + p.len()],
            signature: s,
        })
    }

    /// The header's `alg`, when it is on `allowed` (RFC 8725 section 3.1).
    fn allowed_alg(&self, allowed: &[SigningAlgorithm]) -> Result<SigningAlgorithm, JoseError> {
        SigningAlgorithm::from_name(&self.header.alg)
            .filter(|a| allowed.contains(a))
            .ok_or_else(|| JoseError::alg_not_allowed(&self.header.alg))
    }

    /// A view for signature verification, once `alg` is on `allowed`.
    pub(crate) fn with_allowed(
        &self,
        allowed: &[SigningAlgorithm],
    ) -> Result<UnverifiedJws<'_>, JoseError> {
        Ok(UnverifiedJws {
            alg: self.allowed_alg(allowed)?,
            header: self.header.clone(),
            signing_input: self.signing_input,
            signature: self.signature,
            payload: Cow::Borrowed(&self.payload),
        })
    }
}

impl JoseError {
    /// [`JoseError::AlgNotAllowed`] naming at most 16 characters of `alg`.
    pub(crate) fn alg_not_allowed(alg: &str) -> Self {
        Self::AlgNotAllowed(alg.chars().take(16).collect())
    }
}

/// A compact JWS split into its parts, not yet verified.
#[derive(Debug, Clone)]
pub struct UnverifiedJws<'a> {
    /// The decoded header.
    pub header: JoseHeader,
    /// The algorithm, checked against the allow-list.
    pub alg: SigningAlgorithm,
    signing_input: &'a str,
    signature: &'a str,
    payload: Cow<'a, [u8]>,
}

impl<'a> UnverifiedJws<'a> {
    /// Splits and decodes `token`, and checks `alg` against `allowed` and `crit`.
    pub fn parse(token: &'a str, allowed: &[SigningAlgorithm]) -> Result<Self, JoseError> {
        let jws = CompactJws::parse(token)?;
        Ok(Self {
            alg: jws.allowed_alg(allowed)?,
            header: jws.header,
            signing_input: jws.signing_input,
            signature: jws.signature,
            payload: Cow::Owned(jws.payload),
        })
    }

    /// Requires the header `typ` to equal `expected` (case-insensitively, and also
    /// accepting the `application/` prefix per RFC 7515 section 4.1.9).
    pub fn require_typ(&self, expected: &str) -> Result<(), JoseError> {
        match self.header.typ.as_deref() {
            Some(t) if typ_matches(t, expected) => Ok(()),
            _ => Err(JoseError::WrongType),
        }
    }

    /// Checks the signature with the key from `keys` that the header selects.
    pub fn verify(&self, keys: &JwkSet) -> Result<(), JoseError> {
        let key = select_key(keys, self.header.kid.as_deref(), self.alg)?;
        let ok = jsonwebtoken::crypto::verify(
            self.signature,
            self.signing_input.as_bytes(),
            &key.decoding_key,
            self.alg.to_jsonwebtoken(),
        )
        .map_err(|_| JoseError::KeyAlgMismatch)?;
        if ok {
            Ok(())
        } else {
            Err(JoseError::BadSignature)
        }
    }

    /// The raw payload bytes (only meaningful after [`verify`](Self::verify)).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

fn typ_matches(actual: &str, expected: &str) -> bool {
    let actual = actual.strip_prefix("application/").unwrap_or(actual);
    actual.eq_ignore_ascii_case(expected)
}

/// Picks the verification key (OIDC Core 10.1.1): by `kid` when present; without a
/// `kid` only when exactly one key fits the algorithm.
///
/// Several keys may share a `kid` when they have different key types (RFC 7517
/// section 4.5), so the key named by `kid` is the first of them that fits `alg`.
pub(crate) fn select_key<'k>(
    keys: &'k JwkSet,
    kid: Option<&str>,
    alg: SigningAlgorithm,
) -> Result<&'k KeyEntry, JoseError> {
    match kid {
        Some(kid) => {
            let mut named = keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .peekable();
            if named.peek().is_none() {
                return Err(JoseError::UnknownKid);
            }
            named.find(|k| k.fits(alg)).ok_or(JoseError::KeyAlgMismatch)
        }
        None => {
            let mut fitting = keys.iter().filter(|k| k.fits(alg));
            match (fitting.next(), fitting.next()) {
                (Some(k), None) => Ok(k),
                (None, _) => Err(JoseError::UnknownKid),
                (Some(_), Some(_)) => Err(JoseError::AmbiguousKey),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str) -> String {
        format!("{}.{}.{}", b64(header), b64("{}"), b64("sig"))
    }

    #[test]
    fn rejects_alg_none() {
        let t = token(r#"{"alg":"none"}"#);
        assert_eq!(
            UnverifiedJws::parse(&t, &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::AlgNone
        );
        let t = token(r#"{"alg":"NoNe"}"#);
        assert_eq!(
            UnverifiedJws::parse(&t, &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::AlgNone
        );
    }

    #[test]
    fn rejects_hmac_algorithms() {
        let t = token(r#"{"alg":"HS256"}"#);
        assert!(matches!(
            UnverifiedJws::parse(&t, &SigningAlgorithm::ALL),
            Err(JoseError::AlgNotAllowed(_))
        ));
    }

    #[test]
    fn rejects_algorithm_outside_the_allow_list() {
        let t = token(r#"{"alg":"RS512"}"#);
        assert!(matches!(
            UnverifiedJws::parse(&t, &[SigningAlgorithm::RS256]),
            Err(JoseError::AlgNotAllowed(_))
        ));
    }

    #[test]
    fn rejects_a_header_that_is_not_a_json_object() {
        let t = token(r#"["RS256"]"#);
        assert_eq!(
            UnverifiedJws::parse(&t, &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::BadHeader
        );
        assert!(
            UnverifiedJws::parse(&token(r#" {"alg":"RS256"}"#), &SigningAlgorithm::ALL).is_ok()
        );
    }

    #[test]
    fn rejects_a_header_that_is_not_utf8() {
        let header = b"{\"alg\":\"RS256\",\"x\":\"\xff\"}";
        let t = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            b64("{}"),
            b64("sig")
        );
        assert_eq!(
            UnverifiedJws::parse(&t, &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::BadHeader
        );
        let valid = token("{\"alg\":\"RS256\",\"x\":\"\u{e9}\"}");
        assert!(UnverifiedJws::parse(&valid, &SigningAlgorithm::ALL).is_ok());
    }

    #[test]
    fn rejects_unknown_crit() {
        let t = token(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#);
        assert_eq!(
            UnverifiedJws::parse(&t, &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::UnsupportedCrit
        );
    }

    #[test]
    fn rejects_wrong_part_count_and_bad_base64() {
        assert_eq!(
            UnverifiedJws::parse("a.b", &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::Malformed
        );
        assert_eq!(
            UnverifiedJws::parse("a.b.c.d.e", &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::Malformed
        );
        assert_eq!(
            UnverifiedJws::parse("@@.b.c", &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::BadBase64
        );
        let huge = "a".repeat(MAX_JWS_LEN + 1);
        assert_eq!(
            UnverifiedJws::parse(&huge, &SigningAlgorithm::ALL).unwrap_err(),
            JoseError::TooLarge
        );
    }

    const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const RSA_N: &str = "yWPGAw-hfnX8UeM9N9RxkS72VgNKFMUqBEZFRGFaLFtSeNjlAcJ9rDjDD4TxbHddF2sGvlci3-Lhr8wtfT9noEHdZzTWgWGPJiLs5KK0rYwhU0V6xxu7IZv3gqYymyM5BqNXX4vb_AXyAC3hryvwb5aS0taNtDb8N3Yc0cPKpAyoVhAlZWw1iDLFJOtI0X0oES8lNTSYWAnhp6T3dSkiIhnam4OsQF8hOiPyXj6la3Orc4hCQSEpcvEz5OZ-JzlBlGg4RAA8FrM-IQnL9RCNgQdVLQUCasL6ZKws8l5U83yWR6lt8sQuQhia1BBtf4B4PyMBy9M8fJmMQ68xJlqqEw";

    fn key_set(doc: &str) -> JwkSet {
        JwkSet::parse(doc.as_bytes()).unwrap()
    }

    #[test]
    fn selects_among_keys_sharing_a_kid_the_one_that_fits_the_algorithm() {
        let keys = key_set(&format!(
            r#"{{"keys":[
                {{"kty":"EC","crv":"P-256","kid":"k","x":"{EC_X}","y":"{EC_Y}"}},
                {{"kty":"RSA","kid":"k","n":"{RSA_N}","e":"AQAB"}}
            ]}}"#
        ));
        assert_eq!(keys.len(), 2);
        let rsa = select_key(&keys, Some("k"), SigningAlgorithm::RS256).unwrap();
        assert_eq!(rsa.kty, "RSA");
        let ec = select_key(&keys, Some("k"), SigningAlgorithm::ES256).unwrap();
        assert_eq!(ec.kty, "EC");
        assert_eq!(
            select_key(&keys, Some("k"), SigningAlgorithm::ES384).unwrap_err(),
            JoseError::KeyAlgMismatch
        );
        assert_eq!(
            select_key(&keys, Some("other"), SigningAlgorithm::RS256).unwrap_err(),
            JoseError::UnknownKid
        );
    }

    #[test]
    fn typ_accepts_media_type_prefix() {
        assert!(typ_matches("application/at+jwt", "at+jwt"));
        assert!(typ_matches("AT+JWT", "at+jwt"));
        assert!(!typ_matches("JWT", "at+jwt"));
    }
}
