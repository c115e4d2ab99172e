//! An application upgraded from the earlier 0.7 crate, written only with the paths and
//! calls MIGRATING.md promises. If this stops compiling, MIGRATING.md (or the aliases
//! in `lib.rs`) is wrong.

use std::sync::Arc;
use std::time::Duration;

// Seed module paths kept by MIGRATING.md ("Module paths").
use axum_oidc_client::auth::{AuthLayer, AuthenticationLayer};
use axum_oidc_client::auth_builder::OAuthConfigurationBuilder;
use axum_oidc_client::auth_cache::AuthCache;
use axum_oidc_client::auth_session::AuthSession;
// The store names of before the rename stay usable, deprecated.
use axum_oidc_client::CodeChallengeMethod;
#[allow(deprecated)]
use axum_oidc_client::cache::{MemoryStore, TwoTierAuthCache, TwoTierCacheConfig, from_url};
use axum_oidc_client::jwt::{
    JwtClaims, JwtConfiguration, JwtLayer, OidcClaims, OptionalJwtClaims, VerifiedJwt,
};
use axum_oidc_client::logout::{
    DefaultLogoutHandler, LogoutContext, LogoutHandler, OidcLogoutHandler,
};
// New places named by MIGRATING.md: configuration, errors and extractors.
use axum_oidc_client::{
    AccessToken, IdToken, OptionalAccessToken, OptionalAuthSession, OptionalIdToken,
};
use axum_oidc_client::{
    AccessTokenResponse, AuthRejection, ClientAuthMethod, ConfigError, IdTokenClaims,
    OAuthConfiguration, StoreError, UnauthenticatedBehavior,
};

use async_trait::async_trait;
use axum::body::Body;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, StatusCode};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig};
use tower::ServiceExt as _;

const SECRET: &str = "migration-secret";
const COOKIE_KEY: &str = "TNWZY3MOKzmpg6yYYH7sqd+K7YaSXd/JKj4R6ZvllYPKh459lN7LG4HEFsmiVtqX";

/// "A custom logout handler in the new shape".
pub struct Goodbye;

#[async_trait]
impl LogoutHandler for Goodbye {
    async fn handle_logout(&self, ctx: LogoutContext<'_>) -> Response {
        if let Some(ended) = ctx.session {
            eprintln!("signed out: {}", ended.sub());
        }
        Redirect::to("/goodbye").into_response()
    }
}

/// "Configuration": every seed option with its new units, and the new ones.
async fn configure(issuer: &str, app_url: &str) -> Result<OAuthConfiguration, ConfigError> {
    let minutes = 8 * 60;
    let seconds = 300;
    OAuthConfigurationBuilder::default()
        .with_client_id("migration")
        .with_client_secret(SECRET)
        .with_client_auth_method(ClientAuthMethod::ClientSecretBasic)
        .with_app_url(app_url)
        .with_private_cookie_key(COOKIE_KEY)
        .with_scopes(vec!["openid", "profile", "email"])
        .with_session_max_age(Duration::from_secs(minutes * 60))
        .with_idle_timeout(Duration::from_secs(30 * 60))
        .with_token_max_age(Duration::from_secs(seconds))
        .with_code_challenge_method(CodeChallengeMethod::S256)
        .with_base_path("/auth")
        .with_token_request_redirect_uri(true)
        .with_session_cookie_name("axum_oidc_session")
        .with_logout_via_get(true)
        .with_issuer(issuer)
        .await?
        .build()
}

/// Handlers in the shapes the "`AuthSession` and the other extractors" table lists.
async fn me(s: AuthSession) -> String {
    s.sub().unwrap_or_default().to_owned()
}

async fn tokens(token: AccessToken, id: IdToken) -> String {
    format!("{} {}", token.0.len(), id.len())
}

async fn maybe(
    OptionalAuthSession(s): OptionalAuthSession,
    also: Option<AuthSession>,
    OptionalAccessToken(at): OptionalAccessToken,
    OptionalIdToken(it): OptionalIdToken,
) -> String {
    format!(
        "{} {} {} {}",
        s.is_some(),
        also.is_some(),
        at.is_some(),
        it.is_some()
    )
}

async fn claims(c: IdTokenClaims) -> String {
    c.get_str("email").unwrap_or_default().to_owned()
}

