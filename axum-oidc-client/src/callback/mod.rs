//! The redirect URI (OIDC Core 3.1.2.5-3.1.3.7): check the authorization response,
//! exchange the code, verify the ID token, create the session.

use std::time::Duration;

use http::HeaderMap;
use sha2::Digest as _;

use crate::config::providers::ProviderEntry;
use crate::config::{IdentityMode, OAuthConfiguration, ProviderConfig};
use crate::failure::Failure;
use crate::id_token::{Expectations, IdTokenClaims, IdTokenError, NonceCheck, verify_id_token};
use crate::secret::{AccessTokenValue, IdTokenValue, RefreshTokenValue, constant_time_eq};
use crate::session::cookies::{
    LOGIN_COOKIE_MAX_AGE, LoginState, login_cookie_name, read_login_cookie,
};
use crate::session::{SessionRecord, TokenSet};
use crate::token::{AccessTokenResponse, TokenError};
use crate::userinfo::{UserInfoError, fetch_user_claims};

mod establish;
mod gate;
mod reasons;

pub(crate) use establish::{Established, establish_session};

pub(crate) use gate::ExchangeClaim;
pub use gate::MAX_CODE_EXCHANGES_IN_FLIGHT;

/// Longest callback query accepted.
pub const MAX_CALLBACK_QUERY: usize = 8 * 1024;

/// The authorization response parameters (RFC 6749 4.1.2, RFC 9207).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
    /// `error` (RFC 6749 4.1.2.1).
    pub error: Option<String>,
    /// `error_description` (RFC 6749 4.1.2.1): only read to tell a refused redirect
    /// URI apart, never shown or logged.
    pub error_description: Option<String>,
}

/// Why a callback was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The query is malformed, too long, or repeats a parameter (RFC 6749 3.1).
    #[error("malformed authorization response")]
    MalformedQuery,
    /// No `state` parameter.
    #[error("missing state")]
    MissingState,
    /// No login cookie for this `state`: forged, from another browser, or expired.
    #[error("state does not match this browser")]
    StateMismatch,
    /// The login took longer than the login cookie lives.
    #[error("login expired")]
    LoginExpired,
    /// `iss` is missing although the provider advertises it (RFC 9207 2.4).
    #[error("missing iss")]
    MissingIss,
    /// `iss` differs from the issuer (RFC 9207 2.4): a mix-up attack.
    #[error("wrong iss")]
    WrongIss,
    /// The provider returned an error (RFC 6749 4.1.2.1).
    #[error("provider returned error {0}")]
    ProviderError(String),
    /// The provider returned an error about the redirect URI (RFC 6749 4.1.2.1; a
    /// provider that redirects although RFC 6749 3.1.2.4 says it should not).
    #[error("provider refused the redirect URI: error {0}")]
    RedirectUriRefused(String),
    /// No `code`.
    #[error("missing code")]
    MissingCode,
    /// The token endpoint refused the code or failed.
    #[error("code exchange failed")]
    Token(#[source] TokenError),
    /// No ID token in OpenID Connect mode (OIDC Core 3.1.3.3).
    #[error("token response has no ID token")]
    MissingIdToken,
    /// The ID token failed validation.
    #[error("ID token rejected")]
    IdToken(#[source] IdTokenError),
    /// The user endpoint or UserInfo failed or mismatched.
    #[error("user info rejected")]
    UserInfo(#[source] UserInfoError),
    /// This authorization response was already used, or its code is being exchanged
    /// by another request.
    #[error("authorization response replayed")]
    Replayed,
    /// [`MAX_CODE_EXCHANGES_IN_FLIGHT`] code exchanges are already running towards the
    /// token endpoint; the provider was not called.
    #[error("too many code exchanges in flight")]
    Busy,
    /// The provider has not been discovered yet (it could not be reached since
    /// start-up). A provider fault.
    #[error("the OpenID provider has not been discovered yet")]
    NotDiscovered,
    /// A step-up login (one that asked for `max_age` or `acr_values`) came back for
    /// another user (`iss`, `sub`) than the browser's session: the session is kept,
    /// and users are never switched silently.
    #[error("a step-up login returned another user")]
    StepUpUserChanged,
    /// The response arrived at the redirect URI of another provider than the one the
    /// login was sent to (RFC 9700 section 4.4, a mix-up), or at a provider that is
    /// not configured.
    #[error("the response arrived at another provider's redirect URI")]
    ProviderMismatch,
}

impl CallbackError {
    /// Whether the fault lies with the provider rather than the request (a retry of the
    /// same exchange may succeed).
    pub fn is_provider_fault(&self) -> bool {
        match self {
            Self::Token(e) => e.is_provider_fault(),
            Self::IdToken(e) => e.is_provider_fault(),
            Self::UserInfo(e) => e.is_provider_fault(),
            Self::NotDiscovered => true,
            _ => false,
        }
    }

    /// The reason code and class (see [`crate::FailureClass`]).
    ///
    /// ```
    /// use axum_oidc_client::FailureClass;
    /// use axum_oidc_client::__private::callback::CallbackError;
    ///
    /// let f = CallbackError::StateMismatch.failure();
    /// assert_eq!((f.reason(), f.class()), ("state_mismatch", FailureClass::User));
    /// ```
    pub fn failure(&self) -> Failure {
        match self {
            Self::MalformedQuery => Failure::user("malformed_response"),
            Self::MissingState => Failure::user("missing_state"),
            Self::StateMismatch => Failure::user("state_mismatch"),
            Self::LoginExpired => Failure::user("login_expired"),
            Self::MissingIss => Failure::user("missing_iss"),
            Self::WrongIss => Failure::user("wrong_iss"),
            Self::ProviderError(code) => reasons::authorization_error(code),
            Self::RedirectUriRefused(_) => Failure::configuration("redirect_uri_mismatch"),
            Self::MissingCode => Failure::user("missing_code"),
            Self::Token(e) => e.failure(),
            Self::MissingIdToken => Failure::configuration("missing_id_token"),
            Self::IdToken(e) => reasons::id_token_failure(e),
            Self::UserInfo(e) => reasons::userinfo_failure(e),
            Self::Replayed => Failure::user("replayed"),
            Self::Busy => Failure::local_outage("busy"),
            Self::NotDiscovered => Failure::local_outage("provider_not_discovered"),
            Self::StepUpUserChanged => Failure::user("step_up_user_changed"),
            Self::ProviderMismatch => Failure::user("provider_mismatch"),
        }
    }
}

/// Parses the callback query, refusing duplicates and oversized input.
pub fn parse_callback_query(raw: Option<&str>) -> Result<CallbackQuery, CallbackError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_CALLBACK_QUERY {
        return Err(CallbackError::MalformedQuery);
    }
    let mut q = CallbackQuery::default();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut q.code,
            "state" => &mut q.state,
            "iss" => &mut q.iss,
            "error" => &mut q.error,
            // Only a hint that is never shown: the first one is kept.
            "error_description" => {
                q.error_description.get_or_insert_with(|| v.into_owned());
                continue;
            }
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(CallbackError::MalformedQuery);
        }
    }
    Ok(q)
}

