//! [`JwtConfigurationBuilder`]: every option of the bearer layer, with defaults.

use std::sync::Arc;
use std::time::Duration;

mod dpop;
mod sources;
mod tenants;

use sources::IssuerSpec;

use super::JwtConfiguration;
use super::claims::MAX_REQUIRED_CLAIMS;
use super::config::{Inner, spawn_refresh};
use super::keys::Issuer;
use super::token_cache::{DEFAULT_CAPACITY, TokenCache};
use super::validate::{ClaimRules, RFC9068_CLAIMS};
use crate::config::Clock;
use crate::config::ConfigError;
use crate::jose::SigningAlgorithm;

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
/// | [`with_discovered_issuer`](Self::with_discovered_issuer) | discovered `jwks_uri` (async) |
/// | [`with_jwks_uri`](Self::with_jwks_uri) | a JWKS URL |
/// | [`with_jwks_cache`](Self::with_jwks_cache), [`with_oauth_configuration`](Self::with_oauth_configuration) | an existing, shared [`JwksCache`](crate::jose::JwksCache) |
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
/// | OIDC ID tokens | refused unless typed `at+jwt` ([`insecure_accept_id_tokens`](Self::insecure_accept_id_tokens)) |
/// | realm | `api` |
/// | DPoP ([`with_dpop`](Self::with_dpop)) | off: `Authorization: DPoP` is another scheme; a bearer token with `cnf.jkt` is refused |
/// | verified-token cache | 10 000 entries, 5 min |
/// | JWKS refetch on unknown `kid` | at most every 10 s; after a failed fetch not before a back-off of 1 s doubling to 5 min |
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
/// # Ok::<(), axum_oidc_client::ConfigError>(())
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
    /// The tenants the configured issuer templates accept (`with_allowed_tenants`).
    allowed_tenants: Option<Vec<String>>,
    /// DPoP (`with_dpop`, `with_dpop_origin`).
    dpop: Option<super::DpopPolicy>,
    dpop_origin: Option<String>,
    pending: Option<ConfigError>,
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

    fn http_client(&mut self) -> Result<reqwest::Client, ConfigError> {
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("axum-oidc-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::Http)?;
        self.http = Some(http.clone());
        Ok(http)
    }

    /// Validates everything and builds the configuration.
    ///
    /// ```
    /// # use axum_oidc_client::{ConfigError, bearer::JwtConfiguration};
    /// let err = JwtConfiguration::builder()
    ///     .with_jwks_uri("https://login.example", "https://login.example/jwks")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, ConfigError::MissingAudience));
    /// ```
    pub fn build(mut self) -> Result<JwtConfiguration, ConfigError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.issuers.is_empty() {
            return Err(ConfigError::NoIssuer);
        }
        let audiences = dedup(std::mem::take(&mut self.audiences));
        if let Some(bad) = audiences.iter().find(|a| a.is_empty()) {
            return Err(ConfigError::InvalidAudience(bad.clone()));
        }
        if audiences.is_empty() && !self.skip_audience {
            return Err(ConfigError::MissingAudience);
        }
        let algorithms: Arc<[SigningAlgorithm]> = self
            .algorithms
            .take()
            .map_or_else(|| SigningAlgorithm::ALL.into(), Into::into);
        if algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        let leeway = self.leeway.unwrap_or(DEFAULT_LEEWAY);
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge(leeway.as_secs()));
        }
        let realm = self.realm.take().unwrap_or_else(|| DEFAULT_REALM.into());
        if realm.is_empty()
            || !realm
                .bytes()
                .all(|b| (0x20..=0x7E).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::InvalidRealm(realm));
        }
        let mut required = std::mem::take(&mut self.required);
        if let Some(bad) = required.iter().find(|c| c.is_empty()) {
            return Err(ConfigError::InvalidRequiredClaim(bad.clone()));
        }
        if self.rfc9068 {
            required.extend(RFC9068_CLAIMS.iter().map(|c| (*c).to_owned()));
        }
        let required = dedup(required);
        if required.len() > MAX_REQUIRED_CLAIMS {
            return Err(ConfigError::TooManyRequiredClaims);
        }

        let mut issuers = Vec::with_capacity(self.issuers.len());
        self.check_allowed_tenants()?;
        for spec in std::mem::take(&mut self.issuers) {
            let keys = self.issuer_keys(&spec, &algorithms)?;
            let template = self.template_of(&spec)?.map(Arc::new);
            issuers.push(Issuer {
                iss: spec.issuer.into(),
                template,
                keys,
            });
        }
        let dpop = match self.dpop.take() {
            Some(policy) => Some(policy.build(self.dpop_origin.take(), &audiences, leeway)?),
            None => None,
        };
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
                dpop,
                _refresh: refresh,
            }),
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
