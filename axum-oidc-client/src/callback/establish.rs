//! The end of a login, once the code is redeemed: the `state` consumed for every
//! instance, a fresh session id, and the new session in the store.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use super::{REPLAY_TTL, replay_marker};
use crate::config::OAuthConfiguration;
use crate::enrich::{EnrichError, Enrichers, enrich_record};
use crate::observe;
use crate::secret::SessionId;
use crate::session::cookies::read_session_id;
use crate::session::{SessionKey, SessionRecord, USER_AGENT_MAX, new_session_id};
use crate::store::{BoundedStore, StoreError};

/// What establishing the session came to.
#[derive(Debug)]
pub(crate) enum Established {
    /// The session is stored under a fresh id and lives `ttl` seconds.
    Session {
        /// The new session id, for the cookie.
        id: SessionId,
        /// Seconds it may live (the session policy's remaining time).
        ttl: i64,
    },
    /// This authorization response was already used (on any instance).
    Replayed,
    /// A step-up login returned another user (`iss`, `sub`) than the browser's
    /// session, which is kept.
    OtherUser,
    /// Claims enrichment failed (see [`crate::enrich`]); no session exists.
    EnrichmentFailed(EnrichError),
    /// The store failed; no session exists.
    StoreFailed(StoreError),
}

/// Marks the login's `state` as used in the shared store, so a provider that redeemed
/// the code twice still yields one session (RFC 6749 section 10.5; the `state` is
/// single-use, RFC 9700 section 4.7.1). `false` when it was used already.
async fn consume_state(store: &BoundedStore, login_state: &str) -> Result<bool, StoreError> {
    store
        .op(store.insert_once(&replay_marker(login_state), REPLAY_TTL))
        .await
}

/// A new random session id. A session id the browser brought along is never reused
/// (session fixation, RFC 6749 section 10.12's concern for the RP's own session): its
/// session, if any, is deleted.
async fn fresh_session_id(
    config: &OAuthConfiguration,
    store: &BoundedStore,
    headers: &HeaderMap,
) -> SessionId {
    let c = &config.inner;
    if let Some(old) = read_session_id(&c.cookie_key, &c.cookies, headers)
        && let Err(e) = store.op(store.remove(&SessionKey::of(&old))).await
    {
        tracing::debug!(error = %e, "could not delete the session the browser brought along");
    }
    new_session_id()
}

/// The browser's `User-Agent`, kept for the user's list of their sessions: at most
/// [`USER_AGENT_MAX`] bytes, cut on a character boundary; bytes that are not UTF-8
/// become U+FFFD. `None` when absent or blank.
pub(crate) fn user_agent_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::USER_AGENT)?.as_bytes();
    // Cut the bytes first, so an oversized header costs no more than the limit.
    let value = String::from_utf8_lossy(&value[..value.len().min(USER_AGENT_MAX)]);
    let value = value.trim();
    // A U+FFFD from a multi-byte character cut above is dropped with the cut.
    let mut end = value.len().min(USER_AGENT_MAX);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let value = value[..end].trim_end();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Whether the session the browser brought along, if any, belongs to the user of
/// `record` (same `iss` and `sub`). `true` without a live session.
async fn same_user_as_session(
    config: &OAuthConfiguration,
    store: &BoundedStore,
    headers: &HeaderMap,
    record: &SessionRecord,
) -> Result<bool, StoreError> {
    let c = &config.inner;
    let Some(old) = read_session_id(&c.cookie_key, &c.cookies, headers) else {
        return Ok(true);
    };
    Ok(match store.op(store.get(&SessionKey::of(&old))).await? {
        Some(prev) => prev.claims.iss == record.claims.iss && prev.claims.sub == record.claims.sub,
        None => true,
    })
}

