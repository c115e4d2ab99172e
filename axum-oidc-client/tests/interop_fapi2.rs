//! FAPI 2.0 Security Profile and DPoP (RFC 9449) against `oidc-provider` from npm,
//! an OpenID Certified provider we did not write (issue 17).
//!
//! * [`SecurityProfile::Fapi2`] at a provider in its FAPI 2.0 mode: every
//!   authorization request pushed (RFC 9126), every access token DPoP-bound to the
//!   session's key, for the login and for the refresh alike (FAPI 2.0 Security
//!   Profile section 5.3; RFC 9449 section 5);
//! * a `DPoP-Nonce` challenge at the token endpoint answered with one retry
//!   (RFC 9449 section 8);
//! * a session started on one instance refreshed on another with the same DPoP key,
//!   which a public client's refresh token is bound to (RFC 9449 section 5);
//! * the FAPI 2.0 preset against a provider that offers neither PAR nor DPoP (no
//!   configuration), and against one without DPoP (no session from a bearer token).
//!
//! The provider's `/__stats` counts pushes, issued access tokens and their DPoP
//! `jkt`s; its log has one line per push and per token (see
//! `e2e/oidc-provider/README.md`).

#[path = "support/app.rs"]
mod app;
#[path = "support/node_provider.rs"]
mod node_provider;

use std::time::Duration;

use app::{Browser, bind, layer, memory, serve};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum_oidc_client::client_auth::ClientSigningKey;
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{
    ClientAuthMethod, ConfigError, OAuthConfiguration, OAuthConfigurationBuilder, SecurityProfile,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use node_provider::NodeProvider;
use reqwest::StatusCode;
use serde_json::{Value, json};

const COOKIE_KEY: &str = "nEYuYFy3n+LkT5WRRG5oKUcmNsvdBDPOboQca75yDWy5ye/Ss5sqSgP1sY/ofoMf";
const SECRET: &str = "interop-client-secret-0123456789";
/// The resource whose access tokens oidc-provider issues as JWTs (RFC 9068), so
/// that the token itself shows its `cnf.jkt`.
const API: &str = "https://api.example.test";

fn ec_key() -> ClientSigningKey {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(doc.as_ref())
    );
    ClientSigningKey::from_pkcs8_pem(&pem, None).unwrap()
}

/// A confidential FAPI 2.0 client: `private_key_jwt` with an ES256 key, DPoP-bound
/// access tokens.
fn fapi_client(origin: &str, key: &ClientSigningKey) -> Value {
    json!({
        "client_id": "fapi",
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "jwks": { "keys": [key.public_jwk()] },
        "id_token_signed_response_alg": "ES256",
        "dpop_bound_access_tokens": true,
        "redirect_uris": [format!("{origin}/auth/callback")],
        "post_logout_redirect_uris": [format!("{origin}/auth/logout/callback")],
        "grant_types": ["authorization_code", "refresh_token"],
    })
}

/// The FAPI 2.0 configuration of client `fapi` at `op`, built.
async fn fapi_build(
    op: &NodeProvider,
    origin: &str,
    key: ClientSigningKey,
) -> Result<OAuthConfiguration, ConfigError> {
    OAuthConfigurationBuilder::default()
        .with_security_profile(SecurityProfile::Fapi2)
        .with_client_id("fapi")
        .with_client_signing_key(key)
        .with_app_url(origin)
        .with_refresh_margin(Duration::from_secs(1))
        .with_private_cookie_key(COOKIE_KEY)
        .with_issuer(op.issuer.clone())
        .await
        .expect("discovery against oidc-provider")
        .build()
}

async fn fapi_config(op: &NodeProvider, origin: &str, key: ClientSigningKey) -> OAuthConfiguration {
    fapi_build(op, origin, key).await.expect("FAPI 2.0 config")
}

