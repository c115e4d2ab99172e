//! Logout: local ([`DefaultLogoutHandler`]), RP-initiated ([`OidcLogoutHandler`],
//! OpenID Connect RP-Initiated Logout 1.0) and token revocation (RFC 7009).

use std::sync::Arc;

use async_trait::async_trait;
use axum::response::{IntoResponse, Redirect, Response};
use url::Url;

use http::HeaderMap;

use crate::config::OAuthConfiguration;
use crate::secret::{SessionId, random_token};
use crate::session::SessionRecord;

/// Name of the short-lived cookie that binds the RP-initiated logout `state`.
pub const LOGOUT_STATE_COOKIE: &str = "axum_oidc_logout";

/// What a logout handler gets: the configuration and the session that just ended
/// (already deleted from the store and its cookie cleared).
///
/// ```
/// use axum::response::{IntoResponse, Redirect, Response};
/// use axum_oidc_client::{LogoutContext, LogoutHandler, async_trait};
///
/// /// Sends users who had a session to a goodbye page, others home.
/// struct Goodbye;
///
/// #[async_trait]
/// impl LogoutHandler for Goodbye {
///     async fn handle_logout(&self, ctx: LogoutContext<'_>) -> Response {
///         match ctx.session {
///             Some(record) => Redirect::to(&format!("/bye?user={}", record.sub())).into_response(),
///             None => Redirect::to("/").into_response(),
///         }
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct LogoutContext<'a> {
    /// The configuration.
    pub config: &'a OAuthConfiguration,
    /// The ended session, if the request had one.
    pub session: Option<&'a SessionRecord>,
}

