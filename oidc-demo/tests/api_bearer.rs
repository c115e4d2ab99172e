//! `GET /api/me` accepts a JWT access token issued by `oidc-provider` (npm).

#[path = "../../axum-oidc-client/tests/support/node_provider.rs"]
mod node_provider;

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use node_provider::NodeProvider;
use reqwest::StatusCode;
use serde_json::json;
use sha2::Digest as _;

const SECRET: &str = "api-bearer-client-secret";
const API: &str = "https://api.example";

/// Starts `oidc-demo` on `origin` with `env` and waits until it answers.
async fn start_demo(origin: &str, env: &[(&str, String)]) -> tokio::process::Child {
    let demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_oidc-demo"))
        .env_remove("OIDC_ISSUER")
        .env_remove("API_AUDIENCE")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("APP_URL", origin)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("oidc-demo");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{origin}/")).send().await.is_err() {
        assert!(Instant::now() < deadline, "oidc-demo did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    demo
}

/// A code flow with PKCE S256 (RFC 7636) for `client`: `sign_in` takes the
/// authorization request URL and returns the redirect back with the code; the code
/// is then exchanged at `token_endpoint`. `extra` goes into both requests.
async fn code_flow<F, Fut>(
    client: (&str, &str),
    endpoints: (&str, &str),
    redirect: &str,
    scope: &str,
    extra: &[(&str, &str)],
    sign_in: F,
) -> serde_json::Value
where
    F: FnOnce(url::Url) -> Fut,
    Fut: Future<Output = String>,
{
    let (client_id, secret) = client;
    let (authorization_endpoint, token_endpoint) = endpoints;
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut auth = url::Url::parse(authorization_endpoint).unwrap();
    auth.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", "s1")
        .append_pair("nonce", "n1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    let back = url::Url::parse(&sign_in(auth).await).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", redirect),
        ("code_verifier", &verifier),
    ];
    form.extend_from_slice(extra);
    reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `GET /api/me` with `token` as the bearer token.
async fn api_me(origin: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{origin}/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_access_token_from_oidc_provider_is_accepted_by_api_me() {
    if !node_provider::should_run() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let origin = format!("http://127.0.0.1:{port}");
    let redirect = format!("{origin}/auth/callback");
    let op = NodeProvider::start(json!({
        "clients": [{ "client_id": "api-demo", "client_secret": SECRET, "redirect_uris": [redirect] }],
        "jwtAccessTokens": { "resource": API, "audience": API, "scope": "api:read" },
    }))
    .await;
    let _demo = start_demo(
        &origin,
        &[
            ("OIDC_ISSUER", op.issuer.clone()),
            ("OIDC_CLIENT_ID", "api-demo".into()),
            ("OIDC_CLIENT_SECRET", SECRET.into()),
            ("API_AUDIENCE", API.into()),
        ],
    )
    .await;

    // A client of the API obtains a token with its own code flow (PKCE S256).
    let tokens = code_flow(
        ("api-demo", SECRET),
        (
            &format!("{}/auth", op.issuer),
            &format!("{}/token", op.issuer),
        ),
        &redirect,
        "openid api:read",
        &[("resource", API)],
        |auth| {
            let op = &op;
            async move { op.authorize(auth.as_str(), "dana").await }
        },
    )
    .await;
    let access_token = tokens["access_token"].as_str().expect("access token");
    assert_eq!(access_token.split('.').count(), 3, "a JWT access token");

    let r = api_me(&origin, access_token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let claims: serde_json::Value = r.json().await.unwrap();
    assert_eq!(claims["sub"], "dana");
    assert_eq!(claims["iss"], op.issuer.as_str());

    // The same route refuses a tampered token and a request without one.
    let tampered = format!("{}x", access_token);
    let r = api_me(&origin, &tampered).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let http = reqwest::Client::new();
    let r = http.get(format!("{origin}/api/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for (i, x) in b.iter_mut().enumerate() {
        *x = (t >> (i % 16)) as u8 ^ (i as u8).wrapping_mul(31);
    }
    b
}

/// The embedded provider's client, as registered by `oidc-demo` (src/main.rs).
const DEV_CLIENT_ID: &str = "oidc-demo";
const DEV_CLIENT_SECRET: &str = "oidc-demo-development-secret";

/// Without `OIDC_ISSUER` the demo runs the embedded provider; a login there gives an
/// RFC 9068 access token (`typ: at+jwt`) and an ID token with the same issuer and
/// audience (the client id). The ID token travels through the browser in the
/// RP-initiated logout redirect (`id_token_hint`), so `/api/me` must refuse it.
#[tokio::test]
async fn api_me_refuses_an_id_token_and_accepts_the_access_token_of_the_embedded_provider() {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, op_port) = (free(), free());
    let origin = format!("http://127.0.0.1:{port}");
    let issuer = format!("http://127.0.0.1:{op_port}");
    let redirect = format!("{origin}/auth/callback");
    let _demo = start_demo(
        &origin,
        &[
            ("DEV_PROVIDER_PORT", op_port.to_string()),
            ("SESSION_STORE", "memory".into()),
        ],
    )
    .await;

    // A code flow at the embedded provider, signed in through its login_hint shortcut.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let tokens = code_flow(
        (DEV_CLIENT_ID, DEV_CLIENT_SECRET),
        (&format!("{issuer}/authorize"), &format!("{issuer}/token")),
        &redirect,
        "openid profile email",
        &[],
        |mut auth| async move {
            auth.query_pairs_mut().append_pair("login_hint", "alice");
            let r = no_redirects.get(auth).send().await.unwrap();
            assert!(r.status().is_redirection(), "{}", r.status());
            r.headers()["location"].to_str().unwrap().to_owned()
        },
    )
    .await;
    let access_token = tokens["access_token"].as_str().expect("access token");
    let id_token = tokens["id_token"].as_str().expect("ID token");
    assert_eq!(access_token.split('.').count(), 3, "a JWT access token");

    let r = api_me(&origin, id_token).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the ID token is refused"
    );
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );

    let r = api_me(&origin, access_token).await;
    assert_eq!(r.status(), StatusCode::OK, "the access token is accepted");
    let claims: serde_json::Value = r.json().await.unwrap();
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], DEV_CLIENT_ID);
}
