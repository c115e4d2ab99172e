//! The provider part of the configuration: who the provider is, where its endpoints
//! are, who we are to it, and how we talk to it.

use std::time::Duration;

use url::Url;

use super::{ClientAuthMethod, IdentityMode};
use crate::jose::JwksCache;
use crate::jose::SigningAlgorithm;
use crate::pkce::CodeChallengeMethod;
use crate::secret::ClientSecret;

/// The provider and this client's registration at it (OIDC Core 3.1, Discovery 1.0
/// section 3, RFC 6749 section 2).
#[derive(Debug)]
pub(crate) struct ProviderConfig {
    /// `client_id` (RFC 6749 section 2.2).
    pub client_id: String,
    /// The client secret, when the client is confidential.
    pub client_secret: Option<ClientSecret>,
    /// How the client authenticates at the token endpoint (OIDC Core 9).
    pub client_auth: ClientAuthMethod,
    /// The keys for `private_key_jwt`: the first signs, all are published.
    pub client_keys: std::sync::Arc<[crate::client_auth::ClientSigningKey]>,
    /// The exact issuer identifier (OIDC Core 3.1.3.7 step 2).
    pub issuer: Option<String>,
    /// A multi-tenant issuer template, when configured: tokens' `iss` is checked
    /// against it instead of `issuer` (see [`crate::issuer`]).
    pub issuer_template: Option<crate::issuer::IssuerTemplate>,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub userinfo_endpoint: Option<Url>,
    pub end_session_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    /// Where authorization requests are pushed (RFC 9126 section 2); `None` sends
    /// them through the browser.
    pub par_endpoint: Option<Url>,
    /// The provider's keys (OIDC Core 10.1.1).
    pub jwks: Option<JwksCache>,
    /// The provider says it sends `iss` in authorization responses (RFC 9207 section 3).
    pub iss_parameter_required: bool,
    pub scopes: Vec<String>,
    /// Extra authorization request parameters.
    pub auth_params: Vec<(String, String)>,
    pub pkce: CodeChallengeMethod,
    /// Token lifetime when a response says nothing of it.
    pub token_max_age: Duration,
    /// Clock skew tolerated on `exp`, `iat` and `nbf`.
    pub leeway: Duration,
    /// Accepted ID token signature algorithms (OIDC Core 3.1.3.7 step 7).
    pub algorithms: Vec<SigningAlgorithm>,
    /// Audiences trusted besides our own (OIDC Core 3.1.3.7 step 3).
    pub additional_audiences: Vec<String>,
    /// The HTTP client for every call to the provider.
    pub http: reqwest::Client,
    /// Where the user's identity comes from.
    pub identity: IdentityMode,
    /// Merge UserInfo claims after login and refresh (OIDC Core 5.3).
    pub fetch_userinfo: bool,
    /// Bind each session's tokens to its own DPoP key (RFC 9449).
    pub dpop: bool,
    /// The provider's last `DPoP-Nonce` (RFC 9449 section 8).
    pub dpop_nonce: crate::dpop::NonceCell,
}

impl ProviderConfig {
    /// What the `iss` of an ID token at login must be: the template when one is
    /// configured, else the issuer. `None` without an issuer (OAuth 2.0 only).
    pub(crate) fn id_token_issuer(&self) -> Option<crate::issuer::IssuerExpectation<'_>> {
        match (&self.issuer_template, &self.issuer) {
            (Some(template), _) => Some(crate::issuer::IssuerExpectation::Template(template)),
            (None, Some(issuer)) => Some(crate::issuer::IssuerExpectation::Exact(issuer)),
            (None, None) => None,
        }
    }

    /// What the `iss` of a refreshed ID token must be (OIDC Core 12.2), given the
    /// login's `iss`.
    pub(crate) fn refreshed_id_token_issuer<'a>(
        &'a self,
        original: &'a str,
    ) -> Option<crate::issuer::IssuerExpectation<'a>> {
        match (&self.issuer_template, &self.issuer) {
            (Some(template), _) => {
                Some(crate::issuer::IssuerExpectation::Refreshed { template, original })
            }
            (None, Some(issuer)) => Some(crate::issuer::IssuerExpectation::Exact(issuer)),
            (None, None) => None,
        }
    }

    /// Whether `iss` of an authorization response (RFC 9207 section 2.4) names this
    /// provider: the issuer, or under a template the template filled with a plain
    /// tenant (which tenant is the ID token's to say; its allow-list is checked there).
    pub(crate) fn accepts_response_iss(&self, iss: &str) -> bool {
        match (&self.issuer_template, &self.issuer) {
            (Some(template), _) => template.tenant_of(iss).is_some(),
            (None, Some(issuer)) => iss == issuer,
            (None, None) => false,
        }
    }
}
