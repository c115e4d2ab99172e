//! `GET /admin`: for members of the `admin` group only (the `groups` claim).

use axum::response::Html;
use axum::routing::{MethodRouter, get};
use axum_oidc_client::access::{Claims, claim, require};
use html_escape::encode_text as escape;

use crate::pages::layout;

/// The claims the page shows.
#[derive(serde::Deserialize)]
struct AdminClaims {
    sub: String,
    #[serde(default)]
    groups: Vec<String>,
}

/// The `/admin` route: 403 unless the `groups` claim contains `admin` (a redirect to
/// login without a session).
pub fn route() -> MethodRouter<()> {
    get(admin).route_layer(require(claim("groups").contains("admin")))
}

async fn admin(Claims(me): Claims<AdminClaims>) -> Html<String> {
    let groups: Vec<String> = me.groups.iter().map(|g| escape(g).into_owned()).collect();
    let body = format!(
        r#"<p id="status">Administration, for members of the <code>admin</code> group: <strong id="user">{}</strong>.</p>
<p class="muted">Your groups: <code id="groups">{}</code></p>"#,
        escape(&me.sub),
        groups.join(", ")
    );
    Html(layout("Admin", &body))
}
