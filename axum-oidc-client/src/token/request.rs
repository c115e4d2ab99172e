//! The client-authenticated requests to the token, revocation and pushed
//! authorization request endpoints.

use crate::config::{ClientAuthMethod, ProviderConfig};
use crate::dpop::DpopKey;
use crate::secret::{PkceCodeVerifier, RefreshTokenValue};

use super::{AccessTokenResponse, MAX_TOKEN_RESPONSE_LEN, TokenError, parse_bound_response};

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Sends a client-authenticated form POST (OIDC Core 9) and returns status and body.
/// A `client_id` already in `form` (a pushed authorization request's) is not repeated.
///
/// With a DPoP key, the request carries a proof of it (RFC 9449 section 5) with the
/// provider's last `DPoP-Nonce`; a nonce challenge (section 8) is answered once, with
/// a fresh proof and, for `private_key_jwt`, a fresh client assertion.
pub(crate) async fn post_form(
    provider: &ProviderConfig,
    endpoint: &url::Url,
    form: Vec<(&str, &str)>,
    dpop: Option<&DpopKey>,
) -> Result<(u16, Vec<u8>), TokenError> {
    let mut nonce = dpop.and_then(|_| provider.dpop_nonce.get());
    let mut challenged = false;
    loop {
        let mut req = authenticated_request(provider, endpoint, &form)?;
        if let Some(key) = dpop {
            let proof = key
                .proof(
                    &http::Method::POST,
                    endpoint.as_str(),
                    chrono::Utc::now().timestamp(),
                    nonce.as_deref(),
                    None,
                )
                .map_err(TokenError::DpopProof)?;
            req = req.header("DPoP", proof);
        }
        let resp = crate::http_util::send(req, endpoint_kind(provider, endpoint))
            .await
            .map_err(TokenError::Http)?;
        let status = resp.status().as_u16();
        let server_nonce = dpop.and_then(|_| crate::dpop::server_nonce(resp.headers()));
        let body = crate::http_util::read_limited(resp, MAX_TOKEN_RESPONSE_LEN)
            .await
            .map_err(|_| TokenError::InvalidResponse)?;
        if let Some(n) = &server_nonce {
            provider.dpop_nonce.set(n.clone());
        }
        let challenge = crate::dpop::is_token_nonce_challenge(status, &body);
        match server_nonce {
            Some(n) if challenge && !challenged => {
                challenged = true;
                nonce = Some(n);
            }
            _ => return Ok((status, body)),
        }
    }
}

/// Which endpoint a client-authenticated form POST goes to, for metrics: the token,
/// the revocation or the pushed authorization request endpoint.
fn endpoint_kind(
    provider: &ProviderConfig,
    endpoint: &url::Url,
) -> crate::observe::ProviderEndpoint {
    if provider.revocation_endpoint.as_ref() == Some(endpoint) {
        crate::observe::ProviderEndpoint::Revocation
    } else if provider.par_endpoint.as_ref() == Some(endpoint) {
        crate::observe::ProviderEndpoint::PushedAuthorization
    } else {
        crate::observe::ProviderEndpoint::Token
    }
}

/// The form POST with the client's authentication (OIDC Core 9), a client assertion
/// made now.
fn authenticated_request(
    provider: &ProviderConfig,
    endpoint: &url::Url,
    form: &[(&str, &str)],
) -> Result<reqwest::RequestBuilder, TokenError> {
    let assertion: String;
    let mut form: Vec<(&str, &str)> = form.iter().copied().collect();
    let mut req = provider
        .http
        .post(endpoint.clone())
        .header(http::header::ACCEPT, "application/json");
    let secret = provider
        .client_secret
        .as_ref()
        .map(|s| s.secret())
        .unwrap_or_default();
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
    Ok(req.form(&form))
}

/// Exchanges an authorization code (RFC 6749 4.1.3, RFC 7636 4.5).
///
/// `redirect_uri` is sent when given: RFC 6749 4.1.3 requires it when the
/// authorization request carried one. With a DPoP key, the tokens are bound to it
/// (RFC 9449 section 5).
pub(crate) async fn exchange_code(
    provider: &ProviderConfig,
    redirect_uri: Option<&url::Url>,
    code: &str,
    verifier: &PkceCodeVerifier,
    dpop: Option<&DpopKey>,
) -> Result<AccessTokenResponse, TokenError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier.secret()),
    ];
    if let Some(uri) = redirect_uri {
        form.push(("redirect_uri", uri.as_str()));
    }
    let (status, body) = post_form(provider, &provider.token_endpoint, form, dpop).await?;
    let secret = provider.client_secret.as_ref().map(|s| s.secret());
    redacted(
        parse_bound_response(status, &body, dpop),
        &[code, verifier.secret(), secret.unwrap_or_default()],
    )
}

/// `result` with every `sent` value removed from an error description.
pub(super) fn redacted(
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

/// Uses a refresh token (RFC 6749 section 6). With the session's DPoP key, the new
/// tokens are bound to it (RFC 9449 section 5), the key a public client's refresh
/// token is bound to.
pub(crate) async fn refresh(
    provider: &ProviderConfig,
    token: &RefreshTokenValue,
    dpop: Option<&DpopKey>,
) -> Result<AccessTokenResponse, TokenError> {
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token.secret()),
    ];
    let (status, body) = post_form(provider, &provider.token_endpoint, form, dpop).await?;
    let secret = provider.client_secret.as_ref().map(|s| s.secret());
    redacted(
        parse_bound_response(status, &body, dpop),
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
        None,
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
