//! Claims enrichment: claims added to a session once, at login, by the application
//! ([`ClaimsEnricher`], e.g. roles from its own database) or from the distributed
//! claims the ID token names (OIDC Core 5.6.2, [`DistributedClaimsResolver`]; Entra
//! ID's group overage).
//!
//! What the enrichers return is kept in the server session record, never in the
//! cookie, and is seen like any other claim by [`Claims<T>`](crate::access::Claims),
//! the access rules ([`access::claim`](crate::access::claim)) and
//! [`AuthSession`](crate::AuthSession). A refresh carries the enriched claims over
//! from the login; it does not run the enrichers again.
//!
//! Rules, each checked here:
//! - An enriched claim wins over an ID token (or UserInfo) claim of the same name,
//!   but the protocol claims ([`PROTECTED_CLAIMS`]) are never set by enrichment: an
//!   enricher that returns one fails the login (500, `claims_enrichment_protected_claim`).
//! - `_claim_names` / `_claim_sources` are dropped from the stored claims once the
//!   enrichers ran (a source may carry a bearer token). A claim they name that no
//!   enricher resolved stays absent, so a rule on it fails closed (403), and one
//!   warning per login says so (`reason = "distributed_claims_unresolved"`); so does
//!   Entra ID's `hasgroups: true` without `groups`.
//! - A failing enricher fails the login, see [`EnrichError`].
//!
//! ```
//! use axum_oidc_client::AuthenticationLayer;
//! use axum_oidc_client::enrich::{EnrichContext, EnrichError, from_fn};
//! # fn config() -> axum_oidc_client::OAuthConfiguration {
//! #     axum_oidc_client::OAuthConfigurationBuilder::default()
//! #         .with_client_id("my-app")
//! #         .with_client_secret("s3cret")
//! #         .with_app_url("https://app.example")
//! #         .with_authorization_endpoint("https://op.example/authorize")
//! #         .with_token_endpoint("https://op.example/token")
//! #         .with_oauth2_only("https://op.example/user", "id")
//! #         .build()
//! #         .unwrap()
//! # }
//! # async fn roles_of(_sub: &str) -> Result<Vec<String>, std::io::Error> { Ok(vec!["editor".into()]) }
//!
//! // Roles from the application's own database, once per login.
//! let roles = from_fn(|ctx: EnrichContext<'_>| {
//!     Box::pin(async move {
//!         let roles = roles_of(&ctx.claims().sub).await.map_err(EnrichError::unavailable)?;
//!         let mut extra = serde_json::Map::new();
//!         extra.insert("roles".into(), roles.into());
//!         Ok(extra)
//!     })
//! });
//! let layer = AuthenticationLayer::new(config()).with_claims_enricher(roles);
//! # let _ = layer;
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::response::Response;
use serde_json::{Map, Value};

use crate::config::ProviderConfig;
use crate::failure::Failure;
use crate::id_token::IdTokenClaims;
use crate::secret::AccessTokenValue;
use crate::session::SessionRecord;

mod distributed;
pub use distributed::{ClaimSource, DistributedClaims, DistributedClaimsResolver, ResolverError};

#[cfg(test)]
mod tests;

/// A boxed, sendable future: what [`ClaimsEnricher::enrich`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Claims an enricher adds, by name.
pub type Enrichment = Map<String, Value>;

/// Claims enrichment can never set: the claims the protocol's checks rest on (OIDC
/// Core 2 and 3.1.3.7; `sid` for back-channel logout; `acr`, `amr` and `auth_time`
/// for step-up), and the distributed claims markers themselves (OIDC Core 5.6.2).
pub const PROTECTED_CLAIMS: &[&str] = &[
    "_claim_names",
    "_claim_sources",
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "exp",
    "iat",
    "iss",
    "nbf",
    "nonce",
    "sid",
    "sub",
];

/// Adds claims to a session at login. Object safe: the layer keeps a list of them
/// ([`AuthenticationLayer::with_claims_enricher`](crate::AuthenticationLayer::with_claims_enricher)),
/// run in order, each seeing what the ones before it added.
///
/// For a closure, see [`from_fn`].
pub trait ClaimsEnricher: Send + Sync + 'static {
    /// The claims to add to the session being established.
    fn enrich<'a>(
        &'a self,
        ctx: EnrichContext<'a>,
    ) -> BoxFuture<'a, Result<Enrichment, EnrichError>>;
}

impl<T: ClaimsEnricher + ?Sized> ClaimsEnricher for Arc<T> {
    fn enrich<'a>(
        &'a self,
        ctx: EnrichContext<'a>,
    ) -> BoxFuture<'a, Result<Enrichment, EnrichError>> {
        (**self).enrich(ctx)
    }
}

