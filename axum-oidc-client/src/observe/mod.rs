//! What the layer reports about itself: metrics through the `metrics` facade and
//! audit events through `tracing`.
//!
//! The application installs a recorder (a Prometheus exporter, say); without one
//! every call here is a no-op through the facade's no-op recorder. Label values are
//! a closed set of `&'static str`: never a user, session, token or URL, so a
//! label's cardinality is bounded by this module.

use std::time::Duration;

pub(crate) mod audit;
#[cfg(test)]
pub(crate) mod testing;

/// `axum_oidc_logins_total{outcome}`: completed callbacks, `outcome` = `success` or
/// the failure's reason code.
pub const LOGINS_TOTAL: &str = "axum_oidc_logins_total";
/// `axum_oidc_refreshes_total{outcome}`: token refreshes. `success` (this instance
/// asked the provider), `shared` (a request that joined another request's refresh in
/// this process, or found another instance's result), or the failure's reason:
/// `invalid_grant`, `no_refresh_token`, `session_ended`, `id_token_invalid`,
/// `userinfo_invalid`, `provider_not_discovered`, `jwks_unavailable`,
/// `userinfo_unavailable`, `store_unavailable`, `contention`, or the token
/// endpoint's failure as for a login (`invalid_client`, `token_endpoint_unreachable`,
/// ...). A failure is counted once, however many requests waited for it.
pub const REFRESHES_TOTAL: &str = "axum_oidc_refreshes_total";
/// `axum_oidc_logouts_total{kind}`: `local` and `rp_initiated` (a session ended by
/// the built-in logout handlers), `backchannel` (a logout token that ended sessions).
pub const LOGOUTS_TOTAL: &str = "axum_oidc_logouts_total";
/// `axum_oidc_jwks_fetches_total{outcome}`: fetches of the provider's keys, `ok` or
/// `error`, and `rate_limited` for a refetch refused by the refetch interval or a
/// failure back-off.
pub const JWKS_FETCHES_TOTAL: &str = "axum_oidc_jwks_fetches_total";
/// `axum_oidc_store_operations_total{op,outcome}`: session store operations (`op` is
/// the `AuthCache` method) that waited on their backend or failed; `outcome` is `ok`,
/// `error`, `timeout` or `cancelled`. An operation that succeeds without waiting (the
/// memory store, a local-tier hit) is not recorded.
pub const STORE_OPERATIONS_TOTAL: &str = "axum_oidc_store_operations_total";
/// `axum_oidc_provider_request_seconds{endpoint}`: time of each call to the provider,
/// from the request to the end of the response body; `endpoint` is `discovery`,
/// `jwks`, `token`, `userinfo` or `revocation`.
pub const PROVIDER_REQUEST_SECONDS: &str = "axum_oidc_provider_request_seconds";
/// `axum_oidc_store_request_seconds{op}`: time of each recorded store operation
/// (those of [`STORE_OPERATIONS_TOTAL`]), from when it first waited.
pub const STORE_REQUEST_SECONDS: &str = "axum_oidc_store_request_seconds";
/// `axum_oidc_invalidations_total{outcome}`: messages of a two-tier store's
/// invalidation channel: `published` (a change made here, told to the others),
/// `publish_failed`, and `applied` (another instance's change, dropped from the local
/// tier here).
pub const INVALIDATIONS_TOTAL: &str = "axum_oidc_invalidations_total";
/// `axum_oidc_invalidation_channel_up`: 1 while a two-tier store's invalidation
/// channel is subscribed, 0 while it is down (revocation is then bounded by the local
/// TTL).
pub const INVALIDATION_CHANNEL_UP: &str = "axum_oidc_invalidation_channel_up";

/// How a session ended, the `kind` label of [`LOGOUTS_TOTAL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogoutKind {
    /// Only the local session was ended.
    Local,
    /// The browser was sent to the provider's end-session endpoint.
    RpInitiated,
    /// The provider posted a logout token.
    Backchannel,
}

impl LogoutKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::RpInitiated => "rp_initiated",
            Self::Backchannel => "backchannel",
        }
    }
}

/// The provider endpoint of a call, the `endpoint` label of
/// [`PROVIDER_REQUEST_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProviderEndpoint {
    Discovery,
    Jwks,
    Token,
    Userinfo,
    Revocation,
    /// RFC 9126.
    PushedAuthorization,
}

impl ProviderEndpoint {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Jwks => "jwks",
            Self::Token => "token",
            Self::Userinfo => "userinfo",
            Self::Revocation => "revocation",
            Self::PushedAuthorization => "par",
        }
    }
}

/// One completed callback: `outcome` is `success` or a reason code.
pub(crate) fn login(outcome: &'static str) {
    metrics::counter!(LOGINS_TOTAL, "outcome" => outcome).increment(1);
}

/// One refresh (or one request that joined another's: `shared`).
pub(crate) fn refresh(outcome: &'static str) {
    metrics::counter!(REFRESHES_TOTAL, "outcome" => outcome).increment(1);
}

/// One ended session (or set of sessions, for a back-channel logout).
pub(crate) fn logout(kind: LogoutKind) {
    metrics::counter!(LOGOUTS_TOTAL, "kind" => kind.label()).increment(1);
}

/// One fetch of the provider's keys.
pub(crate) fn jwks_fetch(outcome: &'static str) {
    metrics::counter!(JWKS_FETCHES_TOTAL, "outcome" => outcome).increment(1);
}

/// One store operation `op` (`get`, `set`, `replace`, ...), with its outcome
/// (`ok`, `error`, `timeout`) and duration.
pub(crate) fn store_op(op: &'static str, outcome: &'static str, elapsed: Duration) {
    metrics::counter!(STORE_OPERATIONS_TOTAL, "op" => op, "outcome" => outcome).increment(1);
    metrics::histogram!(STORE_REQUEST_SECONDS, "op" => op).record(elapsed.as_secs_f64());
}

/// One message of the invalidation channel: `published`, `publish_failed`, `applied`.
pub(crate) fn invalidation(outcome: &'static str) {
    metrics::counter!(INVALIDATIONS_TOTAL, "outcome" => outcome).increment(1);
}

/// Whether the invalidation channel is subscribed.
pub(crate) fn invalidation_channel_up(up: bool) {
    metrics::gauge!(INVALIDATION_CHANNEL_UP).set(if up { 1.0 } else { 0.0 });
}

/// One call to the provider and its duration, whatever its result.
pub(crate) fn provider_request(endpoint: ProviderEndpoint, elapsed: Duration) {
    metrics::histogram!(PROVIDER_REQUEST_SECONDS, "endpoint" => endpoint.label())
        .record(elapsed.as_secs_f64());
}

/// An error and its causes down to the root, each once, joined by `": "`, for a log
/// field. A message that already quotes its source's text (`"... : {source}"`) does
/// not repeat it.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next = Some(e);
    let mut last = String::new();
    while let Some(err) = next {
        let text = err.to_string();
        if !last.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        last = text;
        next = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("code exchange failed")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("token endpoint refused the client: invalid_client")]
    struct Inner;

    #[test]
    fn the_chain_names_every_cause_down_to_the_root() {
        assert_eq!(
            error_chain(&Outer(Inner)),
            "code exchange failed: token endpoint refused the client: invalid_client"
        );
    }
}
