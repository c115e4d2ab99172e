//! Full flows over real HTTP against the embedded development provider.

#[path = "support/app.rs"]
mod app;
#[path = "support/faulty_store.rs"]
mod faulty_store;

use std::sync::Arc;
use std::time::Duration;

use app::{Browser, bind, layer, location, memory, serve, set_cookies};
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{OAuthConfiguration, OAuthConfigurationBuilder};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;

const SECRET: &str = "flow-client-secret";

struct Setup {
    op: RunningProvider,
    origin: String,
    browser: Browser,
    _server: tokio::task::JoinHandle<()>,
}

async fn provider(
    origin: &str,
    tweak: impl FnOnce(DevProviderConfig) -> DevProviderConfig,
) -> RunningProvider {
    let client =
        ClientRegistration::confidential("flow", SECRET, format!("{origin}/auth/callback"))
            .with_post_logout_redirect_uri(format!("{origin}/auth/logout/callback"))
            .with_backchannel_logout_uri(format!("{origin}/auth/backchannel-logout"));
    DevProvider::start(tweak(DevProviderConfig::default().with_client(client)))
        .await
        .expect("dev provider")
}

async fn config(op: &RunningProvider, origin: &str) -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id("flow")
        .with_client_secret(SECRET)
        .with_app_url(origin)
        .with_scopes(["openid", "profile", "email", "offline_access"])
        .with_issuer(op.issuer())
        .await
        .expect("discovery")
        .build()
        .expect("config")
}

async fn setup_with(store: SharedStore) -> Setup {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = provider(&origin, |c| c).await;
    let cfg = config(&op, &origin).await;
    let server = serve(bound, layer(cfg, store));
    Setup {
        op,
        browser: Browser::new(&origin),
        origin,
        _server: server,
    }
}

async fn setup() -> Setup {
    setup_with(memory()).await
}

#[tokio::test]
async fn full_login_creates_a_session_and_redirects_with_303_to_next() {
    let s = setup().await;
    let done = s.browser.login_as("alice", "/protected?x=1").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/protected?x=1");
    let cookies = set_cookies(&done);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("axum_oidc_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/")
    );
    assert!(!session.contains("Secure"), "http app url: no Secure");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("axum_oidc_login_") && c.contains("Max-Age=0")),
        "login cookie cleared"
    );

    let me: serde_json::Value = s.browser.get("/me").await.json().await.unwrap();
    assert_eq!(me["sub"], "user-alice");
    assert_eq!(me["claims"]["email"], "alice@example.com");
    assert_eq!(s.browser.get("/protected").await.status(), StatusCode::OK);
    assert_eq!(s.op.stats().authorization_code_grants, 1);
}

#[tokio::test]
async fn login_start_sets_an_encrypted_short_lived_cookie_and_uses_pkce_s256() {
    let s = setup().await;
    let r = s.browser.get("/auth/login?next=/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let auth = url::Url::parse(&location(&r)).unwrap();
    let q: std::collections::HashMap<_, _> = auth.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43 && q["code_challenge"].len() == 43);
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_login_"))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Path=/auth")
            && cookie.contains("Max-Age=600")
    );
    assert!(
        !cookie.contains(&q["state"]) && !cookie.contains(&q["nonce"]),
        "login cookie is encrypted"
    );
}

