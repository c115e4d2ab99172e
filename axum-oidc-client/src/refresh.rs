//! Refresh (RFC 6749 section 6, OIDC Core 12): one refresh per session at a time,
//! within a process (a shared in-flight refresh per session) and across instances (a
//! lease in the store). Requests of this process that need the same refresh wait for
//! the one in flight and all take its result at once; an instance that finds another
//! instance's lease re-reads the stored result instead of refreshing again. So a
//! provider that rotates refresh tokens and revokes on reuse never sees a reuse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::callback::new_record;
use crate::config::OAuthConfiguration;
use crate::config::{IdentityMode, ProviderConfig};
use crate::id_token::{Expectations, IdTokenClaims, IdTokenError, NonceCheck, verify_id_token};
use crate::observe;
use crate::secret::random_token;
use crate::session::{SessionKey, SessionRecord};
use crate::store::BoundedStore;
use crate::store::StoreError;
use crate::token::TokenError;

/// How long the cross-instance refresh lease lasts.
pub const LEASE: Duration = Duration::from_secs(30);
/// How long a request waits for another instance's refresh before giving up.
pub const MAX_WAIT: Duration = Duration::from_secs(15);

/// Why a refresh did not produce a fresh session. Cheap to clone: every request that
/// waited for the same refresh gets the same outcome.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The grant is gone (`invalid_grant`, changed subject, session removed meanwhile):
    /// the session has ended and the user must log in again.
    #[error("session ended")]
    Ended,
    /// The provider is down or misbehaving; the session is kept.
    #[error("provider unavailable")]
    Provider(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// The store failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
}

impl From<StoreError> for RefreshError {
    fn from(e: StoreError) -> Self {
        Self::Store(Arc::new(e))
    }
}

type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// A refresh that did not produce a fresh session: its `reason` code (the `outcome`
/// of [`REFRESHES_TOTAL`](crate::observe::REFRESHES_TOTAL) and the log's `reason`),
/// what the waiting requests get, and for the log the cause down to its root.
///
/// | reason | session | logged at |
/// |---|---|---|
/// | `invalid_grant` | ended | WARN |
/// | `no_refresh_token`, `session_ended` (removed meanwhile) | ended | WARN |
/// | `id_token_invalid`, `userinfo_invalid` | ended | ERROR |
/// | the token endpoint's other failures, by the reason of [`TokenError::failure`] (`invalid_client`, `token_endpoint_unreachable`, ...) | kept | ERROR |
/// | `provider_not_discovered`, `jwks_unavailable`, `userinfo_unavailable` | kept | ERROR |
/// | `store_unavailable`, `contention` (another refresh held the session too long) | kept | WARN |
struct Failed {
    reason: &'static str,
    error: RefreshError,
    cause: Option<Cause>,
    /// The session as read, when this failure ended it: for the audit event.
    ended: Option<Arc<SessionRecord>>,
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        Self {
            reason: "store_unavailable",
            error: e.into(),
            cause: None,
            ended: None,
        }
    }
}

impl Failed {
    /// The session is gone (logged out, or expired, meanwhile).
    fn gone() -> Self {
        Self {
            reason: "session_ended",
            error: RefreshError::Ended,
            cause: None,
            ended: None,
        }
    }

    /// `session` can no longer be renewed: it has ended.
    fn ended(reason: &'static str, session: &Arc<SessionRecord>, cause: Option<Cause>) -> Self {
        Self {
            reason,
            error: RefreshError::Ended,
            cause,
            ended: Some(session.clone()),
        }
    }

    /// The provider failed; the session is kept.
    fn provider(
        reason: &'static str,
        e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let cause: Cause = Arc::from(e.into());
        Self {
            reason,
            error: RefreshError::Provider(cause.clone()),
            cause: None,
            ended: None,
        }
    }

    /// A failure of the token endpoint, by the reason a code exchange would give
    /// ([`TokenError::failure`]).
    fn token(e: TokenError) -> Self {
        Self::provider(e.failure().reason(), e)
    }

    /// A fault of the provider or of the configuration, logged at ERROR.
    fn is_fault(&self) -> bool {
        !matches!(
            self.reason,
            "invalid_grant"
                | "no_refresh_token"
                | "session_ended"
                | "store_unavailable"
                | "contention"
        )
    }

    /// Counts the failure, logs it once, and audits a session it ended.
    fn record(&self, key: &SessionKey) {
        observe::refresh(self.reason);
        let error = match &self.cause {
            Some(cause) => observe::error_chain(&**cause),
            None => observe::error_chain(&self.error),
        };
        let reason = self.reason;
        if self.is_fault() {
            tracing::error!(reason, error, "session refresh failed");
        } else {
            tracing::warn!(reason, error, "session refresh failed");
        }
        if let Some(s) = &self.ended {
            let session = observe::audit::session_ref_of_key(key);
            observe::audit::refresh_failed_ref(reason, &s.claims.sub, &s.claims.iss, &session);
        }
    }
}

