//! RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0): the
//! `end_session_endpoint`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::backchannel::notify;
use crate::error::OAuthError;
use crate::pages::{browser_error, signed_out_page};
use crate::params::Params;
use crate::redirect::redirect_with;
use crate::state::ProviderState;

/// `GET /logout` (RP-Initiated Logout 1.0 section 2).
pub(crate) async fn logout_get(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    handle(&state, &headers, params, StatusCode::FOUND).await
}

/// `POST /logout` with a form body (RP-Initiated Logout 1.0 section 2).
pub(crate) async fn logout_post(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::from_form(&headers, &body);
    handle(&state, &headers, params, StatusCode::SEE_OTHER).await
}

/// The facts taken from a verified `id_token_hint`.
struct Hint {
    client_id: Option<String>,
    sub: Option<String>,
    sid: Option<String>,
}

/// Verifies an `id_token_hint`: it must be an ID token signed by this
/// provider for this issuer; an expired one is fine (section 2).
fn parse_hint(state: &ProviderState, token: &str) -> Result<Hint, OAuthError> {
    let invalid =
        || OAuthError::invalid_request("id_token_hint is not an ID token from this provider");
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Err(invalid());
    }
    let claims: Value = state
        .keys()
        .verify(token, state.issuer())
        .ok_or_else(invalid)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let client_id = match claims.get("aud") {
        Some(Value::Array(list)) => list.first().and_then(Value::as_str).map(str::to_owned),
        _ => text("aud"),
    };
    Ok(Hint {
        client_id,
        sub: text("sub"),
        sid: text("sid"),
    })
}

async fn handle(
    state: &ProviderState,
    headers: &HeaderMap,
    params: Result<Params, OAuthError>,
    redirect_status: StatusCode,
) -> Response {
    let params = match params {
        Ok(params) => params,
        Err(error) => return browser_error(headers, error),
    };
    let hint = match params
        .get("id_token_hint")
        .map(|t| parse_hint(state, t))
        .transpose()
    {
        Ok(hint) => hint,
        Err(error) => return browser_error(headers, error),
    };
    let hinted_client = hint.as_ref().and_then(|h| h.client_id.as_deref());
    let client_id = match (params.get("client_id"), hinted_client) {
        (Some(given), Some(hinted)) if given != hinted => {
            let error = OAuthError::invalid_request("client_id does not match the id_token_hint");
            return browser_error(headers, error);
        }
        (given, hinted) => given.or(hinted),
    };
    let client = client_id.and_then(|id| state.client(id));
    if client_id.is_some() && client.is_none() {
        return browser_error(headers, OAuthError::invalid_request("unknown client_id"));
    }
    // Section 3: the redirect target must be registered for the client.
    let redirect = params.get("post_logout_redirect_uri");
    if let Some(uri) = redirect {
        let Some(client) = client else {
            let error = OAuthError::invalid_request(
                "post_logout_redirect_uri requires client_id or id_token_hint",
            );
            return browser_error(headers, error);
        };
        if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
            let error = OAuthError::invalid_request("post_logout_redirect_uri is not registered");
            return browser_error(headers, error);
        }
    }

    // End the session named by the hint, if it is still alive and matches.
    let ended = match hint
        .as_ref()
        .and_then(|h| Some((h.sid.as_deref()?, h.sub.as_deref()?)))
    {
        Some((sid, sub)) => {
            let mut store = state.store();
            let matches = store.sessions.get(sid).is_some_and(|s| s.sub == sub);
            if matches {
                store.end_session(sid)
            } else {
                None
            }
        }
        None => None,
    };
    let name = ended
        .as_ref()
        .and_then(|s| state.user_by_sub(&s.sub))
        .map(|u| u.name.clone());
    if let Some(session) = ended {
        notify(state, std::slice::from_ref(&session)).await;
    }

    match redirect {
        Some(uri) => {
            let params: Vec<(&str, &str)> = params
                .get("state")
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            redirect_with(uri, &params, redirect_status)
        }
        None => signed_out_page(name.as_deref()),
    }
}
