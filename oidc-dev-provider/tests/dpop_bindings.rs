//! What a DPoP key binds (RFC 9449): the code (section 10, through PAR or
//! `dpop_jkt`), a public client's refresh token (section 5), the access token
//! at UserInfo (section 7.1), and a client registered for DPoP-bound tokens
//! only (section 5.2).

mod common;

use common::jose::*;
use common::*;
use oidc_dev_provider::{ClientRegistration, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use serde_json::Value;

/// The code exchange of the test client with an optional proof.
async fn exchange_with(
    provider: &RunningProvider,
    code: &str,
    verifier: &str,
    proof: Option<String>,
) -> (StatusCode, Value) {
    let mut request = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let r = request
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token request");
    (r.status(), r.json().await.expect("json"))
}

/// Pushes an authorization request of the test client, with `proof` as its
/// `DPoP` header and `extra` parameters; the response.
async fn push(
    provider: &RunningProvider,
    pkce: &Pkce,
    proof: Option<String>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let front = authorize_url(provider.issuer(), pkce, "openid", extra);
    let params: Vec<(String, String)> = url::Url::parse(&front)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let mut request = http()
        .post(format!("{}/par", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.form(&params).send().await.expect("push")
}

/// Pushes with a proof of `key` and signs alice in through the `request_uri`;
/// the code and its verifier.
async fn pushed_code(provider: &RunningProvider, key: &TestKey) -> (String, Pkce) {
    let pkce = Pkce::new();
    let proof = key.proof("POST", &format!("{}/par", provider.issuer()));
    let r = push(provider, &pkce, Some(proof), &[]).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let mut url = url::Url::parse(&format!("{}/authorize", provider.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("request_uri", body["request_uri"].as_str().unwrap())
        .append_pair("login_hint", "alice");
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    (query_param(&location(&r), "code").expect("code"), pkce)
}

#[tokio::test]
async fn a_code_pushed_with_a_proof_is_redeemed_only_with_that_key() {
    let provider = start().await;
    let key = TestKey::new();
    let token = format!("{}/token", provider.issuer());

    let (code, pkce) = pushed_code(&provider, &key).await;
    let other = TestKey::new().proof("POST", &token);
    let (status, body) = exchange_with(&provider, &code, &pkce.verifier, Some(other)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "{body}");

    let (code, pkce) = pushed_code(&provider, &key).await;
    let (status, body) = exchange_with(&provider, &code, &pkce.verifier, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");

    let (code, pkce) = pushed_code(&provider, &key).await;
    let proof = key.proof("POST", &token);
    let (status, body) = exchange_with(&provider, &code, &pkce.verifier, Some(proof)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
}

#[tokio::test]
async fn a_pushed_dpop_jkt_must_name_the_proofs_key() {
    let provider = start().await;
    let key = TestKey::new();
    let proof = key.proof("POST", &format!("{}/par", provider.issuer()));
    let other = TestKey::new().thumbprint();
    let r = push(
        &provider,
        &Pkce::new(),
        Some(proof),
        &[("dpop_jkt", &other)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_dpop_proof"
    );
}

#[tokio::test]
async fn a_push_with_an_invalid_proof_is_refused() {
    let provider = start().await;
    let proof = TestKey::new().proof("POST", &format!("{}/token", provider.issuer()));
    let r = push(&provider, &Pkce::new(), Some(proof), &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_dpop_proof"
    );
}

#[tokio::test]
async fn dpop_jkt_at_the_authorization_endpoint_binds_the_code() {
    let provider = start().await;
    let key = TestKey::new();
    let token = format!("{}/token", provider.issuer());
    let jkt = key.thumbprint();
    let login = |pkce: Pkce| {
        let url = authorize_url(
            provider.issuer(),
            &pkce,
            "openid",
            &[("login_hint", "alice"), ("dpop_jkt", &jkt)],
        );
        async move {
            let r = http().get(url).send().await.unwrap();
            (query_param(&location(&r), "code").expect("code"), pkce)
        }
    };
    let (code, pkce) = login(Pkce::new()).await;
    let (status, body) = exchange_with(&provider, &code, &pkce.verifier, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");

    let (code, pkce) = login(Pkce::new()).await;
    let proof = key.proof("POST", &token);
    let (status, body) = exchange_with(&provider, &code, &pkce.verifier, Some(proof)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_client_registered_for_dpop_bound_tokens_must_send_a_proof() {
    let client = test_client().with_dpop_bound_access_tokens(true);
    let provider = start_with(DevProviderConfig::default().with_client(client)).await;
    let pkce = Pkce::new();
    let redirect = login_with_hint(&provider, &pkce, "openid", "alice").await;
    let code = query_param(&redirect, "code").unwrap();
    let (status, body) = exchange_with(&provider, &code, &pkce.verifier, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
}

/// A public client's code exchange or refresh with a proof of `key`.
async fn public_token(
    provider: &RunningProvider,
    key: &TestKey,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = form.to_vec();
    form.push(("client_id", "spa"));
    let proof = key.proof("POST", &format!("{}/token", provider.issuer()));
    let r = http()
        .post(format!("{}/token", provider.issuer()))
        .header("DPoP", proof)
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_dpop_key() {
    let spa = ClientRegistration::public("spa", REDIRECT_URI);
    let provider = start_with(DevProviderConfig::default().with_client(spa)).await;
    let key = TestKey::new();
    let pkce = Pkce::new();
    let url = authorize_url(
        provider.issuer(),
        &pkce,
        "openid offline_access",
        &[("login_hint", "bob")],
    )
    .replace(&format!("client_id={CLIENT_ID}"), "client_id=spa");
    let r = http().get(url).send().await.unwrap();
    let code = query_param(&location(&r), "code").unwrap();
    let (status, body) = public_token(
        &provider,
        &key,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh)];

    let (status, body) = public_token(&provider, &TestKey::new(), &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "{body}");

    let (status, body) = public_token(&provider, &key, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
}

/// A DPoP-bound access token of alice and its key.
async fn bound_token(provider: &RunningProvider) -> (String, TestKey) {
    let key = TestKey::new();
    let pkce = Pkce::new();
    let redirect = login_with_hint(provider, &pkce, "openid profile", "alice").await;
    let code = query_param(&redirect, "code").unwrap();
    let proof = key.proof("POST", &format!("{}/token", provider.issuer()));
    let (status, body) = exchange_with(provider, &code, &pkce.verifier, Some(proof)).await;
    assert_eq!(status, StatusCode::OK);
    (body["access_token"].as_str().unwrap().to_owned(), key)
}

/// UserInfo with `Authorization: {scheme} {token}` and an optional proof.
async fn userinfo_with(
    provider: &RunningProvider,
    scheme: &str,
    token: &str,
    proof: Option<String>,
) -> reqwest::Response {
    let mut request = http()
        .get(format!("{}/userinfo", provider.issuer()))
        .header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.unwrap()
}

/// A 401 with a `DPoP` challenge naming `error`.
fn assert_dpop_challenge(r: &reqwest::Response, error: &str) {
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
}

#[tokio::test]
async fn userinfo_answers_a_dpop_bound_token_with_a_proof_of_its_key() {
    let provider = start().await;
    let (token, key) = bound_token(&provider).await;
    let url = format!("{}/userinfo", provider.issuer());
    let proof = key.resource_proof("GET", &url, &token);
    let r = userinfo_with(&provider, "DPoP", &token, Some(proof)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["sub"], "user-alice");
}

#[tokio::test]
async fn userinfo_refuses_a_dpop_bound_token_sent_as_bearer() {
    let provider = start().await;
    let (token, _) = bound_token(&provider).await;
    let r = userinfo_with(&provider, "Bearer", &token, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_token");
}

#[tokio::test]
async fn userinfo_refuses_a_proof_whose_ath_is_another_tokens() {
    let provider = start().await;
    let (token, key) = bound_token(&provider).await;
    let url = format!("{}/userinfo", provider.issuer());
    let proof = key.resource_proof("GET", &url, "another-token");
    let r = userinfo_with(&provider, "DPoP", &token, Some(proof)).await;
    assert_dpop_challenge(&r, "invalid_dpop_proof");
}

#[tokio::test]
async fn userinfo_refuses_a_proof_without_ath() {
    let provider = start().await;
    let (token, key) = bound_token(&provider).await;
    let proof = key.proof("GET", &format!("{}/userinfo", provider.issuer()));
    let r = userinfo_with(&provider, "DPoP", &token, Some(proof)).await;
    assert_dpop_challenge(&r, "invalid_dpop_proof");
}

#[tokio::test]
async fn userinfo_refuses_a_proof_of_another_key_than_the_tokens() {
    let provider = start().await;
    let (token, _) = bound_token(&provider).await;
    let url = format!("{}/userinfo", provider.issuer());
    let proof = TestKey::new().resource_proof("GET", &url, &token);
    let r = userinfo_with(&provider, "DPoP", &token, Some(proof)).await;
    assert_dpop_challenge(&r, "invalid_dpop_proof");
}

#[tokio::test]
async fn userinfo_refuses_a_dpop_bound_token_without_a_proof() {
    let provider = start().await;
    let (token, _) = bound_token(&provider).await;
    let r = userinfo_with(&provider, "DPoP", &token, None).await;
    assert_dpop_challenge(&r, "invalid_dpop_proof");
}

#[tokio::test]
async fn userinfo_refuses_a_bearer_token_sent_with_the_dpop_scheme() {
    let provider = start().await;
    let tokens = tokens_for(&provider, "openid", "alice").await;
    let token = tokens["access_token"].as_str().unwrap();
    let url = format!("{}/userinfo", provider.issuer());
    let proof = TestKey::new().resource_proof("GET", &url, token);
    let r = userinfo_with(&provider, "DPoP", token, Some(proof)).await;
    assert_dpop_challenge(&r, "invalid_token");
}