/// Decides where the browser goes after the local session has ended.
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use axum_oidc_client::{
///     AuthenticationLayer, DefaultLogoutHandler, LogoutContext, LogoutHandler, async_trait,
/// };
/// # fn config() -> axum_oidc_client::OAuthConfiguration {
/// #     axum_oidc_client::OAuthConfigurationBuilder::default()
/// #         .with_client_id("my-app")
/// #         .with_client_secret("s3cret")
/// #         .with_app_url("https://app.example")
/// #         .with_authorization_endpoint("https://op.example/authorize")
/// #         .with_token_endpoint("https://op.example/token")
/// #         .with_end_session_endpoint("https://op.example/logout")
/// #         .with_oauth2_only("https://op.example/user", "id")
/// #         .build()
/// #         .unwrap()
/// # }
///
/// /// Local logout that also records who logged out.
/// struct Audited(DefaultLogoutHandler);
///
/// #[async_trait]
/// impl LogoutHandler for Audited {
///     async fn handle_logout(&self, ctx: LogoutContext<'_>) -> Response {
///         if let Some(record) = ctx.session {
///             println!("logout of {}", record.sub());
///         }
///         self.0.handle_logout(ctx).await
///     }
/// }
///
/// let layer = AuthenticationLayer::new(config())
///     .with_logout_handler(Audited(DefaultLogoutHandler::redirect_to("/goodbye")));
/// # let _ = layer;
/// ```
#[async_trait]
pub trait LogoutHandler: Send + Sync + 'static {
    /// Builds the response of `{base}/logout`.
    ///
    /// ```
    /// use axum::response::Response;
    /// use axum_oidc_client::{LogoutContext, LogoutHandler, OidcLogoutHandler, async_trait};
    ///
    /// /// RP-initiated logout for users of one tenant, local logout for the rest.
    /// struct PerTenant;
    ///
    /// #[async_trait]
    /// impl LogoutHandler for PerTenant {
    ///     async fn handle_logout(&self, ctx: LogoutContext<'_>) -> Response {
    ///         let at_provider = ctx.session.is_some_and(|r| r.sub().starts_with("corp|"));
    ///         if at_provider {
    ///             OidcLogoutHandler.handle_logout(ctx).await
    ///         } else {
    ///             axum_oidc_client::DefaultLogoutHandler::default().handle_logout(ctx).await
    ///         }
    ///     }
    /// }
    /// ```
    async fn handle_logout(&self, ctx: LogoutContext<'_>) -> Response;
}

/// Local logout: the session is deleted and the browser sent to `/` (or a chosen path).
///
/// ```
/// use axum_oidc_client::{AuthenticationLayer, DefaultLogoutHandler};
/// # fn config() -> axum_oidc_client::OAuthConfiguration {
/// #     axum_oidc_client::OAuthConfigurationBuilder::default()
/// #         .with_client_id("my-app")
/// #         .with_client_secret("s3cret")
/// #         .with_app_url("https://app.example")
/// #         .with_authorization_endpoint("https://op.example/authorize")
/// #         .with_token_endpoint("https://op.example/token")
/// #         .with_end_session_endpoint("https://op.example/logout")
/// #         .with_oauth2_only("https://op.example/user", "id")
/// #         .build()
/// #         .unwrap()
/// # }
///
/// // The default: after `{base}/logout` the browser lands on `/`.
/// let layer = AuthenticationLayer::new(config()).with_logout_handler(DefaultLogoutHandler::default());
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct DefaultLogoutHandler {
    redirect_to: String,
}

impl Default for DefaultLogoutHandler {
    fn default() -> Self {
        Self {
            redirect_to: "/".into(),
        }
    }
}

impl DefaultLogoutHandler {
    /// Redirects to `path` (a local path) after logout.
    ///
    /// ```
    /// use axum_oidc_client::DefaultLogoutHandler;
    ///
    /// let handler = DefaultLogoutHandler::redirect_to("/goodbye");
    /// assert!(format!("{handler:?}").contains(r#""/goodbye""#));
    /// // Only local paths: another site is refused and `/` used instead (no open redirect).
    /// let handler = DefaultLogoutHandler::redirect_to("https://evil.example/");
    /// assert!(format!("{handler:?}").contains(r#"redirect_to: "/""#));
    /// ```
    pub fn redirect_to(path: impl Into<String>) -> Self {
        Self {
            redirect_to: crate::redirect::safe_next(Some(&path.into())),
        }
    }
}

#[async_trait]
impl LogoutHandler for DefaultLogoutHandler {
    async fn handle_logout(&self, _: LogoutContext<'_>) -> Response {
        Redirect::to(&self.redirect_to).into_response()
    }
}

/// RP-initiated logout: after the local logout the browser goes to the provider's
/// `end_session_endpoint` with `id_token_hint`, `client_id`, `post_logout_redirect_uri`
/// and a fresh `state`, which `{base}/logout/callback` checks on return. Falls back to
/// local logout when the provider has no end-session endpoint. Without an ID token
/// (OAuth2-only mode) `id_token_hint` is left out; `client_id` still identifies the client.
///
/// ```
/// use axum_oidc_client::{AuthenticationLayer, OidcLogoutHandler};
/// # fn config() -> axum_oidc_client::OAuthConfiguration {
/// #     axum_oidc_client::OAuthConfigurationBuilder::default()
/// #         .with_client_id("my-app")
/// #         .with_client_secret("s3cret")
/// #         .with_app_url("https://app.example")
/// #         .with_authorization_endpoint("https://op.example/authorize")
/// #         .with_token_endpoint("https://op.example/token")
/// #         .with_end_session_endpoint("https://op.example/logout")
/// #         .with_oauth2_only("https://op.example/user", "id")
/// #         .build()
/// #         .unwrap()
/// # }
///
/// // Needs `post_logout_redirect_uri` registered at the provider
/// // (default `{app_url}{base}/logout/callback`).
/// let layer = AuthenticationLayer::new(config()).with_logout_handler(OidcLogoutHandler);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Default)]
pub struct OidcLogoutHandler;

/// The end-session URL and the `state` it carries (RP-Initiated Logout 1.0 section 2).
///
/// ```
/// use axum_oidc_client::logout::end_session_url;
/// # fn config() -> axum_oidc_client::OAuthConfiguration {
/// #     axum_oidc_client::OAuthConfigurationBuilder::default()
/// #         .with_client_id("my-app")
/// #         .with_client_secret("s3cret")
/// #         .with_app_url("https://app.example")
/// #         .with_authorization_endpoint("https://op.example/authorize")
/// #         .with_token_endpoint("https://op.example/token")
/// #         .with_end_session_endpoint("https://op.example/logout")
/// #         .with_oauth2_only("https://op.example/user", "id")
/// #         .build()
/// #         .unwrap()
/// # }
/// # use std::sync::Arc;
/// # use axum_oidc_client::{AccessTokenValue, IdTokenClaims, IdTokenValue};
/// # use axum_oidc_client::store::{SessionRecord, TokenSet};
/// # fn record(sub: &str, sid: Option<&str>) -> Arc<SessionRecord> {
/// #     let mut claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
/// #         "iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1
/// #     })).unwrap();
/// #     claims.sid = sid.map(str::to_owned);
/// #     Arc::new(SessionRecord {
/// #         tokens: TokenSet {
/// #             access_token: AccessTokenValue::new("at"),
/// #             token_type: "Bearer".into(),
/// #             refresh_token: None,
/// #             id_token: Some(IdTokenValue::new("h.p.s")),
/// #             scope: "openid".into(),
/// #             expires_at: 100,
/// #             dpop_key: None,
/// #         },
/// #         claims: claims.into(),
/// #         created_at: 1,
/// #         last_seen: 1,
/// #         user_agent: None,
/// #         enriched_claims: Vec::new(),
/// #         provider: None,
/// #     })
/// # }
///
/// let (url, state) = end_session_url(&config(), &record("alice", None)).unwrap();
/// assert!(url.as_str().starts_with("https://op.example/logout?"));
/// let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
/// assert!(query.contains(&("id_token_hint".into(), "h.p.s".into())));
/// assert!(query.contains(&("client_id".into(), "my-app".into())));
/// assert!(query.contains(&("state".into(), state)));
/// ```
pub fn end_session_url(
    config: &OAuthConfiguration,
    session: &SessionRecord,
) -> Option<(Url, String)> {
    let c = &config.inner;
    // The session's own provider's end_session_endpoint.
    let provider = c.providers.of_record(session)?.cell.get()?;
    let mut url = provider.end_session_endpoint.clone()?;
    let state = random_token(24);
    {
        let mut q = url.query_pairs_mut();
        if let Some(id_token) = &session.tokens.id_token {
            q.append_pair("id_token_hint", id_token.secret());
        }
        q.append_pair("client_id", &provider.client_id)
            .append_pair(
                "post_logout_redirect_uri",
                c.routes.post_logout_redirect_uri.as_str(),
            )
            .append_pair("state", &state);
    }
    Some((url, state))
}

#[async_trait]
impl LogoutHandler for OidcLogoutHandler {
    async fn handle_logout(&self, ctx: LogoutContext<'_>) -> Response {
        let Some((url, state)) = ctx.session.and_then(|s| end_session_url(ctx.config, s)) else {
            return DefaultLogoutHandler::default().handle_logout(ctx).await;
        };
        let c = &ctx.config.inner;
        let cookie = cookie::Cookie::build((LOGOUT_STATE_COOKIE, state))
            .path(c.routes.base_path.clone())
            .http_only(true)
            .secure(c.cookies.secure)
            .same_site(cookie::SameSite::Lax)
            .max_age(cookie::time::Duration::minutes(10))
            .build()
            .to_string();
        let mut resp = Redirect::to(url.as_str()).into_response();
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(http::header::SET_COOKIE, v);
        }
        resp
    }
}

