//! [`OAuthConfigurationBuilder`]: every option, with units and defaults.

use std::sync::Arc;
use std::time::Duration;

use cookie::SameSite;
use url::Url;

use crate::config::{
    ClientAuthMethod, Clock, ConfigError, ConfigInner, IdentityMode, OAuthConfiguration,
    ProviderConfig, Routes, url_is_acceptable,
};
use crate::discovery::{ProviderMetadata, discover};
use crate::jose::JwksCache;
use crate::jose::SigningAlgorithm;
use crate::pkce::CodeChallengeMethod;
use crate::secret::ClientSecret;
use crate::session::cookies::{CookieKey, CookieSettings};

/// Default scopes: `openid profile email`.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];

/// Builds an [`OAuthConfiguration`].
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
    metadata: Option<ProviderMetadata>,
    issuer: Option<String>,
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
    clock: Option<Clock>,
    insecure_http: bool,
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
    /// | `APP_URL` | the application's origin | `http://localhost:3000` |
    /// | `OIDC_SCOPES` | space-separated scopes | `openid profile email` |
    /// | `COOKIE_KEY` | cookie secret: `openssl rand -base64 48` | random per process (warns) |
    /// | `OIDC_CA_CERT` | PEM file of an extra trusted CA | none |
    /// | `OIDC_BASE_PATH` | base path of the auth routes | `/auth` |
    /// | `OIDC_REFRESH_MARGIN_SECS` | refresh this long before expiry | `30` |
    ///
    /// Discovery runs here, so a wrong issuer fails at start-up.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut b = Self::default()
            .with_client_id(var("OIDC_CLIENT_ID").ok_or(ConfigError::Missing("OIDC_CLIENT_ID"))?)
            .with_app_url(var("APP_URL").unwrap_or_else(|| "http://localhost:3000".into()));
        if let Some(s) = var("OIDC_CLIENT_SECRET") {
            b = b.with_client_secret(s);
        } else {
            b = b.with_client_auth_method(ClientAuthMethod::None);
        }
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
        let issuer = var("OIDC_ISSUER").ok_or(ConfigError::Missing("OIDC_ISSUER"))?;
        b.with_issuer(issuer).await
    }

    /// Discovers the provider at `issuer` (OIDC Discovery 1.0) and fetches its keys.
    /// Options that shape HTTP calls (`with_custom_ca_cert`) must be set before.
    /// Explicit endpoints set with `with_*_endpoint` take precedence over discovered ones.
    pub async fn with_issuer(mut self, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        let parsed = Url::parse(&issuer).map_err(|_| ConfigError::InvalidUrl {
            name: "issuer",
            value: issuer.clone(),
        })?;
        if !self.insecure_http && !url_is_acceptable(&parsed) {
            return Err(ConfigError::InsecureUrl("issuer"));
        }
        let http = self.http_client()?;
        let meta = discover(&http, &issuer)
            .await
            .map_err(ConfigError::Discovery)?;
        self.issuer = Some(issuer);
        self.metadata = Some(meta);
        Ok(self)
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

    /// Fetches the UserInfo endpoint after login and refresh and merges its claims
    /// (only when its `sub` equals the ID token's, OIDC Core 5.3.4).
    pub fn with_userinfo(mut self, fetch: bool) -> Self {
        self.fetch_userinfo = fetch;
        self
    }

    fn http_client(&self) -> Result<reqwest::Client, ConfigError> {
        let mut b = reqwest::Client::builder()
            .timeout(self.http_timeout.unwrap_or(Duration::from_secs(10)))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("axum-oidc-client/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &self.ca_cert {
            b = add_custom_ca(b, path)?;
        }
        b.build().map_err(ConfigError::Http)
    }

    /// Validates everything and builds the configuration.
    pub fn build(self) -> Result<OAuthConfiguration, ConfigError> {
        let http = self.http_client()?;
        let insecure = self.insecure_http;
        let url = |name: &'static str, v: &str| -> Result<Url, ConfigError> {
            let u = Url::parse(v).map_err(|_| ConfigError::InvalidUrl {
                name,
                value: v.to_owned(),
            })?;
            if !insecure && !url_is_acceptable(&u) {
                return Err(ConfigError::InsecureUrl(name));
            }
            Ok(u)
        };
        let opt_url = |name: &'static str, explicit: &Option<String>, discovered: Option<&Url>| {
            match explicit {
                Some(v) => url(name, v).map(Some),
                None => Ok(discovered.cloned()),
            }
        };
        let meta = self.metadata.as_ref();
        let client_id = self
            .client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(ConfigError::Missing("client_id"))?;
        let authorization_endpoint = opt_url(
            "authorization_endpoint",
            &self.authorization_endpoint,
            meta.map(|m| &m.authorization_endpoint),
        )?
        .ok_or(ConfigError::Missing(
            "authorization_endpoint (or with_issuer)",
        ))?;
        let token_endpoint = opt_url(
            "token_endpoint",
            &self.token_endpoint,
            meta.map(|m| &m.token_endpoint),
        )?
        .ok_or(ConfigError::Missing("token_endpoint (or with_issuer)"))?;
        let end_session_endpoint = opt_url(
            "end_session_endpoint",
            &self.end_session_endpoint,
            meta.and_then(|m| m.end_session_endpoint.as_ref()),
        )?;
        let revocation_endpoint = opt_url(
            "revocation_endpoint",
            &self.revocation_endpoint,
            meta.and_then(|m| m.revocation_endpoint.as_ref()),
        )?;
        let userinfo_endpoint = opt_url(
            "userinfo_endpoint",
            &self.userinfo_endpoint,
            meta.and_then(|m| m.userinfo_endpoint.as_ref()),
        )?;
        let jwks_uri = opt_url(
            "jwks_uri",
            &self.jwks_uri,
            meta.and_then(|m| m.jwks_uri.as_ref()),
        )?;

        let oidc = self.identity == IdentityMode::OpenIdConnect;
        if let IdentityMode::OAuth2Only { user_endpoint, .. } = &self.identity
            && user_endpoint.scheme() == "invalid"
        {
            return Err(ConfigError::InvalidUrl {
                name: "user_endpoint",
                value: String::new(),
            });
        }
        if oidc && self.issuer.is_none() {
            return Err(ConfigError::Missing(
                "issuer (OpenID Connect mode needs with_issuer)",
            ));
        }
        let jwks = match (oidc, jwks_uri) {
            (true, Some(u)) => Some(
                JwksCache::new(u, http.clone()).with_min_refetch_interval(
                    self.jwks_refetch_interval
                        .unwrap_or(Duration::from_secs(10)),
                ),
            ),
            (true, None) => return Err(ConfigError::Missing("jwks_uri")),
            (false, _) => None,
        };

        let base_path = normalize_base_path(self.base_path.as_deref().unwrap_or("/auth"))?;
        let app_url = match (&self.app_url, &self.redirect_uri) {
            (Some(a), _) => url("app_url", a)?,
            (None, Some(r)) => {
                let r = url("redirect_uri", r)?;
                Url::parse(&r.origin().ascii_serialization())
                    .map_err(|_| ConfigError::Missing("app_url"))?
            }
            (None, None) => return Err(ConfigError::Missing("app_url (or redirect_uri)")),
        };
        let origin = app_url.origin().ascii_serialization();
        let redirect_uri = match &self.redirect_uri {
            Some(r) => url("redirect_uri", r)?,
            None => url("redirect_uri", &format!("{origin}{base_path}/callback"))?,
        };
        // The layer answers the callback at `{base_path}/callback`, and the login cookie
        // is scoped to the base path: a redirect URI elsewhere could never complete.
        if !redirect_uri
            .path()
            .ends_with(&format!("{base_path}/callback"))
        {
            return Err(ConfigError::Invalid {
                name: "redirect_uri",
                reason: format!("its path must end with {base_path}/callback (see with_base_path)"),
            });
        }
        let post_logout_redirect_uri = match &self.post_logout_redirect_uri {
            Some(r) => url("post_logout_redirect_uri", r)?,
            None => url(
                "post_logout_redirect_uri",
                &format!("{origin}{base_path}/logout/callback"),
            )?,
        };

        let pkce = self.pkce.unwrap_or_default();
        if pkce == CodeChallengeMethod::InsecurePlain && !self.insecure_plain_pkce {
            return Err(ConfigError::Invalid {
                name: "code_challenge_method",
                reason: "plain is only available through insecure_with_plain_pkce()".into(),
            });
        }
        let client_auth = self.client_auth.unwrap_or(if self.client_secret.is_some() {
            ClientAuthMethod::ClientSecretBasic
        } else {
            ClientAuthMethod::None
        });
        if client_auth != ClientAuthMethod::None && self.client_secret.is_none() {
            return Err(ConfigError::Missing(
                "client_secret (or ClientAuthMethod::None)",
            ));
        }

        let cookie_key = match &self.cookie_secret {
            Some(s) => {
                if s.len() >= crate::session::cookies::MIN_SECRET_LEN
                    && let Some(reason) = crate::session::cookies::secret_weakness(s)
                {
                    return Err(ConfigError::Invalid {
                        name: "COOKIE_KEY",
                        reason,
                    });
                }
                CookieKey::derive(s.as_bytes()).ok_or(ConfigError::CookieKeyTooShort)?
            }
            None => {
                tracing::warn!(
                    "no cookie key configured: generated a random one; sessions will not survive a restart nor work across instances"
                );
                CookieKey::generate()
            }
        };

        let mut scopes = self
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
        if oidc && !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let algorithms = self
            .algorithms
            .unwrap_or_else(|| SigningAlgorithm::ALL.to_vec());
        if algorithms.is_empty() {
            return Err(ConfigError::Invalid {
                name: "allowed_algorithms",
                reason: "empty".into(),
            });
        }
        let session_max_age = self
            .session_max_age
            .unwrap_or(Duration::from_secs(12 * 3600));
        let idle_timeout = self
            .idle_timeout
            .unwrap_or(Duration::from_secs(3600))
            .min(session_max_age);
        if idle_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid {
                name: "idle_timeout",
                reason: "must be at least one second".into(),
            });
        }
        let session_name = self
            .session_cookie_name
            .unwrap_or_else(|| "axum_oidc_session".into());
        if session_name.is_empty()
            || !session_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::Invalid {
                name: "session_cookie_name",
                reason: "use letters, digits, - and _".into(),
            });
        }

        Ok(OAuthConfiguration {
            inner: Arc::new(ConfigInner {
                provider: ProviderConfig {
                    client_id,
                    client_secret: self.client_secret,
                    client_auth,
                    iss_parameter_required: meta
                        .is_some_and(|m| m.authorization_response_iss_parameter_supported),
                    issuer: self.issuer,
                    authorization_endpoint,
                    token_endpoint,
                    userinfo_endpoint,
                    end_session_endpoint,
                    revocation_endpoint,
                    jwks,
                    scopes,
                    auth_params: self.auth_params,
                    pkce,
                    token_max_age: self.token_max_age.unwrap_or(Duration::from_secs(300)),
                    leeway: self.leeway.unwrap_or(Duration::from_secs(60)),
                    algorithms,
                    additional_audiences: self.additional_audiences,
                    http,
                    identity: self.identity,
                    fetch_userinfo: self.fetch_userinfo,
                },
                routes: Routes {
                    redirect_uri,
                    post_logout_redirect_uri,
                    token_request_redirect_uri: self.token_request_redirect_uri.unwrap_or(true),
                    logout_via_get: self.logout_via_get.unwrap_or(false),
                    base_path: base_path.clone(),
                },
                cookie_key,
                cookies: CookieSettings {
                    session_name,
                    login_prefix: "axum_oidc_login_".into(),
                    secure: app_url.scheme() == "https",
                    login_path: base_path,
                    same_site: SameSite::Lax,
                },
                policy: crate::session::SessionPolicy::new(idle_timeout, session_max_age)
                    .with_refresh_margin(self.refresh_margin.unwrap_or(Duration::from_secs(30))),
                store_timeout: self.store_timeout.unwrap_or(Duration::from_secs(2)),
                revoke_on_logout: self.revoke_on_logout.unwrap_or(true),
                clock: self.clock.unwrap_or_default(),
            }),
        })
    }
}

