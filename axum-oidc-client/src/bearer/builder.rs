//! [`JwtConfigurationBuilder`]: every option of the bearer layer, with defaults.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use url::Url;

use super::JwtConfiguration;
use super::claims::MAX_REQUIRED_CLAIMS;
use super::config::{Inner, spawn_refresh};
use super::error::BearerConfigError;
use super::keys::{HmacAlgorithm, HmacSecret, Issuer, IssuerKeys, StaticKey, static_keys};
use super::token_cache::{DEFAULT_CAPACITY, TokenCache};
use super::validate::{ClaimRules, RFC9068_CLAIMS};
use crate::config::{Clock, OAuthConfiguration, url_is_acceptable};
use crate::discovery::discover;
use crate::jose::SigningAlgorithm;
use crate::jwks::JwksCache;

/// Default clock skew tolerated for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// Largest leeway accepted.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Default `realm` of the `WWW-Authenticate` challenges.
pub const DEFAULT_REALM: &str = "api";

/// Builds a [`JwtConfiguration`]. Setters never fail; everything is checked by
/// [`build`](Self::build), whose error names the bad input.
///
/// Each trusted issuer gets exactly one key source:
///
/// | method | keys |
/// |---|---|
/// | [`with_issuer`](Self::with_issuer) | discovered `jwks_uri` (async) |
/// | [`with_jwks_uri`](Self::with_jwks_uri) | a JWKS URL |
/// | [`with_jwks_cache`](Self::with_jwks_cache), [`with_oauth_configuration`](Self::with_oauth_configuration) | an existing, shared [`JwksCache`] |
/// | [`with_public_key_pem`](Self::with_public_key_pem), [`with_jwks_json`](Self::with_jwks_json) | static public keys |
/// | [`with_hmac_secret`](Self::with_hmac_secret) | a shared secret, HS256/384/512 only |
///
/// | option | default |
/// |---|---|
/// | audiences | none: at least one is required |
/// | algorithms (public-key issuers) | every [`SigningAlgorithm`] |
/// | leeway | 60 s (at most 300 s) |
/// | required claims | `iss`, `exp` (+ `aud` with audiences) |
/// | RFC 9068 profile | off |
/// | realm | `api` |
/// | verified-token cache | 10 000 entries, 5 min |
/// | JWKS refetch on unknown `kid` | at most every 10 s |
///
/// ```
/// use axum_oidc_client::SigningAlgorithm;
/// use axum_oidc_client::bearer::JwtConfigurationBuilder;
///
/// let config = JwtConfigurationBuilder::new()
///     .with_jwks_uri("https://login.example", "https://login.example/jwks")
///     .with_audience("https://api.example")
///     .with_algorithms([SigningAlgorithm::RS256, SigningAlgorithm::ES256])
///     .with_required_claims(["sub", "scope"])
///     .with_leeway(std::time::Duration::from_secs(30))
///     .build()?;
/// # let _ = config;
/// # Ok::<(), axum_oidc_client::bearer::BearerConfigError>(())
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct JwtConfigurationBuilder {
    issuers: Vec<IssuerSpec>,
    audiences: Vec<String>,
    skip_audience: bool,
    algorithms: Option<Vec<SigningAlgorithm>>,
    leeway: Option<Duration>,
    required: Vec<String>,
    rfc9068: bool,
    accept_id_tokens: bool,
    realm: Option<String>,
    clock: Option<Clock>,
    http: Option<reqwest::Client>,
    insecure_http: bool,
    refetch_interval: Option<Duration>,
    background_refresh: Option<Duration>,
    token_cache_capacity: Option<u64>,
    pending: Option<BearerConfigError>,
}

#[derive(Debug)]
struct IssuerSpec {
    issuer: String,
    source: Source,
}

#[derive(Debug)]
enum Source {
    JwksUri(String),
    Cache(JwksCache),
    Static(Vec<StaticKey>),
    Hmac {
        algorithm: HmacAlgorithm,
        secret: HmacSecret,
    },
}

