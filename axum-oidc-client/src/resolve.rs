//! Per-request session resolution: cookie → store → timeouts → refresh.
//!
//! Runs lazily, the first time an extractor asks, and at most once per request. A
//! request without a valid signed cookie never reaches the store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use crate::refresh::{RefreshError, refresh_session};
use crate::session::cookies::{SessionCookie, read_session_cookie, session_cookie};
use crate::session::{SessionKey, SessionRecord};
use crate::state::AuthState;

/// The outcome of resolving a request's session.
#[derive(Clone, Debug)]
pub(crate) enum Resolution {
    /// A live session with an access token valid for at least the margin (or, while
    /// the provider is down, still valid).
    Session(Arc<SessionRecord>),
    /// No session.
    Anonymous,
    /// The store or the provider failed: answer 503, keep the cookie.
    Unavailable,
}

/// Put in request extensions by the layer; resolved on first use.
#[derive(Clone)]
pub(crate) struct SessionSlot(pub(crate) Arc<SlotInner>);

pub(crate) struct SlotInner {
    pub state: Arc<AuthState>,
    resolved: tokio::sync::OnceCell<Resolution>,
    /// A `Set-Cookie` the layer appends to the response.
    pub set_cookie: Mutex<Option<HeaderValue>>,
}

impl SessionSlot {
    pub fn new(state: Arc<AuthState>) -> Self {
        Self(Arc::new(SlotInner {
            state,
            resolved: tokio::sync::OnceCell::new(),
            set_cookie: Mutex::new(None),
        }))
    }

    pub async fn resolve(&self, headers: &HeaderMap) -> Resolution {
        self.0
            .resolved
            .get_or_init(|| resolve(&self.0, headers))
            .await
            .clone()
    }

    /// Deletes the session cookie in the response (the session was ended).
    pub fn remove_session_cookie(&self) {
        remove_session_cookie(&self.0);
    }

    pub fn take_set_cookie(&self) -> Option<HeaderValue> {
        self.0
            .set_cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

fn set_cookie(slot: &SlotInner, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        set_header(slot, v);
    }
}

fn set_header(slot: &SlotInner, value: HeaderValue) {
    *slot.set_cookie.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
}

/// Deletes the session cookie in the response.
fn remove_session_cookie(slot: &SlotInner) {
    if let Some(v) = &slot.state.session_removal {
        set_header(slot, v.clone());
    }
}

async fn resolve(slot: &SlotInner, headers: &HeaderMap) -> Resolution {
    let state = &slot.state;
    let c = &state.config.inner;
    let id = match read_session_cookie(&c.cookie_key, &c.cookies, headers) {
        SessionCookie::Valid(id) => id,
        SessionCookie::Invalid => {
            remove_session_cookie(slot);
            return Resolution::Anonymous;
        }
        SessionCookie::Absent => return Resolution::Anonymous,
    };
    let key = SessionKey::of(&id);
    let ended = |slot: &SlotInner| {
        remove_session_cookie(slot);
        Resolution::Anonymous
    };
    let mut record = match state.store.op(state.store.get(&key)).await {
        Ok(Some(r)) => r,
        Ok(None) => return ended(slot),
        Err(e) => {
            tracing::warn!(
                reason = "store_unavailable",
                error = crate::observe::error_chain(&e),
                "session store failed while reading a session; answering 503"
            );
            return Resolution::Unavailable;
        }
    };
    let now = c.clock.now();
    let left = c.policy.remaining(&record, now);
    if left <= 0 {
        tracing::debug!("session reached its idle or absolute timeout");
        if let Err(e) = state.store.op(state.store.remove(&key)).await {
            tracing::warn!(
                reason = "store_unavailable",
                error = crate::observe::error_chain(&e),
                "could not delete a timed-out session; it expires in the store by itself"
            );
        }
        return ended(slot);
    }
    let ttl = Duration::from_secs(left as u64);
    let mut renew_cookie = false;

    if !c.policy.is_fresh(&record, now) {
        if record.tokens.refresh_token.is_none() {
            // Without a refresh token the session lasts as long as its access token.
            if record.tokens.expires_at > now {
                return Resolution::Session(record);
            }
            let _ = state.store.op(state.store.remove(&key)).await;
            return ended(slot);
        }
        match refresh_session(&state.refresher(), &key, ttl).await {
            Ok(fresh) => {
                // The refresh wrote `last_seen`: the cookie must follow, or an active
                // user whose access tokens are shorter than the touch interval keeps
                // the cookie of the login and is signed out one idle timeout later.
                renew_cookie = true;
                record = fresh;
            }
            Err(RefreshError::Ended) => return ended(slot),
            Err(RefreshError::Provider(e)) => {
                tracing::debug!(error = %e, "refresh failed at the provider");
                if record.tokens.expires_at > now {
                    return Resolution::Session(record);
                }
                return Resolution::Unavailable;
            }
            Err(RefreshError::Store(e)) => {
                tracing::debug!(error = %e, "session store failed during refresh");
                return Resolution::Unavailable;
            }
        }
    }

    if now - record.last_seen >= c.policy.touch_interval() {
        let mut touched = (*record).clone();
        touched.last_seen = now;
        let touched = Arc::new(touched);
        let left = c.policy.remaining(&touched, now).max(1);
        // Over the version read only: a logout that ended the session since is kept.
        match state
            .store
            .op(state.store.replace(
                &key,
                &record,
                touched.clone(),
                Duration::from_secs(left as u64),
            ))
            .await
        {
            Ok(true) => {
                renew_cookie = true;
                record = touched;
            }
            Ok(false) => {
                tracing::debug!("the session changed or ended since it was read; not renewed")
            }
            Err(e) => {
                tracing::debug!(error = %e, "could not renew the session; serving it unchanged")
            }
        }
    }
    if renew_cookie {
        // Whenever `last_seen` is written, the cookie's lifetime follows it.
        let left = c.policy.remaining(&record, now).max(1);
        set_cookie(slot, session_cookie(&c.cookie_key, &c.cookies, &id, left));
    }
    Resolution::Session(record)
}
