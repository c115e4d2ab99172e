//! Each builder option, seen from the wire: what the provider receives and what the
//! browser gets back. The provider is `support/capture.rs`, which records every request.

#[path = "support/app.rs"]
mod app;
#[path = "support/capture.rs"]
mod capture;

use std::sync::Arc;
use std::time::Duration;

use app::{Bound, Browser, bind, location, set_cookies};
use axum_oidc_client::CodeChallengeMethod;
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{
    AuthenticationLayer, ClientAuthMethod, Clock, ConfigError, MemoryStore, OAuthConfiguration,
    OidcLogoutHandler,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use capture::{CLIENT_ID, CLIENT_SECRET, COOKIE_KEY, CaptureProvider};
use reqwest::StatusCode;
use sha2::Digest as _;

/// A relying party under test; its server stops when dropped.
type Rp = app::RunningApp;

fn serve_layer(bound: Bound, layer: AuthenticationLayer) -> Rp {
    app::start(bound, layer)
}

fn serve(bound: Bound, config: OAuthConfiguration) -> Rp {
    serve_layer(bound, app::layer(config, app::memory()))
}

/// An RP in OAuth2-only mode against `op`, with `configure` applied to the builder.
async fn oauth2_rp(
    op: &CaptureProvider,
    configure: impl FnOnce(
        axum_oidc_client::OAuthConfigurationBuilder,
    ) -> axum_oidc_client::OAuthConfigurationBuilder,
) -> Rp {
    let bound = bind().await;
    let config = configure(op.oauth2_builder(&bound.origin))
        .build()
        .expect("configuration");
    serve(bound, config)
}

/// The authorization request the application redirects a login to.
async fn authorization_request(rp: &Rp) -> url::Url {
    let start = rp.browser.get("/auth/login?next=/").await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    url::Url::parse(&location(&start)).expect("authorization URL")
}

fn query(url: &url::Url, name: &str) -> Vec<String> {
    url.query_pairs()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn single(url: &url::Url, name: &str) -> String {
    let mut v = query(url, name);
    assert_eq!(v.len(), 1, "{name} must appear exactly once in {url}");
    v.remove(0)
}

fn cookie_named(r: &reqwest::Response, name: &str) -> String {
    set_cookies(r)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", set_cookies(r)))
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

fn session_cookie(r: &reqwest::Response) -> String {
    cookie_named(r, "axum_oidc_session")
}

fn plain_client() -> reqwest::Client {
    app::no_redirect_client()
}

async fn get_with_cookie(url: &str, cookie: &str) -> reqwest::Response {
    plain_client()
        .get(url)
        .header("cookie", cookie)
        .header("accept", "application/json")
        .send()
        .await
        .expect("request")
}

async fn me(browser: &Browser) -> (StatusCode, serde_json::Value) {
    let r = browser.get_json("/me").await;
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

// ---------------------------------------------------------------------------------
// The authorization request
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn audience_is_sent_with_the_authorization_request() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_audience("https://api.example")).await;
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "audience"), "https://api.example");

    let plain = oauth2_rp(&op, |b| b).await;
    assert!(query(&authorization_request(&plain).await, "audience").is_empty());
}

#[tokio::test]
async fn extra_auth_params_are_sent_with_the_authorization_request() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| {
        b.with_auth_param("prompt", "consent")
            .with_auth_param("acr_values", "urn:mace:incommon:iap:silver")
            .with_auth_param("resource", "https://api.example/v1?x=1&y=2")
    })
    .await;
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "prompt"), "consent");
    assert_eq!(single(&auth, "acr_values"), "urn:mace:incommon:iap:silver");
    assert_eq!(single(&auth, "resource"), "https://api.example/v1?x=1&y=2");

    // And the provider receives them as sent.
    let back = op.authorize(auth.as_str()).await;
    assert!(back.starts_with(&rp.origin));
    assert_eq!(op.last("/authorize").query_param("prompt"), Some("consent"));
}

