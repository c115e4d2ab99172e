//! `private_key_jwt` (RFC 7523 sections 2.2 and 3, OIDC Core 9): a client
//! registered with public keys authenticates with a signed assertion at the
//! token, PAR and revocation endpoints; each rule of section 3, broken alone,
//! gets `invalid_client`.

mod common;

use common::jose::*;
use common::*;
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const APP: &str = "jwt-app";

async fn provider_for(key: &TestKey) -> RunningProvider {
    let client = ClientRegistration::private_key_jwt(APP, key.registered_jwk(), REDIRECT_URI);
    start_with(DevProviderConfig::default().with_client(client)).await
}

/// A token request with an unknown refresh token and `assertion`: 401
/// `invalid_client` when the client is not authenticated, 400 `invalid_grant`
/// once it is.
async fn refresh_with(
    provider: &RunningProvider,
    assertion: &str,
    assertion_type: &str,
) -> (StatusCode, Value) {
    let r = http()
        .post(format!("{}/token", provider.issuer()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "unknown"),
            ("client_assertion_type", assertion_type),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

/// A fresh client key and provider, and the token request with the
/// assertion `make` builds from the key and valid claims.
async fn assert_with(make: impl FnOnce(&TestKey, Value) -> String) -> (StatusCode, Value) {
    let key = TestKey::new();
    let provider = provider_for(&key).await;
    let claims = assertion_claims(APP, provider.issuer());
    let assertion = make(&key, claims);
    refresh_with(&provider, &assertion, ASSERTION_TYPE).await
}

/// The client was refused for the reason `why` names.
fn assert_refused((status, body): (StatusCode, Value), why: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(why), "{description:?} names {why:?}");
}

/// The client was authenticated (the made-up refresh token is what fails).
fn assert_authenticated((status, body): (StatusCode, Value)) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

#[tokio::test]
async fn a_private_key_jwt_client_logs_in_through_par_and_revokes() {
    let key = TestKey::new();
    let provider = provider_for(&key).await;
    let doc: Value = http()
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
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.iter().any(|m| m == "private_key_jwt"));

    let pkce = Pkce::new();
    let front = authorize_url(provider.issuer(), &pkce, "openid offline_access", &[]).replace(
        &format!("client_id={CLIENT_ID}"),
        &format!("client_id={APP}"),
    );
    let mut form: Vec<(String, String)> = url::Url::parse(&front)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let assertion = key.assertion(&assertion_claims(APP, provider.issuer()));
    form.push(("client_assertion_type".into(), ASSERTION_TYPE.into()));
    form.push(("client_assertion".into(), assertion));
    let r = http()
        .post(format!("{}/par", provider.issuer()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let request_uri = r.json::<Value>().await.unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut url = url::Url::parse(&format!("{}/authorize", provider.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", APP)
        .append_pair("request_uri", &request_uri)
        .append_pair("login_hint", "alice");
    let r = http().get(url).send().await.unwrap();
    let code = query_param(&location(&r), "code").expect("code");

    // RFC 7523 section 3 point 3: the token endpoint URL is an audience too.
    let token_url = format!("{}/token", provider.issuer());
    let assertion = key.assertion(&assertion_claims(APP, &token_url));
    let r = http()
        .post(&token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &pkce.verifier),
            ("client_id", APP),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let assertion = key.assertion(&assertion_claims(APP, provider.issuer()));
    let r = http()
        .post(format!("{}/revoke", provider.issuer()))
        .form(&[
            ("token", refresh),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(provider.stats().revocations, 1);
}

#[tokio::test]
async fn a_valid_assertion_authenticates_the_client() {
    assert_authenticated(assert_with(|k, claims| k.assertion(&claims)).await);
}

#[tokio::test]
async fn another_client_assertion_type_is_refused() {
    let key = TestKey::new();
    let provider = provider_for(&key).await;
    let assertion = key.assertion(&assertion_claims(APP, provider.issuer()));
    let r = refresh_with(&provider, &assertion, "urn:example:other").await;
    assert_refused(r, "client_assertion_type must be");
}

#[tokio::test]
async fn an_assertion_with_a_symmetric_alg_is_refused() {
    let r =
        assert_with(|k, claims| k.sign(&json!({"alg": "HS256", "kid": k.thumbprint()}), &claims))
            .await;
    assert_refused(r, "alg is not allowed");
}

#[tokio::test]
async fn an_assertion_with_an_unregistered_kid_is_refused() {
    let r =
        assert_with(|k, claims| k.sign(&json!({"alg": "ES256", "kid": "other"}), &claims)).await;
    assert_refused(r, "no registered key has the client assertion's kid");
}

#[tokio::test]
async fn an_assertion_signed_by_an_unregistered_key_is_refused() {
    let r = assert_with(|k, claims| {
        let header = json!({"alg": "ES256", "kid": k.thumbprint()});
        TestKey::new().sign(&header, &claims)
    })
    .await;
    assert_refused(r, "signature does not verify");
}

#[tokio::test]
async fn an_assertion_without_kid_is_tried_with_every_registered_key() {
    let r = assert_with(|k, claims| k.sign(&json!({"alg": "ES256"}), &claims)).await;
    assert_authenticated(r);
}

#[tokio::test]
async fn an_assertion_issued_by_another_client_is_refused() {
    let r = assert_with(|k, mut claims| {
        claims["iss"] = "someone-else".into();
        k.assertion(&claims)
    })
    .await;
    assert_refused(r, "iss is not the client_id");
}

#[tokio::test]
async fn an_assertion_about_another_subject_is_refused() {
    let key = TestKey::new();
    let provider = provider_for(&key).await;
    let mut claims = assertion_claims(APP, provider.issuer());
    claims["sub"] = "someone-else".into();
    // With client_id in the form, the client is known and sub is checked.
    let r = http()
        .post(format!("{}/token", provider.issuer()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "unknown"),
            ("client_id", APP),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &key.assertion(&claims)),
        ])
        .send()
        .await
        .unwrap();
    assert_refused(
        (r.status(), r.json().await.unwrap()),
        "client_id does not match the client assertion",
    );
}

#[tokio::test]
async fn an_assertion_for_another_audience_is_refused() {
    let r = assert_with(|k, mut claims| {
        claims["aud"] = "https://other.example".into();
        k.assertion(&claims)
    })
    .await;
    assert_refused(r, "aud does not name this provider");
}

#[tokio::test]
async fn an_expired_assertion_is_refused() {
    let r = assert_with(|k, mut claims| {
        claims["exp"] = (now() - 120).into();
        k.assertion(&claims)
    })
    .await;
    assert_refused(r, "has expired");
}

#[tokio::test]
async fn an_assertion_valid_for_more_than_ten_minutes_is_refused() {
    let r = assert_with(|k, mut claims| {
        claims["exp"] = (now() + 3600).into();
        k.assertion(&claims)
    })
    .await;
    assert_refused(r, "exp is too far in the future");
}

#[tokio::test]
async fn an_assertion_without_jti_is_refused() {
    let r = assert_with(|k, mut claims| {
        claims.as_object_mut().unwrap().remove("jti");
        k.assertion(&claims)
    })
    .await;
    assert_refused(r, "no jti claim");
}

#[tokio::test]
async fn an_assertion_is_used_once() {
    let key = TestKey::new();
    let provider = provider_for(&key).await;
    let assertion = key.assertion(&assertion_claims(APP, provider.issuer()));
    assert_authenticated(refresh_with(&provider, &assertion, ASSERTION_TYPE).await);
    let again = refresh_with(&provider, &assertion, ASSERTION_TYPE).await;
    assert_refused(again, "already used");
}

#[tokio::test]
async fn a_private_key_jwt_client_cannot_use_a_secret_or_nothing() {
    let key = TestKey::new();
    let provider = provider_for(&key).await;
    let r = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(APP, Some("guess"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_refused(
        (r.status(), r.json().await.unwrap()),
        "must authenticate with private_key_jwt",
    );
    let r = http()
        .post(format!("{}/token", provider.issuer()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", APP),
        ])
        .send()
        .await
        .unwrap();
    assert_refused(
        (r.status(), r.json().await.unwrap()),
        "must authenticate with private_key_jwt",
    );
}

#[tokio::test]
async fn a_registered_private_key_or_a_missing_key_is_a_configuration_error() {
    let mut private = TestKey::new().registered_jwk();
    private["d"] = "c2VjcmV0".into();
    for client in [
        ClientRegistration::private_key_jwt(APP, private, REDIRECT_URI),
        ClientRegistration {
            jwks: Vec::new(),
            ..ClientRegistration::private_key_jwt(APP, json!({}), REDIRECT_URI)
        },
    ] {
        let config = DevProviderConfig::default().with_client(client);
        let error = DevProvider::start(config).await.expect_err("refused");
        assert!(error.to_string().contains(APP), "{error}");
    }
}
