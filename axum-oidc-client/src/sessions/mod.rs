//! A user's sessions: list them, end one, end them all ("sign out everywhere").
//!
//! A user is the pair `(iss, sub)`: a subject is unique only per issuer (OpenID
//! Connect Core 1.0 section 2), so sessions of the same `sub` at another issuer are
//! never listed or ended. The sessions come from the store
//! ([`AuthCache::sessions_of`](crate::store::AuthCache::sessions_of)), so every
//! instance sharing it sees the same list.
//!
//! Ending a session is the store's [`remove`](crate::store::AuthCache::remove), the
//! path a logout takes: with a [`TwoTierStore`](crate::store::TwoTierStore) and its
//! invalidation channel every instance drops its local copy at once. Each ended
//! session is audited as a local logout (with its one-way reference, never its id),
//! its tokens are revoked at the provider in the background when the layer revokes
//! on logout, and each call that ends sessions counts one
//! `axum_oidc_logouts_total{kind="local"}`.
//!
//! Two ways in:
//! - [`UserSessions`], an extractor for the signed-in user's own sessions;
//! - [`UserSessionsAdmin`], from [`AuthenticationLayer::user_sessions`], for admin
//!   tools acting on any user.
//!
//! A session written while "sign out everywhere" runs (a login that completes at
//! that moment) is not ended: the list is read once, then each session is removed.
//!
//! [`AuthenticationLayer::user_sessions`]: crate::AuthenticationLayer::user_sessions

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use sha2::Digest as _;

use crate::observe::{self, LogoutKind};
use crate::session::{SessionKey, SessionRecord};
use crate::state::AuthState;
use crate::store::StoreError;

mod extract;
pub use extract::{SameOrigin, SameOriginRejection, UserSessions};

/// One session of a user, as a "your sessions" page shows it.
///
/// Its [`id`](Self::id) names it to [`UserSessions::end`] and
/// [`UserSessionsAdmin::end`]; it is derived one way from the store key, which is
/// itself a digest of the session cookie, so showing it in a page hands out nothing
/// that signs anyone in.
///
/// ```
/// use axum_oidc_client::{SessionInfo, UserSessions};
///
/// fn row(s: &SessionInfo) -> String {
///     format!(
///         "{} since {} (last seen {}){}",
///         s.user_agent.as_deref().unwrap_or("unknown browser"),
///         s.created_at.format("%Y-%m-%d %H:%M"),
///         s.last_seen.format("%Y-%m-%d %H:%M"),
///         if s.current { " - this browser" } else { "" },
///     )
/// }
///
/// async fn page(sessions: UserSessions) -> Result<String, axum_oidc_client::AuthRejection> {
///     Ok(sessions.list().await?.iter().map(row).collect::<Vec<_>>().join("\n"))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// Opaque name of the session for [`UserSessions::end`]: 22 base64url characters,
    /// stable for the session's life, not its store key nor its cookie.
    pub id: String,
    /// When the user signed in.
    pub created_at: DateTime<Utc>,
    /// When the session was last seen, as last written: the layer writes it at most
    /// once per touch interval ([`SessionPolicy`](crate::SessionPolicy)), and at each
    /// refresh.
    pub last_seen: DateTime<Utc>,
    /// The browser's `User-Agent` at sign-in, if it sent one. Informative only: the
    /// browser chooses it.
    pub user_agent: Option<String>,
    /// Whether this is the session of the request that asked (always `false` from
    /// [`UserSessionsAdmin`]).
    pub current: bool,
}

/// Label of the session list id digest, so the id is not a digest used elsewhere.
const ID_LABEL: &[u8] = b"axum-oidc-client session list id v1\0";

/// The [`SessionInfo::id`] of the session stored under `key`: the first 16 bytes of
/// SHA-256(label || key), base64url.
pub(crate) fn list_id(key: &SessionKey) -> String {
    let mut h = sha2::Sha256::new();
    h.update(ID_LABEL);
    h.update(key.as_str().as_bytes());
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

fn time(unix: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The list as shown: the current session first, then the newest sign-in first
/// (then the latest seen, then by id, so the order is stable).
pub(crate) fn describe(
    sessions: &[(SessionKey, Arc<SessionRecord>)],
    current: Option<&SessionKey>,
) -> Vec<SessionInfo> {
    let mut list: Vec<SessionInfo> = sessions
        .iter()
        .map(|(key, record)| SessionInfo {
            id: list_id(key),
            created_at: time(record.created_at),
            last_seen: time(record.last_seen),
            user_agent: record.user_agent.clone(),
            current: current == Some(key),
        })
        .collect();
    list.sort_by(|a, b| {
        b.current
            .cmp(&a.current)
            .then(b.created_at.cmp(&a.created_at))
            .then(b.last_seen.cmp(&a.last_seen))
            .then(a.id.cmp(&b.id))
    });
    list
}

/// The session of `sessions` whose list id is `id` (compared in constant time).
fn find<'a>(
    sessions: &'a [(SessionKey, Arc<SessionRecord>)],
    id: &str,
) -> Option<&'a (SessionKey, Arc<SessionRecord>)> {
    sessions
        .iter()
        .find(|(key, _)| crate::secret::constant_time_eq(list_id(key).as_bytes(), id.as_bytes()))
}