#[tokio::test]
async fn auth_params_cannot_override_the_protocol_parameters() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let mut builder = op.oidc_builder(&origin, "alice").await;
    for (name, value) in [
        ("response_type", "token"),
        ("client_id", "evil-client"),
        ("redirect_uri", "https://evil.example/cb"),
        ("scope", "admin"),
        ("state", "attacker-state"),
        ("nonce", "attacker-nonce"),
        ("code_challenge", "attacker-challenge"),
        ("code_challenge_method", "plain"),
    ] {
        builder = builder.with_auth_param(name, value);
    }
    let rp = serve(bound, builder.build().expect("configuration"));
    let auth = authorization_request(&rp).await;

    assert_eq!(single(&auth, "response_type"), "code");
    assert_eq!(single(&auth, "client_id"), CLIENT_ID);
    assert_eq!(
        single(&auth, "redirect_uri"),
        format!("{origin}/auth/callback")
    );
    assert_eq!(single(&auth, "scope"), "openid profile email");
    assert_eq!(single(&auth, "code_challenge_method"), "S256");
    for (name, attacker) in [
        ("state", "attacker-state"),
        ("nonce", "attacker-nonce"),
        ("code_challenge", "attacker-challenge"),
    ] {
        let value = single(&auth, name);
        assert_ne!(value, attacker, "{name} was overridden");
        assert!(value.len() >= 43, "{name} is the library's random value");
    }

    // The login still completes with the library's own values.
    let back = op.authorize(auth.as_str()).await;
    let done = rp.browser.finish_login(&back).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.1["sub"], "alice");
}

#[tokio::test]
async fn scopes_are_sent_as_configured_in_oauth2_only_mode() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_scopes(vec!["read:user", "repo"])).await;
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "scope"), "read:user repo");
}

#[tokio::test]
async fn openid_is_added_to_configured_scopes_in_oidc_mode() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let config = op
        .oidc_builder(&bound.origin, "alice")
        .await
        .with_scopes(["profile", "offline_access"])
        .build()
        .unwrap();
    let rp = serve(bound, config);
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "scope"), "openid profile offline_access");
}

#[tokio::test]
async fn s256_pkce_sends_the_hash_of_the_verifier_that_reaches_the_token_endpoint() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| {
        b.with_code_challenge_method(CodeChallengeMethod::S256)
    })
    .await;
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "code_challenge_method"), "S256");
    let challenge = single(&auth, "code_challenge");

    let back = op.authorize(auth.as_str()).await;
    assert_eq!(
        rp.browser.finish_login(&back).await.status(),
        StatusCode::SEE_OTHER
    );
    let token = op.last("/token");
    let verifier = token.form_param("code_verifier").expect("code_verifier");
    assert!(
        (43..=128).contains(&verifier.len()),
        "RFC 7636 4.1 verifier length"
    );
    assert_ne!(verifier, challenge);
    assert_eq!(
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())),
        challenge
    );
}

#[tokio::test]
async fn plain_pkce_sends_the_verifier_itself_as_the_challenge() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.insecure_with_plain_pkce()).await;
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "code_challenge_method"), "plain");
    let challenge = single(&auth, "code_challenge");

    let back = op.authorize(auth.as_str()).await;
    assert_eq!(
        rp.browser.finish_login(&back).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        op.last("/token").form_param("code_verifier"),
        Some(challenge.as_str())
    );
}

#[tokio::test]
async fn plain_pkce_through_with_code_challenge_method_alone_is_refused_at_build() {
    let op = CaptureProvider::start().await;
    let e = op
        .oauth2_builder("http://127.0.0.1:3000")
        .with_code_challenge_method(CodeChallengeMethod::InsecurePlain)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                name: "code_challenge_method",
                ..
            }
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------
// The redirect URI
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_explicit_redirect_uri_is_sent_in_the_authorization_and_the_token_request() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let redirect_uri = format!("{}/auth/callback", bound.origin);
    // No app URL: the origin is taken from the redirect URI.
    let config = axum_oidc_client::OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_client_secret(CLIENT_SECRET)
        .with_private_cookie_key(COOKIE_KEY)
        .with_redirect_uri(&redirect_uri)
        .with_authorization_endpoint(op.url("/authorize"))
        .with_token_endpoint(op.url("/token"))
        .with_oauth2_only(op.url("/user"), "id")
        .build()
        .unwrap();
    let rp = serve(bound, config);
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "redirect_uri"), redirect_uri);
    let back = op.authorize(auth.as_str()).await;
    assert!(back.starts_with(&redirect_uri));
    assert_eq!(
        rp.browser.finish_login(&back).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        op.last("/token").form_param("redirect_uri"),
        Some(redirect_uri.as_str())
    );
}