/// Asserts that the preset was refused for setting `name` with a reason naming
/// `metadata`, and that the provider saw no request.
async fn refused_at_build(
    built: Result<OAuthConfiguration, ConfigError>,
    name: &str,
    metadata: &str,
    op: &NodeProvider,
) {
    match built {
        Err(ConfigError::Invalid { name: n, reason }) => {
            assert_eq!(n, name, "{reason}");
            assert!(reason.contains(metadata), "{reason}");
        }
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("FAPI 2.0 built against a provider without {metadata}"),
    }
    let stats = op.stats().await;
    assert_eq!(stats["pushed_authorization_requests"], 0, "{stats}");
    assert_eq!(stats["access_tokens_issued"], 0, "{stats}");
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

async fn me_is(browser: &Browser, sub: &str) {
    let me = browser.get("/me").await;
    assert_eq!(me.status(), StatusCode::OK, "/me at {}", browser.origin);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["sub"], sub);
}

fn no_grant_errors(stats: &Value) {
    assert!(
        stats["grant_errors"]
            .as_array()
            .is_none_or(|e| e.is_empty()),
        "{stats}"
    );
}

fn jkts(stats: &Value) -> Vec<String> {
    stats["dpop_jkts"]
        .as_array()
        .expect("dpop_jkts")
        .iter()
        .map(|j| j.as_str().expect("jkt").to_owned())
        .collect()
}

/// Every access token in `stats` was DPoP-bound; returns their jkts.
fn all_bound(stats: &Value, at_least: u64) -> Vec<String> {
    let issued = stats["access_tokens_issued"].as_u64().unwrap();
    assert!(issued >= at_least, "access tokens issued: {stats}");
    assert_eq!(
        stats["dpop_bound_access_tokens"], issued,
        "every access token DPoP-bound: {stats}"
    );
    let jkts = jkts(stats);
    assert_eq!(jkts.len() as u64, issued, "{stats}");
    jkts
}

/// The claims of a JWT, unverified (the provider signed it; we read what it says).
fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT access token");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The one session `sub` has at `op` in `store`: its DPoP key's thumbprint.
async fn stored_thumbprint(store: &SharedStore, op: &NodeProvider, sub: &str) -> String {
    let sessions = store.sessions_of(&op.issuer, sub).await.unwrap();
    assert_eq!(sessions.len(), 1, "one session for {sub}");
    sessions[0]
        .1
        .dpop_thumbprint()
        .expect("a DPoP session records its key's thumbprint")
}

#[tokio::test]
async fn fapi2_login_me_refresh_logout_at_oidc_provider() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let key = ec_key();
    let op = NodeProvider::start(json!({
        "clients": [fapi_client(&origin, &key)],
        "fapi": "2.0",
        "dpop": true,
        "requirePushedAuthorizationRequests": true,
        "accessTokenTtl": 2,
        "jwtAccessTokens": { "resource": API },
    }))
    .await;
    let discovery: Value = reqwest::get(op.discovery_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["require_pushed_authorization_requests"], true);
    assert_eq!(
        discovery["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    assert!(discovery["dpop_signing_alg_values_supported"].is_array());
    let cfg = fapi_config(&op, &origin, key).await;
    let store = memory();
    let _server = serve(bound, layer(cfg, store.clone()));
    let browser = Browser::new(&origin);

    let auth_url = browser.start_login("/me").await;
    let names: Vec<String> = url::Url::parse(&auth_url)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(names, ["client_id", "request_uri"], "pushed: {auth_url}");
    let back = op.authorize(&auth_url, "alice").await;
    assert!(back.contains("iss="), "RFC 9207 iss in {back}");
    let done = browser.finish_login(&back).await;
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{}\n{}",
        done.text().await.unwrap_or_default(),
        op.logs()
    );
    me_is(&browser, "alice").await;

    let thumbprint = stored_thumbprint(&store, &op, "alice").await;
    let login = op.stats().await;
    no_grant_errors(&login);
    assert!(
        login["pushed_authorization_requests"].as_u64().unwrap() >= 1,
        "{login}"
    );
    assert_eq!(login["authorization_code_grants"], 1, "{login}");
    // RFC 9449 section 10: the pushed request bound the code to the session's key.
    assert_eq!(login["pushed_dpop_jkts"], json!([thumbprint]), "{login}");
    assert!(op.logs().contains(&format!("dpop_jkt={thumbprint}")));
    let login_jkts = all_bound(&login, 1);
    assert!(
        login_jkts.iter().all(|j| *j == thumbprint),
        "the code exchange used the session's key {thumbprint}: {login}"
    );
    // the access token itself says so (RFC 9449 section 6.1)
    let at = browser.get("/token").await;
    assert_eq!(at.status(), StatusCode::OK);
    let claims = jwt_claims(&at.text().await.unwrap());
    assert_eq!(claims["cnf"]["jkt"], thumbprint.as_str(), "{claims}");

    op.reset_stats().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    me_is(&browser, "alice").await;
    let refresh = op.stats().await;
    assert_eq!(refresh["refresh_grants"], 1, "refreshed: {refresh}");
    no_grant_errors(&refresh);
    let refresh_jkts = all_bound(&refresh, 1);
    assert!(
        refresh_jkts.iter().all(|j| *j == thumbprint),
        "the refresh used the login's key {thumbprint}: {refresh}"
    );
    assert!(
        login_jkts.len() + refresh_jkts.len() >= 2,
        "DPoP-bound tokens from the login and the refresh: {login}\n{refresh}"
    );
    assert_eq!(stored_thumbprint(&store, &op, "alice").await, thumbprint);

    let logs = op.logs();
    assert!(
        logs.contains("pushed authorization request #1 client=fapi"),
        "{logs}"
    );
    assert!(
        logs.contains(&format!(
            "client=fapi grant=authorization_code DPoP-bound jkt={thumbprint}"
        )),
        "{logs}"
    );
    assert!(
        logs.contains(&format!(
            "client=fapi grant=refresh_token DPoP-bound jkt={thumbprint}"
        )),
        "{logs}"
    );
    assert!(!logs.contains("NOT DPoP-bound"), "{logs}");

    assert_eq!(browser.logout().await.status(), StatusCode::SEE_OTHER);
    op.assert_revoked().await;
    assert_eq!(browser.get("/me").await.status(), StatusCode::UNAUTHORIZED);
    assert!(
        store
            .sessions_of(&op.issuer, "alice")
            .await
            .unwrap()
            .is_empty(),
        "the session is gone"
    );
}

