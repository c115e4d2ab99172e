//! [`AuthSession`]: the tokens of the signed-in user, as handed to handlers.

use std::sync::Arc;

use chrono::{DateTime, Local, TimeZone};
use serde::{Deserialize, Serialize};

use crate::config::OAuthConfiguration;
use crate::id_token::IdTokenClaims;
use crate::session::SessionRecord;
use crate::token::AccessTokenResponse;

/// Authenticated user session holding the OAuth 2.0 / OIDC tokens.
///
/// Used as an extractor it always carries an access token valid for at least the
/// configured refresh margin: the layer refreshes it ahead of expiry, once for all
/// concurrent requests of the session. Without a session the extractor rejects: a
/// redirect to login for browser navigations, 401 for API calls.
///
/// ```
/// use axum_oidc_client::auth_session::AuthSession;
///
/// async fn protected_route(session: AuthSession) -> String {
///     format!("Token Type: {}\nExpires: {}\nScopes: {}", session.token_type, session.expires, session.scope)
/// }
/// ```
///
/// `Debug` never prints a token.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthSession {
    /// OpenID Connect ID token (JWT) with the user's identity claims; empty in
    /// OAuth2-only mode.
    pub id_token: String,
    /// OAuth 2.0 access token for API requests.
    pub access_token: String,
    /// Token type: `Bearer`, or `DPoP` for tokens bound to the session's DPoP key
    /// ([`with_dpop`](crate::OAuthConfigurationBuilder::with_dpop)).
    pub token_type: String,
    /// Refresh token; empty when the provider issued none.
    pub refresh_token: String,
    /// Space-separated granted scopes.
    pub scope: String,
    /// When the access token expires.
    pub expires: DateTime<Local>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claims: Option<Arc<IdTokenClaims>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    /// The session's DPoP key: never serialized, never printed.
    #[serde(skip)]
    dpop_key: Option<crate::secret::DpopPrivateKey>,
}

impl std::fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSession")
            .field("id_token", &"[redacted]")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("refresh_token", &"[redacted]")
            .field("scope", &self.scope)
            .field("expires", &self.expires)
            .finish()
    }
}

impl AuthSession {
    /// Builds a session from a token response. `expires` is now plus `expires_in`, or
    /// plus the configured token max age when the response has none. Claims are not
    /// set: they exist only once the layer has verified an ID token.
    ///
    /// ```
    /// use axum_oidc_client::{AccessTokenResponse, auth_session::AuthSession};
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
    /// let response: AccessTokenResponse = serde_json::from_str(
    ///     r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"scope":"read:user"}"#,
    /// ).unwrap();
    /// let session = AuthSession::new(&response, &config());
    /// assert_eq!(session.access_token, "at-1");
    /// assert_eq!(session.scope, "read:user");
    /// assert!(session.refresh_token.is_empty() && session.id_token.is_empty());
    /// assert!(session.claims().is_none(), "claims exist only for sessions from the layer");
    /// ```
    pub fn new(response: &AccessTokenResponse, conf: &OAuthConfiguration) -> Self {
        let now = conf.clock().now();
        let lifetime = response.expires_in.map_or(
            conf.inner.providers.first().cell.token_max_age().as_secs() as i64,
            |s| s.min(i64::MAX as u64 / 2) as i64,
        );
        Self {
            id_token: response.id_token.clone().unwrap_or_default(),
            access_token: response.access_token.clone(),
            token_type: response.token_type.clone(),
            refresh_token: response.refresh_token.clone().unwrap_or_default(),
            scope: response
                .scope
                .clone()
                .unwrap_or_else(|| conf.inner.providers.first().cell.scopes().join(" ")),
            expires: local_time(now.saturating_add(lifetime)),
            claims: None,
            provider: None,
            dpop_key: None,
        }
    }

    pub(crate) fn from_record(record: &SessionRecord) -> Self {
        let t = &record.tokens;
        Self {
            id_token: t
                .id_token
                .as_ref()
                .map(|v| v.secret().to_owned())
                .unwrap_or_default(),
            access_token: t.access_token.secret().to_owned(),
            token_type: t.token_type.clone(),
            refresh_token: t
                .refresh_token
                .as_ref()
                .map(|v| v.secret().to_owned())
                .unwrap_or_default(),
            scope: t.scope.clone(),
            expires: local_time(t.expires_at),
            claims: Some(record.claims.clone()),
            provider: record.provider.clone(),
            dpop_key: t.dpop_key.clone(),
        }
    }

    /// The verified identity claims (`sub`, `email`, ...), when the session came from
    /// the layer.
    ///
    /// ```
    /// use axum_oidc_client::auth_session::AuthSession;
    ///
    /// async fn profile(session: AuthSession) -> String {
    ///     let claims = session.claims().expect("sessions from the layer carry claims");
    ///     format!("{} ({})", claims.sub, claims.get_str("email").unwrap_or("no email"))
    /// }
    /// ```
    pub fn claims(&self) -> Option<&IdTokenClaims> {
        self.claims.as_deref()
    }