/// Checks the authorization response against the browser's login cookie
/// (RFC 6749 10.12, RFC 9207 2.4, RFC 6749 4.1.2.1). Pure: no I/O.
///
/// The response is taken as arriving at the first provider's redirect URI (the only
/// one's, `{base}/callback`); [`check_response_at`] names the provider.
pub fn check_response(
    config: &OAuthConfiguration,
    query: &CallbackQuery,
    headers: &HeaderMap,
    now: i64,
) -> Result<(LoginState, String), CallbackError> {
    check_response_at(config, None, query, headers, now)
}

/// [`check_response`] for a response that arrived at the redirect URI of the provider
/// named `provider` (`{base}/callback/NAME`; `None`: `{base}/callback`). The login
/// cookie must name the same provider (RFC 9700 section 4.4: a response at another
/// provider's redirect URI is a mix-up), and `iss` is checked against that provider's
/// issuer (RFC 9207 section 2.4).
pub fn check_response_at(
    config: &OAuthConfiguration,
    provider: Option<&str>,
    query: &CallbackQuery,
    headers: &HeaderMap,
    now: i64,
) -> Result<(LoginState, String), CallbackError> {
    let c = &config.inner;
    let route = provider;
    let entry = c
        .providers
        .named(route)
        .ok_or(CallbackError::ProviderMismatch)?;
    let state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(CallbackError::MissingState)?;
    let login = read_login_cookie(&c.cookie_key, &c.cookies, headers, state)
        .ok_or(CallbackError::StateMismatch)?;
    if !constant_time_eq(login.state.secret().as_bytes(), state.as_bytes()) {
        return Err(CallbackError::StateMismatch);
    }
    if now > login.started_at + LOGIN_COOKIE_MAX_AGE {
        return Err(CallbackError::LoginExpired);
    }
    if login.provider.as_deref() != route {
        return Err(CallbackError::ProviderMismatch);
    }
    let provider = entry.cell.get().ok_or(CallbackError::NotDiscovered)?;
    match (&query.iss, &provider.issuer) {
        (Some(iss), Some(_)) if !provider.accepts_response_iss(iss) => {
            return Err(CallbackError::WrongIss);
        }
        (None, Some(_)) if provider.iss_parameter_required => {
            return Err(CallbackError::MissingIss);
        }
        _ => {}
    }
    if let Some(error) = &query.error {
        let code: String = error
            .chars()
            .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
            .take(64)
            .collect();
        let about_redirect_uri = matches!(
            code.as_str(),
            "invalid_request" | "invalid_redirect_uri" | "redirect_uri_mismatch"
        ) && query
            .error_description
            .as_deref()
            .is_some_and(crate::token::names_redirect_uri);
        if about_redirect_uri || code == "invalid_redirect_uri" || code == "redirect_uri_mismatch" {
            return Err(CallbackError::RedirectUriRefused(code));
        }
        return Err(CallbackError::ProviderError(code));
    }
    let code = query
        .code
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or(CallbackError::MissingCode)?;
    Ok((login, code))
}

