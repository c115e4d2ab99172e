//! `GET {base}/session`, the single-page app's view of its session, and the JSON
//! answer of a script's `POST {base}/logout` (RFC 10017 section 6.1.3: the app learns
//! who is signed in from the backend, never from a token).

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderName, StatusCode, header};
use serde_json::{Map, Value, json};

use super::csrf::{CSRF_HEADER_VALUE, DEFAULT_CSRF_HEADER};
use crate::resolve::{Resolution, SessionSlot};
use crate::state::AuthState;

/// The claims `{base}/session` shows by default.
pub const DEFAULT_SESSION_CLAIMS: [&str; 5] =
    ["sub", "name", "email", "preferred_username", "picture"];

/// What `GET {base}/session` shows, and the header that makes a `POST {base}/logout`
/// answer JSON. Put it in the request extensions around the
/// [`AuthenticationLayer`](crate::AuthenticationLayer) (an `Extension` layer applied
/// after it); without one, [`DEFAULT_SESSION_CLAIMS`] and `X-CSRF`.
///
/// ```
/// use axum::{Extension, Router};
/// use axum_oidc_client::bff::SessionEndpoint;
///
/// let endpoint = SessionEndpoint::default().with_claims(["sub", "name", "groups"]);
/// let app: Router = Router::new()
///     // .layer(AuthenticationLayer::new(config))
///     .layer(Extension(endpoint));
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct SessionEndpoint {
    claims: Arc<[String]>,
    csrf_header: HeaderName,
}

impl Default for SessionEndpoint {
    fn default() -> Self {
        Self {
            claims: DEFAULT_SESSION_CLAIMS
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
            csrf_header: DEFAULT_CSRF_HEADER,
        }
    }
}

impl SessionEndpoint {
    /// Shows these claims (top-level names of the session's claims), when present.
    ///
    /// ```
    /// let e = axum_oidc_client::bff::SessionEndpoint::default().with_claims(["sub"]);
    /// assert_eq!(e.claims(), ["sub"]);
    /// ```
    #[must_use]
    pub fn with_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// The CSRF header of the application's [`CsrfLayer`](super::CsrfLayer), when it is
    /// not `X-CSRF`: a logout carrying it answers JSON.
    ///
    /// ```
    /// use http::HeaderName;
    ///
    /// let e = axum_oidc_client::bff::SessionEndpoint::default()
    ///     .with_csrf_header(HeaderName::from_static("x-app"));
    /// # let _ = e;
    /// ```
    #[must_use]
    pub fn with_csrf_header(mut self, name: HeaderName) -> Self {
        self.csrf_header = name;
        self
    }

    /// The claims shown.
    ///
    /// ```
    /// let e = axum_oidc_client::bff::SessionEndpoint::default();
    /// assert!(e.claims().iter().any(|c| c == "email"));
    /// ```
    pub fn claims(&self) -> &[String] {
        &self.claims
    }
}

fn endpoint_of(parts: &Parts) -> SessionEndpoint {
    parts
        .extensions
        .get::<SessionEndpoint>()
        .cloned()
        .unwrap_or_default()
}

/// `GET {base}/session`: 200 with the signed-in session, 401 JSON without one (never
/// a redirect), 503 while the store is down. Reads the session as any protected
/// route does (so it refreshes an access token near expiry, and counts as activity).
pub(crate) async fn session(state: &Arc<AuthState>, parts: &Parts) -> Response {
    let slot = SessionSlot::new(state.clone());
    let c = &state.config.inner;
    let base = state.config.base_path();
    let mut r = match slot.resolve(&parts.headers).await {
        Resolution::Session(record) => {
            let now = c.clock.now();
            let expires_at = now + c.policy.remaining(&record, now).max(0);
            let claims = serde_json::to_value(&*record.claims).unwrap_or_default();
            let shown = subset(&claims, endpoint_of(parts).claims());
            axum::Json(json!({
                "authenticated": true,
                "claims": shown,
                "expires_at": expires_at,
                "logout": { "url": format!("{base}/logout"), "method": "POST" },
            }))
            .into_response()
        }
        Resolution::Anonymous => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "authenticated": false,
                "error": "unauthenticated",
                "login_url": format!("{base}/login"),
            })),
        )
            .into_response(),
        Resolution::Unavailable => crate::extract::AuthRejection::Unavailable.into_response(),
    };
    crate::pages::no_store(&mut r);
    if let Some(cookie) = slot.take_set_cookie() {
        r.headers_mut().append(header::SET_COOKIE, cookie);
    }
    r
}

/// The named top-level claims of `claims` that are present.
fn subset(claims: &Value, names: &[String]) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|n| Some((n.clone(), claims.get(n)?.clone())))
        .collect()
}

/// The answer to a same-origin `POST {base}/logout`: JSON ([`logout_as_json`]) for
/// a script that sends the CSRF header, the logout's own answer otherwise.
pub(crate) fn logout_answer(parts: &Parts, resp: Response) -> Response {
    if wants_json_logout(parts) {
        logout_as_json(resp)
    } else {
        resp
    }
}

/// Whether a logout comes from script with the CSRF header, and so wants JSON.
fn wants_json_logout(parts: &Parts) -> bool {
    let name = endpoint_of(parts).csrf_header;
    has_csrf_header(&parts.headers, &name)
}

fn has_csrf_header(headers: &HeaderMap, name: &HeaderName) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes() == CSRF_HEADER_VALUE.as_bytes())
}

/// The logout's answer for script: a redirect becomes 200
/// `{"signed_out":true,"redirect_to":<where the browser goes next>}` (the provider's
/// end-session endpoint when RP-initiated logout is on), anything else
/// `"redirect_to":null`. Cookies set by the logout are kept.
fn logout_as_json(resp: Response) -> Response {
    let redirect_to = resp
        .status()
        .is_redirection()
        .then(|| resp.headers().get(header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookies: Vec<_> = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    let mut r =
        axum::Json(json!({ "signed_out": true, "redirect_to": redirect_to })).into_response();
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    crate::pages::no_store(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_keeps_only_named_claims_present() {
        let claims = json!({"sub": "alice", "email": "a@x", "groups": ["g"], "nonce": "n"});
        let names = ["sub".to_owned(), "groups".to_owned(), "name".to_owned()];
        assert_eq!(
            Value::Object(subset(&claims, &names)),
            json!({"sub": "alice", "groups": ["g"]})
        );
    }

    #[tokio::test]
    async fn a_logout_redirect_becomes_json_with_its_cookies() {
        let resp = Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, "https://op.example/end?state=s")
            .header(header::SET_COOKIE, "session=; Max-Age=0")
            .body(axum::body::Body::empty())
            .unwrap();
        let r = logout_as_json(resp);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::SET_COOKIE], "session=; Max-Age=0");
        let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["redirect_to"], "https://op.example/end?state=s");
    }

    #[test]
    fn only_the_header_with_value_1_asks_for_json() {
        let mut h = HeaderMap::new();
        assert!(!has_csrf_header(&h, &DEFAULT_CSRF_HEADER));
        h.insert("x-csrf", "yes".parse().unwrap());
        assert!(!has_csrf_header(&h, &DEFAULT_CSRF_HEADER));
        h.insert("x-csrf", "1".parse().unwrap());
        assert!(has_csrf_header(&h, &DEFAULT_CSRF_HEADER));
    }
}
