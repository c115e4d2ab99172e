//! The key sources of [`JwtConfigurationBuilder`]: one per trusted issuer.

use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use url::Url;

use super::super::keys::{HmacAlgorithm, HmacSecret, IssuerKeys, StaticKey, static_keys};
use super::JwtConfigurationBuilder;
use crate::config::ConfigError;
use crate::config::{OAuthConfiguration, ProviderCell, url_is_acceptable};
use crate::discovery::discover;
use crate::jose::{JwksCache, SigningAlgorithm};

#[derive(Debug)]
pub(super) struct IssuerSpec {
    pub(super) issuer: String,
    pub(super) source: Source,
    /// A multi-tenant issuer: `issuer` is its template.
    pub(super) template: Option<TemplateSpec>,
}

/// Where a multi-tenant issuer's rule comes from.
#[derive(Debug)]
pub(super) enum TemplateSpec {
    /// `issuer` is the template, with the builder's allow-list.
    Configured,
    /// The login configuration's template, with its own allow-list.
    Login(crate::issuer::IssuerTemplate),
}

#[derive(Debug)]
pub(super) enum Source {
    JwksUri(String),
    Cache(JwksCache),
    /// The login configuration's provider: its key cache as last discovered.
    Login(ProviderCell),
    Static(Vec<StaticKey>),
    Hmac {
        algorithm: HmacAlgorithm,
        secret: HmacSecret,
    },
}

