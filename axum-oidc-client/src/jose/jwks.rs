//! The provider's signing keys: a shared, rate-limited cache of one issuer's JWK Set
//! that refetches when a token names an unknown `kid` (OIDC Core 10.1.1).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::jws::{JoseError, UnverifiedJws};
use super::keys::{JwkSet, JwksError, MAX_JWKS_LEN};
use crate::observe::{self, ProviderEndpoint};

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

/// First delay after a failed fetch; it doubles with each further failure.
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Longest delay between two failed fetches.
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Most unknown `kid`s remembered as having forced a refetch within one refetch
/// interval; beyond it, tokens from the token endpoint wait like any other.
const MAX_FORCED_KIDS: usize = 16;
/// Bounds on how long a JWKS response's `Cache-Control: max-age` keeps the keys.
const CACHE_CONTROL_MIN: Duration = Duration::from_secs(60);
const CACHE_CONTROL_MAX: Duration = Duration::from_secs(24 * 3600);

struct Cached {
    keys: Arc<JwkSet>,
    /// Time of the last successful fetch (or of construction for fixed keys).
    fetched_at: Option<Instant>,
    /// How long the last response said its keys stay fresh (`Cache-Control:
    /// max-age`, clamped); without it, the configured `max_age`.
    fresh_for: Option<Duration>,
    /// Fetch attempts finished so far, successful or not: a waiter that sees this
    /// change shares the result instead of fetching again (single flight).
    attempts: u64,
    /// Time of the last attempt, successful or not.
    attempted_at: Option<Instant>,
    /// Set while the last attempt failed.
    failure: Option<Failure>,
    /// Unknown `kid`s of tokens from the token endpoint that forced a refetch past
    /// the limits, with the time of that refetch: each may force one per refetch
    /// interval, so a `kid` the provider never publishes cannot loop.
    forced: Vec<(String, Instant)>,
}

/// The last fetch failed: its error, how many failed in a row, and when the next
/// attempt may be made.
struct Failure {
    error: Arc<JwksError>,
    streak: u32,
    retry_at: Instant,
}

impl Cached {
    /// The outcome of the last attempt, for the callers that share it.
    fn outcome(&self) -> Result<Arc<JwkSet>, JwksError> {
        match &self.failure {
            Some(f) => Err(JwksError::Backoff {
                retry_in: f.retry_at.saturating_duration_since(Instant::now()),
                last: f.error.clone(),
            }),
            None => Ok(self.keys.clone()),
        }
    }
}

struct Inner {
    uri: Option<url::Url>,
    http: reqwest::Client,
    cached: RwLock<Cached>,
    refetch: tokio::sync::Mutex<()>,
    min_refetch_interval: Duration,
    max_age: Duration,
    backoff: (Duration, Duration),
}

