//! DPoP on the bearer layer (RFC 9449 section 7): [`DpopPolicy`], and the check of
//! one request's `Authorization` and `DPoP` headers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::OriginalUri;
use http::Request;
use serde::Deserialize;

use super::error::{BearerError, DpopChallenge};
use super::header::{Credentials, credentials};
use super::{JwtConfiguration, VerifiedJwt};
use crate::config::ConfigError;
use crate::dpop::{DpopError, ProofRequest, ProofRules, remember_jti, request_htu, verify_proof};
use crate::jose::SigningAlgorithm;
use crate::secret::constant_time_eq;
use crate::store::SharedStore;

/// Default age a proof's `iat` may have, on top of the leeway.
pub const DEFAULT_DPOP_MAX_AGE: Duration = Duration::from_secs(60);

/// Largest proof age accepted by [`DpopPolicy::with_max_age`].
pub const MAX_DPOP_MAX_AGE: Duration = Duration::from_secs(300);

/// The proof algorithms accepted by default (RFC 9449 section 4.3 check 5): the
/// asymmetric ones a client is likely to use.
const DEFAULT_ALGORITHMS: [SigningAlgorithm; 4] = [
    SigningAlgorithm::ES256,
    SigningAlgorithm::PS256,
    SigningAlgorithm::RS256,
    SigningAlgorithm::EdDSA,
];

/// How the bearer layer treats DPoP-bound access tokens (RFC 9449 section 7), set
/// with [`JwtConfigurationBuilder::with_dpop`](super::JwtConfigurationBuilder::with_dpop).
///
/// - [`required`](Self::required): only `Authorization: DPoP <token>` with a valid
///   `DPoP` proof is accepted; the token must carry `cnf.jkt`, the thumbprint of
///   the proof's key. Challenges use the `DPoP` scheme with `algs` (section 7.1).
/// - [`allowed`](Self::allowed): DPoP as above, and plain bearer tokens too, as long
///   as they are not DPoP-bound.
///
/// In both modes (and without any policy) a token with `cnf.jkt` presented with the
/// `Bearer` scheme is refused: it is bound to a key the caller has not proven
/// (section 7.2).
///
/// Each proof's `jti` is recorded in `store` ([`AuthCache::insert_once`](crate::AuthCache::insert_once))
/// for the proof's lifetime, so a proof replayed at any instance sharing the store
/// is refused (section 11.1). A failing store answers 503.
///
/// ```
/// use std::sync::Arc;
/// use axum_oidc_client::MemoryStore;
/// use axum_oidc_client::bearer::{DpopPolicy, HmacAlgorithm, JwtConfiguration};
///
/// let config = JwtConfiguration::builder()
///     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
///     .with_audience("api")
///     .with_dpop(DpopPolicy::required(Arc::new(MemoryStore::default())))
///     .with_dpop_origin("https://api.example")
///     .build()?;
/// # let _ = config;
/// # Ok::<(), axum_oidc_client::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct DpopPolicy {
    store: SharedStore,
    required: bool,
    max_age: Duration,
    algorithms: Vec<SigningAlgorithm>,
}

