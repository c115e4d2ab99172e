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
mod tests {
    use super::*;

    fn doc(issuer: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": "https://op.example/authorize",
            "token_endpoint": "https://op.example/token",
            "jwks_uri": "https://op.example/jwks",
            "authorization_response_iss_parameter_supported": true
        }))
        .unwrap()
    }

    #[test]
    fn accepts_matching_issuer() {
        let m = parse_metadata("https://op.example", &doc("https://op.example")).unwrap();
        assert!(m.authorization_response_iss_parameter_supported);
    }

    #[test]
    fn rejects_discovery_issuer_mismatch() {
        let e = parse_metadata("https://op.example", &doc("https://evil.example")).unwrap_err();
        assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }));
    }

    const ENTRA_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

    #[test]
    fn accepts_a_template_document_when_the_template_is_configured() {
        let m = parse_metadata_as(ENTRA_TEMPLATE, &doc(ENTRA_TEMPLATE)).unwrap();
        assert_eq!(m.issuer, ENTRA_TEMPLATE);
    }

    #[test]
    fn rejects_a_template_document_without_a_configured_template() {
        let common = "https://login.microsoftonline.com/common/v2.0";
        let e = parse_metadata(common, &doc(ENTRA_TEMPLATE)).unwrap_err();
        assert!(
            matches!(&e, DiscoveryError::TemplateNotConfigured { found } if found == ENTRA_TEMPLATE),
            "{e:?}"
        );
        assert!(e.to_string().contains("with_issuer_template"), "{e}");
    }

    #[test]
    fn rejects_another_document_when_a_template_is_configured() {
        let other = "https://login.microsoftonline.com/{tenantid}/v2.0/";
        let e = parse_metadata_as(ENTRA_TEMPLATE, &doc(other)).unwrap_err();
        assert!(
            matches!(e, DiscoveryError::TemplateNotConfigured { .. }),
            "{e:?}"
        );
        let e = parse_metadata_as(ENTRA_TEMPLATE, &doc("https://evil.example")).unwrap_err();
        assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }), "{e:?}");
        let tenant = "https://login.microsoftonline.com/t1/v2.0";
        let e = parse_metadata_as(ENTRA_TEMPLATE, &doc(tenant)).unwrap_err();
        assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }), "{e:?}");
    }

    #[test]
    fn rejects_issuer_that_differs_only_by_a_trailing_slash() {
        let e = parse_metadata("https://op.example", &doc("https://op.example/")).unwrap_err();
        assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }));
    }

    #[test]
    fn rejects_plain_http_endpoints_for_an_https_issuer() {
        let mut v: serde_json::Value = serde_json::from_slice(&doc("https://op.example")).unwrap();
        v["token_endpoint"] = "http://op.example/token".into();
        let e = parse_metadata("https://op.example", &serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(e, DiscoveryError::InsecureEndpoint(_)));
    }

    fn cache_control(values: &[&str]) -> Option<Duration> {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append(http::header::CACHE_CONTROL, v.parse().unwrap());
        }
        cache_max_age(&h)
    }

    #[test]
    fn max_age_is_none_without_cache_control() {
        assert_eq!(cache_control(&[]), None);
        assert_eq!(cache_control(&["public, must-revalidate"]), None);
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            cache_control(&["max-age=3600"]),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            cache_control(&["public, Max-Age = 60 , must-revalidate"]),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            cache_control(&["max-age=\"120\""]),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            cache_control(&["public", "max-age=10"]),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn first_max_age_counts() {
        assert_eq!(
            cache_control(&["max-age=10, max-age=99"]),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn no_store_and_no_cache_mean_zero() {
        assert_eq!(cache_control(&["no-store"]), Some(Duration::ZERO));
        assert_eq!(
            cache_control(&["max-age=600, No-Cache"]),
            Some(Duration::ZERO)
        );
        assert_eq!(
            cache_control(&["max-age=600", "no-store"]),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn invalid_max_age_is_stale_and_huge_is_capped() {
        assert_eq!(cache_control(&["max-age=abc"]), Some(Duration::ZERO));
        assert_eq!(cache_control(&["max-age=-5"]), Some(Duration::ZERO));
        assert_eq!(cache_control(&["max-age"]), Some(Duration::ZERO));
        assert_eq!(
            cache_control(&["max-age=99999999999999999999999"]),
            Some(Duration::from_secs(1 << 31))
        );
    }

    /// Serves a discovery document, built by `body` from the issuer, at the discovery
    /// path of the returned issuer, with the given status and headers.
    async fn serve(status: u16, headers: &[(&str, &str)], body: fn(&str) -> String) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let mut resp = http::Response::builder().status(status);
        for (k, v) in headers {
            resp = resp.header(*k, *v);
        }
        let resp = resp.body(body(&issuer)).unwrap();
        let app = axum::Router::new().route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let resp = resp.clone();
                async move { resp }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        issuer
    }

    fn local_doc(issuer: &str) -> String {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
        })
        .to_string()
    }

    #[tokio::test]
    async fn discover_document_returns_the_responses_max_age() {
        let json = ("content-type", "application/json");
        let http = reqwest::Client::new();
        let issuer = serve(
            200,
            &[json, ("cache-control", "public, max-age=900")],
            local_doc,
        )
        .await;
        let (meta, max_age) = discover_document(&http, &issuer).await.unwrap();
        assert_eq!(meta.issuer, issuer);
        assert_eq!(max_age, Some(Duration::from_secs(900)));

        let issuer = serve(200, &[json], local_doc).await;
        assert_eq!(discover_document(&http, &issuer).await.unwrap().1, None);
        assert_eq!(discover(&http, &issuer).await.unwrap().issuer, issuer);
    }

    #[tokio::test]
    async fn an_issuer_serving_html_names_the_url_status_content_type_and_the_fix() {
        let html = ("content-type", "text/html; charset=utf-8");
        let issuer = serve(200, &[html], |_| {
            "<!DOCTYPE html><html>Sign in</html>".into()
        })
        .await;
        let e = discover(&reqwest::Client::new(), &issuer)
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, DiscoveryError::NotJson { status: 200, .. }),
            "{e:?}"
        );
        for needle in [
            &format!("{issuer}/.well-known/openid-configuration") as &str,
            "HTTP 200",
            "Content-Type text/html; charset=utf-8",
            "OIDC_ISSUER",
            "not a login page",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from {text}");
        }
        let root = std::error::Error::source(&e).unwrap().to_string();
        assert!(root.contains("expected value"), "{root}");
    }

    #[tokio::test]
    async fn an_error_status_and_json_that_is_not_metadata_name_the_url() {
        let issuer = serve(404, &[], |_| "not here".into()).await;
        let e = discover(&reqwest::Client::new(), &issuer)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("HTTP 404") && e.to_string().contains("OIDC_ISSUER"),
            "{e}"
        );
        let issuer = serve(200, &[("content-type", "application/json")], |_| {
            "{}".into()
        })
        .await;
        let e = discover(&reqwest::Client::new(), &issuer)
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&issuer) && text.contains("missing field"),
            "{text}"
        );
    }

    #[test]
    fn discovery_url_strips_one_trailing_slash() {
        assert_eq!(
            discovery_url("https://op.example/realms/x/")
                .unwrap()
                .as_str(),
            "https://op.example/realms/x/.well-known/openid-configuration"
        );
    }
}
