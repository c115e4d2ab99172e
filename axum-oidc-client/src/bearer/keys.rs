//! Per-issuer verification keys: public keys through a [`JwksCache`], or a shared
//! HMAC secret on its own path.
//!
//! The two never mix (RFC 8725 section 2.1, "algorithm confusion"): an issuer
//! configured with public keys accepts only the asymmetric algorithms
//! [`SigningAlgorithm`] can express, and an issuer configured with a secret accepts
//! only its one [`HmacAlgorithm`]. A public key can therefore never be used as an
//! HMAC secret.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};

use super::error::BearerError;
use crate::config::ConfigError;
use crate::config::ProviderCell;
use crate::jose::{CompactJws, JoseError, SigningAlgorithm};
use crate::jose::{JwkSet, JwksCache, JwksError, KeyEntry, SignatureError};

/// An HMAC algorithm (RFC 7518 section 3.2), usable only with
/// [`with_hmac_secret`](super::JwtConfigurationBuilder::with_hmac_secret).
///
/// ```
/// use axum_oidc_client::bearer::HmacAlgorithm;
/// assert_eq!(HmacAlgorithm::HS256.name(), "HS256");
/// assert_eq!(HmacAlgorithm::HS512.min_secret_len(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HmacAlgorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
}

impl HmacAlgorithm {
    /// The JOSE `alg` name.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::HmacAlgorithm;
    /// assert_eq!(HmacAlgorithm::HS384.name(), "HS384");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
        }
    }

    /// The shortest secret accepted: the hash output size (RFC 7518 section 3.2).
    ///
    /// ```
    /// # use axum_oidc_client::bearer::HmacAlgorithm;
    /// assert_eq!(HmacAlgorithm::HS256.min_secret_len(), 32);
    /// ```
    pub fn min_secret_len(self) -> usize {
        match self {
            Self::HS256 => 32,
            Self::HS384 => 48,
            Self::HS512 => 64,
        }
    }

    fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::HS384 => Algorithm::HS384,
            Self::HS512 => Algorithm::HS512,
        }
    }
}

impl std::fmt::Display for HmacAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An HMAC secret with a redacted `Debug`.
#[derive(Clone)]
pub(crate) struct HmacSecret(pub(crate) Vec<u8>);

impl std::fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSecret([redacted])")
    }
}

/// How one issuer's tokens are verified.
#[derive(Clone)]
pub(crate) enum IssuerKeys {
    /// Public keys, fetched and rotated through a (possibly shared) cache.
    Jwks {
        cache: JwksCache,
        algorithms: Arc<[SigningAlgorithm]>,
    },
    /// The login configuration's provider: the key cache it was last discovered with
    /// (none until its discovery succeeds).
    Login {
        provider: ProviderCell,
        algorithms: Arc<[SigningAlgorithm]>,
    },
    /// A shared secret, for exactly one HMAC algorithm.
    Hmac {
        algorithm: HmacAlgorithm,
        key: DecodingKey,
    },
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Jwks { cache, algorithms } => f
                .debug_struct("Jwks")
                .field("cache", cache)
                .field("algorithms", algorithms)
                .finish(),
            Self::Login {
                provider,
                algorithms,
            } => f
                .debug_struct("Login")
                .field("issuer", &provider.issuer())
                .field("algorithms", algorithms)
                .finish(),
            Self::Hmac { algorithm, .. } => f
                .debug_struct("Hmac")
                .field("algorithm", algorithm)
                .finish_non_exhaustive(),
        }
    }
}

/// One trusted issuer.
#[derive(Debug, Clone)]
pub(crate) struct Issuer {
    /// The exact `iss` value, or the template of a multi-tenant issuer.
    pub(crate) iss: Arc<str>,
    /// A multi-tenant issuer: `iss` is this template filled with the token's `tid`.
    pub(crate) template: Option<Arc<crate::issuer::IssuerTemplate>>,
    pub(crate) keys: IssuerKeys,
}

impl IssuerKeys {
    /// The key cache of public keys, if this issuer has one now.
    pub(crate) fn cache(&self) -> Result<Option<JwksCache>, JwksError> {
        match self {
            Self::Jwks { cache, .. } => Ok(Some(cache.clone())),
            Self::Login { provider, .. } => provider
                .get()
                .and_then(|p| p.jwks.clone())
                .map(Some)
                .ok_or(JwksError::NotDiscovered),
            Self::Hmac { .. } => Ok(None),
        }
    }

    /// Checks the algorithm against this issuer's allow-list and the signature with its
    /// keys. Returns the key set used, when there is one, so callers can tell later
    /// whether the keys have rotated since.
    pub(crate) async fn verify(
        &self,
        parts: &CompactJws<'_>,
    ) -> Result<Option<Arc<JwkSet>>, BearerError> {
        match self {
            Self::Jwks { algorithms, .. } | Self::Login { algorithms, .. } => {
                let jws = parts.with_allowed(algorithms)?;
                let cache = match self.cache() {
                    Ok(Some(cache)) => cache,
                    Ok(None) => return Err(BearerError::KeysUnavailable(JwksError::NoSource)),
                    Err(e) => return Err(BearerError::KeysUnavailable(e)),
                };
                let keys = cache.keys().await.map_err(BearerError::KeysUnavailable)?;
                cache.verify(&jws).await.map_err(|e| match e {
                    SignatureError::Jose(j) => BearerError::Jose(j),
                    SignatureError::Keys(k) => BearerError::KeysUnavailable(k),
                })?;
                Ok(Some(keys))
            }
            Self::Hmac { algorithm, key } => {
                if parts.header.alg != algorithm.name() {
                    return Err(JoseError::alg_not_allowed(&parts.header.alg).into());
                }
                // aws-lc-rs compares the MAC in constant time.
                match jsonwebtoken::crypto::verify(
                    parts.signature,
                    parts.signing_input.as_bytes(),
                    key,
                    algorithm.to_jsonwebtoken(),
                ) {
                    Ok(true) => Ok(None),
                    Ok(false) | Err(_) => Err(BearerError::Jose(JoseError::BadSignature)),
                }
            }
        }
    }
}

/// A static key as given to the builder, parsed by `build`.
#[derive(Debug)]
pub(crate) enum StaticKey {
    Pem {
        kid: Option<String>,
        alg: SigningAlgorithm,
        pem: Vec<u8>,
    },
    Json(String),
}

/// Parses the static keys of `issuer` into a key set.
pub(crate) fn static_keys(issuer: &str, keys: &[StaticKey]) -> Result<JwkSet, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidKey {
        issuer: issuer.to_owned(),
        reason,
    };
    let mut entries = Vec::new();
    for key in keys {
        match key {
            StaticKey::Pem { kid, alg, pem } => entries.push(
                KeyEntry::from_pem(kid.clone(), *alg, pem)
                    .ok_or_else(|| invalid(format!("not a PEM public key for {alg}")))?,
            ),
            StaticKey::Json(json) => {
                let value: serde_json::Value =
                    serde_json::from_str(json).map_err(|e| invalid(format!("not JSON: {e}")))?;
                let doc = if value.get("keys").is_some() {
                    value
                } else {
                    serde_json::json!({ "keys": [value] })
                };
                let bytes = serde_json::to_vec(&doc).map_err(|e| invalid(e.to_string()))?;
                let set = JwkSet::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
                entries.extend(set.iter().cloned());
            }
        }
    }
    if entries.is_empty() {
        return Err(ConfigError::NoUsableKeys(issuer.to_owned()));
    }
    Ok(JwkSet::from_keys(entries))
}
