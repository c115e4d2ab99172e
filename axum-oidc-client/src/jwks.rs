//! The provider's signing keys: parsing a JWK Set (RFC 7517 section 5) and a shared,
//! rate-limited cache that refetches when a token names an unknown `kid`
//! (OIDC Core 10.1.1).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use crate::jose::{JoseError, SigningAlgorithm, UnverifiedJws};

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

/// Why a token's signature could not be established.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The token itself is bad.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// The keys could not be fetched (a provider fault, not the token's).
    #[error(transparent)]
    Keys(#[from] JwksError),
}

struct Cached {
    keys: Arc<JwkSet>,
    fetched_at: Option<Instant>,
}

struct Inner {
    uri: Option<url::Url>,
    http: reqwest::Client,
    cached: RwLock<Cached>,
    refetch: tokio::sync::Mutex<()>,
    min_refetch_interval: Duration,
    max_age: Duration,
}

/// A shared cache of one issuer's keys, used by the login side and the bearer layer.
///
/// - Keys are fetched on first use and kept for `max_age` (default one hour).
/// - A token with an unknown `kid` triggers one refetch, at most once per
///   `min_refetch_interval` (default 10 s), so forged `kid`s cannot make the library
///   hammer the provider. Concurrent refetches are merged into one.
/// - Tokens in flight keep verifying with the old keys while a rotation is fetched.
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("uri", &self.inner.uri.as_ref().map(url::Url::as_str))
            .finish()
    }
}

impl JwksCache {
    /// A cache that fetches from `uri` with `http`.
    pub fn new(uri: url::Url, http: reqwest::Client) -> Self {
        Self::build(Some(uri), http, JwkSet::default())
    }

    /// A cache over fixed keys that never fetches.
    pub fn fixed(keys: JwkSet) -> Self {
        Self::build(None, reqwest::Client::new(), keys)
    }

    fn build(uri: Option<url::Url>, http: reqwest::Client, keys: JwkSet) -> Self {
        let fetched_at = uri.is_none().then(Instant::now);
        Self {
            inner: Arc::new(Inner {
                uri,
                http,
                cached: RwLock::new(Cached {
                    keys: Arc::new(keys),
                    fetched_at,
                }),
                refetch: tokio::sync::Mutex::new(()),
                min_refetch_interval: Duration::from_secs(10),
                max_age: Duration::from_secs(3600),
            }),
        }
    }

    /// Sets the minimum time between two refetches triggered by unknown `kid`s.
    #[must_use]
    pub fn with_min_refetch_interval(self, interval: Duration) -> Self {
        self.rebuild(|i| i.min_refetch_interval = interval)
    }

    /// Sets how long fetched keys are used before they are fetched again.
    #[must_use]
    pub fn with_max_age(self, max_age: Duration) -> Self {
        self.rebuild(|i| i.max_age = max_age)
    }

    fn rebuild(self, f: impl FnOnce(&mut Inner)) -> Self {
        let Ok(mut inner) = Arc::try_unwrap(self.inner) else {
            panic!("JwksCache settings must be applied before the cache is shared");
        };
        f(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The JWKS URI, if keys are fetched.
    pub fn uri(&self) -> Option<&url::Url> {
        self.inner.uri.as_ref()
    }

    fn snapshot(&self) -> (Arc<JwkSet>, Option<Instant>) {
        let c = self.inner.cached.read().unwrap_or_else(|p| p.into_inner());
        (c.keys.clone(), c.fetched_at)
    }

    /// The current keys, fetching them first if none were fetched or they are stale.
    pub async fn keys(&self) -> Result<Arc<JwkSet>, JwksError> {
        let (keys, fetched_at) = self.snapshot();
        match fetched_at {
            Some(at) if at.elapsed() < self.inner.max_age => Ok(keys),
            Some(_) => Ok(self
                .refetch(fetched_at, Duration::ZERO)
                .await
                .unwrap_or(keys)),
            None => self.refetch(None, Duration::ZERO).await,
        }
    }

    /// Fetches now unless another task already did since `seen`, or the last fetch is
    /// younger than `min_interval`.
    async fn refetch(
        &self,
        seen: Option<Instant>,
        min_interval: Duration,
    ) -> Result<Arc<JwkSet>, JwksError> {
        let Some(uri) = self.inner.uri.clone() else {
            return Ok(self.snapshot().0);
        };
        let _guard = self.inner.refetch.lock().await;
        let (keys, fetched_at) = self.snapshot();
        if fetched_at != seen || fetched_at.is_some_and(|at| at.elapsed() < min_interval) {
            return Ok(keys);
        }
        let fresh = Arc::new(fetch(&self.inner.http, uri).await?);
        tracing::debug!(keys = fresh.len(), "fetched JWKS");
        let mut c = self.inner.cached.write().unwrap_or_else(|p| p.into_inner());
        c.keys = fresh.clone();
        c.fetched_at = Some(Instant::now());
        Ok(fresh)
    }

    /// Verifies the signature of `jws`, refetching the keys once (rate-limited) when
    /// its `kid` is unknown (OIDC Core 10.1.1).
    pub async fn verify(&self, jws: &UnverifiedJws<'_>) -> Result<(), SignatureError> {
        let keys = self.keys().await?;
        match jws.verify(&keys) {
            Err(JoseError::UnknownKid) => {
                let (_, seen) = self.snapshot();
                let keys = self.refetch(seen, self.inner.min_refetch_interval).await?;
                Ok(jws.verify(&keys)?)
            }
            other => Ok(other?),
        }
    }
}

async fn fetch(http: &reqwest::Client, uri: url::Url) -> Result<JwkSet, JwksError> {
    let resp = http
        .get(uri)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(JwksError::Http)?;
    if !resp.status().is_success() {
        return Err(JwksError::Status(resp.status().as_u16()));
    }
    let body = crate::http_util::read_limited(resp, MAX_JWKS_LEN)
        .await
        .map_err(|_| JwksError::Invalid)?;
    JwkSet::parse(&body)
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
