//! OpenID Provider metadata (OIDC Discovery 1.0 sections 3 and 4).

use std::time::Duration;

use serde::Deserialize;
use url::Url;

/// Largest discovery document accepted (bytes).
pub const MAX_DISCOVERY_LEN: usize = 128 * 1024;

/// Why discovery failed.
///
/// ```no_run
/// use axum_oidc_client::{ConfigError, DiscoveryError, OAuthConfigurationBuilder};
///
/// # async fn f() {
/// match OAuthConfigurationBuilder::default().with_issuer("https://login.example").await {
///     Ok(builder) => { /* ... */ }
///     Err(ConfigError::Discovery(DiscoveryError::IssuerMismatch { expected, found })) => {
///         eprintln!("issuer is {found:?}, not {expected:?}: fix OIDC_ISSUER");
///     }
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The HTTP request failed.
    #[error("could not fetch the discovery document from {url}")]
    Http {
        /// The document URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The provider answered with a non-success status.
    #[error(
        "discovery document at {url} answered HTTP {status}: check the issuer \
         (OIDC_ISSUER, with_issuer); it is the issuer identifier, the URL before \
         /.well-known/openid-configuration"
    )]
    Status {
        /// The document URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The document is not valid provider metadata.
    #[error("discovery document is invalid: {0}")]
    Invalid(String),
    /// The discovery URL answered something that is not JSON, typically an HTML login
    /// or error page because the configured issuer is not the issuer identifier.
    #[error(
        "discovery document at {url} is not JSON (HTTP {status}, Content-Type \
         {content_type}): check the issuer (OIDC_ISSUER, with_issuer); it must be the \
         issuer identifier from the provider's documentation, not a login page"
    )]
    NotJson {
        /// The document URL.
        url: String,
        /// The status.
        status: u16,
        /// The response's `Content-Type`, or `none`.
        content_type: String,
        /// The JSON parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The document's `issuer` is not exactly the configured issuer (Discovery 4.3).
    #[error(
        "discovery issuer mismatch: configured {expected:?}, document says {found:?}: \
         set the issuer (OIDC_ISSUER, with_issuer) to exactly the document's value, \
         trailing slash included"
    )]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's issuer.
        found: String,
    },
    /// The document's `issuer` is a multi-tenant template (it holds `{tenantid}`, as
    /// Entra ID's `common` and `organizations` documents do) and no template is
    /// configured. A template is never inferred from a document: configure it.
    #[error(
        "the discovery document's issuer {found:?} is a multi-tenant template: to \
         accept the tokens of each tenant, set the issuer template (OIDC_ISSUER_TEMPLATE, \
         with_issuer_template) to exactly this value, and preferably the tenants \
         allowed (OIDC_ALLOWED_TENANTS, with_allowed_tenants)"
    )]
    TemplateNotConfigured {
        /// The document's issuer.
        found: String,
    },
    /// An endpoint is not https while the issuer is (RFC 9700 section 2.6).
    #[error(
        "the discovery document names {0} over plain http while the issuer uses https; \
         every endpoint must use https"
    )]
    InsecureEndpoint(String),
}

