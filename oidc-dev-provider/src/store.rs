//! In-memory records of pending logins, provider sessions, authorization
//! codes, grants and tokens. Expired entries are purged lazily whenever the
//! store is locked.
//!
//! A *grant* ties together everything issued from one authorization code:
//! the access tokens and the refresh token chain. Revoking the grant (on code
//! reuse, RFC 6749 4.1.2; on refresh token reuse; on logout) invalidates all
//! of them at once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

/// An authorization request waiting for the user to sign in
/// (OIDC Core 3.1.2.1 parameters that matter later).
#[derive(Clone, Debug)]
pub(crate) struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// The RFC 7638 thumbprint the code is bound to (RFC 9449 section 10):
    /// `dpop_jkt`, or the key of the pushed request's DPoP proof.
    pub dpop_jkt: Option<String>,
    pub login_hint: Option<String>,
    /// Parameters the provider does not interpret, kept for display.
    pub extra: BTreeMap<String, String>,
    pub expires_at: SystemTime,
}

/// A provider (OP) session: one sign-in of one user, identified by `sid`
/// (OpenID Connect Back-Channel Logout 1.0 section 2.1).
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub sid: String,
    pub sub: String,
    /// Seconds since the epoch (OIDC Core 2, `auth_time`).
    pub auth_time: u64,
    /// The Authentication Context Class Reference of the sign-in (OIDC Core 2).
    pub acr: &'static str,
    /// Clients that received a code within this session; they are the ones
    /// notified on logout.
    pub clients: BTreeSet<String>,
}

/// A one-time authorization code (RFC 6749 4.1.2).
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub sid: String,
    pub sub: String,
    pub auth_time: u64,
    pub acr: &'static str,
    pub grant_id: String,
    pub expires_at: SystemTime,
    pub used: bool,
    /// The DPoP key the code is bound to (RFC 9449 section 10).
    pub dpop_jkt: Option<String>,
}

/// Everything the token endpoint needs to mint tokens for a grant.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub client_id: String,
    pub sub: String,
    pub sid: String,
    pub scope: String,
    pub auth_time: u64,
    pub acr: &'static str,
}

/// A refresh token; `rotated` ones are kept only to detect reuse.
#[derive(Clone, Debug)]
pub(crate) struct RefreshRecord {
    pub grant_id: String,
    pub expires_at: SystemTime,
    pub rotated: bool,
    /// The DPoP key a public client's refresh token is bound to
    /// (RFC 9449 section 5).
    pub jkt: Option<String>,
}

/// An issued access token, by `jti`.
#[derive(Clone, Debug)]
pub(crate) struct AccessRecord {
    pub grant_id: String,
    pub expires_at: SystemTime,
}

/// All mutable provider data, guarded by one mutex in the shared state.
#[derive(Default)]
pub(crate) struct Store {
    pub pending: HashMap<String, PendingAuthorization>,
    pub sessions: HashMap<String, Session>,
    pub codes: HashMap<String, AuthCode>,
    pub grants: HashMap<String, Grant>,
    pub refresh: HashMap<String, RefreshRecord>,
    pub access: HashMap<String, AccessRecord>,
    /// Pushed authorization requests by `request_uri` (RFC 9126).
    pub pushed: HashMap<String, PushedRequest>,
    /// `jti`s of DPoP proofs seen recently (RFC 9449 section 11.1).
    pub proof_jtis: crate::replay::ReplaySet,
    /// `jti`s of client assertions seen before they expire (RFC 7523
    /// section 3 point 7).
    pub assertion_jtis: crate::replay::ReplaySet,
}

impl Store {
    /// Drops expired entries and grants nothing refers to any more.
    pub fn purge(&mut self, now: SystemTime) {
        self.pending.retain(|_, p| p.expires_at > now);
        self.codes.retain(|_, c| c.expires_at > now);
        self.refresh.retain(|_, r| r.expires_at > now);
        self.access.retain(|_, a| a.expires_at > now);
        self.pushed.retain(|_, p| p.expires_at > now);
        self.proof_jtis.purge(now);
        self.assertion_jtis.purge(now);
        let live: HashSet<&String> = (self.codes.values().map(|c| &c.grant_id))
            .chain(self.refresh.values().map(|r| &r.grant_id))
            .chain(self.access.values().map(|a| &a.grant_id))
            .collect();
        self.grants.retain(|id, _| live.contains(id));
    }

    /// Revokes a grant: all its access and refresh tokens become invalid.
    /// Returns whether anything was revoked.
    pub fn revoke_grant(&mut self, grant_id: &str) -> bool {
        let before = self.refresh.len() + self.access.len();
        self.refresh.retain(|_, r| r.grant_id != grant_id);
        self.access.retain(|_, a| a.grant_id != grant_id);
        let existed = self.grants.remove(grant_id).is_some();
        existed || before != self.refresh.len() + self.access.len()
    }

    /// Ends a provider session and revokes the grants issued within it.
    pub fn end_session(&mut self, sid: &str) -> Option<Session> {
        let session = self.sessions.remove(sid)?;
        let grants: Vec<String> = (self.grants.iter())
            .filter(|(_, g)| g.sid == sid)
            .map(|(id, _)| id.clone())
            .collect();
        for id in grants {
            self.revoke_grant(&id);
        }
        // Codes not yet redeemed must not start a grant in a dead session.
        self.codes.retain(|_, c| c.sid != sid);
        Some(session)
    }

    /// The grant behind a live access token, if the token is still valid.
    pub fn access_grant(&self, jti: &str, now: SystemTime) -> Option<&Grant> {
        let record = self.access.get(jti).filter(|a| a.expires_at > now)?;
        self.grants.get(&record.grant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn grant(sid: &str) -> Grant {
        Grant {
            client_id: "c".into(),
            sub: "s".into(),
            sid: sid.into(),
            scope: "openid".into(),
            auth_time: 0,
            acr: crate::ACR_PASSWORD,
        }
    }

    #[test]
    fn revoking_a_grant_removes_its_tokens_only() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(60);
        let mut store = Store::default();
        store.grants.insert("g1".into(), grant("s1"));
        store.grants.insert("g2".into(), grant("s2"));
        for (jti, g) in [("a1", "g1"), ("a2", "g2")] {
            let record = AccessRecord {
                grant_id: g.into(),
                expires_at: later,
            };
            store.access.insert(jti.into(), record);
        }
        assert!(store.revoke_grant("g1"));
        assert!(store.access_grant("a1", now).is_none());
        assert!(store.access_grant("a2", now).is_some());
        assert!(!store.revoke_grant("g1"));
    }

    #[test]
    fn purge_drops_expired_tokens_and_orphaned_grants() {
        let now = SystemTime::now();
        let mut store = Store::default();
        store.grants.insert("g".into(), grant("s"));
        let record = AccessRecord {
            grant_id: "g".into(),
            expires_at: now,
        };
        store.access.insert("a".into(), record);
        store.purge(now);
        assert!(store.access.is_empty());
        assert!(store.grants.is_empty());
    }
}

/// A pushed request, kept until used once or expired.
#[derive(Clone, Debug)]
pub(crate) struct PushedRequest {
    pub client_id: String,
    pub params: crate::params::Params,
    pub expires_at: SystemTime,
}
