//! Claims enrichment at login over real HTTP: an application hook (roles), and the
//! distributed claims of OIDC Core 5.6.2 (Entra ID's group overage) resolved from a
//! test endpoint on 127.0.0.1, against the adversarial provider.

#[path = "support/adversary.rs"]
mod adversary;
#[path = "support/app.rs"]
mod app;
#[path = "support/claims_source.rs"]
mod claims_source;
#[path = "support/logs.rs"]
mod logs;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use adversary::{Adversary, Behavior, CLIENT_ID, CLIENT_SECRET, Key, Sig, sign};
use app::{Browser, bind, location, set_cookies};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use axum_oidc_client::access::{Claims, claim, require};
use axum_oidc_client::enrich::{
    ClaimsEnricher, DistributedClaimsResolver, EnrichContext, EnrichError, from_fn,
};
use axum_oidc_client::{AccessToken, AuthenticationLayer, MemoryStore, OAuthConfigurationBuilder};
use claims_source::{Reply, Source};
use reqwest::StatusCode;
use serde_json::{Value, json};

const COOKIE_KEY: &str = "Ya1MKbYwuY7TEro/4nV2aWW5EW9e45x1oClUUbYZwAvoB96GWvjcMIiHEhPnjsIL";

#[derive(serde::Deserialize, serde::Serialize)]
struct Mine {
    sub: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
}

fn routes() -> Router {
    Router::new()
        .route(
            "/admin",
            get(|| async { Html("admin page") })
                .route_layer(require(claim("groups").contains("admin"))),
        )
        .route(
            "/whoami",
            get(|Claims(me): Claims<Mine>| async move { Json(me) }),
        )
        .route(
            "/claims",
            get(|Claims(all): Claims<Value>| async move { Json(all) }),
        )
        .route("/token", get(|t: AccessToken| async move { t.0 }))
}

/// The provider, the application behind the layer, and a browser.
struct Env {
    adv: Adversary,
    browser: Browser,
    _server: tokio::task::JoinHandle<()>,
}

const CASE: &str = "case";

async fn start(
    behavior: Behavior,
    layer: impl FnOnce(AuthenticationLayer) -> AuthenticationLayer,
) -> Env {
    start_with(Adversary::start().await, behavior, layer).await
}

async fn start_with(
    adv: Adversary,
    behavior: Behavior,
    layer: impl FnOnce(AuthenticationLayer) -> AuthenticationLayer,
) -> Env {
    let issuer = adv.case(CASE, behavior);
    let bound = bind().await;
    let origin = bound.origin.clone();
    let config = OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_client_secret(CLIENT_SECRET)
        .with_app_url(&origin)
        .with_private_cookie_key(COOKIE_KEY)
        .with_clock(adv.clock().clone())
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(&issuer)
        .await
        .expect("discovery")
        .build()
        .expect("configuration");
    let layer = layer(AuthenticationLayer::with_store(
        config,
        Arc::new(MemoryStore::default()),
    ));
    let app = routes().layer(layer);
    let server = tokio::spawn(async move {
        axum::serve(bound.listener, app).await.expect("serve");
    });
    Env {
        adv,
        browser: Browser::new(&origin),
        _server: server,
    }
}

impl Env {
    /// A full login; the callback's answer.
    async fn login(&self) -> reqwest::Response {
        let authorization_url = self.browser.start_login("/whoami").await;
        let approved = self.browser.get(&authorization_url).await;
        assert_eq!(approved.status(), StatusCode::SEE_OTHER);
        self.browser.finish_login(&location(&approved)).await
    }

