//! The provider's signing keys: a shared, rate-limited cache of one issuer's JWK Set
//! that refetches when a token names an unknown `kid` (OIDC Core 10.1.1).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::jws::{JoseError, UnverifiedJws};
use super::keys::{JwkSet, JwksError, MAX_JWKS_LEN};

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

struct Cached {
    keys: Arc<JwkSet>,
    /// Time of the last successful fetch (or of construction for fixed keys).
    fetched_at: Option<Instant>,
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
/// - Keys are fetched on first use and kept for `max_age` (default one hour).
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

    /// Sets how long fetched keys are used before they are fetched again.
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
        let (keys, fetched_at, attempts) = {
            let c = self.read();
            (c.keys.clone(), c.fetched_at, c.attempts)
        };
        match fetched_at {
            Some(at) if at.elapsed() < self.inner.max_age => Ok(keys),
            Some(_) => Ok(self
                .refetch(attempts, Duration::ZERO, None)
                .await
                .unwrap_or(keys)),
            None => self.refetch(attempts, Duration::ZERO, None).await,
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
                return c.outcome();
            }
        }
        let result = fetch(&self.inner.http, uri).await;
        let now = Instant::now();
        let mut c = self.inner.cached.write().unwrap_or_else(|p| p.into_inner());
        c.attempts += 1;
        c.attempted_at = Some(now);
        if let Some(kid) = forcing_kid {
            self.remember_forced(&mut c, kid, now);
        }
        match result {
            Ok(fresh) => {
                tracing::debug!(keys = fresh.len(), "fetched JWKS");
                c.keys = Arc::new(fresh);
                c.fetched_at = Some(now);
                c.failure = None;
            }
            Err(error) => {
                let streak = c.failure.as_ref().map_or(1, |f| f.streak.saturating_add(1));
                let (initial, max) = self.inner.backoff;
                let delay = initial
                    .saturating_mul(2u32.saturating_pow(streak.saturating_sub(1).min(20)))
                    .min(max);
                tracing::warn!(%error, retry_in_secs = delay.as_secs(), "JWKS fetch failed");
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
mod cache_tests {
    //! The refetch limits of [`JwksCache`] against a real HTTP server on 127.0.0.1.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::super::alg::SigningAlgorithm;
    use super::*;

    const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    /// A JWKS endpoint that counts its fetches, answers after `delay`, and answers 500
    /// while `failing`.
    #[derive(Clone)]
    struct Endpoint {
        fetches: Arc<AtomicUsize>,
        failing: Arc<AtomicBool>,
        uri: url::Url,
    }

    impl Endpoint {
        async fn start(failing: bool, delay: Duration) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
            let fetches = Arc::new(AtomicUsize::new(0));
            let failing = Arc::new(AtomicBool::new(failing));
            let (f, fail) = (fetches.clone(), failing.clone());
            let app = axum::Router::new().route(
                "/jwks",
                axum::routing::get(move || {
                    let (f, fail) = (f.clone(), fail.clone());
                    async move {
                        f.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        if fail.load(Ordering::SeqCst) {
                            Err(http::StatusCode::INTERNAL_SERVER_ERROR)
                        } else {
                            Ok(format!(
                                r#"{{"keys":[{{"kty":"EC","crv":"P-256","kid":"known","x":"{EC_X}","y":"{EC_Y}"}}]}}"#
                            ))
                        }
                    }
                }),
            );
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            Self {
                fetches,
                failing,
                uri: uri.parse().unwrap(),
            }
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }

        fn fail(&self, failing: bool) {
            self.failing.store(failing, Ordering::SeqCst);
        }

        fn cache(&self) -> JwksCache {
            JwksCache::new(self.uri.clone(), reqwest::Client::new())
        }
    }

    /// A token naming `kid`, signature irrelevant: the key lookup comes first.
    fn token(kid: &str) -> String {
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.{}",
            b64(&format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#)),
            b64("{}"),
            b64("sig")
        )
    }

    /// Verifies `n` tokens with distinct unknown `kid`s at once.
    async fn burst(cache: &JwksCache, n: usize) -> Vec<Result<(), SignatureError>> {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    let t = token(&format!("forged-{i}"));
                    let jws = UnverifiedJws::parse(&t, &SigningAlgorithm::ALL).unwrap();
                    cache.verify(&jws).await
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_jwks_uri_is_fetched_once_for_a_burst_of_unknown_kids() {
        let endpoint = Endpoint::start(true, Duration::from_millis(50)).await;
        let cache = endpoint.cache();
        let results = burst(&cache, 16).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(SignatureError::Keys(_)))),
            "{results:?}"
        );
        assert!(
            endpoint.fetches() <= 2,
            "{} fetches for one burst",
            endpoint.fetches()
        );
        // A second burst right after is inside the back-off: no fetch at all.
        let before = endpoint.fetches();
        burst(&cache, 16).await;
        assert_eq!(endpoint.fetches(), before, "no fetch during the back-off");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_unknown_kids_share_one_fetch() {
        let endpoint = Endpoint::start(false, Duration::from_millis(100)).await;
        let cache = endpoint.cache().with_min_refetch_interval(Duration::ZERO);
        cache.keys().await.unwrap();
        assert_eq!(endpoint.fetches(), 1);
        let results = burst(&cache, 16).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(SignatureError::Jose(JoseError::UnknownKid)))),
            "{results:?}"
        );
        assert_eq!(endpoint.fetches(), 2, "one shared refetch for the burst");
    }

    /// Verifies a token naming `kid` as one the client fetched from the token endpoint.
    async fn verify_fetched(cache: &JwksCache, kid: &str) -> Result<(), SignatureError> {
        let t = token(kid);
        let jws = UnverifiedJws::parse(&t, &SigningAlgorithm::ALL).unwrap();
        cache.verify_fetched(&jws).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_from_the_token_endpoint_refetches_past_the_interval_once_per_kid() {
        let endpoint = Endpoint::start(false, Duration::from_millis(50)).await;
        let cache = endpoint.cache();
        cache.keys().await.unwrap();
        assert_eq!(endpoint.fetches(), 1);
        // Untrusted tokens wait for the (default, 10 s) interval.
        burst(&cache, 4).await;
        assert_eq!(
            endpoint.fetches(),
            1,
            "bearer and logout tokens keep the limit"
        );
        // Concurrent tokens from the token endpoint with a new kid share one refetch.
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { verify_fetched(&cache, "rotated").await })
            })
            .collect();
        for t in tasks {
            let r = t.await.unwrap();
            assert!(
                matches!(r, Err(SignatureError::Jose(JoseError::UnknownKid))),
                "{r:?}"
            );
        }
        assert_eq!(
            endpoint.fetches(),
            2,
            "one shared refetch past the interval"
        );
        // The same kid cannot force another refetch within the interval.
        verify_fetched(&cache, "rotated").await.unwrap_err();
        assert_eq!(endpoint.fetches(), 2, "bounded per unknown kid");
        // Untrusted tokens still wait.
        burst(&cache, 4).await;
        assert_eq!(endpoint.fetches(), 2);
        // Another unknown kid from the token endpoint gets its own refetch.
        verify_fetched(&cache, "rotated-again").await.unwrap_err();
        assert_eq!(endpoint.fetches(), 3);
    }

    #[tokio::test]
    async fn a_token_from_the_token_endpoint_refetches_during_a_failure_backoff() {
        let endpoint = Endpoint::start(false, Duration::ZERO).await;
        let cache = endpoint
            .cache()
            .with_backoff(Duration::from_secs(60), Duration::from_secs(60));
        cache.keys().await.unwrap();
        endpoint.fail(true);
        verify_fetched(&cache, "rotated").await.unwrap_err();
        assert_eq!(endpoint.fetches(), 2, "the refetch failed");
        // The provider recovers within the one-minute back-off.
        endpoint.fail(false);
        burst(&cache, 1).await;
        assert_eq!(
            endpoint.fetches(),
            2,
            "untrusted tokens wait out the back-off"
        );
        verify_fetched(&cache, "rotated-too").await.unwrap_err();
        assert_eq!(
            endpoint.fetches(),
            3,
            "a token from the token endpoint does not"
        );
    }

    #[tokio::test]
    async fn a_later_success_resets_the_backoff() {
        let endpoint = Endpoint::start(true, Duration::ZERO).await;
        let step = Duration::from_millis(200);
        let cache = endpoint
            .cache()
            .with_min_refetch_interval(Duration::ZERO)
            .with_backoff(step, Duration::from_secs(60));
        let e = cache.keys().await.unwrap_err();
        assert!(
            matches!(&e, JwksError::Backoff { last, .. } if matches!(**last, JwksError::Status(500))),
            "{e:?}"
        );
        assert_eq!(endpoint.fetches(), 1);
        assert!(cache.keys().await.is_err());
        assert_eq!(endpoint.fetches(), 1, "no fetch during the first back-off");
        tokio::time::sleep(step + step / 4).await;
        assert!(cache.keys().await.is_err());
        assert_eq!(endpoint.fetches(), 2, "fetched again after the back-off");
        tokio::time::sleep(step + step / 4).await;
        assert!(cache.keys().await.is_err());
        assert_eq!(
            endpoint.fetches(),
            2,
            "the second back-off is twice as long"
        );
        endpoint.fail(false);
        tokio::time::sleep(step).await;
        cache.keys().await.unwrap();
        assert_eq!(
            endpoint.fetches(),
            3,
            "a success after the doubled back-off"
        );

        // After the success the first failure waits the initial step again.
        endpoint.fail(true);
        burst(&cache, 1).await;
        assert_eq!(endpoint.fetches(), 4);
        tokio::time::sleep(step + step / 4).await;
        burst(&cache, 1).await;
        assert_eq!(
            endpoint.fetches(),
            5,
            "the back-off was reset by the success"
        );
    }
}
