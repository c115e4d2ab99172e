//! The UserInfo endpoint (OIDC Core 5.3), protected by bearer access tokens
//! (RFC 6750 2.1).

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::claims::user_claims;
use crate::error::OAuthError;
use crate::state::{Counters, ProviderState};

/// The access token claims the endpoint relies on.
#[derive(Deserialize)]
pub(crate) struct AccessClaims {
    pub jti: String,
    pub sub: String,
    #[serde(default)]
    pub scope: String,
}

/// The token of an `Authorization: Bearer` header (RFC 6750 2.1).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Checks an access token: our signature and issuer, header `typ` `at+jwt`
/// (RFC 9068 4), and a live record (not expired, not revoked).
pub(crate) fn validate_access_token(state: &ProviderState, token: &str) -> Option<AccessClaims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if !header.typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) {
        return None;
    }
    let claims: AccessClaims = state.keys().verify(token, state.issuer())?;
    let store = state.store();
    let grant = store.access_grant(&claims.jti, SystemTime::now())?;
    (grant.sub == claims.sub).then_some(claims)
}

/// `GET` or `POST /userinfo`.
pub(crate) async fn userinfo(State(state): State<ProviderState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer_token(&headers) else {
        // RFC 6750 3.1: no error code when no credentials were sent.
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    };
    let Some(claims) = validate_access_token(&state, token) else {
        return OAuthError::invalid_token("access token is invalid, expired or revoked")
            .into_response();
    };
    if !claims.scope.split(' ').any(|s| s == "openid") {
        let mut error =
            OAuthError::bad_request("insufficient_scope", "the openid scope is required");
        error.status = StatusCode::FORBIDDEN;
        error.www_authenticate =
            Some("Bearer error=\"insufficient_scope\", scope=\"openid\"".into());
        return error.into_response();
    }
    let Some(user) = state.user_by_sub(&claims.sub) else {
        return OAuthError::invalid_token("the token's subject no longer exists").into_response();
    };
    Counters::bump(&state.counters().userinfo_calls);
    let mut response = Json(user_claims(user, &claims.scope)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
