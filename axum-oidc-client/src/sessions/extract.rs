//! The extractors of the sessions API: [`UserSessions`] for the signed-in user's own
//! sessions, and [`SameOrigin`], the CSRF guard of the forms that end them.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use super::SessionInfo;
use crate::extract::{AuthRejection, require_record, slot, unauthenticated};
use crate::failure::{ErrorPage, Failure};
use crate::pages;
use crate::resolve::SessionSlot;
use crate::session::SessionKey;
use crate::session::cookies::read_session_id;
use crate::store::StoreError;

/// The signed-in user's sessions, on every instance sharing the store: list them,
/// end one, end them all ("sign out everywhere").
///
/// As an extractor it rejects like [`AuthSession`](crate::AuthSession) without a
/// session (a redirect to login, or 401). Its methods answer
/// [`AuthRejection::Unavailable`] (or [`UnavailablePage`](AuthRejection::UnavailablePage)
/// for a browser navigation), a 503, when the store fails: a failure never reads as
/// "signed out". Ending the current session also deletes this browser's session
/// cookie in the response. See the [module docs](crate::sessions) for what ending does.
///
/// Take the forms that end sessions as `POST`, guarded by [`SameOrigin`]:
///
/// ```
/// use axum::response::{IntoResponse, Redirect, Response};
/// use axum::routing::{get, post};
/// use axum::{Form, Router};
/// use axum_oidc_client::{AuthRejection, AuthenticationLayer, SameOrigin, UserSessions};
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
/// #[derive(serde::Deserialize)]
/// struct End {
///     id: String,
/// }
///
/// async fn list(sessions: UserSessions) -> Result<String, AuthRejection> {
///     let list = sessions.list().await?;
///     Ok(list.iter().map(|s| format!("{} current={}\n", s.id, s.current)).collect())
/// }
///
/// async fn end(_: SameOrigin, sessions: UserSessions, Form(f): Form<End>) -> Result<Response, AuthRejection> {
///     let current = sessions.current_id();
///     sessions.end(&f.id).await?;
///     let to = if f.id == current { "/" } else { "/sessions" };
///     Ok(Redirect::to(to).into_response())
/// }
///
/// async fn end_all(_: SameOrigin, sessions: UserSessions) -> Result<Redirect, AuthRejection> {
///     sessions.end_all().await?;
///     Ok(Redirect::to("/"))
/// }
///
/// let app: Router = Router::new()
///     .route("/sessions", get(list))
///     .route("/sessions/end", post(end))
///     .route("/sessions/end-all", post(end_all))
///     .layer(AuthenticationLayer::new(config()));
/// ```
#[derive(Clone)]
pub struct UserSessions {
    slot: SessionSlot,
    iss: String,
    sub: String,
    current: SessionKey,
    api: bool,
}

impl std::fmt::Debug for UserSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSessions")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserSessions {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let record = require_record(parts).await?;
        let slot = slot(parts)?.clone();
        let c = &slot.0.state.config.inner;
        // The session was resolved from this cookie a moment ago, so it is there.
        let Some(id) = read_session_id(&c.cookie_key, &c.cookies, &parts.headers) else {
            return Err(unauthenticated(parts, &c.routes.base_path));
        };
        Ok(Self {
            iss: record.claims.iss.clone(),
            sub: record.claims.sub.clone(),
            current: SessionKey::of(&id),
            api: pages::is_api_request(&parts.headers),
            slot,
        })
    }
}

impl UserSessions {
    /// The user's live sessions: this browser's first, then the newest sign-in.
    ///
    /// ```
    /// use axum_oidc_client::{AuthRejection, UserSessions};
    ///
    /// async fn count(sessions: UserSessions) -> Result<String, AuthRejection> {
    ///     Ok(format!("signed in on {} browsers", sessions.list().await?.len()))
    /// }
    /// ```
    pub async fn list(&self) -> Result<Vec<SessionInfo>, AuthRejection> {
        let state = &self.slot.0.state;
        super::list(state, &self.iss, &self.sub, Some(&self.current))
            .await
            .map_err(|e| self.unavailable("listing a user's sessions failed", &e))
    }

    /// Ends the session `id` ([`SessionInfo::id`]) if it is one of this user's;
    /// `false` when it is not (another user's, already ended, or unknown). Ending
    /// this browser's own session signs it out.
    ///
    /// ```
    /// use axum::Form;
    /// use axum::response::Redirect;
    /// use axum_oidc_client::{AuthRejection, SameOrigin, UserSessions};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct End {
    ///     id: String,
    /// }
    ///
    /// async fn end(_: SameOrigin, sessions: UserSessions, Form(f): Form<End>) -> Result<Redirect, AuthRejection> {
    ///     sessions.end(&f.id).await?;
    ///     Ok(Redirect::to("/sessions"))
    /// }
    /// ```
    pub async fn end(&self, id: &str) -> Result<bool, AuthRejection> {
        let state = &self.slot.0.state;
        let ended = super::end(state, &self.iss, &self.sub, id)
            .await
            .map_err(|e| self.unavailable("ending a session failed", &e))?;
        if ended.as_ref() == Some(&self.current) {
            self.slot.remove_session_cookie();
        }
        Ok(ended.is_some())
    }

