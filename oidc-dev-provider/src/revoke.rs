//! Token revocation (RFC 7009).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::client_auth::authenticate;
use crate::error::OAuthError;
use crate::params::Params;
use crate::state::{Counters, ProviderState};
use crate::store::Store;
use crate::userinfo::AccessClaims;

/// `POST /revoke` (RFC 7009 2.1). Revoking a refresh token revokes its whole
/// grant, including access tokens. Unknown tokens, and tokens of other
/// clients, are answered with 200 as well (RFC 7009 2.2), without effect.
pub(crate) async fn revoke(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &body) {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

fn handle(state: &ProviderState, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = Params::from_form(headers, body)?;
    let client = authenticate(state, headers, &params, "/revoke")?;
    let token = params.require("token")?;
    // The token_type_hint (RFC 7009 2.1) is optional; both kinds are tried.
    let access_jti = (state.keys().verify::<AccessClaims>(token, state.issuer())).map(|c| c.jti);
    let mut store = state.store();
    if let Some(grant_id) = store.refresh.get(token).map(|r| r.grant_id.clone()) {
        if owned_by(&store, &grant_id, &client.client_id) {
            store.revoke_grant(&grant_id);
            Counters::bump(&state.counters().revocations);
        }
        return Ok(());
    }
    if let Some(jti) = access_jti
        && let Some(grant_id) = store.access.get(&jti).map(|r| r.grant_id.clone())
        && owned_by(&store, &grant_id, &client.client_id)
    {
        store.access.remove(&jti);
        Counters::bump(&state.counters().revocations);
    }
    Ok(())
}

/// Whether the grant exists and belongs to `client_id`.
fn owned_by(store: &Store, grant_id: &str, client_id: &str) -> bool {
    store
        .grants
        .get(grant_id)
        .is_some_and(|g| g.client_id == client_id)
}