/// A redirect URI may name any path of the application (the seed allowed it); the
/// callback must then be answered there, or the configuration refused.
#[tokio::test]
async fn a_redirect_uri_outside_the_base_path_still_receives_the_callback() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let redirect_uri = format!("{}/oauth2/return", bound.origin);
    let config = op
        .oauth2_builder(&bound.origin)
        .with_redirect_uri(&redirect_uri)
        .build();
    let Ok(config) = config else {
        // Refusing such a configuration at start-up is acceptable too.
        return;
    };
    let rp = serve(bound, config);
    let auth = authorization_request(&rp).await;
    assert_eq!(single(&auth, "redirect_uri"), redirect_uri);
    let back = op.authorize(auth.as_str()).await;
    let done = rp.browser.finish_login(&back).await;
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "the provider's redirect to {redirect_uri} must complete the login, not reach the application's router"
    );
    assert_eq!(me(&rp.browser).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_token_request_carries_the_redirect_uri_by_default_and_when_enabled() {
    for enable in [None, Some(true)] {
        let op = CaptureProvider::start().await;
        let rp = oauth2_rp(&op, |b| match enable {
            Some(on) => b.with_token_request_redirect_uri(on),
            None => b,
        })
        .await;
        let done = op.login(&rp.browser).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let expected = format!("{}/auth/callback", rp.origin);
        assert_eq!(
            op.last("/token").form_param("redirect_uri"),
            Some(expected.as_str()),
            "with_token_request_redirect_uri({enable:?})"
        );
    }
}

#[tokio::test]
async fn with_token_request_redirect_uri_false_leaves_it_out_of_the_code_exchange() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_token_request_redirect_uri(false)).await;
    let done = op.login(&rp.browser).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let token = op.last("/token");
    assert_eq!(token.form_param("grant_type"), Some("authorization_code"));
    assert_eq!(token.form_param("redirect_uri"), None, "{:?}", token.form);
    // The authorization request still carries it.
    assert!(
        op.last("/authorize")
            .query_param("redirect_uri")
            .is_some_and(|r| r.ends_with("/auth/callback"))
    );
}

// ---------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn explicit_endpoints_work_without_discovery() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b).await;
    let done = op.login(&rp.browser).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.1["sub"], "42");
    let paths: Vec<String> = op.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/authorize", "/token", "/user"]);
}

#[tokio::test]
async fn explicit_endpoints_take_precedence_over_discovered_ones() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let config = op
        .oidc_builder(&bound.origin, "alice")
        .await
        .with_authorization_endpoint(op.url("/other/authorize"))
        .build()
        .unwrap();
    let rp = serve(bound, config);
    let auth = authorization_request(&rp).await;
    assert_eq!(auth.path(), "/other/authorize");
    assert!(auth.as_str().starts_with(op.origin()));
}

// ---------------------------------------------------------------------------------
// Logout
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn rp_initiated_logout_goes_to_the_configured_end_session_endpoint() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let post_logout = format!("{origin}/auth/logout/callback?from=op");
    let config = op
        .oidc_builder(&origin, "alice")
        .await
        .with_end_session_endpoint(op.url("/end_session"))
        .with_post_logout_redirect_uri(&post_logout)
        .build()
        .unwrap();
    let rp = serve_layer(
        bound,
        app::layer(config, app::memory()).with_logout_handler(OidcLogoutHandler),
    );
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.0, StatusCode::OK);

    let out = rp.browser.logout().await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let end = url::Url::parse(&location(&out)).unwrap();
    assert_eq!(
        format!("{}{}", end.origin().ascii_serialization(), end.path()),
        op.url("/end_session")
    );
    assert_eq!(single(&end, "client_id"), CLIENT_ID);
    assert_eq!(single(&end, "post_logout_redirect_uri"), post_logout);
    let hint = single(&end, "id_token_hint");
    let payload = hint.split('.').nth(1).expect("a JWS");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        (claims["sub"].as_str(), claims["aud"].as_str()),
        (Some("alice"), Some(CLIENT_ID)),
        "id_token_hint is the session's ID token"
    );
    let state = single(&end, "state");
    assert!(state.len() >= 32);
    let logout_cookie = cookie_named(&out, "axum_oidc_logout");
    assert!(logout_cookie.contains("HttpOnly") && logout_cookie.contains("Path=/auth"));
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);

    // The provider sends the browser back with the state: the return is accepted.
    let wrong = rp
        .browser
        .get("/auth/logout/callback?from=op&state=forged")
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    // The wrong answer cleared the logout cookie; put it back as the browser had it.
    let back = get_with_cookie(
        &format!(
            "{origin}/auth/logout/callback?from=op&state={}",
            app::urlencode(&state)
        ),
        &cookie_pair(&logout_cookie),
    )
    .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), "/");
}

