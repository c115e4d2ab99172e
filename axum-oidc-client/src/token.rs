//! Calls to the token endpoint (RFC 6749 sections 4.1.3 and 6, OIDC Core 3.1.3 and 12)
//! and the revocation endpoint (RFC 7009).

use serde::Deserialize;

use crate::config::{ClientAuthMethod, ProviderConfig};
use crate::secret::{PkceCodeVerifier, RefreshTokenValue};

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
    /// Another OAuth error code (RFC 6749 5.2), such as `invalid_client`.
    #[error("token endpoint error {0}")]
    OAuth(String),
    /// A 5xx or other unexpected status. A provider fault.
    #[error("token endpoint answered HTTP {0}")]
    Status(u16),
    /// The response is not a valid token response.
    #[error("invalid token response")]
    InvalidResponse,
    /// `token_type` is not `Bearer` (OIDC Core 3.1.3.3).
    #[error("unsupported token type")]
    UnsupportedTokenType,
}

impl TokenError {
    /// Whether the provider is at fault (down, slow, erroring) rather than the grant.
    pub fn is_provider_fault(&self) -> bool {
        matches!(
            self,
            Self::Http(_) | Self::Status(_) | Self::InvalidResponse
        )
    }
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Sends a client-authenticated form POST (OIDC Core 9) and returns status and body.
async fn post_form(
    provider: &ProviderConfig,
    endpoint: &url::Url,
    mut form: Vec<(&str, &str)>,
) -> Result<(u16, Vec<u8>), TokenError> {
    let mut req = provider
        .http
        .post(endpoint.clone())
        .header(http::header::ACCEPT, "application/json");
    let secret = provider
        .client_secret
        .as_ref()
        .map(|s| s.secret())
        .unwrap_or_default();
    match provider.client_auth {
        ClientAuthMethod::ClientSecretBasic => {
            // RFC 6749 2.3.1: both parts are form-urlencoded before Base64.
            req = req.basic_auth(form_encode(&provider.client_id), Some(form_encode(secret)));
        }
        ClientAuthMethod::ClientSecretPost => {
            form.push(("client_id", &provider.client_id));
            form.push(("client_secret", secret));
        }
        ClientAuthMethod::None => form.push(("client_id", &provider.client_id)),
    }
    let resp = crate::http_util::send(
        req.form(&form),
        crate::observe::ProviderEndpoint::of_form_post(provider, endpoint),
    )
    .await
    .map_err(TokenError::Http)?;
    let status = resp.status().as_u16();
    let body = crate::http_util::read_limited(resp, MAX_TOKEN_RESPONSE_LEN)
        .await
        .map_err(|_| TokenError::InvalidResponse)?;
    Ok((status, body))
}

/// Interprets a token endpoint answer (RFC 6749 5.1 and 5.2).
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<AccessTokenResponse, TokenError> {
    // Some OAuth2-only providers report errors with a 2xx status.
    let error_in_body = serde_json::from_slice::<OAuthErrorBody>(body).ok();
    if (200..300).contains(&status) && error_in_body.is_none() {
        let r: AccessTokenResponse =
            serde_json::from_slice(body).map_err(|_| TokenError::InvalidResponse)?;
        if r.access_token.is_empty() {
            return Err(TokenError::InvalidResponse);
        }
        if !r.token_type.eq_ignore_ascii_case("bearer") {
            return Err(TokenError::UnsupportedTokenType);
        }
        return Ok(r);
    }
    match serde_json::from_slice::<OAuthErrorBody>(body) {
        Ok(e) if e.error == "invalid_grant" => Err(TokenError::InvalidGrant),
        Ok(e) if (400..500).contains(&status) => {
            Err(TokenError::OAuth(e.error.chars().take(64).collect()))
        }
        _ => Err(TokenError::Status(status)),
    }
}

/// Exchanges an authorization code (RFC 6749 4.1.3, RFC 7636 4.5).
///
/// `redirect_uri` is sent when given: RFC 6749 4.1.3 requires it when the
/// authorization request carried one.
pub(crate) async fn exchange_code(
    provider: &ProviderConfig,
    redirect_uri: Option<&url::Url>,
    code: &str,
    verifier: &PkceCodeVerifier,
) -> Result<AccessTokenResponse, TokenError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier.secret()),
    ];
    if let Some(uri) = redirect_uri {
        form.push(("redirect_uri", uri.as_str()));
    }
    let (status, body) = post_form(provider, &provider.token_endpoint, form).await?;
    parse_token_response(status, &body)
}

/// Uses a refresh token (RFC 6749 section 6).
pub(crate) async fn refresh(
    provider: &ProviderConfig,
    token: &RefreshTokenValue,
) -> Result<AccessTokenResponse, TokenError> {
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token.secret()),
    ];
    let (status, body) = post_form(provider, &provider.token_endpoint, form).await?;
    parse_token_response(status, &body)
}

/// Revokes a token (RFC 7009 section 2.1). The caller logs failures; logout goes on.
pub(crate) async fn revoke(
    provider: &ProviderConfig,
    token: &str,
    hint: &str,
) -> Result<(), TokenError> {
    let Some(endpoint) = &provider.revocation_endpoint else {
        return Ok(());
    };
    let (status, _) = post_form(
        provider,
        endpoint,
        vec![("token", token), ("token_type_hint", hint)],
    )
    .await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(TokenError::Status(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_success_and_error_bodies() {
        let ok = parse_token_response(
            200,
            br#"{"access_token":"a","token_type":"bearer","expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Some(60));
        assert!(matches!(
            parse_token_response(400, br#"{"error":"invalid_grant"}"#),
            Err(TokenError::InvalidGrant)
        ));
        assert!(
            matches!(parse_token_response(401, br#"{"error":"invalid_client"}"#), Err(TokenError::OAuth(e)) if e == "invalid_client")
        );
        assert!(matches!(
            parse_token_response(503, b"down"),
            Err(TokenError::Status(503))
        ));
        assert!(matches!(
            parse_token_response(200, b"{}"),
            Err(TokenError::InvalidResponse)
        ));
        assert!(matches!(
            parse_token_response(200, br#"{"access_token":"a","token_type":"DPoP"}"#),
            Err(TokenError::UnsupportedTokenType)
        ));
    }

    #[test]
    fn debug_hides_tokens() {
        let r = parse_token_response(200, br#"{"access_token":"SECRET-A","token_type":"Bearer","refresh_token":"SECRET-R","id_token":"SECRET-I"}"#).unwrap();
        let d = format!("{r:?}");
        assert!(!d.contains("SECRET"));
    }
}