/// Consumes the `state`, picks a fresh session id and stores `record` under it for
/// what the session policy grants. A stored session is a successful login: counted
/// ([`LOGINS_TOTAL`](crate::observe::LOGINS_TOTAL)) and audited.
///
/// The claims `enrichers` run after those checks, once per login (see
/// [`crate::enrich`]): what they add is stored with the session.
///
/// A `step_up` login upgrades the browser's session: it must return the same user
/// (`iss`, `sub`) as that session, or it is refused and the session kept. The
/// upgraded session gets a fresh id like any login (the old id and its record are
/// deleted), so an id seen before the step-up never carries the stronger login.
pub(crate) async fn establish_session(
    config: &OAuthConfiguration,
    store: &BoundedStore,
    headers: &HeaderMap,
    login_state: &str,
    mut record: SessionRecord,
    step_up: bool,
    enrichers: &Enrichers,
) -> Established {
    record.user_agent = user_agent_of(headers);
    match consume_state(store, login_state).await {
        Ok(true) => {}
        Ok(false) => return Established::Replayed,
        Err(e) => return Established::StoreFailed(e),
    }
    if step_up {
        match same_user_as_session(config, store, headers, &record).await {
            Ok(true) => {}
            Ok(false) => return Established::OtherUser,
            Err(e) => return Established::StoreFailed(e),
        }
    }
    let c = &config.inner;
    // The provider that verified this login's ID token; it is discovered by now. Were
    // it not, the login fails (503) rather than skip enrichment: the distributed
    // claims markers, which may hold a bearer token, must never be stored.
    let Some(provider) = c.providers.of_record(&record).and_then(|e| e.cell.get()) else {
        return Established::EnrichmentFailed(EnrichError::unavailable(
            "the session's provider is not discovered",
        ));
    };
    if let Err(e) = enrich_record(enrichers, &provider, &mut record, c.clock.now()).await {
        return Established::EnrichmentFailed(e);
    }
    let id = fresh_session_id(config, store, headers).await;
    let ttl = c.policy.remaining(&record, c.clock.now()).max(1);
    let record = Arc::new(record);
    match store
        .op(store.put(
            &SessionKey::of(&id),
            record.clone(),
            Duration::from_secs(ttl as u64),
        ))
        .await
    {
        Ok(()) => {
            observe::login("success");
            observe::audit::login(&record.claims.sub, &record.claims.iss, id.secret());
            Established::Session { id, ttl }
        }
        Err(e) => Established::StoreFailed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_bytes(value).unwrap(),
        );
        h
    }

    #[test]
    fn the_user_agent_is_kept_as_sent() {
        let ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";
        assert_eq!(user_agent_of(&headers(ua.as_bytes())).as_deref(), Some(ua));
    }

    #[test]
    fn a_missing_or_blank_user_agent_is_none() {
        assert_eq!(user_agent_of(&HeaderMap::new()), None);
        assert_eq!(user_agent_of(&headers(b"")), None);
        assert_eq!(user_agent_of(&headers(b"   ")), None);
    }

    #[test]
    fn a_long_user_agent_is_cut_to_its_byte_limit() {
        let long = "a".repeat(USER_AGENT_MAX * 4);
        let kept = user_agent_of(&headers(long.as_bytes())).unwrap();
        assert_eq!(kept, "a".repeat(USER_AGENT_MAX));
    }

    #[test]
    fn a_long_user_agent_is_cut_on_a_char_boundary() {
        // One byte short of the limit, then a two-byte character that would straddle it.
        let ua = format!("{}é tail", "a".repeat(USER_AGENT_MAX - 1));
        let kept = user_agent_of(&headers(ua.as_bytes())).unwrap();
        assert_eq!(kept, "a".repeat(USER_AGENT_MAX - 1));
        // Exactly at the limit, the character fits.
        let ua = format!("{}é tail", "a".repeat(USER_AGENT_MAX - 2));
        let kept = user_agent_of(&headers(ua.as_bytes())).unwrap();
        assert_eq!(kept.len(), USER_AGENT_MAX);
        assert!(kept.ends_with('é'));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced_not_refused() {
        let kept = user_agent_of(&headers(b"Agent/\xff1")).unwrap();
        assert_eq!(kept, "Agent/\u{fffd}1");
    }
}
