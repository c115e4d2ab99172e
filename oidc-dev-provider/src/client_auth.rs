//! Client authentication at the token, PAR and revocation endpoints
//! (RFC 6749 2.3, OIDC Core 9): client secrets, `private_key_jwt` assertions
//! (RFC 7523 section 2.2) and public clients. Each client must use exactly the
//! method it is registered with.

use std::time::SystemTime;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::assertion::{ASSERTION_TYPE, claimed_client, verify_assertion};
use crate::config::{ClientAuthMethod, ClientRegistration};
use crate::error::OAuthError;
use crate::params::{Params, form_decode};
use crate::state::ProviderState;

/// Credentials found in HTTP Basic authorization (RFC 7617 2).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("malformed Basic authorization header");
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "only the Basic scheme is accepted here",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    // RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    Ok(Some((form_decode(id), form_decode(secret))))
}

fn secret_matches(client: &ClientRegistration, presented: &str) -> bool {
    client
        .client_secret
        .as_deref()
        .is_some_and(|s| verify_slices_are_equal(s.as_bytes(), presented.as_bytes()).is_ok())
}

fn wrong_method(client: &ClientRegistration) -> OAuthError {
    OAuthError::invalid_client(format!(
        "client must authenticate with {}",
        client.effective_auth_method().as_str()
    ))
}

/// Authenticates the client of a request to the endpoint at `path` (`/token`,
/// `/par` or `/revoke`).
pub(crate) fn authenticate<'a>(
    state: &'a ProviderState,
    headers: &HeaderMap,
    params: &Params,
    path: &str,
) -> Result<&'a ClientRegistration, OAuthError> {
    let unknown = || OAuthError::invalid_client("unknown client or bad credentials");
    let basic = basic_credentials(headers)?;
    let form_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    if assertion.is_some() || params.get("client_assertion_type").is_some() {
        if basic.is_some() || form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method",
            ));
        }
        return authenticate_assertion(state, params, path);
    }
    if let Some((id, secret)) = basic {
        if form_secret.is_some() {
            // RFC 6749 2.3: only one authentication method per request.
            return Err(OAuthError::invalid_request(
                "more than one client authentication method",
            ));
        }
        if params.get("client_id").is_some_and(|form_id| form_id != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match credentials",
            ));
        }
        let client = state.client(&id).ok_or_else(unknown)?;
        if client.effective_auth_method() != ClientAuthMethod::ClientSecretBasic {
            return Err(wrong_method(client));
        }
        return if secret_matches(client, &secret) {
            Ok(client)
        } else {
            Err(unknown())
        };
    }
    let id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
    let client = state.client(id).ok_or_else(unknown)?;
    match (client.effective_auth_method(), form_secret) {
        (ClientAuthMethod::ClientSecretPost, Some(secret)) if secret_matches(client, secret) => {
            Ok(client)
        }
        (ClientAuthMethod::ClientSecretPost, Some(_)) => Err(unknown()),
        (ClientAuthMethod::None, None) => Ok(client),
        _ => Err(wrong_method(client)),
    }
}

/// `private_key_jwt` (RFC 7523 section 2.2): the assertion names the client
/// (`client_id`, if sent, must be the same), is verified with the client's
/// registered keys, and its `jti` is used once.
fn authenticate_assertion<'a>(
    state: &'a ProviderState,
    params: &Params,
    path: &str,
) -> Result<&'a ClientRegistration, OAuthError> {
    if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(OAuthError::invalid_client(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let assertion = params.require("client_assertion")?;
    let id = match (params.get("client_id"), claimed_client(assertion)) {
        (Some(id), Some(sub)) if id != sub => {
            return Err(OAuthError::invalid_client(
                "client_id does not match the client assertion",
            ));
        }
        (Some(id), _) => id.to_owned(),
        (None, Some(sub)) => sub,
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "client assertion names no client",
            ));
        }
    };
    let client = state
        .client(&id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client or bad credentials"))?;
    if client.effective_auth_method() != ClientAuthMethod::PrivateKeyJwt {
        return Err(wrong_method(client));
    }
    // RFC 7523 section 3 point 3; RFC 9126 section 2 adds the PAR endpoint.
    let audiences = [
        state.issuer().to_owned(),
        state.endpoint("/token"),
        state.endpoint(path),
    ];
    let now = SystemTime::now();
    let verified = verify_assertion(assertion, client, &audiences, now).map_err(|e| {
        tracing::debug!(client = %client.client_id, error = %e, "client assertion refused");
        OAuthError::invalid_client(e.to_string())
    })?;
    let key = format!("{}.{}", client.client_id, verified.jti);
    if state
        .store()
        .assertion_jtis
        .insert(key, verified.expires_at, now)
        .is_err()
    {
        let replayed = crate::assertion::AssertionError::Replayed;
        return Err(OAuthError::invalid_client(replayed.to_string()));
    }
    Ok(client)
}