#[tokio::test]
async fn a_dpop_nonce_challenge_at_the_token_endpoint_is_answered_with_one_retry() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = NodeProvider::start(json!({
        "clients": [{
            "client_id": "nonce",
            "client_secret": SECRET,
            "dpop_bound_access_tokens": true,
            "redirect_uris": [format!("{origin}/auth/callback")],
        }],
        "dpop": { "nonce": true },
    }))
    .await;
    let cfg = OAuthConfigurationBuilder::default()
        .with_client_id("nonce")
        .with_client_secret(SECRET)
        .with_dpop(true)
        .with_app_url(&origin)
        .with_private_cookie_key(COOKIE_KEY)
        .with_issuer(op.issuer.clone())
        .await
        .expect("discovery against oidc-provider")
        .build()
        .expect("config");
    let _server = serve(bound, layer(cfg, memory()));
    let browser = Browser::new(&origin);

    log_in(&op, &browser, "bob").await;
    me_is(&browser, "bob").await;

    let stats = op.stats().await;
    let errors = stats["grant_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one challenge: {stats}");
    assert_eq!(errors[0]["grant_type"], "authorization_code", "{stats}");
    assert_eq!(errors[0]["error"], "use_dpop_nonce", "{stats}");
    let at_token: Vec<&Value> = stats["dpop_nonce_challenges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["endpoint"] == "token")
        .collect();
    assert_eq!(at_token.len(), 1, "{stats}");
    assert_eq!(
        stats["authorization_code_grants"], 1,
        "then success: {stats}"
    );
    assert_eq!(all_bound(&stats, 1).len(), 1, "{stats}");
}

