//! Interop with `oidc-provider` from npm, an OpenID Certified provider we did not write.

#[path = "support/app.rs"]
mod app;
#[path = "support/logs.rs"]
mod logs;
#[path = "support/node_provider.rs"]
mod node_provider;

use std::time::Duration;

use app::{Browser, bind, layer, location, memory, serve};
use axum_oidc_client::{OAuthConfiguration, OAuthConfigurationBuilder};
use node_provider::NodeProvider;
use reqwest::StatusCode;
use serde_json::json;

const SECRET: &str = "interop-client-secret-0123456789";

fn client(origin: &str) -> serde_json::Value {
    json!({
        "client_id": "interop",
        "client_secret": SECRET,
        "redirect_uris": [format!("{origin}/auth/callback")],
        "post_logout_redirect_uris": [format!("{origin}/auth/logout/callback")],
        "backchannel_logout_uri": format!("{origin}/auth/backchannel-logout"),
        "backchannel_logout_session_required": true,
        "grant_types": ["authorization_code", "refresh_token"],
    })
}

async fn config(op: &NodeProvider, origin: &str) -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id("interop")
        .with_client_secret(SECRET)
        .with_app_url(origin)
        .with_scopes(["openid", "profile", "email", "offline_access"])
        .with_auth_param("prompt", "consent")
        .with_private_cookie_key("nEYuYFy3n+LkT5WRRG5oKUcmNsvdBDPOboQca75yDWy5ye/Ss5sqSgP1sY/ofoMf")
        .with_issuer(op.issuer.clone())
        .await
        .expect("discovery against oidc-provider")
        .build()
        .expect("config")
}

#[tokio::test]
async fn login_through_oidc_provider_reaches_me_with_the_right_sub() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = NodeProvider::start(json!({ "clients": [client(&origin)] })).await;
    let cfg = config(&op, &origin).await;
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);

    let me = browser.get("/me").await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    let auth_url = browser.start_login("/me").await;
    assert!(auth_url.starts_with(&op.issuer), "{auth_url}");
    assert!(auth_url.contains("code_challenge_method=S256"));
    let back = op.authorize(&auth_url, "alice").await;
    let done = browser.finish_login(&back).await;
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{}",
        done.text().await.unwrap_or_default()
    );
    assert_eq!(location(&done), "/me");

    let me = browser.get("/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["claims"]["iss"], op.issuer.as_str());
}

#[tokio::test]
async fn concurrent_requests_after_expiry_share_one_refresh_with_rotating_tokens() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = NodeProvider::start(json!({
        "clients": [client(&origin)],
        "accessTokenTtl": 2,
        "rotateRefreshToken": true,
    }))
    .await;
    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("interop")
        .with_client_secret(SECRET)
        .with_app_url(&origin)
        .with_scopes(["openid", "offline_access"])
        .with_auth_param("prompt", "consent")
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(op.issuer.clone())
        .await
        .unwrap()
        .build()
        .unwrap();
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);
    let auth_url = browser.start_login("/token").await;
    let back = op.authorize(&auth_url, "bob").await;
    assert_eq!(
        browser.finish_login(&back).await.status(),
        StatusCode::SEE_OTHER
    );
    let first = browser.get("/token").await.text().await.unwrap();
    op.reset_stats().await;

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let b = browser.clone();
        tasks.push(tokio::spawn(async move {
            let r = b.get("/token").await;
            (r.status(), r.text().await.unwrap())
        }));
    }
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        let (status, token) = t.await.unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "every concurrent request must succeed"
        );
        tokens.insert(token);
    }
    assert_eq!(tokens.len(), 1, "all requests see the same refreshed token");
    assert!(!tokens.contains(&first), "the token was refreshed");
    let stats = op.stats().await;
    assert_eq!(
        stats["refresh_grants"], 1,
        "exactly one refresh at the provider: {stats}"
    );
    assert!(
        stats["grant_errors"]
            .as_array()
            .is_none_or(|e| e.is_empty()),
        "{stats}"
    );

    // The session keeps working through the next rotation too.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = browser.get("/token").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(op.stats().await["refresh_grants"], 2);
}

