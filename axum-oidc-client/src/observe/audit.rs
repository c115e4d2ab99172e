//! Audit events: `tracing` events under the one target [`TARGET`], at INFO for what
//! happened as asked and at WARN for what failed. They carry the subject and the
//! issuer, and of a session only a short hash of its id ([`session_ref`]); never a
//! token, a code, a secret or a cookie.

use sha2::Digest as _;

/// The target of every audit event; filter on it (`RUST_LOG=axum_oidc_client::audit=info`)
/// or route it to its own sink.
pub const TARGET: &str = "axum_oidc_client::audit";

/// A short, one-way reference to a session id for logs: the first 8 bytes of its
/// SHA-256, hex. It tells two sessions apart in the logs, and cannot be turned back
/// into the id (which is 256 random bits).
pub(crate) fn session_ref(session_id: &str) -> String {
    let h = sha2::Sha256::digest(session_id.as_bytes());
    hex8(&h)
}

/// The [`session_ref`] of the session stored under `key`: the key is the SHA-256 of
/// the session id, so the reference is the same as at login without the id.
pub(crate) fn session_ref_of_key(key: &crate::session::SessionKey) -> String {
    use base64::Engine as _;
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key.as_str()) {
        Ok(digest) if digest.len() >= 8 => hex8(&digest),
        // Not a key this crate made: a reference of its own, still one-way.
        _ => session_ref(key.as_str()),
    }
}

fn hex8(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A user signed in and a session was created.
pub(crate) fn login(sub: &str, iss: &str, session_id: &str) {
    tracing::info!(target: TARGET, event = "login", sub, iss, session = %session_ref(session_id), "user signed in");
}

/// A session was ended by the user (`kind` is `local` or `rp_initiated`).
pub(crate) fn logout(kind: super::LogoutKind, sub: &str, iss: &str, session_id: &str) {
    logout_ref(kind, sub, iss, &session_ref(session_id));
}

/// [`logout`] with the session's reference already taken (`"unknown"` when the id
/// was not at hand).
pub(crate) fn logout_ref(kind: super::LogoutKind, sub: &str, iss: &str, session: &str) {
    tracing::info!(target: TARGET, event = "logout", kind = kind.label(), sub, iss, session = %session, "user signed out");
}

/// A refresh failed and the session can no longer be renewed.
#[allow(dead_code)] // The refresh has the session's key, not its id: `refresh_failed_ref`.
pub(crate) fn refresh_failed(reason: &'static str, sub: &str, iss: &str, session_id: &str) {
    refresh_failed_ref(reason, sub, iss, &session_ref(session_id));
}

/// [`refresh_failed`] with the session's reference already taken
/// ([`session_ref_of_key`]).
pub(crate) fn refresh_failed_ref(reason: &'static str, sub: &str, iss: &str, session: &str) {
    tracing::warn!(target: TARGET, event = "refresh_failed", reason, sub, iss, session = %session, "session refresh failed");
}

/// The provider ended sessions through a back-channel logout token.
pub(crate) fn backchannel_logout(iss: &str, sub: Option<&str>, sid_present: bool, sessions: u64) {
    tracing::info!(target: TARGET, event = "backchannel_logout", iss, sub = sub.unwrap_or(""), sid = sid_present, sessions, "provider ended sessions");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_reference_is_short_stable_and_not_the_id() {
        let id = "k2m9ZkqkB1k4m2pP0gT6nY5w3r8xV7uQ1sJ0hL4cE9a";
        let r = session_ref(id);
        assert_eq!(r.len(), 16);
        assert_eq!(r, session_ref(id));
        assert_ne!(r, session_ref("another"));
        assert!(!id.contains(&r));
    }

    #[test]
    fn the_reference_from_a_session_key_is_the_reference_from_its_id() {
        let id = crate::session::new_session_id();
        let key = crate::session::SessionKey::of(&id);
        assert_eq!(session_ref_of_key(&key), session_ref(id.secret()));
        assert!(!key.as_str().contains(&session_ref_of_key(&key)));
    }
}
