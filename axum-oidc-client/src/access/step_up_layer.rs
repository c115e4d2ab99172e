//! [`StepUpLayer`]: a route layer that sends a signed-in user whose authentication is
//! too old or too weak through login again (RFC 9470 for API callers).

use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use super::StepUp;
use super::layer::{ResponseFuture, guard_then_call, take_ready};
use crate::UnauthenticatedBehavior;
use crate::pages;

/// A [`StepUpLayer`] for `rule`, to put on a route with `route_layer` inside an
/// [`AuthenticationLayer`](crate::AuthenticationLayer).
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use axum_oidc_client::access::{max_age, step_up};
///
/// let app: Router = Router::new().route(
///     "/sensitive",
///     get(|| async { "fresh" }).route_layer(step_up(max_age(Duration::from_secs(300)))),
/// );
/// // ... then `.layer(AuthenticationLayer::new(config))` around it all.
/// # let _ = app;
/// ```
pub fn step_up(rule: StepUp) -> StepUpLayer {
    StepUpLayer::new(rule)
}

/// Lets a request through only when it has a session whose authentication meets a
/// [`StepUp`] (checked on the session's ID token `auth_time` and `acr`, with the
/// provider's leeway); for `route_layer`, inside an
/// [`AuthenticationLayer`](crate::AuthenticationLayer).
///
/// | request | answer |
/// |---|---|
/// | session, rule met | the route |
/// | session, rule not met, browser | 303 to `{base}/login?next=<this URL>&max_age=…&acr_values=…`: the login sends them to the provider (OIDC Core 3.1.2.1), verifies `auth_time` / `acr` on return and replaces the session of the same user (a different user is refused) |
/// | session, rule not met, API call | 401, `WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="…", acr_values="…", max_age="…"` (RFC 9470 section 3), body `{"error":"insufficient_user_authentication"}` |
/// | no session | as the [`AuthSession`](crate::AuthSession) extractor: a redirect to login, or 401 |
///
/// Browser or API is decided as for a missing session
/// ([`UnauthenticatedBehavior`]).
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::access::{StepUpLayer, acr_values};
///
/// let layer = StepUpLayer::new(acr_values(["urn:example:mfa"]));
/// let route: axum::routing::MethodRouter = axum::routing::get(|| async { "ok" }).route_layer(layer);
/// # let _ = route;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct StepUpLayer {
    rule: StepUp,
}

impl StepUpLayer {
    /// A layer that requires `rule`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::access::{StepUpLayer, max_age};
    ///
    /// let layer = StepUpLayer::new(max_age(Duration::from_secs(60)));
    /// assert_eq!(layer.rule().max_age(), Some(Duration::from_secs(60)));
    /// ```
    pub fn new(rule: StepUp) -> Self {
        Self { rule }
    }

    /// The rule.
    ///
    /// ```
    /// use axum_oidc_client::access::{acr_values, step_up};
    ///
    /// assert_eq!(step_up(acr_values(["urn:x"])).rule().acr_values(), ["urn:x"]);
    /// ```
    pub fn rule(&self) -> &StepUp {
        &self.rule
    }
}

impl<S> Layer<S> for StepUpLayer {
    type Service = StepUpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StepUpService {
            inner,
            rule: self.rule.clone(),
        }
    }
}

/// The service made by [`StepUpLayer`].
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::access::{StepUpService, max_age, step_up};
/// use tower_layer::Layer as _;
///
/// let svc: StepUpService<axum::Router> = step_up(max_age(Duration::from_secs(60))).layer(axum::Router::new());
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct StepUpService<S> {
    inner: S,
    rule: StepUp,
}

impl<S> Service<Request<Body>> for StepUpService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let rule = self.rule.clone();
        guard_then_call(take_ready(&mut self.inner), req, move |parts, claims| {
            // The extractor succeeded, so the layer's slot is there.
            let Ok(slot) = crate::extract::slot(parts) else {
                return Some(crate::AuthRejection::LayerMissing.into_response());
            };
            let config = &slot.0.state.config;
            let leeway = config
                .inner
                .providers
                .first()
                .cell
                .get()
                .map_or(Duration::ZERO, |p| p.leeway);
            let e = rule.check(claims, config.inner.clock.now(), leeway).err()?;
            tracing::debug!(rule = %e, "the session's authentication does not meet the route's step-up rule");
            // With named providers, the login goes back to the session's provider (the
            // one of its issuer): the returning user must be the same `(iss, sub)`.
            let providers = &config.inner.providers;
            let provider = providers
                .are_named()
                .then(|| {
                    providers
                        .by_issuer(&claims.iss)
                        .first()
                        .and_then(|e| e.name())
                })
                .flatten();
            Some(step_up_response_at(
                parts,
                config.base_path(),
                &rule,
                provider,
            ))
        })
    }
}

