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
}
