//! Access rules per route: the session layer against the embedded development
//! provider over real HTTP, and the same rules on the bearer layer.

#[path = "support/app.rs"]
mod app;

use app::{Browser, bind, location, memory};
use axum::body::Body;
use axum::response::{Html, IntoResponse as _};
use axum::routing::get;
use axum::{Extension, Json, Router};
use axum_oidc_client::access::{Claims, claim, email_domain, require};
use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer};
use axum_oidc_client::{
    AccessToken, AuthenticationLayer, ErrorPage, FailureClass, OAuthConfiguration,
    OAuthConfigurationBuilder, UnauthenticatedBehavior,
};
use http::{Request, header};
use http_body_util::BodyExt as _;
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const CLIENT: &str = "access-test";
const SECRET: &str = "access-test-client-secret";

#[derive(serde::Deserialize, serde::Serialize)]
struct MyClaims {
    sub: String,
    #[serde(default)]
    groups: Vec<String>,
    email: Option<String>,
}

/// Demands a claim no provider here issues.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct NeedsTenant {
    tenant: String,
}

fn routes(bearer: JwtLayer) -> Router {
    let admins = claim("groups").contains("admin");
    Router::new()
        .route(
            "/admin",
            get(|| async { Html("admin page") }).route_layer(require(admins.clone())),
        )
        .route(
            "/staff",
            get(|| async { "staff page" }).route_layer(require(email_domain(["example.com"]))),
        )
        .route(
            "/whoami",
            get(|Claims(me): Claims<MyClaims>| async move { Json(me) }),
        )
        .route(
            "/maybe",
            get(|c: Option<Claims<MyClaims>>| async move {
                c.map_or("anonymous".to_owned(), |Claims(me)| me.sub)
            }),
        )
        .route(
            "/tenant",
            get(|Claims(t): Claims<NeedsTenant>| async move { t.tenant }),
        )
        .route("/token", get(|t: AccessToken| async move { t.0 }))
        .merge(
            Router::new()
                .route(
                    "/api/admin",
                    get(|| async { Json(json!({"ok": true})) })
                        .route_layer(require(admins.clone())),
                )
                .layer(Extension(UnauthenticatedBehavior::Unauthorized)),
        )
        .merge(
            Router::new()
                .route("/bearer/admin", get(|| async { "bearer admin" }))
                .route_layer(bearer.require(admins)),
        )
}

struct Setup {
    _op: RunningProvider,
    origin: String,
    _server: tokio::task::JoinHandle<()>,
}

async fn config(op: &RunningProvider, origin: &str) -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT)
        .with_client_secret(SECRET)
        .with_app_url(origin)
        .with_scopes(["openid", "profile", "email"])
        .with_issuer(op.issuer())
        .await
        .expect("discovery")
        .build()
        .expect("config")
}

async fn setup_with(hook: bool) -> Setup {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let client =
        ClientRegistration::confidential(CLIENT, SECRET, format!("{origin}/auth/callback"));
    let op = DevProvider::start(DevProviderConfig::default().with_client(client))
        .await
        .expect("dev provider");
    let cfg = config(&op, &origin).await;
    let jwt = JwtConfiguration::builder()
        .with_oauth_configuration(&cfg)
        .with_audience(CLIENT)
        .build()
        .expect("bearer config");
    let mut layer = AuthenticationLayer::with_store(cfg, memory());
    if hook {
        layer = layer.with_error_pages(|page: &ErrorPage| {
            let text = match page.class {
                FailureClass::Forbidden => format!("custom forbidden page: {}", page.reason),
                _ => "custom page".to_owned(),
            };
            (page.status, Html(text)).into_response()
        });
    }
    let app = routes(JwtLayer::new(jwt)).layer(layer);
    let server = tokio::spawn(async move {
        axum::serve(bound.listener, app).await.expect("serve");
    });
    Setup {
        _op: op,
        origin,
        _server: server,
    }
}