#[cfg(test)]
fn step_up_response(parts: &Parts, base: &str, rule: &StepUp) -> Response {
    step_up_response_at(parts, base, rule, None)
}

/// The answer to a session that does not meet `rule`: a new login at `provider` (a
/// named provider's, else the single one) for a browser, the RFC 9470 challenge for
/// an API caller.
fn step_up_response_at(
    parts: &Parts,
    base: &str,
    rule: &StepUp,
    provider: Option<&str>,
) -> Response {
    let behavior = parts
        .extensions
        .get::<UnauthenticatedBehavior>()
        .copied()
        .unwrap_or_default();
    let api = match behavior {
        UnauthenticatedBehavior::Redirect => false,
        UnauthenticatedBehavior::Unauthorized => true,
        _ => pages::is_api_request(&parts.headers) || parts.method != http::Method::GET,
    };
    if api {
        insufficient_user_authentication(rule)
    } else {
        let mut link = step_up_login_link(parts, base, rule);
        if let Some(name) = provider {
            // Provider names are `[a-z0-9_-]`: nothing to escape.
            link.push_str("&provider=");
            link.push_str(name);
        }
        pages::see_other(&link)
    }
}

/// `{base}/login?next=<the requested path and query>&max_age=…&acr_values=…`.
fn step_up_login_link(parts: &Parts, base: &str, rule: &StepUp) -> String {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|t| t.len() <= crate::redirect::MAX_NEXT_LEN)
        .unwrap_or("/");
    let mut url = pages::login_link(base, target);
    for (k, v) in rule.request_params() {
        url.push('&');
        url.push_str(k);
        url.push('=');
        url.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
    }
    url
}

/// 401 with the RFC 9470 section 3 challenge.
fn insufficient_user_authentication(rule: &StepUp) -> Response {
    let mut r = pages::json(StatusCode::UNAUTHORIZED, "insufficient_user_authentication");
    let mut c = String::from("Bearer ");
    c.push_str(
        "error=\"insufficient_user_authentication\", \
         error_description=\"a more recent or stronger authentication is required\"",
    );
    c.push_str(&rule.challenge_params());
    if let Ok(v) = HeaderValue::try_from(c) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    pages::no_store(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::max_age;

    #[test]
    fn a_browser_is_sent_to_login_with_max_age_and_the_current_path() {
        let (parts, ()) = Request::get("/sensitive?x=1")
            .body(())
            .unwrap()
            .into_parts();
        let rule = max_age(Duration::from_secs(300)).and_acr_values(["urn:a", "urn:b"]);
        let r = step_up_response(&parts, "/auth", &rule);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "/auth/login?next=%2Fsensitive%3Fx%3D1&max_age=300&acr_values=urn%3Aa+urn%3Ab"
        );
    }

    #[test]
    fn with_named_providers_the_step_up_login_goes_to_the_sessions_provider() {
        let (parts, ()) = Request::get("/sensitive").body(()).unwrap().into_parts();
        let rule = max_age(Duration::from_secs(300));
        let r = step_up_response_at(&parts, "/auth", &rule, Some("corp"));
        assert_eq!(
            r.headers()[header::LOCATION],
            "/auth/login?next=%2Fsensitive&max_age=300&provider=corp"
        );
    }

    #[test]
    fn an_api_caller_gets_the_rfc_9470_challenge() {
        let (parts, ()) = Request::get("/sensitive")
            .header(header::ACCEPT, "application/json")
            .body(())
            .unwrap()
            .into_parts();
        let r = step_up_response(&parts, "/auth", &max_age(Duration::from_secs(300)));
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_user_authentication\", error_description=\"a more \
             recent or stronger authentication is required\", max_age=\"300\""
        );
    }
}
