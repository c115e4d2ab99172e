//! `private_key_jwt` (RFC 7523 section 2.2, OIDC Core 9) against `oidc-provider` from
//! npm: a client registered with `token_endpoint_auth_method: private_key_jwt` and
//! its public JWK logs in, reaches `/me`, refreshes after its access token expires and
//! logs out (revoking its tokens), each token endpoint call authenticated by a client
//! assertion the provider verified.

#[path = "support/app.rs"]
mod app;
#[path = "support/node_provider.rs"]
mod node_provider;

use std::time::Duration;

use app::{Browser, bind, layer, memory, serve};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair,
};
use axum_oidc_client::client_auth::ClientSigningKey;
use axum_oidc_client::{OAuthConfiguration, OAuthConfigurationBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Algorithm;
use node_provider::NodeProvider;
use reqwest::StatusCode;
use serde_json::{Value, json};

const COOKIE_KEY: &str = "nEYuYFy3n+LkT5WRRG5oKUcmNsvdBDPOboQca75yDWy5ye/Ss5sqSgP1sY/ofoMf";

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    )
}

fn ec_key() -> ClientSigningKey {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    ClientSigningKey::from_pkcs8_pem(&pem(doc.as_ref()), None).unwrap()
}

fn rsa_key() -> ClientSigningKey {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let der: Pkcs8V1Der<'static> = pair.as_der().unwrap();
    ClientSigningKey::from_pkcs8_pem(&pem(der.as_ref()), None).unwrap()
}

fn ed_key() -> ClientSigningKey {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    ClientSigningKey::from_pkcs8_pem(&pem(doc.as_ref()), None).unwrap()
}

fn client(origin: &str, key: &ClientSigningKey) -> Value {
    json!({
        "client_id": "pkjwt",
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": format!("{:?}", key.algorithm()),
        "jwks": { "keys": [key.public_jwk()] },
        "redirect_uris": [format!("{origin}/auth/callback")],
        "post_logout_redirect_uris": [format!("{origin}/auth/logout/callback")],
        "grant_types": ["authorization_code", "refresh_token"],
    })
}

async fn config(op: &NodeProvider, origin: &str, key: ClientSigningKey) -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id("pkjwt")
        .with_client_signing_key(key)
        .with_app_url(origin)
        .with_scopes(["openid", "profile", "offline_access"])
        .with_auth_param("prompt", "consent")
        .with_refresh_margin(Duration::from_secs(1))
        .with_private_cookie_key(COOKIE_KEY)
        .with_issuer(op.issuer.clone())
        .await
        .expect("discovery against oidc-provider")
        .build()
        .expect("config")
}

async fn log_in(op: &NodeProvider, browser: &Browser, sub: &str) {
    let auth_url = browser.start_login("/me").await;
    let back = op.authorize(&auth_url, sub).await;
    let done = browser.finish_login(&back).await;
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{}\n{}",
        done.text().await.unwrap_or_default(),
        op.logs()
    );
}

fn no_grant_errors(stats: &Value) {
    assert!(
        stats["grant_errors"]
            .as_array()
            .is_none_or(|e| e.is_empty()),
        "{stats}"
    );
}

#[tokio::test]
async fn private_key_jwt_logs_in_refreshes_and_logs_out_at_oidc_provider() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let key = ec_key();
    let op = NodeProvider::start(json!({
        "clients": [client(&origin, &key)],
        "accessTokenTtl": 2,
    }))
    .await;
    let cfg = config(&op, &origin, key).await;
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);

    log_in(&op, &browser, "alice").await;
    let me = browser.get("/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["sub"], "alice");

    op.reset_stats().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(browser.get("/me").await.status(), StatusCode::OK);
    let stats = op.stats().await;
    assert_eq!(stats["refresh_grants"], 1, "refreshed: {stats}");
    no_grant_errors(&stats);

    assert_eq!(browser.logout().await.status(), StatusCode::SEE_OTHER);
    op.assert_revoked().await;
    assert_eq!(browser.get("/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rs256_ps256_and_eddsa_keys_are_accepted_by_oidc_provider() {
    if !node_provider::should_run() {
        return;
    }
    for key in [
        rsa_key(),
        rsa_key().with_algorithm(Algorithm::PS256).unwrap(),
        ed_key(),
    ] {
        let bound = bind().await;
        let origin = bound.origin.clone();
        let alg = key.algorithm();
        let op = NodeProvider::start(json!({ "clients": [client(&origin, &key)] })).await;
        let cfg = config(&op, &origin, key).await;
        let _server = serve(bound, layer(cfg, memory()));
        let browser = Browser::new(&origin);
        log_in(&op, &browser, "bob").await;
        assert_eq!(browser.get("/me").await.status(), StatusCode::OK, "{alg:?}");
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_oidc_provider() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let registered = ec_key();
    let op = NodeProvider::start(json!({ "clients": [client(&origin, &registered)] })).await;
    let cfg = config(&op, &origin, ec_key()).await;
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);
    let auth_url = browser.start_login("/me").await;
    let back = op.authorize(&auth_url, "carol").await;
    let done = browser.finish_login(&back).await;
    assert!(
        done.status().is_client_error() || done.status().is_server_error(),
        "an assertion signed with an unregistered key must not log in: {}\n{}",
        done.status(),
        op.logs()
    );
    assert_eq!(browser.get("/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oidc_provider_fetches_the_published_jwks_uri() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let key = ed_key();
    let mut registered = client(&origin, &key);
    registered.as_object_mut().unwrap().remove("jwks");
    registered["jwks_uri"] = format!("{origin}/auth/jwks.json").into();
    let op = NodeProvider::start(json!({ "clients": [registered] })).await;
    let cfg = config(&op, &origin, key).await;
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);
    log_in(&op, &browser, "dave").await;
    assert_eq!(browser.get("/me").await.status(), StatusCode::OK);
}
