//! HTML pages shown to the browser: login, errors and "signed out". All
//! pages are self-contained (inline CSS, no scripts, no external assets) and
//! every interpolated value goes through [`escape`].

use std::fmt::Write as _;

pub(crate) use html_escape::encode_quoted_attribute as escape;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::config::DemoUser;
use crate::error::OAuthError;
use crate::store::PendingAuthorization;

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;\
background:#eef1f5;color:#1d2430;display:flex;justify-content:center;padding:48px 16px}\
main{background:#fff;max-width:460px;width:100%;border-radius:12px;\
box-shadow:0 4px 24px rgba(20,30,50,.12);padding:32px}\
h1{font-size:22px;margin:0 0 4px}\
.sub{color:#5b6576;margin:0 0 20px}\
.badge{display:inline-block;font-size:12px;background:#fff4d6;color:#7a5b00;\
border-radius:6px;padding:2px 8px;margin-bottom:16px}\
table{width:100%;border-collapse:collapse;margin:0 0 20px;font-size:14px}\
td,th{text-align:left;padding:6px 4px;border-bottom:1px solid #e6e9ef}\
th{color:#5b6576;font-weight:600}\
label{display:block;font-weight:600;margin:12px 0 4px}\
input[type=text],input[type=password]{width:100%;padding:9px 10px;\
border:1px solid #c9d0db;border-radius:8px;font-size:15px}\
button{margin-top:18px;width:100%;padding:10px;border:0;border-radius:8px;\
background:#2f5bea;color:#fff;font-size:15px;font-weight:600;cursor:pointer}\
.hint{color:#5b6576;font-size:13px;margin-top:6px}\
.error{background:#fde8e8;color:#9b1c1c;border-radius:8px;padding:10px;margin-bottom:12px}\
details{margin-top:20px;font-size:13px;color:#5b6576}\
code{background:#f1f3f7;border-radius:4px;padding:1px 4px;word-break:break-all}";

/// Wraps page content in the common layout and marks it uncacheable.
fn page(status: StatusCode, title: &str, content: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\
         <span class=\"badge\">oidc-dev-provider &middot; development only</span>{content}\
         </main></body></html>",
        escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The login page must not be framed (OIDC Core 16.13 / clickjacking).
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// The login form for a pending authorization request.
pub(crate) fn login_page(
    status: StatusCode,
    request_id: &str,
    pending: &PendingAuthorization,
    users: &[DemoUser],
    error: Option<&str>,
    username: &str,
) -> Response {
    let mut c = String::new();
    let _ = write!(
        c,
        "<h1>Sign in</h1><p class=\"sub\">to continue to <strong>{}</strong></p>",
        escape(&pending.client_id)
    );
    if let Some(error) = error {
        let _ = write!(
            c,
            "<div class=\"error\" role=\"alert\">{}</div>",
            escape(error)
        );
    }
    c.push_str("<table><tr><th>Name</th><th>Username</th><th>E-mail</th></tr>");
    for user in users {
        let _ = write!(
            c,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&user.name),
            escape(&user.username),
            escape(&user.email)
        );
    }
    let _ = write!(
        c,
        "</table><form method=\"post\" action=\"login\">\
         <input type=\"hidden\" name=\"request_id\" value=\"{}\">\
         <label for=\"username\">Username</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" autofocus required>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <p class=\"hint\">Demo accounts: password = username</p>\
         <button type=\"submit\">Sign in</button></form>",
        escape(request_id),
        escape(username)
    );
    let _ = write!(
        c,
        "<details><summary>Request details</summary><p>Scope: <code>{}</code></p>\
         <p>Redirect URI: <code>{}</code></p>",
        escape(&pending.scope),
        escape(&pending.redirect_uri)
    );
    for (name, value) in &pending.extra {
        let _ = write!(c, "<p>{}: <code>{}</code></p>", escape(name), escape(value));
    }
    c.push_str("</details>");
    page(status, "Sign in", &c)
}

/// The page shown after a logout without `post_logout_redirect_uri`.
pub(crate) fn signed_out_page(name: Option<&str>) -> Response {
    let who = name.map(|n| format!(" {}", escape(n))).unwrap_or_default();
    let content = format!(
        "<h1>Signed out</h1><p class=\"sub\">Goodbye{who}. Your session at the provider has ended.</p>\
         <p>You can close this window.</p>"
    );
    page(StatusCode::OK, "Signed out", &content)
}

/// Whether the client prefers HTML (a browser) over JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// An error at a browser-facing endpoint that cannot be redirected back to
/// the client (OIDC Core 3.1.2.6; RP-Initiated Logout 1.0 section 3):
/// an HTML page for browsers, the OAuth JSON error for everyone else.
pub(crate) fn browser_error(headers: &HeaderMap, error: OAuthError) -> Response {
    if !wants_html(headers) {
        return error.into_response();
    }
    let content = format!(
        "<h1>Request rejected</h1><div class=\"error\" role=\"alert\"><strong>{}</strong>: {}</div>\
         <p class=\"sub\">The application sent a request this provider cannot accept. \
         It was not redirected back because the client or redirect URI could not be trusted.</p>",
        escape(error.error),
        escape(&error.description)
    );
    page(error.status, "Request rejected", &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn browsers_get_html_errors_and_others_json() {
        let mut headers = HeaderMap::new();
        let json = browser_error(&headers, OAuthError::invalid_request("x"));
        assert_eq!(json.headers()[header::CONTENT_TYPE], "application/json");
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html,*/*"));
        let html = browser_error(&headers, OAuthError::invalid_request("x"));
        assert_eq!(html.status(), StatusCode::BAD_REQUEST);
        assert!(
            html.headers()[header::CONTENT_TYPE]
                .to_str()
                .is_ok_and(|v| v.contains("html"))
        );
    }
}
