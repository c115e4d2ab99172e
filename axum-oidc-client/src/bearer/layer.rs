//! [`JwtLayer`], the tower middleware: reads the bearer token, verifies it once, and
//! stores the verified claims for the extractors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::error::BearerError;
use super::header::{Credentials, credentials};
use super::{JwtConfiguration, VerifiedJwt};
use crate::access::{Requirement, StepUp};

/// What the layer leaves in the request extensions for the extractors.
#[derive(Clone, Debug)]
pub(crate) struct BearerSlot {
    pub(crate) config: JwtConfiguration,
    /// `None` when an optional layer let a request without a token through.
    pub(crate) jwt: Option<VerifiedJwt>,
}

/// Protects routes with bearer JWT access tokens (RFC 6750, RFC 9068).
///
/// - **Required** (default, [`JwtLayer::new`]): a request without a token gets 401
///   with `WWW-Authenticate: Bearer realm="…"`.
/// - **Optional** ([`JwtLayer::optional`]): a request without a token (or with
///   another `Authorization` scheme) reaches the handler anonymously, so
///   [`OptionalJwtClaims`](super::OptionalJwtClaims) and
///   `Option<JwtClaims<_>>` see `None`.
/// - In both modes a token that is *present* but invalid is refused (401, or 400 for
///   a malformed header): a bad token never degrades to anonymous.
///
/// Scopes and claims per route: [`require_scopes`](Self::require_scopes) and
/// [`require`](Self::require) give a layer for `route_layer` that answers 403
/// `insufficient_scope`. When it sits inside a layer with the same configuration the
/// token is not verified twice.
///
/// ```no_run
/// use axum::{Router, routing::{get, post}};
/// use axum_oidc_client::bearer::{JwtClaims, JwtConfiguration, JwtLayer, OidcClaims};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = JwtConfiguration::builder()
///     .with_discovered_issuer("https://login.example").await
///     .with_audience("https://api.example")
///     .build()?;
/// let jwt = JwtLayer::new(config);
/// let app: Router = Router::new()
///     .route("/orders", get(|c: JwtClaims<OidcClaims>| async move { c.0.sub }))
///     .route(
///         "/orders/purge",
///         post(|| async { "purged" }).route_layer(jwt.require_scopes(["orders:admin"])),
///     )
///     .layer(jwt);
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct JwtLayer {
    config: JwtConfiguration,
    optional: bool,
    scopes: Option<Arc<[Box<str>]>>,
    requirement: Option<Requirement>,
    step_up: Option<StepUp>,
}

impl JwtLayer {
    /// A layer that requires a valid bearer token on every request.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// let app: axum::Router = axum::Router::new().layer(JwtLayer::new(config));
    /// # let _ = app;
    /// ```
    pub fn new(config: JwtConfiguration) -> Self {
        Self {
            config,
            optional: false,
            scopes: None,
            requirement: None,
            step_up: None,
        }
    }

    /// Lets requests without a bearer token through anonymously. Present tokens are
    /// still verified, and refused when invalid.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// let layer = JwtLayer::new(config).optional();
    /// # let _ = layer;
    /// ```
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// A layer, for `route_layer`, that requires a valid token granting every scope in
    /// `scopes` (from the `scope` string or a `scp` claim). A token without them gets
    /// 403 with `error="insufficient_scope", scope="…"` (RFC 6750 section 3.1). The
    /// returned layer always requires a token, even when `self` is optional.
    ///
    /// A claims rule set with [`require`](Self::require) on `self` is kept.
    ///
    /// # Panics
    ///
    /// When a scope is empty or has a character outside RFC 6749 section 3.3
    /// `scope-token` (a space, `"` or `\`): such a scope could never be granted.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// let jwt = JwtLayer::new(config);
    /// let admin: axum::routing::MethodRouter =
    ///     axum::routing::delete(|| async { "" }).route_layer(jwt.require_scopes(["admin"]));
    /// # let _ = admin;
    /// ```
    pub fn require_scopes<I, S>(&self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes: Arc<[Box<str>]> = scopes.into_iter().map(|s| Box::from(s.as_ref())).collect();
        for s in scopes.iter() {
            assert!(
                !s.is_empty()
                    && s.bytes()
                        .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
                "invalid scope {s:?}: scopes are non-empty and contain no space, '\"' or '\\'"
            );
        }
        Self {
            config: self.config.clone(),
            optional: false,
            scopes: Some(scopes),
            requirement: self.requirement.clone(),
            step_up: self.step_up.clone(),
        }
    }

