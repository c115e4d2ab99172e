//! A provider that is down at start-up: the application starts, logins answer 503
//! until discovery succeeds, and then work without a restart.

#[path = "support/app.rs"]
mod app;

use std::net::SocketAddr;
use std::time::Duration;

use app::{Browser, bind, layer, memory, serve};
use axum_oidc_client::{DiscoveryHealth, OAuthConfigurationBuilder, StoreHealth};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;

const SECRET: &str = "down-client-secret";
const COOKIE_KEY: &str = "dT9rV2xQ8mZ4nB7cK1pL6sW3yH5gF0jA9eR2uI8oX4vN7qM1tC6bD3kS5wE0zY";

/// A port nothing listens on (yet).
async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn provider_on(port: u16, origin: &str) -> RunningProvider {
    let client =
        ClientRegistration::confidential("down", SECRET, format!("{origin}/auth/callback"));
    DevProvider::start(
        DevProviderConfig::default()
            .with_bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .with_issuer(format!("http://127.0.0.1:{port}"))
            .with_client(client),
    )
    .await
    .expect("dev provider")
}

fn builder(origin: &str) -> OAuthConfigurationBuilder {
    OAuthConfigurationBuilder::default()
        .with_client_id("down")
        .with_client_secret(SECRET)
        .with_app_url(origin)
        .with_private_cookie_key(COOKIE_KEY)
}

#[tokio::test]
async fn the_app_starts_without_the_provider_and_logs_in_once_it_is_up() {
    let port = free_port().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = builder(&origin)
        .with_issuer_or_retry_in_background(format!("http://127.0.0.1:{port}"))
        .await
        .expect("an unreachable provider does not stop the start")
        .build()
        .expect("config");
    let layer = layer(config, memory());
    let readiness = layer.clone();
    let _server = serve(bound, layer);
    let browser = Browser::new(&origin);

    let home = browser.get("/").await;
    assert_eq!(home.status(), StatusCode::OK, "the public page is served");

    let login = browser.get("/auth/login").await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(login.headers().contains_key("retry-after"));
    let content_type = login.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(login.text().await.unwrap().contains("try again shortly"));

    let api = browser.get_json("/auth/login").await;
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        api.text().await.unwrap(),
        r#"{"error":"temporarily_unavailable"}"#
    );

    let r = readiness.readiness().await;
    assert_eq!(r.reason(), Some("discovery_pending"));
    assert!(
        matches!(&r.discovery, DiscoveryHealth::Pending { last_error: Some(e), .. } if e.contains(&port.to_string())),
        "{r:?}"
    );
    assert_eq!(r.store, StoreHealth::Reachable);

    // The provider comes up; the next login after a second's pause discovers it.
    let _op = provider_on(port, &origin).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let done = browser.login_as("alice", "/protected").await;
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "login works without a restart"
    );
    let page = browser.get("/protected").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("alice"));

    let r = readiness.readiness().await;
    assert!(r.is_ready(), "{r:?}");
    assert!(matches!(
        r.discovery,
        DiscoveryHealth::Discovered {
            failed_refreshes: 0,
            ..
        }
    ));
}

#[tokio::test]
async fn the_background_task_discovers_the_provider_without_a_login() {
    let port = free_port().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = builder(&origin)
        .with_lazy_issuer(format!("http://127.0.0.1:{port}"))
        .build()
        .expect("a lazy issuer builds without a network call");
    let layer = layer(config, memory());
    let probe = layer.clone();
    let _server = serve(bound, layer);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(probe.readiness().await.reason(), Some("discovery_pending"));

    let _op = provider_on(port, &origin).await;
    // Back-off is 1 s, 2 s, 4 s ...: within ten seconds the task has found it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !probe.readiness().await.is_ready() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the background task did not discover the provider"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_session_in_a_shared_store_keeps_working_while_the_provider_is_down() {
    let store = memory();
    // Instance A logs alice in while the provider is up.
    let a = bind().await;
    let a_origin = a.origin.clone();
    let port = free_port().await;
    let op = provider_on(port, &a_origin).await;
    let issuer = op.issuer().to_owned();
    let a_config = builder(&a_origin)
        .with_issuer(&issuer)
        .await
        .unwrap()
        .build()
        .unwrap();
    let _a = serve(a, layer(a_config, store.clone()));
    let browser = Browser::new(&a_origin);
    assert_eq!(
        browser.login_as("alice", "/").await.status(),
        StatusCode::SEE_OTHER
    );
    drop(op);

    // Instance B starts while the provider is down, over the same store and key.
    let b = bind().await;
    let b_origin = b.origin.clone();
    let b_config = builder(&a_origin)
        .with_issuer_or_retry_in_background(&issuer)
        .await
        .expect("starts without the provider")
        .build()
        .unwrap();
    let _b = serve(b, layer(b_config, store));
    // Cookies are not scoped by port: the browser sends its session to B too.
    let page = browser.get(&format!("{b_origin}/protected")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("alice"));
}

#[tokio::test]
async fn a_wrong_document_still_fails_at_start_up() {
    // A login page where the discovery document should be: waiting would not help.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let site = axum::Router::new()
        .fallback(|| async { axum::response::Html("<!doctype html><title>Sign in</title>") });
    tokio::spawn(async move { axum::serve(listener, site).await.unwrap() });
    let e = builder("http://localhost:3000")
        .with_issuer_or_retry_in_background(format!("http://{addr}"))
        .await
        .expect_err("an HTML page is not provider metadata");
    assert!(
        matches!(e, axum_oidc_client::ConfigError::Discovery(_)),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_bearer_layer_sharing_keys_with_an_undiscovered_provider_answers_503_then_verifies() {
    use axum_oidc_client::bearer::{JwtClaims, JwtConfiguration, JwtLayer};

    let port = free_port().await;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = builder(&origin)
        .with_lazy_issuer(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let jwt = JwtConfiguration::builder()
        .with_oauth_configuration(&config)
        .with_audience("down")
        .build()
        .expect("a provider not discovered yet can still be shared");
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_origin = format!("http://{}", api_listener.local_addr().unwrap());
    let api = axum::Router::new()
        .route(
            "/api",
            axum::routing::get(|JwtClaims(c): JwtClaims<serde_json::Value>| async move {
                c["sub"].as_str().unwrap_or_default().to_owned()
            }),
        )
        .layer(JwtLayer::new(jwt));
    tokio::spawn(async move { axum::serve(api_listener, api).await.unwrap() });
    let _server = serve(bound, layer(config, memory()));

    let client = reqwest::Client::new();
    // A well-formed token naming the issuer: its keys are what is missing.
    let b64 = |v: serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unverifiable = format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({"alg": "RS256", "kid": "k", "typ": "at+jwt"})),
        b64(
            serde_json::json!({"iss": format!("http://127.0.0.1:{port}"), "sub": "x", "aud": "down", "exp": 4102444800u64})
        ),
    );
    let before = client
        .get(format!("{api_origin}/api"))
        .bearer_auth(unverifiable)
        .send()
        .await
        .unwrap();
    assert_eq!(
        before.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no keys yet: unavailable, not invalid"
    );

    let _op = provider_on(port, &origin).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let browser = Browser::new(&origin);
    assert_eq!(
        browser.login_as("alice", "/").await.status(),
        StatusCode::SEE_OTHER
    );
    let token = browser.get("/token").await.text().await.unwrap();
    let after = client
        .get(format!("{api_origin}/api"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(after.text().await.unwrap(), "user-alice");
}
