//! Extractors: [`AuthSession`], [`AccessToken`], [`IdToken`], the claims, and their
//! optional forms; and the rejection for requests without a session.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::auth_session::AuthSession;
use crate::failure::{ErrorPage, Failure};
use crate::id_token::IdTokenClaims;
use crate::pages;
use crate::resolve::{Resolution, SessionSlot};
use crate::session::SessionRecord;

/// How a protected route answers a request without a session. Set it for a router
/// with `.layer(axum::Extension(UnauthenticatedBehavior::Unauthorized))`.
///
/// ```
/// use axum::{Extension, Router, body::Body, routing::get};
/// use axum_oidc_client::{AuthSession, AuthenticationLayer, UnauthenticatedBehavior};
/// use http::{Request, StatusCode, header};
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
/// // An API router: no redirects, 401 with a `WWW-Authenticate` challenge.
/// let api = Router::new()
///     .route("/api/me", get(|s: AuthSession| async move { s.scope }))
///     .layer(Extension(UnauthenticatedBehavior::Unauthorized))
///     .layer(AuthenticationLayer::new(config()));
///
/// let resp = api
///     .oneshot(Request::get("/api/me").body(Body::empty()).unwrap())
///     .await
///     .unwrap();
/// assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
/// assert!(resp.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().contains("/auth/login"));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnauthenticatedBehavior {
    /// Browser navigations are redirected to login; API calls (those with
    /// `Accept: application/json`, `X-Requested-With`, or a `Sec-Fetch-Mode` other
    /// than `navigate`) get 401. Default.
    #[default]
    Auto,
    /// Always redirect to login.
    Redirect,
    /// Always 401 with a JSON body.
    Unauthorized,
}

/// Why an extractor refused the request.
///
/// ```
/// use axum::response::IntoResponse as _;
/// use axum_oidc_client::{AuthRejection, AuthSession};
/// use http::StatusCode;
///
/// // A handler may take the `Result` to answer a missing session its own way.
/// async fn home(session: Result<AuthSession, AuthRejection>) -> String {
///     match session {
///         Ok(s) => format!("hello {}", s.sub().unwrap_or("?")),
///         Err(AuthRejection::LoginRequired { .. } | AuthRejection::Unauthorized { .. }) => {
///             "hello stranger".into()
///         }
///         Err(other) => format!("{other:?}"),
///     }
/// }
///
/// let r = AuthRejection::Unavailable.into_response();
/// assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert!(r.headers().contains_key(http::header::RETRY_AFTER));
/// let page = AuthRejection::UnavailablePage.into_response();
/// assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert!(page.headers()[http::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
/// assert_eq!(AuthRejection::LayerMissing.into_response().status(), StatusCode::INTERNAL_SERVER_ERROR);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No session: redirect to this login URL (browsers).
    LoginRequired {
        /// `{base}/login?next=…` returning to the requested URL.
        login_url: String,
    },
    /// No session: 401 (API calls).
    Unauthorized {
        /// Where a browser would log in.
        login_url: String,
    },
    /// The store or provider is unavailable: 503 with `Retry-After`, as JSON (API
    /// calls).
    Unavailable,
    /// The same for a browser navigation: 503 with `Retry-After` as an HTML page that
    /// says to try again shortly.
    UnavailablePage,
    /// The route is not behind an `AuthenticationLayer`: a programming error, 500.
    LayerMissing,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::LoginRequired { login_url } => pages::see_other(&login_url),
            Self::Unauthorized { login_url } => {
                let mut r = pages::json(StatusCode::UNAUTHORIZED, "unauthenticated");
                const REALM: &str = "Session realm=\"axum-oidc-client\", login_url=\"";
                let mut challenge = String::with_capacity(REALM.len() + login_url.len() + 1);
                challenge.push_str(REALM);
                challenge.push_str(&login_url);
                challenge.push('"');
                if let Ok(v) = HeaderValue::try_from(challenge) {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                r
            }
            Self::Unavailable => {
                let mut r = pages::json(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
                pages::retry_after(&mut r, 5);
                r
            }
            // The page an `ErrorPages` hook on the layer may replace.
            Self::UnavailablePage => crate::failure::error_page(&ErrorPage::of(
                Failure::local_outage("session_unavailable"),
                None,
            )),
            Self::LayerMissing => {
                pages::json(StatusCode::INTERNAL_SERVER_ERROR, "auth_layer_missing")
            }
        }
    }
}

