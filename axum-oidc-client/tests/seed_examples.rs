//! The examples of the page that first described `AuthSession`, verbatim, compiled and
//! exercised behind the layer.

#[path = "support/app.rs"]
mod app;

mod seed {
    // --- Usage as Extractor ---
    use axum_oidc_client::auth_session::AuthSession;

    pub async fn protected_route(session: AuthSession) -> String {
        // Session is automatically refreshed if expired
        format!(
            "Welcome! Your session:\n\
Token Type: {}\n\
Expires: {}\n\
Scopes: {}",
            session.token_type, session.expires, session.scope
        )
    }

    pub mod accessing {
        // --- Accessing Token Information ---
        use axum_oidc_client::auth_session::AuthSession;

        pub async fn show_session(session: AuthSession) -> String {
            format!("Access Token: {}", session.access_token)
        }
    }

    pub mod api_calls {
        // --- Making Authenticated API Calls ---
        use axum_oidc_client::auth_session::AuthSession;
        use reqwest::Client;

        pub async fn call_api(session: AuthSession) -> Result<String, Box<dyn std::error::Error>> {
            let client = Client::new();
            let response = client
                .get("https://api.example.com/data")
                .bearer_auth(&session.access_token)
                .send()
                .await?;
            Ok(response.text().await?)
        }
    }

    pub mod expiration {
        // --- Checking Expiration ---
        use axum_oidc_client::auth_session::AuthSession;
        use chrono::Local;

        pub async fn check_session(session: AuthSession) -> String {
            let now = Local::now();
            let is_expired = session.expires <= now;
            // Note: When using the extractor, tokens are auto-refreshed
            // so is_expired will typically be false
            format!("Token expired: {}", is_expired)
        }
    }
}

use std::time::Duration;

use app::{Browser, bind};
use axum::Router;
use axum::routing::get;
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::{AccessTokenResponse, AuthenticationLayer, OAuthConfigurationBuilder};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig};
use reqwest::StatusCode;

#[tokio::test]
async fn the_seed_examples_behave_as_described_behind_the_layer() {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = DevProvider::start(
        DevProviderConfig::default()
            .with_client(ClientRegistration::confidential(
                "seed",
                "seed-secret",
                format!("{origin}/auth/callback"),
            ))
            .with_access_token_ttl(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let config = OAuthConfigurationBuilder::default()
        .with_client_id("seed")
        .with_client_secret("seed-secret")
        .with_app_url(&origin)
        .with_scopes(["openid", "offline_access"])
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(op.issuer())
        .await
        .unwrap()
        .build()
        .unwrap();
    let app = Router::new()
        .route("/protected", get(seed::protected_route))
        .route("/show", get(seed::accessing::show_session))
        .route("/check", get(seed::expiration::check_session))
        .layer(AuthenticationLayer::new(config));
    tokio::spawn(async move { axum::serve(bound.listener, app).await.unwrap() });

    let browser = Browser::new(&origin);
    assert_eq!(
        browser.login_as("alice", "/protected").await.status(),
        StatusCode::SEE_OTHER
    );

    let page = browser.get("/protected").await.text().await.unwrap();
    assert!(
        page.starts_with("Welcome! Your session:\nToken Type: Bearer\nExpires: "),
        "{page}"
    );
    assert!(page.ends_with("Scopes: openid offline_access"), "{page}");
    let shown = browser.get("/show").await.text().await.unwrap();
    let token = shown.strip_prefix("Access Token: ").expect("format");
    assert_eq!(
        token.split('.').count(),
        3,
        "the provider's JWT access token"
    );

    // After the access token expires the extractor has refreshed it already.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        browser.get("/check").await.text().await.unwrap(),
        "Token expired: false"
    );
    let refreshed = browser.get("/show").await.text().await.unwrap();
    assert_ne!(refreshed, shown, "a fresh access token after expiry");
    assert_eq!(op.stats().refresh_grants, 1);
}

#[test]
fn auth_session_new_builds_from_a_token_response() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = rt.block_on(async {
        OAuthConfigurationBuilder::default()
            .with_client_id("c")
            .with_client_secret("s")
            .with_app_url("http://localhost:3000")
            .with_authorization_endpoint("https://op.example/authorize")
            .with_token_endpoint("https://op.example/token")
            .with_oauth2_only("https://op.example/user", "id")
            .with_token_max_age(Duration::from_secs(120))
            .build()
            .unwrap()
    });
    let response: AccessTokenResponse = serde_json::from_value(serde_json::json!({
        "access_token": "at", "token_type": "Bearer", "expires_in": 60, "refresh_token": "rt", "scope": "openid email"
    }))
    .unwrap();
    let s = AuthSession::new(&response, &config);
    assert_eq!(
        (
            s.access_token.as_str(),
            s.refresh_token.as_str(),
            s.scope.as_str()
        ),
        ("at", "rt", "openid email")
    );
    let left = (s.expires - chrono::Local::now()).num_seconds();
    assert!((55..=60).contains(&left), "{left}");
    // Clone, PartialEq, Serialize and Deserialize, as the seed lists.
    let json = serde_json::to_string(&s).unwrap();
    let back: AuthSession = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s.clone());
    // The API-call example type-checks against the session; this machine has no route
    // to api.example.com, so the call itself fails, as an error and not a panic.
    let result = rt.block_on(seed::api_calls::call_api(s.clone()));
    assert!(result.is_err());
    // Debug redacts every token.
    let debug = format!("{s:?}");
    assert!(
        !debug.contains("\"at\"") && !debug.contains("rt\""),
        "{debug}"
    );
    // Without expires_in the configured token max age applies.
    let no_exp: AccessTokenResponse =
        serde_json::from_value(serde_json::json!({"access_token": "a", "token_type": "Bearer"}))
            .unwrap();
    let left = (AuthSession::new(&no_exp, &config).expires - chrono::Local::now()).num_seconds();
    assert!((115..=120).contains(&left), "{left}");
}