#[tokio::test]
async fn rp_initiated_logout_defaults_the_post_logout_uri_below_the_base_path() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = op
        .oauth2_builder(&origin)
        .with_end_session_endpoint(op.url("/end_session"))
        .build()
        .unwrap();
    let rp = serve_layer(
        bound,
        app::layer(config, app::memory()).with_logout_handler(OidcLogoutHandler),
    );
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let out = rp.browser.logout().await;
    let end = url::Url::parse(&location(&out)).unwrap();
    assert_eq!(end.path(), "/end_session");
    assert_eq!(
        single(&end, "post_logout_redirect_uri"),
        format!("{origin}/auth/logout/callback")
    );
    assert!(
        query(&end, "id_token_hint").is_empty(),
        "no ID token in OAuth2-only mode"
    );
}

#[tokio::test]
async fn without_an_end_session_endpoint_oidc_logout_is_local() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let config = op.oauth2_builder(&bound.origin).build().unwrap();
    let rp = serve_layer(
        bound,
        app::layer(config, app::memory()).with_logout_handler(OidcLogoutHandler),
    );
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let out = rp.browser.logout().await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/");
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

async fn wait_for_requests(op: &CaptureProvider, path: &str, n: usize) -> Vec<capture::Captured> {
    for _ in 0..50 {
        let got = op.requests_to(path);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    op.requests_to(path)
}

#[tokio::test]
async fn logout_revokes_both_tokens_at_the_revocation_endpoint_with_client_auth() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.issue_refresh_tokens = true);
    let rp = oauth2_rp(&op, |b| b.with_revocation_endpoint(op.url("/revoke"))).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    rp.browser.logout().await;
    let revoked = wait_for_requests(&op, "/revoke", 2).await;
    let pairs: Vec<(Option<&str>, Option<&str>)> = revoked
        .iter()
        .map(|r| (r.form_param("token"), r.form_param("token_type_hint")))
        .collect();
    assert_eq!(
        pairs,
        [
            (Some("rt-1"), Some("refresh_token")),
            (Some("at-1"), Some("access_token"))
        ]
    );
    assert!(revoked.iter().all(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    }));
}

#[tokio::test]
async fn with_revoke_on_logout_false_revokes_nothing() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.issue_refresh_tokens = true);
    let rp = oauth2_rp(&op, |b| {
        b.with_revocation_endpoint(op.url("/revoke"))
            .with_revoke_on_logout(false)
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let out = rp.browser.logout().await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(op.requests_to("/revoke").is_empty());
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_logout_via_get_false_only_logs_out_on_post() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_logout_via_get(false)).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let get = rp.browser.get("/auth/logout").await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        me(&rp.browser).await.0,
        StatusCode::OK,
        "GET did not log out"
    );
    let post = rp.browser.logout().await;
    assert_eq!(post.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

/// `GET /auth/logout` as a browser sends it when `site` started the navigation
/// (`Sec-Fetch-Site`).
async fn get_logout_from(rp: &Rp, site: &str) -> reqwest::Response {
    rp.browser
        .client
        .get(format!("{}/auth/logout", rp.origin))
        .header("sec-fetch-site", site)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn logout_is_post_only_by_default_and_get_answers_405_allowing_post() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let get = rp.browser.get("/auth/logout").await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        get.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    assert_eq!(
        me(&rp.browser).await.0,
        StatusCode::OK,
        "a GET does not log out by default"
    );
    assert_eq!(rp.browser.logout().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn get_logout_when_turned_on_refuses_cross_site_requests() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_logout_via_get(true)).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let cross = get_logout_from(&rp, "cross-site").await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        me(&rp.browser).await.0,
        StatusCode::OK,
        "a cross-site GET does not log out"
    );
    let same = get_logout_from(&rp, "same-origin").await;
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------
// Client authentication at the token endpoint
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn client_secret_basic_sends_form_encoded_credentials_in_the_authorization_header() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| {
        b.with_client_id("my app")
            .with_client_secret("p@ss:w/rd")
            .with_client_auth_method(ClientAuthMethod::ClientSecretBasic)
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let token = op.last("/token");
    let basic = token
        .header("authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .expect("HTTP Basic");
    let decoded = String::from_utf8(STANDARD.decode(basic).unwrap()).unwrap();
    // RFC 6749 2.3.1: id and secret are form-urlencoded before Base64.
    assert_eq!(decoded, "my+app:p%40ss%3Aw%2Frd");
    assert_eq!(token.form_param("client_secret"), None);
    assert_eq!(token.form_param("client_id"), None);
}

#[tokio::test]
async fn a_client_secret_alone_means_client_secret_basic() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b).await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let token = op.last("/token");
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    assert_eq!(token.header("authorization"), Some(expected.as_str()));
}