    async fn login_ok(&self) {
        let r = self.login().await;
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "login must succeed: {}",
            r.text().await.unwrap_or_default()
        );
    }

    async fn whoami(&self) -> Value {
        let r = self.browser.get("/whoami").await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

/// An ID token with Entra's group overage markers naming `endpoint`.
fn overage(endpoint: &str, access_token: Option<&str>) -> Behavior {
    let mut source = json!({ "endpoint": endpoint });
    if let Some(t) = access_token {
        source["access_token"] = t.into();
    }
    Behavior {
        id_token_claims: json!({
            "_claim_names": { "groups": "src1" },
            "_claim_sources": { "src1": source },
        }),
        ..Behavior::default()
    }
}

fn resolver(origin: &str) -> DistributedClaimsResolver {
    DistributedClaimsResolver::new([origin]).expect("resolver")
}

#[tokio::test]
async fn an_overage_is_resolved_from_an_allowed_endpoint_and_a_groups_rule_then_passes() {
    let source = Source::start(Reply::Json(json!({ "groups": ["admin", "staff"] }))).await;
    let env = start(overage(&source.endpoint(), Some("source-token")), |l| {
        l.with_claims_enricher(resolver(&source.origin))
    })
    .await;
    env.login_ok().await;
    assert_eq!(source.tokens(), ["source-token"], "the source's own token");
    assert_eq!(env.whoami().await["groups"], json!(["admin", "staff"]));
    let admin = env.browser.get("/admin").await;
    assert_eq!(admin.status(), StatusCode::OK);
    // The markers, and the bearer token in them, are not kept with the claims.
    let all = env.browser.get("/claims").await.text().await.unwrap();
    assert!(
        !all.contains("_claim_sources") && !all.contains("source-token"),
        "{all}"
    );
}

#[tokio::test]
async fn without_its_own_token_a_source_gets_the_logins_access_token() {
    let source = Source::start(Reply::Json(json!({ "value": [{ "id": "admin" }] }))).await;
    let env = start(overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver(&source.origin))
    })
    .await;
    env.login_ok().await;
    let issued = env.adv.seen(CASE).access_tokens;
    assert_eq!(source.tokens(), issued);
    assert_eq!(env.whoami().await["groups"], json!(["admin"]));
    assert_eq!(env.browser.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_entra_get_member_objects_source_is_called_as_graph_expects() {
    let source = Source::start(Reply::Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
        "value": ["admin", "staff"]
    })))
    .await;
    let endpoint = format!("{}/v1.0/users/oid/getMemberObjects", source.origin);
    let env = start(overage(&endpoint, None), |l| {
        l.with_claims_enricher(resolver(&source.origin))
    })
    .await;
    env.login_ok().await;
    let bodies = source.seen.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "one POST");
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body, json!({ "securityEnabledOnly": false }));
    assert_eq!(source.tokens(), env.adv.seen(CASE).access_tokens);
    assert_eq!(env.whoami().await["groups"], json!(["admin", "staff"]));
    assert_eq!(env.browser.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_jwt_answer_must_be_signed_by_the_provider() {
    for (sig, status) in [
        (Sig::By(Key::Rsa1), StatusCode::SEE_OTHER),
        (Sig::By(Key::Rsa2), StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let adv = Adversary::start().await;
        let claims = json!({ "iss": adv.issuer(CASE), "sub": "alice", "groups": ["admin"] });
        let source = Source::start(Reply::Jwt(sign(&sig, "JWT", &claims))).await;
        let env = start_with(adv, overage(&source.endpoint(), None), |l| {
            l.with_claims_enricher(resolver(&source.origin))
        })
        .await;
        let r = env.login().await;
        assert_eq!(r.status(), status, "{sig:?}");
        if status == StatusCode::SEE_OTHER {
            assert_eq!(env.whoami().await["groups"], json!(["admin"]));
        }
    }
}

#[tokio::test]
async fn a_jwt_answer_is_recognised_without_its_media_type() {
    let adv = Adversary::start().await;
    let claims = json!({ "iss": adv.issuer(CASE), "sub": "alice", "groups": ["admin"] });
    let source = Source::start(Reply::JwtPlain(sign(&Sig::By(Key::Rsa1), "JWT", &claims))).await;
    let env = start_with(adv, overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver(&source.origin))
    })
    .await;
    env.login_ok().await;
    assert_eq!(env.whoami().await["groups"], json!(["admin"]));
}

