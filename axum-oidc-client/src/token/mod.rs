//! Calls to the token endpoint (RFC 6749 sections 4.1.3 and 6, OIDC Core 3.1.3 and 12)
//! and the revocation endpoint (RFC 7009).

use serde::Deserialize;

use crate::failure::Failure;

/// Largest token response accepted (bytes).
pub const MAX_TOKEN_RESPONSE_LEN: usize = 64 * 1024;

/// A successful token response (RFC 6749 section 5.1).
///
/// ```
/// use axum_oidc_client::AccessTokenResponse;
///
/// let r: AccessTokenResponse = serde_json::from_str(
///     r#"{"access_token": "at-secret", "token_type": "Bearer", "expires_in": 300,
///         "refresh_token": "rt-secret"}"#,
/// )
/// .unwrap();
/// assert_eq!(r.expires_in, Some(300));
/// assert!(r.id_token.is_none());
/// let debug = format!("{r:?}");
/// assert!(!debug.contains("at-secret") && !debug.contains("rt-secret"));
/// ```
#[derive(Clone, Deserialize, PartialEq)]
pub struct AccessTokenResponse {
    /// `access_token`.
    pub access_token: String,
    /// `token_type`.
    pub token_type: String,
    /// `expires_in`, seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// `refresh_token`.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// `id_token`.
    #[serde(default)]
    pub id_token: Option<String>,
    /// `scope`.
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for AccessTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_id_token", &self.id_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Longest `error` code kept from an error response (characters).
pub const MAX_OAUTH_ERROR_LEN: usize = 64;
/// Longest `error_description` kept from an error response (characters).
pub const MAX_OAUTH_ERROR_DESCRIPTION_LEN: usize = 200;

/// A token endpoint's error response (RFC 6749 section 5.2), made safe to log: the
/// `error` code is its leading run of code characters (at most
/// [`MAX_OAUTH_ERROR_LEN`]); the `error_description` keeps only the characters RFC 6749
/// allows it (printable ASCII but `"` and `\`), at most
/// [`MAX_OAUTH_ERROR_DESCRIPTION_LEN`], and never repeats a value the request sent.
/// The raw body is never kept.
///
/// ```
/// use axum_oidc_client::__private::token::{TokenError, parse_token_response};
///
/// let body = br#"{"error":"invalid_client","error_description":"client authentication failed\n\u001b[31m"}"#;
/// let Err(TokenError::InvalidClient(e)) = parse_token_response(401, body) else { panic!() };
/// assert_eq!(e.code(), "invalid_client");
/// assert_eq!(e.to_string(), "invalid_client: client authentication failed[31m");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OAuthErrorResponse {
    code: String,
    description: Option<String>,
}

impl OAuthErrorResponse {
    pub(crate) fn sanitize(error: &str, description: Option<&str>) -> Self {
        let code = error
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .take(MAX_OAUTH_ERROR_LEN)
            .collect();
        let description = description
            .map(|d| {
                description_chars(d)
                    .take(MAX_OAUTH_ERROR_DESCRIPTION_LEN)
                    .collect::<String>()
            })
            .filter(|d| !d.trim().is_empty());
        Self { code, description }
    }

    /// The `error` code, e.g. `invalid_client`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The `error_description`, if the provider sent one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Removes any value the request carried (code, verifier, secret, token) from the
    /// description: a provider that echoes its input must not put it in a log.
    pub(crate) fn redact(&mut self, sent: &[&str]) {
        let Some(d) = &mut self.description else {
            return;
        };
        for value in sent {
            let value: String = description_chars(value).collect();
            if value.len() < 4 {
                continue;
            }
            if d.contains(&value) {
                *d = d.replace(&value, "[redacted]");
            }
            // The cap may have cut a value short at the end.
            let cut = (4..value.len())
                .rev()
                .find(|&k| value.get(..k).is_some_and(|head| d.ends_with(head)));
            if let Some(k) = cut {
                d.truncate(d.len() - k);
                d.push_str("[redacted]");
            }
        }
    }
}

/// The characters RFC 6749 section 5.2 allows in `error_description`: printable
/// ASCII except `"` and `\`. Control characters (a forged log line, terminal escapes)
/// and everything else are dropped.
fn description_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| matches!(c, ' '..='~') && !matches!(c, '"' | '\\'))
}

impl std::fmt::Display for OAuthErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {d}", self.code),
            None => f.write_str(&self.code),
        }
    }
}

