//! Helpers shared by the integration tests: starting a provider, PKCE
//! values, a login through `login_hint`, the code exchange and JWT checks.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod jose;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-secret";
/// Never contacted: redirects are not followed by the test client.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/signed-out";

/// The standard confidential test client (client_secret_basic).
pub fn test_client() -> ClientRegistration {
    ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
        .with_post_logout_redirect_uri(POST_LOGOUT_URI)
}

/// Starts a provider on 127.0.0.1:0 with the given clients.
pub async fn start_with(config: DevProviderConfig) -> RunningProvider {
    DevProvider::start(config).await.expect("provider starts")
}

/// Starts a provider with only the standard test client.
pub async fn start() -> RunningProvider {
    start_with(DevProviderConfig::default().with_client(test_client())).await
}

/// An HTTP client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// A PKCE verifier and its S256 challenge (RFC 7636 4.1 and 4.2).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// The value of a query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `Location` header of a response.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location header")
        .to_owned()
}

/// Authorization request URL with PKCE, nonce and state; `extra` is appended.
pub fn authorize_url(issuer: &str, pkce: &Pkce, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{issuer}/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", "st-123")
        .append_pair("nonce", "n-456")
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    url.into()
}

/// Runs `/authorize` with `login_hint=user` and returns the redirect URL.
pub async fn login_with_hint(
    provider: &RunningProvider,
    pkce: &Pkce,
    scope: &str,
    user: &str,
) -> String {
    let url = authorize_url(provider.issuer(), pkce, scope, &[("login_hint", user)]);
    let response = http().get(url).send().await.expect("authorize");
    assert_eq!(response.status(), reqwest::StatusCode::FOUND);
    location(&response)
}

/// Exchanges a code with client_secret_basic.
pub async fn exchange(provider: &RunningProvider, code: &str, verifier: &str) -> reqwest::Response {
    http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token request")
}

/// Logs `user` in and exchanges the code; returns the token response JSON.
pub async fn tokens_for(provider: &RunningProvider, scope: &str, user: &str) -> Value {
    let pkce = Pkce::new();
    let redirect = login_with_hint(provider, &pkce, scope, user).await;
    let code = query_param(&redirect, "code").expect("code");
    let response = exchange(provider, &code, &pkce.verifier).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response.json().await.expect("token json")
}

/// Refreshes with client_secret_basic.
pub async fn refresh(provider: &RunningProvider, refresh_token: &str) -> reqwest::Response {
    http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("refresh request")
}

/// Calls userinfo with a bearer token.
pub async fn userinfo(provider: &RunningProvider, access_token: &str) -> reqwest::Response {
    http()
        .get(format!("{}/userinfo", provider.issuer()))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo request")
}

/// Fetches the JWKS of the provider.
pub async fn jwks(provider: &RunningProvider) -> JwkSet {
    let url = format!("{}/jwks", provider.issuer());
    http()
        .get(url)
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json")
}

/// Verifies a JWT against the JWKS (kid lookup, issuer, audience, expiry)
/// and returns its header `typ` and claims.
pub fn verify(token: &str, jwks: &JwkSet, issuer: &str, audience: &str) -> (Option<String>, Value) {
    let header = jsonwebtoken::decode_header(token).expect("header");
    let kid = header.kid.as_deref().expect("kid");
    let jwk = jwks.find(kid).expect("key for kid");
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).expect("valid JWT");
    (header.typ, data.claims)
}

/// A tiny relying-party endpoint collecting back-channel logout tokens.
pub struct LogoutReceiver {
    pub uri: String,
    pub tokens: Arc<Mutex<Vec<String>>>,
}

impl LogoutReceiver {
    pub async fn start() -> Self {
        let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
        async fn receive(
            State(tokens): State<Arc<Mutex<Vec<String>>>>,
            axum::Form(form): axum::Form<Vec<(String, String)>>,
        ) -> axum::http::StatusCode {
            for (name, value) in form {
                if name == "logout_token" {
                    tokens.lock().expect("lock").push(value);
                }
            }
            axum::http::StatusCode::OK
        }
        let app = axum::Router::new()
            .route("/backchannel", post(receive))
            .with_state(tokens.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let uri = format!(
            "http://{}/backchannel",
            listener.local_addr().expect("addr")
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { uri, tokens }
    }

    pub fn received(&self) -> Vec<String> {
        self.tokens.lock().expect("lock").clone()
    }
}