/// A [`ClaimsEnricher`] from a closure returning a boxed future (see the
/// [module example](self)).
pub fn from_fn<F>(f: F) -> FnEnricher<F>
where
    F: for<'a> Fn(EnrichContext<'a>) -> BoxFuture<'a, Result<Enrichment, EnrichError>>
        + Send
        + Sync
        + 'static,
{
    FnEnricher(f)
}

/// The enricher made by [`from_fn`].
#[derive(Clone)]
pub struct FnEnricher<F>(F);

impl<F> std::fmt::Debug for FnEnricher<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnEnricher")
    }
}

impl<F> ClaimsEnricher for FnEnricher<F>
where
    F: for<'a> Fn(EnrichContext<'a>) -> BoxFuture<'a, Result<Enrichment, EnrichError>>
        + Send
        + Sync
        + 'static,
{
    fn enrich<'a>(
        &'a self,
        ctx: EnrichContext<'a>,
    ) -> BoxFuture<'a, Result<Enrichment, EnrichError>> {
        (self.0)(ctx)
    }
}

/// What an enricher knows of the login being completed.
#[derive(Clone, Copy)]
pub struct EnrichContext<'a> {
    claims: &'a IdTokenClaims,
    access_token: &'a AccessTokenValue,
    distributed: &'a DistributedClaims,
    provider: &'a ProviderConfig,
    now: i64,
}

impl std::fmt::Debug for EnrichContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrichContext")
            .field("iss", &self.claims.iss)
            .field("sub", &self.claims.sub)
            .field("distributed", &self.distributed)
            .finish_non_exhaustive()
    }
}

impl<'a> EnrichContext<'a> {
    /// The verified ID token claims (merged with UserInfo when the layer fetches it;
    /// the user document in OAuth 2.0-only mode), with what earlier enrichers added.
    pub fn claims(&self) -> &'a IdTokenClaims {
        self.claims
    }

    /// The issuer that authenticated the user.
    pub fn issuer(&self) -> &'a str {
        &self.claims.iss
    }

    /// The login's access token. A secret: never log it.
    pub fn access_token(&self) -> &'a AccessTokenValue {
        self.access_token
    }

    /// The distributed claims (OIDC Core 5.6.2) the ID token names and no earlier
    /// enricher resolved: Entra ID's group overage shows up here as `groups`.
    pub fn distributed(&self) -> &'a DistributedClaims {
        self.distributed
    }

    /// Now, seconds since the epoch, by the layer's clock.
    pub fn now(&self) -> i64 {
        self.now
    }
}

/// Why enrichment failed; the login fails with it, and it is logged with its reason
/// and cause chain (the application's own error text is logged as it is: keep tokens
/// out of it).
///
/// | variant | status | reason |
/// |---|---|---|
/// | [`Unavailable`](Self::Unavailable) | 503 + `Retry-After` | `claims_enrichment_unavailable` |
/// | [`Denied`](Self::Denied) | 403 | `claims_enrichment_denied` |
/// | [`Failed`](Self::Failed) | 500 | `claims_enrichment_failed` |
/// | [`ProtectedClaim`](Self::ProtectedClaim) | 500 | `claims_enrichment_protected_claim` |
///
/// ```
/// use axum_oidc_client::enrich::EnrichError;
/// use http::StatusCode;
///
/// let e = EnrichError::unavailable(std::io::Error::other("database down"));
/// assert_eq!(e.failure().status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(EnrichError::Denied.failure().status(), StatusCode::FORBIDDEN);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrichError {
    /// Transient: a database or service the enricher needs is down. The user may try
    /// again shortly.
    #[error("claims enrichment temporarily unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The application refuses this user (e.g. unknown to it).
    #[error("claims enrichment refused the user")]
    Denied,
    /// Anything else: a bug, a misconfiguration, a claims source answering nonsense.
    #[error("claims enrichment failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An enricher returned a protocol claim ([`PROTECTED_CLAIMS`]).
    #[error("claims enrichment may not set the protocol claim {0:?}")]
    ProtectedClaim(String),
}

impl EnrichError {
    /// [`Unavailable`](Self::Unavailable) from any error.
    pub fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(e.into())
    }

    /// [`Failed`](Self::Failed) from any error.
    pub fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Failed(e.into())
    }

    /// The reason code and class of the failed login.
    pub fn failure(&self) -> Failure {
        match self {
            Self::Unavailable(_) => Failure::provider_outage("claims_enrichment_unavailable"),
            Self::Denied => Failure::forbidden("claims_enrichment_denied"),
            Self::Failed(_) => Failure::configuration("claims_enrichment_failed"),
            Self::ProtectedClaim(_) => Failure::configuration("claims_enrichment_protected_claim"),
        }
    }
}

/// The enrichers of a layer, in the order they run.
#[derive(Clone, Default)]
pub(crate) struct Enrichers(Vec<Arc<dyn ClaimsEnricher>>);

