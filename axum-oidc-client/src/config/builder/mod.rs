//! [`OAuthConfigurationBuilder`]: every option, with units and defaults.

use std::time::Duration;

use url::Url;

use crate::config::{ClientAuthMethod, Clock, ConfigError, IdentityMode, url_is_acceptable};
use crate::discovery::{ProviderMetadata, discover_document_as};
use crate::jose::SigningAlgorithm;
use crate::pkce::CodeChallengeMethod;
use crate::secret::ClientSecret;

mod build;
mod client_keys;
mod profile;
mod provider;
mod settings;
mod tenants;
pub use profile::SecurityProfile;
pub(crate) use provider::ProviderInputs;
pub use settings::ProviderSettings;
#[cfg(test)]
mod tests;

/// Default scopes: `openid profile email`.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];

/// Builds an [`OAuthConfiguration`](crate::OAuthConfiguration).
///
/// ```no_run
/// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
/// use axum_oidc_client::OAuthConfigurationBuilder;
/// let config = OAuthConfigurationBuilder::default()
///     .with_client_id("my-app")
///     .with_client_secret("s3cret")
///     .with_app_url("https://app.example")
///     // Made once with `openssl rand -base64 48`, shared by every instance.
///     .with_private_cookie_key(std::env::var("COOKIE_KEY").unwrap_or_default())
///     .with_issuer("https://login.example")
///     .await?
///     .build()?;
/// # let _ = config; Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct OAuthConfigurationBuilder {
    client_id: Option<String>,
    client_secret: Option<ClientSecret>,
    client_auth: Option<ClientAuthMethod>,
    /// Keys for `private_key_jwt`, the signing one first.
    client_keys: Vec<crate::client_auth::ClientSigningKey>,
    metadata: Option<ProviderMetadata>,
    issuer: Option<String>,
    /// A multi-tenant issuer template and its allowed tenants (`with_issuer_template`).
    issuer_template: Option<String>,
    allowed_tenants: Option<Vec<String>>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    end_session_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    app_url: Option<String>,
    redirect_uri: Option<String>,
    post_logout_redirect_uri: Option<String>,
    token_request_redirect_uri: Option<bool>,
    scopes: Option<Vec<String>>,
    auth_params: Vec<(String, String)>,
    pkce: Option<CodeChallengeMethod>,
    insecure_plain_pkce: bool,
    cookie_secret: Option<String>,
    session_cookie_name: Option<String>,
    base_path: Option<String>,
    session_max_age: Option<Duration>,
    idle_timeout: Option<Duration>,
    token_max_age: Option<Duration>,
    refresh_margin: Option<Duration>,
    leeway: Option<Duration>,
    algorithms: Option<Vec<SigningAlgorithm>>,
    additional_audiences: Vec<String>,
    ca_cert: Option<String>,
    http_timeout: Option<Duration>,
    store_timeout: Option<Duration>,
    jwks_refetch_interval: Option<Duration>,
    logout_via_get: Option<bool>,
    revoke_on_logout: Option<bool>,
    identity: IdentityMode,
    fetch_userinfo: bool,
    /// Push authorization requests (RFC 9126) even when the provider does not require it.
    pushed_authorization_requests: bool,
    /// `with_pushed_authorization_requests(false)` was said (a security profile refuses it).
    par_disabled: bool,
    /// Bind tokens to a per-session DPoP key (RFC 9449); `Some(false)` said explicitly.
    dpop: Option<bool>,
    /// A security profile preset (`with_security_profile`).
    security_profile: Option<SecurityProfile>,
    clock: Option<Clock>,
    insecure_http: bool,
    /// A discovery error kept by `with_discovered_issuer` for `build()`.
    pending: Option<ConfigError>,
    /// Discover the issuer after `build()`, in the background.
    lazy_discovery: bool,
    /// How long the discovered metadata may be used (its `Cache-Control: max-age`).
    metadata_max_age: Option<Duration>,
    /// Named providers ([`with_provider`](Self::with_provider)), in order.
    named: Vec<(String, ProviderSettings)>,
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident, $field:ident, String) => {
        $(#[$m])*
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.$field = Some(value.into());
            self
        }
    };
    ($(#[$m:meta])* $name:ident, $field:ident, $ty:ty) => {
        $(#[$m])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$field = Some(value);
            self
        }
    };
}