fn normalize_base_path(p: &str) -> Result<String, ConfigError> {
    let trimmed = p.trim_end_matches('/');
    let ok = trimmed.starts_with('/')
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
        && !trimmed.contains("//");
    if !ok {
        return Err(ConfigError::Invalid {
            name: "base_path",
            reason: format!("{p:?} is not a plain absolute path"),
        });
    }
    Ok(trimmed.to_owned())
}

/// Adds the certificates of a PEM file as trusted roots.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn add_custom_ca(
    mut b: reqwest::ClientBuilder,
    path: &str,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    let err = |reason: String| ConfigError::CaCert {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate found".into()));
    }
    for c in certs {
        b = b.add_root_certificate(c);
    }
    Ok(b)
}

/// Without a TLS backend there is nothing to trust a CA for.
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn add_custom_ca(
    _: reqwest::ClientBuilder,
    path: &str,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    Err(ConfigError::CaCert {
        path: path.to_owned(),
        reason: "built without a TLS feature (rustls or native-tls)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit() -> OAuthConfigurationBuilder {
        OAuthConfigurationBuilder::default()
            .with_client_id("c")
            .with_client_secret("s")
            .with_app_url("http://localhost:3000")
            .with_authorization_endpoint("https://op.example/authorize")
            .with_token_endpoint("https://op.example/token")
            .with_oauth2_only("https://op.example/user", "id")
            .with_private_cookie_key("kD9vR2xQ7mW4zL1pT8nB3cF6hJ0sY5gA")
    }

    #[test]
    fn explicit_endpoints_work_without_discovery() {
        let c = explicit().build().unwrap();
        assert_eq!(
            c.redirect_uri().as_str(),
            "http://localhost:3000/auth/callback"
        );
        assert_eq!(
            c.inner.routes.post_logout_redirect_uri.as_str(),
            "http://localhost:3000/auth/logout/callback"
        );
        assert!(!c.inner.cookies.secure);
    }

    #[test]
    fn https_app_url_makes_cookies_secure() {
        let c = explicit()
            .with_app_url("https://app.example")
            .build()
            .unwrap();
        assert!(c.inner.cookies.secure);
    }

    #[test]
    fn refuses_short_cookie_key() {
        assert!(matches!(
            explicit().with_private_cookie_key("short").build(),
            Err(ConfigError::CookieKeyTooShort)
        ));
    }

    /// The reason a cookie key was refused, if it was refused the way weak keys are.
    fn weak_key_refusal(key: &str) -> Option<String> {
        match explicit().with_private_cookie_key(key).build() {
            Err(ConfigError::Invalid { name, reason }) => {
                assert_eq!(name, "COOKIE_KEY");
                assert!(
                    reason.contains("openssl rand -base64 48"),
                    "the refusal says how to make a key: {reason}"
                );
                assert!(!reason.contains(key), "the key must not be echoed");
                Some(reason)
            }
            Err(e) => panic!("{key:?}: unexpected error {e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn the_documented_example_cookie_keys_are_refused() {
        for example in [
            "a secret of at least thirty-two bytes!!",
            "a secret of at least thirty-two bytes!",
            "at least thirty-two bytes of secret key material",
            // Changing the case or the punctuation does not make it a secret.
            "A-Secret-Of-At-Least-Thirty-Two-Bytes",
        ] {
            assert!(weak_key_refusal(example).is_some(), "{example:?}");
        }
    }

    #[test]
    fn repeated_sequential_and_low_entropy_cookie_keys_are_refused() {
        for weak in [
            "a".repeat(64).as_str(),
            "0123456789abcdef0123456789abcdef",
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "zyxwvutsrqponmlkjihgfedcba9876543210",
            "Secret1!Secret1!Secret1!Secret1!Secret1!",
            "abababababababababababababababababababab",
            "0000000011111111000000001111111100000000",
            "correct horse battery staple and more words",
            "my-company-production-cookie-secret-2024",
            // 16 random bytes in hex: 128 bits at best, not a margin above the bar.
            "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e",
        ] {
            assert!(weak_key_refusal(weak).is_some(), "{weak:?} was accepted");
        }
    }

    #[test]
    fn an_openssl_rand_base64_48_cookie_key_is_accepted() {
        use base64::Engine as _;
        for _ in 0..20 {
            let bytes: [u8; 48] = rand::random();
            let key = base64::engine::general_purpose::STANDARD.encode(bytes);
            assert_eq!(key.len(), 64);
            assert!(weak_key_refusal(&key).is_none(), "{key:?} was refused");
        }
        // Without building a configuration each time: many more draws.
        for _ in 0..5_000 {
            let bytes: [u8; 48] = rand::random();
            let key = base64::engine::general_purpose::STANDARD.encode(bytes);
            assert_eq!(
                crate::session::cookies::secret_weakness(&key),
                None,
                "{key:?}"
            );
        }
    }

    #[test]
    fn refuses_plain_pkce_without_the_insecure_option() {
        let e = explicit()
            .with_code_challenge_method(CodeChallengeMethod::InsecurePlain)
            .build();
        assert!(matches!(
            e,
            Err(ConfigError::Invalid {
                name: "code_challenge_method",
                ..
            })
        ));
        assert_eq!(
            explicit()
                .insecure_with_plain_pkce()
                .build()
                .unwrap()
                .inner
                .provider
                .pkce,
            CodeChallengeMethod::InsecurePlain
        );
    }

    #[test]
    fn refuses_plain_http_to_remote_hosts() {
        let e = explicit()
            .with_token_endpoint("http://op.example/token")
            .build();
        assert!(matches!(e, Err(ConfigError::InsecureUrl("token_endpoint"))));
        explicit()
            .with_token_endpoint("http://127.0.0.1:9/token")
            .build()
            .unwrap();
    }

    #[test]
    fn bad_ca_certificate_is_a_configuration_error() {
        let path = std::env::temp_dir().join("axum-oidc-client-bad-ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let e = explicit()
            .with_custom_ca_cert(path.to_string_lossy())
            .build();
        assert!(matches!(e, Err(ConfigError::CaCert { .. })), "{e:?}");
        let e = explicit()
            .with_custom_ca_cert("/nonexistent/ca.pem")
            .build();
        assert!(matches!(e, Err(ConfigError::CaCert { .. })));
    }

    #[test]
    fn normalizes_and_validates_base_path() {
        assert_eq!(normalize_base_path("/auth/").unwrap(), "/auth");
        assert!(normalize_base_path("auth").is_err());
        assert!(normalize_base_path("//evil").is_err());
    }

    #[test]
    fn oidc_mode_requires_an_issuer() {
        let b = OAuthConfigurationBuilder::default()
            .with_client_id("c")
            .with_app_url("http://localhost:3000")
            .with_authorization_endpoint("https://op.example/authorize")
            .with_token_endpoint("https://op.example/token");
        assert!(matches!(b.build(), Err(ConfigError::Missing(_))));
    }
}
