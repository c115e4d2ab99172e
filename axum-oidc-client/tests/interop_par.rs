//! Pushed authorization requests (RFC 9126) over HTTP: against `oidc-provider` from
//! npm, an OpenID Certified provider we did not write, configured to require them;
//! and against the embedded development provider, configured on our side.

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

/// Configured PAR against the embedded development provider (what the demo does
/// with `OIDC_PAR=1`), for each client authentication method: the browser carries
/// `client_id` and `request_uri` only, and the login completes. The development
/// provider refuses a repeated parameter, so `client_id` is pushed once also when it
/// goes in the form (`client_secret_post`, public clients).
#[tokio::test]
async fn configured_par_logs_in_at_the_development_provider() {
    use axum_oidc_client::ClientAuthMethod;
    use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig};
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::None,
    ] {
        let bound = bind().await;
        let origin = bound.origin.clone();
        let redirect_uri = format!("{origin}/auth/callback");
        let client = match method {
            ClientAuthMethod::None => ClientRegistration::public("par", redirect_uri),
            ClientAuthMethod::ClientSecretPost => {
                ClientRegistration::confidential("par", SECRET, redirect_uri)
                    .with_auth_method(oidc_dev_provider::ClientAuthMethod::ClientSecretPost)
            }
            _ => ClientRegistration::confidential("par", SECRET, redirect_uri),
        };
        let op = DevProvider::start(DevProviderConfig::default().with_client(client))
            .await
            .expect("dev provider");
        let mut builder = OAuthConfigurationBuilder::default()
            .with_client_id("par")
            .with_client_auth_method(method)
            .with_app_url(&origin)
            .with_pushed_authorization_requests(true);
        if method != ClientAuthMethod::None {
            builder = builder.with_client_secret(SECRET);
        }
        let cfg = builder
            .with_issuer(op.issuer())
            .await
            .expect("discovery")
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
        assert_eq!(
            names,
            ["client_id", "request_uri"],
            "{method:?}: {auth_url}"
        );
        let done = browser.login_as("alice", "/me").await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "{method:?}");
        let me = browser.get("/me").await;
        assert_eq!(me.status(), StatusCode::OK, "{method:?}");
    }
}
