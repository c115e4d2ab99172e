//! Configuration: [`OAuthConfiguration`], built once at start-up and validated then.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use url::Url;

use crate::session::cookies::{CookieKey, CookieSettings};

mod builder;
mod provider;
mod provider_cell;
pub(crate) mod providers;
mod routes;
use crate::discovery::DiscoveryError;
use crate::jose::{JwksCache, JwksError};
pub use builder::{DEFAULT_SCOPES, OAuthConfigurationBuilder, ProviderSettings, SecurityProfile};
pub(crate) use provider::ProviderConfig;
pub(crate) use provider_cell::{ProviderCell, is_transient as discovery_is_transient};
pub(crate) use routes::Routes;

/// A configuration mistake, reported at start-up with the input that caused it.
///
/// Every message names the setting (its environment variable where
/// [`from_env`](OAuthConfigurationBuilder::from_env) reads one, and its builder method)
/// and, where there is one, the fix. No message contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("missing configuration: {} is required", setting(.0))]
    Missing(&'static str),
    /// A setting is not a valid URL.
    #[error(
        "{} is not a valid absolute URL: {:?}; write the whole URL, scheme included \
         (e.g. https://login.example)",
        setting(.name),
        without_password(.value)
    )]
    InvalidUrl {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// A URL uses plain http towards a host that is not this machine.
    #[error(
        "{} must use https: plain http is only accepted for localhost, 127.0.0.0/8 and [::1] \
         (insecure_allow_http() lifts this, for development only)",
        setting(.0)
    )]
    InsecureUrl(&'static str),
    /// The cookie secret is shorter than 32 bytes.
    #[error(
        "the cookie key (COOKIE_KEY, with_private_cookie_key) must be at least 32 bytes; \
         generate one with `openssl rand -base64 48`"
    )]
    CookieKeyTooShort,
    /// An invalid value for a setting.
    #[error("invalid value for {}: {reason}", setting(.name))]
    Invalid {
        /// Which setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The custom CA certificate could not be read or parsed.
    #[error(
        "custom CA certificate {path} (OIDC_CA_CERT, with_custom_ca_cert): {reason}; \
         give a readable PEM file"
    )]
    CaCert {
        /// The file.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// Discovery failed.
    #[error("OpenID discovery of the issuer (OIDC_ISSUER, with_issuer) failed")]
    Discovery(#[source] DiscoveryError),
    /// The provider's keys could not be fetched.
    #[error("could not fetch the provider's signing keys (the jwks_uri of its discovery document)")]
    Jwks(#[source] JwksError),
    /// The HTTP client could not be built.
    #[error(
        "could not build the HTTP client for the provider (check with_custom_ca_cert / \
         OIDC_CA_CERT and the TLS feature, rustls or native-tls)"
    )]
    Http(#[source] reqwest::Error),

    // The bearer layer's settings ([`JwtConfigurationBuilder`](crate::bearer::JwtConfigurationBuilder)).
    /// No issuer is trusted: configure at least one key source.
    #[error(
        "no issuer configured: give the bearer layer a key source (with_issuer, \
         with_jwks_uri, with_public_key_pem, with_jwks_json, with_hmac_secret or \
         with_oauth_configuration; OIDC_ISSUER or JWT_ISSUER for from_env)"
    )]
    NoIssuer,
    /// No audience is configured and
    /// [`insecure_skip_audience`](crate::bearer::JwtConfigurationBuilder::insecure_skip_audience)
    /// was not called (RFC 8725 section 3.9).
    #[error(
        "no audience configured: set the audience your API expects in its tokens \
         (with_audience, JWT_AUDIENCE)"
    )]
    MissingAudience,
    /// An audience is empty.
    #[error("invalid audience {0:?} (with_audience, JWT_AUDIENCE): an audience must not be empty")]
    InvalidAudience(String),
    /// An issuer identifier is empty or, where it must be a URL, not one.
    #[error(
        "invalid issuer {0:?}: an issuer is a non-empty identifier, and an absolute URL \
         where it is discovered (e.g. https://login.example/realm)"
    )]
    InvalidIssuer(String),
    /// The same issuer was given two kinds of key source (for example a JWKS URI and
    /// an HMAC secret), or two JWKS sources.
    #[error(
        "issuer {0:?} has conflicting key sources: give it one of with_issuer, \
         with_jwks_uri, with_jwks_cache, with_public_key_pem/with_jwks_json or \
         with_hmac_secret"
    )]
    ConflictingKeySources(String),
    /// A static key (PEM or JWK JSON) could not be parsed.
    #[error("key for issuer {issuer:?} is invalid (with_public_key_pem, with_jwks_json): {reason}")]
    InvalidKey {
        /// The issuer.
        issuer: String,
        /// Why.
        reason: String,
    },
    /// Static keys were given for an issuer but none is a usable signature key.
    #[error(
        "issuer {0:?} has no usable verification key: give a public signature key \
         (RSA, EC or OKP) of an allowed algorithm"
    )]
    NoUsableKeys(String),
    /// The HMAC secret is shorter than the hash output (RFC 7518 section 3.2).
    #[error(
        "HMAC secret for issuer {issuer:?} (with_hmac_secret) must be at least {min} bytes \
         (RFC 7518 section 3.2); generate one with `openssl rand -base64 48`"
    )]
    HmacSecretTooShort {
        /// The issuer.
        issuer: String,
        /// Minimum length in bytes.
        min: usize,
    },
    /// The HMAC secret looks like a PEM key: a public key must never be an HMAC
    /// secret (RFC 8725 section 2.1).
    #[error(
        "HMAC secret for issuer {0:?} looks like a PEM key: give a public key to \
         with_public_key_pem, never as an HMAC secret (RFC 8725 section 2.1)"
    )]
    HmacSecretLooksLikeKey(String),
    /// The algorithm allow-list is empty.
    #[error("the algorithm allow-list (with_algorithms) is empty: allow at least one algorithm")]
    NoAlgorithms,
    /// A required claim name is empty.
    #[error("invalid required claim name {0:?} (with_required_claims): it must not be empty")]
    InvalidRequiredClaim(String),
    /// More than 64 distinct required claims.
    #[error("at most 64 required claims are supported (with_required_claims)")]
    TooManyRequiredClaims,
    /// The leeway is larger than five minutes.
    #[error(
        "leeway of {0} s is larger than 300 s (with_leeway, JWT_LEEWAY_SECS): fix the \
         clocks instead (NTP) and keep the leeway under 300 s"
    )]
    LeewayTooLarge(u64),
    /// The realm contains characters that cannot appear in a quoted string.
    #[error(
        "invalid realm {0:?} (with_realm): use visible ASCII characters and spaces, \
         without \" or \\"
    )]
    InvalidRealm(String),
    /// An environment variable is missing.
    #[error("missing environment variable {0}: set it")]
    MissingEnv(&'static str),
    /// An environment variable has an invalid value.
    #[error("invalid value for {name}: {value:?} (see JwtConfigurationBuilder::from_env)")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// The value.
        value: String,
    },
    /// Discovery of an issuer failed.
    #[error("OpenID discovery of {issuer:?} failed")]
    IssuerDiscovery {
        /// The issuer.
        issuer: String,
        /// The cause.
        #[source]
        source: DiscoveryError,
    },
    /// The discovery document of an issuer has no `jwks_uri`.
    #[error(
        "issuer {0:?} publishes no jwks_uri in its discovery document: give its keys \
         with with_jwks_uri, with_public_key_pem or with_jwks_json"
    )]
    NoJwksUri(String),
    /// An issuer's keys could not be fetched (from
    /// [`JwtConfiguration::fetch_keys`](crate::bearer::JwtConfiguration::fetch_keys)).
    #[error("could not fetch the signing keys of {issuer:?}")]
    IssuerJwks {
        /// The issuer.
        issuer: String,
        /// The cause.
        #[source]
        source: JwksError,
    },
    /// The login configuration given to
    /// [`with_oauth_configuration`](crate::bearer::JwtConfigurationBuilder::with_oauth_configuration)
    /// has no issuer or no key cache (plain OAuth 2.0 mode).
    #[error(
        "the login configuration given to with_oauth_configuration has no issuer or no \
         JWKS (plain OAuth 2.0 mode): give the bearer layer its own key source"
    )]
    NoSharedKeys,
    /// A setting of one named provider
    /// ([`with_provider`](OAuthConfigurationBuilder::with_provider)) is wrong.
    #[error("provider {name:?}: {source}")]
    Provider {
        /// The provider's name.
        name: String,
        /// What is wrong.
        #[source]
        source: Box<ConfigError>,
    },
    /// Background key refresh was requested outside a Tokio runtime.
    #[error(
        "background key refresh (with_background_key_refresh) needs a Tokio runtime: \
         build the configuration inside one"
    )]
    NoRuntime,
}

