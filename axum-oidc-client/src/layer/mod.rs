//! [`AuthenticationLayer`]: the tower middleware.
//!
//! It answers the library's own routes under the base path (`/auth` by default) and,
//! for every other request, puts a lazy session slot in the request extensions that
//! the extractors resolve. A request whose handler never asks for the session costs
//! one small allocation and no store access.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::config::OAuthConfiguration;
use crate::failure::ErrorPages;
use crate::logout::{DefaultLogoutHandler, LogoutHandler};
use crate::resolve::SessionSlot;
use crate::state::AuthState;
use crate::store::{AuthCache, BoundedStore, MemoryStore, SharedStore};

mod endpoints;

/// Adds OpenID Connect login, sessions, refresh and logout to a router.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use axum_oidc_client::{AuthenticationLayer, OAuthConfigurationBuilder, auth_session::AuthSession};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = OAuthConfigurationBuilder::from_env().await?.build()?;
/// let app: Router = Router::new()
///     .route("/me", get(|s: AuthSession| async move { s.scope }))
///     .layer(AuthenticationLayer::new(config));
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct AuthenticationLayer {
    state: Arc<AuthState>,
    error_pages: Option<Arc<dyn ErrorPages>>,
}

/// The seed's name for [`AuthenticationLayer`].
pub type AuthLayer = AuthenticationLayer;

impl std::fmt::Debug for AuthenticationLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticationLayer")
            .field("base_path", &self.state.config.base_path())
            .finish()
    }
}

impl AuthenticationLayer {
    /// A layer with the default in-memory store and local logout.
    ///
    /// A protected route of a router behind the layer sends a browser without a
    /// session to `{base}/login`, carrying where it wanted to go:
    ///
    /// ```
    /// use axum::{Router, body::Body, routing::get};
    /// use axum_oidc_client::{AuthSession, AuthenticationLayer, OAuthConfigurationBuilder};
    /// use http::{Request, StatusCode, header};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Built offline here (OAuth 2.0 mode); use `with_issuer` for an OpenID provider.
    /// let config = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_client_secret("s3cret")
    ///     .with_app_url("https://app.example")
    ///     .with_authorization_endpoint("https://github.example/login/oauth/authorize")
    ///     .with_token_endpoint("https://github.example/login/oauth/access_token")
    ///     .with_oauth2_only("https://api.github.example/user", "id")
    ///     .build()
    ///     .unwrap();
    /// let app = Router::new()
    ///     .route("/me", get(|s: AuthSession| async move { s.scope }))
    ///     .layer(AuthenticationLayer::new(config));
    ///
    /// let resp = app
    ///     .oneshot(Request::get("/me").body(Body::empty()).unwrap())
    ///     .await
    ///     .unwrap();
    /// assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    /// assert_eq!(resp.headers()[header::LOCATION], "/auth/login?next=%2Fme");
    /// # }
    /// ```
    pub fn new(config: OAuthConfiguration) -> Self {
        Self::with_store(config, Arc::new(MemoryStore::default()))
    }

    /// A layer over a given store.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_oidc_client::{AuthenticationLayer, MemoryStore};
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
    /// let layer = AuthenticationLayer::with_store(config(), Arc::new(MemoryStore::new(10_000)));
    /// assert_eq!(layer.config().base_path(), "/auth");
    /// ```
    pub fn with_store(config: OAuthConfiguration, store: SharedStore) -> Self {
        Self {
            state: Arc::new(AuthState::new(
                config,
                store,
                Arc::new(DefaultLogoutHandler::default()),
            )),
            error_pages: None,
        }
    }

    /// Replaces the store.
    ///
    /// ```
    /// use axum_oidc_client::{AuthenticationLayer, MemoryStore, TwoTierStore};
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
    /// // Any `AuthCache`; a `TwoTierStore` in front of Redis or SQL in production.
    /// let layer = AuthenticationLayer::new(config()).store(MemoryStore::new(10_000));
    /// # let _ = layer;
    /// ```
    pub fn store(self, store: impl AuthCache) -> Self {
        self.rebuild(|s| s.store = BoundedStore::new(Arc::new(store), s.config.inner.store_timeout))
    }

