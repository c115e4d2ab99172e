//! The backend-for-frontend demo: `/spa`, a single-page app in plain HTML and
//! JavaScript that never sees a token, and `/bff/api/<path>`, which forwards to this
//! demo's own bearer-protected `/api/<path>` with the session's access token.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum_oidc_client::bff::{ApiProxy, CsrfLayer};

/// `/spa`, and `/bff/api/*` to `{app_url}/api/*` when the bearer API is on.
pub fn routes(app_url: &url::Url, base: &str, with_api: bool) -> Router {
    // A JSON string is a JavaScript string literal.
    let base = serde_json::to_string(base.trim_end_matches('/')).unwrap_or_default();
    let page = PAGE.replace("\"{base}\"", &base);
    let mut r = Router::new().route(
        "/spa",
        get(move || async move {
            (
                [
                    (header::CACHE_CONTROL, "no-store"),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
                    ),
                ],
                Html(page.clone()),
            )
                .into_response()
        }),
    );
    if with_api {
        let upstream = format!("{}/api", app_url.origin().ascii_serialization());
        match ApiProxy::new(&upstream) {
            Ok(proxy) => {
                r = r.merge(
                    Router::new()
                        .nest_service("/bff/api", proxy)
                        .layer(CsrfLayer::new()),
                );
            }
            Err(e) => tracing::warn!(error = %e, "the /bff/api proxy is off"),
        }
    }
    r
}

/// The app: asks `{base}/session` who is signed in, shows the name `/bff/api/me`
/// answers, logs out by `POST {base}/logout` with the CSRF header.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SPA demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto}</style>
</head>
<body>
<h1>Single-page app</h1>
<p id="status">Checking the session…</p>
<p>Hello, <span id="user" hidden></span></p>
<p id="api-error" hidden></p>
<button id="sign-in" hidden>Sign in</button>
<button id="sign-out" hidden>Sign out</button>
<script>
const base = "{base}";
const csrf = { "X-CSRF": "1" };
const $ = (id) => document.getElementById(id);

async function show() {
  $("user").hidden = true;
  const s = await fetch(base + "/session", { credentials: "include", headers: { Accept: "application/json" } });
  const signedIn = s.status === 200;
  $("status").textContent = signedIn ? "Signed in" : "Signed out";
  $("sign-in").hidden = signedIn;
  $("sign-out").hidden = !signedIn;
  if (!signedIn) return;
  const me = await fetch("/bff/api/me", { credentials: "include", headers: csrf });
  if (me.ok) {
    const claims = await me.json();
    $("user").textContent = claims.name || claims.sub;
    $("user").dataset.sub = claims.sub;
    $("user").hidden = false;
  } else {
    $("api-error").textContent = "The API answered " + me.status;
    $("api-error").hidden = false;
  }
}

$("sign-in").onclick = () => {
  location.href = base + "/login?next=" + encodeURIComponent("/spa");
};
$("sign-out").onclick = async () => {
  const r = await fetch(base + "/logout", { method: "POST", credentials: "include", headers: csrf });
  const body = await r.json();
  if (body.redirect_to) {
    location.href = body.redirect_to;
  } else {
    await show();
  }
};
show();
</script>
</body>
</html>
"#;