/// A setting's name for messages: its environment variable where
/// [`from_env`](OAuthConfigurationBuilder::from_env) reads one, and its builder method.
fn setting(name: &str) -> String {
    let (env, method) = match name {
        "issuer" | "OIDC_ISSUER" => (Some("OIDC_ISSUER"), "with_issuer"),
        "client_id" | "OIDC_CLIENT_ID" => (Some("OIDC_CLIENT_ID"), "with_client_id"),
        "app_url" | "APP_URL" => (Some("APP_URL"), "with_app_url"),
        "base_path" | "OIDC_BASE_PATH" => (Some("OIDC_BASE_PATH"), "with_base_path"),
        "COOKIE_KEY" => (Some("COOKIE_KEY"), "with_private_cookie_key"),
        "OIDC_REFRESH_MARGIN_SECS" => (Some(name), "with_refresh_margin"),
        "redirect_uri" => (None, "with_redirect_uri"),
        "authorization_endpoint" => (None, "with_authorization_endpoint"),
        "token_endpoint" => (None, "with_token_endpoint"),
        "end_session_endpoint" => (None, "with_end_session_endpoint"),
        "revocation_endpoint" => (None, "with_revocation_endpoint"),
        "userinfo_endpoint" => (None, "with_userinfo_endpoint"),
        "jwks_uri" => (None, "with_jwks_uri"),
        "post_logout_redirect_uri" => (None, "with_post_logout_redirect_uri"),
        "user_endpoint" => (None, "with_oauth2_only"),
        "code_challenge_method" => (None, "with_code_challenge_method"),
        "client_auth_method" => (None, "with_client_auth_method"),
        "allowed_algorithms" => (None, "with_allowed_algorithms"),
        "idle_timeout" => (None, "with_idle_timeout"),
        "session_cookie_name" => (None, "with_session_cookie_name"),
        "security_profile" => (None, "with_security_profile"),
        "dpop" => (None, "with_dpop"),
        "pushed_authorization_requests" => (None, "with_pushed_authorization_requests"),
        _ => return name.to_owned(),
    };
    format!("{} ({method})", env.unwrap_or(name))
}