impl JwtConfigurationBuilder {
    /// An empty builder.
    ///
    /// ```
    /// let b = axum_oidc_client::bearer::JwtConfigurationBuilder::new();
    /// # let _ = b;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `issuer` with the keys at the `jwks_uri` of its discovery document
    /// (OIDC Discovery 1.0 section 4; the document's `issuer` must equal `issuer`
    /// exactly). HTTP options (`with_http_client`, `insecure_allow_http`) must be set
    /// before.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::bearer::BearerConfigError> {
    /// use axum_oidc_client::bearer::JwtConfiguration;
    /// let config = JwtConfiguration::builder()
    ///     .with_issuer("https://login.example/realms/shop").await?
    ///     .with_audience("shop-api")
    ///     .build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub async fn with_issuer(
        mut self,
        issuer: impl Into<String>,
    ) -> Result<Self, BearerConfigError> {
        let issuer = issuer.into();
        let url =
            Url::parse(&issuer).map_err(|_| BearerConfigError::InvalidIssuer(issuer.clone()))?;
        if !self.insecure_http && !url_is_acceptable(&url) {
            return Err(BearerConfigError::InsecureUrl {
                name: "issuer",
                value: issuer,
            });
        }
        let http = self.http_client()?;
        let meta =
            discover(&http, &issuer)
                .await
                .map_err(|source| BearerConfigError::Discovery {
                    issuer: issuer.clone(),
                    source,
                })?;
        let Some(jwks_uri) = meta.jwks_uri else {
            return Err(BearerConfigError::NoJwksUri(issuer));
        };
        Ok(self.add(issuer, Source::JwksUri(jwks_uri.into())))
    }

    /// Trusts `issuer` with the keys published at `jwks_uri` (RFC 7517 section 5),
    /// fetched on first use and cached.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::JwtConfiguration;
    /// let b = JwtConfiguration::builder()
    ///     .with_jwks_uri("https://login.example", "https://login.example/.well-known/jwks.json");
    /// # let _ = b;
    /// ```
    pub fn with_jwks_uri(self, issuer: impl Into<String>, jwks_uri: impl Into<String>) -> Self {
        self.add(issuer.into(), Source::JwksUri(jwks_uri.into()))
    }

    /// Trusts `issuer` with the keys of an existing cache, for example the login
    /// side's ([`OAuthConfiguration::jwks`]), so both share one fetch and one
    /// rotation. The cache keeps its own refetch settings.
    ///
    /// ```
    /// use axum_oidc_client::bearer::JwtConfiguration;
    /// use axum_oidc_client::jwks::{JwkSet, JwksCache};
    ///
    /// let cache = JwksCache::fixed(JwkSet::default());
    /// let b = JwtConfiguration::builder().with_jwks_cache("https://login.example", cache);
    /// # let _ = b;
    /// ```
    pub fn with_jwks_cache(self, issuer: impl Into<String>, cache: JwksCache) -> Self {
        self.add(issuer.into(), Source::Cache(cache))
    }

    /// Trusts the login side's issuer with its key cache: shorthand for
    /// `with_jwks_cache(config.issuer(), config.jwks())`. [`build`](Self::build)
    /// fails with [`BearerConfigError::NoSharedKeys`] if the login configuration has
    /// no issuer or no keys (plain OAuth 2.0 mode).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_oidc_client::OAuthConfigurationBuilder;
    /// use axum_oidc_client::bearer::JwtConfiguration;
    ///
    /// let login = OAuthConfigurationBuilder::from_env().await?.build()?;
    /// let api = JwtConfiguration::builder()
    ///     .with_oauth_configuration(&login)
    ///     .with_audience("https://api.example")
    ///     .build()?;
    /// # let _ = api; Ok(()) }
    /// ```
    pub fn with_oauth_configuration(mut self, config: &OAuthConfiguration) -> Self {
        match (config.issuer(), config.jwks()) {
            (Some(issuer), Some(cache)) => self.with_jwks_cache(issuer, cache.clone()),
            _ => {
                self.pending.get_or_insert(BearerConfigError::NoSharedKeys);
                self
            }
        }
    }

    /// Adds a static public key for `issuer` in PEM (SubjectPublicKeyInfo, or PKCS#1
    /// for RSA). `kid` must match the tokens' `kid` header when they carry one.
    /// May be called several times for the same issuer.
    ///
    /// ```
    /// # use axum_oidc_client::SigningAlgorithm;
    /// # use axum_oidc_client::bearer::JwtConfiguration;
    /// let pem = b"-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n";
    /// let b = JwtConfiguration::builder()
    ///     .with_public_key_pem("my-issuer", Some("key-1"), SigningAlgorithm::ES256, pem);
    /// # let _ = b;
    /// ```
    pub fn with_public_key_pem(
        self,
        issuer: impl Into<String>,
        kid: Option<&str>,
        alg: SigningAlgorithm,
        pem: impl AsRef<[u8]>,
    ) -> Self {
        let key = StaticKey::Pem {
            kid: kid.map(str::to_owned),
            alg,
            pem: pem.as_ref().to_vec(),
        };
        self.add(issuer.into(), Source::Static(vec![key]))
    }

    /// Adds static public keys for `issuer` from JSON: a JWK Set document
    /// (`{"keys":[…]}`, RFC 7517 section 5) or a single JWK (section 4).
    /// Private and symmetric (`oct`) members are ignored: only public signature keys
    /// are used. May be called several times for the same issuer.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::JwtConfiguration;
    /// let jwk = r#"{"kty":"EC","crv":"P-256","kid":"k1",
    ///   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    /// let config = JwtConfiguration::builder()
    ///     .with_jwks_json("my-issuer", jwk)
    ///     .with_audience("api")
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), axum_oidc_client::bearer::BearerConfigError>(())
    /// ```
    pub fn with_jwks_json(self, issuer: impl Into<String>, json: impl Into<String>) -> Self {
        self.add(
            issuer.into(),
            Source::Static(vec![StaticKey::Json(json.into())]),
        )
    }

    /// Trusts `issuer` with a shared secret, for tokens signed with `algorithm` and
    /// no other (RFC 7518 section 3.2). This is the only way to accept HMAC tokens:
    /// the issuer then accepts nothing else, and issuers with public keys never
    /// accept HMAC (RFC 8725 section 2.1). The secret must be at least as long as the
    /// hash output, and must not be a PEM key.
    ///
    /// ```
    /// use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration};
    ///
    /// let secret = std::env::var("JWT_SECRET").unwrap_or_else(|_| "x".repeat(32));
    /// let config = JwtConfiguration::builder()
    ///     .with_hmac_secret("internal-gateway", HmacAlgorithm::HS256, secret)
    ///     .with_audience("billing")
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), axum_oidc_client::bearer::BearerConfigError>(())
    /// ```
    pub fn with_hmac_secret(
        self,
        issuer: impl Into<String>,
        algorithm: HmacAlgorithm,
        secret: impl AsRef<[u8]>,
    ) -> Self {
        let secret = HmacSecret(secret.as_ref().to_vec());
        self.add(issuer.into(), Source::Hmac { algorithm, secret })
    }

    fn add(mut self, issuer: String, source: Source) -> Self {
        match self.issuers.iter_mut().find(|s| s.issuer == issuer) {
            None => self.issuers.push(IssuerSpec { issuer, source }),
            Some(IssuerSpec {
                source: Source::Static(keys),
                ..
            }) if matches!(source, Source::Static(_)) => {
                if let Source::Static(more) = source {
                    keys.extend(more);
                }
            }
            Some(_) => {
                self.pending
                    .get_or_insert(BearerConfigError::ConflictingKeySources(issuer));
            }
        }
        self
    }

    /// Accepts tokens whose `aud` contains `audience` (RFC 7519 section 4.1.3,
    /// RFC 9068 section 4): usually the API's identifier at the provider. May be
    /// called several times; one match is enough.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_audience("https://api.example");
    /// # let _ = b;
    /// ```
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accepts each of `audiences` (see [`with_audience`](Self::with_audience)).
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_audiences(["orders", "https://api.example"]);
    /// # let _ = b;
    /// ```
    pub fn with_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Does not check `aud` at all. Insecure: a token issued for any other API of the
    /// same provider is then accepted here (RFC 8725 section 3.9). Without this call
    /// [`build`](Self::build) requires an audience.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.insecure_skip_audience();
    /// # let _ = b;
    /// ```
    pub fn insecure_skip_audience(mut self) -> Self {
        self.skip_audience = true;
        self
    }

    /// The signature algorithms accepted from public-key issuers (RFC 8725 section
    /// 3.1). `none` and HMAC cannot be listed; see
    /// [`with_hmac_secret`](Self::with_hmac_secret). Default: every
    /// [`SigningAlgorithm`].
    ///
    /// ```
    /// # use axum_oidc_client::SigningAlgorithm;
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_algorithms([SigningAlgorithm::RS256]);
    /// # let _ = b;
    /// ```
    pub fn with_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = SigningAlgorithm>,
    ) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Clock skew tolerated when checking `exp` and `nbf` (RFC 7519 sections 4.1.4,
    /// 4.1.5). Default 60 s, at most 300 s.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_leeway(std::time::Duration::from_secs(10));
    /// # let _ = b;
    /// ```
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Claims that every token must carry (present and not `null`), in addition to
    /// `iss` and `exp`. Presence only: the handler's claims type checks values.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_required_claims(["sub", "scope"]);
    /// # let _ = b;
    /// ```
    pub fn with_required_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required.extend(claims.into_iter().map(Into::into));
        self
    }

    /// Requires the JWT access token profile of RFC 9068: header `typ` `at+jwt` (or
    /// `application/at+jwt`, section 4) and the claims `iss`, `exp`, `aud`, `sub`,
    /// `client_id`, `iat` and `jti` (section 2.2). Default off, since many providers
    /// issue plain JWTs. Without it, tokens explicitly typed as another kind of JWT
    /// (`logout+jwt`, `dpop+jwt`...) are still refused.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_rfc9068_profile(true);
    /// # let _ = b;
    /// ```
    pub fn with_rfc9068_profile(mut self, required: bool) -> Self {
        self.rfc9068 = required;
        self
    }

    /// Accepts OpenID Connect ID tokens as access tokens. Insecure: an ID token is
    /// meant for the client that asked for it and reaches the browser (for example
    /// as `id_token_hint` in the RP-initiated logout redirect), so anyone who sees
    /// one could call the API with it.
    ///
    /// Without this call a token not typed `at+jwt` (RFC 9068 section 2.1) is refused
    /// with 401 `invalid_token` ([`BearerError::IdToken`](super::BearerError::IdToken))
    /// when it carries `nonce`, `at_hash` or `c_hash`, or `auth_time` with an `azp`
    /// among its audiences and no `scope` (OIDC Core 2, 3.1.3.6, 3.3.2.11).
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.insecure_accept_id_tokens();
    /// # let _ = b;
    /// ```
    pub fn insecure_accept_id_tokens(mut self) -> Self {
        self.accept_id_tokens = true;
        self
    }

    /// The `realm` of the `WWW-Authenticate: Bearer` challenges (RFC 6750 section 3).
    /// Printable ASCII without `"` or `\`. Default `api`.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_realm("orders");
    /// # let _ = b;
    /// ```
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Replaces the clock (tests).
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_clock(axum_oidc_client::Clock::manual(1_700_000_000));
    /// # let _ = b;
    /// ```
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The HTTP client for discovery and JWKS fetches. Default: 10 s timeout, no
    /// redirects.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_http_client(reqwest::Client::new());
    /// # let _ = b;
    /// ```
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Accepts plain-http issuer and JWKS URLs towards hosts other than this machine.
    /// Insecure: keys fetched over plain http can be replaced in transit.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.insecure_allow_http();
    /// # let _ = b;
    /// ```
    pub fn insecure_allow_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// Minimum time between two JWKS refetches triggered by unknown `kid`s, for the
    /// caches this builder creates (default 10 s; shared caches keep theirs).
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_jwks_refetch_interval(std::time::Duration::from_secs(30));
    /// # let _ = b;
    /// ```
    pub fn with_jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = Some(interval);
        self
    }

    /// Asks every fetched key cache for its keys every `interval` (at least 1 s) from
    /// a background task, so keys are fetched before the first request and usually
    /// refreshed (when older than the cache's one-hour maximum age) off the request
    /// path. The tasks stop when the last clone of the configuration is dropped.
    /// [`build`](Self::build) must then run inside a Tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use axum_oidc_client::bearer::JwtConfiguration;
    /// let config = JwtConfiguration::builder()
    ///     .with_jwks_uri("https://login.example", "https://login.example/jwks")
    ///     .with_audience("api")
    ///     .with_background_key_refresh(std::time::Duration::from_secs(300))
    ///     .build();
    /// # drop(config); }
    /// ```
    pub fn with_background_key_refresh(mut self, interval: Duration) -> Self {
        self.background_refresh = Some(interval);
        self
    }

    /// Entries of the verified-token cache (default 10 000; 0 disables it). A token
    /// seen again within five minutes skips the signature check; see the module
    /// docs for why this cannot accept anything a fresh verification would refuse.
    ///
    /// ```
    /// # let b = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// let b = b.with_token_cache_capacity(0);
    /// # let _ = b;
    /// ```
    pub fn with_token_cache_capacity(mut self, entries: u64) -> Self {
        self.token_cache_capacity = Some(entries);
        self
    }

    fn http_client(&mut self) -> Result<reqwest::Client, BearerConfigError> {
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("axum-oidc-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(BearerConfigError::Http)?;
        self.http = Some(http.clone());
        Ok(http)
    }

    /// Validates everything and builds the configuration.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{BearerConfigError, JwtConfiguration};
    /// let err = JwtConfiguration::builder()
    ///     .with_jwks_uri("https://login.example", "https://login.example/jwks")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, BearerConfigError::MissingAudience));
    /// ```
    pub fn build(mut self) -> Result<JwtConfiguration, BearerConfigError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.issuers.is_empty() {
            return Err(BearerConfigError::NoIssuer);
        }
        let audiences = dedup(std::mem::take(&mut self.audiences));
        if let Some(bad) = audiences.iter().find(|a| a.is_empty()) {
            return Err(BearerConfigError::InvalidAudience(bad.clone()));
        }
        if audiences.is_empty() && !self.skip_audience {
            return Err(BearerConfigError::MissingAudience);
        }
        let algorithms: Arc<[SigningAlgorithm]> = self
            .algorithms
            .take()
            .map_or_else(|| SigningAlgorithm::ALL.into(), Into::into);
        if algorithms.is_empty() {
            return Err(BearerConfigError::NoAlgorithms);
        }
        let leeway = self.leeway.unwrap_or(DEFAULT_LEEWAY);
        if leeway > MAX_LEEWAY {
            return Err(BearerConfigError::LeewayTooLarge(leeway.as_secs()));
        }
        let realm = self.realm.take().unwrap_or_else(|| DEFAULT_REALM.into());
        if realm.is_empty()
            || !realm
                .bytes()
                .all(|b| (0x20..=0x7E).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(BearerConfigError::InvalidRealm(realm));
        }
        let mut required = std::mem::take(&mut self.required);
        if let Some(bad) = required.iter().find(|c| c.is_empty()) {
            return Err(BearerConfigError::InvalidRequiredClaim(bad.clone()));
        }
        if self.rfc9068 {
            required.extend(RFC9068_CLAIMS.iter().map(|c| (*c).to_owned()));
        }
        let required = dedup(required);
        if required.len() > MAX_REQUIRED_CLAIMS {
            return Err(BearerConfigError::TooManyRequiredClaims);
        }

        let mut issuers = Vec::with_capacity(self.issuers.len());
        for spec in std::mem::take(&mut self.issuers) {
            let keys = self.issuer_keys(&spec, &algorithms)?;
            issuers.push(Issuer {
                iss: spec.issuer.into(),
                keys,
            });
        }
        let refresh = match self.background_refresh {
            Some(every) => Some(spawn_refresh(&issuers, every)?),
            None => None,
        };
        let capacity = self.token_cache_capacity.unwrap_or(DEFAULT_CAPACITY);
        Ok(JwtConfiguration {
            inner: Arc::new(Inner {
                issuers: issuers.into(),
                rules: ClaimRules {
                    audiences: boxed(audiences),
                    leeway: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
                    required: boxed(required),
                    rfc9068: self.rfc9068,
                    accept_id_tokens: self.accept_id_tokens,
                },
                realm: realm.into(),
                clock: self.clock.take().unwrap_or_default(),
                token_cache: (capacity > 0).then(|| TokenCache::new(capacity)),
                _refresh: refresh,
            }),
        })
    }

    fn issuer_keys(
        &mut self,
        spec: &IssuerSpec,
        algorithms: &Arc<[SigningAlgorithm]>,
    ) -> Result<IssuerKeys, BearerConfigError> {
        let issuer = &spec.issuer;
        if issuer.is_empty() {
            return Err(BearerConfigError::InvalidIssuer(issuer.clone()));
        }
        let jwks = |cache| IssuerKeys::Jwks {
            cache,
            algorithms: algorithms.clone(),
        };
        Ok(match &spec.source {
            Source::JwksUri(uri) => {
                let url = Url::parse(uri).map_err(|_| BearerConfigError::InvalidUrl {
                    name: "jwks_uri",
                    value: uri.clone(),
                })?;
                if !self.insecure_http && !url_is_acceptable(&url) {
                    return Err(BearerConfigError::InsecureUrl {
                        name: "jwks_uri",
                        value: uri.clone(),
                    });
                }
                let mut cache = JwksCache::new(url, self.http_client()?);
                if let Some(interval) = self.refetch_interval {
                    cache = cache.with_min_refetch_interval(interval);
                }
                jwks(cache)
            }
            Source::Cache(cache) => jwks(cache.clone()),
            Source::Static(keys) => jwks(JwksCache::fixed(static_keys(issuer, keys)?)),
            Source::Hmac { algorithm, secret } => {
                let min = algorithm.min_secret_len();
                if secret.0.len() < min {
                    return Err(BearerConfigError::HmacSecretTooShort {
                        issuer: issuer.clone(),
                        min,
                    });
                }
                if secret.0.windows(10).any(|w| w == b"-----BEGIN") {
                    return Err(BearerConfigError::HmacSecretLooksLikeKey(issuer.clone()));
                }
                IssuerKeys::Hmac {
                    algorithm: *algorithm,
                    key: DecodingKey::from_secret(&secret.0),
                }
            }
        })
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

fn boxed(v: Vec<String>) -> Box<[Box<str>]> {
    v.into_iter().map(String::into_boxed_str).collect()
}
