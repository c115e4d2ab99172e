//! `GET /sensitive`: only for a login within the last `STEP_UP_MAX_AGE_SECS` seconds.
//! An older session logs in again with `max_age` (a step-up, OIDC Core 3.1.2.1); a
//! script gets 401 `insufficient_user_authentication` (RFC 9470).

use std::time::Duration;

use axum::response::Html;
use axum::routing::{MethodRouter, get};
use axum_oidc_client::IdTokenClaims;
use axum_oidc_client::access::{max_age, step_up};
use html_escape::encode_text as escape;

use crate::pages::layout;

/// The `/sensitive` route: the page for a login at most `age` old, else a new login
/// with `max_age` that returns here (a redirect to login without a session).
pub fn route(age: Duration) -> MethodRouter<()> {
    get(sensitive).route_layer(step_up(max_age(age)))
}

async fn sensitive(claims: IdTokenClaims) -> Html<String> {
    let auth_time = claims
        .auth_time
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339());
    let body = format!(
        r#"<p id="status">A sensitive page, for a recent login only: <strong id="user">{}</strong>.</p>
<p class="muted">Signed in at the provider at <code id="auth-time">{}</code>.</p>"#,
        escape(&claims.sub),
        escape(&auth_time)
    );
    Html(layout("Sensitive", &body))
}