/// Revokes the session's tokens (RFC 7009) in the background; failures are logged
/// and never block logout.
pub(crate) fn revoke_in_background(config: &OAuthConfiguration, session: &SessionRecord) {
    if !config.inner.revoke_on_logout {
        return;
    }
    // The session's tokens go back to the provider that issued them.
    let Some(provider) = config
        .inner
        .providers
        .of_record(session)
        .and_then(|e| e.cell.get())
    else {
        return;
    };
    if provider.revocation_endpoint.is_none() {
        return;
    }
    let refresh = session.tokens.refresh_token.clone();
    let access = session.tokens.access_token.clone();
    tokio::spawn(async move {
        if let Some(rt) = refresh
            && let Err(e) = crate::token::revoke(&provider, rt.secret(), "refresh_token").await
        {
            tracing::info!(error = %e, "refresh token revocation failed");
        }
        if let Err(e) = crate::token::revoke(&provider, access.secret(), "access_token").await {
            tracing::info!(error = %e, "access token revocation failed");
        }
    });
}

/// CSRF protection of a POST logout: the browser's `Origin` (or, without one,
/// `Sec-Fetch-Site: same-origin`) must say the request comes from the application.
pub(crate) fn is_same_origin(app_origin: &str, headers: &HeaderMap) -> bool {
    match headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        Some(origin) => origin == app_origin,
        None => fetch_site(headers) == Some("same-origin"),
    }
}

/// Whether the browser says another site started the request (Fetch Metadata,
/// `Sec-Fetch-Site: cross-site`). A GET logout has no `Origin` to check; this refuses
/// the cross-site navigation a GET logout would otherwise allow.
pub(crate) fn is_cross_site(headers: &HeaderMap) -> bool {
    fetch_site(headers) == Some("cross-site")
}

fn fetch_site(headers: &HeaderMap) -> Option<&str> {
    headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
}

/// RP-Initiated Logout 1.0 section 3: the `state` the provider returns must equal the
/// one this browser's logout cookie holds (compared in constant time).
pub(crate) fn post_logout_state_matches(returned: Option<&str>, expected: Option<&str>) -> bool {
    matches!((returned, expected), (Some(r), Some(e)) if crate::secret::constant_time_eq(r.as_bytes(), e.as_bytes()))
}

/// Local logout: reads the request's session, deletes it, and revokes its tokens in the
/// background. Returns the ended session (its record, for the logout handler, and its
/// id, for the audit event's one-way reference).
pub(crate) async fn end_local_session(
    config: &OAuthConfiguration,
    store: &crate::store::BoundedStore,
    headers: &HeaderMap,
) -> Result<Option<(Arc<SessionRecord>, SessionId)>, crate::store::StoreError> {
    let c = &config.inner;
    let Some(id) = crate::session::cookies::read_session_id(&c.cookie_key, &c.cookies, headers)
    else {
        return Ok(None);
    };
    let key = crate::session::SessionKey::of(&id);
    let record = store.op(store.get(&key)).await?;
    store.op(store.remove(&key)).await?;
    Ok(record.map(|r| {
        revoke_in_background(config, &r);
        (r, id)
    }))
}
