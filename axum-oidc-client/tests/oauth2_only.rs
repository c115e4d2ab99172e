//! OAuth2-only mode end to end against a GitHub-like provider that issues no ID token
//! (`support/capture.rs`), and the UserInfo `sub` rule of OpenID Connect mode
//! (OIDC Core 5.3.4) against the same provider issuing signed ID tokens.

#[path = "support/app.rs"]
mod app;
#[path = "support/capture.rs"]
mod capture;

use std::time::Duration;

use app::{Bound, Browser, bind, location, set_cookies};
use axum_oidc_client::{Clock, OAuthConfiguration, OAuthConfigurationBuilder};
use capture::{CaptureProvider, RefreshReply};
use reqwest::StatusCode;
use serde_json::{Value, json};

const T0: i64 = 1_900_000_000;

/// A relying party under test; its server stops when dropped.
type Rp = app::RunningApp;

fn serve(bound: Bound, config: OAuthConfiguration) -> Rp {
    app::start(bound, app::layer(config, app::memory()))
}

/// A GitHub-shaped relying party: explicit endpoints, `sub` from `id`.
async fn github_rp(
    op: &CaptureProvider,
    configure: impl FnOnce(OAuthConfigurationBuilder) -> OAuthConfigurationBuilder,
) -> Rp {
    let bound = bind().await;
    let config = configure(op.oauth2_builder(&bound.origin).with_scopes(["read:user"]))
        .build()
        .expect("configuration");
    serve(bound, config)
}

/// An OpenID Connect relying party discovered from `op`, which signs ID tokens for
/// `sub`, with UserInfo merging on.
async fn oidc_userinfo_rp(
    op: &CaptureProvider,
    sub: &str,
    configure: impl FnOnce(OAuthConfigurationBuilder) -> OAuthConfigurationBuilder,
) -> Rp {
    let bound = bind().await;
    let config = configure(
        op.oidc_builder(&bound.origin, sub)
            .await
            .with_userinfo(true),
    )
    .build()
    .expect("configuration");
    serve(bound, config)
}

async fn me(browser: &Browser) -> (StatusCode, Value) {
    let r = browser.get_json("/me").await;
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

async fn token(browser: &Browser) -> (StatusCode, String) {
    let r = browser.get_json("/token").await;
    (r.status(), r.text().await.unwrap_or_default())
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    set_cookies(r)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_session="))
}

fn is_cleared(set_cookie: &str) -> bool {
    set_cookie.contains("Max-Age=0")
}

// ---------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn github_like_login_maps_the_numeric_id_to_sub_and_keeps_the_profile() {
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.token_type = "bearer"; // GitHub's spelling
        s.expires_in = None;
    });
    let rp = github_rp(&op, |b| b).await;
    let start = rp.browser.start_login("/protected").await;
    let back = op.authorize(&start).await;
    let done = rp.browser.finish_login(&back).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/protected");
    assert!(session_cookie(&done).is_some_and(|c| !is_cleared(&c)));

    let (status, body) = me(&rp.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sub"], "42", "the numeric id becomes the string sub");
    let claims = &body["claims"];
    assert_eq!(claims["sub"], "42");
    assert_eq!(claims["preferred_username"], "octo");
    assert_eq!(claims["login"], "octo");
    assert_eq!(claims["name"], "Octo Cat");
    assert_eq!(claims["email"], "o@x");
    assert_eq!(
        claims["iss"],
        op.origin(),
        "iss is the user endpoint's origin"
    );
    let page = rp.browser.get("/protected").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.text().await.unwrap(), "protected for Some(\"42\")");

    // On the wire: no nonce, the configured scope, JSON asked of the token endpoint,
    // the user endpoint called with the access token, and nothing OpenID-specific.
    let authorize = op.last("/authorize");
    assert_eq!(authorize.query_param("nonce"), None);
    assert_eq!(authorize.query_param("scope"), Some("read:user"));
    assert_eq!(op.last("/token").header("accept"), Some("application/json"));
    let user = op.last("/user");
    assert_eq!(user.header("authorization"), Some("Bearer at-1"));
    let paths: Vec<String> = op.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/authorize", "/token", "/user"]);
}