/// `value` with the password of a `scheme://user:password@host` URL replaced.
fn without_password(value: &str) -> String {
    let Some(start) = value.find("://").map(|i| i + 3) else {
        return value.to_owned();
    };
    let authority_end = value[start..]
        .find(['/', '?', '#'])
        .map_or(value.len(), |i| start + i);
    match value[start..authority_end].rfind('@') {
        Some(at) => match value[start..start + at].find(':') {
            Some(colon) => format!("{}***{}", &value[..start + colon + 1], &value[start + at..]),
            None => value.to_owned(),
        },
        None => value.to_owned(),
    }
}

/// How the client authenticates at the token endpoint (OIDC Core 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 2.3.1). Default.
    #[default]
    ClientSecretBasic,
    /// id and secret in the form body.
    ClientSecretPost,
    /// A public client: no secret, PKCE only.
    None,
    /// A JWT assertion signed with the client's private key (RFC 7523 section 2.2,
    /// OIDC Core 9 `private_key_jwt`); see [`crate::client_auth`].
    PrivateKeyJwt,
    /// A JWT assertion signed with HMAC SHA-256 and the client secret (OIDC Core 9
    /// `client_secret_jwt`).
    ClientSecretJwt,
}

impl ClientAuthMethod {
    /// The name in `token_endpoint_auth_methods_supported` (OIDC Discovery 1.0
    /// section 3, OIDC Core 9).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretJwt => "client_secret_jwt",
        }
    }
}

/// Where the user's identity comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdentityMode {
    /// OpenID Connect: a verified ID token. Default.
    #[default]
    OpenIdConnect,
    /// Plain OAuth 2.0 (no ID token): identity from a user endpoint whose JSON is mapped
    /// to claims. Nothing about the identity is signed; see the crate docs.
    OAuth2Only {
        /// The user endpoint, called with the access token.
        user_endpoint: Url,
        /// JSON field holding the subject (`id` for GitHub).
        sub_field: String,
    },
}

/// The source of "now", seconds since the epoch. Replaceable in tests.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(manual)"
        } else {
            "Clock(system)"
        })
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands still at `now` until [`advance`](Self::advance)d.
    pub fn manual(now: i64) -> Self {
        Self(Some(Arc::new(AtomicI64::new(now))))
    }

    /// Moves a manual clock forward.
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.0 {
            t.fetch_add(by.as_secs() as i64, Ordering::SeqCst);
        }
    }

    /// Seconds since the epoch.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Some(t) => t.load(Ordering::SeqCst),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        }
    }
}

/// Validated configuration of the login side. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OAuthConfiguration {
    pub(crate) inner: Arc<ConfigInner>,
}

/// The configuration by concern; each protocol step takes the parts it needs.
#[derive(Debug)]
pub(crate) struct ConfigInner {
    /// The providers, each with its client registration, keys and HTTP client: fixed,
    /// or discovered (again) in the background. One unnamed provider, or named ones.
    pub providers: providers::Providers,
    /// The library's routes and redirect URIs.
    pub routes: Routes,
    /// The key of every cookie and of the tokens stored at rest.
    pub cookie_key: CookieKey,
    /// Cookie names and attributes.
    pub cookies: CookieSettings,
    /// Idle and absolute timeouts, refresh margin.
    pub policy: crate::session::SessionPolicy,
    /// Bound of each store operation.
    pub store_timeout: Duration,
    /// Revoke the session's tokens at logout (RFC 7009).
    pub revoke_on_logout: bool,
    /// The source of "now".
    pub clock: Clock,
}

