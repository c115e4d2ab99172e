//! The end of a login, once the code is redeemed: the `state` consumed for every
//! instance, a fresh session id, and the new session in the store.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use super::{REPLAY_TTL, replay_marker};
use crate::config::OAuthConfiguration;
use crate::observe;
use crate::secret::SessionId;
use crate::session::cookies::read_session_id;
use crate::session::{SessionKey, SessionRecord, new_session_id};
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

/// Consumes the `state`, picks a fresh session id and stores `record` under it for
/// what the session policy grants. A stored session is a successful login: counted
/// ([`LOGINS_TOTAL`](crate::observe::LOGINS_TOTAL)) and audited.
pub(crate) async fn establish_session(
    config: &OAuthConfiguration,
    store: &BoundedStore,
    headers: &HeaderMap,
    login_state: &str,
    record: SessionRecord,
) -> Established {
    match consume_state(store, login_state).await {
        Ok(true) => {}
        Ok(false) => return Established::Replayed,
        Err(e) => return Established::StoreFailed(e),
    }
    let id = fresh_session_id(config, store, headers).await;
    let c = &config.inner;
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