/// Whether the request comes from script rather than a top-level navigation.
pub(crate) fn is_api_request(parts: &Parts) -> bool {
    pages::is_api_request(&parts.headers)
}

/// `{base}/login?next=<the requested path and query>`.
///
/// `next` is only carried here, fully percent-encoded, so it can break out of neither
/// the query nor a quoted header parameter. The login endpoint validates it with
/// [`crate::redirect::safe_next`] before it is ever used as a redirect (RFC 9700
/// section 4.11), so it is not validated twice; a target longer than
/// [`crate::redirect::MAX_NEXT_LEN`], which that check would refuse anyway, is not
/// carried at all.
fn login_url(parts: &Parts, base: &str) -> String {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|t| t.len() <= crate::redirect::MAX_NEXT_LEN)
        .unwrap_or("/");
    let mut url = String::with_capacity(base.len() + 12 + target.len() * 3);
    url.push_str(base);
    url.push_str("/login?next=");
    url.extend(url::form_urlencoded::byte_serialize(target.as_bytes()));
    url
}

pub(crate) fn unauthenticated(parts: &Parts, base: &str) -> AuthRejection {
    let behavior = parts
        .extensions
        .get::<UnauthenticatedBehavior>()
        .copied()
        .unwrap_or_default();
    let login_url = login_url(parts, base);
    let api = match behavior {
        UnauthenticatedBehavior::Auto => is_api_request(parts) || parts.method != http::Method::GET,
        UnauthenticatedBehavior::Redirect => false,
        UnauthenticatedBehavior::Unauthorized => true,
    };
    if api {
        AuthRejection::Unauthorized { login_url }
    } else {
        AuthRejection::LoginRequired { login_url }
    }
}

pub(crate) fn slot(parts: &Parts) -> Result<&SessionSlot, AuthRejection> {
    parts
        .extensions
        .get::<SessionSlot>()
        .ok_or(AuthRejection::LayerMissing)
}

/// The request's session record, if signed in. Extractors take what they hand out
/// from it, so a token extractor copies one token and nothing else.
async fn resolve_record(parts: &Parts) -> Result<Option<Arc<SessionRecord>>, AuthRejection> {
    match slot(parts)?.resolve(&parts.headers).await {
        Resolution::Session(r) => Ok(Some(r)),
        Resolution::Anonymous => Ok(None),
        // A browser navigation gets a page, a script the JSON it can read.
        Resolution::Unavailable if is_api_request(parts) => Err(AuthRejection::Unavailable),
        Resolution::Unavailable => Err(AuthRejection::UnavailablePage),
    }
}

pub(crate) async fn require_record(parts: &Parts) -> Result<Arc<SessionRecord>, AuthRejection> {
    match resolve_record(parts).await? {
        Some(r) => Ok(r),
        None => Err(unauthenticated(
            parts,
            slot(parts)?.0.state.config.base_path(),
        )),
    }
}

async fn resolve(parts: &Parts) -> Result<Option<AuthSession>, AuthRejection> {
    Ok(resolve_record(parts)
        .await?
        .map(|r| AuthSession::from_record(&r)))
}

async fn require(parts: &Parts) -> Result<AuthSession, AuthRejection> {
    require_record(parts)
        .await
        .map(|r| AuthSession::from_record(&r))
}

impl<S: Send + Sync> FromRequestParts<S> for AuthSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        require(parts).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        resolve(parts).await
    }
}

/// The session if there is one; never rejects for a missing session (a store
/// outage still answers 503).
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use axum_oidc_client::{AuthenticationLayer, OptionalAuthSession};
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
/// #         .with_end_session_endpoint("https://op.example/logout")
/// #         .with_oauth2_only("https://op.example/user", "id")
/// #         .build()
/// #         .unwrap()
/// # }
///
/// async fn home(OptionalAuthSession(session): OptionalAuthSession) -> String {
///     match session.as_ref().and_then(|s| s.sub()) {
///         Some(sub) => format!("welcome back, {sub}"),
///         None => "welcome, please log in".into(),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = Router::new().route("/", get(home)).layer(AuthenticationLayer::new(config()));
/// let resp = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(resp.status(), StatusCode::OK);
/// let body = resp.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(body, "welcome, please log in");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct OptionalAuthSession(pub Option<AuthSession>);