impl OAuthConfiguration {
    /// Starts a builder.
    pub fn builder() -> OAuthConfigurationBuilder {
        OAuthConfigurationBuilder::default()
    }

    /// The client id (of the first provider, when there are several).
    pub fn client_id(&self) -> &str {
        self.inner.providers.first().cell.client_id()
    }

    /// The issuer, when configured (of the first provider, when there are several).
    pub fn issuer(&self) -> Option<&str> {
        self.inner.providers.first().cell.issuer()
    }

    /// The names of the providers added with
    /// [`with_provider`](OAuthConfigurationBuilder::with_provider), in order; empty
    /// for a single-provider configuration.
    pub fn provider_names(&self) -> Vec<&str> {
        self.inner
            .providers
            .all()
            .iter()
            .filter_map(|e| e.name())
            .collect()
    }

    /// The issuer of the named provider, when it has one.
    pub fn provider_issuer(&self, name: &str) -> Option<&str> {
        self.inner.providers.get(name)?.cell.issuer()
    }

    /// The redirect URI of the named provider, `{base}/callback/NAME`.
    pub fn provider_redirect_uri(&self, name: &str) -> Option<&Url> {
        Some(&self.inner.providers.get(name)?.redirect_uri)
    }

    /// The redirect URI registered at the provider (`{base}/callback`; with named
    /// providers, see [`provider_redirect_uri`](Self::provider_redirect_uri)).
    pub fn redirect_uri(&self) -> &Url {
        &self.inner.routes.redirect_uri
    }

    /// The base path of the library's routes (default `/auth`).
    pub fn base_path(&self) -> &str {
        &self.inner.routes.base_path
    }

    /// The JWKS cache, to share with a bearer-token layer; `None` in OAuth 2.0 mode
    /// and while the provider is not discovered yet.
    pub fn jwks(&self) -> Option<JwksCache> {
        self.inner.providers.first().cell.get()?.jwks.clone()
    }

    /// How discovery of the provider stands; with several, the worst of theirs.
    pub fn discovery_health(&self) -> crate::DiscoveryHealth {
        self.inner.providers.health()
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The key used for cookies and stored tokens.
    pub fn cookie_key(&self) -> &CookieKey {
        &self.inner.cookie_key
    }
}

pub(crate) use crate::http_util::url_is_acceptable;

impl From<crate::issuer::TemplateError> for ConfigError {
    fn from(e: crate::issuer::TemplateError) -> Self {
        Self::Invalid {
            name: e.setting,
            reason: e.reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_cookie_key_names_cookie_key_and_how_to_make_one() {
        let text = ConfigError::CookieKeyTooShort.to_string();
        assert!(text.contains("COOKIE_KEY"), "{text}");
        assert!(text.contains("with_private_cookie_key"), "{text}");
        assert!(text.contains("openssl rand -base64 48"), "{text}");
    }

    #[test]
    fn setting_messages_name_the_variable_and_the_builder_method() {
        let text = ConfigError::Missing("client_id").to_string();
        assert_eq!(
            text,
            "missing configuration: OIDC_CLIENT_ID (with_client_id) is required"
        );
        let text = ConfigError::InsecureUrl("issuer").to_string();
        assert!(
            text.starts_with("OIDC_ISSUER (with_issuer) must use https"),
            "{text}"
        );
        assert!(text.contains("insecure_allow_http()"), "{text}");
        let text = ConfigError::Invalid {
            name: "base_path",
            reason: "x".into(),
        }
        .to_string();
        assert_eq!(text, "invalid value for OIDC_BASE_PATH (with_base_path): x");
        let text = ConfigError::InvalidUrl {
            name: "app_url",
            value: "localhost:3000".into(),
        }
        .to_string();
        assert!(
            text.starts_with("APP_URL (with_app_url) is not a valid"),
            "{text}"
        );
        assert!(text.contains("scheme included"), "{text}");
    }

    #[test]
    fn invalid_url_messages_never_show_a_password() {
        let text = ConfigError::InvalidUrl {
            name: "token_endpoint",
            value: "https://client:hunter2@op.example:99999/token".into(),
        }
        .to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("https://client:***@op.example:99999/token"),
            "{text}"
        );
        assert_eq!(
            without_password("https://op.example/a@b"),
            "https://op.example/a@b"
        );
        assert_eq!(
            without_password("https://user@op.example"),
            "https://user@op.example"
        );
        assert_eq!(without_password("not a url"), "not a url");
    }
}
