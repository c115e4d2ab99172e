//! Distributed and aggregated claims (OIDC Core 5.6.2): reading `_claim_names` and
//! `_claim_sources`, and [`DistributedClaimsResolver`], which fetches them from
//! endpoints the application allows.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{BoxFuture, ClaimsEnricher, EnrichContext, EnrichError, Enrichment};
use crate::id_token::AdditionalClaims;
use crate::jose::UnverifiedJws;
use crate::secret::AccessTokenValue;

/// Most claim names, and most sources, read from one token.
const MAX_ENTRIES: usize = 64;

/// One member of `_claim_sources` (OIDC Core 5.6.2).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum ClaimSource {
    /// Distributed claims: fetched from `endpoint`, with the source's `access_token`
    /// when it gives one.
    Distributed {
        /// The resource endpoint, as the token gives it (not checked here).
        endpoint: String,
        /// The bearer token for the endpoint, if the source gives one.
        access_token: Option<AccessTokenValue>,
    },
    /// Aggregated claims: a JWT carrying them.
    Aggregated {
        /// The JWT (compact form).
        jwt: String,
    },
}

impl std::fmt::Debug for ClaimSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Distributed {
                endpoint,
                access_token,
            } => f
                .debug_struct("Distributed")
                .field("endpoint", endpoint)
                .field("has_access_token", &access_token.is_some())
                .finish(),
            Self::Aggregated { .. } => f.write_str("Aggregated"),
        }
    }
}

/// The claims a token names in `_claim_names` without carrying them, and where
/// `_claim_sources` says they are (OIDC Core 5.6.2).
///
/// Read leniently: a malformed member is ignored, a name whose source is missing is
/// listed with none.
///
/// ```
/// use axum_oidc_client::IdTokenClaims;
/// use axum_oidc_client::enrich::{ClaimSource, DistributedClaims};
///
/// // Entra ID's group overage.
/// let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://op.example", "sub": "alice", "aud": "my-app", "exp": 2, "iat": 1,
///     "_claim_names": {"groups": "src1"},
///     "_claim_sources": {"src1": {"endpoint": "https://graph.example/users/alice/groups"}}
/// }))
/// .unwrap();
/// let d = DistributedClaims::parse(&claims.additional);
/// assert_eq!(d.names().collect::<Vec<_>>(), ["groups"]);
/// let Some(ClaimSource::Distributed { endpoint, access_token }) = d.source_of("groups") else {
///     panic!("a distributed source")
/// };
/// assert_eq!(endpoint, "https://graph.example/users/alice/groups");
/// assert!(access_token.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DistributedClaims {
    /// Claim name to source name.
    names: BTreeMap<String, String>,
    sources: BTreeMap<String, ClaimSource>,
}

impl DistributedClaims {
    /// Reads `_claim_names` and `_claim_sources` from a token's claims.
    pub fn parse(claims: &AdditionalClaims) -> Self {
        let mut out = Self::default();
        let Some(Value::Object(names)) = claims.get("_claim_names") else {
            return out;
        };
        let sources = match claims.get("_claim_sources") {
            Some(Value::Object(s)) => s.clone(),
            _ => Map::new(),
        };
        for (claim, source) in names.iter().take(MAX_ENTRIES) {
            if let Value::String(source) = source {
                out.names.insert(claim.clone(), source.clone());
            }
        }
        for (name, source) in sources.into_iter().take(MAX_ENTRIES) {
            if !out.names.values().any(|s| *s == name) {
                continue;
            }
            let parsed = match (source.get("endpoint"), source.get("JWT")) {
                (Some(Value::String(endpoint)), _) => ClaimSource::Distributed {
                    endpoint: endpoint.clone(),
                    access_token: source
                        .get("access_token")
                        .and_then(Value::as_str)
                        .map(AccessTokenValue::new),
                },
                (None, Some(Value::String(jwt))) => ClaimSource::Aggregated { jwt: jwt.clone() },
                _ => continue,
            };
            out.sources.insert(name, parsed);
        }
        out
    }