/// The provider metadata this library uses (OIDC Discovery 1.0 section 3, RFC 8414,
/// RFC 9207, Back-Channel Logout 1.0 section 2.1, RP-Initiated Logout 1.0 section 2.1).
///
/// ```
/// use axum_oidc_client::ProviderMetadata;
///
/// let meta: ProviderMetadata = serde_json::from_value(serde_json::json!({
///     "issuer": "https://op.example",
///     "authorization_endpoint": "https://op.example/authorize",
///     "token_endpoint": "https://op.example/token",
///     "jwks_uri": "https://op.example/jwks",
///     "code_challenge_methods_supported": ["S256"]
/// }))
/// .unwrap();
/// assert_eq!(meta.jwks_uri.unwrap().path(), "/jwks");
/// assert!(meta.end_session_endpoint.is_none() && !meta.backchannel_logout_supported);
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Url,
    /// `token_endpoint`.
    pub token_endpoint: Url,
    /// `jwks_uri`.
    #[serde(default)]
    pub jwks_uri: Option<Url>,
    /// `userinfo_endpoint`.
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    /// `end_session_endpoint`.
    #[serde(default)]
    pub end_session_endpoint: Option<Url>,
    /// `revocation_endpoint` (RFC 8414 section 2).
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// `id_token_signing_alg_values_supported`.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `code_challenge_methods_supported`.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// `token_endpoint_auth_methods_supported`.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 section 3).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// `backchannel_logout_supported`.
    #[serde(default)]
    pub backchannel_logout_supported: bool,
    /// `pushed_authorization_request_endpoint` (RFC 9126 section 5).
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<Url>,
    /// `require_pushed_authorization_requests` (RFC 9126 section 5).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// `dpop_signing_alg_values_supported` (RFC 9449 section 5.1); absent: no DPoP.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// The discovery document URL for an issuer (OIDC Discovery 4.1): any trailing `/`
/// is removed before `/.well-known/openid-configuration` is appended.
pub fn discovery_url(issuer: &str) -> Result<Url, DiscoveryError> {
    let u = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    Url::parse(&u).map_err(|_| DiscoveryError::Invalid("issuer is not a URL".into()))
}

impl ProviderMetadata {
    /// Every endpoint the document names that this library may call or send a
    /// browser to.
    ///
    /// ```
    /// use axum_oidc_client::ProviderMetadata;
    ///
    /// let meta: ProviderMetadata = serde_json::from_value(serde_json::json!({
    ///     "issuer": "https://op.example",
    ///     "authorization_endpoint": "https://op.example/authorize",
    ///     "token_endpoint": "https://op.example/token",
    ///     "jwks_uri": "https://op.example/jwks",
    ///     "code_challenge_methods_supported": ["S256"]
    /// }))
    /// .unwrap();
    /// let paths: Vec<&str> = meta.endpoints().map(|u| u.path()).collect();
    /// assert_eq!(paths, ["/authorize", "/token", "/jwks"]);
    /// ```
    pub fn endpoints(&self) -> impl Iterator<Item = &Url> {
        [
            Some(&self.authorization_endpoint),
            Some(&self.token_endpoint),
            self.jwks_uri.as_ref(),
            self.userinfo_endpoint.as_ref(),
            self.end_session_endpoint.as_ref(),
            self.revocation_endpoint.as_ref(),
            self.pushed_authorization_request_endpoint.as_ref(),
        ]
        .into_iter()
        .flatten()
    }
}

/// Parses and checks a discovery document against the configured issuer.
pub fn parse_metadata(
    expected_issuer: &str,
    body: &[u8],
) -> Result<ProviderMetadata, DiscoveryError> {
    parse_metadata_as(expected_issuer, body)
}

/// Parses and checks a discovery document whose `issuer` must be `document_issuer`:
/// the configured issuer, or the configured multi-tenant template (Entra ID's
/// `common` document names `https://login.microsoftonline.com/{tenantid}/v2.0`).
///
/// Discovery 1.0 section 4.3 requires the document's `issuer` to be identical to the
/// issuer used to fetch it; a template is the one exception, and only when configured
/// (see `with_issuer_template`).
pub fn parse_metadata_as(
    expected_issuer: &str,
    body: &[u8],
) -> Result<ProviderMetadata, DiscoveryError> {
    if body.len() > MAX_DISCOVERY_LEN {
        return Err(DiscoveryError::Invalid("document too large".into()));
    }
    let meta: ProviderMetadata =
        serde_json::from_slice(body).map_err(|e| DiscoveryError::Invalid(e.to_string()))?;
    // Discovery 4.3: the issuer must be identical to the one used to fetch, no
    // normalisation, not even of a trailing slash.
    if meta.issuer != expected_issuer {
        if meta.issuer.contains(crate::issuer::TENANT_PLACEHOLDER) {
            return Err(DiscoveryError::TemplateNotConfigured { found: meta.issuer });
        }
        return Err(DiscoveryError::IssuerMismatch {
            expected: expected_issuer.into(),
            found: meta.issuer,
        });
    }
    if expected_issuer.starts_with("https://")
        && let Some(bad) = meta.endpoints().find(|u| u.scheme() != "https")
    {
        return Err(DiscoveryError::InsecureEndpoint(bad.to_string()));
    }
    Ok(meta)
}

