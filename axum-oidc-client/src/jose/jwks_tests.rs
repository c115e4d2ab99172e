//! The refetch limits of the JWKS cache against a real HTTP server on 127.0.0.1.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::super::alg::SigningAlgorithm;
use super::*;

const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// A JWKS endpoint that counts its fetches, answers after `delay`, and answers 500
/// while `failing`; its keys carry the `Cache-Control` value set, if any.
#[derive(Clone)]
struct Endpoint {
    fetches: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    cache_control: Arc<Mutex<Option<&'static str>>>,
    uri: url::Url,
}

impl Endpoint {
    async fn start(failing: bool, delay: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicBool::new(failing));
        let cache_control = Arc::new(Mutex::new(None));
        let (f, fail, cc) = (fetches.clone(), failing.clone(), cache_control.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (f, fail, cc) = (f.clone(), fail.clone(), cc.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    if fail.load(Ordering::SeqCst) {
                        return Err(http::StatusCode::INTERNAL_SERVER_ERROR);
                    }
                    let body = format!(
                        r#"{{"keys":[{{"kty":"EC","crv":"P-256","kid":"known","x":"{EC_X}","y":"{EC_Y}"}}]}}"#
                    );
                    let mut resp = http::Response::new(axum::body::Body::from(body));
                    if let Some(v) = *cc.lock().unwrap() {
                        resp.headers_mut().insert(
                            http::header::CACHE_CONTROL,
                            http::HeaderValue::from_static(v),
                        );
                    }
                    Ok(resp)
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            fetches,
            failing,
            cache_control,
            uri: uri.parse().unwrap(),
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn cache_control(&self, value: &'static str) {
        *self.cache_control.lock().unwrap() = Some(value);
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

#[test]
fn cache_control_max_age_is_read_and_clamped_to_a_minute_and_a_day() {
    let secs = |v: &str| {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CACHE_CONTROL, v.parse().unwrap());
        cache_control_max_age(&h).map(|d| d.as_secs())
    };
    assert_eq!(secs("public, max-age=600, must-revalidate"), Some(600));
    assert_eq!(secs("Max-Age=\"900\""), Some(900));
    assert_eq!(secs("max-age=31536000"), Some(24 * 3600));
    assert_eq!(secs("s-maxage=600"), None, "only max-age counts");
    // Stale (zero) is still kept a minute: never a fetch per request.
    assert_eq!(secs("max-age=0"), Some(60));
    assert_eq!(secs("no-store"), Some(60));
    assert_eq!(secs("max-age=soon"), Some(60));
}

#[tokio::test]
async fn keys_are_kept_for_the_max_age_of_the_jwks_response() {
    let endpoint = Endpoint::start(false, Duration::ZERO).await;
    // Without Cache-Control the configured max age applies: zero, a fetch each time.
    let cache = endpoint.cache().with_max_age(Duration::ZERO);
    cache.keys().await.unwrap();
    cache.keys().await.unwrap();
    assert_eq!(endpoint.fetches(), 2);
    // With it, the response's max-age wins, and below a minute counts as a minute.
    endpoint.cache_control("max-age=0");
    let cache = endpoint.cache().with_max_age(Duration::ZERO);
    cache.keys().await.unwrap();
    cache.keys().await.unwrap();
    assert_eq!(
        endpoint.fetches(),
        3,
        "max-age=0 keeps the keys for a minute"
    );
    assert!(cache.next_refresh_in() > Duration::from_secs(55));
}

#[tokio::test]
async fn refresh_if_stale_fetches_only_stale_keys() {
    let endpoint = Endpoint::start(false, Duration::ZERO).await;
    let cache = endpoint.cache();
    assert_eq!(cache.next_refresh_in(), Duration::ZERO, "never fetched");
    cache.refresh_if_stale().await.unwrap();
    cache.refresh_if_stale().await.unwrap();
    assert_eq!(endpoint.fetches(), 1, "fresh keys are not fetched again");
    assert!(cache.next_refresh_in() > Duration::from_secs(3500));
    let stale = endpoint.cache().with_max_age(Duration::ZERO);
    stale.refresh_if_stale().await.unwrap();
    stale.refresh_if_stale().await.unwrap();
    assert_eq!(endpoint.fetches(), 3);
}

#[tokio::test]
async fn a_failed_refetch_keeps_the_last_good_keys_warns_once_and_is_counted() {
    use crate::observe::JWKS_FETCHES_TOTAL;
    use crate::observe::testing::{Logs, Recorded};

    let mut metrics = Recorded::start();
    let logs = Logs::start();
    let endpoint = Endpoint::start(false, Duration::ZERO).await;
    let step = Duration::from_millis(20);
    let cache = endpoint
        .cache()
        .with_max_age(Duration::ZERO)
        .with_backoff(step, step);
    cache.keys().await.unwrap();
    endpoint.fail(true);
    for _ in 0..3 {
        let keys = cache.keys().await.expect("the last good keys");
        assert!(keys.by_kid("known").is_some());
        tokio::time::sleep(step * 2).await;
    }
    assert_eq!(endpoint.fetches(), 4);
    let warned = logs.matching(&[" WARN ", "JWKS fetch failed"]);
    assert_eq!(warned.len(), 1, "{:#?}", logs.lines());
    assert!(
        warned[0].contains("JWKS endpoint answered 500"),
        "{}",
        warned[0]
    );
    assert!(
        warned[0].contains("keeping the last good keys"),
        "{}",
        warned[0]
    );
    let outcome = |m: &mut Recorded, o| m.counter(JWKS_FETCHES_TOTAL, &[("outcome", o)]);
    assert_eq!(outcome(&mut metrics, "ok"), 1, "{}", metrics.all());
    assert_eq!(outcome(&mut metrics, "error"), 3);
    // An unknown kid right after the last attempt is refused by the rate limit.
    endpoint.fail(false);
    let fresh = endpoint.cache();
    fresh.keys().await.unwrap();
    burst(&fresh, 1).await;
    assert_eq!(outcome(&mut metrics, "rate_limited"), 1);
    assert_eq!(outcome(&mut metrics, "ok"), 2);
}