#[tokio::test]
async fn client_secret_post_sends_the_credentials_in_the_form_body() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| {
        b.with_client_auth_method(ClientAuthMethod::ClientSecretPost)
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let token = op.last("/token");
    assert_eq!(token.header("authorization"), None);
    assert_eq!(token.form_param("client_id"), Some(CLIENT_ID));
    assert_eq!(token.form_param("client_secret"), Some(CLIENT_SECRET));
    assert_eq!(
        token.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn a_public_client_sends_only_its_client_id() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let config = axum_oidc_client::OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_app_url(&bound.origin)
        .with_private_cookie_key(COOKIE_KEY)
        .with_authorization_endpoint(op.url("/authorize"))
        .with_token_endpoint(op.url("/token"))
        .with_oauth2_only(op.url("/user"), "id")
        .build()
        .unwrap();
    let rp = serve(bound, config);
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let token = op.last("/token");
    assert_eq!(token.header("authorization"), None);
    assert_eq!(token.form_param("client_id"), Some(CLIENT_ID));
    assert_eq!(token.form_param("client_secret"), None);
    let mut names = token.form_names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "client_id",
            "code",
            "code_verifier",
            "grant_type",
            "redirect_uri"
        ]
    );
}

#[tokio::test]
async fn a_secret_based_auth_method_without_a_secret_is_refused_at_build() {
    let op = CaptureProvider::start().await;
    let e = axum_oidc_client::OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_app_url("http://127.0.0.1:3000")
        .with_client_auth_method(ClientAuthMethod::ClientSecretPost)
        .with_authorization_endpoint(op.url("/authorize"))
        .with_token_endpoint(op.url("/token"))
        .with_oauth2_only(op.url("/user"), "id")
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::Missing(m) if m.starts_with("client_secret")));
}

// ---------------------------------------------------------------------------------
// Custom CA
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_bad_custom_ca_certificate_is_a_config_error_not_a_panic() {
    let op = CaptureProvider::start().await;
    let dir = std::env::temp_dir().join(format!("wire-effects-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no PEM block here\n").unwrap();
    let missing = dir.join("missing.pem");

    for path in [&garbage, &empty, &missing] {
        let path = path.to_string_lossy().into_owned();
        let e = op
            .oauth2_builder("http://127.0.0.1:3000")
            .with_custom_ca_cert(&path)
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::CaCert { path: p, .. } if *p == path),
            "build() with {path}: {e:?}"
        );
        // Before discovery the error comes out of with_issuer, without a request.
        let e = axum_oidc_client::OAuthConfigurationBuilder::default()
            .with_custom_ca_cert(&path)
            .with_issuer(op.origin())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::CaCert { .. }),
            "with_issuer() with {path}: {e:?}"
        );
    }
    assert!(op.requests().is_empty(), "no discovery with a bad CA");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------
// Session and token lifetimes
// ---------------------------------------------------------------------------------

fn max_age(set_cookie: &str) -> i64 {
    set_cookie
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Max-Age in {set_cookie}"))
}

const T0: i64 = 1_900_000_000;

#[tokio::test]
async fn the_session_cookie_lives_for_the_idle_timeout() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_idle_timeout(Duration::from_secs(600))).await;
    let done = op.login(&rp.browser).await;
    assert_eq!(max_age(&session_cookie(&done)), 600);

    let default = oauth2_rp(&op, |b| b).await;
    let done = op.login(&default.browser).await;
    assert_eq!(
        max_age(&session_cookie(&done)),
        3600,
        "default idle timeout"
    );
}

#[tokio::test]
async fn the_session_cookie_never_outlives_the_session_max_age() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| {
        b.with_session_max_age(Duration::from_secs(300))
            .with_idle_timeout(Duration::from_secs(1800))
    })
    .await;
    let done = op.login(&rp.browser).await;
    assert_eq!(max_age(&session_cookie(&done)), 300);
}

