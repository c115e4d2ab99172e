//! A provider that records every request it receives, so tests can assert what the
//! library puts on the wire.
//!
//! It serves, on `127.0.0.1:0`:
//! - `GET /authorize`: 303 back to the `redirect_uri` with a fresh `code` and the `state`;
//! - `POST /token`: a fixed bearer token response, shaped by [`Script`]; with
//!   [`Script::id_token_sub`] set it also signs an ID token (RS256, test fixture key);
//! - `GET /user`: the [`Script::user_document`] (the GitHub-like user API);
//! - `GET /userinfo`: the [`Script::userinfo_document`];
//! - `GET /.well-known/openid-configuration` and `GET /jwks`: discovery and keys, for
//!   OpenID Connect mode;
//! - `GET /end_session`, `POST /revoke`: 200.
//!
//! Anything else is recorded and answered 404. The test crate must also declare the
//! `app` module (`support/app.rs`): the login helpers drive its [`Browser`].

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum_oidc_client::{Clock, OAuthConfigurationBuilder};
use http::{HeaderMap, Method, StatusCode, header};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::app::{Browser, location};

pub const CLIENT_ID: &str = "capture-client";
pub const CLIENT_SECRET: &str = "capture-secret";
pub const COOKIE_KEY: &str = "9GnkEU8YMW7Wt0kd4HRMzFAmNp/w+3FI7pgvXcjrTlVCXguYoeFXAbBuSsHU5Oim";

const SIGNING_KEY_PEM: &[u8] = include_bytes!("../fixtures/rsa1.pem");
const KID: &str = "capture-rsa-1";

/// One request as the provider received it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: Method,
    pub path: String,
    pub raw_query: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: String,
    /// The body parsed as `application/x-www-form-urlencoded`.
    pub form: Vec<(String, String)>,
}

fn one<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut found = pairs.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.as_str());
    assert!(
        found.next().is_none(),
        "parameter {name} sent more than once"
    );
    first
}

impl Captured {
    /// The single value of a query parameter (panics when it is repeated).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        one(&self.query, name)
    }

    /// Every value of a query parameter.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of a form field (panics when it is repeated).
    pub fn form_param(&self, name: &str) -> Option<&str> {
        one(&self.form, name)
    }

    /// The names of the form fields, in order.
    pub fn form_names(&self) -> Vec<&str> {
        self.form.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the token endpoint answers to a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReply {
    /// A new access token (and a new refresh token when they are issued).
    Tokens,
    /// 400 `invalid_grant`.
    InvalidGrant,
}

/// How the provider answers. Change it with [`CaptureProvider::script`].
#[derive(Debug, Clone)]
pub struct Script {
    /// `token_type` of token responses.
    pub token_type: &'static str,
    /// `expires_in` of token responses; `None` leaves it out.
    pub expires_in: Option<u64>,
    /// Whether token responses carry a refresh token.
    pub issue_refresh_tokens: bool,
    /// The answer to `grant_type=refresh_token`.
    pub refresh_reply: RefreshReply,
    /// When set, token responses carry an ID token for this subject (OpenID Connect
    /// mode); when `None`, none (OAuth2-only mode).
    pub id_token_sub: Option<String>,
    /// Extra claims of the ID token.
    pub id_token_claims: serde_json::Map<String, Value>,
    /// Status and JSON of `GET /user`.
    pub user_status: StatusCode,
    pub user_document: Value,
    /// JSON of `GET /userinfo`.
    pub userinfo_document: Value,
    /// The provider's clock for `iat` and `exp` of ID tokens.
    pub clock: Clock,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            token_type: "Bearer",
            expires_in: Some(3600),
            issue_refresh_tokens: false,
            refresh_reply: RefreshReply::Tokens,
            id_token_sub: None,
            id_token_claims: serde_json::Map::new(),
            user_status: StatusCode::OK,
            user_document: json!({"id": 42, "login": "octo", "name": "Octo Cat", "email": "o@x"}),
            userinfo_document: json!({"sub": "alice", "email": "alice@example.com"}),
            clock: Clock::system(),
        }
    }
}

