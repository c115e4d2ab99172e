//! Backend-for-frontend over real HTTP: the CSRF guard, the token-attaching proxy
//! (refresh, retry after an upstream 401, streaming, faults), `{base}/session` and the
//! script logout. The provider is `support/capture.rs` (OAuth 2.0 mode, tokens
//! `at-N`); the upstream API is a small server here that records what it receives.

#[path = "support/app.rs"]
mod app;
#[path = "support/capture.rs"]
mod capture;
#[path = "support/logs.rs"]
mod logs;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::{Browser, bind};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use axum_oidc_client::bff::{ApiProxy, CsrfLayer};
use axum_oidc_client::{AuthenticationLayer, Clock};
use capture::CaptureProvider;
use futures_util::StreamExt as _;
use http::StatusCode;
use serde_json::{Value, json};

const T0: i64 = 1_900_000_000;
const MB: usize = 1024 * 1024;

/// What the upstream API saw.
#[derive(Default)]
struct Upstream {
    /// `Authorization` of every request, in order.
    authorizations: Mutex<Vec<String>>,
    /// Requests to `/flaky` so far.
    flaky: AtomicUsize,
    /// Set by `/upload` when its first body chunk arrived.
    upload_started: tokio::sync::Notify,
    upload_first_seen: AtomicBool,
    /// Set by the test when its first downloaded chunk arrived.
    download_started: tokio::sync::Notify,
}

async fn record(State(u): State<Arc<Upstream>>, req: Request) -> Response {
    let h = req.headers();
    let auth = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    u.authorizations.lock().unwrap().push(auth.clone());
    let text = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Json(json!({
        "path": req.uri().path(),
        "query": req.uri().query(),
        "authorization": auth,
        "cookie": text("cookie"),
        "x_forwarded_proto": text("x-forwarded-proto"),
        "x_forwarded_host": text("x-forwarded-host"),
    }))
    .into_response()
}

/// 401 to its first request, then as `record`.
async fn flaky(State(u): State<Arc<Upstream>>, req: Request) -> Response {
    if u.flaky.fetch_add(1, Ordering::SeqCst) == 0 {
        let auth = req.headers()["authorization"].to_str().unwrap().to_owned();
        u.authorizations.lock().unwrap().push(auth);
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    record(State(u), req).await
}

/// Counts the body; notes when the first chunk arrived.
async fn upload(State(u): State<Arc<Upstream>>, body: Body) -> Response {
    let mut stream = body.into_data_stream();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        if total == 0 {
            u.upload_first_seen.store(true, Ordering::SeqCst);
            u.upload_started.notify_one();
        }
        total += chunk.len();
    }
    Json(json!({ "received": total })).into_response()
}

/// 20 chunks of 1 MiB; the last one only once the test has received the first.
async fn download(State(u): State<Arc<Upstream>>) -> Response {
    let chunks = futures_util::stream::unfold(0usize, move |i| {
        let u = u.clone();
        async move {
            if i == 20 {
                return None;
            }
            if i == 19 {
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), u.download_started.notified())
                        .await;
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(vec![b'd'; MB])), i + 1))
        }
    });
    Body::from_stream(chunks).into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

struct Rig {
    op: CaptureProvider,
    upstream: Arc<Upstream>,
    browser: Browser,
    origin: String,
    clock: Clock,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        for t in &self._tasks {
            t.abort();
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, app: Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    })
}

async fn rig_with(proxy: impl FnOnce(ApiProxy) -> ApiProxy) -> Rig {
    let op = CaptureProvider::start().await;
    op.script(|s| s.issue_refresh_tokens = true);
    let upstream = Arc::new(Upstream::default());
    let api = Router::new()
        .route("/me", get(record))
        .route("/echo/{*rest}", any(record))
        .route("/flaky", any(flaky))
        .route("/upload", post(upload))
        .route("/download", get(download))
        .route("/slow", get(slow))
        .with_state(upstream.clone());
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_origin = format!("http://{}", api_listener.local_addr().unwrap());
    let api_task = serve(api_listener, api).await;

    let bound = bind().await;
    let origin = bound.origin.clone();
    let clock = Clock::manual(T0);
    let config = op
        .oauth2_builder(&origin)
        .with_clock(clock.clone())
        .with_idle_timeout(Duration::from_secs(4 * 3600))
        .build()
        .expect("config");
    let proxy = proxy(ApiProxy::new(&api_origin).unwrap());
    let app = Router::new()
        .nest_service("/bff/api", proxy)
        .layer(CsrfLayer::new())
        .route("/", get(|| async { "home" }))
        .layer(AuthenticationLayer::with_store(config, app::memory()));
    let app_task = serve(bound.listener, app).await;
    Rig {
        op,
        upstream,
        browser: Browser::new(&origin),
        origin,
        clock,
        _tasks: vec![api_task, app_task],
    }
}

async fn rig() -> Rig {
    rig_with(|p| p).await
}

