//! [`CsrfLayer`]: the custom-header CSRF guard of a backend-for-frontend's API routes
//! (OAuth 2.0 for Browser-Based Applications, RFC 10017 section 6.1.3.2).
//!
//! A cross-site page can make a browser send a simple request with the user's cookies,
//! but it cannot add a custom header without a CORS preflight, which this application
//! never answers positively for another origin. So every guarded request must carry
//! the header (default `X-CSRF: 1`); on top of it, a browser's `Origin` must be the
//! application's own, and `Sec-Fetch-Site: cross-site` is refused: the checks the
//! layer already makes for `POST {base}/logout`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderName, Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::logout::{is_cross_site, is_same_origin};
use crate::resolve::SessionSlot;

/// The header a guarded request must carry by default: `X-CSRF`, with the value `1`.
pub const DEFAULT_CSRF_HEADER: HeaderName = HeaderName::from_static("x-csrf");

/// The value the CSRF header must have.
pub const CSRF_HEADER_VALUE: &str = "1";

/// Which CSRF rule a request broke. Each variant is one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// The custom header is absent (RFC 10017 section 6.1.3.2).
    #[error("the CSRF header is missing")]
    MissingHeader,
    /// The custom header is present but its value is not `1`.
    #[error("the CSRF header does not have the value 1")]
    WrongHeaderValue,
    /// The browser's `Origin` is not the application's.
    #[error("the request's Origin is not the application's")]
    CrossOrigin,
    /// The browser says another site started the request (`Sec-Fetch-Site: cross-site`).
    #[error("the request was started by another site")]
    CrossSite,
}

/// The CSRF rules over a request's headers; `app_origin` is the application's origin
/// as `scheme://host[:port]`.
///
/// ```
/// use axum_oidc_client::bff::{CsrfError, DEFAULT_CSRF_HEADER, check_csrf};
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(check_csrf(&headers, &DEFAULT_CSRF_HEADER, "https://app.example"), Err(CsrfError::MissingHeader));
/// headers.insert("x-csrf", "1".parse().unwrap());
/// assert_eq!(check_csrf(&headers, &DEFAULT_CSRF_HEADER, "https://app.example"), Ok(()));
/// headers.insert("origin", "https://evil.example".parse().unwrap());
/// assert_eq!(check_csrf(&headers, &DEFAULT_CSRF_HEADER, "https://app.example"), Err(CsrfError::CrossOrigin));
/// ```
pub fn check_csrf(
    headers: &HeaderMap,
    name: &HeaderName,
    app_origin: &str,
) -> Result<(), CsrfError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => return Err(CsrfError::MissingHeader),
        (Some(v), None) if v.as_bytes() == CSRF_HEADER_VALUE.as_bytes() => {}
        _ => return Err(CsrfError::WrongHeaderValue),
    }
    // A request without `Origin` (a same-origin GET, or no browser at all) is judged
    // by the header and Fetch Metadata alone.
    if headers.contains_key(http::header::ORIGIN) && !is_same_origin(app_origin, headers) {
        return Err(CsrfError::CrossOrigin);
    }
    if is_cross_site(headers) {
        return Err(CsrfError::CrossSite);
    }
    Ok(())
}

/// Requires the CSRF header (and a same-origin request) on every request to the
/// routes it guards; inside an [`AuthenticationLayer`](crate::AuthenticationLayer),
/// which gives it the application's origin.
///
/// | request | answer |
/// |---|---|
/// | header `X-CSRF: 1`, same origin or no `Origin` | the route |
/// | header missing or not `1` | 403 `{"error":"forbidden"}` |
/// | `Origin` of another origin, or `Sec-Fetch-Site: cross-site` | 403 `{"error":"forbidden"}` |
/// | no `AuthenticationLayer` around it | 500 |
///
/// The check needs no session: put it in front of routes that need one, and they
/// answer a missing session themselves.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_oidc_client::bff::CsrfLayer;
///
/// let api: Router = Router::new()
///     .route("/bff/api/hello", get(|| async { "hello" }))
///     .layer(CsrfLayer::new());
/// // ... then `.layer(AuthenticationLayer::new(config))` around it all.
/// # let _ = api;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct CsrfLayer {
    header: HeaderName,
}

impl Default for CsrfLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CsrfLayer {
    /// A layer requiring `X-CSRF: 1`.
    ///
    /// ```
    /// let layer = axum_oidc_client::bff::CsrfLayer::new();
    /// assert_eq!(layer.header(), "x-csrf");
    /// ```
    pub fn new() -> Self {
        Self {
            header: DEFAULT_CSRF_HEADER,
        }
    }

    /// Requires another header name (still with the value `1`).
    ///
    /// ```
    /// use http::HeaderName;
    ///
    /// let layer = axum_oidc_client::bff::CsrfLayer::new()
    ///     .with_header(HeaderName::from_static("x-requested-by-app"));
    /// assert_eq!(layer.header(), "x-requested-by-app");
    /// ```
    pub fn with_header(mut self, name: HeaderName) -> Self {
        self.header = name;
        self
    }

