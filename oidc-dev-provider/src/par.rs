//! Pushed authorization requests (RFC 9126): the client POSTs the parameters
//! of an authorization request, authenticated as at the token endpoint, and
//! sends the browser with `client_id` and the `request_uri` it gets back.

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::client_auth::authenticate;
use crate::error::OAuthError;
use crate::params::Params;
use crate::state::{ProviderState, add_ttl, random_token};
use crate::store::PushedRequest;

/// How long a `request_uri` stays usable (RFC 9126 section 2.2 suggests
/// between 5 and 600 seconds).
const PUSHED_TTL: Duration = Duration::from_secs(60);

/// The `request_uri` prefix of RFC 9126 section 2.2.
const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// `POST /par` (RFC 9126 section 2.1).
pub(crate) async fn par(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &body) {
        Ok(request_uri) => {
            let body = json!({ "request_uri": request_uri, "expires_in": PUSHED_TTL.as_secs() });
            let mut response = (StatusCode::CREATED, Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

fn handle(state: &ProviderState, headers: &HeaderMap, body: &[u8]) -> Result<String, OAuthError> {
    let params = Params::from_form(headers, body)?;
    let client = authenticate(state, headers, &params)?;
    // Section 2.1: a pushed request must not itself carry a `request_uri`.
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri must not be pushed",
        ));
    }
    let request_uri = format!("{URN_PREFIX}{}", random_token());
    let pushed = PushedRequest {
        client_id: client.client_id.clone(),
        params: params
            .without(&["client_secret"])
            .with("client_id", &client.client_id),
        expires_at: add_ttl(SystemTime::now(), PUSHED_TTL),
    };
    state.store().pushed.insert(request_uri.clone(), pushed);
    Ok(request_uri)
}

/// The authorization request a front-channel request stands for: itself, or
/// with a `request_uri` the pushed one (section 4), used once. A front-channel
/// `login_hint` (this provider's test shortcut) is kept when none was pushed.
pub(crate) fn resolve(state: &ProviderState, front: Params) -> Result<Params, OAuthError> {
    let Some(uri) = front.get("request_uri") else {
        return Ok(front);
    };
    let pushed = state.store().pushed.remove(uri);
    let pushed = pushed
        .filter(|p| p.expires_at > SystemTime::now())
        .filter(|p| front.get("client_id") == Some(p.client_id.as_str()))
        .ok_or_else(|| OAuthError::invalid_request("unknown, used or expired request_uri"))?;
    Ok(
        match (front.get("login_hint"), pushed.params.get("login_hint")) {
            (Some(hint), None) => pushed.params.with("login_hint", hint),
            _ => pushed.params,
        },
    )
}