    /// A layer, for `route_layer`, that requires a valid token whose claims meet
    /// `requirement` (the same [`Requirement`] as a session route's
    /// [`require`](crate::access::require)). A token that fails it gets 403 with
    /// `error="insufficient_scope"` (RFC 6750 section 3.1: the request "requires higher
    /// privileges than provided by the access token"); the rule that failed is logged
    /// at `debug` level. Scopes set with [`require_scopes`](Self::require_scopes) on
    /// `self` are kept, so both apply. The returned layer always requires a token.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// use axum_oidc_client::access::claim;
    ///
    /// let jwt = JwtLayer::new(config);
    /// let purge: axum::routing::MethodRouter = axum::routing::post(|| async { "" })
    ///     .route_layer(jwt.require_scopes(["orders"]).require(claim("realm_access.roles").contains("admin")));
    /// # let _ = purge;
    /// ```
    pub fn require(&self, requirement: Requirement) -> Self {
        Self {
            config: self.config.clone(),
            optional: false,
            scopes: self.scopes.clone(),
            requirement: Some(requirement),
            step_up: self.step_up.clone(),
        }
    }

    /// A layer, for `route_layer`, that requires a valid token whose `auth_time` and
    /// `acr` claims meet `rule` (RFC 9470 section 4: an access token may carry them).
    /// A token that fails it gets 401 with
    /// `error="insufficient_user_authentication"` and the rule's `acr_values` /
    /// `max_age` (RFC 9470 section 3), so the client can obtain a token from a
    /// fresher or stronger login. Scopes and a claims rule set on `self` are kept.
    /// The returned layer always requires a token.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// use std::time::Duration;
    /// use axum_oidc_client::access::max_age;
    ///
    /// let jwt = JwtLayer::new(config);
    /// let transfer: axum::routing::MethodRouter = axum::routing::post(|| async { "" })
    ///     .route_layer(jwt.require_step_up(max_age(Duration::from_secs(300))));
    /// # let _ = transfer;
    /// ```
    pub fn require_step_up(&self, rule: StepUp) -> Self {
        Self {
            config: self.config.clone(),
            optional: false,
            scopes: self.scopes.clone(),
            requirement: self.requirement.clone(),
            step_up: Some(rule),
        }
    }

    /// The configuration.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer};
    /// # let config = JwtConfiguration::builder()
    /// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
    /// #     .with_audience("api").build().unwrap();
    /// let layer = JwtLayer::new(config);
    /// assert_eq!(layer.config().realm(), "api");
    /// ```
    pub fn config(&self) -> &JwtConfiguration {
        &self.config
    }
}

impl<S> Layer<S> for JwtLayer {
    type Service = JwtService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`JwtLayer`].
///
/// ```
/// # use axum_oidc_client::bearer::{HmacAlgorithm, JwtConfiguration, JwtLayer, JwtService};
/// # let config = JwtConfiguration::builder()
/// #     .with_hmac_secret("svc", HmacAlgorithm::HS256, [7u8; 32])
/// #     .with_audience("api").build().unwrap();
/// use tower_layer::Layer;
/// let svc: JwtService<_> = JwtLayer::new(config).layer(tower::service_fn(
///     |_req: http::Request<axum::body::Body>| async {
///         Ok::<_, std::convert::Infallible>(axum::response::Response::new(axum::body::Body::empty()))
///     },
/// ));
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct JwtService<S> {
    inner: S,
    layer: JwtLayer,
}

impl<S> JwtService<S> {
    fn reject(&self, error: BearerError) -> Response {
        self.layer
            .config
            .reject(error)
            .with_scope(self.layer.scopes.clone())
            .into_response()
    }
}

/// Checks the route's scopes, then its claims rule; `Some(response)` refuses the
/// request.
fn route_refusal(layer: &JwtLayer, jwt: &VerifiedJwt) -> Option<Response> {
    let error = route_error(layer, jwt)?;
    Some(
        layer
            .config
            .reject(error)
            .with_scope(layer.scopes.clone())
            .with_step_up(layer.step_up.clone())
            .into_response(),
    )
}