impl std::fmt::Debug for DpopPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopPolicy")
            .field("required", &self.required)
            .field("max_age", &self.max_age)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl DpopPolicy {
    /// Requires DPoP: `Authorization: DPoP` with a proof, on every token.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use axum_oidc_client::{MemoryStore, bearer::DpopPolicy};
    /// let policy = DpopPolicy::required(Arc::new(MemoryStore::default()));
    /// # let _ = policy;
    /// ```
    pub fn required(store: SharedStore) -> Self {
        Self {
            store,
            required: true,
            max_age: DEFAULT_DPOP_MAX_AGE,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
        }
    }

    /// Accepts DPoP, and bearer tokens that are not DPoP-bound.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use axum_oidc_client::{MemoryStore, bearer::DpopPolicy};
    /// let policy = DpopPolicy::allowed(Arc::new(MemoryStore::default()));
    /// # let _ = policy;
    /// ```
    pub fn allowed(store: SharedStore) -> Self {
        Self {
            required: false,
            ..Self::required(store)
        }
    }

    /// How old a proof's `iat` may be (default 60 s, at most 300 s); the layer's
    /// leeway is added both ways (RFC 9449 section 4.3 check 11, section 11.1).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_oidc_client::{MemoryStore, bearer::DpopPolicy};
    /// let policy = DpopPolicy::required(Arc::new(MemoryStore::default()))
    ///     .with_max_age(std::time::Duration::from_secs(30));
    /// # let _ = policy;
    /// ```
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The proof algorithms accepted (default ES256, PS256, RS256, EdDSA). `none`
    /// and HMAC cannot be listed (RFC 9449 section 4.3 check 5).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_oidc_client::{MemoryStore, SigningAlgorithm, bearer::DpopPolicy};
    /// let policy = DpopPolicy::required(Arc::new(MemoryStore::default()))
    ///     .with_algorithms([SigningAlgorithm::ES256]);
    /// # let _ = policy;
    /// ```
    pub fn with_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = SigningAlgorithm>,
    ) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Validates the policy against the layer's settings.
    pub(crate) fn build(
        self,
        origin: Option<String>,
        audiences: &[String],
        leeway: Duration,
    ) -> Result<DpopSettings, ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if self.max_age.is_zero() || self.max_age > MAX_DPOP_MAX_AGE {
            return Err(ConfigError::Invalid {
                name: "DpopPolicy::with_max_age",
                reason: format!("{} s is outside 1..=300 s", self.max_age.as_secs()),
            });
        }
        let origin = match origin {
            Some(o) => {
                if request_htu(&o, "/").is_none() {
                    return Err(ConfigError::InvalidUrl {
                        name: "with_dpop_origin",
                        value: o,
                    });
                }
                o.trim_end_matches('/').to_owned()
            }
            None => audiences
                .iter()
                .find_map(|a| origin_of(a))
                .ok_or(ConfigError::Missing("with_dpop_origin"))?,
        };
        let algs = self
            .algorithms
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(DpopSettings {
            store: self.store,
            required: self.required,
            rules: ProofRules {
                algorithms: self.algorithms.into(),
                max_age: i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX),
                leeway: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
            },
            origin: origin.into(),
            challenge: Arc::new(DpopChallenge {
                algs,
                required: self.required,
            }),
        })
    }
}

/// The scheme, host and port of an http(s) audience, e.g. `https://api.example`.
fn origin_of(audience: &str) -> Option<String> {
    let url = url::Url::parse(audience).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// The validated DPoP settings of a [`JwtConfiguration`].
#[derive(Clone)]
pub(crate) struct DpopSettings {
    store: SharedStore,
    pub(crate) required: bool,
    rules: ProofRules,
    origin: Arc<str>,
    /// What the challenges say: `algs` (RFC 9449 section 7.1) and the mode.
    pub(crate) challenge: Arc<DpopChallenge>,
}

impl std::fmt::Debug for DpopSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopSettings")
            .field("required", &self.required)
            .field("origin", &self.origin)
            .field("algs", &self.challenge.algs)
            .finish_non_exhaustive()
    }
}

/// Only the confirmation claim (RFC 7800 section 3.1, RFC 9449 section 6.1).
#[derive(Deserialize)]
struct Confirmation {
    cnf: Option<Cnf>,
}

#[derive(Deserialize)]
struct Cnf {
    jkt: Option<String>,
}

/// The token's `cnf.jkt`, when it is DPoP-bound.
fn bound_jkt(jwt: &VerifiedJwt) -> Option<String> {
    jwt.claims::<Confirmation>().ok()?.cnf?.jkt
}