/// Where the login this callback belongs to was to return (its `next`), read from the
/// login cookie without any other check: only for a link that starts that login
/// again. `None` without a login cookie for the `state`.
pub(crate) fn pending_next(
    config: &OAuthConfiguration,
    query: &CallbackQuery,
    headers: &HeaderMap,
) -> Option<String> {
    let c = &config.inner;
    let state = query.state.as_deref().filter(|s| !s.is_empty())?;
    read_login_cookie(&c.cookie_key, &c.cookies, headers, state).map(|l| l.next)
}

/// The cookie name of the login being completed, to delete it.
pub fn login_cookie_for(config: &OAuthConfiguration, state: &str) -> String {
    login_cookie_name(&config.inner.cookies, state)
}

/// Claims the one code exchange of this login (see the `gate` module): refused as a
/// replay while another request exchanges the same `state` or once it has been
/// exchanged, and refused as [`CallbackError::Busy`] when the token endpoint already
/// has [`MAX_CODE_EXCHANGES_IN_FLIGHT`] exchanges running. No I/O.
pub(crate) fn claim_exchange(
    config: &OAuthConfiguration,
    login: &LoginState,
) -> Result<ExchangeClaim, CallbackError> {
    let c = &config.inner;
    let (_, provider) = provider_of(config, login)?;
    gate::claim_exchange(
        login.state.secret(),
        provider.token_endpoint.as_str(),
        login.started_at.saturating_add(LOGIN_COOKIE_MAX_AGE),
        c.clock.now(),
    )
    .map_err(|refusal| match refusal {
        gate::Refusal::StateUsed => CallbackError::Replayed,
        gate::Refusal::Busy => CallbackError::Busy,
    })
}

/// The provider a login was sent to (its login cookie names it), discovered.
fn provider_of<'c>(
    config: &'c OAuthConfiguration,
    login: &LoginState,
) -> Result<(&'c ProviderEntry, std::sync::Arc<ProviderConfig>), CallbackError> {
    let entry = config
        .inner
        .providers
        .named(login.provider.as_deref())
        .ok_or(CallbackError::ProviderMismatch)?;
    let provider = entry.cell.get().ok_or(CallbackError::NotDiscovered)?;
    Ok((entry, provider))
}

/// The replay-cache entry of a consumed `state`.
pub fn replay_marker(state: &str) -> String {
    let h = sha2::Sha256::digest(state.as_bytes());
    format!(
        "state:{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, h)
    )
}

/// How long a consumed `state` is remembered.
pub const REPLAY_TTL: Duration = Duration::from_secs(LOGIN_COOKIE_MAX_AGE as u64 + 60);

/// Exchanges the code and establishes the identity; returns the new session record.
pub async fn complete_login(
    config: &OAuthConfiguration,
    login: &LoginState,
    code: &str,
) -> Result<SessionRecord, CallbackError> {
    let c = &config.inner;
    let (entry, provider) = provider_of(config, login)?;
    let provider = &*provider;
    // RFC 9449 section 5: the session's own DPoP key, made at login start (the code
    // is bound to it) and kept in the login cookie; its tokens are bound to it for the
    // session's life.
    let dpop = match (&login.dpop_key, provider.dpop) {
        (Some(stored), true) => Some(crate::dpop::DpopKey::from_stored(stored)),
        (None, true) => Some(crate::dpop::DpopKey::generate()),
        // DPoP turned off while this login was under way: its key goes unused.
        (_, false) => None,
    }
    .transpose()
    .map_err(|e| CallbackError::Token(TokenError::DpopProof(e)))?;
    let response = crate::token::exchange_code(
        provider,
        c.routes
            .token_request_redirect_uri
            .then_some(&entry.redirect_uri),
        code,
        &login.verifier,
        dpop.as_ref(),
    )
    .await
    .map_err(CallbackError::Token)?;
    let now = c.clock.now();
    let claims = match &provider.identity {
        IdentityMode::OpenIdConnect => {
            let id_token = response
                .id_token
                .as_deref()
                .ok_or(CallbackError::MissingIdToken)?;
            let claims =
                verify_login_id_token(provider, id_token, &response, login.nonce.secret(), now)
                    .await?;
            // Before UserInfo is merged: `auth_time` and `acr` must come from the ID
            // token (OIDC Core 3.1.3.7 steps 11-12).
            check_step_up(login, &claims, provider, now)?;
            if provider.fetch_userinfo {
                let token = crate::userinfo::Presented::new(&response, dpop.as_ref());
                crate::userinfo::merge_userinfo(provider, claims, token)
                    .await
                    .map_err(CallbackError::UserInfo)?
            } else {
                claims
            }
        }
        IdentityMode::OAuth2Only { .. } => {
            let token = crate::userinfo::Presented::new(&response, dpop.as_ref());
            let claims = fetch_user_claims(provider, token, now)
                .await
                .map_err(CallbackError::UserInfo)?;
            // Without an ID token only the user document can say; most say nothing,
            // and a step-up is then refused rather than assumed.
            check_step_up(login, &claims, provider, now)?;
            claims
        }
    };
    let mut record = new_record(provider, &response, claims, None, now);
    record.provider = login.provider.clone();
    record.tokens.dpop_key = dpop.map(|k| k.to_stored());
    Ok(record)
}

