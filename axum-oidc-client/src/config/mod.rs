//! Configuration: [`OAuthConfiguration`], built once at start-up and validated then.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use url::Url;

use crate::cookies::{CookieKey, CookieSettings};

mod provider;
mod routes;
use crate::discovery::DiscoveryError;
use crate::jwks::{JwksCache, JwksError};
pub(crate) use provider::ProviderConfig;
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
    /// The provider, the client registration, the keys and the HTTP client.
    pub provider: ProviderConfig,
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
    pub fn builder() -> crate::builder::OAuthConfigurationBuilder {
        crate::builder::OAuthConfigurationBuilder::default()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.provider.client_id
    }

    /// The issuer, when configured.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.provider.issuer.as_deref()
    }

    /// The redirect URI registered at the provider.
    pub fn redirect_uri(&self) -> &Url {
        &self.inner.routes.redirect_uri
    }

    /// The base path of the library's routes (default `/auth`).
    pub fn base_path(&self) -> &str {
        &self.inner.routes.base_path
    }

    /// The JWKS cache, to share with a bearer-token layer.
    pub fn jwks(&self) -> Option<&JwksCache> {
        self.inner.provider.jwks.as_ref()
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
