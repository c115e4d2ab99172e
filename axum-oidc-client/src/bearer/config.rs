//! [`JwtConfiguration`]: the trusted issuers and the rules, and the verification of
//! one token ([`JwtConfiguration::verify`]).

use std::sync::Arc;
use std::time::Duration;

use super::claims;
use super::error::{BearerError, BearerRejection};
use super::keys::{Issuer, IssuerKeys};
use super::token_cache::{Entry, TokenCache};
use super::validate::{ClaimRules, check_claims, check_not_id_token, check_time, check_typ};
use super::{JwtConfigurationBuilder, VerifiedJwt};
use crate::config::Clock;
use crate::config::ConfigError;
use crate::jose::{CompactJws, JoseError, MAX_JWS_LEN};

/// Validated bearer-token configuration: the trusted issuers with their keys, the
/// audiences and the claim rules. Cheap to clone; clones share key caches and the
/// verified-token cache.
///
/// Build it with [`JwtConfiguration::builder`], use it with
/// [`JwtLayer`](super::JwtLayer), or call [`verify`](Self::verify) directly (for
/// WebSocket upgrades, gRPC, queues...).
///
/// ```
/// use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration};
///
/// let config = JwtConfiguration::builder()
///     .with_hmac_secret("my-issuer", HmacAlgorithm::HS256, "a shared secret of at least 32 bytes")
///     .with_audience("my-api")
///     .build()?;
/// assert_eq!(config.issuers().collect::<Vec<_>>(), ["my-issuer"]);
/// # Ok::<(), axum_oidc_client::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct JwtConfiguration {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) issuers: Box<[Issuer]>,
    pub(crate) rules: ClaimRules,
    pub(crate) realm: Arc<str>,
    pub(crate) clock: Clock,
    pub(crate) token_cache: Option<TokenCache>,
    /// DPoP settings ([`JwtConfigurationBuilder::with_dpop`]).
    pub(crate) dpop: Option<super::dpop::DpopSettings>,
    /// Held only so that dropping the configuration stops the tasks.
    pub(crate) _refresh: Option<RefreshTasks>,
}

impl JwtConfiguration {
    /// Starts a builder.
    ///
    /// ```
    /// let builder = axum_oidc_client::bearer::JwtConfiguration::builder();
    /// # let _ = builder;
    /// ```
    pub fn builder() -> JwtConfigurationBuilder {
        JwtConfigurationBuilder::new()
    }

