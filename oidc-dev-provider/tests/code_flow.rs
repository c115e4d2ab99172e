//! The authorization code flow: authorize, login, token exchange, userinfo
//! and the error paths.

mod common;

use std::time::Duration;

use common::*;
use oidc_dev_provider::{ClientAuthMethod, ClientRegistration, DevProviderConfig};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn login_hint_completes_the_code_flow_with_pkce() {
    let provider = start().await;
    let pkce = Pkce::new();
    let redirect = login_with_hint(&provider, &pkce, "openid profile email", "alice").await;
    assert!(redirect.starts_with(REDIRECT_URI));
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-123"));
    assert_eq!(
        query_param(&redirect, "iss").as_deref(),
        Some(provider.issuer())
    );
    let code = query_param(&redirect, "code").expect("code");

    let response = exchange(&provider, &code, &pkce.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.expect("json");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(tokens["scope"], "openid profile email");
    assert!(tokens["id_token"].is_string());
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );

    let info = userinfo(&provider, tokens["access_token"].as_str().expect("at")).await;
    assert_eq!(info.status(), StatusCode::OK);
    let info: Value = info.json().await.expect("json");
    assert_eq!(info["sub"], "user-alice");
    assert_eq!(info["email"], "alice@example.com");
    let stats = provider.stats();
    assert_eq!(stats.authorization_code_grants, 1);
    assert_eq!(stats.userinfo_calls, 1);
}

