//! Pushed authorization requests (RFC 9126) against `oidc-provider` from npm, an
//! OpenID Certified provider we did not write, configured to require them.

#[path = "support/app.rs"]
mod app;
#[path = "support/node_provider.rs"]
mod node_provider;

use app::{Browser, bind, layer, location, memory, serve};
use axum_oidc_client::OAuthConfigurationBuilder;
use node_provider::NodeProvider;
use reqwest::StatusCode;
use serde_json::json;

const SECRET: &str = "interop-client-secret-0123456789";

/// The provider requires PAR (discovery says so); the client is not configured for
/// it and pushes anyway: the login works, and the provider counted the push.
#[tokio::test]
async fn a_provider_that_requires_par_sees_a_pushed_request_and_the_login_works() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = NodeProvider::start(json!({
        "clients": [{
            "client_id": "interop",
            "client_secret": SECRET,
            "redirect_uris": [format!("{origin}/auth/callback")],
        }],
        "requirePushedAuthorizationRequests": true,
    }))
    .await;
    let discovery: serde_json::Value = reqwest::get(op.discovery_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["require_pushed_authorization_requests"], true);
    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("interop")
        .with_client_secret(SECRET)
        .with_app_url(&origin)
        .with_private_cookie_key("nEYuYFy3n+LkT5WRRG5oKUcmNsvdBDPOboQca75yDWy5ye/Ss5sqSgP1sY/ofoMf")
        .with_issuer(op.issuer.clone())
        .await
        .expect("discovery against oidc-provider")
        .build()
        .expect("config");
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);

    let auth_url = browser.start_login("/me").await;
    let names: Vec<String> = url::Url::parse(&auth_url)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(names, ["client_id", "request_uri"], "{auth_url}");
    assert_eq!(op.stats().await["pushed_authorization_requests"], 1);

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
    assert_eq!(op.stats().await["authorization_code_grants"], 1);
}