/// How a refresh in this process got a fresh session.
enum Renewed {
    /// It asked the provider.
    Here,
    /// Another instance had refreshed it: read back from the store.
    Elsewhere,
}

/// The outcome of one refresh, shared by every request of this process that waited
/// for it.
pub(crate) type RefreshFlight = tokio::sync::OnceCell<Result<Arc<SessionRecord>, RefreshError>>;

/// The refresh in flight (or just finished) per session in this process.
#[derive(Default)]
pub(crate) struct RefreshFlights(Mutex<HashMap<SessionKey, Weak<RefreshFlight>>>);

impl RefreshFlights {
    /// The refresh of a session to join: the one in flight, or one that just produced
    /// a record `still_good` accepts; otherwise a new one.
    pub fn join(
        &self,
        key: &SessionKey,
        still_good: impl Fn(&SessionRecord) -> bool,
    ) -> Arc<RefreshFlight> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(key).and_then(Weak::upgrade) {
            match existing.get() {
                None => return existing,
                Some(Ok(record)) if still_good(record) => return existing,
                Some(_) => {}
            }
        }
        map.retain(|_, w| w.strong_count() > 0);
        let flight = Arc::new(RefreshFlight::new());
        map.insert(key.clone(), Arc::downgrade(&flight));
        flight
    }
}

/// What a refresh takes: the configuration, the bounded store and this process's
/// flights.
pub(crate) struct Refresher<'a> {
    pub config: &'a OAuthConfiguration,
    pub store: &'a BoundedStore,
    pub flights: &'a RefreshFlights,
}

/// Refreshes the session under `key`, or returns the result of a concurrent refresh.
///
/// Within this process the first request starts the refresh and the others wait for
/// it; they are all released together with its result. If the request that started it
/// goes away, a waiting one carries it on.
pub(crate) async fn refresh_session(
    state: &Refresher<'_>,
    key: &SessionKey,
    ttl: Duration,
) -> Result<Arc<SessionRecord>, RefreshError> {
    let c = &state.config.inner;
    let flight = state
        .flights
        .join(key, |r| c.policy.is_fresh(r, c.clock.now()));
    let mut started = false;
    let result = flight
        .get_or_init(|| {
            started = true;
            refresh_observed(state, key, ttl)
        })
        .await
        .clone();
    if !started && result.is_ok() {
        // Joined the refresh of another request of this process.
        observe::refresh("shared");
    }
    result
}

/// One refresh in this process, counted: `success` when it asked the provider,
/// `shared` when it found another instance's result, else its failure's reason (also
/// logged once, whatever the number of requests waiting for it).
async fn refresh_observed(
    state: &Refresher<'_>,
    key: &SessionKey,
    ttl: Duration,
) -> Result<Arc<SessionRecord>, RefreshError> {
    match refresh_across_instances(state, key, ttl).await {
        Ok((record, Renewed::Here)) => {
            observe::refresh("success");
            Ok(record)
        }
        Ok((record, Renewed::Elsewhere)) => {
            observe::refresh("shared");
            Ok(record)
        }
        Err(failed) => {
            failed.record(key);
            Err(failed.error)
        }
    }
}

/// Pauses between looks at another instance's refresh: short at first (a refresh
/// usually takes one round trip to the provider), doubling up to a ceiling, each with
/// random jitter so that instances waiting for the same lease do not poll in step.
#[derive(Debug)]
struct LeaseBackoff {
    next: Duration,
}

impl LeaseBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const CEILING: Duration = Duration::from_millis(320);

    fn next_pause(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(Self::CEILING);
        // Between half and all of the base pause.
        let jitter = rand::random_range(0..=base.as_micros() as u64 / 2);
        base - Duration::from_micros(jitter)
    }
}