    /// Whether no claim is named.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The claim names, in name order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    /// Where claim `name` is, if it is named and its source is well-formed.
    pub fn source_of(&self, name: &str) -> Option<&ClaimSource> {
        self.sources.get(self.names.get(name)?)
    }

    /// Each well-formed source with the claim names it holds.
    pub fn by_source(&self) -> impl Iterator<Item = (&str, &ClaimSource, Vec<&str>)> {
        self.sources.iter().map(|(source, s)| {
            let names = self
                .names
                .iter()
                .filter(|(_, src)| *src == source)
                .map(|(n, _)| n.as_str())
                .collect();
            (source.as_str(), s, names)
        })
    }

    /// Marks claim `name` resolved: it is no longer listed.
    pub(crate) fn resolve(&mut self, name: &str) {
        self.names.remove(name);
    }
}

/// Why [`DistributedClaimsResolver`] could not be set up, or could not use a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolverError {
    /// An allowed origin is not an `http` or `https` URL.
    #[error("not an http(s) origin: {0:?}")]
    InvalidOrigin(String),
    /// The HTTP client could not be built.
    #[error("HTTP client")]
    Client(#[source] reqwest::Error),
    /// The endpoint is not an http(s) URL on an allowed origin (or carries
    /// credentials in the URL).
    #[error("claims source endpoint not allowed")]
    NotAllowed,
    /// The request failed or timed out.
    #[error("claims source unreachable")]
    Http(#[source] reqwest::Error),
    /// The endpoint answered with an error status.
    #[error("claims source answered HTTP {0}")]
    Status(u16),
    /// Not a JSON object nor a JWT, too large, or a JWT that does not verify.
    #[error("claims source answer is invalid")]
    Invalid,
    /// A JWT issued by someone else than the provider (or a provider without keys):
    /// its claims are left out, with a warning.
    #[error("claims source JWT issued by another issuer")]
    ForeignIssuer,
    /// The answer is about another user (its `sub` differs from the session's).
    #[error("claims source answer is about another subject")]
    SubMismatch,
}

/// The URL of `endpoint` when it is on an allowed origin: `http(s)`, no credentials
/// in the URL, scheme, host and port equal to one of `allowed`. Pure: the token's
/// content never chooses where the application sends a request.
pub(crate) fn allowed_endpoint(
    endpoint: &str,
    allowed: &[url::Origin],
) -> Result<url::Url, ResolverError> {
    let url = url::Url::parse(endpoint).map_err(|_| ResolverError::NotAllowed)?;
    let http = matches!(url.scheme(), "http" | "https");
    if !http || !url.username().is_empty() || url.password().is_some() {
        return Err(ResolverError::NotAllowed);
    }
    if allowed.contains(&url.origin()) {
        Ok(url)
    } else {
        Err(ResolverError::NotAllowed)
    }
}

/// Whether `url` is Microsoft Graph's `getMemberObjects` action (a POST), the
/// endpoint Entra ID names for its group overage. Pure.
pub(crate) fn is_get_member_objects(url: &url::Url) -> bool {
    url.path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(|last| last.eq_ignore_ascii_case("getMemberObjects"))
}

/// Reads the claims `names` from a source's answer. A JSON object gives each name's
/// member; when one name is asked and the object lacks it, a Microsoft Graph
/// collection (`{"value": [...]}`) gives the strings of `value`, or the `id` of each
/// object in it. Pure.
pub(crate) fn pick(doc: &Map<String, Value>, names: &[&str]) -> Enrichment {
    let mut out = Enrichment::new();
    for name in names {
        if let Some(v) = doc.get(*name) {
            out.insert((*name).to_owned(), v.clone());
        }
    }
    if let ([name], Some(Value::Array(values))) = (names, doc.get("value"))
        && !out.contains_key(*name)
    {
        let ids: Vec<Value> = values
            .iter()
            .filter_map(|v| match v {
                Value::String(_) => Some(v.clone()),
                Value::Object(o) => o.get("id").filter(|id| id.is_string()).cloned(),
                _ => None,
            })
            .collect();
        out.insert((*name).to_owned(), Value::Array(ids));
    }
    out
}

/// Resolves distributed claims (OIDC Core 5.6.2) at login by fetching their source
/// endpoint, only on origins the application allows; aggregated claims are read
/// from their JWT. Entra ID's group overage names such a source for `groups`.
///
/// - A request goes only to an endpoint on an allowed origin (scheme, host and port),
///   never following redirects, within the timeout (5 s) and size cap (256 KiB). An
///   endpoint on another origin is skipped with a warning: its claims stay absent.
/// - It carries the source's own `access_token` when the token gives one, else the
///   login's access token. The request is a GET, except to Microsoft Graph's
///   `getMemberObjects` action (Entra ID's overage endpoint), which is POSTed
///   `{"securityEnabledOnly": false}`.
/// - The answer is a JSON object, or a JWT (`application/jwt` or a body that is one,
///   and every aggregated source). A JWT must be issued by the provider and signed
///   with its keys; one of another issuer is skipped with a warning (its claims stay
///   absent). A `sub` in the answer must be the session's. A Graph-style
///   `{"value": [...]}` answer gives the one claim its source holds.
/// - Unreachable, timed out, 408, 429 or 5xx: the login fails with 503
///   ([`EnrichError::Unavailable`]); any other error status or an invalid answer: 500
///   ([`EnrichError::Failed`]).
///
/// ```
/// use axum_oidc_client::enrich::DistributedClaimsResolver;
///
/// let resolver = DistributedClaimsResolver::new(["https://graph.example"]).unwrap();
/// assert!(DistributedClaimsResolver::new(["ftp://graph.example"]).is_err());
/// # let _ = resolver;
/// ```
#[derive(Debug, Clone)]
pub struct DistributedClaimsResolver {
    allowed: Vec<url::Origin>,
    timeout: Duration,
    max_len: usize,
    http: reqwest::Client,
}

impl DistributedClaimsResolver {
    /// A resolver that fetches only from `origins` (e.g. `https://graph.microsoft.com`;
    /// a path is ignored).
    pub fn new<I, S>(origins: I) -> Result<Self, ResolverError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = Vec::new();
        for o in origins {
            let o = o.as_ref();
            let url = url::Url::parse(o).map_err(|_| ResolverError::InvalidOrigin(o.into()))?;
            if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
                return Err(ResolverError::InvalidOrigin(o.into()));
            }
            allowed.push(url.origin());
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ResolverError::Client)?;
        Ok(Self {
            allowed,
            timeout: Duration::from_secs(5),
            max_len: 256 * 1024,
            http,
        })
    }

    /// The most a request to a source may take (default 5 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer read from a source (default 256 KiB).
    pub fn with_max_response_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    async fn fetch(
        &self,
        url: url::Url,
        token: &str,
        ctx: &EnrichContext<'_>,
    ) -> Result<Map<String, Value>, ResolverError> {
        // Microsoft Graph's `getMemberObjects` (what Entra ID's overage names) is a POST
        // action; every other source is read with GET (OIDC Core 5.6.2).
        let req = if is_get_member_objects(&url) {
            self.http
                .post(url)
                .json(&serde_json::json!({ "securityEnabledOnly": false }))
        } else {
            self.http.get(url)
        };
        let resp = req
            .bearer_auth(token)
            .header(http::header::ACCEPT, "application/json, application/jwt")
            .timeout(self.timeout)
            .send()
            .await
            .map_err(ResolverError::Http)?;
        if !resp.status().is_success() {
            return Err(ResolverError::Status(resp.status().as_u16()));
        }
        let media_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = crate::http_util::read_limited(resp, self.max_len)
            .await
            .map_err(|()| ResolverError::Invalid)?;
        match compact_jwt(media_type.as_deref(), &body) {
            Some(token) => verify_jwt(token, ctx).await,
            None => serde_json::from_slice(&body).map_err(|_| ResolverError::Invalid),
        }
    }
}

