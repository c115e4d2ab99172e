//! Refresh tokens: rotation, reuse detection, scope narrowing, and
//! revocation (RFC 7009).

mod common;

use common::*;
use oidc_dev_provider::DevProviderConfig;
use reqwest::StatusCode;
use serde_json::Value;

const OFFLINE: &str = "openid profile offline_access";

#[tokio::test]
async fn refresh_rotates_the_token_and_issues_an_id_token_without_nonce() {
    let provider = start().await;
    let first = tokens_for(&provider, OFFLINE, "alice").await;
    let old_refresh = first["refresh_token"].as_str().expect("refresh_token");

    let response = refresh(&provider, old_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: Value = response.json().await.expect("json");
    let new_refresh = second["refresh_token"]
        .as_str()
        .expect("rotated refresh_token");
    assert_ne!(new_refresh, old_refresh);
    assert_ne!(second["access_token"], first["access_token"]);

    let jwks = jwks(&provider).await;
    let (_, before) = verify(
        first["id_token"].as_str().expect("id"),
        &jwks,
        provider.issuer(),
        CLIENT_ID,
    );
    let (_, after) = verify(
        second["id_token"].as_str().expect("id"),
        &jwks,
        provider.issuer(),
        CLIENT_ID,
    );
    assert_eq!(before["nonce"], "n-456");
    assert!(
        after.get("nonce").is_none(),
        "OIDC Core 12.2: no nonce on refresh"
    );
    for claim in ["iss", "sub", "aud", "sid", "auth_time"] {
        assert_eq!(before[claim], after[claim], "{claim}");
    }
    let info = userinfo(&provider, second["access_token"].as_str().expect("at")).await;
    assert_eq!(info.status(), StatusCode::OK);
    assert_eq!(provider.stats().refresh_grants, 1);
}

#[tokio::test]
async fn reused_refresh_token_revokes_the_grant() {
    let provider = start().await;
    let first = tokens_for(&provider, OFFLINE, "bob").await;
    let old_refresh = first["refresh_token"].as_str().expect("rt").to_owned();
    let second: Value = refresh(&provider, &old_refresh)
        .await
        .json()
        .await
        .expect("json");
    let new_refresh = second["refresh_token"].as_str().expect("rt").to_owned();
    let new_access = second["access_token"].as_str().expect("at").to_owned();

    let replay = refresh(&provider, &old_refresh).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        replay.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );
    assert_eq!(provider.stats().refresh_reuse_detected, 1);

    // The whole grant is gone: the newest refresh and access tokens too.
    let after = refresh(&provider, &new_refresh).await;
    assert_eq!(after.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        userinfo(&provider, &new_access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn without_rotation_the_same_refresh_token_keeps_working() {
    let config = DevProviderConfig::default()
        .with_client(test_client())
        .with_rotate_refresh_tokens(false);
    let provider = start_with(config).await;
    let first = tokens_for(&provider, OFFLINE, "carol").await;
    let token = first["refresh_token"].as_str().expect("rt");
    for _ in 0..2 {
        let response = refresh(&provider, token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        assert!(body.get("refresh_token").is_none());
    }
    assert_eq!(provider.stats().refresh_grants, 2);
    assert_eq!(provider.stats().refresh_reuse_detected, 0);
}

#[tokio::test]
async fn refresh_may_narrow_but_not_widen_the_scope() {
    let provider = start().await;
    let first = tokens_for(&provider, OFFLINE, "alice").await;
    let token = first["refresh_token"].as_str().expect("rt");
    let wider = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("scope", "openid email"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(wider.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wider.json::<Value>().await.expect("json")["error"],
        "invalid_scope"
    );

    let narrower = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("scope", "openid"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(narrower.status(), StatusCode::OK);
    assert_eq!(
        narrower.json::<Value>().await.expect("json")["scope"],
        "openid"
    );
}

async fn revoke(provider: &oidc_dev_provider::RunningProvider, token: &str) -> reqwest::Response {
    http()
        .post(format!("{}/revoke", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", token), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .expect("revoke")
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_grant() {
    let provider = start().await;
    let tokens = tokens_for(&provider, OFFLINE, "alice").await;
    let refresh_token = tokens["refresh_token"].as_str().expect("rt");
    assert_eq!(
        revoke(&provider, refresh_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(provider.stats().revocations, 1);
    assert_eq!(
        refresh(&provider, refresh_token).await.status(),
        StatusCode::BAD_REQUEST
    );
    let access_token = tokens["access_token"].as_str().expect("at");
    assert_eq!(
        userinfo(&provider, access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // RFC 7009 2.2: unknown tokens are answered with 200 as well.
    assert_eq!(
        revoke(&provider, "no-such-token").await.status(),
        StatusCode::OK
    );
    assert_eq!(provider.stats().revocations, 1);
}

#[tokio::test]
async fn revoking_an_access_token_leaves_the_refresh_token_usable() {
    let provider = start().await;
    let tokens = tokens_for(&provider, OFFLINE, "bob").await;
    let access_token = tokens["access_token"].as_str().expect("at");
    assert_eq!(
        revoke(&provider, access_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        userinfo(&provider, access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refreshed = refresh(&provider, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}