/// Why a token endpoint call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No answer: connection failure or timeout. A provider fault.
    #[error("token endpoint unreachable")]
    Http(#[source] reqwest::Error),
    /// The grant (code or refresh token) is invalid, expired or revoked (RFC 6749 5.2).
    #[error("invalid_grant")]
    InvalidGrant,
    /// The provider refused the client itself (RFC 6749 5.2 `invalid_client` or
    /// `unauthorized_client`): a wrong client ID, secret or authentication method.
    #[error("token endpoint refused the client")]
    InvalidClient(#[source] OAuthErrorResponse),
    /// Another OAuth error (RFC 6749 5.2), such as `invalid_request`.
    #[error("token endpoint refused the request")]
    OAuth(#[source] OAuthErrorResponse),
    /// A 5xx or other unexpected status. A provider fault.
    #[error("token endpoint answered HTTP {0}")]
    Status(u16),
    /// The response is not a valid token response.
    #[error("invalid token response")]
    InvalidResponse,
    /// `token_type` is not `Bearer` (OIDC Core 3.1.3.3), nor `DPoP` when DPoP was
    /// asked for (RFC 9449 section 5).
    #[error("unsupported token type")]
    UnsupportedTokenType,
    /// The provider did not bind the tokens to the session's DPoP key (RFC 9449
    /// sections 5 and 6.1). A configuration fault: the client is not registered for
    /// DPoP, or the provider does not support it.
    #[error("DPoP binding")]
    DpopBinding(#[source] crate::dpop::BindingError),
    /// A DPoP proof could not be made (the session's key is unusable).
    #[error("DPoP proof")]
    DpopProof(#[source] crate::dpop::DpopError),
    /// The client assertion (`private_key_jwt`, `client_secret_jwt`) could not be
    /// made. A configuration fault.
    #[error("client assertion: {0}")]
    ClientAssertion(#[source] crate::client_auth::ClientAuthError),
}

impl TokenError {
    /// Whether the provider is at fault (down, slow, erroring) rather than the grant.
    pub fn is_provider_fault(&self) -> bool {
        matches!(
            self,
            Self::Http(_) | Self::Status(_) | Self::InvalidResponse
        )
    }

    /// The reason code and class of a failed code exchange.
    pub fn failure(&self) -> Failure {
        match self {
            Self::Http(_) => Failure::provider_outage("token_endpoint_unreachable"),
            Self::Status(401) => Failure::configuration("invalid_client"),
            Self::Status(s) if (400..500).contains(s) => {
                Failure::configuration("token_request_rejected")
            }
            Self::Status(_) => Failure::provider_outage("token_endpoint_unavailable"),
            Self::InvalidResponse => Failure::provider_outage("invalid_token_response"),
            Self::InvalidGrant => Failure::user("invalid_grant"),
            Self::InvalidClient(e) if e.code() == "unauthorized_client" => {
                Failure::configuration("unauthorized_client")
            }
            Self::InvalidClient(_) => Failure::configuration("invalid_client"),
            Self::OAuth(e) => match e.code() {
                "redirect_uri_mismatch" | "invalid_redirect_uri" => {
                    Failure::configuration("redirect_uri_mismatch")
                }
                "invalid_request" if e.description().is_some_and(names_redirect_uri) => {
                    Failure::configuration("redirect_uri_mismatch")
                }
                "invalid_scope" => Failure::configuration("invalid_scope"),
                "unsupported_grant_type" => Failure::configuration("unsupported_grant_type"),
                "server_error" | "temporarily_unavailable" => {
                    Failure::provider_outage("token_endpoint_unavailable")
                }
                _ => Failure::configuration("token_request_rejected"),
            },
            Self::UnsupportedTokenType => Failure::configuration("unsupported_token_type"),
            Self::ClientAssertion(_) => Failure::configuration("client_assertion"),
            Self::DpopBinding(crate::dpop::BindingError::NotBound) => {
                Failure::configuration("dpop_not_bound")
            }
            Self::DpopBinding(_) => Failure::configuration("dpop_binding_mismatch"),
            Self::DpopProof(_) => Failure::configuration("dpop_proof"),
        }
    }
}

/// Whether a provider's `error_description` is about the redirect URI.
pub(crate) fn names_redirect_uri(description: &str) -> bool {
    let d = description.to_ascii_lowercase();
    d.contains("redirect_uri") || d.contains("redirect uri") || d.contains("redirect url")
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Interprets a token endpoint answer (RFC 6749 5.1 and 5.2) to a request without
/// DPoP: `token_type` must be `Bearer` (OIDC Core 3.1.3.3).
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<AccessTokenResponse, TokenError> {
    parse_bound_response(status, body, None)
}

/// Interprets a token endpoint answer to a request that proved possession of `dpop`,
/// when given: the tokens must be bound to it (RFC 9449 section 5,
/// [`check_binding`](crate::dpop::check_binding)); without it, `token_type` must be
/// `Bearer`.
pub(crate) fn parse_bound_response(
    status: u16,
    body: &[u8],
    dpop: Option<&crate::dpop::DpopKey>,
) -> Result<AccessTokenResponse, TokenError> {
    // Some OAuth2-only providers report errors with a 2xx status.
    let error_in_body = serde_json::from_slice::<OAuthErrorBody>(body).ok();
    if (200..300).contains(&status) && error_in_body.is_none() {
        let r: AccessTokenResponse =
            serde_json::from_slice(body).map_err(|_| TokenError::InvalidResponse)?;
        if r.access_token.is_empty() {
            return Err(TokenError::InvalidResponse);
        }
        match dpop {
            Some(key) => crate::dpop::check_binding(&r.token_type, &r.access_token, key)
                .map_err(TokenError::DpopBinding)?,
            None if r.token_type.eq_ignore_ascii_case("bearer") => {}
            None => return Err(TokenError::UnsupportedTokenType),
        }
        return Ok(r);
    }
    match error_in_body {
        Some(e) if e.error == "invalid_grant" => Err(TokenError::InvalidGrant),
        Some(e) if (400..500).contains(&status) => {
            let e = OAuthErrorResponse::sanitize(&e.error, e.error_description.as_deref());
            if matches!(e.code(), "invalid_client" | "unauthorized_client") {
                Err(TokenError::InvalidClient(e))
            } else {
                Err(TokenError::OAuth(e))
            }
        }
        _ => Err(TokenError::Status(status)),
    }
}

mod request;
#[cfg(test)]
use request::redacted;
pub(crate) use request::{exchange_code, post_form, refresh, revoke};

#[cfg(test)]
mod tests;