impl Rig {
    async fn signed_in() -> Self {
        let rig = rig().await;
        rig.login().await;
        rig
    }

    async fn login(&self) {
        assert_eq!(
            self.op.login(&self.browser).await.status(),
            StatusCode::SEE_OTHER
        );
    }

    fn api(&self, method: http::Method, path: &str) -> reqwest::RequestBuilder {
        self.browser
            .client
            .request(method, format!("{}{path}", self.origin))
            .header("x-csrf", "1")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.api(http::Method::GET, path).send().await.unwrap()
    }

    fn refreshes(&self) -> usize {
        self.op
            .requests_to("/token")
            .iter()
            .filter(|r| r.form_param("grant_type") == Some("refresh_token"))
            .count()
    }

    fn authorizations(&self) -> Vec<String> {
        self.upstream.authorizations.lock().unwrap().clone()
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("JSON body")
}

#[tokio::test]
async fn a_signed_in_call_with_the_header_reaches_the_api_with_the_access_token() {
    let rig = Rig::signed_in().await;
    let r = rig.get("/bff/api/me?x=1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let seen = json_of(r).await;
    assert_eq!(seen["path"], "/me");
    assert_eq!(seen["query"], "x=1");
    assert_eq!(seen["authorization"], "Bearer at-1");
    assert_eq!(
        seen["cookie"],
        Value::Null,
        "the browser's cookies stay here"
    );
    assert_eq!(seen["x_forwarded_proto"], "http");
    assert_eq!(
        seen["x_forwarded_host"].as_str(),
        rig.origin.strip_prefix("http://")
    );
}

#[tokio::test]
async fn the_browsers_own_authorization_and_cookies_are_not_forwarded() {
    let rig = Rig::signed_in().await;
    let r = rig
        .api(http::Method::GET, "/bff/api/echo/a/b")
        .header("authorization", "Bearer chosen-by-the-page")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let seen = json_of(r).await;
    assert_eq!(seen["path"], "/echo/a/b");
    assert_eq!(seen["authorization"], "Bearer at-1");
    assert_eq!(seen["cookie"], Value::Null);
}

#[tokio::test]
async fn a_call_without_the_csrf_header_gets_403_and_never_reaches_the_api() {
    let rig = Rig::signed_in().await;
    let r = rig.browser.get("/bff/api/me").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_of(r).await["error"], "forbidden");
    assert!(rig.authorizations().is_empty());
}

#[tokio::test]
async fn a_call_from_another_origin_gets_403_even_with_the_header() {
    let rig = Rig::signed_in().await;
    let r = rig
        .api(http::Method::POST, "/bff/api/echo/x")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(rig.authorizations().is_empty());
}

#[tokio::test]
async fn a_call_without_a_session_gets_401_json_not_a_redirect() {
    let rig = rig().await;
    let r = rig.get("/bff/api/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(r).await["error"], "unauthenticated");
    assert!(rig.authorizations().is_empty());
}

#[tokio::test]
async fn a_path_with_an_encoded_slash_gets_400() {
    let rig = Rig::signed_in().await;
    let r = rig.get("/bff/api/a%2f..%2fadmin").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(rig.authorizations().is_empty());
}

#[tokio::test]
async fn fifty_concurrent_calls_with_an_expired_token_share_one_refresh() {
    let rig = Rig::signed_in().await;
    rig.clock.advance(Duration::from_secs(3600));
    let calls = (0..50).map(|_| rig.get("/bff/api/me"));
    let answers = futures_util::future::join_all(calls).await;
    for r in answers {
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(json_of(r).await["authorization"], "Bearer at-2");
    }
    assert_eq!(rig.refreshes(), 1);
}

#[tokio::test]
async fn an_upstream_401_gets_one_refresh_and_one_retry() {
    let rig = Rig::signed_in().await;
    let r = rig
        .api(http::Method::POST, "/bff/api/flaky")
        .body("small body")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json_of(r).await["authorization"], "Bearer at-2");
    assert_eq!(rig.authorizations(), ["Bearer at-1", "Bearer at-2"]);
    assert_eq!(rig.refreshes(), 1);
    assert_eq!(
        rig.upstream.flaky.load(Ordering::SeqCst),
        2,
        "exactly one retry"
    );
    // The session keeps the new token.
    assert_eq!(
        json_of(rig.get("/bff/api/me").await).await["authorization"],
        "Bearer at-2"
    );
}

#[tokio::test]
async fn an_upstream_401_without_a_refresh_token_is_handed_to_the_browser() {
    let rig = rig().await;
    rig.op.script(|s| s.issue_refresh_tokens = false);
    rig.login().await;
    let r = rig.get("/bff/api/flaky").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(rig.refreshes(), 0);
    assert_eq!(rig.upstream.flaky.load(Ordering::SeqCst), 1);
}

/// A body that yields 20 chunks of 1 MiB; the last only once `gate` fires (or after
/// 10 s, when the test then fails).
fn gated_upload(upstream: Arc<Upstream>) -> reqwest::Body {
    let chunks = futures_util::stream::unfold(0usize, move |i| {
        let u = upstream.clone();
        async move {
            if i == 20 {
                return None;
            }
            if i == 19 && !u.upload_first_seen.load(Ordering::SeqCst) {
                let _ = tokio::time::timeout(Duration::from_secs(10), u.upload_started.notified())
                    .await;
            }
            let frame = http_body::Frame::data(Bytes::from(vec![b'u'; MB]));
            Some((Ok::<_, std::io::Error>(frame), i + 1))
        }
    });
    reqwest::Body::wrap(http_body_util::StreamBody::new(chunks))
}

#[tokio::test]
async fn a_20_mib_upload_streams_through_without_being_gathered() {
    let rig = Rig::signed_in().await;
    let r = rig
        .api(http::Method::POST, "/bff/api/upload")
        .body(gated_upload(rig.upstream.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json_of(r).await["received"], 20 * MB);
    assert!(
        rig.upstream.upload_first_seen.load(Ordering::SeqCst),
        "the upstream got the first chunk"
    );
}

#[tokio::test]
async fn a_20_mib_download_streams_through_without_being_gathered() {
    let rig = Rig::signed_in().await;
    let mut r = rig.get("/bff/api/download").await;
    assert_eq!(r.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    let mut total = 0usize;
    while let Some(chunk) = r.chunk().await.unwrap() {
        if total == 0 {
            rig.upstream.download_started.notify_one();
        }
        total += chunk.len();
    }
    assert_eq!(total, 20 * MB);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the last chunk waited for the first to reach the browser"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let rig = rig_with(|p| p.with_max_body(1024)).await;
    rig.login().await;
    let r = rig
        .api(http::Method::POST, "/bff/api/upload")
        .body(vec![0u8; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let chunks = futures_util::stream::iter(
        (0..8)
            .map(|_| Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from(vec![0u8; 512])))),
    );
    let r = rig
        .api(http::Method::POST, "/bff/api/upload")
        .body(reqwest::Body::wrap(http_body_util::StreamBody::new(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "a body of unknown length too"
    );
}

#[tokio::test]
async fn an_upstream_that_answers_too_late_gives_504_json() {
    let rig = rig_with(|p| p.with_timeout(Duration::from_secs(1)).unwrap()).await;
    rig.login().await;
    let r = rig.get("/bff/api/slow").await;
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(json_of(r).await["error"], "gateway_timeout");
}

#[tokio::test]
async fn an_unreachable_upstream_gives_502_json_and_logs_no_query() {
    let logs = logs::capture();
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let config = op.oauth2_builder(&origin).build().unwrap();
    let app = Router::new()
        .nest_service("/bff/api", ApiProxy::new(closed).unwrap())
        .layer(CsrfLayer::new())
        .layer(AuthenticationLayer::with_store(config, app::memory()));
    let _task = serve(bound.listener, app).await;
    let browser = Browser::new(&origin);
    op.login(&browser).await;
    let r = browser
        .client
        .get(format!("{origin}/bff/api/me?secret-of-the-browser=1"))
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(json_of(r).await["error"], "bad_gateway");
    let lines = logs.lines().join("\n");
    assert!(lines.contains("upstream API failed"), "{lines}");
    assert!(!lines.contains("secret-of-the-browser"), "{lines}");
}

#[tokio::test]
async fn the_session_endpoint_answers_401_json_without_a_session() {
    let rig = rig().await;
    let r = rig.browser.get("/auth/session").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v = json_of(r).await;
    assert_eq!(v["authenticated"], false);
    assert_eq!(v["login_url"], "/auth/login");
}

#[tokio::test]
async fn the_session_endpoint_shows_the_claims_subset_and_expiry() {
    let rig = Rig::signed_in().await;
    let r = rig.browser.get("/auth/session").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = json_of(r).await;
    assert_eq!(v["authenticated"], true);
    assert_eq!(v["claims"]["sub"], "42");
    assert_eq!(v["claims"]["name"], "Octo Cat");
    assert!(
        v["claims"].get("login").is_none(),
        "not in the default subset"
    );
    assert!(v["expires_at"].as_i64().unwrap() > T0);
    assert_eq!(v["logout"]["url"], "/auth/logout");
    assert!(v.to_string().find("at-1").is_none(), "no token");
}

#[tokio::test]
async fn a_script_logout_with_the_header_answers_json_and_ends_the_session() {
    let rig = Rig::signed_in().await;
    let r = rig
        .api(http::Method::POST, "/auth/logout")
        .header("origin", &rig.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = json_of(r).await;
    assert_eq!(v["signed_out"], true);
    assert_eq!(
        v["redirect_to"], "/",
        "local logout: the application's home"
    );
    assert_eq!(
        rig.get("/bff/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        rig.browser.get("/auth/session").await.status(),
        StatusCode::UNAUTHORIZED
    );
}
