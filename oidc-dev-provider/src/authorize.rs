//! The authorization endpoint (OIDC Core 3.1.2): validates the request,
//! then shows the login page or, with a matching `login_hint`, signs the
//! user in right away.

use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::error::OAuthError;
use crate::login::complete_login;
use crate::pages::{browser_error, login_page};
use crate::params::Params;
use crate::redirect::authorization_error;
use crate::state::{ProviderState, add_ttl, random_token};
use crate::store::PendingAuthorization;

/// Scopes this provider understands (OIDC Core 5.4 and 11).
pub(crate) const SUPPORTED_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// How long a login page stays usable.
const PENDING_TTL: Duration = Duration::from_secs(15 * 60);

/// Parameters interpreted by this endpoint; all others are kept as extras.
const KNOWN: [&str; 10] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "dpop_jkt",
];

/// `GET /authorize` (OIDC Core 3.1.2.1).
pub(crate) async fn authorize_get(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    handle(&state, &headers, params)
}

/// `POST /authorize`: the same request as a form (OIDC Core 3.1.2.1 requires
/// both methods).
pub(crate) async fn authorize_post(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::from_form(&headers, &body);
    handle(&state, &headers, params)
}

/// Whether `challenge` looks like a base64url SHA-256 output: 43 characters
/// from the unreserved set of RFC 7636 4.2 (also the form of a `dpop_jkt`,
/// RFC 9449 section 10).
fn valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && (challenge.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn handle(
    state: &ProviderState,
    headers: &HeaderMap,
    params: Result<Params, OAuthError>,
) -> Response {
    let (params, pushed) = match params.and_then(|p| crate::par::resolve(state, p)) {
        Ok(resolved) => resolved,
        Err(error) => return browser_error(headers, error),
    };
    // OIDC Core 3.1.2.6: without a trusted client and redirect URI the error
    // is shown to the user instead of being redirected.
    let Some(client) = params.get("client_id").and_then(|id| state.client(id)) else {
        return browser_error(
            headers,
            OAuthError::invalid_request("unknown or missing client_id"),
        );
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return browser_error(headers, OAuthError::invalid_request("missing redirect_uri"));
    };
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        let error = OAuthError::invalid_request("redirect_uri is not registered for this client");
        return browser_error(headers, error);
    }
    let rp_state = params.get("state");
    let fail = |error: &str, description: &str| {
        authorization_error(state, redirect_uri, error, description, rp_state)
    };

    if client.require_pushed_authorization_requests && !pushed {
        // RFC 9126 section 6: this client's requests must be pushed first.
        return fail(
            "invalid_request",
            "this client must use pushed authorization requests",
        );
    }
    // RFC 9449 section 10: `dpop_jkt` binds the code to a DPoP key.
    let dpop_jkt = params.get("dpop_jkt");
    if dpop_jkt.is_some_and(|jkt| !valid_s256_challenge(jkt)) {
        return fail(
            "invalid_request",
            "dpop_jkt is not a base64url SHA-256 thumbprint",
        );
    }
    if params.get("request").is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    if params.get("request_uri").is_some() {
        return fail("request_uri_not_supported", "request_uri is not supported");
    }
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
        None => return fail("invalid_request", "missing response_type"),
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return fail("invalid_request", "only response_mode=query is supported");
    }
    let requested: Vec<&str> = params.get("scope").unwrap_or("").split(' ').collect();
    if !requested.contains(&"openid") {
        return fail("invalid_scope", "scope must contain openid");
    }
    // RFC 7636 4.4.1: plain is not accepted, and a missing method means plain.
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, _) => return fail("invalid_request", "PKCE code_challenge is required"),
        (Some(_), Some("S256")) => {}
        (Some(_), _) => return fail("invalid_request", "code_challenge_method must be S256"),
    }
    let code_challenge = params.get("code_challenge").unwrap_or_default();
    if !valid_s256_challenge(code_challenge) {
        return fail(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 value",
        );
    }
    let prompt: Vec<&str> = params.get("prompt").unwrap_or("").split(' ').collect();
    if prompt.contains(&"none") {
        // OIDC Core 3.1.2.1: `none` must stand alone; this provider keeps no
        // browser session, so a silent login can never succeed.
        if prompt.len() > 1 {
            return fail(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            );
        }
        return fail("login_required", "no active session at the provider");
    }

    let granted: Vec<&str> = SUPPORTED_SCOPES
        .into_iter()
        .filter(|s| requested.contains(s))
        .collect();
    let pending = PendingAuthorization {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope: granted.join(" "),
        state: rp_state.map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        dpop_jkt: dpop_jkt.map(str::to_owned),
        login_hint: params.get("login_hint").map(str::to_owned),
        extra: params.others(&KNOWN),
        expires_at: add_ttl(SystemTime::now(), PENDING_TTL),
    };

    // Development-only convenience: a login_hint naming a demo user signs
    // that user in without showing the page, so tests need no HTML parsing.
    if let Some(user) = pending
        .login_hint
        .as_deref()
        .and_then(|h| state.user_by_name(h))
    {
        let user = user.clone();
        return complete_login(state, pending, &user, StatusCode::FOUND);
    }
    let request_id = random_token();
    let username = pending.login_hint.clone().unwrap_or_default();
    let users = &state.config().users;
    let response = login_page(
        StatusCode::OK,
        &request_id,
        &pending,
        users,
        None,
        &username,
    );
    state.store().pending.insert(request_id, pending);
    response
}

#[cfg(test)]
mod tests {
    use super::valid_s256_challenge;

    #[test]
    fn s256_challenges_must_be_43_base64url_characters() {
        assert!(valid_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_s256_challenge("short"));
        assert!(!valid_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }
}