/// The compact JWT a source answered with: `application/jwt`, or a body that is one
/// (OIDC Core 5.6.2 says the endpoint returns the claims as a JWT, and not every
/// endpoint labels it). `None` for anything else, JSON included. Pure.
pub(crate) fn compact_jwt<'b>(media_type: Option<&str>, body: &'b [u8]) -> Option<&'b str> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let labelled =
        media_type.is_some_and(|m| m.trim().to_ascii_lowercase().starts_with("application/jwt"));
    let shaped = text.starts_with("eyJ")
        && text.split('.').count() == 3
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (labelled || shaped).then_some(text)
}

/// The claims of a JWT from a claims source: issued by the provider, signed with its
/// keys, not expired. A JWT of another issuer is [`ResolverError::ForeignIssuer`]:
/// this library trusts no other issuer's keys.
async fn verify_jwt(
    token: &str,
    ctx: &EnrichContext<'_>,
) -> Result<Map<String, Value>, ResolverError> {
    let p = ctx.provider;
    let (Some(jwks), Some(issuer)) = (&p.jwks, &p.issuer) else {
        return Err(ResolverError::ForeignIssuer);
    };
    let jws = UnverifiedJws::parse(token, &p.algorithms).map_err(|_| ResolverError::Invalid)?;
    // Read before the signature is checked only to tell whose keys would check it.
    let claims: Map<String, Value> =
        serde_json::from_slice(jws.payload()).map_err(|_| ResolverError::Invalid)?;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(ResolverError::ForeignIssuer);
    }
    jwks.verify(&jws)
        .await
        .map_err(|_| ResolverError::Invalid)?;
    let rules = crate::jose::time::TimeRules::new(ctx.now, p.leeway);
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_i64().ok_or(ResolverError::Invalid)?;
        rules.check_exp(exp).map_err(|_| ResolverError::Invalid)?;
    }
    Ok(claims)
}