#[derive(Default)]
struct Issued {
    tokens: u32,
    codes: HashMap<String, (String, Option<String>)>,
}

struct Shared {
    origin: String,
    requests: Mutex<Vec<Captured>>,
    script: Mutex<Script>,
    issued: Mutex<Issued>,
    key: EncodingKey,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running provider; stops when dropped.
pub struct CaptureProvider {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for CaptureProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl CaptureProvider {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            origin,
            requests: Mutex::default(),
            script: Mutex::default(),
            issued: Mutex::default(),
            key: EncodingKey::from_rsa_pem(SIGNING_KEY_PEM).expect("fixture key"),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self { shared, server }
    }

    /// The origin, which is also the issuer.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.shared.origin)
    }

    /// Changes how the provider answers.
    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut lock(&self.shared.script));
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Captured> {
        lock(&self.shared.requests).clone()
    }

    /// The requests received on `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Captured> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The last request received on `path`.
    pub fn last(&self, path: &str) -> Captured {
        self.requests_to(path)
            .pop()
            .unwrap_or_else(|| panic!("the provider received no request on {path}"))
    }

    /// A builder for OAuth2-only mode with every endpoint given explicitly (no
    /// discovery): the GitHub shape, user endpoint `/user`, subject field `id`.
    pub fn oauth2_builder(&self, app_origin: &str) -> OAuthConfigurationBuilder {
        OAuthConfigurationBuilder::default()
            .with_client_id(CLIENT_ID)
            .with_client_secret(CLIENT_SECRET)
            .with_app_url(app_origin)
            .with_private_cookie_key(COOKIE_KEY)
            .with_authorization_endpoint(self.url("/authorize"))
            .with_token_endpoint(self.url("/token"))
            .with_oauth2_only(self.url("/user"), "id")
    }

    /// A builder for OpenID Connect mode, discovered from this provider. ID tokens
    /// are issued for `sub`.
    pub async fn oidc_builder(&self, app_origin: &str, sub: &str) -> OAuthConfigurationBuilder {
        self.script(|s| s.id_token_sub = Some(sub.to_owned()));
        OAuthConfigurationBuilder::default()
            .with_client_id(CLIENT_ID)
            .with_client_secret(CLIENT_SECRET)
            .with_app_url(app_origin)
            .with_private_cookie_key(COOKIE_KEY)
            .with_issuer(self.origin())
            .await
            .expect("discovery of the capture provider")
    }

    /// Plays the provider's part of a login: takes the authorization URL the
    /// application redirected to and returns where the provider sends the browser back.
    pub async fn authorize(&self, authorization_url: &str) -> String {
        assert!(
            authorization_url.starts_with(self.origin()),
            "the application sent the browser to {authorization_url}"
        );
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let r = client
            .get(authorization_url)
            .send()
            .await
            .expect("authorize");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "authorize answered");
        location(&r)
    }

    /// A whole login through `{base_path}/login`; returns the application's answer
    /// to the callback.
    pub async fn login_at(&self, browser: &Browser, base_path: &str) -> reqwest::Response {
        let start = browser.get(&format!("{base_path}/login?next=/")).await;
        assert_eq!(start.status(), StatusCode::SEE_OTHER, "login start");
        let back = self.authorize(&location(&start)).await;
        browser.finish_login(&back).await
    }

    /// A whole login through `/auth/login`.
    pub async fn login(&self, browser: &Browser) -> reqwest::Response {
        self.login_at(browser, "/auth").await
    }
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let pairs = |s: &str| -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.as_bytes())
            .into_owned()
            .collect()
    };
    let captured = Captured {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        raw_query: parts.uri.query().map(str::to_owned),
        query: pairs(parts.uri.query().unwrap_or_default()),
        form: pairs(&body),
        headers: parts.headers.clone(),
        body,
    };
    lock(&s.requests).push(captured.clone());

    match (captured.method.clone(), captured.path.as_str()) {
        (Method::GET, "/.well-known/openid-configuration") => discovery(&s),
        (Method::GET, "/jwks") => jwks(&s),
        (Method::GET, "/authorize") => authorize(&s, &captured),
        (Method::POST, "/token") => token(&s, &captured),
        (Method::GET, "/user") => {
            let script = lock(&s.script).clone();
            (script.user_status, axum::Json(script.user_document)).into_response()
        }
        (Method::GET, "/userinfo") => {
            axum::Json(lock(&s.script).userinfo_document.clone()).into_response()
        }
        (Method::GET, "/end_session") => "signed out at the provider".into_response(),
        (Method::POST, "/revoke") => StatusCode::OK.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn discovery(s: &Shared) -> Response {
    let o = &s.origin;
    axum::Json(json!({
        "issuer": o,
        "authorization_endpoint": format!("{o}/authorize"),
        "token_endpoint": format!("{o}/token"),
        "userinfo_endpoint": format!("{o}/userinfo"),
        "jwks_uri": format!("{o}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256", "plain"],
    }))
    .into_response()
}

fn jwks(s: &Shared) -> Response {
    let jwk = Jwk::from_encoding_key(&s.key, Algorithm::RS256).expect("public JWK");
    let mut v = serde_json::to_value(jwk).expect("JWK as JSON");
    v["kid"] = KID.into();
    v["alg"] = "RS256".into();
    v["use"] = "sig".into();
    axum::Json(json!({ "keys": [v] })).into_response()
}

fn authorize(s: &Shared, req: &Captured) -> Response {
    let (Some(redirect_uri), Some(client_id)) = (
        req.query_param("redirect_uri"),
        req.query_param("client_id"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri and client_id required",
        )
            .into_response();
    };
    let mut issued = lock(&s.issued);
    let code = format!("code-{}", issued.codes.len() + 1);
    issued.codes.insert(
        code.clone(),
        (
            client_id.to_owned(),
            req.query_param("nonce").map(str::to_owned),
        ),
    );
    let mut back = url::Url::parse(redirect_uri).expect("redirect_uri is a URL");
    back.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = req.query_param("state") {
        back.query_pairs_mut().append_pair("state", state);
    }
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, back.as_str())
        .body(Body::empty())
        .expect("response")
}

