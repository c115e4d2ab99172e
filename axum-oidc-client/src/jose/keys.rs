//! JSON Web Keys: parsing a JWK Set (RFC 7517 section 5) into the keys usable for
//! signature verification.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::alg::SigningAlgorithm;

/// Largest JWKS document accepted (bytes).
pub const MAX_JWKS_LEN: usize = 256 * 1024;

/// Why the key set could not be obtained.
///
/// ```
/// use axum_oidc_client::{JwkSet, JwksError};
///
/// assert!(matches!(JwkSet::parse(b"<html>"), Err(JwksError::Invalid)));
/// assert!(matches!(JwkSet::parse(br#"{"kid": "k1"}"#), Err(JwksError::Invalid)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The HTTP request failed (connection, timeout, TLS).
    #[error("could not fetch the JWKS")]
    Http(#[source] reqwest::Error),
    /// The provider answered with a non-success status.
    #[error("JWKS endpoint answered {0}")]
    Status(u16),
    /// The document is not a JWK Set or is too large.
    #[error("JWKS document is invalid")]
    Invalid,
    /// No key source is configured.
    #[error("no JWKS URI configured")]
    NoSource,
    /// The keys come from the login configuration's provider, which has not been
    /// discovered yet (it could not be reached since start-up).
    #[error("the OpenID provider has not been discovered yet, so its JWKS URI is unknown")]
    NotDiscovered,
    /// A recent fetch failed and the next attempt is not due yet: failed fetches are
    /// retried with an exponential back-off (1 s doubling to 5 min, reset by a
    /// success), and every caller in the meantime shares that failure.
    #[error("the JWKS endpoint failed recently; next attempt in {} s", retry_in.as_secs())]
    Backoff {
        /// Time until the next fetch may be made.
        retry_in: Duration,
        /// The failure of the last fetch.
        #[source]
        last: Arc<JwksError>,
    },
}

