//! Step-up per route (`access::max_age`, `access::acr_values`): a stale or weak
//! session logs in again with `max_age` / `acr_values`, the callback verifies
//! `auth_time` and `acr` (OIDC Core 3.1.3.7 steps 11-12), a step-up for another user
//! is refused, and API callers get the RFC 9470 challenge. Against the adversarial
//! provider of `tests/support/adversary.rs` over real HTTP, on its manual clock.

#[path = "support/adversary.rs"]
mod adversary;
#[path = "support/app.rs"]
mod app;

use std::sync::Arc;
use std::time::Duration;

use adversary::{Adversary, Behavior, CLIENT_ID, CLIENT_SECRET};
use app::{Browser, bind, location, set_cookies};
use axum::Router;
use axum::routing::get;
use axum_oidc_client::access::{acr_values, max_age, step_up};
use axum_oidc_client::{AuthSession, AuthenticationLayer, MemoryStore, OAuthConfigurationBuilder};
use reqwest::StatusCode;
use serde_json::json;

const COOKIE_KEY: &str = "Ya1MKbYwuY7TEro/4nV2aWW5EW9e45x1oClUUbYZwAvoB96GWvjcMIiHEhPnjsIL";
const SESSION_COOKIE: &str = "axum_oidc_session";
const CASE: &str = "stepup";
const MFA: &str = "urn:example:mfa";

struct Setup {
    adv: Adversary,
    browser: Browser,
    store: Arc<MemoryStore>,
    _server: tokio::task::JoinHandle<()>,
}

fn routes() -> Router {
    let whoami = |s: AuthSession| async move { s.sub().unwrap_or_default().to_owned() };
    Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/sensitive",
            get(|| async { "sensitive" }).route_layer(step_up(max_age(Duration::from_secs(300)))),
        )
        .route(
            "/mfa",
            get(|| async { "mfa" }).route_layer(step_up(acr_values([MFA]))),
        )
}

async fn setup() -> Setup {
    // No refresh while the clock moves on: only the step-up makes a new login.
    setup_with(24 * 3600).await
}

/// The relying party, its provider case issuing access tokens that live `expires_in`.
async fn setup_with(expires_in: u64) -> Setup {
    let adv = Adversary::start().await;
    let behavior = Behavior {
        expires_in,
        ..Behavior::default()
    };
    let issuer = adv.case(CASE, behavior);
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_client_secret(CLIENT_SECRET)
        .with_app_url(&origin)
        .with_private_cookie_key(COOKIE_KEY)
        .with_clock(adv.clock().clone())
        .with_issuer(&issuer)
        .await
        .expect("discovery")
        .build()
        .expect("configuration");
    let store = Arc::new(MemoryStore::default());
    let shared: axum_oidc_client::store::SharedStore = store.clone();
    let app = routes().layer(AuthenticationLayer::with_store(config, shared));
    let server = tokio::spawn(async move {
        axum::serve(bound.listener, app).await.expect("serve");
    });
    Setup {
        adv,
        browser: Browser::new(&origin),
        store,
        _server: server,
    }
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    set_cookies(r).into_iter().find_map(|c| {
        let value = c.strip_prefix(SESSION_COOKIE)?.strip_prefix('=')?;
        let value = value.split(';').next()?;
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// From the app's login URL (`/auth/login?...`) through the provider to the
/// callback; returns the provider's authorization request URL and the callback's
/// answer.
async fn through_login(browser: &Browser, login_url: &str) -> (String, reqwest::Response) {
    let start = browser.get(login_url).await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER, "login start");
    let authorization_url = location(&start);
    let approved = browser.get(&authorization_url).await;
    assert_eq!(
        approved.status(),
        StatusCode::SEE_OTHER,
        "provider approves"
    );
    let callback = browser.finish_login(&location(&approved)).await;
    (authorization_url, callback)
}

async fn signed_in(s: &Setup) -> String {
    let (_, r) = through_login(&s.browser, "/auth/login?next=%2Fwhoami").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "first login");
    session_cookie(&r).expect("a session cookie")
}

async fn whoami(browser: &Browser) -> (StatusCode, String) {
    let r = browser.get("/whoami").await;
    (r.status(), r.text().await.unwrap_or_default())
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The step-up redirect of `/sensitive` after the session grew older than max_age.
async fn stale_sensitive(s: &Setup) -> String {
    s.adv.advance(Duration::from_secs(400));
    let r = s.browser.get("/sensitive").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a stale session steps up"
    );
    location(&r)
}

#[tokio::test]
async fn past_max_age_sensitive_redirects_to_login_with_max_age_and_upgrades_the_session() {
    let s = setup().await;
    let first = signed_in(&s).await;
    assert_eq!(s.browser.get("/sensitive").await.status(), StatusCode::OK);

    let login_url = stale_sensitive(&s).await;
    assert_eq!(
        login_url, "/auth/login?next=%2Fsensitive&max_age=300",
        "the login link carries the route and its max_age"
    );
    let (authorization_url, callback) = through_login(&s.browser, &login_url).await;
    assert_eq!(
        param(&query(&authorization_url), "max_age"),
        Some("300"),
        "the authorization request carries max_age (OIDC Core 3.1.2.1)"
    );
    assert_eq!(callback.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&callback), "/sensitive");
    let upgraded = session_cookie(&callback).expect("the upgraded session's cookie");
    assert_ne!(upgraded, first, "the session id is rotated");
    assert_eq!(s.store.session_count().await, 1, "the old session is gone");
    assert_eq!(s.browser.get("/sensitive").await.status(), StatusCode::OK);
    assert_eq!(whoami(&s.browser).await, (StatusCode::OK, "alice".into()));
}