/// The parts of a request the checks read (a `&Request<Body>` cannot be held across
/// an `await` in a `Send` future: the body is not `Sync`).
#[derive(Clone, Copy)]
pub(crate) struct RequestView<'a> {
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) method: &'a http::Method,
    pub(crate) uri: &'a http::Uri,
    pub(crate) extensions: &'a http::Extensions,
}

impl<'a> RequestView<'a> {
    pub(crate) fn of(req: &'a Request<Body>) -> Self {
        Self {
            headers: req.headers(),
            method: req.method(),
            uri: req.uri(),
            extensions: req.extensions(),
        }
    }
}

/// Verifies the request's access token, and its DPoP proof when it comes with the
/// `DPoP` scheme, in the order of RFC 9449 section 7.1: the token (every rule of
/// [`JwtConfiguration::verify`]), then the proof (section 4.3, `ath` included),
/// then the binding (`cnf.jkt` equals the proof key's thumbprint), and last the
/// `jti`, recorded in the store only once everything else passed.
pub(crate) async fn verify_request(
    config: &JwtConfiguration,
    req: RequestView<'_>,
) -> Result<VerifiedJwt, BearerError> {
    let dpop = config.inner.dpop.as_ref();
    match credentials(req.headers)?.unless_dpop_enabled(dpop.is_some()) {
        Credentials::Bearer(_) if dpop.is_some_and(|d| d.required) => {
            Err(DpopError::DpopRequired.into())
        }
        Credentials::Bearer(token) => {
            let jwt = config.verify(token).await?;
            if bound_jkt(&jwt).is_some() {
                return Err(DpopError::BoundTokenAsBearer.into());
            }
            Ok(jwt)
        }
        Credentials::Dpop(token) => {
            let Some(dpop) = dpop else {
                return Err(BearerError::UnsupportedScheme);
            };
            let jwt = config.verify(token).await?;
            // The path before any `Router::nest` stripped its prefix.
            let path = req
                .extensions
                .get::<OriginalUri>()
                .map_or_else(|| req.uri.path(), |u| u.0.path());
            let htu = request_htu(&dpop.origin, path).ok_or(DpopError::WrongUri)?;
            let request = ProofRequest {
                method: req.method,
                htu: &htu,
                access_token: Some(token),
            };
            let now = config.inner.clock.now();
            let proof = verify_proof(req.headers, request, &dpop.rules, now)?;
            let jkt = bound_jkt(&jwt).ok_or(DpopError::UnboundToken)?;
            if !constant_time_eq(jkt.as_bytes(), proof.jkt.as_bytes()) {
                return Err(DpopError::KeyMismatch.into());
            }
            remember_jti(&*dpop.store, &proof, dpop.rules.replay_window()).await?;
            Ok(jwt)
        }
        Credentials::None | Credentials::OtherScheme => Err(BearerError::MissingToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use crate::bearer::HmacAlgorithm;
    use axum::response::IntoResponse;

    #[test]
    fn the_origin_of_an_url_audience_is_its_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://API.example:8443/orders").as_deref(),
            Some("https://api.example:8443")
        );
        assert_eq!(
            origin_of("https://api.example:443/").as_deref(),
            Some("https://api.example")
        );
        assert_eq!(origin_of("orders-api"), None);
        assert_eq!(origin_of("urn:api:orders"), None);
    }

    #[test]
    fn where_dpop_is_required_every_challenge_uses_the_dpop_scheme() {
        let config = JwtConfiguration::builder()
            .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
            .with_audience("api")
            .with_dpop(
                DpopPolicy::required(Arc::new(MemoryStore::default()))
                    .with_algorithms([SigningAlgorithm::ES256]),
            )
            .with_dpop_origin("https://api.example")
            .build()
            .unwrap();
        let r = config.reject(BearerError::Expired).into_response();
        assert_eq!(
            r.headers()[http::header::WWW_AUTHENTICATE],
            "DPoP realm=\"api\", error=\"invalid_token\", \
             error_description=\"the access token expired\", algs=\"ES256\""
        );
    }
}