/// The user's sessions from the store, under the store timeout.
async fn sessions_of(
    state: &AuthState,
    iss: &str,
    sub: &str,
) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
    state.store.op(state.store.sessions_of(iss, sub)).await
}

/// Ends `sessions` of the user `(iss, sub)` through the store's `remove`; returns
/// how many. Each is audited and its tokens revoked (best effort, in the
/// background); one logout is counted per call that ended any.
async fn end_sessions(
    state: &AuthState,
    iss: &str,
    sub: &str,
    sessions: &[(SessionKey, Arc<SessionRecord>)],
) -> Result<usize, StoreError> {
    let mut ended = 0;
    let mut outcome = Ok(());
    for (key, record) in sessions {
        if let Err(e) = state.store.op(state.store.remove(key)).await {
            outcome = Err(e);
            break;
        }
        ended += 1;
        observe::audit::logout_ref(
            LogoutKind::Local,
            sub,
            iss,
            &observe::audit::session_ref_of_key(key),
        );
        crate::logout::revoke_in_background(&state.config, record);
    }
    if ended > 0 {
        observe::logout(LogoutKind::Local);
    }
    outcome.map(|()| ended)
}

/// Lists the sessions of `(iss, sub)`, marking `current`.
pub(crate) async fn list(
    state: &AuthState,
    iss: &str,
    sub: &str,
    current: Option<&SessionKey>,
) -> Result<Vec<SessionInfo>, StoreError> {
    Ok(describe(&sessions_of(state, iss, sub).await?, current))
}

/// Ends the session `id` of `(iss, sub)`; returns its key if it was one of theirs.
pub(crate) async fn end(
    state: &AuthState,
    iss: &str,
    sub: &str,
    id: &str,
) -> Result<Option<SessionKey>, StoreError> {
    let sessions = sessions_of(state, iss, sub).await?;
    let Some(found) = find(&sessions, id) else {
        return Ok(None);
    };
    end_sessions(state, iss, sub, std::slice::from_ref(found)).await?;
    Ok(Some(found.0.clone()))
}

/// Ends every session of `(iss, sub)`; returns how many.
pub(crate) async fn end_all(state: &AuthState, iss: &str, sub: &str) -> Result<usize, StoreError> {
    let sessions = sessions_of(state, iss, sub).await?;
    end_sessions(state, iss, sub, &sessions).await
}

/// Any user's sessions, for admin tools: from
/// [`AuthenticationLayer::user_sessions`](crate::AuthenticationLayer::user_sessions).
///
/// Take it once the layer is configured (a later [`store`](crate::AuthenticationLayer::store)
/// or [`with_logout_handler`](crate::AuthenticationLayer::with_logout_handler) builds
/// a new layer; this handle keeps the one it came from). Cheap to clone. Store
/// failures are returned as they are, for the tool to report.
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::store::{AuthCache, MemoryStore, SessionKey};
/// use axum_oidc_client::AuthenticationLayer;
/// # fn config() -> axum_oidc_client::OAuthConfiguration {
/// #     axum_oidc_client::OAuthConfigurationBuilder::default()
/// #         .with_client_id("my-app")
/// #         .with_client_secret("s3cret")
/// #         .with_app_url("https://app.example")
/// #         .with_authorization_endpoint("https://op.example/authorize")
/// #         .with_token_endpoint("https://op.example/token")
/// #         .with_end_session_endpoint("https://op.example/logout")
/// #         .with_oauth2_only("https://op.example/user", "id")
/// #         .build()
/// #         .unwrap()
/// # }
/// # fn record(sub: &str) -> std::sync::Arc<axum_oidc_client::store::SessionRecord> {
/// #     std::sync::Arc::new(serde_json::from_value(serde_json::json!({"created_at": 1, "last_seen": 1,
/// #         "tokens": {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s", "scope": "openid", "expires_at": 100},
/// #         "claims": {"iss": "https://op.example", "sub": sub, "aud": "my-app", "exp": 2, "iat": 1}})).unwrap())
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
/// let store = MemoryStore::default();
/// let hour = Duration::from_secs(3600);
/// store.put(&SessionKey::from_stored("laptop"), record("alice"), hour).await?;
/// store.put(&SessionKey::from_stored("phone"), record("alice"), hour).await?;
/// let layer = AuthenticationLayer::new(config()).store(store.clone());
///
/// let admin = layer.user_sessions();
/// let sessions = admin.list("https://op.example", "alice").await?;
/// assert_eq!(sessions.len(), 2);
/// assert!(admin.end("https://op.example", "alice", &sessions[0].id).await?);
/// assert_eq!(admin.end_all("https://op.example", "alice").await?, 1);
/// assert_eq!(store.session_count().await, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct UserSessionsAdmin {
    state: Arc<AuthState>,
}