#[tokio::test]
async fn a_step_up_return_without_auth_time_is_refused() {
    let s = setup().await;
    signed_in(&s).await;
    let login_url = stale_sensitive(&s).await;
    s.adv
        .update(CASE, |b| b.id_token_claims = json!({"auth_time": null}));
    let (_, callback) = through_login(&s.browser, &login_url).await;
    assert_eq!(callback.status(), StatusCode::BAD_REQUEST);
    assert_eq!(session_cookie(&callback), None, "no new session");
    // The old session stays, and still is not fresh enough.
    assert_eq!(whoami(&s.browser).await, (StatusCode::OK, "alice".into()));
    assert_eq!(
        s.browser.get("/sensitive").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_step_up_return_with_an_old_auth_time_is_refused() {
    let s = setup().await;
    signed_in(&s).await;
    let login_url = stale_sensitive(&s).await;
    // A provider that ignores max_age and reports its older login.
    let old = s.adv.now() - 3600;
    s.adv
        .update(CASE, |b| b.id_token_claims = json!({"auth_time": old}));
    let (_, callback) = through_login(&s.browser, &login_url).await;
    assert_eq!(callback.status(), StatusCode::BAD_REQUEST);
    assert_eq!(session_cookie(&callback), None, "no new session");
}

#[tokio::test]
async fn a_step_up_return_for_another_sub_is_refused() {
    let s = setup().await;
    signed_in(&s).await;
    let login_url = stale_sensitive(&s).await;
    s.adv.update(CASE, |b| b.sub = "mallory".into());
    let (_, callback) = through_login(&s.browser, &login_url).await;
    assert_eq!(callback.status(), StatusCode::BAD_REQUEST);
    assert_eq!(session_cookie(&callback), None, "users are never switched");
    assert_eq!(whoami(&s.browser).await, (StatusCode::OK, "alice".into()));
    assert_eq!(s.store.session_count().await, 1);
}

#[tokio::test]
async fn a_plain_login_may_still_switch_users() {
    // Only a step-up is bound to the signed-in user; an ordinary login is not.
    let s = setup().await;
    signed_in(&s).await;
    s.adv.update(CASE, |b| b.sub = "bob".into());
    signed_in(&s).await;
    assert_eq!(whoami(&s.browser).await, (StatusCode::OK, "bob".into()));
}

#[tokio::test]
async fn a_refresh_does_not_make_an_old_login_fresh_or_stronger() {
    // OIDC Core 12.2: a refreshed ID token's auth_time is the original login's. A
    // provider that sends the refresh time (as this one does) or a stronger acr must
    // not upgrade the session without a login.
    let s = setup_with(600).await;
    s.adv
        .update(CASE, |b| b.refresh_id_token_claims = json!({"acr": MFA}));
    signed_in(&s).await;
    s.adv.advance(Duration::from_secs(700));
    assert_eq!(whoami(&s.browser).await, (StatusCode::OK, "alice".into()));
    assert_eq!(
        s.adv.seen(CASE).refresh_grants(),
        1,
        "the session was refreshed"
    );
    assert_eq!(
        s.browser.get("/sensitive").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(s.browser.get("/mfa").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_api_call_gets_the_rfc_9470_challenge() {
    let s = setup().await;
    signed_in(&s).await;
    s.adv.advance(Duration::from_secs(400));
    let r = s.browser.get_json("/sensitive").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(challenge.ends_with(", max_age=\"300\""), "{challenge}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, json!({"error": "insufficient_user_authentication"}));
}

#[tokio::test]
async fn a_weaker_acr_is_stepped_up_and_only_the_requested_acr_is_accepted() {
    let s = setup().await;
    s.adv.update(CASE, |b| {
        b.id_token_claims = json!({"acr": "urn:example:pwd"})
    });
    signed_in(&s).await;
    let r = s.browser.get("/mfa").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let login_url = location(&r);
    assert_eq!(
        login_url,
        "/auth/login?next=%2Fmfa&acr_values=urn%3Aexample%3Amfa"
    );
    // The provider answers with the weaker class again: refused.
    let (authorization_url, callback) = through_login(&s.browser, &login_url).await;
    assert_eq!(param(&query(&authorization_url), "acr_values"), Some(MFA));
    assert_eq!(callback.status(), StatusCode::BAD_REQUEST);
    assert_eq!(session_cookie(&callback), None);
    // Without an acr at all: refused as well.
    s.adv.update(CASE, |b| b.id_token_claims = json!({}));
    let (_, callback) = through_login(&s.browser, &login_url).await;
    assert_eq!(callback.status(), StatusCode::BAD_REQUEST);
    // The requested class: the session is upgraded and the route opens.
    s.adv
        .update(CASE, |b| b.id_token_claims = json!({"acr": MFA}));
    let (_, callback) = through_login(&s.browser, &login_url).await;
    assert_eq!(callback.status(), StatusCode::SEE_OTHER);
    assert!(session_cookie(&callback).is_some());
    assert_eq!(s.browser.get("/mfa").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_session_the_step_up_route_answers_like_any_protected_route() {
    let s = setup().await;
    let r = s.browser.get("/sensitive").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/auth/login?next=%2Fsensitive");
    assert_eq!(
        s.browser.get_json("/sensitive").await.status(),
        StatusCode::UNAUTHORIZED
    );
}