impl<S: Send + Sync> FromRequestParts<S> for OptionalAuthSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        resolve(parts).await.map(Self)
    }
}

macro_rules! token_extractor {
    ($(#[$m:meta])* $name:ident, $(#[$om:meta])* $opt:ident, $field:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AuthRejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
                require_record(parts).await.map(|r| Self($field(&r)))
            }
        }

        #[doc = concat!("[`", stringify!($name), "`] if signed in, else `None`.")]
        $(#[$om])*
        #[derive(Clone, Debug)]
        pub struct $opt(pub Option<$name>);

        impl<S: Send + Sync> FromRequestParts<S> for $opt {
            type Rejection = AuthRejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
                resolve_record(parts).await.map(|r| Self(r.map(|r| $name($field(&r)))))
            }
        }
    };
}

fn access_token(r: &SessionRecord) -> String {
    r.tokens.access_token.secret().to_owned()
}

fn id_token(r: &SessionRecord) -> String {
    r.tokens
        .id_token
        .as_ref()
        .map(|t| t.secret().to_owned())
        .unwrap_or_default()
}

token_extractor!(
    /// The session's access token, fresh for at least the refresh margin.
    ///
    /// Take it to call an API on the user's behalf. `Debug` never prints it.
    ///
    /// ```
    /// use axum_oidc_client::AccessToken;
    ///
    /// async fn call_api(token: AccessToken) -> String {
    ///     // e.g. `.bearer_auth(&*token)` on an outgoing request
    ///     format!("{} bytes", token.len())
    /// }
    ///
    /// let token = AccessToken("eyJ...".into());
    /// assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
    /// assert_eq!(&*token, "eyJ...");
    /// ```
    AccessToken,
    ///
    /// ```
    /// use axum_oidc_client::OptionalAccessToken;
    ///
    /// async fn feed(OptionalAccessToken(token): OptionalAccessToken) -> &'static str {
    ///     if token.is_some() { "personal feed" } else { "public feed" }
    /// }
    /// ```
    OptionalAccessToken,
    access_token
);
token_extractor!(
    /// The session's latest ID token (compact JWT).
    ///
    /// Empty in OAuth 2.0-only mode. `Debug` never prints it.
    ///
    /// ```
    /// use axum_oidc_client::IdToken;
    ///
    /// async fn hint(token: IdToken) -> String {
    ///     // e.g. the `id_token_hint` of a request to the provider
    ///     format!("{} dot-separated parts", token.split('.').count())
    /// }
    ///
    /// assert_eq!(format!("{:?}", IdToken("h.p.s".into())), "IdToken([redacted])");
    /// ```
    IdToken,
    ///
    /// ```
    /// use axum_oidc_client::OptionalIdToken;
    ///
    /// async fn has_id(OptionalIdToken(token): OptionalIdToken) -> String {
    ///     token.map_or("signed out".into(), |t| format!("ID token of {} bytes", t.len()))
    /// }
    /// ```
    OptionalIdToken,
    id_token
);

impl<S: Send + Sync> FromRequestParts<S> for IdTokenClaims {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        require_record(parts).await.map(|r| (*r.claims).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> Parts {
        http::Request::get(uri).body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_login_url_carries_the_requested_target_fully_encoded() {
        assert_eq!(
            login_url(&parts("/protected?x=1&y=%2F"), "/auth"),
            "/auth/login?next=%2Fprotected%3Fx%3D1%26y%3D%252F"
        );
        // A protocol-relative target is carried, not followed: the login endpoint's
        // `safe_next` turns it into `/`. It cannot leave the query parameter.
        let url = login_url(&parts("//evil.example/x?a=b"), "/auth");
        assert_eq!(url, "/auth/login?next=%2F%2Fevil.example%2Fx%3Fa%3Db");
        assert!(
            url.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/?=%._-*+".contains(&b))
        );
        assert_eq!(
            crate::redirect::safe_next(Some("//evil.example/x?a=b")),
            "/"
        );
    }

    #[test]
    fn an_overlong_target_is_not_carried() {
        let long = format!("/{}", "a".repeat(crate::redirect::MAX_NEXT_LEN));
        assert_eq!(login_url(&parts(&long), "/auth"), "/auth/login?next=%2F");
        let fits = format!("/{}", "a".repeat(crate::redirect::MAX_NEXT_LEN - 1));
        assert!(login_url(&parts(&fits), "/auth").ends_with("aaa"));
    }
}