impl Default for LeaseBackoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// One refresh in this process: takes the store lease, or waits for the instance
/// that holds it and reads its result.
async fn refresh_across_instances(
    state: &Refresher<'_>,
    key: &SessionKey,
    ttl: Duration,
) -> Result<(Arc<SessionRecord>, Renewed), Failed> {
    let policy = &state.config.inner.policy;
    let now = state.config.inner.clock.now();
    let current = state
        .store
        .op(state.store.get_fresh(key))
        .await?
        .ok_or_else(Failed::gone)?;
    if policy.is_fresh(&current, now) {
        return Ok((current, Renewed::Elsewhere));
    }

    let owner = random_token(16);
    let lease_name = format!("refresh:{}", key.as_str());
    let started = Instant::now();
    let mut backoff = LeaseBackoff::default();
    while !state
        .store
        .op(state.store.try_lock(&lease_name, &owner, LEASE))
        .await?
    {
        if started.elapsed() > MAX_WAIT {
            return Err(Failed::provider(
                "contention",
                "timed out waiting for another instance's refresh",
            ));
        }
        tokio::time::sleep(backoff.next_pause()).await;
        let current = state
            .store
            .op(state.store.get_fresh(key))
            .await?
            .ok_or_else(Failed::gone)?;
        if policy.is_fresh(&current, state.config.inner.clock.now()) {
            return Ok((current, Renewed::Elsewhere));
        }
    }
    let result = refresh_holding_lease(state, key, ttl).await;
    if let Err(e) = state
        .store
        .op(state.store.unlock(&lease_name, &owner))
        .await
    {
        tracing::debug!(error = %e, "could not release the refresh lease; it expires by itself");
    }
    result
}

async fn refresh_holding_lease(
    state: &Refresher<'_>,
    key: &SessionKey,
    ttl: Duration,
) -> Result<(Arc<SessionRecord>, Renewed), Failed> {
    let c = &state.config.inner;
    // Re-read under the lease: another instance may have finished just before we got it.
    let current = state
        .store
        .op(state.store.get_fresh(key))
        .await?
        .ok_or_else(Failed::gone)?;
    if c.policy.is_fresh(&current, c.clock.now()) {
        return Ok((current, Renewed::Elsewhere));
    }
    let Some(refresh_token) = current.tokens.refresh_token.clone() else {
        return Err(Failed::ended("no_refresh_token", &current, None));
    };
    // The session's own provider (a record names it, RFC 9700 section 4.4); one no
    // longer configured cannot be refreshed and the session ends.
    let Some(entry) = c.providers.of_record(&current) else {
        return Err(Failed::ended("provider_removed", &current, None));
    };
    let Some(provider) = entry.cell.get() else {
        return Err(Failed::provider(
            "provider_not_discovered",
            "the OpenID provider has not been discovered yet",
        ));
    };
    let provider = &*provider;
    // The session's DPoP key, the one its tokens are bound to (RFC 9449 section 5).
    let dpop = crate::dpop::stored_key(current.tokens.dpop_key.as_ref())
        .map_err(|e| Failed::token(TokenError::DpopProof(e)))?;
    let response = match crate::token::refresh(provider, &refresh_token, dpop.as_ref()).await {
        Ok(r) => r,
        Err(e @ TokenError::InvalidGrant) => {
            state.store.op(state.store.remove(key)).await?;
            return Err(Failed::ended("invalid_grant", &current, Some(Arc::new(e))));
        }
        Err(e) => return Err(Failed::token(e)),
    };
    let now = c.clock.now();
    let claims = match (&provider.identity, response.id_token.as_deref()) {
        (IdentityMode::OpenIdConnect, Some(id_token)) => {
            match verify_refreshed_id_token(
                provider,
                id_token,
                &current.claims,
                &response.access_token,
                now,
            )
            .await
            {
                Ok(claims) => claims,
                // An unknown `kid` may be a rotation the rate-limited refetch has not
                // picked up yet: keep the session and try again later.
                Err(e @ IdTokenError::Jose(crate::jose::JoseError::UnknownKid)) => {
                    keep_rotated_refresh_token(state, key, &current, &response, ttl).await?;
                    return Err(Failed::provider("jwks_unavailable", e));
                }
                Err(e) if e.is_provider_fault() => {
                    keep_rotated_refresh_token(state, key, &current, &response, ttl).await?;
                    return Err(Failed::provider("jwks_unavailable", e));
                }
                Err(e) => {
                    state.store.op(state.store.remove(key)).await?;
                    let cause = Some(Arc::new(e) as Cause);
                    return Err(Failed::ended("id_token_invalid", &current, cause));
                }
            }
        }
        _ => (*current.claims).clone(),
    };
    let claims = if provider.fetch_userinfo && provider.identity == IdentityMode::OpenIdConnect {
        // OIDC Core 5.3.4 holds after a refresh too: a different `sub` ends the session.
        let token = crate::userinfo::Presented::new(&response, dpop.as_ref());
        match crate::userinfo::merge_userinfo(provider, claims, token).await {
            Ok(merged) => merged,
            Err(e) if e.is_provider_fault() => {
                keep_rotated_refresh_token(state, key, &current, &response, ttl).await?;
                return Err(Failed::provider("userinfo_unavailable", e));
            }
            Err(e) => {
                state.store.op(state.store.remove(key)).await?;
                let cause = Some(Arc::new(e) as Cause);
                return Err(Failed::ended("userinfo_invalid", &current, cause));
            }
        }
    } else {
        claims
    };
    let refreshed = new_record(provider, &response, claims, Some(&current), now);
    let record = write_over(state, key, current, ttl, |stored| {
        let mut record = refreshed.clone();
        record.last_seen = record.last_seen.max(stored.last_seen);
        record
    })
    .await?;
    Ok((record, Renewed::Here))
}