fn to_enrich_error(e: ResolverError) -> EnrichError {
    match e {
        ResolverError::Http(_) => EnrichError::unavailable(e),
        ResolverError::Status(s) if s >= 500 || s == 408 || s == 429 => EnrichError::unavailable(e),
        e => EnrichError::failed(e),
    }
}

impl ClaimsEnricher for DistributedClaimsResolver {
    fn enrich<'a>(
        &'a self,
        ctx: EnrichContext<'a>,
    ) -> BoxFuture<'a, Result<Enrichment, EnrichError>> {
        Box::pin(async move {
            let mut out = Enrichment::new();
            for (source, place, names) in ctx.distributed().by_source() {
                let fetched = match place {
                    ClaimSource::Distributed {
                        endpoint,
                        access_token,
                    } => {
                        let Ok(url) = allowed_endpoint(endpoint, &self.allowed) else {
                            let origin = url::Url::parse(endpoint)
                                .map(|u| u.origin().ascii_serialization())
                                .unwrap_or_default();
                            tracing::warn!(
                                reason = "distributed_claims_source_not_allowed",
                                source,
                                origin,
                                "a distributed claims source is not on the resolver's \
                                 allowed origins; its claims stay absent"
                            );
                            continue;
                        };
                        let token = access_token.as_ref().unwrap_or(ctx.access_token());
                        self.fetch(url, token.secret(), &ctx).await
                    }
                    ClaimSource::Aggregated { jwt } => verify_jwt(jwt, &ctx).await,
                };
                let doc = match fetched {
                    Ok(doc) => doc,
                    Err(ResolverError::ForeignIssuer) => {
                        tracing::warn!(
                            reason = "claims_source_foreign_issuer",
                            source,
                            "a claims source answered with a JWT of another issuer than the \
                             provider; its claims stay absent"
                        );
                        continue;
                    }
                    Err(e) => return Err(to_enrich_error(e)),
                };
                if doc
                    .get("sub")
                    .is_some_and(|s| s.as_str() != Some(ctx.claims().sub.as_str()))
                {
                    return Err(to_enrich_error(ResolverError::SubMismatch));
                }
                out.extend(pick(&doc, &names));
            }
            Ok(out)
        })
    }
}
