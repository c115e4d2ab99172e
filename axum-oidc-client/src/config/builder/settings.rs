//! [`ProviderSettings`]: one named provider of a configuration with several
//! ([`OAuthConfigurationBuilder::with_provider`]).

use super::OAuthConfigurationBuilder;
use crate::config::ClientAuthMethod;

/// One provider of a configuration with several: its issuer, this client's
/// registration there, and how to ask it for a login.
///
/// Settings that are not the provider's (cookies, timeouts, the HTTP client, the
/// accepted algorithms, the clock skew) are the configuration's and apply to every
/// provider.
///
/// ```
/// use axum_oidc_client::{OAuthConfiguration, ProviderSettings};
///
/// let config = OAuthConfiguration::builder()
///     .with_app_url("http://localhost:3000")
///     .with_provider(
///         "corp",
///         ProviderSettings::new()
///             .with_issuer("http://127.0.0.1:9/realms/corp")
///             .with_client_id("shop")
///             .with_client_secret("s3cret"),
///     )
///     .with_provider(
///         "github",
///         ProviderSettings::new()
///             .with_display_name("GitHub")
///             .with_client_id("Iv1.abc")
///             .with_client_secret("gh-secret")
///             .with_authorization_endpoint("https://github.com/login/oauth/authorize")
///             .with_token_endpoint("https://github.com/login/oauth/access_token")
///             .with_oauth2_only("https://api.github.com/user", "id")
///             .with_scopes(["read:user"]),
///     )
///     .build()
///     .unwrap();
/// // Each provider has its own redirect URI: {base}/callback/NAME.
/// assert_eq!(
///     config.provider_redirect_uri("github").unwrap().as_str(),
///     "http://localhost:3000/auth/callback/github"
/// );
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct ProviderSettings {
    pub(super) inner: OAuthConfigurationBuilder,
    pub(super) display_name: Option<String>,
}

macro_rules! forward {
    ($(#[$m:meta])* $name:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$m])*
        pub fn $name(mut self, $($arg: $ty),*) -> Self {
            self.inner = self.inner.$name($($arg),*);
            self
        }
    };
}

impl ProviderSettings {
    /// Empty settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The name the chooser page shows. Default: the provider's name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// The issuer, discovered after `build()` in the background (OIDC Discovery 1.0),
    /// as [`OAuthConfigurationBuilder::with_lazy_issuer`] does: a provider that cannot
    /// be reached does not stop the application from starting, and the others keep
    /// working.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.inner.issuer = Some(issuer.into());
        self.inner.metadata = None;
        self.inner.lazy_discovery = true;
        self
    }

    forward!(
        /// The client id registered at this provider. Required.
        with_client_id(id: impl Into<String>)
    );
    forward!(
        /// The client secret at this provider; without one the client is public.
        with_client_secret(secret: impl Into<String>)
    );
    forward!(
        /// Token endpoint authentication at this provider.
        with_client_auth_method(method: ClientAuthMethod)
    );
    forward!(
        /// A key for `private_key_jwt` at this provider; the first signs, all are
        /// published at `{base}/jwks.json`. See
        /// [`OAuthConfigurationBuilder::with_client_signing_key`].
        with_client_signing_key(key: crate::client_auth::ClientSigningKey)
    );
    forward!(
        /// A PKCS#8 PEM key for `private_key_jwt` at this provider. See
        /// [`OAuthConfigurationBuilder::with_client_signing_key_pem`].
        with_client_signing_key_pem(pem: &str, kid: Option<&str>)
    );
    forward!(
        /// A private JWK for `private_key_jwt` at this provider. See
        /// [`OAuthConfigurationBuilder::with_client_signing_jwk`].
        with_client_signing_jwk(jwk: &str)
    );
    forward!(
        /// An extra authorization request parameter for this provider.
        with_auth_param(name: impl Into<String>, value: impl Into<String>)
    );
    forward!(
        /// Sends `audience=<value>` with this provider's authorization requests.
        with_audience(audience: impl Into<String>)
    );
    forward!(
        /// Authorization endpoint, when not discovered.
        with_authorization_endpoint(url: impl Into<String>)
    );
    forward!(
        /// Token endpoint, when not discovered.
        with_token_endpoint(url: impl Into<String>)
    );
    forward!(
        /// End-session endpoint (RP-Initiated Logout 1.0), when not discovered.
        with_end_session_endpoint(url: impl Into<String>)
    );
    forward!(
        /// Revocation endpoint (RFC 7009), when not discovered.
        with_revocation_endpoint(url: impl Into<String>)
    );
    forward!(
        /// UserInfo endpoint, when not discovered.
        with_userinfo_endpoint(url: impl Into<String>)
    );
    forward!(
        /// JWKS URI, when not discovered.
        with_jwks_uri(url: impl Into<String>)
    );
    forward!(
        /// An audience, besides the client id, this provider's ID tokens may carry.
        with_additional_audience(aud: impl Into<String>)
    );
    forward!(
        /// Plain OAuth 2.0 for this provider (no ID token): identity from
        /// `user_endpoint`, `sub` from its JSON field `sub_field`.
        with_oauth2_only(user_endpoint: impl Into<String>, sub_field: impl Into<String>)
    );
    forward!(
        /// Merge this provider's UserInfo claims after login and refresh (OIDC Core 5.3).
        with_userinfo(fetch: bool)
    );
    forward!(
        /// Push this provider's authorization requests (RFC 9126), see
        /// [`OAuthConfigurationBuilder::with_pushed_authorization_requests`].
        with_pushed_authorization_requests(push: bool)
    );
    forward!(
        /// Bind this provider's tokens to a per-session DPoP key (RFC 9449), see
        /// [`OAuthConfigurationBuilder::with_dpop`].
        with_dpop(dpop: bool)
    );

    /// Requested scopes at this provider. Default `openid profile email`.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner = self.inner.with_scopes(scopes);
        self
    }
}