    /// The header name required.
    ///
    /// ```
    /// assert_eq!(axum_oidc_client::bff::CsrfLayer::default().header(), "x-csrf");
    /// ```
    pub fn header(&self) -> &HeaderName {
        &self.header
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = Csrf<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Csrf {
            inner,
            header: self.header.clone(),
        }
    }
}

/// The service made by [`CsrfLayer`].
///
/// ```
/// use axum_oidc_client::bff::{Csrf, CsrfLayer};
/// use tower_layer::Layer as _;
///
/// let svc: Csrf<axum::Router> = CsrfLayer::new().layer(axum::Router::new());
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct Csrf<S> {
    inner: S,
    header: HeaderName,
}

impl<S> Service<Request<Body>> for Csrf<S>
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
        let refusal = refusal(&self.header, &req);
        match refusal {
            Some(answer) => ResponseFuture {
                state: State::Refused {
                    answer: Some(answer),
                },
            },
            None => ResponseFuture {
                state: State::Inner {
                    future: crate::access::take_ready(&mut self.inner).call(req),
                },
            },
        }
    }
}

/// The answer to a request the guard refuses, if it does.
fn refusal(name: &HeaderName, req: &Request<Body>) -> Option<Response> {
    let Some(slot) = req.extensions().get::<SessionSlot>() else {
        return Some(crate::pages::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            "auth_layer_missing",
        ));
    };
    let origin = slot.0.state.config.inner.routes.redirect_uri.origin();
    let e = check_csrf(req.headers(), name, &origin.ascii_serialization()).err()?;
    tracing::debug!(rule = %e, "request refused by the CSRF guard");
    Some(crate::pages::json(StatusCode::FORBIDDEN, "forbidden"))
}

pin_project_lite::pin_project! {
    /// Response future of [`Csrf`]: the route's, or the guard's refusal.
    ///
    /// ```
    /// use axum::{Router, body::Body};
    /// use axum_oidc_client::bff::{Csrf, ResponseFuture};
    /// use http::Request;
    /// use tower_service::Service;
    ///
    /// fn call(service: &mut Csrf<Router>, req: Request<Body>) -> ResponseFuture<<Router as Service<Request<Body>>>::Future> {
    ///     service.call(req)
    /// }
    /// # let _ = call;
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Refused { answer: Option<Response> },
        Inner { #[pin] future: F },
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { answer } => Poll::Ready(Ok(answer
                .take()
                .expect("ResponseFuture polled after completion"))),
            StateProj::Inner { future } => future.poll(cx),
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "https://app.example";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn check(pairs: &[(&'static str, &'static str)]) -> Result<(), CsrfError> {
        check_csrf(&headers(pairs), &DEFAULT_CSRF_HEADER, APP)
    }

    #[test]
    fn accepts_the_header_without_origin() {
        assert_eq!(check(&[("x-csrf", "1")]), Ok(()));
    }

    #[test]
    fn accepts_the_header_from_the_applications_origin() {
        assert_eq!(
            check(&[
                ("x-csrf", "1"),
                ("origin", APP),
                ("sec-fetch-site", "same-origin")
            ]),
            Ok(())
        );
    }

    #[test]
    fn refuses_a_request_without_the_header() {
        assert_eq!(
            check(&[("origin", APP), ("sec-fetch-site", "same-origin")]),
            Err(CsrfError::MissingHeader)
        );
    }

    #[test]
    fn refuses_a_header_with_another_value() {
        assert_eq!(check(&[("x-csrf", "0")]), Err(CsrfError::WrongHeaderValue));
        assert_eq!(
            check(&[("x-csrf", "1"), ("x-csrf", "1")]),
            Err(CsrfError::WrongHeaderValue)
        );
    }

    #[test]
    fn refuses_another_origin() {
        assert_eq!(
            check(&[("x-csrf", "1"), ("origin", "https://evil.example")]),
            Err(CsrfError::CrossOrigin)
        );
        assert_eq!(
            check(&[("x-csrf", "1"), ("origin", "null")]),
            Err(CsrfError::CrossOrigin)
        );
    }

    #[test]
    fn refuses_a_cross_site_request_without_origin() {
        assert_eq!(
            check(&[("x-csrf", "1"), ("sec-fetch-site", "cross-site")]),
            Err(CsrfError::CrossSite)
        );
    }

    #[test]
    fn a_configured_header_name_replaces_the_default() {
        let name = HeaderName::from_static("x-app");
        assert_eq!(
            check_csrf(&headers(&[("x-csrf", "1")]), &name, APP),
            Err(CsrfError::MissingHeader)
        );
        assert_eq!(check_csrf(&headers(&[("x-app", "1")]), &name, APP), Ok(()));
    }
}