/// A shared cache of one issuer's keys, used by the login side and the bearer layer.
///
/// - Keys are fetched on first use and kept for the `max-age` of the response's
///   `Cache-Control` (RFC 9111 section 5.2.2.1), bounded to between 1 minute and
///   24 hours, or for `max_age` (default one hour) when it has none.
/// - Stale keys keep being used while a refetch fails: the last good set is served
///   until the provider answers again.
/// - A token with an unknown `kid` triggers one refetch, at most once per
///   `min_refetch_interval` (default 10 s) counted from the last attempt, successful
///   or not, so forged `kid`s cannot make the library hammer the provider
///   (OIDC Core 10.1.1).
/// - A failed fetch is not repeated before an exponential back-off (1 s, doubling up
///   to 5 min, reset by a success) has passed; meanwhile callers get
///   [`JwksError::Backoff`] (or keep the keys they have).
/// - Single flight: concurrent callers that need a fetch wait for one fetch and
///   share its result, keys or error.
/// - Tokens in flight keep verifying with the old keys while a rotation is fetched.
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::JwksCache;
///
/// let jwks_uri = url::Url::parse("https://op.example/jwks").unwrap();
/// let cache = JwksCache::new(jwks_uri, reqwest::Client::new())
///     .with_max_age(Duration::from_secs(600))
///     .with_min_refetch_interval(Duration::from_secs(30));
/// assert_eq!(cache.uri().unwrap().as_str(), "https://op.example/jwks");
/// ```
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
    ///
    /// ```
    /// use axum_oidc_client::JwksCache;
    ///
    /// // Nothing is fetched until keys are needed.
    /// let cache = JwksCache::new("https://op.example/jwks".parse().unwrap(), reqwest::Client::new());
    /// assert!(cache.uri().is_some());
    /// ```
    pub fn new(uri: url::Url, http: reqwest::Client) -> Self {
        Self::build(Some(uri), http, JwkSet::default())
    }

    /// A cache over fixed keys that never fetches.
    ///
    /// ```
    /// use axum_oidc_client::{JwkSet, JwksCache};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let jwks = JwkSet::parse(br#"{"keys": [
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
    /// #      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    /// #     {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    /// # ]}"#)
    /// # .unwrap();
    /// let cache = JwksCache::fixed(jwks);
    /// assert!(cache.uri().is_none());
    /// assert!(cache.keys().await.unwrap().by_kid("k1").is_some());
    /// # }
    /// ```
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
                    fresh_for: None,
                    attempts: 0,
                    attempted_at: fetched_at,
                    failure: None,
                    forced: Vec::new(),
                }),
                refetch: tokio::sync::Mutex::new(()),
                min_refetch_interval: Duration::from_secs(10),
                max_age: Duration::from_secs(3600),
                backoff: (BACKOFF_INITIAL, BACKOFF_MAX),
            }),
        }
    }

    /// Sets the minimum time between two refetches triggered by unknown `kid`s.
    #[must_use]
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::JwksCache;
    ///
    /// // Tokens naming unknown `kid`s trigger at most one fetch a minute.
    /// let cache = JwksCache::new("https://op.example/jwks".parse().unwrap(), reqwest::Client::new())
    ///     .with_min_refetch_interval(Duration::from_secs(60));
    /// # let _ = cache;
    /// ```
    pub fn with_min_refetch_interval(self, interval: Duration) -> Self {
        self.rebuild(|i| i.min_refetch_interval = interval)
    }

    /// Sets how long fetched keys are used before they are fetched again, when the
    /// JWKS response has no `Cache-Control: max-age`.
    #[must_use]
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::JwksCache;
    ///
    /// let cache = JwksCache::new("https://op.example/jwks".parse().unwrap(), reqwest::Client::new())
    ///     .with_max_age(Duration::from_secs(15 * 60));
    /// # let _ = cache;
    /// ```
    pub fn with_max_age(self, max_age: Duration) -> Self {
        self.rebuild(|i| i.max_age = max_age)
    }

    /// Sets the back-off after failed fetches (tests use short ones).
    #[cfg(test)]
    fn with_backoff(self, initial: Duration, max: Duration) -> Self {
        self.rebuild(|i| i.backoff = (initial, max))
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
    ///
    /// ```
    /// use axum_oidc_client::{JwkSet, JwksCache};
    ///
    /// assert!(JwksCache::fixed(JwkSet::default()).uri().is_none());
    /// let cache = JwksCache::new("https://op.example/jwks".parse().unwrap(), reqwest::Client::new());
    /// assert_eq!(cache.uri().map(|u| u.path()), Some("/jwks"));
    /// ```
    pub fn uri(&self) -> Option<&url::Url> {
        self.inner.uri.as_ref()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cached> {
        self.inner.cached.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The current keys, fetching them first if none were fetched or they are stale.
    /// Stale keys are kept when the refetch fails.
    ///
    /// ```no_run
    /// use axum_oidc_client::{JwksCache, JwksError};
    ///
    /// # async fn f() {
    /// let cache = JwksCache::new("https://op.example/jwks".parse().unwrap(), reqwest::Client::new());
    /// match cache.keys().await {
    ///     Ok(keys) => println!("{} usable keys", keys.len()),
    ///     Err(JwksError::Backoff { retry_in, .. }) => println!("provider down, retry in {retry_in:?}"),
    ///     Err(e) => println!("{e}"),
    /// }
    /// # }
    /// ```
    pub async fn keys(&self) -> Result<Arc<JwkSet>, JwksError> {
        let (keys, fetched_at, fresh_for, attempts) = {
            let c = self.read();
            (c.keys.clone(), c.fetched_at, self.fresh_for(&c), c.attempts)
        };
        match fetched_at {
            Some(at) if at.elapsed() < fresh_for => Ok(keys),
            Some(_) => Ok(self
                .refetch(attempts, Duration::ZERO, None)
                .await
                .unwrap_or(keys)),
            None => self.refetch(attempts, Duration::ZERO, None).await,
        }
    }

    /// How long the current keys stay fresh.
    fn fresh_for(&self, c: &Cached) -> Duration {
        c.fresh_for.unwrap_or(self.inner.max_age)
    }

    /// For a background refresh: fetches the keys when they are stale or were never
    /// fetched (within the failure back-off), so requests seldom wait for a fetch.
    /// `Ok` when the keys are fresh afterwards; on failure the last good keys stay in
    /// use.
    pub(crate) async fn refresh_if_stale(&self) -> Result<(), JwksError> {
        if self.inner.uri.is_none() {
            return Ok(());
        }
        let (fresh, attempts) = {
            let c = self.read();
            let fresh = c
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.fresh_for(&c));
            (fresh, c.attempts)
        };
        if fresh {
            return Ok(());
        }
        self.refetch(attempts, Duration::ZERO, None).await.map(drop)
    }

    /// How long until [`refresh_if_stale`](Self::refresh_if_stale) has work to do:
    /// until the keys go stale, or until the back-off of a failed fetch ends.
    pub(crate) fn next_refresh_in(&self) -> Duration {
        let c = self.read();
        if let Some(f) = &c.failure {
            return f.retry_at.saturating_duration_since(Instant::now());
        }
        match c.fetched_at {
            Some(at) => self.fresh_for(&c).saturating_sub(at.elapsed()),
            None => Duration::ZERO,
        }
    }

    /// Fetches now, unless another task's fetch finished since the caller saw
    /// `seen` attempts (its result is then shared), a failed fetch's back-off is
    /// running, or the last attempt is younger than `min_interval`.
    ///
    /// `forcing_kid` is the unknown `kid` of a token the client fetched itself from
    /// the token endpoint: it skips the interval and the back-off, once per `kid` per
    /// refetch interval (single flight still applies).
    async fn refetch(
        &self,
        seen: u64,
        min_interval: Duration,
        forcing_kid: Option<&str>,
    ) -> Result<Arc<JwkSet>, JwksError> {
        let Some(uri) = self.inner.uri.clone() else {
            return Ok(self.read().keys.clone());
        };
        // Single flight: one fetch at a time; the waiters share its result.
        let _guard = self.inner.refetch.lock().await;
        {
            let c = self.read();
            if c.attempts != seen {
                // Another fetch finished after the caller looked: its keys are as new
                // as a refetch would give, and count as this `kid`'s refetch.
                let Some(kid) = forcing_kid else {
                    return c.outcome();
                };
                drop(c);
                let mut c = self.inner.cached.write().unwrap_or_else(|p| p.into_inner());
                if let Some(at) = c.attempted_at {
                    self.remember_forced(&mut c, kid, at);
                }
                return c.outcome();
            }
            let too_soon = c.attempted_at.is_some_and(|at| at.elapsed() < min_interval)
                || c.failure
                    .as_ref()
                    .is_some_and(|f| Instant::now() < f.retry_at);
            let forced = too_soon && forcing_kid.is_some_and(|kid| self.may_force(&c, kid));
            if too_soon && !forced {
                observe::jwks_fetch("rate_limited");
                return c.outcome();
            }
        }
        let result = fetch(&self.inner.http, uri.clone()).await;
        let now = Instant::now();
        let mut c = self.inner.cached.write().unwrap_or_else(|p| p.into_inner());
        c.attempts += 1;
        c.attempted_at = Some(now);
        if let Some(kid) = forcing_kid {
            self.remember_forced(&mut c, kid, now);
        }
        match result {
            Ok((fresh, max_age)) => {
                observe::jwks_fetch("ok");
                if let Some(f) = &c.failure {
                    tracing::info!(jwks_uri = %uri, failed_attempts = f.streak, "JWKS fetched again after failures");
                }
                tracing::debug!(
                    keys = fresh.len(),
                    max_age_secs = max_age.map(|d| d.as_secs()),
                    "fetched JWKS"
                );
                c.keys = Arc::new(fresh);
                c.fetched_at = Some(now);
                c.fresh_for = max_age;
                c.failure = None;
            }
            Err(error) => {
                observe::jwks_fetch("error");
                let streak = c.failure.as_ref().map_or(1, |f| f.streak.saturating_add(1));
                let (initial, max) = self.inner.backoff;
                let delay = initial
                    .saturating_mul(2u32.saturating_pow(streak.saturating_sub(1).min(20)))
                    .min(max);
                let keeping = if c.fetched_at.is_some() {
                    "keeping the last good keys"
                } else {
                    "no keys yet"
                };
                // Once per run of failures at WARN; the retries of the back-off at DEBUG.
                if streak == 1 {
                    tracing::warn!(
                        jwks_uri = %uri,
                        error = observe::error_chain(&error),
                        retry_in_secs = delay.as_secs(),
                        "JWKS fetch failed; {keeping}"
                    );
                } else {
                    tracing::debug!(
                        jwks_uri = %uri,
                        error = observe::error_chain(&error),
                        failed_attempts = streak,
                        retry_in_secs = delay.as_secs(),
                        "JWKS fetch failed again; {keeping}"
                    );
                }
                c.failure = Some(Failure {
                    error: Arc::new(error),
                    streak,
                    retry_at: now + delay,
                });
            }
        }
        c.outcome()
    }

    /// Notes that the unknown `kid` was checked against keys fetched at `at`, and
    /// forgets the entries older than the refetch interval.
    fn remember_forced(&self, c: &mut Cached, kid: &str, at: Instant) {
        let interval = self.inner.min_refetch_interval;
        c.forced
            .retain(|(k, when)| k != kid && when.elapsed() < interval);
        c.forced.push((kid.to_owned(), at));
    }

    /// Whether a token from the token endpoint naming the unknown `kid` may refetch
    /// past the interval and back-off: not if that `kid` already did within the
    /// refetch interval, nor when too many `kid`s did.
    fn may_force(&self, c: &Cached, kid: &str) -> bool {
        let interval = self.inner.min_refetch_interval;
        let recent = c.forced.iter().filter(|(_, at)| at.elapsed() < interval);
        let mut count = 0;
        for (k, _) in recent {
            if k == kid {
                return false;
            }
            count += 1;
        }
        count < MAX_FORCED_KIDS
    }

    /// Verifies the signature of `jws`, refetching the keys once (rate-limited) when
    /// its `kid` is unknown (OIDC Core 10.1.1).
    ///
    /// For tokens anyone may send (bearer tokens, logout tokens): the refetch waits
    /// for the refetch interval and any failure back-off.
    #[doc(hidden)]
    pub async fn verify(&self, jws: &UnverifiedJws<'_>) -> Result<(), SignatureError> {
        self.verify_with(jws, false).await
    }

    /// Verifies the signature of a token the client fetched itself from the token
    /// endpoint over TLS (an ID token from a code exchange or a refresh). Its origin
    /// is established by TLS (OIDC Core 3.1.3.7 step 6), so an unknown `kid` refetches
    /// the keys at once, past the refetch interval and the failure back-off (OIDC
    /// Core 10.1.1: a login right after a key rotation succeeds). The refetch is still
    /// single flight, and each unknown `kid` forces at most one per refetch interval.
    pub(crate) async fn verify_fetched(
        &self,
        jws: &UnverifiedJws<'_>,
    ) -> Result<(), SignatureError> {
        self.verify_with(jws, true).await
    }

    async fn verify_with(
        &self,
        jws: &UnverifiedJws<'_>,
        fetched: bool,
    ) -> Result<(), SignatureError> {
        // For a token from the token endpoint, a fetch made by `keys()` below already
        // happened after the token was issued: it counts as the refetch.
        let before = self.read().attempts;
        let keys = self.keys().await?;
        match jws.verify(&keys) {
            Err(JoseError::UnknownKid) => {
                let seen = if fetched {
                    before
                } else {
                    self.read().attempts
                };
                let kid = fetched.then(|| jws.header.kid.as_deref().unwrap_or_default());
                let keys = self
                    .refetch(seen, self.inner.min_refetch_interval, kid)
                    .await?;
                Ok(jws.verify(&keys)?)
            }
            other => Ok(other?),
        }
    }
}

/// Fetches the key set, and how long it stays fresh when the response says so.
async fn fetch(
    http: &reqwest::Client,
    uri: url::Url,
) -> Result<(JwkSet, Option<Duration>), JwksError> {
    let req = http
        .get(uri)
        .header(http::header::ACCEPT, "application/json");
    let resp = crate::http_util::send(req, ProviderEndpoint::Jwks)
        .await
        .map_err(JwksError::Http)?;
    if !resp.status().is_success() {
        return Err(JwksError::Status(resp.status().as_u16()));
    }
    let max_age = cache_control_max_age(resp.headers());
    let body = crate::http_util::read_limited(resp, MAX_JWKS_LEN)
        .await
        .map_err(|_| JwksError::Invalid)?;
    Ok((JwkSet::parse(&body)?, max_age))
}

/// How long the keys of a response with these headers stay fresh: its
/// `Cache-Control` freshness ([`crate::discovery::cache_max_age`]: `max-age`, zero for
/// `no-store` or `no-cache`) clamped to [`CACHE_CONTROL_MIN`, `CACHE_CONTROL_MAX`], so a
/// provider that says `max-age=0` or `no-cache` is not fetched on every request, and
/// one that says a year is still fetched daily.
fn cache_control_max_age(headers: &http::HeaderMap) -> Option<Duration> {
    crate::discovery::cache_max_age(headers).map(|d| d.clamp(CACHE_CONTROL_MIN, CACHE_CONTROL_MAX))
}

#[cfg(test)]
#[path = "jwks_tests.rs"]
mod cache_tests;