    /// The trusted issuers (`iss` values), in configuration order.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// assert!(config.issuers().any(|i| i == "svc"));
    /// ```
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| &*i.iss)
    }

    /// The accepted audiences (empty only after `insecure_skip_audience`).
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// assert_eq!(config.audiences().collect::<Vec<_>>(), ["api"]);
    /// ```
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        self.inner.rules.audiences.iter().map(|a| &**a)
    }

    /// The clock skew tolerated for `exp` and `nbf`.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// assert_eq!(config.leeway(), std::time::Duration::from_secs(60));
    /// ```
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.inner.rules.leeway.unsigned_abs())
    }

    /// The `realm` of the `WWW-Authenticate` challenges.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// assert_eq!(config.realm(), "api");
    /// ```
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Fetches every issuer's keys now, so a wrong JWKS URI fails at start-up rather
    /// than as 503s later. Optional: keys are otherwise fetched on first use.
    ///
    /// ```no_run
    /// # async fn f(config: axum_oidc_client::bearer::JwtConfiguration)
    /// # -> Result<(), axum_oidc_client::ConfigError> {
    /// config.fetch_keys().await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_keys(&self) -> Result<(), ConfigError> {
        for issuer in &*self.inner.issuers {
            let cache = issuer
                .keys
                .cache()
                .map_err(|source| ConfigError::IssuerJwks {
                    issuer: issuer.iss.to_string(),
                    source,
                })?;
            if let Some(cache) = cache {
                cache
                    .keys()
                    .await
                    .map_err(|source| ConfigError::IssuerJwks {
                        issuer: issuer.iss.to_string(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Verifies a compact JWT access token and returns its verified claims.
    ///
    /// The rules, in order (each failure is its own [`BearerError`]):
    /// 1. At most 16 KiB, three base64url parts, a JSON header (RFC 7515 section 7.1).
    /// 2. `alg` is not `none` (RFC 8725 section 3.2) and there is no `crit`.
    /// 3. The payload is a JSON object whose checked claims have their registered
    ///    types; its `iss` selects the issuer by exact comparison (RFC 8725 section
    ///    3.8), or else a configured issuer template whose issuer it is, with `tid`
    ///    that tenant's id, and allowed. Nothing else of the payload is trusted before
    ///    step 5.
    /// 4. The `typ` rule (RFC 8725 section 3.11; `at+jwt` in RFC 9068 mode).
    /// 5. `alg` is on that issuer's allow-list (RFC 8725 section 3.1) and the signature
    ///    verifies with that issuer's keys: for public keys through its
    ///    [`JwksCache`](crate::jose::JwksCache), refetching once on an unknown `kid`.
    /// 6. `exp` is present and not passed, `nbf` not in the future (both with the
    ///    leeway; RFC 7519 sections 4.1.4, 4.1.5), `aud` contains a configured
    ///    audience (RFC 7519 section 4.1.3), and every required claim is present.
    ///
    /// ```
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_oidc_client::bearer::{BearerError, HmacAlgorithm, JwtConfiguration};
    ///
    /// let config = JwtConfiguration::builder()
    ///     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    ///     .with_audience("api")
    ///     .build()?;
    /// let err = config.verify("not.a.jwt").await.unwrap_err();
    /// assert!(matches!(err, BearerError::Jose(_)));
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
    /// ```
    pub async fn verify(&self, token: &str) -> Result<VerifiedJwt, BearerError> {
        let inner = &*self.inner;
        if token.len() > MAX_JWS_LEN {
            return Err(JoseError::TooLarge.into());
        }
        let now = inner.clock.now();
        let cached = match &inner.token_cache {
            Some(cache) => {
                let key = TokenCache::key(token);
                if let Some(jwt) = self.cached(cache, &key, now).await? {
                    return Ok(jwt);
                }
                Some((cache, key))
            }
            None => None,
        };

        let jws = CompactJws::parse(token)?;
        let view = claims::parse(&jws.payload, &inner.rules.required)?;
        let iss = view
            .iss
            .as_ref()
            .ok_or_else(|| BearerError::MissingClaim("iss".into()))?;
        let (index, issuer) = super::tenant::select(&inner.issuers, &iss.0, view.tid.as_deref())?;
        // A multi-tenant issuer is reported as the token's own `iss`.
        let issuer_name = match issuer.template {
            Some(_) => Arc::from(&*iss.0),
            None => issuer.iss.clone(),
        };
        let typ = jws.header.typ.as_deref();
        check_typ(typ, inner.rules.rfc9068)?;
        let keys = issuer.keys.verify(&jws).await?;
        check_claims(&view, &inner.rules, now)?;
        check_not_id_token(&view, typ, &inner.rules)?;

        let (exp, nbf) = (view.exp.unwrap_or(i64::MIN), view.nbf);
        drop(view);
        let jwt = VerifiedJwt::new(issuer_name, jws.payload, exp, nbf);
        if let Some((cache, key)) = cached {
            let entry = Entry {
                jwt: jwt.clone(),
                issuer: index,
                keys: keys.as_ref().map(Arc::downgrade),
            };
            cache.insert(key, entry).await;
        }
        Ok(jwt)
    }

    /// A cached verification of the same token, when still usable.
    async fn cached(
        &self,
        cache: &TokenCache,
        key: &[u8; 32],
        now: i64,
    ) -> Result<Option<VerifiedJwt>, BearerError> {
        let Some(entry) = cache.get(key).await else {
            return Ok(None);
        };
        if let Err(e) = check_time(
            entry.jwt.exp(),
            entry.jwt.nbf(),
            self.inner.rules.leeway,
            now,
        ) {
            if matches!(e, BearerError::Expired) {
                cache.remove(key).await;
            }
            return Err(e);
        }
        let fresh = match &self.inner.issuers.get(entry.issuer).map(|i| &i.keys) {
            Some(IssuerKeys::Hmac { .. }) => true,
            Some(keys) => match keys.cache() {
                Ok(Some(cache)) => cache
                    .keys()
                    .await
                    .is_ok_and(|current| entry.keys_unchanged(&current)),
                _ => false,
            },
            None => false,
        };
        Ok(fresh.then(|| entry.jwt.clone()))
    }

    pub(crate) fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn reject(&self, error: BearerError) -> BearerRejection {
        let dpop = self.inner.dpop.as_ref().map(|d| d.challenge.clone());
        BearerRejection::new(error, self.inner.realm.clone()).with_dpop(dpop)
    }

    /// Whether the `DPoP` scheme is accepted ([`JwtConfigurationBuilder::with_dpop`]).
    pub(crate) fn dpop_enabled(&self) -> bool {
        self.inner.dpop.is_some()
    }
}

/// Background key refresh tasks, aborted when the configuration is dropped.
#[derive(Debug)]
pub(crate) struct RefreshTasks(pub(crate) Vec<tokio::task::AbortHandle>);

impl Drop for RefreshTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Starts one refresh task per fetched key cache.
pub(crate) fn spawn_refresh(
    issuers: &[Issuer],
    every: Duration,
) -> Result<RefreshTasks, ConfigError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
    let every = every.max(Duration::from_secs(1));
    let tasks = issuers
        .iter()
        .filter_map(|i| match &i.keys {
            IssuerKeys::Jwks { cache, .. } if cache.uri().is_some() => Some(cache.clone()),
            _ => None,
        })
        .map(|cache| {
            runtime
                .spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        if let Err(e) = cache.keys().await {
                            tracing::debug!(error = %e, "background JWKS refresh failed");
                        }
                    }
                })
                .abort_handle()
        })
        .collect();
    Ok(RefreshTasks(tasks))
}
