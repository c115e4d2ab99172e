//! Client authentication at the token and revocation endpoints
//! (RFC 6749 2.3, OIDC Core 9). Each client must use exactly the method it
//! is registered with.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

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

/// Authenticates the client of a token or revocation request.
pub(crate) fn authenticate<'a>(
    state: &'a ProviderState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a ClientRegistration, OAuthError> {
    let unknown = || OAuthError::invalid_client("unknown client or bad credentials");
    let basic = basic_credentials(headers)?;
    let form_secret = params.get("client_secret");
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