impl Enrichers {
    pub(crate) fn push(&mut self, enricher: Arc<dyn ClaimsEnricher>) {
        self.0.push(enricher);
    }
}

/// Refuses an enrichment that names a protocol claim. Pure.
pub(crate) fn check_names(extra: &Enrichment) -> Result<(), EnrichError> {
    match extra
        .keys()
        .find(|k| PROTECTED_CLAIMS.contains(&k.as_str()))
    {
        Some(name) => Err(EnrichError::ProtectedClaim(name.clone())),
        None => Ok(()),
    }
}

/// Sets `extra` on `claims` (an enriched claim wins over the token's), records the
/// names in `added`, and marks them resolved in `pending`. `null` values are skipped.
/// Pure; `extra` must have passed [`check_names`].
pub(crate) fn merge(
    claims: &mut IdTokenClaims,
    extra: Enrichment,
    added: &mut Vec<String>,
    pending: &mut DistributedClaims,
) {
    for (name, value) in extra {
        if value.is_null() {
            continue;
        }
        pending.resolve(&name);
        if !added.contains(&name) {
            added.push(name.clone());
        }
        claims.additional.insert(name, value);
    }
}

/// Removes the distributed claims markers (OIDC Core 5.6.2): a source may carry a
/// bearer token, and handlers show claims. Pure.
pub(crate) fn strip_markers(claims: &mut IdTokenClaims) {
    claims.additional.remove("_claim_names");
    claims.additional.remove("_claim_sources");
}

/// Whether the token says the user's groups were left out: Entra ID's `hasgroups`
/// (sent instead of `_claim_names` where a token must stay short).
fn groups_left_out(claims: &IdTokenClaims) -> bool {
    claims.additional.get("hasgroups") == Some(&Value::Bool(true))
}

/// The claims named by `_claim_names` (or `hasgroups`) that are still absent, for the
/// one warning. Pure.
pub(crate) fn unresolved(pending: &DistributedClaims, claims: &IdTokenClaims) -> Vec<String> {
    let mut missing: Vec<String> = pending
        .names()
        .filter(|n| !claims.additional.contains_key(n))
        .map(str::to_owned)
        .collect();
    if groups_left_out(claims)
        && !claims.additional.contains_key("groups")
        && !missing.iter().any(|n| n == "groups")
    {
        missing.push("groups".to_owned());
    }
    missing
}

/// Runs the enrichers on a new session `record` (OIDC Core 5.6.2 for the distributed
/// claims): the enriched claims are set on its claims and their names kept in
/// [`SessionRecord::enriched_claims`] for refresh.
pub(crate) async fn enrich_record(
    enrichers: &Enrichers,
    provider: &ProviderConfig,
    record: &mut SessionRecord,
    now: i64,
) -> Result<(), EnrichError> {
    let mut pending = DistributedClaims::parse(&record.claims.additional);
    if enrichers.0.is_empty() && pending.is_empty() && !groups_left_out(&record.claims) {
        return Ok(());
    }
    let mut claims = (*record.claims).clone();
    let mut added = Vec::new();
    for enricher in &enrichers.0 {
        let ctx = EnrichContext {
            claims: &claims,
            access_token: &record.tokens.access_token,
            distributed: &pending,
            provider,
            now,
        };
        let extra = enricher.enrich(ctx).await?;
        check_names(&extra)?;
        merge(&mut claims, extra, &mut added, &mut pending);
    }
    let missing = unresolved(&pending, &claims);
    if !missing.is_empty() {
        tracing::warn!(
            reason = "distributed_claims_unresolved",
            claims = %missing.join(","),
            "the ID token names distributed claims (OIDC Core 5.6.2, e.g. Entra ID's group \
             overage) that no claims enricher resolved; they stay absent, so access rules \
             on them refuse"
        );
    }
    strip_markers(&mut claims);
    added.sort();
    record.claims = Arc::new(claims);
    record.enriched_claims = added;
    Ok(())
}

/// What a refreshed session keeps of its login's enrichment: the enriched claims, as
/// they were at login, over whatever the refreshed ID token or UserInfo says, and no
/// distributed claims markers. Pure.
pub(crate) fn carry_over(mut claims: IdTokenClaims, login: &SessionRecord) -> IdTokenClaims {
    for name in &login.enriched_claims {
        match login.claims.additional.get(name) {
            Some(v) => claims.additional.insert(name.clone(), v.clone()),
            None => claims.additional.remove(name),
        };
    }
    strip_markers(&mut claims);
    claims
}

/// The answer to a login whose enrichment failed: logged once with its reason,
/// counted, and the page (or JSON) of its class.
pub(crate) fn failed_login(api: bool, e: &EnrichError) -> Response {
    let failure = e.failure();
    failure.log("login callback failed: claims enrichment", e);
    crate::observe::login(failure.reason());
    crate::failure::failure(api, failure, None)
}
