//! The UserInfo endpoint (OIDC Core 5.3), protected by bearer access tokens
//! (RFC 6750 2.1) or DPoP-bound ones with a proof (RFC 9449 section 7.1).

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::claims::user_claims;
use crate::dpop::{Expected, proof_header, remember, resource_error, verify_proof};
use crate::error::OAuthError;
use crate::state::{Counters, ProviderState};

/// The access token claims the endpoint relies on.
#[derive(Deserialize)]
pub(crate) struct AccessClaims {
    pub jti: String,
    pub sub: String,
    #[serde(default)]
    pub scope: String,
    /// The confirmation of a DPoP-bound token (RFC 9449 section 6.1).
    pub cnf: Option<Confirmation>,
}

/// The `cnf` claim (RFC 7800 section 3.1) of a DPoP-bound token.
#[derive(Deserialize)]
pub(crate) struct Confirmation {
    pub jkt: Option<String>,
}

/// How the access token is presented.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `Authorization: Bearer` (RFC 6750 2.1).
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 section 7.1).
    Dpop,
}

/// The scheme and token of the `Authorization` header.
fn access_token(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return None;
    };
    Some((scheme, token.trim())).filter(|(_, t)| !t.is_empty())
}

/// The binding rules of RFC 9449 section 7.1: a DPoP-bound token comes with
/// the `DPoP` scheme and a proof of its key for this request (`htm`, `htu`,
/// `ath`, a fresh `jti`); an unbound token only with `Bearer`.
fn check_binding(
    state: &ProviderState,
    headers: &HeaderMap,
    method: &Method,
    scheme: Scheme,
    token: &str,
    claims: &AccessClaims,
) -> Result<(), OAuthError> {
    let bound = claims.cnf.as_ref().and_then(|c| c.jkt.as_deref());
    let Some(bound) = bound else {
        return match scheme {
            Scheme::Bearer => Ok(()),
            Scheme::Dpop => Err(resource_error(
                "invalid_token",
                "the access token is not DPoP-bound",
            )),
        };
    };
    if scheme == Scheme::Bearer {
        return Err(OAuthError::invalid_token(
            "a DPoP-bound access token must be sent with the DPoP scheme",
        ));
    }
    let invalid = |e: crate::dpop::ProofError| resource_error("invalid_dpop_proof", e.to_string());
    let proof = proof_header(headers)
        .map_err(invalid)?
        .ok_or_else(|| resource_error("invalid_dpop_proof", "a DPoP proof is required"))?;
    let htu = state.endpoint("/userinfo");
    let expected = Expected {
        htm: method.as_str(),
        htu: &htu,
        access_token: Some(token),
    };
    let proof = verify_proof(proof, expected, SystemTime::now()).map_err(invalid)?;
    if proof.jkt != bound {
        return Err(resource_error(
            "invalid_dpop_proof",
            "the DPoP proof's key is not the one the token is bound to",
        ));
    }
    remember(state, &proof).map_err(invalid)
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
pub(crate) async fn userinfo(
    State(state): State<ProviderState>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Some((scheme, token)) = access_token(&headers) else {
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
    if let Err(error) = check_binding(&state, &headers, &method, scheme, token, &claims) {
        return error.into_response();
    }
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