#[tokio::test]
async fn claims_from_another_issuer_are_left_out_not_trusted() {
    let logs = logs::capture();
    // An aggregated source signed by someone else (even with a key the provider also
    // publishes): this library trusts no other issuer's keys.
    let foreign = sign(
        &Sig::By(Key::Rsa1),
        "JWT",
        &json!({ "iss": "https://claims.example", "sub": "alice", "groups": ["admin"] }),
    );
    let env = start(
        Behavior {
            id_token_claims: json!({
                "_claim_names": { "groups": "src1" },
                "_claim_sources": { "src1": { "JWT": foreign } },
            }),
            ..Behavior::default()
        },
        |l| l.with_claims_enricher(resolver("https://graph.example")),
    )
    .await;
    env.login_ok().await;
    assert_eq!(env.whoami().await["groups"], json!([]));
    assert_eq!(
        env.browser.get("/admin").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        logs.library_lines_with("claims_source_foreign_issuer")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_source_that_is_rate_limited_fails_the_login_with_503() {
    let source = Source::start(Reply::Status(429)).await;
    let env = start(overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver(&source.origin))
    })
    .await;
    assert_eq!(env.login().await.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn an_answer_about_another_user_fails_the_login() {
    let source = Source::start(Reply::Json(
        json!({ "sub": "mallory", "groups": ["admin"] }),
    ))
    .await;
    let env = start(overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver(&source.origin))
    })
    .await;
    assert_eq!(
        env.login().await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        env.browser.get("/whoami").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn without_a_resolver_an_overage_leaves_groups_absent_and_the_rule_refuses() {
    let logs = logs::capture();
    let source = Source::start(Reply::Json(json!({ "groups": ["admin"] }))).await;
    let env = start(overage(&source.endpoint(), Some("source-token")), |l| l).await;
    env.login_ok().await;
    assert_eq!(env.whoami().await["groups"], json!([]));
    assert_eq!(
        env.browser.get("/admin").await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(
        source.tokens().is_empty(),
        "nothing is fetched without a resolver"
    );
    let warned = logs.library_lines_with("distributed_claims_unresolved");
    assert_eq!(warned.len(), 1, "one warning per login: {warned:?}");
    assert!(warned[0].contains("WARN") && warned[0].contains("groups"));
    assert!(!warned[0].contains("source-token"));
}

#[tokio::test]
async fn an_endpoint_off_the_allow_list_is_never_called() {
    let logs = logs::capture();
    let source = Source::start(Reply::Json(json!({ "groups": ["admin"] }))).await;
    let env = start(overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver("https://graph.example"))
    })
    .await;
    env.login_ok().await;
    assert!(source.tokens().is_empty(), "no request off the allow-list");
    assert_eq!(
        env.browser.get("/admin").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        logs.library_lines_with("distributed_claims_source_not_allowed")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_source_that_is_down_fails_the_login_with_503() {
    let source = Source::start(Reply::Status(503)).await;
    let env = start(overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver(&source.origin))
    })
    .await;
    let r = env.login().await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        env.browser.get("/whoami").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_source_that_does_not_answer_in_time_fails_the_login_with_503() {
    let source = Source::start(Reply::Hang).await;
    let env = start(overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver(&source.origin).with_timeout(Duration::from_millis(200)))
    })
    .await;
    let started = std::time::Instant::now();
    assert_eq!(env.login().await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_answer_over_the_size_cap_fails_the_login() {
    let groups: Vec<String> = (0..100).map(|i| format!("group-{i}")).collect();
    let source = Source::start(Reply::Json(json!({ "groups": groups }))).await;
    let env = start(overage(&source.endpoint(), None), |l| {
        l.with_claims_enricher(resolver(&source.origin).with_max_response_len(512))
    })
    .await;
    assert_eq!(
        env.login().await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(source.tokens().len(), 1);
}

/// Roles from "the application's database", counting its calls.
fn roles_hook(calls: Arc<AtomicUsize>) -> impl ClaimsEnricher {
    from_fn(move |ctx: EnrichContext<'_>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let sub = ctx.claims().sub.clone();
        Box::pin(async move {
            let roles = if sub == "alice" {
                vec!["editor"]
            } else {
                vec![]
            };
            let mut extra = serde_json::Map::new();
            extra.insert("roles".into(), json!(roles));
            Ok(extra)
        })
    })
}

#[tokio::test]
async fn a_hooks_roles_are_visible_through_claims_and_kept_through_a_refresh() {
    let calls = Arc::new(AtomicUsize::new(0));
    let hook = roles_hook(calls.clone());
    let env = start(
        Behavior {
            expires_in: 2,
            ..Behavior::default()
        },
        |l| l.with_claims_enricher(hook),
    )
    .await;
    env.login_ok().await;
    assert_eq!(env.whoami().await["roles"], json!(["editor"]));
    let before = env.browser.get("/token").await.text().await.unwrap();
    env.adv.advance(Duration::from_secs(1));
    let after = env.browser.get("/token").await.text().await.unwrap();
    assert_ne!(before, after, "the access token was refreshed");
    assert_eq!(env.adv.seen(CASE).refresh_grants(), 1);
    assert_eq!(env.whoami().await["roles"], json!(["editor"]));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "once per login, not per refresh"
    );
}

async fn failing(e: fn() -> EnrichError) -> reqwest::Response {
    let hook = from_fn(move |_ctx: EnrichContext<'_>| Box::pin(async move { Err(e()) }));
    let env = start(Behavior::default(), |l| l.with_claims_enricher(hook)).await;
    let r = env.login().await;
    assert!(
        !set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=") && !c.starts_with("axum_oidc_session=;")),
        "no session cookie"
    );
    assert_eq!(
        env.browser.get("/whoami").await.status(),
        StatusCode::SEE_OTHER
    );
    r
}

#[tokio::test]
async fn a_failing_hook_fails_the_login_with_its_documented_status() {
    let logs = logs::capture();
    let r = failing(|| EnrichError::unavailable(std::io::Error::other("db down"))).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let page = r.text().await.unwrap();
    assert!(page.contains("could not be loaded right now"), "{page}");
    assert!(
        !page.contains("db down"),
        "the cause is for the log, not the page"
    );
    let r = failing(|| EnrichError::Denied).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(page.contains("does not grant your"), "{page}");
    let r = failing(|| EnrichError::failed("bug")).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    for reason in [
        "claims_enrichment_unavailable",
        "claims_enrichment_denied",
        "claims_enrichment_failed",
    ] {
        assert_eq!(
            logs.library_lines_with(reason).len(),
            1,
            "{reason} logged once"
        );
    }
    assert!(
        logs.lines().iter().all(|l| !l.contains("at-")),
        "no access token in the logs"
    );
}

#[tokio::test]
async fn a_hook_that_sets_a_protocol_claim_fails_the_login() {
    let hook = from_fn(|_ctx: EnrichContext<'_>| {
        Box::pin(async move {
            let mut extra = serde_json::Map::new();
            extra.insert("sub".into(), json!("mallory"));
            Ok(extra)
        })
    });
    let env = start(Behavior::default(), |l| l.with_claims_enricher(hook)).await;
    let r = env.login().await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        env.browser.get("/whoami").await.status(),
        StatusCode::SEE_OTHER
    );
}