/// The `max_age` / `acr_values` the login asked for, against the returned claims.
fn check_step_up(
    login: &LoginState,
    claims: &IdTokenClaims,
    provider: &ProviderConfig,
    now: i64,
) -> Result<(), CallbackError> {
    match &login.step_up {
        Some(rule) => rule
            .check(claims, now, provider.leeway)
            .map_err(|e| CallbackError::IdToken(IdTokenError::Authentication(e))),
        None => Ok(()),
    }
}

async fn verify_login_id_token(
    provider: &ProviderConfig,
    id_token: &str,
    response: &AccessTokenResponse,
    nonce: &str,
    now: i64,
) -> Result<IdTokenClaims, CallbackError> {
    let (Some(jwks), Some(issuer)) = (&provider.jwks, provider.id_token_issuer()) else {
        return Err(CallbackError::MissingIdToken);
    };
    let exp = Expectations {
        issuer,
        client_id: &provider.client_id,
        additional_audiences: &provider.additional_audiences,
        nonce: NonceCheck::Required(nonce),
        leeway: provider.leeway,
        max_age: None,
        subject: None,
        now,
    };
    verify_id_token(
        id_token,
        jwks,
        &provider.algorithms,
        &exp,
        Some(&response.access_token),
    )
    .await
    .map_err(CallbackError::IdToken)
}

/// Builds a record from a token response. `previous` carries over what a refresh
/// response may omit (refresh token, ID token, creation time) and the browser's
/// user agent.
pub(crate) fn new_record(
    provider: &ProviderConfig,
    response: &AccessTokenResponse,
    claims: IdTokenClaims,
    previous: Option<&SessionRecord>,
    now: i64,
) -> SessionRecord {
    // Expiry: expires_in, else the ID token's exp, else the configured token max age.
    let expires_at = match response.expires_in {
        Some(s) => now.saturating_add(s.min(10 * 365 * 86400) as i64),
        None if response.id_token.is_some() && claims.exp > now => claims.exp,
        None => now + provider.token_max_age.as_secs() as i64,
    };
    let tokens = TokenSet {
        access_token: AccessTokenValue::new(response.access_token.clone()),
        token_type: response.token_type.clone(),
        refresh_token: response
            .refresh_token
            .clone()
            .map(RefreshTokenValue::new)
            .or_else(|| previous.and_then(|p| p.tokens.refresh_token.clone())),
        id_token: response
            .id_token
            .clone()
            .map(IdTokenValue::new)
            .or_else(|| previous.and_then(|p| p.tokens.id_token.clone())),
        scope: response
            .scope
            .clone()
            .or_else(|| previous.map(|p| p.tokens.scope.clone()))
            .unwrap_or_else(|| provider.scopes.join(" ")),
        expires_at,
        // A refresh keeps the login's key; the callback sets it for a new session.
        dpop_key: previous.and_then(|p| p.tokens.dpop_key.clone()),
    };
    // A refresh keeps the login's enriched claims (they are not fetched again).
    let claims = match previous {
        Some(p) => crate::enrich::carry_over(claims, p),
        None => claims,
    };
    SessionRecord {
        tokens,
        claims: std::sync::Arc::new(claims),
        created_at: previous.map_or(now, |p| p.created_at),
        last_seen: now,
        // A refresh keeps the login's; the callback sets it for a new session.
        user_agent: previous.and_then(|p| p.user_agent.clone()),
        enriched_claims: previous
            .map(|p| p.enriched_claims.clone())
            .unwrap_or_default(),
        // A refresh keeps the login's provider; the callback sets it for a login.
        provider: previous.and_then(|p| p.provider.clone()),
    }
}

#[cfg(test)]
mod tests;
