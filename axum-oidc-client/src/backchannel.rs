//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): validation of the
//! logout token (section 2.6) as a pure function, and what it asks to end.

use std::time::Duration;

use serde::Deserialize;

use crate::issuer::{IssuerExpectation, issuer_matches};
use crate::jose::time::{TimeError, TimeRules};
use crate::jose::{
    Audience, JoseError, JwksCache, SignatureError, SigningAlgorithm, UnverifiedJws,
    from_json_object,
};

/// The event a logout token must carry (section 2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Oldest `iat` accepted, beyond the leeway.
pub const MAX_TOKEN_AGE: Duration = Duration::from_secs(300);

/// Why a logout token was rejected. Every variant answers 400 except [`Self::Keys`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutTokenError {
    /// Bad JWS: signature, `alg` (including `none`), `kid`, `crit`, or `typ`.
    #[error("logout token signature rejected: {0}")]
    Jose(#[from] JoseError),
    /// Keys unavailable (a provider fault).
    #[error("signing keys unavailable")]
    Keys,
    /// Claims malformed or missing (`iss`, `aud`, `iat`, `jti`), or `exp` not a number.
    #[error("malformed logout token claims")]
    MalformedClaims,
    /// `iss` is not the issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the client id.
    #[error("wrong audience")]
    WrongAudience,
    /// `iat` in the future or too old.
    #[error("bad iat")]
    BadIat,
    /// `exp` is missing: Back-Channel Logout 1.0 section 2.4 makes it REQUIRED.
    #[error("missing exp")]
    MissingExp,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `events` lacks the back-channel logout event (or it is not an object).
    #[error("missing back-channel logout event")]
    MissingEvent,
    /// A `nonce` is present (section 2.4 forbids it; this catches ID tokens).
    #[error("nonce present")]
    NoncePresent,
    /// Neither `sid` nor `sub`.
    #[error("neither sid nor sub")]
    NoSubject,
    /// This `jti` was already used.
    #[error("replayed jti")]
    Replayed,
}

#[derive(Debug, Deserialize)]
struct LogoutClaims {
    iss: String,
    aud: Audience,
    iat: i64,
    /// REQUIRED (section 2.4); `None` only so that its absence has its own error.
    #[serde(default)]
    exp: Option<i64>,
    jti: String,
    #[serde(default)]
    events: Option<serde_json::Map<String, serde_json::Value>>,
    /// Present even when `null`: section 2.4 forbids the member, whatever its value.
    #[serde(default, deserialize_with = "present")]
    nonce: Option<serde_json::Value>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    /// The tenant, for a provider configured with an issuer template.
    #[serde(default)]
    tid: Option<serde_json::Value>,
}

/// Marks a member as present whatever its value, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// What a valid logout token asks to end (sections 2.4 and 2.7).
///
/// - `sid` only: every session of that provider session.
/// - `sub` only: every session of that subject (section 2.4: "all sessions at the RP
///   for the End-User").
/// - both: the sessions of that `sid`, and the subject's sessions that recorded no
///   `sid` at all (many providers leave `sid` out of ID tokens, so such a session may
///   well belong to the provider session being ended). The subject's sessions with
///   another `sid` stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutTarget {
    /// Every session of this provider session.
    Sid(String),
    /// Every session of this subject.
    Sub(String),
    /// The sessions of `sid`, and those of `sub` without a recorded `sid`.
    SidAndSub {
        /// The provider session.
        sid: String,
        /// The subject.
        sub: String,
    },
}

/// A validated logout token.
#[derive(Debug, Clone)]
pub struct ValidLogoutToken {
    /// `iss`, the issuer it was checked against.
    pub iss: String,
    /// Sessions to end.
    pub target: LogoutTarget,
    /// `jti`, to record against replay.
    pub jti: String,
}

