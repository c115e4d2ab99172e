//! Pushed authorization requests (RFC 9126): push, then authorize with
//! `client_id` and `request_uri` only; the `request_uri` works once, for its
//! client, and the push needs client authentication.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;

async fn push(
    provider: &oidc_dev_provider::RunningProvider,
    pkce: &Pkce,
    secret: &str,
) -> reqwest::Response {
    let front = authorize_url(provider.issuer(), pkce, "openid", &[]);
    let params: Vec<(String, String)> = url::Url::parse(&front)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    http()
        .post(format!("{}/par", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(secret))
        .form(&params)
        .send()
        .await
        .expect("push")
}

fn front_url(issuer: &str, request_uri: &str, client_id: &str) -> String {
    let mut url = url::Url::parse(&format!("{issuer}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri)
        .append_pair("login_hint", "alice");
    url.into()
}

#[tokio::test]
async fn a_pushed_request_completes_the_code_flow_once() {
    let provider = start().await;
    let discovery: Value = http()
        .get(format!(
            "{}/.well-known/openid-configuration",
            provider.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        format!("{}/par", provider.issuer())
    );
    let pkce = Pkce::new();
    let r = push(&provider, &pkce, CLIENT_SECRET).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert!(body["expires_in"].as_u64().unwrap() > 0);

    let url = front_url(provider.issuer(), &request_uri, CLIENT_ID);
    let r = http().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let redirect = location(&r);
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-123"));
    let code = query_param(&redirect, "code").expect("code");
    assert_eq!(
        exchange(&provider, &code, &pkce.verifier).await.status(),
        StatusCode::OK
    );

    // Used once.
    let again = http().get(&url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_push_needs_client_authentication_and_a_request_uri_its_client() {
    let provider = start().await;
    let pkce = Pkce::new();
    let r = push(&provider, &pkce, "wrong-secret").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let body: Value = push(&provider, &pkce, CLIENT_SECRET)
        .await
        .json()
        .await
        .unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();
    let r = http()
        .get(front_url(provider.issuer(), request_uri, "another-client"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = http()
        .get(front_url(
            provider.issuer(),
            "urn:ietf:params:oauth:request_uri:nope",
            CLIENT_ID,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_that_must_push_cannot_authorize_through_the_front_channel() {
    let client = test_client().with_require_pushed_authorization_requests(true);
    let provider =
        start_with(oidc_dev_provider::DevProviderConfig::default().with_client(client)).await;
    let pkce = Pkce::new();
    let front = authorize_url(
        provider.issuer(),
        &pkce,
        "openid",
        &[("login_hint", "alice")],
    );
    let r = http().get(front).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let redirect = location(&r);
    assert_eq!(
        query_param(&redirect, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(query_param(&redirect, "code").is_none());

    let body: Value = push(&provider, &pkce, CLIENT_SECRET)
        .await
        .json()
        .await
        .unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();
    let r = http()
        .get(front_url(provider.issuer(), request_uri, CLIENT_ID))
        .send()
        .await
        .unwrap();
    assert!(query_param(&location(&r), "code").is_some());
}