/// How often a refresh re-reads and writes again when other writes (activity touches)
/// keep changing the session between its read and its write.
const WRITE_ATTEMPTS: usize = 3;

/// Writes a record derived from the stored session over the very version read
/// ([`AuthCache::replace`](crate::store::AuthCache::replace)), never with a plain
/// `put`: a logout that ended the session while the provider was being asked is never
/// undone. When another write came in between, the record is derived again from the
/// newer version; when the session is gone, it has ended.
async fn write_over(
    state: &Refresher<'_>,
    key: &SessionKey,
    mut current: Arc<SessionRecord>,
    ttl: Duration,
    derive: impl Fn(&SessionRecord) -> SessionRecord,
) -> Result<Arc<SessionRecord>, Failed> {
    for _ in 0..WRITE_ATTEMPTS {
        let record = Arc::new(derive(&current));
        if state
            .store
            .op(state.store.replace(key, &current, record.clone(), ttl))
            .await?
        {
            return Ok(record);
        }
        current = state
            .store
            .op(state.store.get_fresh(key))
            .await?
            .ok_or_else(Failed::gone)?;
    }
    Err(Failed::provider(
        "contention",
        "the session kept changing during its refresh",
    ))
}

/// Keeps the refresh token of a response that cannot be used yet (its ID token or
/// UserInfo cannot be checked while the provider's keys or endpoints fail).
///
/// A provider that rotates refresh tokens has already invalidated the one we sent, and
/// may revoke the whole grant when it sees it again (RFC 9700 section 4.14.2). So the
/// rotated token is stored, and nothing else of the unverified response: the session
/// keeps serving its current access token, and the next request refreshes again with
/// the new refresh token.
async fn keep_rotated_refresh_token(
    state: &Refresher<'_>,
    key: &SessionKey,
    current: &Arc<SessionRecord>,
    response: &crate::token::AccessTokenResponse,
    ttl: Duration,
) -> Result<(), Failed> {
    let Some(rotated) = response.refresh_token.as_deref() else {
        return Ok(());
    };
    if current
        .tokens
        .refresh_token
        .as_ref()
        .is_some_and(|old| old.secret() == rotated)
    {
        return Ok(());
    }
    write_over(state, key, current.clone(), ttl, |stored| {
        let mut kept = stored.clone();
        kept.tokens.refresh_token = Some(crate::secret::RefreshTokenValue::new(rotated));
        kept
    })
    .await?;
    Ok(())
}

/// OIDC Core 12.2: same `iss`, `sub` and `aud` as the original; `nonce` optional but
/// equal when present; everything else as at login.
async fn verify_refreshed_id_token(
    provider: &ProviderConfig,
    id_token: &str,
    original: &IdTokenClaims,
    access_token: &str,
    now: i64,
) -> Result<IdTokenClaims, IdTokenError> {
    let (Some(jwks), Some(issuer)) = (
        &provider.jwks,
        provider.refreshed_id_token_issuer(&original.iss),
    ) else {
        return Err(IdTokenError::MalformedClaims);
    };
    let exp = Expectations {
        issuer,
        client_id: &provider.client_id,
        additional_audiences: &provider.additional_audiences,
        nonce: NonceCheck::IfPresent(original.nonce.as_deref()),
        leeway: provider.leeway,
        max_age: None,
        subject: Some(&original.sub),
        now,
    };
    let claims = verify_id_token(
        id_token,
        jwks,
        &provider.algorithms,
        &exp,
        Some(access_token),
    )
    .await?;
    Ok(carry_over(claims, original))
}

/// What a refreshed ID token may leave out but the session must keep from the login:
/// the provider session id (`sid`), so back-channel logout by `sid` still finds the
/// session, and the `nonce`, so a later refreshed token that does carry it is
/// checked against the login's (OIDC Core 12.2) instead of being refused. A refresh
/// is no authentication: `auth_time` and `acr` stay the login's, whatever the new
/// token says, so step-up rules (`access::max_age`, `acr_values`) see the login.
fn carry_over(mut claims: IdTokenClaims, original: &IdTokenClaims) -> IdTokenClaims {
    claims.auth_time = original.auth_time;
    match original.additional.get("acr") {
        Some(acr) => claims.additional.insert("acr", acr.clone()),
        None => claims.additional.remove("acr"),
    };
    if claims.sid.is_none() {
        claims.sid.clone_from(&original.sid);
    }
    if claims.nonce.is_none() {
        claims.nonce.clone_from(&original.nonce);
    }
    claims
}

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod tests;