/// Applies the claim checks of section 2.6 steps 3-7 (the signature is step 2).
/// `issuer` is the provider's issuer, or its multi-tenant template (step 3 "as for ID
/// tokens": `iss` is the template filled with the token's own `tid`, see
/// `OAuthConfigurationBuilder::with_issuer_template`).
pub fn validate_logout_claims<'a>(
    payload: &[u8],
    issuer: impl Into<IssuerExpectation<'a>>,
    client_id: &str,
    leeway: Duration,
    now: i64,
) -> Result<ValidLogoutToken, LogoutTokenError> {
    let c: LogoutClaims = from_json_object(payload).ok_or(LogoutTokenError::MalformedClaims)?;
    let tid = c.tid.as_ref().and_then(serde_json::Value::as_str);
    issuer_matches(issuer.into(), &c.iss, tid).map_err(|_| LogoutTokenError::WrongIssuer)?;
    if !c.aud.contains(client_id) {
        return Err(LogoutTokenError::WrongAudience);
    }
    let time = TimeRules::new(now, leeway);
    time.check_iat(c.iat, Some(MAX_TOKEN_AGE))
        .map_err(|_| LogoutTokenError::BadIat)?;
    // Section 2.4: `exp` is REQUIRED; section 2.6 step 3 validates it as for ID
    // tokens (OIDC Core 3.1.3.7 step 9).
    let exp = c.exp.ok_or(LogoutTokenError::MissingExp)?;
    time.check_exp(exp).map_err(|e: TimeError| match e {
        TimeError::Expired => LogoutTokenError::Expired,
        _ => LogoutTokenError::MalformedClaims,
    })?;
    let has_event = c
        .events
        .as_ref()
        .and_then(|e| e.get(BACKCHANNEL_LOGOUT_EVENT))
        .is_some_and(|v| v.is_object());
    if !has_event {
        return Err(LogoutTokenError::MissingEvent);
    }
    if c.nonce.is_some() {
        return Err(LogoutTokenError::NoncePresent);
    }
    if c.jti.is_empty() {
        return Err(LogoutTokenError::MalformedClaims);
    }
    let target = match (
        c.sid.filter(|s| !s.is_empty()),
        c.sub.filter(|s| !s.is_empty()),
    ) {
        (Some(sid), Some(sub)) => LogoutTarget::SidAndSub { sid, sub },
        (Some(sid), None) => LogoutTarget::Sid(sid),
        (None, Some(sub)) => LogoutTarget::Sub(sub),
        (None, None) => return Err(LogoutTokenError::NoSubject),
    };
    Ok(ValidLogoutToken {
        iss: c.iss,
        target,
        jti: c.jti,
    })
}

/// Verifies a logout token: JWS with the provider's keys (same algorithms as ID tokens,
/// never `none`), explicit `typ` when present, then the claims.
pub async fn verify_logout_token<'a>(
    token: &str,
    keys: &JwksCache,
    allowed: &[SigningAlgorithm],
    issuer: impl Into<IssuerExpectation<'a>>,
    client_id: &str,
    leeway: Duration,
    now: i64,
) -> Result<ValidLogoutToken, LogoutTokenError> {
    let jws = UnverifiedJws::parse(token, allowed)?;
    // Section 2.4: the OP should type the token `logout+jwt`; a token typed as
    // something else (an access token, say) is refused.
    if let Some(typ) = jws.header.typ.as_deref()
        && !typ.eq_ignore_ascii_case("JWT")
    {
        jws.require_typ("logout+jwt")?;
    }
    keys.verify(&jws).await.map_err(|e| match e {
        SignatureError::Jose(j) => LogoutTokenError::Jose(j),
        SignatureError::Keys(_) => LogoutTokenError::Keys,
    })?;
    validate_logout_claims(jws.payload(), issuer, client_id, leeway, now)
}

/// The `iss` of a logout token, read without any check, only to choose which of
/// several providers verifies it (with that provider's keys, issuer and client id).
/// `None` when the token is not a JWS with a string `iss`.
pub fn peek_issuer(token: &str, allowed: &[SigningAlgorithm]) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let jws = UnverifiedJws::parse(token, allowed).ok()?;
    serde_json::from_slice::<Iss>(jws.payload())
        .ok()
        .map(|c| c.iss)
}

/// What ending the sessions of a valid logout token came to.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The sessions are ended (this many); the `jti` is remembered.
    Sessions(usize),
    /// The `jti` was seen before (section 2.6 step 10 of the validation rules: a
    /// replay); nothing was ended.
    Replayed,
    /// The store failed; nothing is remembered, so the provider's retry is not taken
    /// for a replay.
    StoreFailed(crate::store::StoreError),
}

/// How long a logout token's `jti` is claimed while its sessions are ended. When the
/// store fails and the claim cannot even be released, a retry succeeds after this.
const JTI_CLAIM: Duration = Duration::from_secs(30);

/// How long a logout-token `jti` is remembered: longer than any token stays acceptable
/// (`iat` at most [`MAX_TOKEN_AGE`] old, plus the leeway on both sides), so a replay
/// is always caught.
fn jti_ttl(leeway: Duration) -> Duration {
    MAX_TOKEN_AGE + leeway * 2 + Duration::from_secs(60)
}