fn oauth_error(code: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": code })),
    )
        .into_response()
}

fn token(s: &Shared, req: &Captured) -> Response {
    let script = lock(&s.script).clone();
    let (client_id, nonce) = match req.form_param("grant_type") {
        Some("authorization_code") => {
            let code = req.form_param("code").unwrap_or_default();
            match lock(&s.issued).codes.remove(code) {
                Some(found) => found,
                None => return oauth_error("invalid_grant"),
            }
        }
        Some("refresh_token") => {
            if script.refresh_reply == RefreshReply::InvalidGrant {
                return oauth_error("invalid_grant");
            }
            (CLIENT_ID.to_owned(), None)
        }
        _ => return oauth_error("unsupported_grant_type"),
    };
    let n = {
        let mut issued = lock(&s.issued);
        issued.tokens += 1;
        issued.tokens
    };
    let mut body = json!({ "access_token": format!("at-{n}"), "token_type": script.token_type });
    if let Some(expires_in) = script.expires_in {
        body["expires_in"] = expires_in.into();
    }
    if script.issue_refresh_tokens {
        body["refresh_token"] = format!("rt-{n}").into();
    }
    if let Some(sub) = &script.id_token_sub {
        let now = script.clock.now();
        let mut claims = json!({
            "iss": s.origin, "sub": sub, "aud": client_id, "iat": now, "exp": now + 600,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        for (k, v) in &script.id_token_claims {
            claims[k] = v.clone();
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.to_owned());
        body["id_token"] = jsonwebtoken::encode(&header, &claims, &s.key)
            .expect("sign ID token")
            .into();
    }
    axum::Json(body).into_response()
}