/// The `request_id` hidden field of the login page.
fn request_id(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("request_id field") + marker.len();
    let end = html[start..].find('"').expect("end quote") + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn login_form_rejects_a_wrong_password_and_accepts_the_right_one() {
    let provider = start().await;
    let pkce = Pkce::new();
    let page = http()
        .get(authorize_url(provider.issuer(), &pkce, "openid", &[]))
        .send()
        .await
        .expect("authorize");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("password = username"));
    assert!(html.contains("Bob Brown") && html.contains("carol"));
    let id = request_id(&html);
    let login = format!("{}/login", provider.issuer());

    let wrong = http()
        .post(&login)
        .form(&[
            ("request_id", id.as_str()),
            ("username", "bob"),
            ("password", "nope"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .expect("html")
            .contains("Invalid username or password")
    );

    let right = http()
        .post(&login)
        .form(&[
            ("request_id", id.as_str()),
            ("username", "bob"),
            ("password", "bob"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let redirect = location(&right);
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-123"));
    let code = query_param(&redirect, "code").expect("code");
    let tokens: Value = exchange(&provider, &code, &pkce.verifier)
        .await
        .json()
        .await
        .expect("json");
    let (_, claims) = verify(
        tokens["id_token"].as_str().expect("id"),
        &jwks(&provider).await,
        provider.issuer(),
        CLIENT_ID,
    );
    assert_eq!(claims["sub"], "user-bob");

    // The login request is single use.
    let again = http()
        .post(&login)
        .form(&[
            ("request_id", id.as_str()),
            ("username", "bob"),
            ("password", "bob"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_pkce_verifier_is_rejected_with_invalid_grant() {
    let provider = start().await;
    let pkce = Pkce::new();
    let redirect = login_with_hint(&provider, &pkce, "openid", "alice").await;
    let code = query_param(&redirect, "code").expect("code");
    let response = exchange(&provider, &code, &Pkce::new().verifier).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(provider.stats().authorization_code_grants, 0);
}

#[tokio::test]
async fn reused_code_fails_and_revokes_the_tokens_it_issued() {
    let provider = start().await;
    let pkce = Pkce::new();
    let redirect = login_with_hint(&provider, &pkce, "openid offline_access", "alice").await;
    let code = query_param(&redirect, "code").expect("code");
    let first: Value = exchange(&provider, &code, &pkce.verifier)
        .await
        .json()
        .await
        .expect("json");
    let access_token = first["access_token"].as_str().expect("at");
    assert_eq!(
        userinfo(&provider, access_token).await.status(),
        StatusCode::OK
    );

    let second = exchange(&provider, &code, &pkce.verifier).await;
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        second.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );

    let revoked = userinfo(&provider, access_token).await;
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    let challenge = revoked.headers()["www-authenticate"]
        .to_str()
        .expect("ascii");
    assert!(challenge.contains("invalid_token"));
    let refreshed = refresh(&provider, first["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn authorize_without_s256_pkce_redirects_with_invalid_request() {
    let provider = start().await;
    let pkce = Pkce::new();
    let url = authorize_url(
        provider.issuer(),
        &pkce,
        "openid",
        &[("login_hint", "alice")],
    );
    // Replace the method with "plain", then drop the challenge entirely.
    let plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let missing = url.replace(&format!("code_challenge={}", pkce.challenge), "");
    for url in [plain, missing] {
        let response = http().get(url).send().await.expect("authorize");
        assert_eq!(response.status(), StatusCode::FOUND);
        let redirect = location(&response);
        assert_eq!(
            query_param(&redirect, "error").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-123"));
        assert_eq!(query_param(&redirect, "code"), None);
    }
}

#[tokio::test]
async fn unregistered_redirect_uri_is_answered_without_redirect() {
    let provider = start().await;
    let url = authorize_url(provider.issuer(), &Pkce::new(), "openid", &[])
        .replace("127.0.0.1%3A9%2Fcallback", "evil.example%2Fcallback");
    let response = http().get(url).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_request"
    );

    let browser = http()
        .get(format!("{}/authorize?client_id=nobody", provider.issuer()))
        .header("accept", "text/html")
        .send()
        .await
        .expect("authorize");
    assert_eq!(browser.status(), StatusCode::BAD_REQUEST);
    assert!(
        browser
            .text()
            .await
            .expect("html")
            .contains("Request rejected")
    );
}

#[tokio::test]
async fn missing_openid_scope_and_prompt_none_are_reported_to_the_client() {
    let provider = start().await;
    let cases = [
        ("profile", vec![], "invalid_scope"),
        ("openid", vec![("prompt", "none")], "login_required"),
    ];
    for (scope, extra, expected) in cases {
        let url = authorize_url(provider.issuer(), &Pkce::new(), scope, &extra);
        let response = http().get(url).send().await.expect("authorize");
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            query_param(&location(&response), "error").as_deref(),
            Some(expected)
        );
    }
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client_with_401() {
    let provider = start().await;
    let response = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("code_verifier", "y"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn unsupported_grant_type_and_garbage_bodies_get_json_errors() {
    let provider = start().await;
    let token = format!("{}/token", provider.issuer());
    let unsupported = http()
        .post(&token)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("token");
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unsupported.json::<Value>().await.expect("json")["error"],
        "unsupported_grant_type"
    );

    let garbage = http()
        .post(&token)
        .header("content-type", "application/json")
        .body("{\"grant_type\":1}")
        .send()
        .await
        .expect("token");
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        garbage.json::<Value>().await.expect("json")["error"],
        "invalid_request"
    );

    let bad_basic = http()
        .post(&token)
        .header("authorization", "Basic %%%not-base64")
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .expect("token");
    assert_eq!(bad_basic.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn post_and_public_clients_authenticate_by_their_registered_method() {
    let post_client = ClientRegistration::confidential("post-app", "post-secret", REDIRECT_URI)
        .with_auth_method(ClientAuthMethod::ClientSecretPost);
    let public_client = ClientRegistration::public("spa", REDIRECT_URI);
    let config = DevProviderConfig::default()
        .with_client(post_client)
        .with_client(public_client);
    let provider = start_with(config).await;

    for (client_id, secret) in [("post-app", Some("post-secret")), ("spa", None)] {
        let pkce = Pkce::new();
        let url = authorize_url(
            provider.issuer(),
            &pkce,
            "openid",
            &[("login_hint", "carol")],
        )
        .replace(
            &format!("client_id={CLIENT_ID}"),
            &format!("client_id={client_id}"),
        );
        let response = http().get(url).send().await.expect("authorize");
        let code = query_param(&location(&response), "code").expect("code");
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", pkce.verifier.as_str()),
            ("client_id", client_id),
        ];
        if let Some(secret) = secret {
            form.push(("client_secret", secret));
        }
        let response = http()
            .post(format!("{}/token", provider.issuer()))
            .form(&form)
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::OK, "{client_id}");
    }

    // Basic credentials for a client_secret_post client are refused.
    let response = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth("post-app", Some("post-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_access_token_is_rejected_by_userinfo() {
    let provider = start().await;
    provider.set_access_token_ttl(Duration::from_millis(300));
    let tokens = tokens_for(&provider, "openid", "alice").await;
    assert_eq!(tokens["expires_in"], 0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let response = userinfo(&provider, tokens["access_token"].as_str().expect("at")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(provider.stats().userinfo_calls, 0);

    let no_token = http()
        .get(format!("{}/userinfo", provider.issuer()))
        .send()
        .await
        .expect("get");
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    let id_token_as_bearer = userinfo(&provider, tokens["id_token"].as_str().expect("id")).await;
    assert_eq!(id_token_as_bearer.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_page_escapes_request_values() {
    let provider = start().await;
    let evil = "<script>alert(1)</script>";
    let url = authorize_url(
        provider.issuer(),
        &Pkce::new(),
        "openid",
        &[("login_hint", evil), ("ui_locales", evil)],
    );
    let html = http()
        .get(url)
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
}