/// "The layer", "Routes" and "Logout handlers": the router a README quick start builds.
fn router(config: OAuthConfiguration, store: Arc<dyn AuthCache>) -> Router {
    let layer: AuthLayer =
        AuthenticationLayer::with_store(config, store).with_logout_handler(OidcLogoutHandler);
    Router::new()
        .route("/api/me", get(me))
        .route("/api/tokens", get(tokens))
        .route("/api/claims", get(claims))
        .route("/maybe", get(maybe))
        .layer(Extension(UnauthenticatedBehavior::Unauthorized))
        .layer(layer)
}

/// The `jwt` alias: the bearer-token types under their seed module.
fn bearer_router(config: JwtConfiguration) -> Router {
    async fn who(JwtClaims(c): JwtClaims<OidcClaims>) -> String {
        c.sub
    }
    async fn maybe(OptionalJwtClaims(c): OptionalJwtClaims<OidcClaims>) -> String {
        c.map(|c| c.sub).unwrap_or_default()
    }
    async fn raw(_: VerifiedJwt) {}
    Router::new()
        .route("/who", get(who))
        .route("/maybe", get(maybe))
        .route("/raw", get(raw))
        .layer(JwtLayer::new(config))
}

async fn send(app: &Router, uri: &str) -> Response {
    app.clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_application_written_against_the_migration_guide_compiles_and_serves() {
    let app_url = "http://127.0.0.1:3000";
    let op = DevProvider::start(DevProviderConfig::default().with_client(
        ClientRegistration::confidential("migration", SECRET, format!("{app_url}/auth/callback")),
    ))
    .await
    .expect("dev provider");
    let config = configure(op.issuer(), app_url)
        .await
        .expect("configuration");

    // "Stores": the in-process store, the two-tier cache over it, and from_url.
    let memory = MemoryStore::default();
    let _with_store = AuthenticationLayer::with_store(config.clone(), Arc::new(memory.clone()));
    #[allow(deprecated)]
    let _tiered: Arc<dyn AuthCache> = Arc::new(TwoTierAuthCache::new(
        Arc::new(memory),
        TwoTierCacheConfig::default(),
    ));
    let from_url_store = from_url("memory", config.cookie_key())
        .await
        .expect("memory store from a URL");
    let unknown: Result<_, StoreError> = from_url("nope://x", config.cookie_key()).await;
    assert!(unknown.is_err());

    // `AuthSession::new` still builds a session from a token response, without claims.
    let response: AccessTokenResponse = serde_json::from_value(serde_json::json!({
        "access_token": "at", "token_type": "Bearer", "expires_in": 60
    }))
    .unwrap();
    let built = AuthSession::new(&response, &config);
    assert_eq!(
        (built.access_token.as_str(), built.id_token.as_str()),
        ("at", "")
    );
    assert!(built.claims().is_none());
    assert_eq!(built.scope, "openid profile email");

    let app = router(config.clone(), from_url_store);
    let r = send(&app, "/api/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no session: 401 JSON");
    let r = send(&app, "/maybe").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"false false false false");
    let r = send(&app, "/auth/login?next=/api/me").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(op.issuer())
    );

    // The rejection is a response by itself.
    let rejection = AuthRejection::Unavailable.into_response();
    assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Logout handlers: the unit struct, the default, a redirect target, a custom one.
    let _ = AuthenticationLayer::new(config.clone()).with_logout_handler(Goodbye);
    let _ = AuthenticationLayer::new(config.clone())
        .with_logout_handler(DefaultLogoutHandler::redirect_to("/bye"));
    let local =
        AuthenticationLayer::new(config).with_logout_handler(DefaultLogoutHandler::default());
    let plain = Router::new()
        .route("/", get(|| async { "home" }))
        .layer(local);
    let logout = send(&plain, "/auth/logout").await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);

    // The `jwt` alias builds a bearer-token API from the same provider.
    #[allow(deprecated)] // the former `with_issuer(..).await?` still compiles
    let jwt = JwtConfiguration::builder()
        .with_issuer(op.issuer())
        .await
        .expect("bearer discovery")
        .with_audience("migration")
        .build()
        .expect("bearer configuration");
    let api = bearer_router(jwt);
    assert_eq!(send(&api, "/who").await.status(), StatusCode::UNAUTHORIZED);
}