    /// Replaces the logout handler (default: [`DefaultLogoutHandler`]).
    ///
    /// ```
    /// use axum_oidc_client::{AuthenticationLayer, OidcLogoutHandler};
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
    /// // RP-initiated logout: end the session at the provider too.
    /// let layer = AuthenticationLayer::new(config()).with_logout_handler(OidcLogoutHandler);
    /// # let _ = layer;
    /// ```
    pub fn with_logout_handler(self, handler: impl LogoutHandler) -> Self {
        self.rebuild(|s| s.logout = Arc::new(handler))
    }

    /// Renders the library's error pages for browsers with `pages` instead of its own:
    /// a failed login or callback, a refused logout, and the extractors' 503 when the
    /// store is down. API callers keep their JSON bodies. Without a hook no response
    /// is looked at.
    ///
    /// ```
    /// use axum::{Router, body::Body, response::{Html, IntoResponse as _}, routing::get};
    /// use axum_oidc_client::{AuthenticationLayer, ErrorPage, FailureClass};
    /// use http::{Request, StatusCode};
    /// use http_body_util::BodyExt as _;
    /// use tower::ServiceExt as _;
    /// # fn config() -> axum_oidc_client::OAuthConfiguration {
    /// #     axum_oidc_client::OAuthConfigurationBuilder::default()
    /// #         .with_client_id("my-app")
    /// #         .with_client_secret("s3cret")
    /// #         .with_app_url("https://app.example")
    /// #         .with_authorization_endpoint("https://op.example/authorize")
    /// #         .with_token_endpoint("https://op.example/token")
    /// #         .with_oauth2_only("https://op.example/user", "id")
    /// #         .build()
    /// #         .unwrap()
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let layer = AuthenticationLayer::new(config()).with_error_pages(|page: &ErrorPage| {
    ///     let advice = match page.class {
    ///         FailureClass::User => "Please sign in again.",
    ///         FailureClass::Configuration => "We are fixing our sign-in.",
    ///         _ => "Please try again in a minute.",
    ///     };
    ///     let link = page.retry.as_deref().unwrap_or("/");
    ///     let body = format!("<h1>Oops ({})</h1><p>{advice}</p><a href=\"{link}\">Go</a>", page.reason);
    ///     (page.status, Html(body)).into_response()
    /// });
    /// let app: Router = Router::new().route("/", get(|| async { "home" })).layer(layer);
    ///
    /// // A callback whose `state` this browser never started.
    /// let forged = Request::get("/auth/callback?state=forged&code=x").body(Body::empty()).unwrap();
    /// let resp = app.oneshot(forged).await.unwrap();
    /// assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    /// let body = resp.into_body().collect().await.unwrap().to_bytes();
    /// let body = String::from_utf8(body.to_vec()).unwrap();
    /// assert!(body.starts_with("<h1>Oops (state_mismatch)</h1><p>Please sign in again."), "{body}");
    /// assert!(body.contains("href=\"/auth/login?next=%2F\""), "{body}");
    /// # }
    /// ```
    pub fn with_error_pages(mut self, pages: impl ErrorPages) -> Self {
        self.error_pages = Some(Arc::new(pages));
        self
    }

    /// Adds claims at login, once per login, with `enricher` (see
    /// [`enrich`](crate::enrich)): roles from the application's database, or the
    /// distributed claims of OIDC Core 5.6.2 with a
    /// [`DistributedClaimsResolver`](crate::enrich::DistributedClaimsResolver) (Entra
    /// ID's group overage). Enrichers run in the order they are added; what they add
    /// is kept in the server session and carried over on refresh.
    ///
    /// ```
    /// use axum_oidc_client::AuthenticationLayer;
    /// use axum_oidc_client::enrich::DistributedClaimsResolver;
    /// # fn config() -> axum_oidc_client::OAuthConfiguration {
    /// #     axum_oidc_client::OAuthConfigurationBuilder::default()
    /// #         .with_client_id("my-app")
    /// #         .with_client_secret("s3cret")
    /// #         .with_app_url("https://app.example")
    /// #         .with_authorization_endpoint("https://op.example/authorize")
    /// #         .with_token_endpoint("https://op.example/token")
    /// #         .with_oauth2_only("https://op.example/user", "id")
    /// #         .build()
    /// #         .unwrap()
    /// # }
    ///
    /// let groups = DistributedClaimsResolver::new(["https://graph.microsoft.com"]).unwrap();
    /// let layer = AuthenticationLayer::new(config()).with_claims_enricher(groups);
    /// # let _ = layer;
    /// ```
    pub fn with_claims_enricher(self, enricher: impl crate::enrich::ClaimsEnricher) -> Self {
        self.rebuild(|s| s.enrichers.push(Arc::new(enricher)))
    }

    /// Renders the provider chooser with `page` instead of the library's list of
    /// links. With several providers
    /// ([`with_provider`](crate::OAuthConfigurationBuilder::with_provider)),
    /// `GET {base}/login` without a `provider` shows it; each
    /// [`ProviderChoice`](crate::ProviderChoice) carries the link that starts a login
    /// there, the request's `next` kept.
    ///
    /// ```
    /// use axum::response::{Html, IntoResponse as _};
    /// use axum_oidc_client::{AuthenticationLayer, OAuthConfiguration, ProviderChoice, ProviderSettings};
    ///
    /// let provider = |issuer: &str| {
    ///     ProviderSettings::new().with_issuer(issuer).with_client_id("shop").with_client_secret("s")
    /// };
    /// let config = OAuthConfiguration::builder()
    ///     .with_app_url("http://localhost:3000")
    ///     .with_provider("corp", provider("http://127.0.0.1:9/corp"))
    ///     .with_provider("partners", provider("http://127.0.0.1:9/partners"))
    ///     .build()
    ///     .unwrap();
    /// let layer = AuthenticationLayer::new(config).with_provider_chooser(|choices: &[ProviderChoice]| {
    ///     let links: String = choices
    ///         .iter()
    ///         .map(|c| format!("<a class=\"btn\" href=\"{}\">{}</a>", c.login_url, c.display_name))
    ///         .collect();
    ///     Html(format!("<main>{links}</main>")).into_response()
    /// });
    /// # let _ = layer;
    /// ```
    pub fn with_provider_chooser(
        self,
        page: impl Fn(&[crate::ProviderChoice]) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.rebuild(|s| s.chooser = Some(Arc::new(page)))
    }

    fn rebuild(self, f: impl FnOnce(&mut AuthState)) -> Self {
        let error_pages = self.error_pages;
        let mut state = match Arc::try_unwrap(self.state) {
            Ok(s) => s,
            Err(shared) => {
                let mut s = AuthState::new(
                    shared.config.clone(),
                    shared.store.shared().clone(),
                    shared.logout.clone(),
                );
                s.enrichers = shared.enrichers.clone();
                s.chooser.clone_from(&shared.chooser);
                s
            }
        };
        f(&mut state);
        Self {
            state: Arc::new(state),
            error_pages,
        }
    }

    /// Any user's sessions, for admin tools: list them, end one, end them all (see
    /// [`UserSessionsAdmin`](crate::UserSessionsAdmin)). Take it once the layer is
    /// configured; handlers use the [`UserSessions`](crate::UserSessions) extractor.
    ///
    /// ```
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
    /// let layer = AuthenticationLayer::new(config());
    /// let admin = layer.user_sessions();
    /// assert!(admin.list("https://op.example", "alice").await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn user_sessions(&self) -> crate::UserSessionsAdmin {
        crate::sessions::UserSessionsAdmin::new(self.state.clone())
    }

    /// The configuration.
    ///
    /// ```
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
    /// let layer = AuthenticationLayer::new(config());
    /// assert_eq!(layer.config().client_id(), "my-app");
    /// ```
    pub fn config(&self) -> &OAuthConfiguration {
        &self.state.config
    }

    /// Whether the layer can serve logins now: the provider is discovered (or its
    /// endpoints are configured) and the session store answers a read within the
    /// store timeout. For a readiness probe; liveness needs none of this.
    ///
    /// ```
    /// use axum_oidc_client::{AuthenticationLayer, DiscoveryHealth, OAuthConfigurationBuilder};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A provider that cannot be reached: the layer starts, and says it is not ready.
    /// let config = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_client_secret("s3cret")
    ///     .with_app_url("http://localhost:3000")
    ///     .with_lazy_issuer("http://127.0.0.1:9")
    ///     .build()
    ///     .unwrap();
    /// let layer = AuthenticationLayer::new(config);
    /// let readiness = layer.readiness().await;
    /// assert!(!readiness.is_ready());
    /// assert_eq!(readiness.reason(), Some("discovery_pending"));
    /// assert!(matches!(readiness.discovery, DiscoveryHealth::Pending { .. }));
    /// # }
    /// ```
    pub async fn readiness(&self) -> crate::Readiness {
        self.state.readiness().await
    }
}

impl<S> Layer<S> for AuthenticationLayer {
    type Service = Authentication<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authentication {
            inner,
            state: self.state.clone(),
            error_pages: self.error_pages.clone(),
        }
    }
}