impl JwtConfigurationBuilder {
    /// Trusts `issuer` with the keys at the `jwks_uri` of its discovery document
    /// (OIDC Discovery 1.0 section 4; the document's `issuer` must equal `issuer`
    /// exactly). HTTP options (`with_http_client`, `insecure_allow_http`) must be set
    /// before. Like every setter it never fails: a discovery error is kept and
    /// returned by [`build`](Self::build).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
    /// use axum_oidc_client::bearer::JwtConfiguration;
    /// let config = JwtConfiguration::builder()
    ///     .with_discovered_issuer("https://login.example/realms/shop").await
    ///     .with_audience("shop-api")
    ///     .build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub async fn with_discovered_issuer(mut self, issuer: impl Into<String>) -> Self {
        match self.discover_jwks_uri(issuer.into()).await {
            Ok((issuer, jwks_uri)) => self.add(issuer, Source::JwksUri(jwks_uri)),
            Err(e) => {
                self.pending.get_or_insert(e);
                self
            }
        }
    }

    /// Like [`with_discovered_issuer`](Self::with_discovered_issuer), but failing at
    /// once. Both builders have both forms, with the same meaning.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
    /// use axum_oidc_client::bearer::JwtConfiguration;
    /// let config = JwtConfiguration::builder()
    ///     .with_issuer("https://login.example/realms/shop").await?
    ///     .with_audience("shop-api")
    ///     .build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub async fn with_issuer(self, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        self.try_with_issuer(issuer.into()).await
    }

    /// Discovers `issuer` and trusts it, or fails at once (for `from_env`).
    pub(in crate::bearer) async fn try_with_issuer(
        mut self,
        issuer: String,
    ) -> Result<Self, ConfigError> {
        let (issuer, jwks_uri) = self.discover_jwks_uri(issuer).await?;
        Ok(self.add(issuer, Source::JwksUri(jwks_uri)))
    }

    /// The `jwks_uri` of `issuer`'s discovery document.
    async fn discover_jwks_uri(&mut self, issuer: String) -> Result<(String, String), ConfigError> {
        let url = Url::parse(&issuer).map_err(|_| ConfigError::InvalidIssuer(issuer.clone()))?;
        if !self.insecure_http && !url_is_acceptable(&url) {
            return Err(ConfigError::InsecureUrl("issuer"));
        }
        let http = self.http_client()?;
        let meta =
            discover(&http, &issuer)
                .await
                .map_err(|source| ConfigError::IssuerDiscovery {
                    issuer: issuer.clone(),
                    source,
                })?;
        match meta.jwks_uri {
            Some(jwks_uri) => Ok((issuer, jwks_uri.into())),
            None => Err(ConfigError::NoJwksUri(issuer)),
        }
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
    /// use axum_oidc_client::{JwkSet, JwksCache};
    ///
    /// let cache = JwksCache::fixed(JwkSet::default());
    /// let b = JwtConfiguration::builder().with_jwks_cache("https://login.example", cache);
    /// # let _ = b;
    /// ```
    pub fn with_jwks_cache(self, issuer: impl Into<String>, cache: JwksCache) -> Self {
        self.add(issuer.into(), Source::Cache(cache))
    }

    /// Trusts the login side's issuer with its key cache: shorthand for
    /// `with_jwks_cache(config.issuer(), config.jwks())`; with named providers
    /// ([`with_provider`](crate::OAuthConfigurationBuilder::with_provider)), the issuer
    /// of each. [`build`](Self::build)
    /// fails with [`ConfigError::NoSharedKeys`] if the login configuration has
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
        // With named providers, every one with an issuer and keys (an OAuth 2.0-only
        // one has neither); one issuer is trusted once.
        let mut shared: Vec<&str> = Vec::new();
        for entry in config.inner.providers.all() {
            let provider = &entry.cell;
            // A provider not discovered yet is shared all the same: its keys are looked
            // up per token, and are unavailable (503) until the discovery succeeds.
            let has_keys = provider.get().is_none_or(|p| p.jwks.is_some());
            let Some(issuer) = provider.issuer() else {
                continue;
            };
            if !has_keys || shared.contains(&issuer) {
                continue;
            }
            shared.push(issuer);
            self = match provider.issuer_template() {
                Some(template) => self.add_template(
                    template.template(),
                    Source::Login(provider.clone()),
                    TemplateSpec::Login(template),
                ),
                None => self.add(issuer.to_owned(), Source::Login(provider.clone())),
            };
        }
        if shared.is_empty() {
            self.pending.get_or_insert(ConfigError::NoSharedKeys);
        }
        self
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
    /// # Ok::<(), axum_oidc_client::ConfigError>(())
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
    /// # Ok::<(), axum_oidc_client::ConfigError>(())
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

    /// Trusts the multi-tenant issuer of `template` with the keys of `source`.
    pub(super) fn add_template(
        mut self,
        template: String,
        source: Source,
        spec: TemplateSpec,
    ) -> Self {
        if self.issuers.iter().any(|s| s.issuer == template) {
            self.pending
                .get_or_insert(ConfigError::ConflictingKeySources(template));
            return self;
        }
        self.issuers.push(IssuerSpec {
            issuer: template,
            source,
            template: Some(spec),
        });
        self
    }

    pub(super) fn add(mut self, issuer: String, source: Source) -> Self {
        match self.issuers.iter_mut().find(|s| s.issuer == issuer) {
            None => self.issuers.push(IssuerSpec {
                issuer,
                source,
                template: None,
            }),
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
                    .get_or_insert(ConfigError::ConflictingKeySources(issuer));
            }
        }
        self
    }

    pub(super) fn issuer_keys(
        &mut self,
        spec: &IssuerSpec,
        algorithms: &Arc<[SigningAlgorithm]>,
    ) -> Result<IssuerKeys, ConfigError> {
        let issuer = &spec.issuer;
        if issuer.is_empty() {
            return Err(ConfigError::InvalidIssuer(issuer.clone()));
        }
        let jwks = |cache| IssuerKeys::Jwks {
            cache,
            algorithms: algorithms.clone(),
        };
        Ok(match &spec.source {
            Source::JwksUri(uri) => {
                let url = Url::parse(uri).map_err(|_| ConfigError::InvalidUrl {
                    name: "jwks_uri",
                    value: uri.clone(),
                })?;
                if !self.insecure_http && !url_is_acceptable(&url) {
                    return Err(ConfigError::InsecureUrl("jwks_uri"));
                }
                let mut cache = JwksCache::new(url, self.http_client()?);
                if let Some(interval) = self.refetch_interval {
                    cache = cache.with_min_refetch_interval(interval);
                }
                jwks(cache)
            }
            Source::Cache(cache) => jwks(cache.clone()),
            Source::Login(provider) => IssuerKeys::Login {
                provider: provider.clone(),
                algorithms: algorithms.clone(),
            },
            Source::Static(keys) => jwks(JwksCache::fixed(static_keys(issuer, keys)?)),
            Source::Hmac { algorithm, secret } => {
                let min = algorithm.min_secret_len();
                if secret.0.len() < min {
                    return Err(ConfigError::HmacSecretTooShort {
                        issuer: issuer.clone(),
                        min,
                    });
                }
                if secret.0.windows(10).any(|w| w == b"-----BEGIN") {
                    return Err(ConfigError::HmacSecretLooksLikeKey(issuer.clone()));
                }
                IssuerKeys::Hmac {
                    algorithm: *algorithm,
                    key: DecodingKey::from_secret(&secret.0),
                }
            }
        })
    }
}