#[tokio::test]
async fn a_session_logged_in_on_one_instance_refreshes_on_another_with_the_same_dpop_key() {
    if !node_provider::should_run() {
        return;
    }
    // Two instances behind one public URL (A's origin), sharing one store.
    let bound_a = bind().await;
    let bound_b = bind().await;
    let origin = bound_a.origin.clone();
    let origin_b = bound_b.origin.clone();
    let op = NodeProvider::start(json!({
        "clients": [{
            "client_id": "public",
            "token_endpoint_auth_method": "none",
            "dpop_bound_access_tokens": true,
            "redirect_uris": [format!("{origin}/auth/callback")],
        }],
        "dpop": true,
        "accessTokenTtl": 2,
    }))
    .await;
    let config = || async {
        OAuthConfigurationBuilder::default()
            .with_client_id("public")
            .with_client_auth_method(ClientAuthMethod::None)
            .with_dpop(true)
            .with_app_url(&origin)
            .with_refresh_margin(Duration::from_secs(1))
            .with_private_cookie_key(COOKIE_KEY)
            .with_issuer(op.issuer.clone())
            .await
            .expect("discovery against oidc-provider")
            .build()
            .expect("config")
    };
    let store = memory();
    let _a = serve(bound_a, layer(config().await, store.clone()));
    let _b = serve(bound_b, layer(config().await, store.clone()));
    let on_a = Browser::new(&origin);
    // the same cookie jar (cookies are not port-scoped), pointed at B
    let on_b = Browser {
        client: on_a.client.clone(),
        origin: origin_b,
    };

    log_in(&op, &on_a, "carol").await;
    let thumbprint = stored_thumbprint(&store, &op, "carol").await;
    let login = op.stats().await;
    no_grant_errors(&login);
    let login_jkts = all_bound(&login, 1);
    assert!(login_jkts.iter().all(|j| *j == thumbprint), "{login}");

    op.reset_stats().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    me_is(&on_b, "carol").await;
    let refresh = op.stats().await;
    assert_eq!(refresh["refresh_grants"], 1, "B refreshed: {refresh}");
    // a refresh with another key would be `invalid_grant` (failed jkt verification)
    no_grant_errors(&refresh);
    let refresh_jkts = all_bound(&refresh, 1);
    assert!(
        refresh_jkts.iter().all(|j| *j == thumbprint),
        "B used A's key {thumbprint}: {refresh}"
    );
    assert_eq!(stored_thumbprint(&store, &op, "carol").await, thumbprint);
    // and A goes on with the session B refreshed
    me_is(&on_a, "carol").await;
}

/// `SecurityProfile::Fapi2` pushes every authorization request. Against a provider
/// that offers neither PAR nor DPoP, the configuration does not build: the error
/// names the missing `pushed_authorization_request_endpoint` (RFC 9126 section 5),
/// and the provider never sees a request.
#[tokio::test]
async fn the_fapi2_preset_does_not_build_against_a_provider_without_par_or_dpop() {
    if !node_provider::should_run() {
        return;
    }
    let origin = "http://127.0.0.1:9";
    let key = ec_key();
    let mut client = fapi_client(origin, &key);
    client
        .as_object_mut()
        .unwrap()
        .remove("dpop_bound_access_tokens");
    let op = NodeProvider::start(json!({
        "clients": [client],
        "pushedAuthorizationRequests": false,
        "dpop": false,
    }))
    .await;
    let discovery: Value = reqwest::get(op.discovery_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(discovery["pushed_authorization_request_endpoint"].is_null());
    assert!(discovery["dpop_signing_alg_values_supported"].is_null());
    let built = fapi_build(&op, origin, key).await;
    refused_at_build(
        built,
        "pushed_authorization_requests",
        "pushed_authorization_request_endpoint",
        &op,
    )
    .await;
}

/// A provider with PAR but without DPoP (no `dpop_signing_alg_values_supported`,
/// RFC 9449 section 5.1): the preset is refused when the provider is discovered,
/// naming the metadata, before any login could get a bearer token; the provider sees
/// nothing. (A provider that advertises DPoP and still answers with a bearer token is
/// refused at the callback with `dpop_not_bound`: `tests/conformance/dpop.rs`.)
#[tokio::test(flavor = "current_thread")]
async fn the_fapi2_preset_is_refused_against_a_provider_without_dpop() {
    if !node_provider::should_run() {
        return;
    }
    let bound = bind().await;
    let origin = bound.origin.clone();
    let key = ec_key();
    let mut client = fapi_client(&origin, &key);
    client
        .as_object_mut()
        .unwrap()
        .remove("dpop_bound_access_tokens");
    let op = NodeProvider::start(json!({ "clients": [client], "dpop": false })).await;
    let built = fapi_build(&op, &origin, key).await;
    refused_at_build(built, "dpop", "dpop_signing_alg_values_supported", &op).await;
}