async fn signed_in(op: &NodeProvider, browser: &Browser, sub: &str) {
    let auth_url = browser.start_login("/me").await;
    let back = op.authorize(&auth_url, sub).await;
    let done = browser.finish_login(&back).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn rp_initiated_logout_at_oidc_provider_ends_the_session_and_requires_a_new_login() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = NodeProvider::start(json!({ "clients": [client(&origin)] })).await;
    let cfg = config(&op, &origin).await;
    let _server = serve(
        bound,
        layer(cfg, memory()).with_logout_handler(axum_oidc_client::OidcLogoutHandler),
    );
    let browser = Browser::new(&origin);
    signed_in(&op, &browser, "alice").await;

    let r = browser.logout().await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let end_session = location(&r);
    assert!(end_session.starts_with(&op.issuer), "{end_session}");
    for p in [
        "id_token_hint=",
        "client_id=interop",
        "post_logout_redirect_uri=",
        "state=",
    ] {
        assert!(end_session.contains(p), "{p} missing in {end_session}");
    }
    let back = op
        .end_session(&end_session)
        .await
        .expect("provider returns to the app");
    assert!(
        back.starts_with(&format!("{origin}/auth/logout/callback?")),
        "{back}"
    );
    let landed = browser.get(&back).await;
    assert_eq!(landed.status(), StatusCode::SEE_OTHER, "state checked");
    assert_eq!(location(&landed), "/");

    assert_eq!(browser.get("/me").await.status(), StatusCode::UNAUTHORIZED);
    let nav = browser.get("/protected").await;
    assert_eq!(nav.status(), StatusCode::SEE_OTHER);
    assert!(location(&nav).starts_with("/auth/login?next="));
    // Logout also revoked the refresh token at the provider.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(op.stats().await["revocations"].as_u64().unwrap_or(0) >= 1);
}

#[tokio::test]
async fn logging_out_at_oidc_provider_ends_the_session_through_back_channel_logout() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = NodeProvider::start(json!({ "clients": [client(&origin)] })).await;
    let cfg = config(&op, &origin).await;
    let _server = serve(bound, layer(cfg, memory()));
    let alice = Browser::new(&origin);
    let bob = Browser::new(&origin);
    signed_in(&op, &alice, "alice").await;
    signed_in(&op, &bob, "bob").await;

    op.logout_sub("alice").await;
    let stats = op.stats().await;
    assert!(
        stats["backchannel_logouts_sent"].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
    assert!(
        stats["backchannel_errors"]
            .as_array()
            .is_none_or(|e| e.is_empty()),
        "{stats}"
    );
    assert_eq!(alice.get("/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bob.get("/me").await.status(),
        StatusCode::OK,
        "only alice's session ended"
    );
}

#[tokio::test]
async fn invalid_grant_at_refresh_leads_to_a_clean_relogin() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let mut c = client(&origin);
    c.as_object_mut().unwrap().remove("backchannel_logout_uri");
    c.as_object_mut()
        .unwrap()
        .remove("backchannel_logout_session_required");
    let op = NodeProvider::start(json!({ "clients": [c], "accessTokenTtl": 2 })).await;
    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("interop")
        .with_client_secret(SECRET)
        .with_app_url(&origin)
        .with_scopes(["openid", "offline_access"])
        .with_auth_param("prompt", "consent")
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(op.issuer.clone())
        .await
        .unwrap()
        .build()
        .unwrap();
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);
    signed_in(&op, &browser, "carol").await;
    // The provider revokes the grant (no back-channel logout is registered).
    op.logout_sub_revoking_offline("carol").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(browser.get("/me").await.status(), StatusCode::UNAUTHORIZED);
    let nav = browser.get("/protected").await;
    assert_eq!(nav.status(), StatusCode::SEE_OTHER);
    assert!(location(&nav).starts_with("/auth/login"));
    let errors = op.stats().await["grant_errors"].clone();
    assert!(
        errors.to_string().contains("invalid_grant"),
        "the refresh was refused: {errors}"
    );
    // And a new login works.
    signed_in(&op, &browser, "carol").await;
}

#[tokio::test]
async fn a_wrong_client_secret_at_oidc_provider_shows_the_configuration_page_and_logs_invalid_client()
 {
    if !node_provider::should_run() {
        return;
    }
    let logs = logs::capture();
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = NodeProvider::start(json!({ "clients": [client(&origin)] })).await;
    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("interop")
        .with_client_secret("a-wrong-secret-0123456789abcdef")
        .with_app_url(&origin)
        .with_scopes(["openid", "profile"])
        .with_auth_param("prompt", "consent")
        .with_issuer(op.issuer.clone())
        .await
        .unwrap()
        .build()
        .unwrap();
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);
    let auth_url = browser.start_login("/me").await;
    let back = op.authorize(&auth_url, "alice").await;
    let done = browser.finish_login(&back).await;
    let status = done.status();
    let body = done.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "the configuration page, not a 400 'start again': {body}"
    );
    assert!(!body.contains("start again"), "{body}");
    assert!(body.contains("client credentials"), "{body}");
    assert_eq!(browser.get("/me").await.status(), StatusCode::UNAUTHORIZED);

    let lines = logs.library_lines_with("invalid_client");
    assert_eq!(lines.len(), 1, "logged once: {:#?}", logs.lines());
    eprintln!("{}", lines[0]);
    assert!(lines[0].contains("ERROR"), "{}", lines[0]);
    assert!(
        lines[0].contains("token endpoint refused the client: invalid_client"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("a-wrong-secret"), "{}", lines[0]);
}