#[tokio::test]
async fn two_tabs_logging_in_at_once_both_succeed() {
    let s = setup().await;
    let tab1 = s.browser.start_login("/one").await;
    let tab2 = s.browser.start_login("/two").await;
    let provider = app::no_redirect_client();
    let back1 = location(
        &provider
            .get(format!("{tab1}&login_hint=alice"))
            .send()
            .await
            .unwrap(),
    );
    let back2 = location(
        &provider
            .get(format!("{tab2}&login_hint=alice"))
            .send()
            .await
            .unwrap(),
    );
    let done2 = s.browser.finish_login(&back2).await;
    let done1 = s.browser.finish_login(&back1).await;
    assert_eq!(
        (done1.status(), location(&done1)),
        (StatusCode::SEE_OTHER, "/one".to_owned())
    );
    assert_eq!(
        (done2.status(), location(&done2)),
        (StatusCode::SEE_OTHER, "/two".to_owned())
    );
    assert_eq!(s.browser.get("/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_replayed_callback_creates_no_second_session() {
    let s = setup().await;
    let auth = s.browser.start_login("/").await;
    let provider = app::no_redirect_client();
    let back = location(
        &provider
            .get(format!("{auth}&login_hint=bob"))
            .send()
            .await
            .unwrap(),
    );
    let first = s.browser.finish_login(&back).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let grants_before = s.op.stats().authorization_code_grants;
    // Same browser, same URL again: the login cookie was cleared, and the state is burnt.
    let second = s.browser.get(&back).await;
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    assert!(
        set_cookies(&second)
            .iter()
            .all(|c| !c.starts_with("axum_oidc_session="))
    );
    assert_eq!(
        s.op.stats().authorization_code_grants,
        grants_before,
        "no second code exchange"
    );
}

#[tokio::test]
async fn an_existing_session_cookie_is_never_reused_at_login() {
    let s = setup().await;
    let first = s.browser.login_as("alice", "/").await;
    let old = set_cookies(&first)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_session="))
        .unwrap();
    let again = s.browser.login_as("alice", "/").await;
    let new = set_cookies(&again)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_session="))
        .unwrap();
    assert_ne!(
        old.split(';').next(),
        new.split(';').next(),
        "a brand-new session id"
    );
    // The old id no longer works.
    let stale = app::no_redirect_client();
    let r = stale
        .get(format!("{}/me", s.origin))
        .header("cookie", old.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn browser_navigation_without_session_is_redirected_to_login_returning_to_the_same_url() {
    let s = setup().await;
    let r = s.browser.get("/protected?x=1&y=%2F").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        "/auth/login?next=%2Fprotected%3Fx%3D1%26y%3D%252F"
    );
}

#[tokio::test]
async fn api_requests_without_session_get_401_json_with_www_authenticate() {
    let s = setup().await;
    let cases: [(&str, &str); 3] = [
        ("accept", "application/json"),
        ("x-requested-with", "XMLHttpRequest"),
        ("sec-fetch-mode", "cors"),
    ];
    for (h, v) in cases {
        let r = s
            .browser
            .client
            .get(format!("{}/protected", s.origin))
            .header(h, v)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{h}");
        assert!(r.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unauthenticated");
    }
    let nav = s
        .browser
        .client
        .get(format!("{}/protected", s.origin))
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(nav.status(), StatusCode::SEE_OTHER);
    // A router configured for 401 answers 401 whatever the Accept header.
    let r = s
        .browser
        .client
        .get(format!("{}/me", s.origin))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn attacker_input_gets_a_4xx_never_a_5xx() {
    let s = setup().await;
    let raw = app::no_redirect_client();
    let get = |path: &str, cookie: Option<String>| {
        let mut rb = raw.get(format!("{}{path}", s.origin));
        if let Some(c) = cookie {
            rb = rb.header("cookie", c);
        }
        rb.send()
    };
    for q in [
        "",
        "?code=a",
        "?state=a&state=b",
        "?code=x&state=y",
        "?%ff%fe=%00",
        "?error=access_denied&state=z",
    ] {
        let r = get(&format!("/auth/callback{q}"), None).await.unwrap();
        assert!(r.status().is_client_error(), "{q}: {}", r.status());
        assert!(!r.text().await.unwrap().contains("panick"));
    }
    let huge_state = "s".repeat(20_000);
    let r = get(&format!("/auth/callback?state={huge_state}&code=c"), None)
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    for cookie in [
        "axum_oidc_session=garbage".to_owned(),
        "axum_oidc_session=".to_owned(),
        format!("axum_oidc_session={}", "A".repeat(12_000)),
        "axum_oidc_session=\u{7f}\u{1}".to_owned(),
        "axum_oidc_login_abc=tampered".to_owned(),
    ] {
        let Ok(r) = get("/me", Some(cookie.clone())).await else {
            continue;
        };
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{cookie:.40}");
        let r = get("/", Some(cookie.clone())).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = raw
        .post(format!("{}/auth/login", s.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_tampered_session_cookie_is_cleared_and_treated_as_anonymous() {
    let s = setup().await;
    let done = s.browser.login_as("alice", "/").await;
    let cookie = set_cookies(&done)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_session="))
        .unwrap();
    let pair = cookie.split(';').next().unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    let mut bytes = value.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{name}={}", String::from_utf8(bytes).unwrap());
    let raw = app::no_redirect_client();
    let r = raw
        .get(format!("{}/me", s.origin))
        .header("cookie", tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=;") && c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn a_provider_that_is_down_at_the_callback_gives_503_and_no_session() {
    let s = setup().await;
    let auth = s.browser.start_login("/").await;
    let provider = app::no_redirect_client();
    let back = location(
        &provider
            .get(format!("{auth}&login_hint=alice"))
            .send()
            .await
            .unwrap(),
    );
    s.op.shutdown().await;
    let r = s.browser.finish_login(&back).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert!(
        set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("axum_oidc_session="))
    );
    assert_eq!(
        s.browser.get("/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_store_outage_gives_503_not_a_logout_and_recovers() {
    let flaky = faulty_store::FaultyStore::new(memory());
    let s = setup_with(Arc::new(flaky.clone())).await;
    assert_eq!(
        s.browser.login_as("alice", "/").await.status(),
        StatusCode::SEE_OTHER
    );
    flaky.set_down(true);
    let r = s.browser.get("/me").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert!(set_cookies(&r).is_empty(), "the session cookie is kept");
    let r = s.browser.get("/protected").await;
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not a redirect to login"
    );
    assert_eq!(
        s.browser.get("/").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    flaky.set_down(false);
    let r = s.browser.get("/me").await;
    assert_eq!(r.status(), StatusCode::OK, "the same session works again");
}

#[tokio::test]
async fn a_store_outage_gives_a_browser_an_html_503_and_an_api_call_json() {
    let flaky = faulty_store::FaultyStore::new(memory());
    let s = setup_with(Arc::new(flaky.clone())).await;
    s.browser.login_as("alice", "/").await;
    flaky.set_down(true);
    let content_type = |r: &reqwest::Response| {
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    for path in ["/", "/protected"] {
        let page = s
            .browser
            .client
            .get(format!("{}{path}", s.origin))
            .header("accept", "text/html,application/xhtml+xml")
            .header("sec-fetch-mode", "navigate")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(page.headers().contains_key("retry-after"), "{path}");
        assert!(
            content_type(&page).starts_with("text/html"),
            "a browser navigation to {path} gets a page, not {}",
            content_type(&page)
        );
        assert!(page.text().await.unwrap().contains("try again"));
    }
    let api = s.browser.get_json("/me").await;
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(api.headers().contains_key("retry-after"));
    assert_eq!(content_type(&api), "application/json");
    assert_eq!(
        api.text().await.unwrap(),
        r#"{"error":"temporarily_unavailable"}"#
    );
}

#[tokio::test]
async fn a_store_failure_during_login_gives_an_error_page_and_no_session() {
    let flaky = faulty_store::FaultyStore::new(memory());
    let s = setup_with(Arc::new(flaky.clone())).await;
    let auth = s.browser.start_login("/").await;
    let provider = app::no_redirect_client();
    let back = location(
        &provider
            .get(format!("{auth}&login_hint=alice"))
            .send()
            .await
            .unwrap(),
    );
    flaky.set_down(true);
    let r = s.browser.finish_login(&back).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("axum_oidc_session="))
    );
}

#[tokio::test]
async fn local_logout_deletes_the_session_clears_the_cookie_and_revokes_tokens() {
    let s = setup().await;
    s.browser.login_as("alice", "/").await;
    let r = s.browser.logout().await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=;") && c.contains("Max-Age=0"))
    );
    assert_eq!(
        s.browser.get("/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Revocation happens in the background.
    for _ in 0..50 {
        if s.op.stats().revocations >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        s.op.stats().revocations >= 1,
        "refresh token revoked at the provider"
    );
}

#[tokio::test]
async fn cross_site_post_logout_is_refused() {
    let s = setup().await;
    s.browser.login_as("alice", "/").await;
    let r = s
        .browser
        .client
        .post(format!("{}/auth/logout", s.origin))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        s.browser.get("/me").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let r = s
        .browser
        .client
        .post(format!("{}/auth/logout", s.origin))
        .header("origin", s.origin.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        s.browser.get("/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn provider_logout_ends_the_session_through_back_channel_logout() {
    let s = setup().await;
    s.browser.login_as("alice", "/").await;
    let other = Browser::new(&s.origin);
    other.login_as("bob", "/").await;
    let sent = s.op.logout_subject("user-alice").await;
    assert_eq!(sent, 1, "one logout token accepted by the app");
    assert_eq!(
        s.browser.get("/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other.get("/me").await.status(),
        StatusCode::OK,
        "bob's session is untouched"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_transparently() {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = provider(&origin, |c| c.with_access_token_ttl(Duration::from_secs(2))).await;
    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("flow")
        .with_client_secret(SECRET)
        .with_app_url(&origin)
        .with_scopes(["openid", "offline_access"])
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(op.issuer())
        .await
        .unwrap()
        .build()
        .unwrap();
    let _server = serve(bound, layer(cfg, memory()));
    let s = Setup {
        op,
        browser: Browser::new(&origin),
        origin,
        _server,
    };
    s.browser.login_as("carol", "/").await;
    let before = s.browser.get("/token").await.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = s.browser.get("/token").await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_ne!(after.text().await.unwrap(), before);
    assert_eq!(s.op.stats().refresh_grants, 1);
}

#[tokio::test]
async fn a_revoked_grant_ends_the_session_cleanly_at_the_next_refresh() {
    let bound = bind().await;
    let origin = bound.origin.clone();
    // No back-channel logout URI: only the refresh can notice the revoked grant.
    let client =
        ClientRegistration::confidential("flow", SECRET, format!("{origin}/auth/callback"));
    let op = DevProvider::start(
        DevProviderConfig::default()
            .with_client(client)
            .with_access_token_ttl(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("flow")
        .with_client_secret(SECRET)
        .with_app_url(&origin)
        .with_scopes(["openid", "offline_access"])
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(op.issuer())
        .await
        .unwrap()
        .build()
        .unwrap();
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);
    browser.login_as("alice", "/").await;
    // End the user's provider session: this revokes the refresh token.
    assert_eq!(browser.get("/token").await.status(), StatusCode::OK);
    assert_eq!(
        op.state().logout_subject("user-alice").await,
        0,
        "no logout token delivered"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = browser.get("/me").await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "invalid_grant ends the session"
    );
    let r = browser.get("/protected").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "and the next navigation logs in again"
    );
}

/// Fails every `refresh_token` grant at the provider's token endpoint while
/// `failing` is set. The failure is held back until `release` is set, so that the
/// test can let concurrent requests pile up behind the first refresh.
#[derive(Default)]
struct RefreshOutage {
    failing: std::sync::atomic::AtomicBool,
    release: std::sync::atomic::AtomicBool,
    refused: std::sync::atomic::AtomicU64,
}

/// Polls `done` every 10 ms for up to 20 s.
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn refuse_refresh_grants(
    axum::extract::State(outage): axum::extract::State<Arc<RefreshOutage>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use std::sync::atomic::Ordering;
    if !req.uri().path().ends_with("/token") || !outage.failing.load(Ordering::SeqCst) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let form = axum::body::to_bytes(body, 64 * 1024).await.unwrap();
    let is_refresh = url::form_urlencoded::parse(&form)
        .any(|(name, value)| name == "grant_type" && value == "refresh_token");
    if !is_refresh {
        return next
            .run(axum::extract::Request::from_parts(parts, form.into()))
            .await;
    }
    outage.refused.fetch_add(1, Ordering::SeqCst);
    wait_until("the test releases the refresh", || {
        outage.release.load(Ordering::SeqCst)
    })
    .await;
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("content-type", "application/json")],
        r#"{"error":"temporarily_unavailable"}"#,
    )
        .into_response()
}

/// Requests that wait for the same refresh share its failure: the provider sees one
/// refresh grant, not one per waiting request, and every request gets 503 (not a
/// logout). Once the provider is back, the next request refreshes and succeeds.
#[tokio::test]
async fn requests_waiting_for_a_failed_refresh_share_its_failure() {
    use std::sync::atomic::Ordering;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let client =
        ClientRegistration::confidential("flow", SECRET, format!("{origin}/auth/callback"));
    let provider_config = DevProviderConfig::default()
        .with_client(client)
        .with_access_token_ttl(Duration::from_secs(2));
    let state = {
        let issuer = issuer.clone();
        tokio::task::spawn_blocking(move || {
            oidc_dev_provider::ProviderState::new(provider_config, &issuer)
        })
        .await
        .unwrap()
        .unwrap()
    };
    let outage = Arc::new(RefreshOutage::default());
    let provider_app = oidc_dev_provider::router(state.clone()).layer(
        axum::middleware::from_fn_with_state(outage.clone(), refuse_refresh_grants),
    );
    let provider_task = tokio::spawn(async move {
        let _ = axum::serve(listener, provider_app).await;
    });

    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("flow")
        .with_client_secret(SECRET)
        .with_app_url(&origin)
        .with_scopes(["openid", "offline_access"])
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(&issuer)
        .await
        .unwrap()
        .build()
        .unwrap();
    let store = faulty_store::FaultyStore::new(memory());
    let _server = serve(bound, layer(cfg, Arc::new(store.clone())));
    let browser = Browser::new(&origin);
    browser.login_as("alice", "/").await;
    let before = browser.get("/token").await.text().await.unwrap();

    // Let the access token expire, then take the provider's refresh down.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    outage.failing.store(true, Ordering::SeqCst);
    let reads_before = store.calls("get");
    let burst = {
        let browser = browser.clone();
        tokio::spawn(async move {
            futures_util::future::join_all((0..16).map(|_| browser.get("/token"))).await
        })
    };
    // Every request reads its session once, then joins the refresh in flight; the
    // refresh stays at the provider until all 16 have read.
    wait_until("16 session reads and one refresh at the provider", || {
        store.calls("get") >= reads_before + 16 && outage.refused.load(Ordering::SeqCst) >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    outage.release.store(true, Ordering::SeqCst);
    let answers = burst.await.unwrap();
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE),
        "every waiting request gets 503 while the provider is down: {statuses:?}"
    );
    assert_eq!(
        outage.refused.load(Ordering::SeqCst),
        1,
        "the waiting requests shared one refresh attempt"
    );
    assert_eq!(state.stats().refresh_grants, 0);

    // The provider is back: the same session refreshes on the next request.
    outage.failing.store(false, Ordering::SeqCst);
    let after = browser.get("/token").await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_ne!(after.text().await.unwrap(), before);
    assert_eq!(state.stats().refresh_grants, 1);
    assert_eq!(outage.refused.load(Ordering::SeqCst), 1);
    provider_task.abort();
}

/// RFC 6265 section 6.1: a browser keeps a cookie of at least 4,096 bytes (name, value
/// and attributes); a longer login cookie may be dropped, and the login fails. A `next`
/// that JSON escaping would blow up past that falls back to `/`; the login still works.
#[tokio::test]
async fn the_login_cookie_fits_the_browser_whatever_the_next_and_login_still_works() {
    let s = setup().await;
    let longest = axum_oidc_client::__private::redirect::MAX_NEXT_LEN - 1;
    for (next, returns_to) in [
        (format!("/{}", "\"".repeat(longest)), "/".to_owned()),
        (format!("/q?{}", "\"".repeat(1500)), "/".to_owned()),
        (
            format!("/{}", "a".repeat(longest)),
            format!("/{}", "a".repeat(longest)),
        ),
    ] {
        let start = s
            .browser
            .get(&format!("/auth/login?next={}", app::urlencode(&next)))
            .await;
        assert_eq!(start.status(), StatusCode::SEE_OTHER);
        let login_cookie = set_cookies(&start)
            .into_iter()
            .find(|c| c.starts_with("axum_oidc_login_"))
            .expect("login cookie");
        assert!(
            login_cookie.len() <= 4096,
            "the login cookie is {} bytes for a next of {} bytes",
            login_cookie.len(),
            next.len()
        );
        let provider = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let back = location(
            &provider
                .get(format!("{}&login_hint=alice", location(&start)))
                .send()
                .await
                .unwrap(),
        );
        let done = s.browser.finish_login(&back).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&done), returns_to);
        assert_eq!(s.browser.get("/me").await.status(), StatusCode::OK);
    }
}

/// A login started by a cookie-less client: the `state` and the login cookie
/// (`name=value`) an anonymous client gets for free from `GET /auth/login`.
async fn free_login_cookie(client: &reqwest::Client, origin: &str) -> (String, String) {
    let start = client
        .get(format!("{origin}/auth/login?next=%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookies(&start)[0].split(';').next().unwrap().to_owned();
    let auth = url::Url::parse(&location(&start)).unwrap();
    let state = auth
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    (state, cookie)
}

/// RFC 6749 10.12 binds the response to the browser, but the login cookie is free:
/// a callback with a made-up code must cost the shared store nothing.
#[tokio::test]
async fn a_callback_with_a_junk_code_writes_nothing_to_the_store() {
    let store = faulty_store::FaultyStore::new(memory());
    let s = setup_with(Arc::new(store.clone())).await;
    let client = app::no_redirect_client();
    for _ in 0..3 {
        let (state, cookie) = free_login_cookie(&client, &s.origin).await;
        let r = client
            .get(format!(
                "{}/auth/callback?code=junk&state={}&iss={}",
                s.origin,
                app::urlencode(&state),
                app::urlencode(s.op.issuer())
            ))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(store.writes(), 0, "junk callbacks wrote to the store");
    assert_eq!(s.op.stats().authorization_code_grants, 0);
    // A real login still writes its session.
    assert_eq!(
        s.browser.login_as("alice", "/").await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(store.writes() >= 1);
}

/// Holds every `authorization_code` grant at the provider until `release` is set,
/// counting how many arrive and how many are held at once.
#[derive(Default)]
struct CodeGrantGate {
    release: std::sync::atomic::AtomicBool,
    arrived: std::sync::atomic::AtomicU64,
    held: std::sync::atomic::AtomicU64,
    most_held: std::sync::atomic::AtomicU64,
}

async fn hold_code_grants(
    axum::extract::State(gate): axum::extract::State<Arc<CodeGrantGate>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use std::sync::atomic::Ordering;
    if !req.uri().path().ends_with("/token") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let form = axum::body::to_bytes(body, 64 * 1024).await.unwrap();
    let is_code = url::form_urlencoded::parse(&form)
        .any(|(name, value)| name == "grant_type" && value == "authorization_code");
    if is_code {
        gate.arrived.fetch_add(1, Ordering::SeqCst);
        let now = gate.held.fetch_add(1, Ordering::SeqCst) + 1;
        gate.most_held.fetch_max(now, Ordering::SeqCst);
        wait_until("the test releases the code grants", || {
            gate.release.load(Ordering::SeqCst)
        })
        .await;
        gate.held.fetch_sub(1, Ordering::SeqCst);
    }
    next.run(axum::extract::Request::from_parts(parts, form.into()))
        .await
}

/// The dev provider behind a [`CodeGrantGate`], and an application in front of it.
async fn gated_setup() -> (
    String,
    String,
    Arc<CodeGrantGate>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let client =
        ClientRegistration::confidential("flow", SECRET, format!("{origin}/auth/callback"));
    let provider_config = DevProviderConfig::default().with_client(client);
    let state = {
        let issuer = issuer.clone();
        tokio::task::spawn_blocking(move || {
            oidc_dev_provider::ProviderState::new(provider_config, &issuer)
        })
        .await
        .unwrap()
        .unwrap()
    };
    let gate = Arc::new(CodeGrantGate::default());
    let provider_app = oidc_dev_provider::router(state).layer(
        axum::middleware::from_fn_with_state(gate.clone(), hold_code_grants),
    );
    let provider_task = tokio::spawn(async move {
        let _ = axum::serve(listener, provider_app).await;
    });
    let cfg = config_for_issuer(&issuer, &origin).await;
    let server = serve(bound, layer(cfg, memory()));
    (origin, issuer, gate, vec![provider_task, server])
}

async fn config_for_issuer(issuer: &str, origin: &str) -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id("flow")
        .with_client_secret(SECRET)
        .with_app_url(origin)
        .with_issuer(issuer)
        .await
        .unwrap()
        .build()
        .unwrap()
}

/// What an anonymous client can make the server send to the provider is bounded:
/// concurrent callbacks for one login `state` share one code exchange, and across
/// states at most `MAX_CODE_EXCHANGES_IN_FLIGHT` exchanges run at once; the rest get
/// 503 with `Retry-After` without the provider being called.
#[tokio::test]
async fn a_flood_of_junk_callbacks_reaches_the_token_endpoint_a_bounded_number_of_times() {
    use std::sync::atomic::Ordering;
    let (origin, issuer, gate, tasks) = gated_setup().await;
    let client = app::no_redirect_client();
    let callback = |state: &str, cookie: &str, code: usize| {
        client
            .get(format!(
                "{origin}/auth/callback?code=junk-{code}&state={}&iss={}",
                app::urlencode(state),
                app::urlencode(&issuer)
            ))
            .header("cookie", cookie.to_owned())
            .send()
    };

    // One login cookie, 80 concurrent callbacks with junk codes.
    let (state, cookie) = free_login_cookie(&client, &origin).await;
    let flood = futures_util::future::join_all((0..80).map(|i| callback(&state, &cookie, i)));
    let flood = tokio::spawn(flood);
    wait_until("the first exchange at the provider", || {
        gate.arrived.load(Ordering::SeqCst) >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    gate.release.store(true, Ordering::SeqCst);
    let answers = flood.await.unwrap();
    assert!(
        answers
            .iter()
            .all(|r| r.as_ref().unwrap().status().is_client_error())
    );
    assert_eq!(
        gate.arrived.load(Ordering::SeqCst),
        1,
        "one login state, one code exchange"
    );

    // 80 login cookies, one junk callback each, all at once.
    gate.release.store(false, Ordering::SeqCst);
    let mut logins = Vec::new();
    for _ in 0..80 {
        logins.push(free_login_cookie(&client, &origin).await);
    }
    let flood = futures_util::future::join_all(
        logins
            .iter()
            .enumerate()
            .map(|(i, (s, c))| callback(s, c, i)),
    );
    let flood = tokio::spawn(flood);
    wait_until("exchanges pile up at the provider", || {
        gate.held.load(Ordering::SeqCst) >= 32
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    gate.release.store(true, Ordering::SeqCst);
    let answers = flood.await.unwrap();
    let busy: Vec<_> = answers
        .iter()
        .map(|r| r.as_ref().unwrap())
        .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(
        gate.most_held.load(Ordering::SeqCst) <= 32,
        "{} code exchanges at the provider at once",
        gate.most_held.load(Ordering::SeqCst)
    );
    assert_eq!(
        busy.len() as u64,
        80 - (gate.arrived.load(Ordering::SeqCst) - 1)
    );
    assert!(busy.iter().all(|r| r.headers().contains_key("retry-after")));
    for t in tasks {
        t.abort();
    }
}
