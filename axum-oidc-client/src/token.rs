//! Calls to the token endpoint (RFC 6749 sections 4.1.3 and 6, OIDC Core 3.1.3 and 12)
//! and the revocation endpoint (RFC 7009).

use serde::Deserialize;

use crate::config::{ClientAuthMethod, ProviderConfig};
use crate::failure::Failure;
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
    /// `token_type` is not `Bearer` (OIDC Core 3.1.3.3).
    #[error("unsupported token type")]
    UnsupportedTokenType,
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

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Sends a client-authenticated form POST (OIDC Core 9) and returns status and body.
/// A `client_id` already in `form` (a pushed authorization request's) is not repeated.
pub(crate) async fn post_form(
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
    let assertion: String;
    // RFC 6749 section 3.1: no parameter more than once.
    let has_client_id = form.iter().any(|(k, _)| *k == "client_id");
    match provider.client_auth {
        ClientAuthMethod::ClientSecretBasic => {
            // RFC 6749 2.3.1: both parts are form-urlencoded before Base64.
            req = req.basic_auth(form_encode(&provider.client_id), Some(form_encode(secret)));
        }
        ClientAuthMethod::ClientSecretPost => {
            if !has_client_id {
                form.push(("client_id", &provider.client_id));
            }
            form.push(("client_secret", secret));
        }
        ClientAuthMethod::None if has_client_id => {}
        ClientAuthMethod::None => form.push(("client_id", &provider.client_id)),
        ClientAuthMethod::PrivateKeyJwt | ClientAuthMethod::ClientSecretJwt => {
            assertion = provider_assertion(provider).map_err(TokenError::ClientAssertion)?;
            if !has_client_id {
                form.push(("client_id", &provider.client_id));
            }
            form.push(("client_assertion_type", crate::client_auth::ASSERTION_TYPE));
            form.push(("client_assertion", &assertion));
        }
    }
    let resp = crate::http_util::send(
        req.form(&form),
        // A client-authenticated form POST goes to the token, the revocation or the
        // pushed authorization request endpoint.
        if provider.revocation_endpoint.as_ref() == Some(endpoint) {
            crate::observe::ProviderEndpoint::Revocation
        } else if provider.par_endpoint.as_ref() == Some(endpoint) {
            crate::observe::ProviderEndpoint::PushedAuthorization
        } else {
            crate::observe::ProviderEndpoint::Token
        },
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
    let secret = provider.client_secret.as_ref().map(|s| s.secret());
    redacted(
        parse_token_response(status, &body),
        &[code, verifier.secret(), secret.unwrap_or_default()],
    )
}

/// `result` with every `sent` value removed from an error description.
fn redacted(
    result: Result<AccessTokenResponse, TokenError>,
    sent: &[&str],
) -> Result<AccessTokenResponse, TokenError> {
    result.map_err(|mut e| {
        if let TokenError::InvalidClient(o) | TokenError::OAuth(o) = &mut e {
            o.redact(sent);
        }
        e
    })
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
    let secret = provider.client_secret.as_ref().map(|s| s.secret());
    redacted(
        parse_token_response(status, &body),
        &[token.secret(), secret.unwrap_or_default()],
    )
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

/// The client assertion for a call to `provider`'s token or revocation endpoint:
/// `private_key_jwt` with its first key, else `client_secret_jwt` with its secret.
/// `aud` is the issuer identifier, or, without one (OAuth 2.0 only), the token
/// endpoint (RFC 7523 section 3 point 3). Issued now, by the system clock: the
/// provider checks it against its own.
fn provider_assertion(
    provider: &ProviderConfig,
) -> Result<String, crate::client_auth::ClientAuthError> {
    let signer = match provider.client_auth {
        ClientAuthMethod::PrivateKeyJwt => crate::client_auth::AssertionSigner::Key(
            provider
                .client_keys
                .first()
                .ok_or(crate::client_auth::ClientAuthError::Key("no signing key"))?,
        ),
        _ => crate::client_auth::AssertionSigner::Secret(
            provider
                .client_secret
                .as_ref()
                .map(|s| s.secret())
                .unwrap_or_default(),
        ),
    };
    let audience = provider
        .issuer
        .as_deref()
        .unwrap_or(provider.token_endpoint.as_str());
    crate::client_auth::client_assertion(
        &signer,
        &provider.client_id,
        audience,
        chrono::Utc::now().timestamp(),
    )
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
            matches!(parse_token_response(401, br#"{"error":"invalid_client"}"#), Err(TokenError::InvalidClient(e)) if e.code() == "invalid_client")
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

    #[test]
    fn a_refused_client_keeps_its_code_and_description_in_the_cause_chain() {
        let e = parse_token_response(
            401,
            br#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
        )
        .unwrap_err();
        assert_eq!(
            crate::observe::error_chain(&e),
            "token endpoint refused the client: invalid_client: client authentication failed"
        );
        assert_eq!(e.failure().reason(), "invalid_client");
        assert_eq!(
            e.failure().class(),
            crate::failure::FailureClass::Configuration
        );
    }

    #[test]
    fn an_error_description_is_filtered_capped_and_never_repeats_what_was_sent() {
        let long = "x".repeat(500);
        let body = format!(
            r#"{{"error":"invalid_request\r\nfake","error_description":"bad code c0de-SECRET \u001b[2J{long}"}}"#
        );
        let r = redacted(parse_token_response(400, body.as_bytes()), &["c0de-SECRET"]);
        let Err(TokenError::OAuth(e)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(e.code(), "invalid_request");
        let d = e.description().unwrap();
        assert!(d.starts_with("bad code [redacted] [2Jxxx"), "{d}");
        assert!(d.chars().count() <= MAX_OAUTH_ERROR_DESCRIPTION_LEN);
        // A value cut short by the cap is redacted too.
        let mut e =
            OAuthErrorResponse::sanitize("x", Some(&format!("{} abcdefgh", "y".repeat(193))));
        e.redact(&["abcdefghij"]);
        assert!(e.description().unwrap().ends_with(" [redacted]"), "{e}");
        assert!(d.chars().all(|c| (' '..='~').contains(&c)));
    }

    #[test]
    fn token_endpoint_errors_map_to_their_reason_and_class() {
        use crate::failure::FailureClass::{Configuration, Outage, User};
        let cases: &[(u16, &[u8], &str, crate::failure::FailureClass)] = &[
            (400, br#"{"error":"invalid_grant"}"#, "invalid_grant", User),
            (
                401,
                br#"{"error":"invalid_client"}"#,
                "invalid_client",
                Configuration,
            ),
            (
                400,
                br#"{"error":"unauthorized_client"}"#,
                "unauthorized_client",
                Configuration,
            ),
            (
                400,
                br#"{"error":"redirect_uri_mismatch"}"#,
                "redirect_uri_mismatch",
                Configuration,
            ),
            (
                400,
                br#"{"error":"invalid_redirect_uri"}"#,
                "redirect_uri_mismatch",
                Configuration,
            ),
            (
                400,
                br#"{"error":"invalid_request","error_description":"redirect_uri did not match"}"#,
                "redirect_uri_mismatch",
                Configuration,
            ),
            (
                400,
                br#"{"error":"invalid_request"}"#,
                "token_request_rejected",
                Configuration,
            ),
            (
                400,
                br#"{"error":"invalid_scope"}"#,
                "invalid_scope",
                Configuration,
            ),
            (401, b"Unauthorized", "invalid_client", Configuration),
            (503, b"down", "token_endpoint_unavailable", Outage),
            (
                400,
                br#"{"error":"temporarily_unavailable"}"#,
                "token_endpoint_unavailable",
                Outage,
            ),
            (200, b"{}", "invalid_token_response", Outage),
            (
                200,
                br#"{"access_token":"a","token_type":"DPoP"}"#,
                "unsupported_token_type",
                Configuration,
            ),
        ];
        for (status, body, reason, class) in cases {
            let f = parse_token_response(*status, body).unwrap_err().failure();
            assert_eq!(
                (f.reason(), f.class()),
                (*reason, *class),
                "{status} {body:?}"
            );
        }
    }
}