impl OAuthConfigurationBuilder {
    /// Reads the configuration from the environment:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `OIDC_ISSUER` | issuer URL, discovered | required |
    /// | `OIDC_CLIENT_ID` | client id | required |
    /// | `OIDC_CLIENT_SECRET` | client secret | none: public client |
    /// | `OIDC_CLIENT_AUTH` | `private_key_jwt`, `client_secret_jwt`, `client_secret_basic`, `client_secret_post` or `none` | from the credentials and discovery |
    /// | `OIDC_CLIENT_KEY_FILE` | PKCS#8 PEM key for `private_key_jwt` ([`with_client_signing_key_pem`](Self::with_client_signing_key_pem)) | none |
    /// | `APP_URL` | the application's origin | `http://localhost:3000` |
    /// | `OIDC_SCOPES` | space-separated scopes | `openid profile email` |
    /// | `COOKIE_KEY` | cookie secret: `openssl rand -base64 48` | random per process (warns) |
    /// | `OIDC_CA_CERT` | PEM file of an extra trusted CA | none |
    /// | `OIDC_BASE_PATH` | base path of the auth routes | `/auth` |
    /// | `OIDC_REFRESH_MARGIN_SECS` | refresh this long before expiry | `30` |
    /// | `OIDC_ISSUER_TEMPLATE` | multi-tenant issuer template ([`with_issuer_template`](Self::with_issuer_template)) | none |
    /// | `OIDC_ALLOWED_TENANTS` | comma-separated tenant ids ([`with_allowed_tenants`](Self::with_allowed_tenants)) | every tenant |
    ///
    /// Discovery runs here through
    /// [`with_issuer_or_retry_in_background`](Self::with_issuer_or_retry_in_background):
    /// a wrong issuer fails at start-up, a provider that cannot be reached does not.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut b = Self::default()
            .with_client_id(var("OIDC_CLIENT_ID").ok_or(ConfigError::Missing("OIDC_CLIENT_ID"))?)
            .with_app_url(var("APP_URL").unwrap_or_else(|| "http://localhost:3000".into()));
        if let Some(s) = var("OIDC_CLIENT_SECRET") {
            b = b.with_client_secret(s);
        } else if var("OIDC_CLIENT_KEY_FILE").is_none() {
            b = b.with_client_auth_method(ClientAuthMethod::None);
        }
        b = b.with_client_auth_from(var)?;
        if let Some(s) = var("OIDC_SCOPES") {
            b = b.with_scopes(s.split_whitespace());
        }
        if let Some(k) = var("COOKIE_KEY") {
            b = b.with_private_cookie_key(k);
        }
        if let Some(p) = var("OIDC_CA_CERT") {
            b = b.with_custom_ca_cert(p);
        }
        if let Some(p) = var("OIDC_BASE_PATH") {
            b = b.with_base_path(p);
        }
        if let Some(m) = var("OIDC_REFRESH_MARGIN_SECS") {
            let secs = m.parse().map_err(|_| ConfigError::Invalid {
                name: "OIDC_REFRESH_MARGIN_SECS",
                reason: format!("{m:?} is not a number of seconds"),
            })?;
            b = b.with_refresh_margin(Duration::from_secs(secs));
        }
        b = b.with_tenants_from(var);
        let issuer = var("OIDC_ISSUER").ok_or(ConfigError::Missing("OIDC_ISSUER"))?;
        b.with_issuer_or_retry_in_background(issuer).await
    }

    /// Discovers the provider at `issuer` (OIDC Discovery 1.0) and fetches its keys.
    /// Options that shape HTTP calls (`with_custom_ca_cert`) must be set before.
    /// Explicit endpoints set with `with_*_endpoint` take precedence over discovered ones.
    ///
    /// The bearer builder has the same method; both also offer
    /// [`with_discovered_issuer`](Self::with_discovered_issuer), which keeps the error
    /// for [`build`](Self::build) instead.
    pub async fn with_issuer(mut self, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        self.discover(issuer.into()).await?;
        Ok(self)
    }

    async fn discover(&mut self, issuer: String) -> Result<(), ConfigError> {
        self.check_issuer(&issuer)?;
        let http = self.http_client()?;
        // A configured template is what a multi-tenant document names (Discovery 4.3).
        let document_issuer = self.issuer_template.as_deref().unwrap_or(&issuer);
        let (meta, max_age) = discover_document_as(&http, &issuer, document_issuer)
            .await
            .map_err(ConfigError::Discovery)?;
        self.issuer = Some(issuer);
        self.metadata = Some(meta);
        self.metadata_max_age = max_age;
        Ok(())
    }

    fn check_issuer(&self, issuer: &str) -> Result<(), ConfigError> {
        let parsed = Url::parse(issuer).map_err(|_| ConfigError::InvalidUrl {
            name: "issuer",
            value: issuer.to_owned(),
        })?;
        if !self.insecure_http && !url_is_acceptable(&parsed) {
            return Err(ConfigError::InsecureUrl("issuer"));
        }
        Ok(())
    }

    /// Sets the issuer to be discovered after [`build`](Self::build), in the
    /// background: `build()` makes no network call, and the layer starts even while
    /// the provider is down.
    ///
    /// Until the first discovery succeeds, logins answer 503 with `Retry-After` (an
    /// HTML page for a browser), sessions already in a shared store keep working while
    /// their tokens are valid, and the layer retries with back-off from one second up
    /// to a minute, logging each failure once. A login also tries again itself, at
    /// most once a second, so the first login after the provider is back succeeds.
    /// [`AuthenticationLayer::readiness`](crate::AuthenticationLayer::readiness) tells
    /// how discovery stands. Explicit endpoints set with `with_*_endpoint` still take
    /// precedence over discovered ones.
    ///
    /// ```
    /// use axum_oidc_client::{DiscoveryHealth, OAuthConfigurationBuilder};
    ///
    /// // Nothing listens on port 9: the configuration builds all the same.
    /// let config = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_client_secret("s3cret")
    ///     .with_app_url("http://localhost:3000")
    ///     .with_lazy_issuer("http://127.0.0.1:9/realms/shop")
    ///     .build()
    ///     .unwrap();
    /// assert!(matches!(config.discovery_health(), DiscoveryHealth::Pending { .. }));
    /// assert_eq!(config.issuer(), Some("http://127.0.0.1:9/realms/shop"));
    /// ```
    pub fn with_lazy_issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        if let Err(e) = self.check_issuer(&issuer) {
            self.pending.get_or_insert(e);
        }
        self.issuer = Some(issuer);
        self.metadata = None;
        self.lazy_discovery = true;
        self
    }

    /// Discovers the issuer now, like [`with_issuer`](Self::with_issuer), but when
    /// the provider cannot be reached (connection refused, timeout, HTTP 5xx or 429)
    /// logs a warning and falls back to
    /// [`with_lazy_issuer`](Self::with_lazy_issuer): the application starts and
    /// discovery is retried in the background. A document that is wrong (not JSON,
    /// another issuer, plain-http endpoints) is still an error here, since waiting
    /// would not fix it.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
    /// use axum_oidc_client::OAuthConfigurationBuilder;
    /// let config = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_app_url("https://app.example")
    ///     .with_issuer_or_retry_in_background("https://login.example/realms/shop")
    ///     .await?
    ///     .build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub async fn with_issuer_or_retry_in_background(
        mut self,
        issuer: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        match self.discover(issuer.clone()).await {
            Ok(()) => Ok(self),
            Err(ConfigError::Discovery(e)) if crate::config::discovery_is_transient(&e) => {
                tracing::warn!(
                    issuer,
                    reason = "discovery_failed",
                    error = crate::observe::error_chain(&e),
                    "the OpenID provider cannot be reached; starting anyway, logins answer 503 until discovery succeeds in the background"
                );
                Ok(self.with_lazy_issuer(issuer))
            }
            Err(e) => Err(e),
        }
    }

    /// Like [`with_issuer`](Self::with_issuer), but never failing here: a discovery
    /// error is kept and returned by [`build`](Self::build), so the chain reads the same
    /// as every other setter (and as the bearer builder's).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
    /// use axum_oidc_client::OAuthConfigurationBuilder;
    /// let config = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_app_url("https://app.example")
    ///     .with_discovered_issuer("https://login.example/realms/shop")
    ///     .await
    ///     .build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub async fn with_discovered_issuer(mut self, issuer: impl Into<String>) -> Self {
        if let Err(e) = self.discover(issuer.into()).await {
            self.pending.get_or_insert(e);
        }
        self
    }

    setter!(
        /// The client id registered at the provider. Required.
        with_client_id, client_id, String
    );

    /// The client secret. Without one the client is public and relies on PKCE.
    pub fn with_client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(ClientSecret::new(secret));
        self
    }

    setter!(
        /// Token endpoint authentication. Default `client_secret_basic`, or `none`
        /// without a secret.
        with_client_auth_method, client_auth, ClientAuthMethod
    );

    setter!(
        /// The cookie secret; make one with `openssl rand -base64 48`. Keys are derived
        /// from it with HKDF-SHA256. Every instance must share it. Without it a random
        /// key is generated per process and a warning logged.
        ///
        /// `build()` refuses a secret shorter than 32 bytes
        /// ([`ConfigError::CookieKeyTooShort`]), and, as
        /// [`ConfigError::Invalid`] naming `COOKIE_KEY`, the documentation's example
        /// values and secrets estimated at fewer than
        /// [`MIN_SECRET_BITS`](crate::session::cookies::MIN_SECRET_BITS) bits: the estimate counts
        /// the characters that are not runs (`aaaa`), sequences (`abcd`, `1234`),
        /// repeated blocks or the inside of words, times the Shannon entropy of the
        /// characters. Random keys of 44 characters or more pass.
        with_private_cookie_key, cookie_secret, String
    );

    /// Sends `audience=<value>` with the authorization request (needed by some
    /// providers, e.g. Auth0, to issue JWT access tokens).
    pub fn with_audience(self, audience: impl Into<String>) -> Self {
        self.with_auth_param("audience", audience)
    }

    /// Adds an extra authorization request parameter (`prompt`, `acr_values`,
    /// `access_type`, `resource`, ...). Protocol parameters set by the library
    /// (`state`, `nonce`, `code_challenge`, ...) cannot be overridden.
    pub fn with_auth_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.auth_params.push((name.into(), value.into()));
        self
    }

    setter!(
        /// The application's public origin, such as `https://app.example`. The redirect
        /// and post-logout URIs default to paths below it, and the session cookie gets
        /// `Secure` when it is https.
        with_app_url, app_url, String
    );

    setter!(
        /// The redirect URI. Default `{app_url}{base_path}/callback`.
        with_redirect_uri, redirect_uri, String
    );

    setter!(
        /// Whether `redirect_uri` is sent in the code exchange (RFC 6749 4.1.3). Default
        /// `true`; turn off only for providers that reject it.
        with_token_request_redirect_uri, token_request_redirect_uri, bool
    );

    setter!(
        /// Authorization endpoint, when not discovered.
        with_authorization_endpoint, authorization_endpoint, String
    );

    setter!(
        /// Token endpoint, when not discovered.
        with_token_endpoint, token_endpoint, String
    );

    setter!(
        /// End-session endpoint (RP-Initiated Logout 1.0), when not discovered.
        with_end_session_endpoint, end_session_endpoint, String
    );

    setter!(
        /// Revocation endpoint (RFC 7009), when not discovered.
        with_revocation_endpoint, revocation_endpoint, String
    );

    setter!(
        /// UserInfo endpoint, when not discovered.
        with_userinfo_endpoint, userinfo_endpoint, String
    );

    setter!(
        /// JWKS URI, when not discovered.
        with_jwks_uri, jwks_uri, String
    );

    setter!(
        /// Where the provider sends the browser after RP-initiated logout. Default
        /// `{app_url}{base_path}/logout/callback`, which checks the returned `state` and
        /// then redirects to `/`. Must be registered at the provider.
        with_post_logout_redirect_uri, post_logout_redirect_uri, String
    );

    /// The PKCE method. Only `S256` is accepted here; `plain` needs
    /// [`insecure_with_plain_pkce`](Self::insecure_with_plain_pkce).
    pub fn with_code_challenge_method(mut self, method: CodeChallengeMethod) -> Self {
        self.pkce = Some(method);
        self
    }

    /// Uses PKCE `plain`, which RFC 9700 2.1.1 forbids for clients able to hash. Only
    /// for providers that support nothing else.
    pub fn insecure_with_plain_pkce(mut self) -> Self {
        self.insecure_plain_pkce = true;
        self.pkce = Some(CodeChallengeMethod::InsecurePlain);
        self
    }

    /// Accepts plain-http provider and application URLs on hosts other than localhost.
    pub fn insecure_allow_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// Requested scopes. Default `openid profile email`; `openid` is added when missing
    /// in OpenID Connect mode.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    setter!(
        /// A PEM file with an extra CA certificate trusted for calls to the provider.
        with_custom_ca_cert, ca_cert, String
    );

    setter!(
        /// Absolute session lifetime from login. Default 12 hours.
        with_session_max_age, session_max_age, Duration
    );

    setter!(
        /// Idle timeout: a session unused for this long ends. Default 1 hour.
        with_idle_timeout, idle_timeout, Duration
    );

    setter!(
        /// Access-token lifetime assumed when the token response has no `expires_in` and
        /// no ID token gives an expiry. Default 5 minutes.
        with_token_max_age, token_max_age, Duration
    );

    setter!(
        /// Refresh this long before the access token expires. Default 30 seconds.
        with_refresh_margin, refresh_margin, Duration
    );

    setter!(
        /// Clock-skew tolerance for `exp` and `iat`. Default 60 seconds.
        with_leeway, leeway, Duration
    );

    /// Base path of the library's routes. Default `/auth`.
    pub fn with_base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = Some(path.into());
        self
    }

    setter!(
        /// Session cookie name. Default `axum_oidc_session`.
        with_session_cookie_name, session_cookie_name, String
    );

    setter!(
        /// Allowed ID token signature algorithms. Default: all of RS256/384/512,
        /// PS256/384/512, ES256/384 and EdDSA. `none` and HMAC cannot be allowed.
        with_allowed_algorithms, algorithms, Vec<SigningAlgorithm>
    );

    /// An audience, besides the client id, that ID tokens may carry (with `azp` set
    /// to the client id).
    pub fn with_additional_audience(mut self, aud: impl Into<String>) -> Self {
        self.additional_audiences.push(aud.into());
        self
    }

    setter!(
        /// Timeout of each HTTP call to the provider. Default 10 seconds.
        with_http_timeout, http_timeout, Duration
    );

    setter!(
        /// Timeout of each store operation. Default 2 seconds.
        with_store_timeout, store_timeout, Duration
    );

    setter!(
        /// Minimum time between JWKS refetches caused by unknown `kid`s. Default 10 s.
        with_jwks_refetch_interval, jwks_refetch_interval, Duration
    );

    setter!(
        /// Whether `GET {base}/logout` logs out too (for plain links). Default `false`:
        /// only a same-origin `POST` logs out (checked with `Origin` or
        /// `Sec-Fetch-Site`). A GET cannot carry that proof, so a cross-site page could
        /// sign the user out; when this is on, a GET that the browser marks
        /// `Sec-Fetch-Site: cross-site` is still refused with 403.
        with_logout_via_get, logout_via_get, bool
    );

    setter!(
        /// Whether logout revokes the session's tokens at the provider's revocation
        /// endpoint (RFC 7009). Default `true`. Some providers (Google) withdraw the
        /// user's whole grant on revocation, ending their other sessions too.
        with_revoke_on_logout, revoke_on_logout, bool
    );

    setter!(
        /// Replaces the clock (tests).
        with_clock, clock, Clock
    );

    /// Plain OAuth 2.0 mode for providers without ID tokens (GitHub): identity is read
    /// from `user_endpoint` with the access token, `sub` from the JSON field `sub_field`.
    pub fn with_oauth2_only(
        mut self,
        user_endpoint: impl Into<String>,
        sub_field: impl Into<String>,
    ) -> Self {
        let endpoint = user_endpoint.into();
        self.userinfo_endpoint = Some(endpoint.clone());
        self.identity = IdentityMode::OAuth2Only {
            user_endpoint: Url::parse(&endpoint)
                .unwrap_or_else(|_| Url::parse("invalid:").expect("static")),
            sub_field: sub_field.into(),
        };
        self
    }

    /// Adds a named provider: with several, `GET {base}/login?provider=NAME` starts a
    /// login there, `GET {base}/login` without one shows a chooser page, and each
    /// provider returns to its own redirect URI, `{base}/callback/NAME` (so a response
    /// is bound to the provider it was asked of, RFC 9700 section 4.4). Sessions
    /// remember their provider for refresh, logout and revocation.
    ///
    /// Names are 1 to 32 characters of `a-z`, `0-9`, `-` and `_`, checked by
    /// [`build`](Self::build). A configuration with named providers takes no issuer,
    /// client or endpoint of its own: each provider's come from its
    /// [`ProviderSettings`], discovered in the background, so that the application
    /// starts while a provider is down. The builder's
    /// [`with_scopes`](Self::with_scopes) and [`with_auth_param`](Self::with_auth_param)
    /// are every provider's defaults. See [`ProviderSettings`] for an example.
    pub fn with_provider(mut self, name: impl Into<String>, settings: ProviderSettings) -> Self {
        self.named.push((name.into(), settings));
        self
    }

    /// Fetches the UserInfo endpoint after login and refresh and merges its claims
    /// (only when its `sub` equals the ID token's, OIDC Core 5.3.4).
    pub fn with_userinfo(mut self, fetch: bool) -> Self {
        self.fetch_userinfo = fetch;
        self
    }

    /// Pushes each authorization request to the provider's
    /// `pushed_authorization_request_endpoint` (RFC 9126) and sends the browser with
    /// only `client_id` and `request_uri`. Without this, requests are pushed only when
    /// the provider's metadata says `require_pushed_authorization_requests`. A
    /// provider without a PAR endpoint is refused by [`build`](Self::build) (or, with
    /// lazy discovery, when it is discovered). With named providers, `true` here is
    /// every provider's default.
    pub fn with_pushed_authorization_requests(mut self, push: bool) -> Self {
        self.pushed_authorization_requests = push;
        self.par_disabled = !push;
        self
    }
}
