//! The login form submission and the successful authentication response
//! (OIDC Core 3.1.2.5).

use std::collections::BTreeSet;
use std::time::SystemTime;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::config::DemoUser;
use crate::error::OAuthError;
use crate::pages::{browser_error, login_page};
use crate::params::Params;
use crate::redirect::redirect_with;
use crate::state::{ProviderState, add_ttl, random_token, unix_secs};
use crate::store::{AuthCode, PendingAuthorization, Session};

/// Signs `user` in for `pending`: starts a provider session with a fresh
/// `sid`, issues a one-time code bound to the request (RFC 6749 4.1.2) and
/// redirects to the client with `code`, `state` and, when advertised, `iss`
/// (RFC 9207 2).
pub(crate) fn complete_login(
    state: &ProviderState,
    pending: PendingAuthorization,
    user: &DemoUser,
    status: StatusCode,
) -> Response {
    let now = SystemTime::now();
    let sid = random_token();
    let code = random_token();
    let session = Session {
        sid: sid.clone(),
        sub: user.sub.clone(),
        auth_time: unix_secs(now),
        acr: acr_for(pending.extra.get("acr_values").map(String::as_str)),
        clients: BTreeSet::from([pending.client_id.clone()]),
    };
    let record = AuthCode {
        client_id: pending.client_id,
        redirect_uri: pending.redirect_uri.clone(),
        scope: pending.scope,
        nonce: pending.nonce,
        code_challenge: pending.code_challenge,
        sid: sid.clone(),
        sub: user.sub.clone(),
        auth_time: session.auth_time,
        acr: session.acr,
        grant_id: random_token(),
        expires_at: add_ttl(now, state.config().code_ttl),
        used: false,
        dpop_jkt: pending.dpop_jkt,
    };
    {
        let mut store = state.store();
        store.sessions.insert(sid, session);
        store.codes.insert(code.clone(), record);
    }
    tracing::info!(user = %user.username, "user signed in at the dev provider");
    let mut params = vec![("code", code.as_str())];
    if let Some(rp_state) = pending.state.as_deref() {
        params.push(("state", rp_state));
    }
    if state.config().advertise_iss_parameter {
        params.push(("iss", state.issuer()));
    }
    redirect_with(&pending.redirect_uri, &params, status)
}

/// The `acr` of a sign-in whose request asked for `acr_values` (OIDC Core 3.1.2.1):
/// [`ACR_MFA`](crate::ACR_MFA) when listed, else [`ACR_PASSWORD`](crate::ACR_PASSWORD).
pub(crate) fn acr_for(acr_values: Option<&str>) -> &'static str {
    if acr_values.is_some_and(|v| v.split(' ').any(|a| a == crate::ACR_MFA)) {
        crate::ACR_MFA
    } else {
        crate::ACR_PASSWORD
    }
}

/// `POST /login` with form fields `request_id`, `username` and `password`.
/// A wrong password re-renders the page with status 401.
pub(crate) async fn login(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::from_form(&headers, &body) {
        Ok(params) => params,
        Err(error) => return browser_error(&headers, error),
    };
    let request_id = params.get("request_id").unwrap_or_default();
    let pending = state.store().pending.get(request_id).cloned();
    let Some(pending) = pending else {
        let error = OAuthError::invalid_request(
            "unknown or expired login request; start the sign-in again",
        );
        return browser_error(&headers, error);
    };
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let user = state.user_by_name(username).filter(|user| {
        verify_slices_are_equal(user.password.as_bytes(), password.as_bytes()).is_ok()
    });
    let Some(user) = user.cloned() else {
        tracing::info!(user = %username, "failed sign-in attempt");
        let users = &state.config().users;
        let error = Some("Invalid username or password.");
        return login_page(
            StatusCode::UNAUTHORIZED,
            request_id,
            &pending,
            users,
            error,
            username,
        );
    };
    // Only the first submission wins; a concurrent second one finds nothing.
    if state.store().pending.remove(request_id).is_none() {
        let error = OAuthError::invalid_request("login request already completed");
        return browser_error(&headers, error);
    }
    complete_login(&state, pending, &user, StatusCode::SEE_OTHER)
}

#[cfg(test)]
mod tests {
    use super::acr_for;

    #[test]
    fn a_sign_in_is_a_password_one_unless_acr_values_ask_for_mfa() {
        assert_eq!(acr_for(None), crate::ACR_PASSWORD);
        assert_eq!(acr_for(Some("urn:example:pwd")), crate::ACR_PASSWORD);
        assert_eq!(acr_for(Some("urn:other urn:example:mfa")), crate::ACR_MFA);
        assert_eq!(acr_for(Some("urn:example:mfax")), crate::ACR_PASSWORD);
    }
}