#[tokio::test]
async fn the_user_endpoint_is_read_once_at_login_not_per_request() {
    let op = CaptureProvider::start().await;
    let rp = github_rp(&op, |b| b).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    for _ in 0..3 {
        assert_eq!(me(&rp.browser).await.0, StatusCode::OK);
    }
    assert_eq!(op.requests_to("/user").len(), 1);
}

#[tokio::test]
async fn a_user_document_without_a_usable_sub_field_refuses_the_login() {
    for doc in [
        json!({"login": "octo", "name": "Octo Cat"}),
        json!({"id": null, "login": "octo"}),
        json!({"id": "", "login": "octo"}),
        json!({"id": {"nested": 42}}),
        json!({"id": true}),
        json!(["not", "an", "object"]),
    ] {
        let op = CaptureProvider::start().await;
        op.script(|s| s.user_document = doc.clone());
        let rp = github_rp(&op, |b| b).await;
        let done = op.login(&rp.browser).await;
        assert!(
            matches!(
                done.status(),
                StatusCode::BAD_REQUEST | StatusCode::BAD_GATEWAY
            ),
            "{doc}: {}",
            done.status()
        );
        assert!(
            session_cookie(&done).is_none(),
            "{doc}: no session cookie is set"
        );
        assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED, "{doc}");
    }
}

#[tokio::test]
async fn a_failing_user_endpoint_refuses_the_login_with_503() {
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.user_status = StatusCode::SERVICE_UNAVAILABLE;
        s.user_document = json!({"message": "down"});
    });
    let rp = github_rp(&op, |b| b).await;
    let done = op.login(&rp.browser).await;
    assert_eq!(done.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(session_cookie(&done).is_none());
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_sub_field_can_be_configured() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.user_document = json!({"user_id": "u-7", "id": 42}));
    let bound = bind().await;
    let config = op
        .oauth2_builder(&bound.origin)
        .with_oauth2_only(op.url("/user"), "user_id")
        .build()
        .unwrap();
    let rp = serve(bound, config);
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.1["sub"], "u-7");
}

// ---------------------------------------------------------------------------------
// Refresh
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_expiring_access_token_is_refreshed_with_the_rotating_refresh_token() {
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.expires_in = Some(60);
        s.issue_refresh_tokens = true;
    });
    let clock = Clock::manual(T0);
    let rp = github_rp(&op, |b| b.with_clock(clock.clone())).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(token(&rp.browser).await, (StatusCode::OK, "at-1".into()));

    // Within the 30 s refresh margin of expiry: refreshed before the handler runs.
    clock.advance(Duration::from_secs(40));
    assert_eq!(token(&rp.browser).await, (StatusCode::OK, "at-2".into()));
    let refresh = op.last("/token");
    assert_eq!(refresh.form_param("grant_type"), Some("refresh_token"));
    assert_eq!(refresh.form_param("refresh_token"), Some("rt-1"));
    assert!(
        refresh
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic ")),
        "the refresh is client-authenticated"
    );

    // The identity is kept; the user endpoint is not read again.
    let (status, body) = me(&rp.browser).await;
    assert_eq!((status, body["sub"].as_str()), (StatusCode::OK, Some("42")));
    assert_eq!(op.requests_to("/user").len(), 1);

    // The next refresh uses the rotated refresh token.
    clock.advance(Duration::from_secs(40));
    assert_eq!(token(&rp.browser).await, (StatusCode::OK, "at-3".into()));
    assert_eq!(op.last("/token").form_param("refresh_token"), Some("rt-2"));
    assert_eq!(op.requests_to("/token").len(), 3);
}

#[tokio::test]
async fn a_fresh_access_token_is_not_refreshed() {
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.expires_in = Some(3600);
        s.issue_refresh_tokens = true;
    });
    let clock = Clock::manual(T0);
    let rp = github_rp(&op, |b| b.with_clock(clock.clone())).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    clock.advance(Duration::from_secs(3500));
    assert_eq!(token(&rp.browser).await, (StatusCode::OK, "at-1".into()));
    assert_eq!(op.requests_to("/token").len(), 1);
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session() {
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.expires_in = Some(60);
        s.issue_refresh_tokens = true;
    });
    let clock = Clock::manual(T0);
    let rp = github_rp(&op, |b| b.with_clock(clock.clone())).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    op.script(|s| s.refresh_reply = RefreshReply::InvalidGrant);
    clock.advance(Duration::from_secs(40));
    let r = rp.browser.get_json("/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&r).is_some_and(|c| is_cleared(&c)));
    let page = rp.browser.get("/protected").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(location(&page).starts_with("/auth/login?next="));
}