impl std::fmt::Debug for UserSessionsAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSessionsAdmin").finish_non_exhaustive()
    }
}

impl UserSessionsAdmin {
    pub(crate) fn new(state: Arc<AuthState>) -> Self {
        Self { state }
    }

    /// The live sessions of the user `(iss, sub)`, newest sign-in first.
    ///
    /// ```
    /// # async fn run(layer: axum_oidc_client::AuthenticationLayer) -> Result<(), axum_oidc_client::StoreError> {
    /// for s in layer.user_sessions().list("https://op.example", "alice").await? {
    ///     println!("{} {:?} since {}", s.id, s.user_agent, s.created_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, iss: &str, sub: &str) -> Result<Vec<SessionInfo>, StoreError> {
        list(&self.state, iss, sub, None).await
    }

    /// Ends the session `id` if it is one of `(iss, sub)`'s; `false` when it is not
    /// (another user's, already ended, or unknown).
    ///
    /// ```
    /// # async fn run(layer: axum_oidc_client::AuthenticationLayer, id: &str) -> Result<(), axum_oidc_client::StoreError> {
    /// let ended = layer.user_sessions().end("https://op.example", "alice", id).await?;
    /// println!("{}", if ended { "signed out" } else { "no such session" });
    /// # Ok(()) }
    /// ```
    pub async fn end(&self, iss: &str, sub: &str, id: &str) -> Result<bool, StoreError> {
        Ok(end(&self.state, iss, sub, id).await?.is_some())
    }

    /// Ends every session of `(iss, sub)` on every instance; returns how many.
    ///
    /// ```
    /// # async fn run(layer: axum_oidc_client::AuthenticationLayer) -> Result<(), axum_oidc_client::StoreError> {
    /// let n = layer.user_sessions().end_all("https://op.example", "alice").await?;
    /// println!("ended {n} sessions");
    /// # Ok(()) }
    /// ```
    pub async fn end_all(&self, iss: &str, sub: &str) -> Result<usize, StoreError> {
        end_all(&self.state, iss, sub).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::record;

    fn session(key: &str, created_at: i64, last_seen: i64) -> (SessionKey, Arc<SessionRecord>) {
        let mut r = record("alice", None);
        r.created_at = created_at;
        r.last_seen = last_seen;
        (SessionKey::from_stored(key), Arc::new(r))
    }

    #[test]
    fn a_list_id_is_short_stable_and_not_the_store_key() {
        let key = SessionKey::of(&crate::session::new_session_id());
        let id = list_id(&key);
        assert_eq!(id.len(), 22);
        assert_eq!(id, list_id(&key));
        assert!(!key.as_str().contains(&id) && !id.contains(key.as_str()));
        assert_ne!(
            id,
            list_id(&SessionKey::of(&crate::session::new_session_id()))
        );
        // Nor the audit log's reference of the same session.
        assert!(!id.contains(&observe::audit::session_ref_of_key(&key)));
    }

    #[test]
    fn the_current_session_comes_first_then_the_newest_sign_in() {
        let sessions = [
            session("old", 10, 90),
            session("current", 20, 20),
            session("new", 30, 30),
            session("new-seen-later", 30, 40),
        ];
        let current = SessionKey::from_stored("current");
        let list = describe(&sessions, Some(&current));
        let order: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        let id = |k: &str| list_id(&SessionKey::from_stored(k));
        assert_eq!(
            order,
            [id("current"), id("new-seen-later"), id("new"), id("old")]
        );
        assert!(list[0].current);
        assert_eq!(list.iter().filter(|s| s.current).count(), 1);
        assert_eq!(list[3].created_at.timestamp(), 10);
        assert_eq!(list[3].last_seen.timestamp(), 90);
    }

    #[test]
    fn without_a_current_session_none_is_marked_current() {
        let list = describe(&[session("a", 1, 1), session("b", 2, 2)], None);
        assert!(list.iter().all(|s| !s.current));
        assert_eq!(list[0].id, list_id(&SessionKey::from_stored("b")));
    }

    #[test]
    fn only_an_exact_id_finds_a_session() {
        let sessions = [session("a", 1, 1), session("b", 2, 2)];
        let id = list_id(&SessionKey::from_stored("b"));
        assert_eq!(find(&sessions, &id).unwrap().0.as_str(), "b");
        assert!(find(&sessions, &id[..21]).is_none());
        assert!(find(&sessions, "").is_none());
        // The store key itself is not an id.
        assert!(find(&sessions, "b").is_none());
    }
}
