//! `auth_time` and `acr` in the tokens, and `acr_values` / `max_age` honoured, so
//! relying parties can run step-up flows locally (OIDC Core 3.1.2.1).

mod common;

use common::*;
use oidc_dev_provider::{ACR_MFA, ACR_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;

/// Signs alice in with `extra` authorization parameters; the ID token's and the
/// access token's claims.
async fn claims_with(extra: &[(&str, &str)]) -> (Value, Value) {
    let provider = start().await;
    let pkce = Pkce::new();
    let mut params = vec![("login_hint", "alice")];
    params.extend_from_slice(extra);
    let url = authorize_url(provider.issuer(), &pkce, "openid", &params);
    let response = http().get(url).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::FOUND);
    let code = query_param(&location(&response), "code").expect("code");
    let tokens: Value = exchange(&provider, &code, &pkce.verifier)
        .await
        .json()
        .await
        .expect("json");
    let keys = jwks(&provider).await;
    let (_, id) = verify(
        tokens["id_token"].as_str().unwrap(),
        &keys,
        provider.issuer(),
        CLIENT_ID,
    );
    let (_, access) = verify(
        tokens["access_token"].as_str().unwrap(),
        &keys,
        provider.issuer(),
        CLIENT_ID,
    );
    (id, access)
}

#[tokio::test]
async fn tokens_carry_auth_time_and_a_password_acr_by_default() {
    let before = chrono_now();
    let (id, access) = claims_with(&[]).await;
    assert_eq!(id["acr"], ACR_PASSWORD);
    assert_eq!(access["acr"], ACR_PASSWORD);
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!(auth_time >= before - 1, "a fresh sign-in");
    assert_eq!(access["auth_time"], id["auth_time"]);
}

#[tokio::test]
async fn acr_values_naming_mfa_get_the_stronger_acr() {
    let (id, access) = claims_with(&[("acr_values", "urn:example:mfa")]).await;
    assert_eq!(id["acr"], ACR_MFA);
    assert_eq!(access["acr"], ACR_MFA);
    let (id, _) = claims_with(&[("acr_values", "urn:example:other")]).await;
    assert_eq!(id["acr"], ACR_PASSWORD, "an unknown class is not granted");
}

#[tokio::test]
async fn max_age_zero_still_signs_in_anew_with_a_fresh_auth_time() {
    let before = chrono_now();
    let (id, _) = claims_with(&[("max_age", "0")]).await;
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!(auth_time >= before - 1);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