/// Fetches and checks the provider metadata of `issuer`.
pub async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<ProviderMetadata, DiscoveryError> {
    discover_document(http, issuer).await.map(|(meta, _)| meta)
}

/// Fetches and checks the provider metadata of `issuer`, with how long the response
/// may be reused according to its `Cache-Control` header (see [`cache_max_age`]).
pub(crate) async fn discover_document(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<(ProviderMetadata, Option<Duration>), DiscoveryError> {
    discover_document_as(http, issuer, issuer).await
}

/// Like [`discover_document`], the document's `issuer` being `document_issuer` (see
/// [`parse_metadata_as`]).
pub(crate) async fn discover_document_as(
    http: &reqwest::Client,
    issuer: &str,
    document_issuer: &str,
) -> Result<(ProviderMetadata, Option<Duration>), DiscoveryError> {
    let url = discovery_url(issuer)?;
    let http_err = |source| DiscoveryError::Http {
        url: url.to_string(),
        source,
    };
    let resp = crate::http_util::send(
        http.get(url.clone()),
        crate::observe::ProviderEndpoint::Discovery,
    )
    .await
    .map_err(http_err)?;
    let max_age = cache_max_age(resp.headers());
    let status = resp.status().as_u16();
    if !resp.status().is_success() {
        return Err(DiscoveryError::Status {
            url: url.to_string(),
            status,
        });
    }
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map_or("none".into(), |v| {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        });
    let body = crate::http_util::read_limited(resp, MAX_DISCOVERY_LEN)
        .await
        .map_err(|_| DiscoveryError::Invalid(format!("{url}: unreadable or too large")))?;
    if let Err(source) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        return Err(DiscoveryError::NotJson {
            url: url.to_string(),
            status,
            content_type,
            source,
        });
    }
    match parse_metadata_as(document_issuer, &body) {
        Ok(meta) => Ok((meta, max_age)),
        Err(DiscoveryError::Invalid(why)) => Err(DiscoveryError::Invalid(format!("{url}: {why}"))),
        Err(e) => Err(e),
    }
}

/// The freshness lifetime a response's `Cache-Control` header gives (RFC 9111
/// section 5.2.2): `None` without a usable directive, `Some(ZERO)` for `no-store` or
/// `no-cache` (section 5.2.2.4 and 5.2.2.5: reuse needs revalidation), else
/// `max-age` (section 5.2.2.1).
///
/// Directive names are case-insensitive and the argument is accepted both as a token
/// and as a quoted string (section 5.2). The first `max-age` counts (section 4.2.1);
/// a value that is not a number makes the response stale (`Some(ZERO)`), and one too
/// large to represent is taken as 2^31 seconds (section 1.2.2).
pub(crate) fn cache_max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    let directives = headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for directive in directives {
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            max_age = Some(arg.map_or(Duration::ZERO, delta_seconds));
        }
    }
    max_age
}

/// A `delta-seconds` value (RFC 9111 section 1.2.2).
fn delta_seconds(arg: &str) -> Duration {
    const MAX: u64 = 1 << 31;
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Duration::ZERO;
    }
    Duration::from_secs(arg.parse::<u64>().map_or(MAX, |n| n.min(MAX)))
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
