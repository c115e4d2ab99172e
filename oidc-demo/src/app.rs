//! The demo's routes.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::bearer::{DpopPolicy, JwtClaims, JwtConfiguration, JwtLayer};
use axum_oidc_client::store::InvalidationHealth;
use axum_oidc_client::{
    AuthRejection, AuthenticationLayer, DiscoveryHealth, OAuthConfiguration, OptionalAuthSession,
    SameOrigin, StoreHealth, UnauthenticatedBehavior, UserSessions,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::pages;
use crate::settings::Settings;

/// The bearer-protected API, when it can be configured.
pub struct Api(Option<Router>);

/// `GET /api/me` behind the bearer layer, sharing the login side's issuer and keys.
/// Tokens must carry `API_AUDIENCE` in `aud` (default: the client id, which is what
/// the embedded provider puts in its access tokens). DPoP-bound tokens (OIDC_DPOP,
/// OIDC_PROFILE=fapi2, or a client's own) come with the `DPoP` scheme and a proof for
/// `{APP_URL}/api/me`, whose `jti` is remembered in the session store (RFC 9449); plain
/// bearer tokens are accepted too.
pub async fn api_layer(
    settings: &Settings,
    config: &OAuthConfiguration,
    store: axum_oidc_client::store::SharedStore,
) -> Result<Api, Box<dyn std::error::Error + Send + Sync>> {
    if config.issuer().is_none() {
        return Ok(Api(None));
    }
    let audience = settings
        .api_audience
        .clone()
        .unwrap_or_else(|| config.client_id().to_owned());
    let jwt = JwtConfiguration::builder()
        .with_oauth_configuration(config)
        .with_audience(audience)
        .with_dpop(DpopPolicy::allowed(store))
        .with_dpop_origin(settings.app_origin())
        .build()?;
    // route_layer: the bearer layer must not take over the fallback, which the
    // authentication layer uses to answer its own routes.
    let api = Router::new()
        .route("/api/me", get(api_me))
        .route_layer(JwtLayer::new(jwt));
    Ok(Api(Some(api)))
}

async fn api_me(
    JwtClaims(claims): JwtClaims<serde_json::Map<String, serde_json::Value>>,
) -> impl IntoResponse {
    Json(claims)
}

pub fn router(layer: AuthenticationLayer, api: Api, step_up_max_age: Duration) -> Router {
    let base = Extension(AuthBase(
        layer.config().base_path().trim_end_matches('/').to_owned(),
    ));
    let json_api = Router::new()
        .route("/me", get(me))
        .route_layer(Extension(UnauthenticatedBehavior::Unauthorized));
    let mut app = Router::new()
        .route("/", get(home))
        .route("/protected", get(protected))
        .route("/admin", crate::admin::route())
        .route("/sensitive", crate::sensitive::route(step_up_max_age))
        .route("/sessions", get(sessions_page))
        .route("/sessions/end", post(end_session))
        .route("/sessions/end-all", post(end_all_sessions))
        .merge(json_api);
    let config = layer.config();
    app = app.merge(crate::spa::routes(
        config.redirect_uri(),
        config.base_path(),
        api.0.is_some(),
    ));
    if let Some(api) = api.0 {
        app = app.merge(api);
    }
    // Outermost, so it answers its own routes under /auth before any routing.
    // /healthz, /readyz and /metrics are added after it: liveness and metrics never
    // touch the session store, and readiness asks the layer itself.
    let readiness = Extension(layer.clone());
    app.layer(base)
        .layer(layer)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).layer(readiness))
        .route("/metrics", get(metrics))
}

/// The process's metrics recorder, once [`install_metrics`] has run.
static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Histogram buckets of the `*_seconds` metrics (calls to the provider and the store).
const SECONDS_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the Prometheus recorder for the library's metrics (`axum_oidc_*`), served
/// at `GET /metrics`; no listener of its own. Call once, inside the runtime.
pub fn install_metrics() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)?
        .install_recorder()?;
    // Histograms are drained into their buckets here and at each scrape.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    let _ = METRICS.set(handle);
    Ok(())
}