    /// "Sign out everywhere": ends every session of this user, this browser's
    /// included, on every instance; returns how many.
    ///
    /// ```
    /// use axum::response::Redirect;
    /// use axum_oidc_client::{AuthRejection, SameOrigin, UserSessions};
    ///
    /// async fn everywhere(_: SameOrigin, sessions: UserSessions) -> Result<Redirect, AuthRejection> {
    ///     sessions.end_all().await?;
    ///     Ok(Redirect::to("/"))
    /// }
    /// ```
    pub async fn end_all(&self) -> Result<usize, AuthRejection> {
        let state = &self.slot.0.state;
        let ended = super::end_all(state, &self.iss, &self.sub)
            .await
            .map_err(|e| self.unavailable("ending a user's sessions failed", &e))?;
        self.slot.remove_session_cookie();
        Ok(ended)
    }

    /// The [`SessionInfo::id`] of this browser's session.
    ///
    /// ```
    /// use axum_oidc_client::{AuthRejection, UserSessions};
    ///
    /// async fn others(sessions: UserSessions) -> Result<String, AuthRejection> {
    ///     let mine = sessions.current_id();
    ///     let others = sessions.list().await?.into_iter().filter(|s| s.id != mine).count();
    ///     Ok(format!("{others} other sessions"))
    /// }
    /// ```
    pub fn current_id(&self) -> String {
        super::list_id(&self.current)
    }

    fn unavailable(&self, what: &'static str, e: &StoreError) -> AuthRejection {
        tracing::warn!(
            reason = "store_unavailable",
            error = crate::observe::error_chain(e),
            "{what}; answering 503"
        );
        if self.api {
            AuthRejection::Unavailable
        } else {
            AuthRejection::UnavailablePage
        }
    }
}

/// CSRF guard for an application's own state-changing forms: the request's `Origin`
/// must be the application's (the origin of its configured app URL), or, without an
/// `Origin`, the browser must say `Sec-Fetch-Site: same-origin`. Otherwise the
/// request is refused with 403 ([`SameOriginRejection`]). The same check guards the
/// layer's `POST {base}/logout`.
///
/// Every current browser sends `Origin` on a `POST`; a request that carries neither
/// header is refused, so do not use it on endpoints that non-browser clients call.
///
/// ```
/// use axum::routing::post;
/// use axum::{Router, body::Body};
/// use axum_oidc_client::{AuthenticationLayer, SameOrigin};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt as _;
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
/// # async fn main() {
/// let app = Router::new()
///     .route("/settings", post(|_: SameOrigin| async { "saved" }))
///     .layer(AuthenticationLayer::new(config()));
///
/// let from = |origin: &str| {
///     Request::post("/settings").header("origin", origin).body(Body::empty()).unwrap()
/// };
/// let ok = app.clone().oneshot(from("https://app.example")).await.unwrap();
/// assert_eq!(ok.status(), StatusCode::OK);
/// let forged = app.oneshot(from("https://evil.example")).await.unwrap();
/// assert_eq!(forged.status(), StatusCode::FORBIDDEN);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SameOrigin;

/// Why [`SameOrigin`] refused a request.
///
/// ```
/// use axum::response::IntoResponse as _;
/// use axum_oidc_client::SameOriginRejection;
/// use http::StatusCode;
///
/// assert_eq!(SameOriginRejection::Forbidden.into_response().status(), StatusCode::FORBIDDEN);
/// let page = SameOriginRejection::ForbiddenPage.into_response();
/// assert_eq!(page.status(), StatusCode::FORBIDDEN);
/// assert!(page.headers()[http::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SameOriginRejection {
    /// Another origin (or none the browser vouches for) sent the request: 403 as
    /// JSON, for API calls.
    Forbidden,
    /// The same, for a browser navigation: 403 as an HTML page.
    ForbiddenPage,
    /// The route is not behind an `AuthenticationLayer`, which knows the
    /// application's origin: a programming error, 500.
    LayerMissing,
}

impl IntoResponse for SameOriginRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden => pages::json(StatusCode::FORBIDDEN, "forbidden"),
            Self::ForbiddenPage => crate::failure::error_page(&ErrorPage::of(
                Failure::user("cross_site_request"),
                None,
            )),
            Self::LayerMissing => {
                pages::json(StatusCode::INTERNAL_SERVER_ERROR, "auth_layer_missing")
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SameOrigin {
    type Rejection = SameOriginRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let slot = parts
            .extensions
            .get::<SessionSlot>()
            .ok_or(SameOriginRejection::LayerMissing)?;
        let app = slot.0.state.config.inner.routes.redirect_uri.origin();
        if crate::logout::is_same_origin(&app.ascii_serialization(), &parts.headers) {
            return Ok(Self);
        }
        tracing::debug!("request refused: not from the application's origin");
        Err(if pages::is_api_request(&parts.headers) {
            SameOriginRejection::Forbidden
        } else {
            SameOriginRejection::ForbiddenPage
        })
    }
}
