//! Extractors for the claims [`JwtLayer`](super::JwtLayer) verified:
//! [`JwtClaims`], [`OptionalJwtClaims`], `Option<JwtClaims<C>>` and [`VerifiedJwt`].

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::{BearerError, BearerRejection};
use super::layer::BearerSlot;
use super::{OidcClaims, VerifiedJwt};

/// The verified claims of the request's bearer token, deserialized into `C`
/// (default [`OidcClaims`]).
///
/// The token was verified by [`JwtLayer`](super::JwtLayer); this only deserializes
/// the stored JSON payload into `C`. Rejections ([`BearerRejection`]):
/// - no token (behind an optional layer): 401 with a bare `Bearer realm` challenge;
/// - the claims do not fit `C` (a field it requires is missing): 401
///   `invalid_token` ([`BearerError::ClaimsMismatch`]);
/// - no `JwtLayer` in front of the route: 500 ([`BearerError::LayerMissing`]).
///
/// As `Option<JwtClaims<C>>` (axum's `OptionalFromRequestParts`) it gives `None`
/// for a request without a token behind an optional layer.
///
/// ```
/// use axum_oidc_client::bearer::{JwtClaims, OidcClaims};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Mine { sub: String, tenant: String }
///
/// async fn me(JwtClaims(c): JwtClaims<OidcClaims>) -> String { c.sub }
/// async fn tenant(JwtClaims(c): JwtClaims<Mine>) -> String { c.tenant }
/// async fn maybe(c: Option<JwtClaims>) -> String {
///     c.map_or("anonymous".into(), |c| c.0.sub)
/// }
/// let app: axum::Router = axum::Router::new()
///     .route("/me", axum::routing::get(me))
///     .route("/tenant", axum::routing::get(tenant))
///     .route("/maybe", axum::routing::get(maybe));
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct JwtClaims<C = OidcClaims>(pub C);

impl<C> JwtClaims<C> {
    /// The claims.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::JwtClaims;
    /// let claims: u8 = JwtClaims(3u8).into_inner();
    /// # assert_eq!(claims, 3);
    /// ```
    pub fn into_inner(self) -> C {
        self.0
    }
}

impl<C> std::ops::Deref for JwtClaims<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.0
    }
}

/// The claims of the request's bearer token if it has one, `None` otherwise
/// (behind [`JwtLayer::optional`](super::JwtLayer::optional)). The same as
/// `Option<JwtClaims<C>>`, for those who prefer a named type.
///
/// ```
/// use axum_oidc_client::bearer::OptionalJwtClaims;
///
/// async fn greet(OptionalJwtClaims(c): OptionalJwtClaims) -> String {
///     match c {
///         Some(c) => format!("hello {}", c.sub),
///         None => "hello stranger".into(),
///     }
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(greet);
/// ```
#[derive(Debug, Clone)]
pub struct OptionalJwtClaims<C = OidcClaims>(pub Option<C>);

fn slot(parts: &Parts) -> Result<&BearerSlot, BearerRejection> {
    parts
        .extensions
        .get::<BearerSlot>()
        .ok_or_else(|| BearerRejection::new(BearerError::LayerMissing, "api"))
}

fn decode<C: DeserializeOwned>(slot: &BearerSlot, jwt: &VerifiedJwt) -> Result<C, BearerRejection> {
    jwt.claims().map_err(|e| {
        tracing::debug!(error = %e, "verified claims do not fit the extractor's type");
        slot.config.reject(BearerError::ClaimsMismatch)
    })
}

fn optional<C: DeserializeOwned>(parts: &Parts) -> Result<Option<C>, BearerRejection> {
    let slot = slot(parts)?;
    slot.jwt.as_ref().map(|jwt| decode(slot, jwt)).transpose()
}

impl<S, C> FromRequestParts<S> for JwtClaims<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let slot = slot(parts)?;
        match &slot.jwt {
            Some(jwt) => decode(slot, jwt).map(Self),
            None => Err(slot.config.reject(BearerError::MissingToken)),
        }
    }
}

impl<S, C> OptionalFromRequestParts<S> for JwtClaims<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        optional(parts).map(|c| c.map(Self))
    }
}

impl<S, C> FromRequestParts<S> for OptionalJwtClaims<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Send,
{
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        optional(parts).map(Self)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedJwt {
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let slot = slot(parts)?;
        slot.jwt
            .clone()
            .ok_or_else(|| slot.config.reject(BearerError::MissingToken))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedJwt {
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(slot(parts)?.jwt.clone())
    }
}