async fn signed_in(s: &Setup, user: &str) -> Browser {
    let browser = Browser::new(&s.origin);
    let done = browser.login_as(user, "/").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{user} logs in");
    browser
}

#[tokio::test]
async fn admin_answers_200_to_alice_and_403_to_bob() {
    let s = setup_with(false).await;
    let alice = signed_in(&s, "alice").await;
    let r = alice.get("/admin").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "admin page");

    let bob = signed_in(&s, "bob").await;
    let r = bob.get("/admin").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let page = r.text().await.unwrap();
    assert!(page.contains("Access denied"), "{page}");
    assert!(!page.contains("admin page"));
}

#[tokio::test]
async fn an_api_caller_failing_the_rule_gets_403_json() {
    let s = setup_with(false).await;
    let bob = signed_in(&s, "bob").await;
    for path in ["/admin", "/api/admin"] {
        let r = bob.get_json(path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body, json!({"error": "forbidden"}), "{path}");
    }
    let alice = signed_in(&s, "alice").await;
    assert_eq!(alice.get_json("/api/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_anonymous_browser_is_sent_to_login_and_an_api_caller_gets_401() {
    let s = setup_with(false).await;
    let anonymous = Browser::new(&s.origin);
    let r = anonymous.get("/admin?x=1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/auth/login?next=%2Fadmin%3Fx%3D1");

    let r = anonymous.get_json("/admin").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    let r = anonymous.get("/api/admin").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_403_page_is_replaced_by_the_applications_error_pages() {
    let s = setup_with(true).await;
    let bob = signed_in(&s, "bob").await;
    let r = bob.get("/admin").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        r.text().await.unwrap(),
        "custom forbidden page: insufficient_claims"
    );
    // API callers keep the JSON.
    let r = bob.get_json("/admin").await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");
}

#[tokio::test]
async fn an_email_domain_rule_refuses_carol_whose_address_is_unverified() {
    let s = setup_with(false).await;
    let alice = signed_in(&s, "alice").await;
    assert_eq!(alice.get("/staff").await.status(), StatusCode::OK);
    let carol = signed_in(&s, "carol").await;
    assert_eq!(carol.get("/staff").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_claims_extractor_hands_the_application_its_own_type() {
    let s = setup_with(false).await;
    let alice = signed_in(&s, "alice").await;
    let me: Value = alice.get("/whoami").await.json().await.unwrap();
    assert_eq!(me["sub"], "user-alice");
    assert_eq!(me["groups"], json!(["admin", "staff"]));
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(
        alice.get("/maybe").await.text().await.unwrap(),
        "user-alice"
    );

    let carol = signed_in(&s, "carol").await;
    let me: Value = carol.get("/whoami").await.json().await.unwrap();
    assert_eq!(me["groups"], json!([]));
}

#[tokio::test]
async fn the_claims_extractor_refuses_claims_that_do_not_fit_and_sessions_that_do_not_exist() {
    let s = setup_with(false).await;
    let alice = signed_in(&s, "alice").await;
    let r = alice.get("/tenant").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = alice.get_json("/tenant").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");

    let anonymous = Browser::new(&s.origin);
    assert_eq!(
        anonymous.get("/whoami").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        anonymous.get_json("/whoami").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous.get("/maybe").await.text().await.unwrap(),
        "anonymous"
    );
}

async fn bearer_get(origin: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{origin}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_same_rule_on_the_bearer_layer_admits_alices_access_token_and_refuses_bobs() {
    let s = setup_with(false).await;
    let alice = signed_in(&s, "alice").await;
    let token = alice.get("/token").await.text().await.unwrap();
    let r = bearer_get(&s.origin, "/bearer/admin", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "bearer admin");

    let bob = signed_in(&s, "bob").await;
    let token = bob.get("/token").await.text().await.unwrap();
    let r = bearer_get(&s.origin, "/bearer/admin", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "insufficient_scope"})
    );

    // No token is 401, not 403.
    let r = bearer_get(&s.origin, "/bearer/admin", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

// ------------------------------------------------------- the bearer layer in-process

const HMAC: [u8; 32] = [7u8; 32];

fn hmac_layer() -> JwtLayer {
    JwtLayer::new(
        JwtConfiguration::builder()
            .with_hmac_secret("https://kc.example/realms/r", HmacAlgorithm::HS256, HMAC)
            .with_audience("api")
            .build()
            .unwrap(),
    )
}

fn hmac_token(extra: Value) -> String {
    let mut claims = json!({
        "iss": "https://kc.example/realms/r",
        "sub": "u1",
        "aud": "api",
        "exp": chrono::Utc::now().timestamp() + 600,
        "scope": "orders",
    });
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&HMAC),
    )
    .unwrap()
}

async fn oneshot(app: &Router, path: &str, token: &str) -> (StatusCode, String) {
    let resp = app
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let challenge = resp
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let _ = resp.into_body().collect().await.unwrap();
    (status, challenge)
}

fn bearer_app() -> Router {
    let jwt = hmac_layer();
    Router::new()
        .route(
            "/keycloak",
            get(|| async { "ok" })
                .route_layer(jwt.require(claim("realm_access.roles").contains("admin"))),
        )
        .route(
            "/auth0",
            get(|| async { "ok" })
                .route_layer(jwt.require(claim(["https://example.com/roles"]).contains("admin"))),
        )
        .route(
            "/both",
            get(|| async { "ok" }).route_layer(
                jwt.require_scopes(["orders"])
                    .require(claim("realm_access.roles").contains("admin")),
            ),
        )
        .route(
            "/scoped",
            get(|| async { "ok" }).route_layer(
                jwt.require(claim("realm_access.roles").contains("admin"))
                    .require_scopes(["billing"]),
            ),
        )
        .layer(jwt)
}

#[tokio::test]
async fn a_nested_path_rule_on_the_bearer_layer_reads_keycloak_and_auth0_claims() {
    let app = bearer_app();
    let keycloak = hmac_token(json!({"realm_access": {"roles": ["admin"]}}));
    assert_eq!(
        oneshot(&app, "/keycloak", &keycloak).await.0,
        StatusCode::OK
    );
    let auth0 = hmac_token(json!({"https://example.com/roles": ["admin"]}));
    assert_eq!(oneshot(&app, "/auth0", &auth0).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_nested_path_rule_on_the_bearer_layer_refuses_the_value_at_another_place() {
    let app = bearer_app();
    for (path, extra) in [
        ("/keycloak", json!({"realm_access": {"roles": ["user"]}})),
        ("/keycloak", json!({"roles": ["admin"]})),
        ("/keycloak", json!({"realm_access.roles": ["admin"]})),
        (
            "/auth0",
            json!({"https://example": {"com/roles": ["admin"]}}),
        ),
        ("/auth0", json!({"roles": ["admin"]})),
    ] {
        let (status, challenge) = oneshot(&app, path, &hmac_token(extra.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} {extra}");
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
    }
}

#[tokio::test]
async fn scopes_and_a_claims_rule_on_one_bearer_route_both_apply() {
    let app = bearer_app();
    let admin = hmac_token(json!({"realm_access": {"roles": ["admin"]}}));
    assert_eq!(oneshot(&app, "/both", &admin).await.0, StatusCode::OK);
    // Kept in either order: the scope is missing here.
    let (status, challenge) = oneshot(&app, "/scoped", &admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.contains("scope=\"billing\""), "{challenge}");
    let user = hmac_token(json!({"realm_access": {"roles": ["user"]}}));
    assert_eq!(oneshot(&app, "/both", &user).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_rule_route_without_an_authentication_layer_is_a_500() {
    let app: Router = Router::new().route(
        "/admin",
        get(|| async { "admin" }).route_layer(require(claim("groups").contains("admin"))),
    );
    let resp = app
        .oneshot(Request::get("/admin").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