/// One usable verification key.
///
/// ```
/// use axum_oidc_client::{JwkSet, SigningAlgorithm};
///
/// let jwks = JwkSet::parse(br#"{"keys": [
///     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
///      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
///      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
/// ]}"#)
/// .unwrap();
/// let key = jwks.by_kid("k1").unwrap();
/// assert_eq!((key.kty.as_str(), key.crv.as_deref()), ("OKP", Some("Ed25519")));
/// assert_eq!(key.alg.as_deref(), Some("EdDSA"));
/// assert!(key.fits(SigningAlgorithm::EdDSA));
/// ```
#[derive(Clone)]
pub struct KeyEntry {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    /// `kty`: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// `crv` for EC and OKP keys.
    pub crv: Option<String>,
    /// `alg`, when the key is restricted to one algorithm.
    pub alg: Option<String>,
    pub(crate) decoding_key: DecodingKey,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("kid", &self.kid)
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl KeyEntry {
    /// Whether this key may verify a signature made with `alg` (RFC 7517 4.1, 4.4).
    ///
    /// ```
    /// use axum_oidc_client::{JwkSet, SigningAlgorithm};
    /// # let jwks = JwkSet::parse(br#"{"keys": [
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    /// # ]}"#)
    /// # .unwrap();
    /// let key = jwks.by_kid("k1").unwrap(); // an Ed25519 key restricted to EdDSA
    /// assert!(key.fits(SigningAlgorithm::EdDSA));
    /// assert!(!key.fits(SigningAlgorithm::ES256), "wrong key type");
    /// assert!(!key.fits(SigningAlgorithm::RS256));
    /// ```
    pub fn fits(&self, alg: SigningAlgorithm) -> bool {
        self.kty == alg.key_type()
            && alg.curve().is_none_or(|c| self.crv.as_deref() == Some(c))
            && self.alg.as_deref().is_none_or(|a| a == alg.name())
    }

    /// A key from a PEM-encoded public key, for static configuration.
    ///
    /// ```
    /// use axum_oidc_client::{JwkSet, KeyEntry, SigningAlgorithm};
    ///
    /// // An Ed25519 public key (RFC 8410 section 10.1).
    /// let pem = b"-----BEGIN PUBLIC KEY-----
    /// MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
    /// -----END PUBLIC KEY-----
    /// ";
    /// let key = KeyEntry::from_pem(Some("static-1".into()), SigningAlgorithm::EdDSA, pem).unwrap();
    /// assert!(key.fits(SigningAlgorithm::EdDSA));
    /// assert!(KeyEntry::from_pem(None, SigningAlgorithm::EdDSA, b"not a pem").is_none());
    /// let jwks = JwkSet::from_keys(vec![key]);
    /// assert!(jwks.by_kid("static-1").is_some());
    /// ```
    pub fn from_pem(kid: Option<String>, alg: SigningAlgorithm, pem: &[u8]) -> Option<Self> {
        let decoding_key = match alg.key_type() {
            "RSA" => DecodingKey::from_rsa_pem(pem).ok()?,
            "EC" => DecodingKey::from_ec_pem(pem).ok()?,
            _ => DecodingKey::from_ed_pem(pem).ok()?,
        };
        Some(Self {
            kid,
            kty: alg.key_type().to_owned(),
            crv: alg.curve().map(str::to_owned),
            alg: Some(alg.name().to_owned()),
            decoding_key,
        })
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// A parsed JWK Set holding only the keys usable for signature verification.
///
/// ```
/// use axum_oidc_client::{JwkSet, JwksCache};
///
/// // Encryption and HMAC keys are skipped; the Ed25519 signature key is kept.
/// let jwks = JwkSet::parse(br#"{"keys": [
///     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
///      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
///      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
/// ]}"#)
/// .unwrap();
/// assert_eq!(jwks.len(), 1);
/// // Verify against fixed keys, e.g. in tests or for a provider without a JWKS URI.
/// let cache = JwksCache::fixed(jwks);
/// # let _ = cache;
/// ```
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<KeyEntry>,
}

impl JwkSet {
    /// Parses a JWKS document. Keys that are not signature keys or of an unsupported
    /// type are skipped, so one exotic key does not break the others.
    ///
    /// ```
    /// use axum_oidc_client::{JwkSet, JwksError};
    ///
    /// let jwks = JwkSet::parse(br#"{"keys": [
    ///     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
    ///      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    ///     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
    ///      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    ///     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    /// ]}"#)
    /// .unwrap();
    /// assert_eq!(jwks.iter().filter_map(|k| k.kid.as_deref()).collect::<Vec<_>>(), ["k1"]);
    /// assert!(matches!(JwkSet::parse(b"[]"), Err(JwksError::Invalid)));
    /// ```
    pub fn parse(body: &[u8]) -> Result<Self, JwksError> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        if body.len() > MAX_JWKS_LEN {
            return Err(JwksError::Invalid);
        }
        let doc: Doc = serde_json::from_slice(body).map_err(|_| JwksError::Invalid)?;
        let keys = doc
            .keys
            .into_iter()
            .filter_map(|v| serde_json::from_value::<RawJwk>(v).ok())
            .filter_map(Self::entry)
            .collect();
        Ok(Self { keys })
    }

    /// A set made of the given keys.
    ///
    /// ```
    /// use axum_oidc_client::{JwkSet, KeyEntry, SigningAlgorithm};
    ///
    /// let pem = b"-----BEGIN PUBLIC KEY-----
    /// MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
    /// -----END PUBLIC KEY-----
    /// ";
    /// let key = KeyEntry::from_pem(Some("k1".into()), SigningAlgorithm::EdDSA, pem).unwrap();
    /// let jwks = JwkSet::from_keys(vec![key]);
    /// assert_eq!(jwks.len(), 1);
    /// ```
    pub fn from_keys(keys: Vec<KeyEntry>) -> Self {
        Self { keys }
    }

    fn entry(raw: RawJwk) -> Option<KeyEntry> {
        if raw.use_.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        if raw
            .alg
            .as_deref()
            .is_some_and(|a| SigningAlgorithm::from_name(a).is_none())
        {
            return None;
        }
        let decoding_key = match raw.kty.as_str() {
            "RSA" => DecodingKey::from_rsa_components(raw.n.as_deref()?, raw.e.as_deref()?).ok()?,
            "EC" => DecodingKey::from_ec_components(raw.x.as_deref()?, raw.y.as_deref()?).ok()?,
            "OKP" if raw.crv.as_deref() == Some("Ed25519") => {
                DecodingKey::from_ed_components(raw.x.as_deref()?).ok()?
            }
            _ => return None,
        };
        Some(KeyEntry {
            kid: raw.kid,
            kty: raw.kty,
            crv: raw.crv,
            alg: raw.alg,
            decoding_key,
        })
    }

    /// The key with this `kid`.
    ///
    /// ```
    /// use axum_oidc_client::JwkSet;
    /// # let jwks = JwkSet::parse(br#"{"keys": [
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    /// # ]}"#)
    /// # .unwrap();
    /// assert!(jwks.by_kid("k1").is_some());
    /// assert!(jwks.by_kid("enc").is_none(), "not a signature key");
    /// assert!(jwks.by_kid("unknown").is_none());
    /// ```
    pub fn by_kid(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }

    /// All keys.
    ///
    /// ```
    /// use axum_oidc_client::{JwkSet, SigningAlgorithm};
    /// # let jwks = JwkSet::parse(br#"{"keys": [
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    /// # ]}"#)
    /// # .unwrap();
    /// assert!(jwks.iter().any(|k| k.fits(SigningAlgorithm::EdDSA)));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.iter()
    }

    /// Number of usable keys.
    ///
    /// ```
    /// use axum_oidc_client::JwkSet;
    /// # let jwks = JwkSet::parse(br#"{"keys": [
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    /// # ]}"#)
    /// # .unwrap();
    /// assert_eq!(jwks.len(), 1, "the encryption and HMAC keys are not counted");
    /// ```
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no usable key.
    ///
    /// ```
    /// use axum_oidc_client::JwkSet;
    ///
    /// assert!(JwkSet::parse(br#"{"keys": []}"#).unwrap().is_empty());
    /// assert!(JwkSet::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_encryption_keys_and_unknown_types() {
        let doc = br#"{"keys":[
            {"kty":"RSA","use":"enc","kid":"e","n":"AQAB","e":"AQAB"},
            {"kty":"oct","kid":"s","k":"c2VjcmV0"},
            {"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}"#;
        let set = JwkSet::parse(doc).unwrap();
        assert_eq!(set.len(), 1);
        assert!(
            set.by_kid("ec")
                .is_some_and(|k| k.fits(SigningAlgorithm::ES256))
        );
        assert!(!set.by_kid("ec").unwrap().fits(SigningAlgorithm::ES384));
        assert!(!set.by_kid("ec").unwrap().fits(SigningAlgorithm::RS256));
    }

    #[test]
    fn rejects_documents_that_are_not_key_sets() {
        assert!(JwkSet::parse(b"[]").is_err());
        assert!(JwkSet::parse(b"{\"keys\":3}").is_err());
        assert!(JwkSet::parse(&vec![b' '; MAX_JWKS_LEN + 1]).is_err());
    }
}