fn route_error(layer: &JwtLayer, jwt: &VerifiedJwt) -> Option<BearerError> {
    if let Some(required) = &layer.scopes {
        match jwt.check_scopes(required) {
            Ok(true) => {}
            Ok(false) => return Some(BearerError::InsufficientScope),
            Err(e) => return Some(e),
        }
    }
    if layer.requirement.is_none() && layer.step_up.is_none() {
        return None;
    }
    let claims: serde_json::Value = match jwt.claims() {
        Ok(c) => c,
        Err(_) => return Some(BearerError::ClaimsMismatch),
    };
    if let Some(requirement) = &layer.requirement
        && let Err(e) = requirement.check(&claims)
    {
        return Some(BearerError::InsufficientClaims(e));
    }
    let rule = layer.step_up.as_ref()?;
    let config = &layer.config;
    rule.check_json(&claims, config.inner.clock.now(), config.leeway())
        .err()
        .map(BearerError::InsufficientUserAuthentication)
}

impl<S> Service<Request<Body>> for JwtService<S>
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

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // An outer layer with the same configuration has already decided.
        if let Some(slot) = req
            .extensions()
            .get::<BearerSlot>()
            .filter(|s| s.config.ptr_eq(&self.layer.config))
        {
            let refusal = match &slot.jwt {
                Some(jwt) => route_refusal(&self.layer, jwt),
                None if self.layer.optional => None,
                None => Some(self.reject(BearerError::MissingToken)),
            };
            return match refusal {
                Some(r) => ResponseFuture::rejected(r),
                None => ResponseFuture::inner(self.inner.call(req)),
            };
        }
        let dpop = self.layer.config.dpop_enabled();
        match credentials(req.headers()).map(|c| c.unless_dpop_enabled(dpop)) {
            Err(e) => ResponseFuture::rejected(self.reject(e)),
            Ok(Credentials::None | Credentials::OtherScheme) if self.layer.optional => {
                req.extensions_mut().insert(BearerSlot {
                    config: self.layer.config.clone(),
                    jwt: None,
                });
                ResponseFuture::inner(self.inner.call(req))
            }
            Ok(Credentials::None) => {
                ResponseFuture::rejected(self.reject(BearerError::MissingToken))
            }
            Ok(Credentials::OtherScheme) => {
                ResponseFuture::rejected(self.reject(BearerError::UnsupportedScheme))
            }
            Ok(Credentials::Bearer(_) | Credentials::Dpop(_)) => {
                // The ready service goes into the future; this one keeps a clone.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::verify(Box::pin(verify_then_call(self.layer.clone(), inner, req)))
            }
        }
    }
}

