//! Pushed authorization requests (RFC 9126): the client POSTs the parameters
//! of an authorization request, authenticated as at the token endpoint, and
//! sends the browser with `client_id` and the `request_uri` it gets back.
//! A DPoP proof on the push binds the code to the proof's key (RFC 9449
//! section 10).

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::client_auth::authenticate;
use crate::dpop::{invalid_proof, nonce_header, server_proof};
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
    let mut response = match handle(&state, &headers, &body) {
        Ok(request_uri) => {
            let body = json!({ "request_uri": request_uri, "expires_in": PUSHED_TTL.as_secs() });
            let mut response = (StatusCode::CREATED, Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    };
    // RFC 9449 section 8: the nonce to use, on every answer.
    if let Some(nonce) = nonce_header(&state) {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
    response
}

fn handle(state: &ProviderState, headers: &HeaderMap, body: &[u8]) -> Result<String, OAuthError> {
    let params = Params::from_form(headers, body)?;
    let client = authenticate(state, headers, &params, "/par")?;
    // Section 2.1: a pushed request must not itself carry a `request_uri`.
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri must not be pushed",
        ));
    }
    let mut pushed_params = params
        .without(&["client_secret", "client_assertion", "client_assertion_type"])
        .with("client_id", &client.client_id);
    // RFC 9449 section 10.1: the proof's key binds the code; a `dpop_jkt`
    // pushed along must name the same key.
    let proof = server_proof(state, headers, "/par")?;
    if let Some(proof) = &proof {
        if params.get("dpop_jkt").is_some_and(|j| j != proof.jkt) {
            return Err(invalid_proof(
                "dpop_jkt is not the thumbprint of the DPoP proof's key",
            ));
        }
        pushed_params = pushed_params.with("dpop_jkt", &proof.jkt);
    }
    let request_uri = format!("{URN_PREFIX}{}", random_token());
    let pushed = PushedRequest {
        client_id: client.client_id.clone(),
        params: pushed_params,
        expires_at: add_ttl(SystemTime::now(), PUSHED_TTL),
    };
    state.store().pushed.insert(request_uri.clone(), pushed);
    tracing::info!(
        client = %client.client_id,
        client_auth = client.effective_auth_method().as_str(),
        dpop_bound = params.get("dpop_jkt").is_some() || proof.is_some(),
        "dev provider accepted a pushed authorization request"
    );
    Ok(request_uri)
}

/// The authorization request a front-channel request stands for: itself, or
/// with a `request_uri` the pushed one (section 4), used once. A front-channel
/// `login_hint` (this provider's test shortcut) is kept when none was pushed.
/// The flag says whether the request was pushed.
pub(crate) fn resolve(state: &ProviderState, front: Params) -> Result<(Params, bool), OAuthError> {
    let Some(uri) = front.get("request_uri") else {
        return Ok((front, false));
    };
    let pushed = state.store().pushed.remove(uri);
    let pushed = pushed
        .filter(|p| p.expires_at > SystemTime::now())
        .filter(|p| front.get("client_id") == Some(p.client_id.as_str()))
        .ok_or_else(|| OAuthError::invalid_request("unknown, used or expired request_uri"))?;
    let params = match (front.get("login_hint"), pushed.params.get("login_hint")) {
        (Some(hint), None) => pushed.params.with("login_hint", hint),
        _ => pushed.params,
    };
    Ok((params, true))
}