    /// The subject, when known.
    ///
    /// ```
    /// use axum_oidc_client::auth_session::AuthSession;
    ///
    /// async fn whoami(session: AuthSession) -> String {
    ///     session.sub().unwrap_or("unknown").to_owned()
    /// }
    /// ```
    pub fn sub(&self) -> Option<&str> {
        self.claims().map(|c| c.sub.as_str())
    }

    /// The issuer of the identity, when known: with [`sub`](Self::sub), the user
    /// (`(iss, sub)`, OIDC Core 2; a subject is unique per issuer only).
    ///
    /// ```
    /// use axum_oidc_client::auth_session::AuthSession;
    ///
    /// async fn user_key(session: AuthSession) -> String {
    ///     format!("{} {}", session.iss().unwrap_or("?"), session.sub().unwrap_or("?"))
    /// }
    /// ```
    pub fn iss(&self) -> Option<&str> {
        self.claims().map(|c| c.iss.as_str())
    }

    /// The name of the provider the user signed in at, for a configuration with named
    /// providers ([`with_provider`](crate::OAuthConfigurationBuilder::with_provider));
    /// `None` with a single provider.
    ///
    /// ```
    /// use axum_oidc_client::auth_session::AuthSession;
    ///
    /// async fn signed_in_with(session: AuthSession) -> String {
    ///     session.provider().unwrap_or("default").to_owned()
    /// }
    /// ```
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The `Authorization` header value for a call to an API with the access token:
    /// `Bearer <token>`, or `DPoP <token>` when the token is bound to the session's
    /// DPoP key (RFC 9449 section 7.1; send [`dpop_proof`](Self::dpop_proof) with it).
    ///
    /// ```
    /// use axum_oidc_client::auth_session::AuthSession;
    ///
    /// async fn call_api(session: AuthSession) -> Result<String, Box<dyn std::error::Error>> {
    ///     let url = "https://api.example/orders";
    ///     let mut req = reqwest::Client::new()
    ///         .get(url)
    ///         .header("authorization", session.authorization());
    ///     if let Some(proof) = session.dpop_proof(&http::Method::GET, url, None)? {
    ///         req = req.header("dpop", proof);
    ///     }
    ///     Ok(req.send().await?.text().await?)
    /// }
    /// ```
    pub fn authorization(&self) -> String {
        match self.dpop_key {
            Some(_) => format!("DPoP {}", self.access_token),
            None => format!("Bearer {}", self.access_token),
        }
    }

    /// A DPoP proof (RFC 9449 section 4.2) of the session's key for a `method` call to
    /// `url` with the access token (`ath`), issued now, with the resource server's
    /// last `DPoP-Nonce` when it sent one (section 9; see
    /// [`dpop::is_resource_nonce_challenge`](crate::dpop::is_resource_nonce_challenge)).
    /// `None` when the session's tokens are bearer tokens.
    pub fn dpop_proof(
        &self,
        method: &http::Method,
        url: &str,
        nonce: Option<&str>,
    ) -> Result<Option<String>, crate::dpop::DpopError> {
        crate::dpop::resource_proof(
            self.dpop_key.as_ref(),
            method,
            url,
            nonce,
            &self.access_token,
        )
    }
}

pub(crate) fn local_time(unix: i64) -> DateTime<Local> {
    Local
        .timestamp_opt(unix, 0)
        .single()
        .unwrap_or_else(Local::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dpop_bound_session_presents_its_token_with_the_dpop_scheme_and_a_proof() {
        let mut record = crate::session::tests::record("alice", None);
        let key = crate::dpop::DpopKey::generate().unwrap();
        record.tokens.dpop_key = Some(key.to_stored());
        record.tokens.token_type = "DPoP".into();
        let s = AuthSession::from_record(&record);
        assert!(s.authorization().starts_with("DPoP "));
        let proof = s
            .dpop_proof(&http::Method::GET, "https://api.example/x?q=1", Some("n-1"))
            .unwrap()
            .expect("a proof");
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                proof.split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["htu"], "https://api.example/x");
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(
            claims["ath"],
            crate::dpop::access_token_hash(&s.access_token).as_str()
        );
        let debug = format!("{s:?}");
        assert!(!debug.contains(record.tokens.dpop_key.as_ref().unwrap().secret()));
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains(record.tokens.dpop_key.as_ref().unwrap().secret()));
    }

    #[test]
    fn a_bearer_session_has_no_proof() {
        let s = AuthSession::from_record(&crate::session::tests::record("alice", None));
        assert!(s.authorization().starts_with("Bearer "));
        assert_eq!(
            s.dpop_proof(&http::Method::GET, "https://api.example/", None)
                .unwrap(),
            None
        );
    }

    #[test]
    fn debug_redacts_every_token() {
        let record = crate::session::tests::record("alice", None);
        let s = AuthSession::from_record(&record);
        let d = format!("{s:?}");
        assert!(!d.contains("at-secret") && !d.contains("rt-secret") && !d.contains("h.p.s"));
        assert_eq!(s.sub(), Some("alice"));
    }
}
