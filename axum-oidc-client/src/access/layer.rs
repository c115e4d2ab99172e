//! [`RequireLayer`]: a route layer that lets through only signed-in users whose
//! claims meet a [`Requirement`].

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::{AccessError, Requirement};
use crate::failure::{Failure, failure};
use crate::id_token::IdTokenClaims;

/// A [`RequireLayer`] for `requirement`, to put on a route with `route_layer`
/// inside an [`AuthenticationLayer`](crate::AuthenticationLayer).
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_oidc_client::access::{claim, require};
/// use axum_oidc_client::AuthenticationLayer;
/// # fn config() -> axum_oidc_client::OAuthConfiguration {
/// #     axum_oidc_client::OAuthConfigurationBuilder::default()
/// #         .with_client_id("my-app")
/// #         .with_client_secret("s3cret")
/// #         .with_app_url("https://app.example")
/// #         .with_authorization_endpoint("https://op.example/authorize")
/// #         .with_token_endpoint("https://op.example/token")
/// #         .with_end_session_endpoint("https://op.example/logout")
/// #         .with_oauth2_only("https://op.example/user", "id")
/// #         .build()
/// #         .unwrap()
/// # }
///
/// let app: Router = Router::new()
///     .route(
///         "/admin",
///         get(|| async { "admins only" }).route_layer(require(claim("groups").contains("admin"))),
///     )
///     .layer(AuthenticationLayer::new(config()));
/// # let _ = app;
/// ```
pub fn require(requirement: Requirement) -> RequireLayer {
    RequireLayer::new(requirement)
}

/// Lets a request through only when it has a session whose claims meet a
/// [`Requirement`]; for `route_layer`, inside an
/// [`AuthenticationLayer`](crate::AuthenticationLayer).
///
/// The claims are the session's verified ID token claims, merged with UserInfo
/// claims when the layer fetches them (the claims of the user document in OAuth
/// 2.0-only mode).
///
/// | request | answer |
/// |---|---|
/// | session, rule met | the route |
/// | session, rule not met | 403: the page of [`FailureClass::Forbidden`](crate::FailureClass::Forbidden) (an [`ErrorPages`](crate::ErrorPages) hook may replace it) for a browser, `{"error":"forbidden"}` for an API caller |
/// | no session | as the [`AuthSession`](crate::AuthSession) extractor: a redirect to login, or 401 |
/// | store unavailable | 503 |
/// | no `AuthenticationLayer` around it | 500 |
///
/// Which rule failed is logged at `debug` level, never a claim value.
///
/// ```
/// use axum_oidc_client::access::{RequireLayer, claim};
///
/// let layer = RequireLayer::new(claim("groups").contains("admin"));
/// let admin: axum::routing::MethodRouter = axum::routing::get(|| async { "ok" }).route_layer(layer);
/// # let _ = admin;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireLayer {
    requirement: Requirement,
}

impl RequireLayer {
    /// A layer that requires `requirement`.
    ///
    /// ```
    /// use axum_oidc_client::access::{RequireLayer, email_domain};
    ///
    /// let staff = RequireLayer::new(email_domain(["example.com"]));
    /// # let _ = staff;
    /// ```
    pub fn new(requirement: Requirement) -> Self {
        Self { requirement }
    }

    /// The requirement.
    ///
    /// ```
    /// use axum_oidc_client::access::{claim, require};
    /// use serde_json::json;
    ///
    /// let layer = require(claim("groups").contains("admin"));
    /// assert!(layer.requirement().is_met(&json!({"groups": ["admin"]})));
    /// ```
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Require {
            inner,
            requirement: self.requirement.clone(),
        }
    }
}

/// The service made by [`RequireLayer`].
///
/// ```
/// use axum_oidc_client::access::{Require, claim, require};
/// use tower_layer::Layer as _;
///
/// let svc: Require<axum::Router> = require(claim("groups").contains("admin")).layer(axum::Router::new());
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct Require<S> {
    inner: S,
    requirement: Requirement,
}

impl<S> Service<Request<Body>> for Require<S>
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
        let requirement = self.requirement.clone();
        guard_then_call(take_ready(&mut self.inner), req, move |parts, claims| {
            let e = check(&requirement, claims).err()?;
            tracing::debug!(rule = %e, "a signed-in user does not meet the route's access rule");
            let api = crate::pages::is_api_request(&parts.headers);
            Some(failure(
                api,
                Failure::forbidden("insufficient_claims"),
                None,
            ))
        })
    }
}

/// The ready service, for the future; a clone stays in the layer's service.
pub(crate) fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

/// What every guard layer of this module does: reads the session's claims as the
/// extractor does (its answers for no session, an outage or a missing layer), asks
/// `judge`, and calls `inner` only when `judge` has no answer of its own.
pub(super) fn guard_then_call<S, J>(
    mut inner: S,
    req: Request<Body>,
    judge: J,
) -> ResponseFuture<S::Future>
where
    S: Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
    J: FnOnce(&http::request::Parts, &IdTokenClaims) -> Option<Response> + Send + 'static,
{
    let future = async move {
        let (mut parts, body) = req.into_parts();
        let claims = match IdTokenClaims::from_request_parts(&mut parts, &()).await {
            Ok(c) => c,
            Err(rejection) => return Ok(rejection.into_response()),
        };
        if let Some(answer) = judge(&parts, &claims) {
            return Ok(answer);
        }
        inner.call(Request::from_parts(parts, body)).await
    };
    ResponseFuture {
        future: Box::pin(future),
        _inner: PhantomData,
    }
}

/// `requirement` over the session's claims as one JSON claims set.
pub(crate) fn check(requirement: &Requirement, claims: &IdTokenClaims) -> Result<(), AccessError> {
    let value = serde_json::to_value(claims).unwrap_or_default();
    requirement.check(&value)
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Response future of [`Require`].
///
/// Needed only to name the service's types:
///
/// ```
/// use axum::{Router, body::Body};
/// use axum_oidc_client::access::{Require, ResponseFuture};
/// use http::Request;
/// use tower_service::Service;
///
/// type Admin = Require<Router>;
/// type AdminFuture = ResponseFuture<<Router as Service<Request<Body>>>::Future>;
///
/// fn call(service: &mut Admin, req: Request<Body>) -> AdminFuture {
///     service.call(req)
/// }
/// # let _ = call;
/// ```
pub struct ResponseFuture<F: Future> {
    pub(super) future: BoxFuture<F::Output>,
    pub(super) _inner: PhantomData<fn() -> F>,
}

impl<F: Future> Future for ResponseFuture<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl<F: Future> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
