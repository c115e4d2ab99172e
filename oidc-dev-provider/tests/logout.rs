//! RP-Initiated Logout and Back-Channel Logout.

mod common;

use common::*;
use oidc_dev_provider::{DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use serde_json::Value;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

async fn start_with_receiver() -> (RunningProvider, LogoutReceiver) {
    let receiver = LogoutReceiver::start().await;
    let client = test_client().with_backchannel_logout_uri(receiver.uri.clone());
    let provider = start_with(DevProviderConfig::default().with_client(client)).await;
    (provider, receiver)
}

#[tokio::test]
async fn backchannel_logout_token_reaches_the_client_with_the_right_claims() {
    let (provider, receiver) = start_with_receiver().await;
    let tokens = tokens_for(&provider, "openid offline_access", "alice").await;
    let jwks = jwks(&provider).await;
    let (_, id_claims) = verify(
        tokens["id_token"].as_str().expect("id"),
        &jwks,
        provider.issuer(),
        CLIENT_ID,
    );

    assert_eq!(provider.logout_subject("user-alice").await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let (typ, claims) = verify(&received[0], &jwks, provider.issuer(), CLIENT_ID);
    assert_eq!(typ.as_deref(), Some("logout+jwt"));
    assert_eq!(claims["sub"], "user-alice");
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["iat"].as_u64().is_some());
    assert!(claims["events"][EVENT].is_object());
    assert!(claims.get("nonce").is_none());
    assert_eq!(provider.stats().backchannel_logouts_sent, 1);

    // The session's grant is over and a second logout has nothing to send.
    let refreshed = refresh(&provider, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(provider.logout_subject("user-alice").await, 0);
}

#[tokio::test]
async fn logout_subject_only_touches_that_users_sessions() {
    let (provider, receiver) = start_with_receiver().await;
    let alice = tokens_for(&provider, "openid", "alice").await;
    let bob = tokens_for(&provider, "openid", "bob").await;
    assert_eq!(provider.logout_subject("user-bob").await, 1);
    assert_eq!(receiver.received().len(), 1);
    let alice_at = alice["access_token"].as_str().expect("at");
    assert_eq!(userinfo(&provider, alice_at).await.status(), StatusCode::OK);
    let bob_at = bob["access_token"].as_str().expect("at");
    assert_eq!(
        userinfo(&provider, bob_at).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rp_initiated_logout_echoes_state_and_notifies_the_client() {
    let (provider, receiver) = start_with_receiver().await;
    let tokens = tokens_for(&provider, "openid", "carol").await;
    let id_token = tokens["id_token"].as_str().expect("id");
    let response = http()
        .get(format!("{}/logout", provider.issuer()))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "bye-42"),
        ])
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::FOUND);
    let redirect = location(&response);
    assert!(redirect.starts_with(POST_LOGOUT_URI));
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("bye-42"));

    let received = receiver.received();
    assert_eq!(
        received.len(),
        1,
        "back-channel token delivered before the redirect"
    );
    let (_, claims) = verify(
        &received[0],
        &jwks(&provider).await,
        provider.issuer(),
        CLIENT_ID,
    );
    assert_eq!(claims["sub"], "user-carol");
    let access_token = tokens["access_token"].as_str().expect("at");
    assert_eq!(
        userinfo(&provider, access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unregistered_post_logout_redirect_uri_is_refused() {
    let provider = start().await;
    let tokens = tokens_for(&provider, "openid", "alice").await;
    let response = http()
        .get(format!("{}/logout", provider.issuer()))
        .query(&[
            ("id_token_hint", tokens["id_token"].as_str().expect("id")),
            ("post_logout_redirect_uri", "http://evil.example/"),
        ])
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());

    let forged = http()
        .get(format!("{}/logout", provider.issuer()))
        .query(&[("id_token_hint", "e30.e30.sig"), ("client_id", CLIENT_ID)])
        .send()
        .await
        .expect("logout");
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        forged.json::<Value>().await.expect("json")["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn logout_without_redirect_shows_the_signed_out_page() {
    let provider = start().await;
    let tokens = tokens_for(&provider, "openid", "bob").await;
    let response = http()
        .post(format!("{}/logout", provider.issuer()))
        .form(&[("id_token_hint", tokens["id_token"].as_str().expect("id"))])
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("Signed out") && html.contains("Bob Brown"));
}
