//! A refresh after the upstream API refused an access token the session still holds
//! as valid (RFC 6750 section 3.1 `invalid_token`: revoked, or rotated keys).
//!
//! The refresh itself is the layer's ([`crate::refresh`]): one per session across the
//! requests of this process and across instances. This only makes the session ask
//! for it: the rejected token is marked expired in the store, over the very version
//! read, so that a concurrent refresh or logout is never undone, and a token another
//! request has already replaced is not refreshed again.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::refresh::refresh_session;
use crate::session::cookies::read_session_id;
use crate::session::{SessionKey, SessionRecord};
use crate::state::AuthState;

/// The session with an access token other than the one of `rejected`: as another
/// request already refreshed it, or refreshed now. `None` when the session cannot be
/// refreshed (no refresh token, ended, provider or store down): the upstream's 401
/// then stands.
pub(crate) async fn refresh_rejected(
    state: &AuthState,
    headers: &HeaderMap,
    rejected: &SessionRecord,
) -> Option<Arc<SessionRecord>> {
    rejected.tokens.refresh_token.as_ref()?;
    let c = &state.config.inner;
    let id = read_session_id(&c.cookie_key, &c.cookies, headers)?;
    let key = SessionKey::of(&id);
    let current = state.store.op(state.store.get(&key)).await.ok()??;
    let rejected_token = rejected.tokens.access_token.secret();
    if current.tokens.access_token.secret() != rejected_token {
        return Some(current);
    }
    let now = c.clock.now();
    let left = c.policy.remaining(&current, now);
    if left <= 0 {
        return None;
    }
    let ttl = Duration::from_secs(left as u64);
    let mut stale = (*current).clone();
    stale.tokens.expires_at = stale.tokens.expires_at.min(now);
    match state
        .store
        .op(state.store.replace(&key, &current, Arc::new(stale), ttl))
        .await
    {
        // Marked, or changed since it was read (by a refresh, a touch or a logout):
        // the refresh below reads it again and decides.
        Ok(_) => {}
        Err(e) => {
            tracing::debug!(error = %e, "could not mark a rejected access token as expired");
            return None;
        }
    }
    match refresh_session(&state.refresher(), &key, ttl).await {
        Ok(fresh) if fresh.tokens.access_token.secret() != rejected_token => Some(fresh),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "refresh after an upstream 401 failed");
            None
        }
    }
}