/// The service made by [`AuthenticationLayer`].
///
/// ```
/// use axum_oidc_client::{Authentication, AuthenticationLayer};
/// use tower_layer::Layer as _;
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
/// // `Router::layer` does this; other tower stacks can wrap a service directly.
/// let inner = tower::service_fn(|_req: http::Request<axum::body::Body>| async {
///     Ok::<_, std::convert::Infallible>(axum::response::Response::new(axum::body::Body::empty()))
/// });
/// let service: Authentication<_> = AuthenticationLayer::new(config()).layer(inner);
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct Authentication<S> {
    inner: S,
    state: Arc<AuthState>,
    error_pages: Option<Arc<dyn ErrorPages>>,
}

impl<S> std::fmt::Debug for Authentication<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authentication").finish_non_exhaustive()
    }
}

impl<S> Service<Request<Body>> for Authentication<S>
where
    S: Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if let Some(endpoint) = endpoints::Endpoint::of(&self.state.config, req.uri().path()) {
            let state = self.state.clone();
            return ResponseFuture {
                kind: Kind::Endpoint {
                    future: Box::pin(endpoints::handle(state, endpoint, req)),
                },
                error_pages: self.error_pages.clone(),
            };
        }
        let slot = SessionSlot::new(self.state.clone());
        req.extensions_mut().insert(slot.clone());
        ResponseFuture {
            kind: Kind::Inner {
                future: self.inner.call(req),
                slot,
            },
            error_pages: self.error_pages.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`Authentication`].
    ///
    /// Needed only to name the service's types, e.g. in a struct field:
    ///
    /// ```
    /// use axum::{Router, body::Body};
    /// use axum_oidc_client::{Authentication, ResponseFuture};
    /// use http::Request;
    /// use tower_service::Service;
    ///
    /// type Protected = Authentication<Router>;
    /// type ProtectedFuture = ResponseFuture<<Router as Service<Request<Body>>>::Future>;
    ///
    /// fn call(service: &mut Protected, req: Request<Body>) -> ProtectedFuture {
    ///     service.call(req)
    /// }
    /// # let _ = call;
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
        error_pages: Option<Arc<dyn ErrorPages>>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F, slot: SessionSlot },
        Endpoint { future: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let error_pages: &Option<Arc<dyn ErrorPages>> = this.error_pages;
        let rerender = |resp| match error_pages {
            Some(pages) => crate::failure::rerender(pages.as_ref(), resp),
            None => resp,
        };
        match this.kind.project() {
            KindProj::Inner { future, slot } => {
                let mut resp = rerender(std::task::ready!(future.poll(cx))?);
                if let Some(cookie) = slot.take_set_cookie() {
                    resp.headers_mut().append(http::header::SET_COOKIE, cookie);
                    crate::pages::never_shared_cacheable(&mut resp);
                }
                Poll::Ready(Ok(resp))
            }
            KindProj::Endpoint { future } => {
                let mut resp = rerender(std::task::ready!(future.as_mut().poll(cx)));
                if resp.headers().contains_key(http::header::SET_COOKIE) {
                    crate::pages::never_shared_cacheable(&mut resp);
                }
                Poll::Ready(Ok(resp))
            }
        }
    }
}
