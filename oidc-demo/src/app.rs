//! The demo's routes.

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Extension, Json, Router};
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::{
    AuthenticationLayer, OAuthConfiguration, OptionalAuthSession, UnauthenticatedBehavior,
};

use crate::pages;
use crate::settings::Settings;

/// The bearer-protected API, when it can be configured.
pub struct Api(Option<Router>);

pub async fn api_layer(
    _settings: &Settings,
    _config: &OAuthConfiguration,
) -> Result<Api, Box<dyn std::error::Error>> {
    Ok(Api(None))
}

pub fn router(layer: AuthenticationLayer, api: Api) -> Router {
    let json_api = Router::new()
        .route("/me", get(me))
        .layer(Extension(UnauthenticatedBehavior::Unauthorized));
    let mut app = Router::new()
        .route("/", get(home))
        .route("/protected", get(protected))
        .merge(json_api)
        .layer(layer);
    if let Some(api) = api.0 {
        app = app.merge(api);
    }
    app
}

async fn home(OptionalAuthSession(session): OptionalAuthSession) -> Html<String> {
    Html(pages::home(session.as_ref()))
}

async fn protected(session: AuthSession) -> Html<String> {
    Html(pages::protected(&session))
}

async fn me(session: AuthSession) -> impl IntoResponse {
    Json(serde_json::json!({
        "sub": session.sub(),
        "claims": session.claims(),
        "expires": session.expires.to_rfc3339(),
    }))
}