async fn verify_then_call<S>(
    layer: JwtLayer,
    mut inner: S,
    mut req: Request<Body>,
) -> Result<Response, S::Error>
where
    S: Service<Request<Body>, Response = Response>,
{
    let verified =
        super::dpop::verify_request(&layer.config, super::dpop::RequestView::of(&req)).await;
    let jwt = match verified {
        Ok(jwt) => jwt,
        Err(e) => {
            return Ok(layer
                .config
                .reject(e)
                .with_scope(layer.scopes.clone())
                .into_response());
        }
    };
    if let Some(refusal) = route_refusal(&layer, &jwt) {
        return Ok(refusal);
    }
    req.extensions_mut().insert(BearerSlot {
        config: layer.config,
        jwt: Some(jwt),
    });
    inner.call(req).await
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project_lite::pin_project! {
    /// Response future of [`JwtService`].
    ///
    /// Needed only to name the service's types, e.g. in a struct field:
    ///
    /// ```
    /// use axum::{Router, body::Body};
    /// use axum_oidc_client::bearer::{JwtService, ResponseFuture};
    /// use http::Request;
    /// use tower_service::Service;
    ///
    /// type Protected = JwtService<Router>;
    /// type ProtectedFuture = ResponseFuture<<Router as Service<Request<Body>>>::Future>;
    ///
    /// fn call(service: &mut Protected, req: Request<Body>) -> ProtectedFuture {
    ///     service.call(req)
    /// }
    /// # let _ = call;
    /// ```
    pub struct ResponseFuture<F>
    where
        F: Future,
    {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F>
    where
        F: Future,
    {
        Inner { #[pin] future: F },
        Verify { future: BoxFuture<F::Output> },
        Rejected { response: Option<Response> },
    }
}

impl<F: Future> ResponseFuture<F> {
    fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    fn verify(future: BoxFuture<F::Output>) -> Self {
        Self {
            kind: Kind::Verify { future },
        }
    }

    fn rejected(response: Response) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Verify { future } => future.as_mut().poll(cx),
            KindProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}

impl<F: Future> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{AccessError, ClaimPath, claim};
    use crate::bearer::HmacAlgorithm;

    const SECRET: [u8; 32] = [9u8; 32];

    async fn verified(extra: serde_json::Value) -> (JwtLayer, VerifiedJwt) {
        let config = JwtConfiguration::builder()
            .with_hmac_secret("svc", HmacAlgorithm::HS256, SECRET)
            .with_audience("api")
            .build()
            .unwrap();
        let mut claims = serde_json::json!({
            "iss": "svc", "sub": "u", "aud": "api", "scope": "orders",
            "exp": chrono::Utc::now().timestamp() + 600,
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&SECRET),
        )
        .unwrap();
        let jwt = config.verify(&token).await.unwrap();
        (JwtLayer::new(config), jwt)
    }

    #[tokio::test]
    async fn a_token_failing_the_claims_rule_is_refused_naming_the_rule() {
        let (layer, jwt) = verified(serde_json::json!({"groups": ["staff"]})).await;
        let route = layer.require(claim("groups").contains("admin"));
        match route_error(&route, &jwt) {
            Some(BearerError::InsufficientClaims(AccessError::NotContained { path })) => {
                assert_eq!(path, ClaimPath::name("groups"))
            }
            other => panic!("{other:?}"),
        }
        let e = BearerError::InsufficientClaims(AccessError::EmailNotVerified);
        assert_eq!(e.status(), http::StatusCode::FORBIDDEN);
        assert_eq!(e.error_code(), Some("insufficient_scope"));
    }

    #[tokio::test]
    async fn a_token_meeting_the_claims_rule_and_the_scopes_passes() {
        let (layer, jwt) = verified(serde_json::json!({"groups": ["admin"]})).await;
        let route = layer
            .require_scopes(["orders"])
            .require(claim("groups").contains("admin"));
        assert!(route_error(&route, &jwt).is_none());
        // Without a rule or scopes nothing is refused.
        assert!(route_error(&layer, &jwt).is_none());
    }

    #[tokio::test]
    async fn the_scopes_are_checked_before_the_claims_rule() {
        let (layer, jwt) = verified(serde_json::json!({"groups": ["staff"]})).await;
        let route = layer
            .require(claim("groups").contains("admin"))
            .require_scopes(["billing"]);
        assert!(matches!(
            route_error(&route, &jwt),
            Some(BearerError::InsufficientScope)
        ));
    }

    #[tokio::test]
    async fn a_token_from_a_stale_login_gets_the_rfc_9470_challenge() {
        use crate::access::{StepUpError, max_age};
        let now = chrono::Utc::now().timestamp();
        let (layer, jwt) = verified(serde_json::json!({"auth_time": now - 3600})).await;
        let route = layer.require_step_up(max_age(std::time::Duration::from_secs(300)));
        let Some(response) = route_refusal(&route, &jwt) else {
            panic!("a stale login must be refused")
        };
        assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[http::header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", \
             error_description=\"a more recent or stronger authentication is required\", \
             max_age=\"300\""
        );
        let (layer, jwt) = verified(serde_json::json!({})).await;
        let route = layer.require_step_up(max_age(std::time::Duration::from_secs(300)));
        assert!(matches!(
            route_error(&route, &jwt),
            Some(BearerError::InsufficientUserAuthentication(
                StepUpError::MissingAuthTime
            ))
        ));
    }

    #[tokio::test]
    async fn a_token_with_a_fresh_and_strong_enough_login_passes_the_step_up() {
        use crate::access::{StepUpError, acr_values};
        let now = chrono::Utc::now().timestamp();
        let rule = acr_values(["urn:mfa"]).and_max_age(std::time::Duration::from_secs(300));
        let (layer, jwt) =
            verified(serde_json::json!({"auth_time": now - 10, "acr": "urn:mfa"})).await;
        assert!(route_error(&layer.require_step_up(rule.clone()), &jwt).is_none());
        let (layer, jwt) =
            verified(serde_json::json!({"auth_time": now - 10, "acr": "urn:pwd"})).await;
        assert!(matches!(
            route_error(&layer.require_step_up(rule), &jwt),
            Some(BearerError::InsufficientUserAuthentication(
                StepUpError::AcrNotAccepted
            ))
        ));
    }
}