// ---------------------------------------------------------------------------------
// Logout
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn logout_ends_the_session_locally_and_the_old_cookie_stops_working() {
    let op = CaptureProvider::start().await;
    let rp = github_rp(&op, |b| b).await;
    let done = op.login(&rp.browser).await;
    let cookie = session_cookie(&done).expect("session cookie");
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(me(&rp.browser).await.0, StatusCode::OK);
    let before = op.requests().len();

    let out = rp.browser.logout().await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/");
    assert!(session_cookie(&out).is_some_and(|c| is_cleared(&c)));
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(rp.browser.get("/").await.text().await.unwrap(), "anonymous");

    // A copy of the old cookie is worthless: the session is gone from the store.
    let replay = reqwest::Client::new()
        .get(format!("{}/me", rp.origin))
        .header("cookie", pair)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // Nothing to tell a GitHub-like provider: logout is local.
    assert_eq!(op.requests().len(), before);
}

// ---------------------------------------------------------------------------------
// UserInfo in OpenID Connect mode (OIDC Core 5.3.4)
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn userinfo_claims_are_merged_when_its_sub_matches_the_id_token() {
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.userinfo_document = json!({
            "sub": "alice", "email": "alice@example.com", "iss": "https://evil.example"
        });
    });
    let rp = oidc_userinfo_rp(&op, "alice", |b| b).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let (status, body) = me(&rp.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["claims"]["email"], "alice@example.com");
    assert_eq!(
        body["claims"]["iss"],
        op.origin(),
        "UserInfo cannot override ID token claims"
    );
    assert_eq!(
        op.last("/userinfo").header("authorization"),
        Some("Bearer at-1")
    );
}

#[tokio::test]
async fn userinfo_with_another_sub_refuses_the_login() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.userinfo_document = json!({"sub": "mallory", "email": "m@example.com"}));
    let rp = oidc_userinfo_rp(&op, "alice", |b| b).await;
    let done = op.login(&rp.browser).await;
    assert_eq!(done.status(), StatusCode::BAD_REQUEST);
    assert!(session_cookie(&done).is_none(), "no session");
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(op.requests_to("/userinfo").len(), 1);
}

#[tokio::test]
async fn userinfo_without_a_sub_refuses_the_login() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.userinfo_document = json!({"email": "alice@example.com"}));
    let rp = oidc_userinfo_rp(&op, "alice", |b| b).await;
    let done = op.login(&rp.browser).await;
    assert!(matches!(
        done.status(),
        StatusCode::BAD_REQUEST | StatusCode::BAD_GATEWAY
    ));
    assert!(session_cookie(&done).is_none());
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_with_userinfo_the_userinfo_endpoint_is_not_called() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.userinfo_document = json!({"sub": "mallory"}));
    let bound = bind().await;
    let config = op
        .oidc_builder(&bound.origin, "alice")
        .await
        .build()
        .unwrap();
    let rp = serve(bound, config);
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.1["sub"], "alice");
    assert!(op.requests_to("/userinfo").is_empty());
}

/// `with_userinfo` promises UserInfo claims "after login and refresh": a refresh that
/// brings a new ID token must not drop them.
#[tokio::test]
async fn userinfo_claims_survive_a_refresh_with_a_new_id_token() {
    let op = CaptureProvider::start().await;
    let clock = Clock::manual(chrono::Utc::now().timestamp());
    op.script(|s| {
        s.clock = clock.clone();
        s.expires_in = Some(60);
        s.issue_refresh_tokens = true;
        s.userinfo_document = json!({"sub": "alice", "email": "alice@example.com"});
    });
    let rp = oidc_userinfo_rp(&op, "alice", |b| b.with_clock(clock.clone())).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        me(&rp.browser).await.1["claims"]["email"],
        "alice@example.com"
    );

    clock.advance(Duration::from_secs(40));
    assert_eq!(token(&rp.browser).await, (StatusCode::OK, "at-2".into()));
    let (status, body) = me(&rp.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sub"], "alice");
    assert_eq!(
        body["claims"]["email"], "alice@example.com",
        "UserInfo claims lost at refresh"
    );
}