/// Counts ([`LOGOUTS_TOTAL`](crate::observe::LOGOUTS_TOTAL), when sessions were
/// ended) and audits an applied logout token.
fn record_backchannel_logout(valid: &ValidLogoutToken, sessions: usize) {
    if sessions > 0 {
        crate::observe::logout(crate::observe::LogoutKind::Backchannel);
    }
    let (sub, sid) = match &valid.target {
        LogoutTarget::Sid(_) => (None, true),
        LogoutTarget::Sub(sub) => (Some(sub.as_str()), false),
        LogoutTarget::SidAndSub { sub, .. } => (Some(sub.as_str()), true),
    };
    crate::observe::audit::backchannel_logout(&valid.iss, sub, sid, sessions as u64);
}

/// Ends the sessions a valid logout token names (section 2.7), once per `jti`
/// (section 2.6: a `jti` seen before is a replay).
///
/// The `jti` is claimed as a short lease while the sessions are ended, released when
/// that fails, and kept for the whole acceptance window only once they are ended: a
/// logout that failed in the store leaves no marker behind.
///
/// `by_issuer` (several providers are configured) keys the sessions of a `sub` by
/// `(iss, sub)`: they are listed with the store's `sessions_of` and removed one by
/// one, so that a token from one provider never ends a session of another for the
/// same `sub` (a subject is unique per issuer only, OIDC Core 2); the `jti` marker is
/// kept per issuer too. Without it (one provider) the store's indexes by `sid` and
/// `sub` are used as they are.
pub(crate) async fn end_sessions(
    store: &crate::store::BoundedStore,
    valid: &ValidLogoutToken,
    leeway: Duration,
    by_issuer: bool,
) -> Ended {
    let marker = if by_issuer {
        format!("jti:{}:{}", valid.iss, valid.jti)
    } else {
        format!("jti:{}", valid.jti)
    };
    let owner = crate::secret::random_token(16);
    match store.op(store.try_lock(&marker, &owner, JTI_CLAIM)).await {
        Ok(true) => {}
        Ok(false) => return Ended::Replayed,
        Err(e) => return Ended::StoreFailed(e),
    }
    let ended = match &valid.target {
        LogoutTarget::Sub(sub) if by_issuer => {
            remove_of_issuer(store, &valid.iss, sub, |_| true).await
        }
        LogoutTarget::SidAndSub { sid, sub } if by_issuer => {
            remove_of_issuer(store, &valid.iss, sub, |r| {
                r.sid().is_none_or(|s| s == sid.as_str())
            })
            .await
        }
        // A `sid` is unique per provider only: with several providers the stores
        // index it with its issuer (`SessionRecord::logout_sid`).
        LogoutTarget::Sid(sid) if by_issuer => {
            let scoped = crate::session::scoped_sid(&valid.iss, sid);
            store.op(store.remove_by_sid(&scoped)).await
        }
        LogoutTarget::Sid(sid) => store.op(store.remove_by_sid(sid)).await,
        LogoutTarget::Sub(sub) => store.op(store.remove_by_sub(sub)).await,
        LogoutTarget::SidAndSub { sid, sub } => match store.op(store.remove_by_sid(sid)).await {
            Ok(by_sid) => store
                .op(store.remove_by_sub_without_sid(sub))
                .await
                .map(|without_sid| by_sid + without_sid),
            Err(e) => Err(e),
        },
    };
    match ended {
        Ok(n) => {
            record_backchannel_logout(valid, n);
            if let Err(e) = store
                .op(store.try_lock(&marker, &owner, jti_ttl(leeway)))
                .await
            {
                // The logout happened; only the replay marker is shorter than usual.
                tracing::warn!(error = %e, "could not extend the logout token's replay marker");
            }
            Ended::Sessions(n)
        }
        Err(e) => {
            if let Err(e) = store.op(store.unlock(&marker, &owner)).await {
                tracing::debug!(error = %e, "could not release the logout token's claim; it expires by itself");
            }
            Ended::StoreFailed(e)
        }
    }
}

/// Removes the sessions of the user `(iss, sub)` that `which` selects; how many.
async fn remove_of_issuer(
    store: &crate::store::BoundedStore,
    iss: &str,
    sub: &str,
    which: impl Fn(&crate::session::SessionRecord) -> bool,
) -> Result<usize, crate::store::StoreError> {
    let sessions = store.op(store.sessions_of(iss, sub)).await?;
    let mut n = 0;
    // Checked again here: a store of the application's own may list loosely.
    let theirs = |r: &crate::session::SessionRecord| r.claims.iss == iss && r.claims.sub == sub;
    for (key, _) in sessions.iter().filter(|(_, r)| theirs(r) && which(r)) {
        store.op(store.remove(key)).await?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
#[path = "backchannel_tests.rs"]
mod tests;
