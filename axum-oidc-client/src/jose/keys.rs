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
    pub fn fits(&self, alg: SigningAlgorithm) -> bool {
        self.kty == alg.key_type()
            && alg.curve().is_none_or(|c| self.crv.as_deref() == Some(c))
            && self.alg.as_deref().is_none_or(|a| a == alg.name())
    }

    /// A key from a PEM-encoded public key, for static configuration.
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
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<KeyEntry>,
}

impl JwkSet {
    /// Parses a JWKS document. Keys that are not signature keys or of an unsupported
    /// type are skipped, so one exotic key does not break the others.
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
    pub fn by_kid(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }

    /// All keys.
    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.iter()
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no usable key.
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
