//! Configuration: [`OAuthConfiguration`], built once at start-up and validated then.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use url::Url;

use crate::session::cookies::{CookieKey, CookieSettings};

mod builder;
mod provider;
mod provider_cell;
mod routes;
use crate::discovery::DiscoveryError;
use crate::jose::{JwksCache, JwksError};
pub use builder::{DEFAULT_SCOPES, OAuthConfigurationBuilder};
pub(crate) use provider::ProviderConfig;
pub(crate) use provider_cell::{ProviderCell, is_transient as discovery_is_transient};
pub(crate) use routes::Routes;

/// A configuration mistake, reported at start-up with the input that caused it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("missing configuration: {0}")]
    Missing(&'static str),
    /// A setting is not a valid URL.
    #[error("{name} is not a valid absolute URL: {value:?}")]
    InvalidUrl {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// A URL uses plain http towards a host that is not this machine.
    #[error("{0} must use https (plain http is only accepted for localhost)")]
    InsecureUrl(&'static str),
    /// The cookie secret is shorter than 32 bytes.
    #[error("cookie key must be at least 32 bytes")]
    CookieKeyTooShort,
    /// An invalid value for a setting.
    #[error("invalid value for {name}: {reason}")]
    Invalid {
        /// Which setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The custom CA certificate could not be read or parsed.
    #[error("custom CA certificate {path}: {reason}")]
    CaCert {
        /// The file.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// Discovery failed.
    #[error("OpenID discovery failed")]
    Discovery(#[source] DiscoveryError),
    /// The provider's keys could not be fetched.
    #[error("could not fetch the provider's signing keys")]
    Jwks(#[source] JwksError),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Http(#[source] reqwest::Error),

    // The bearer layer's settings ([`JwtConfigurationBuilder`](crate::bearer::JwtConfigurationBuilder)).
    /// No issuer is trusted: configure at least one key source.
    #[error("no issuer configured")]
    NoIssuer,
    /// No audience is configured and
    /// [`insecure_skip_audience`](crate::bearer::JwtConfigurationBuilder::insecure_skip_audience)
    /// was not called (RFC 8725 section 3.9).
    #[error("no audience configured (with_audience)")]
    MissingAudience,
    /// An audience is empty.
    #[error("invalid audience {0:?}")]
    InvalidAudience(String),
    /// An issuer identifier is empty or, where it must be a URL, not one.
    #[error("invalid issuer {0:?}")]
    InvalidIssuer(String),
    /// The same issuer was given two kinds of key source (for example a JWKS URI and
    /// an HMAC secret), or two JWKS sources.
    #[error("issuer {0:?} has conflicting key sources")]
    ConflictingKeySources(String),
    /// A static key (PEM or JWK JSON) could not be parsed.
    #[error("key for issuer {issuer:?} is invalid: {reason}")]
    InvalidKey {
        /// The issuer.
        issuer: String,
        /// Why.
        reason: String,
    },
    /// Static keys were given for an issuer but none is a usable signature key.
    #[error("issuer {0:?} has no usable verification key")]
    NoUsableKeys(String),
    /// The HMAC secret is shorter than the hash output (RFC 7518 section 3.2).
    #[error("HMAC secret for issuer {issuer:?} must be at least {min} bytes")]
    HmacSecretTooShort {
        /// The issuer.
        issuer: String,
        /// Minimum length in bytes.
        min: usize,
    },
    /// The HMAC secret looks like a PEM key: a public key must never be an HMAC
    /// secret (RFC 8725 section 2.1).
    #[error("HMAC secret for issuer {0:?} looks like a PEM key")]
    HmacSecretLooksLikeKey(String),
    /// The algorithm allow-list is empty.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// A required claim name is empty.
    #[error("invalid required claim name {0:?}")]
    InvalidRequiredClaim(String),
    /// More than 64 distinct required claims.
    #[error("at most 64 required claims are supported")]
    TooManyRequiredClaims,
    /// The leeway is larger than five minutes.
    #[error("leeway of {0} s is larger than 300 s")]
    LeewayTooLarge(u64),
    /// The realm contains characters that cannot appear in a quoted string.
    #[error("invalid realm {0:?}")]
    InvalidRealm(String),
    /// An environment variable is missing.
    #[error("missing environment variable {0}")]
    MissingEnv(&'static str),
    /// An environment variable has an invalid value.
    #[error("invalid value for {name}: {value:?}")]
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
    #[error("issuer {0:?} publishes no jwks_uri")]
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
    #[error("the login configuration has no issuer or no JWKS")]
    NoSharedKeys,
    /// Background key refresh was requested outside a Tokio runtime.
    #[error("background key refresh needs a Tokio runtime")]
    NoRuntime,
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
    /// The provider, the client registration, the keys and the HTTP client: fixed,
    /// or discovered (again) in the background.
    pub provider: ProviderCell,
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

    /// The client id.
    pub fn client_id(&self) -> &str {
        self.inner.provider.client_id()
    }

    /// The issuer, when configured.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.provider.issuer()
    }

    /// The redirect URI registered at the provider.
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
        self.inner.provider.get()?.jwks.clone()
    }

    /// How discovery of the provider stands.
    pub fn discovery_health(&self) -> crate::DiscoveryHealth {
        self.inner.provider.health()
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

/// Whether a URL may be used: https, or http towards this machine.
pub(crate) fn url_is_acceptable(u: &Url) -> bool {
    match u.scheme() {
        "https" => true,
        "http" => {
            matches!(
                u.host(),
                Some(url::Host::Domain("localhost"))
                    | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                    | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
            ) || u
                .host()
                .is_some_and(|h| matches!(h, url::Host::Ipv4(ip) if ip.is_loopback()))
        }
        _ => false,
    }
}
