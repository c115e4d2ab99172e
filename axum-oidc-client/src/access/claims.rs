//! [`Claims<T>`]: the session's claims in the application's own type.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth_session::AuthSession;
use crate::extract::AuthRejection;
use crate::failure::{Failure, failure};
use crate::id_token::IdTokenClaims;

/// The signed-in user's claims, deserialized into the application's type `T`: the
/// verified ID token claims of the session, merged with the UserInfo claims when the
/// layer fetches them (OIDC Core 5.3; the user document in OAuth 2.0-only mode), and
/// with what the claims enrichers added at login ([`crate::enrich`]).
///
/// Without a session it rejects as [`AuthSession`] does (a redirect to login, or
/// 401). Claims that do not fit `T` (a required field is absent, a type differs)
/// answer 403: the user is signed in but lacks what the route needs. As
/// `Option<Claims<T>>` it is `None` without a session.
///
/// ```
/// use axum_oidc_client::access::Claims;
///
/// #[derive(serde::Deserialize)]
/// struct MyClaims {
///     sub: String,
///     #[serde(default)]
///     groups: Vec<String>,
///     email: Option<String>,
/// }
///
/// async fn profile(Claims(me): Claims<MyClaims>) -> String {
///     format!("{} in {:?} ({})", me.sub, me.groups, me.email.as_deref().unwrap_or("no email"))
/// }
///
/// async fn greeting(claims: Option<Claims<MyClaims>>) -> String {
///     claims.map_or("hello stranger".into(), |Claims(me)| format!("hello {}", me.sub))
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(profile).post(greeting);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Claims<T>(pub T);

/// Why [`Claims<T>`] refused a request.
///
/// ```
/// use axum::response::IntoResponse as _;
/// use axum_oidc_client::access::ClaimsRejection;
/// use http::StatusCode;
///
/// let r = ClaimsRejection::Mismatch { api: true }.into_response();
/// assert_eq!(r.status(), StatusCode::FORBIDDEN);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// No session, the store is unavailable, or no layer: the
    /// [`AuthSession`] extractor's answer.
    Auth(AuthRejection),
    /// The claims do not deserialize into `T`: 403.
    Mismatch {
        /// Whether the request came from script (a JSON body) rather than a browser
        /// navigation (an HTML page).
        api: bool,
    },
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Auth(r) => r.into_response(),
            Self::Mismatch { api } => failure(api, Failure::forbidden("claims_mismatch"), None),
        }
    }
}

impl From<AuthRejection> for ClaimsRejection {
    fn from(r: AuthRejection) -> Self {
        Self::Auth(r)
    }
}

fn deserialize<T: DeserializeOwned>(
    parts: &Parts,
    claims: &IdTokenClaims,
) -> Result<T, ClaimsRejection> {
    let value = serde_json::to_value(claims).unwrap_or_default();
    T::deserialize(value).map_err(|e| {
        // serde's text may quote a claim value: debug level only, never a token.
        tracing::debug!(error = %e, "the session's claims do not fit the handler's type");
        ClaimsRejection::Mismatch {
            api: crate::pages::is_api_request(&parts.headers),
        }
    })
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = IdTokenClaims::from_request_parts(parts, state).await?;
        deserialize(parts, &claims).map(Self)
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let session =
            <AuthSession as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await?;
        match session.as_ref().and_then(AuthSession::claims) {
            Some(claims) => deserialize(parts, claims).map(|c| Some(Self(c))),
            None => Ok(None),
        }
    }
}