/// `GET /metrics`: the Prometheus text exposition format.
async fn metrics() -> impl IntoResponse {
    match METRICS.get() {
        Some(h) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            h.render(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Where the library's routes are (`OIDC_BASE_PATH`, default `/auth`), for links.
#[derive(Clone)]
struct AuthBase(String);

/// Liveness: 200 `ok` while the server runs.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: 200 once the provider is discovered and the session store answers,
/// else 503 with the reason (`discovery_pending`, `store_unreachable`) and its detail.
async fn readyz(Extension(layer): Extension<AuthenticationLayer>) -> impl IntoResponse {
    let r = layer.readiness().await;
    let discovery = match &r.discovery {
        DiscoveryHealth::Configured => serde_json::json!({"state": "configured"}),
        DiscoveryHealth::Discovered {
            age,
            failed_refreshes,
            last_error,
        } => serde_json::json!({
            "state": "discovered",
            "age_secs": age.as_secs(),
            "failed_refreshes": failed_refreshes,
            "last_error": last_error,
        }),
        DiscoveryHealth::Pending {
            failed_attempts,
            last_error,
        } => serde_json::json!({
            "state": "pending",
            "failed_attempts": failed_attempts,
            "last_error": last_error,
        }),
        _ => serde_json::json!({"state": "unknown"}),
    };
    let store = match &r.store {
        StoreHealth::Reachable => serde_json::json!({"state": "reachable"}),
        StoreHealth::Unreachable { error } => {
            serde_json::json!({"state": "unreachable", "error": error})
        }
        _ => serde_json::json!({"state": "unknown"}),
    };
    // A `tiered+` store's channel: down leaves the demo ready (revocations then wait
    // for the local TTL), so it is reported, not a reason.
    let invalidation = match &r.invalidation {
        None => serde_json::Value::Null,
        Some(InvalidationHealth::Up { channel }) => {
            serde_json::json!({"state": "up", "channel": channel})
        }
        Some(InvalidationHealth::Down {
            channel,
            failed_attempts,
            last_error,
        }) => serde_json::json!({
            "state": "down",
            "channel": channel,
            "failed_attempts": failed_attempts,
            "last_error": last_error,
        }),
        Some(_) => serde_json::json!({"state": "unknown"}),
    };
    let (status, body) = match r.reason() {
        None => (
            StatusCode::OK,
            serde_json::json!({
                "status": "ready",
                "degraded": r.is_degraded(),
                "discovery": discovery,
                "store": store,
                "invalidation": invalidation,
            }),
        ),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({
                "status": "not_ready",
                "reason": reason,
                "discovery": discovery,
                "store": store,
                "invalidation": invalidation,
            }),
        ),
    };
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body))
}

async fn home(
    Extension(AuthBase(base)): Extension<AuthBase>,
    OptionalAuthSession(session): OptionalAuthSession,
) -> Html<String> {
    Html(pages::home(&base, session.as_ref()))
}

async fn protected(
    Extension(AuthBase(base)): Extension<AuthBase>,
    session: AuthSession,
) -> Html<String> {
    Html(pages::protected(&base, &session))
}

/// `GET /me`: the session as JSON. `iss` and `sub` are the user; `provider` is the
/// OIDC_PROVIDERS name signed in with, or `"default"` with a single provider
/// (OIDC_ISSUER or the embedded one).
async fn me(session: AuthSession) -> impl IntoResponse {
    Json(serde_json::json!({
        "iss": session.iss(),
        "provider": session.provider().unwrap_or("default"),
        "sub": session.sub(),
        "claims": session.claims(),
        "expires": session.expires.to_rfc3339(),
    }))
}

/// `GET /sessions`: the signed-in user's sessions on every instance.
async fn sessions_page(sessions: UserSessions) -> Result<impl IntoResponse, AuthRejection> {
    let list = sessions.list().await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Html(pages::sessions(&list)),
    ))
}

#[derive(serde::Deserialize)]
struct EndForm {
    id: String,
}

/// `POST /sessions/end` (field `id`), from this application's pages only: ends one
/// of the user's sessions; back to `/sessions`, or to `/` when it was this browser's.
async fn end_session(
    _: SameOrigin,
    sessions: UserSessions,
    Form(form): Form<EndForm>,
) -> Result<Redirect, AuthRejection> {
    let current = form.id == sessions.current_id();
    let ended = sessions.end(&form.id).await?;
    Ok(Redirect::to(if ended && current {
        "/"
    } else {
        "/sessions"
    }))
}

/// `POST /sessions/end-all`, from this application's pages only: "sign out
/// everywhere", this browser included.
async fn end_all_sessions(
    _: SameOrigin,
    sessions: UserSessions,
) -> Result<Redirect, AuthRejection> {
    sessions.end_all().await?;
    Ok(Redirect::to("/"))
}