#[tokio::test]
async fn an_unused_session_ends_after_the_idle_timeout_and_use_extends_it() {
    let op = CaptureProvider::start().await;
    let clock = Clock::manual(T0);
    let rp = oauth2_rp(&op, |b| {
        b.with_clock(clock.clone())
            .with_idle_timeout(Duration::from_secs(600))
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);

    clock.advance(Duration::from_secs(400));
    let r = rp.browser.get_json("/me").await;
    assert_eq!(r.status(), StatusCode::OK);
    // Use renews the cookie for another idle period.
    assert_eq!(max_age(&session_cookie(&r)), 600);

    clock.advance(Duration::from_secs(400)); // 800 s after login, 400 s after last use
    assert_eq!(me(&rp.browser).await.0, StatusCode::OK);

    clock.advance(Duration::from_secs(601));
    let r = rp.browser.get_json("/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(max_age(&session_cookie(&r)), 0, "the cookie is cleared");
}

#[tokio::test]
async fn an_active_session_ends_at_the_session_max_age() {
    let op = CaptureProvider::start().await;
    let clock = Clock::manual(T0);
    let rp = oauth2_rp(&op, |b| {
        b.with_clock(clock.clone())
            .with_idle_timeout(Duration::from_secs(600))
            .with_session_max_age(Duration::from_secs(900))
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    clock.advance(Duration::from_secs(500));
    let r = rp.browser.get_json("/me").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        max_age(&session_cookie(&r)),
        400,
        "renewed only up to the max age"
    );
    clock.advance(Duration::from_secs(350));
    assert_eq!(me(&rp.browser).await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(60)); // 910 s after login
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

/// A browser's view of the session cookie in the manual clock's time: it drops the
/// cookie once `Max-Age` has run out.
struct CookieJarClock {
    expires: i64,
}

impl CookieJarClock {
    fn after(&mut self, r: &reqwest::Response, now: i64) {
        if let Some(c) = set_cookies(r)
            .into_iter()
            .find(|c| c.starts_with("axum_oidc_session="))
        {
            self.expires = now + max_age(&c);
        }
    }
}

#[tokio::test]
async fn an_active_user_stays_signed_in_past_one_idle_timeout_after_login() {
    // Access tokens of 300 s are refreshed every 270 s (30 s margin), more often than
    // the 300 s touch interval of the default one-hour idle timeout.
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.expires_in = Some(300);
        s.issue_refresh_tokens = true;
    });
    let clock = Clock::manual(T0);
    let rp = oauth2_rp(&op, |b| b.with_clock(clock.clone())).await;
    let done = op.login(&rp.browser).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let mut jar = CookieJarClock { expires: 0 };
    jar.after(&done, T0);
    let mut now = T0;
    // A request every 100 s for two idle timeouts.
    while now < T0 + 7200 {
        clock.advance(Duration::from_secs(100));
        now += 100;
        assert!(
            now < jar.expires,
            "the browser dropped the session cookie {} s after login while the user \
             was active",
            jar.expires - T0
        );
        let r = rp.browser.get_json("/me").await;
        assert_eq!(r.status(), StatusCode::OK, "{} s after login", now - T0);
        jar.after(&r, now);
    }
    assert!(op.requests_to("/token").len() > 20, "tokens were refreshed");
}

#[tokio::test]
async fn a_response_that_renews_the_session_cookie_is_never_shared_cacheable() {
    let op = CaptureProvider::start().await;
    let clock = Clock::manual(T0);
    let rp = oauth2_rp(&op, |b| {
        b.with_clock(clock.clone())
            .with_idle_timeout(Duration::from_secs(600))
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let quiet = rp.browser.get("/cacheable").await;
    assert!(set_cookies(&quiet).is_empty(), "no renewal yet");
    assert_eq!(
        quiet.headers()["cache-control"],
        "public, max-age=600",
        "a response without a cookie keeps the application's caching"
    );

    clock.advance(Duration::from_secs(400));
    let renewed = rp.browser.get("/cacheable").await;
    assert_eq!(renewed.status(), StatusCode::OK);
    assert!(
        set_cookies(&renewed)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=")),
        "the session cookie is renewed"
    );
    let cache_control = renewed.headers()["cache-control"].to_str().unwrap();
    assert!(
        !cache_control.contains("public") && cache_control.contains("no-store"),
        "a response carrying the session id must not be stored: {cache_control}"
    );
    assert!(cache_control.contains("private"), "{cache_control}");
    let vary: Vec<_> = renewed
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        vary.iter()
            .any(|v| v.to_ascii_lowercase().contains("cookie")),
        "Vary: {vary:?}"
    );

    // The login callback sets the session cookie too.
    let fresh = Browser::new(&rp.origin);
    let done = op.login(&fresh).await;
    assert!(
        done.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    assert!(
        done.headers().get_all("vary").iter().any(|v| v
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("cookie"))
    );
}

fn expires_at(me: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(me["expires"].as_str().expect("expires"))
        .expect("RFC 3339")
        .timestamp()
}

#[tokio::test]
async fn token_max_age_is_the_token_lifetime_when_the_response_has_no_expires_in() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.expires_in = None);
    let clock = Clock::manual(T0);
    let rp = oauth2_rp(&op, |b| {
        b.with_clock(clock.clone())
            .with_token_max_age(Duration::from_secs(7200))
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let (status, body) = me(&rp.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expires_at(&body), T0 + 7200);

    // Without a refresh token the session ends with its access token.
    clock.advance(Duration::from_secs(3000));
    assert_eq!(me(&rp.browser).await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(4201));
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_max_age_is_ignored_when_the_response_has_expires_in() {
    let op = CaptureProvider::start().await;
    op.script(|s| s.expires_in = Some(120));
    let clock = Clock::manual(T0);
    let rp = oauth2_rp(&op, |b| {
        b.with_clock(clock.clone())
            .with_token_max_age(Duration::from_secs(7200))
    })
    .await;
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(expires_at(&me(&rp.browser).await.1), T0 + 120);
}

// ---------------------------------------------------------------------------------
// Routes and cookies
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn base_path_moves_the_library_routes() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_base_path("/oidc")).await;

    // Protected pages send anonymous browsers to the moved login route.
    let protected = rp.browser.get("/protected").await;
    assert_eq!(protected.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&protected), "/oidc/login?next=%2Fprotected");
    // The old route is the application's (here: nothing).
    assert_eq!(
        rp.browser.get("/auth/login").await.status(),
        StatusCode::NOT_FOUND
    );

    let start = rp.browser.get("/oidc/login?next=/protected").await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let login_cookie = set_cookies(&start)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_login_"))
        .unwrap();
    assert!(login_cookie.contains("Path=/oidc"), "{login_cookie}");
    let auth = url::Url::parse(&location(&start)).unwrap();
    assert_eq!(
        single(&auth, "redirect_uri"),
        format!("{}/oidc/callback", rp.origin)
    );
    let back = op.authorize(auth.as_str()).await;
    let done = rp.browser.finish_login(&back).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/protected");
    assert_eq!(
        op.last("/token").form_param("redirect_uri"),
        Some(format!("{}/oidc/callback", rp.origin).as_str())
    );
    assert_eq!(me(&rp.browser).await.0, StatusCode::OK);

    assert_eq!(
        rp.browser.logout_at("/oidc/logout").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(me(&rp.browser).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_session_cookie_name_is_configurable() {
    let op = CaptureProvider::start().await;
    let rp = oauth2_rp(&op, |b| b.with_session_cookie_name("app_sid")).await;
    let done = op.login(&rp.browser).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_named(&done, "app_sid");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/"));
    assert!(
        set_cookies(&done)
            .iter()
            .all(|c| !c.starts_with("axum_oidc_session=")),
        "the default name is not used"
    );
    let r = get_with_cookie(&format!("{}/me", rp.origin), &cookie_pair(&cookie)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The same value under the default name is not a session.
    let renamed = cookie_pair(&cookie).replacen("app_sid=", "axum_oidc_session=", 1);
    let r = get_with_cookie(&format!("{}/me", rp.origin), &renamed).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let out = rp.browser.logout().await;
    assert!(max_age(&cookie_named(&out, "app_sid")) == 0);
}

#[tokio::test]
async fn an_invalid_session_cookie_name_is_refused_at_build() {
    let op = CaptureProvider::start().await;
    let e = op
        .oauth2_builder("http://127.0.0.1:3000")
        .with_session_cookie_name("bad name;")
        .build()
        .unwrap_err();
    assert!(matches!(
        e,
        ConfigError::Invalid {
            name: "session_cookie_name",
            ..
        }
    ));
}

/// Logs in by hand, sending the login cookie explicitly (a cookie jar would not send
/// a `Secure` cookie over plain http), through a proxy that names the public host in
/// `X-Forwarded-Host`. Returns the login start and callback answers.
async fn login_by_hand(
    op: &CaptureProvider,
    origin: &str,
    public_origin: &str,
) -> (reqwest::Response, reqwest::Response) {
    let public_host = public_origin.split_once("://").unwrap().1;
    let start = plain_client()
        .get(format!("{origin}/auth/login?next=/"))
        .header("x-forwarded-host", public_host)
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let login_cookie = set_cookies(&start)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_login_"))
        .unwrap();
    let back = op.authorize(&location(&start)).await;
    let local = back.replacen(public_origin, origin, 1);
    let done = get_with_cookie(&local, &cookie_pair(&login_cookie)).await;
    (start, done)
}

#[tokio::test]
async fn an_https_app_url_makes_every_cookie_secure() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = op
        .oauth2_builder("https://app.example")
        .with_end_session_endpoint(op.url("/end_session"))
        .build()
        .unwrap();
    let _rp = serve_layer(
        bound,
        app::layer(config, app::memory()).with_logout_handler(OidcLogoutHandler),
    );
    let (start, done) = login_by_hand(&op, &origin, "https://app.example").await;
    assert!(location(&start).contains("redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Fcallback"));
    let login_cookie = set_cookies(&start)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_login_"))
        .unwrap();
    assert!(login_cookie.contains("Secure"), "{login_cookie}");
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let session = session_cookie(&done);
    assert!(session.contains("Secure"), "{session}");
    let out = plain_client()
        .post(format!("{origin}/auth/logout"))
        .header("cookie", cookie_pair(&session))
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("request");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookies(&out).iter().all(|c| c.contains("Secure")),
        "{:?}",
        set_cookies(&out)
    );
}

#[tokio::test]
async fn an_http_localhost_app_url_sets_no_secure_attribute() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = op.oauth2_builder(&origin).build().unwrap();
    let _rp = serve(bound, config);
    let (start, done) = login_by_hand(&op, &origin, &origin).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookies(&start)
            .iter()
            .chain(set_cookies(&done).iter())
            .all(|c| !c.contains("Secure"))
    );
}

/// Three instances over one shared store: A and B share the cookie key, C has its own.
async fn instances(op: &CaptureProvider) -> (Rp, Rp, Rp) {
    let store: SharedStore = Arc::new(MemoryStore::default());
    let mut rps = Vec::new();
    for key in [
        COOKIE_KEY,
        COOKIE_KEY,
        "8aOmEP1hE+lXXU7/Yy3ucvuQlY9LeWUMFH/3frfojt4pGbqeqzOBF7VAU2qtJ/8z",
    ] {
        let bound = bind().await;
        let config = op
            .oauth2_builder(&bound.origin)
            .with_private_cookie_key(key)
            .build()
            .unwrap();
        rps.push(serve_layer(bound, app::layer(config, store.clone())));
    }
    let c = rps.pop().unwrap();
    let b = rps.pop().unwrap();
    let a = rps.pop().unwrap();
    (a, b, c)
}

#[tokio::test]
async fn a_session_cookie_works_on_every_instance_with_the_same_cookie_key_only() {
    let op = CaptureProvider::start().await;
    let (a, b, c) = instances(&op).await;
    let done = op.login(&a.browser).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_pair(&session_cookie(&done));

    let on_a = get_with_cookie(&format!("{}/me", a.origin), &cookie).await;
    assert_eq!(on_a.status(), StatusCode::OK);
    let on_b = get_with_cookie(&format!("{}/me", b.origin), &cookie).await;
    assert_eq!(on_b.status(), StatusCode::OK);
    assert_eq!(on_b.json::<serde_json::Value>().await.unwrap()["sub"], "42");
    let on_c = get_with_cookie(&format!("{}/me", c.origin), &cookie).await;
    assert_eq!(on_c.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(max_age(&session_cookie(&on_c)), 0, "C clears the cookie");
}

#[tokio::test]
async fn a_login_started_on_one_instance_completes_on_another_with_the_same_key_only() {
    let op = CaptureProvider::start().await;
    let (a, b, c) = instances(&op).await;
    for (other, accepted) in [(&b, true), (&c, false)] {
        let start = plain_client()
            .get(format!("{}/auth/login?next=/", a.origin))
            .send()
            .await
            .unwrap();
        let login_cookie = set_cookies(&start)
            .into_iter()
            .find(|c| c.starts_with("axum_oidc_login_"))
            .unwrap();
        let back = op.authorize(&location(&start)).await;
        let elsewhere = back.replacen(&a.origin, &other.origin, 1);
        let done = get_with_cookie(&elsewhere, &cookie_pair(&login_cookie)).await;
        if accepted {
            assert_eq!(done.status(), StatusCode::SEE_OTHER);
            session_cookie(&done);
        } else {
            assert_eq!(done.status(), StatusCode::BAD_REQUEST);
            assert!(
                set_cookies(&done)
                    .iter()
                    .all(|c| !c.starts_with("axum_oidc_session="))
            );
        }
    }
    assert_eq!(
        op.requests_to("/token").len(),
        1,
        "C never exchanged the code"
    );
}
