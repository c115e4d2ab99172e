//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): validation of the
//! logout token (section 2.6) as a pure function, and what it asks to end.

use std::time::Duration;

use serde::Deserialize;

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
pub fn validate_logout_claims(
    payload: &[u8],
    issuer: &str,
    client_id: &str,
    leeway: Duration,
    now: i64,
) -> Result<ValidLogoutToken, LogoutTokenError> {
    let c: LogoutClaims = from_json_object(payload).ok_or(LogoutTokenError::MalformedClaims)?;
    if c.iss != issuer {
        return Err(LogoutTokenError::WrongIssuer);
    }
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
pub async fn verify_logout_token(
    token: &str,
    keys: &JwksCache,
    allowed: &[SigningAlgorithm],
    issuer: &str,
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
        // A `sid` is the provider's own session id, random and never shown to
        // another provider; the store indexes it alone.
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
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "iss": "https://op", "aud": "c", "iat": NOW, "exp": NOW + 120, "jti": "j1",
            "sid": "s1", "sub": "alice", "events": { BACKCHANNEL_LOGOUT_EVENT: {} }
        })
    }

    fn check(v: serde_json::Value) -> Result<ValidLogoutToken, LogoutTokenError> {
        validate_logout_claims(
            &serde_json::to_vec(&v).unwrap(),
            "https://op",
            "c",
            Duration::from_secs(30),
            NOW,
        )
    }

    #[test]
    fn a_null_nonce_is_still_a_nonce() {
        let mut c = claims();
        c["nonce"] = serde_json::Value::Null;
        assert!(matches!(check(c), Err(LogoutTokenError::NoncePresent)));
    }

    #[test]
    fn an_exp_near_the_end_of_time_does_not_overflow() {
        let mut c = claims();
        c["exp"] = (i64::MAX - 1).into();
        assert!(check(c).is_ok());
    }

    #[test]
    fn claims_that_are_an_array_are_malformed() {
        let c = claims();
        let as_array = serde_json::json!([
            c["iss"],
            c["aud"],
            c["iat"],
            c["exp"],
            c["jti"],
            c["events"],
            null,
            c["sid"],
            c["sub"]
        ]);
        assert!(matches!(
            check(as_array),
            Err(LogoutTokenError::MalformedClaims)
        ));
    }

    #[test]
    fn claims_that_are_not_utf8_are_malformed() {
        let mut payload = serde_json::to_vec(&claims()).unwrap();
        // An extra member nobody reads, whose string is not UTF-8.
        payload.pop();
        payload.extend_from_slice(b",\"x\":\"\xff\"}");
        let check =
            |p: &[u8]| validate_logout_claims(p, "https://op", "c", Duration::from_secs(30), NOW);
        assert!(matches!(
            check(&payload),
            Err(LogoutTokenError::MalformedClaims)
        ));
        let last = payload.len() - 3;
        payload[last] = b'y';
        assert!(check(&payload).is_ok(), "the same claims in UTF-8 pass");
    }

    #[test]
    fn a_token_with_sid_and_sub_targets_both_and_one_claim_targets_that_one() {
        assert_eq!(
            check(claims()).unwrap().target,
            LogoutTarget::SidAndSub {
                sid: "s1".into(),
                sub: "alice".into()
            }
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("sid");
        assert_eq!(check(c).unwrap().target, LogoutTarget::Sub("alice".into()));
        let mut c = claims();
        c.as_object_mut().unwrap().remove("sub");
        assert_eq!(check(c).unwrap().target, LogoutTarget::Sid("s1".into()));
    }

    #[test]
    fn rejects_logout_token_without_exp() {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        let r = check(c);
        assert!(matches!(r, Err(LogoutTokenError::MissingExp)), "{r:?}");
    }

    type Mutation = Box<dyn Fn(&mut serde_json::Value)>;

    #[test]
    fn rejects_each_invalid_variant() {
        let cases: Vec<(&str, Mutation)> = vec![
            ("wrong iss", Box::new(|c| c["iss"] = "https://evil".into())),
            ("wrong aud", Box::new(|c| c["aud"] = "other".into())),
            ("future iat", Box::new(|c| c["iat"] = (NOW + 3600).into())),
            ("old iat", Box::new(|c| c["iat"] = (NOW - 3600).into())),
            ("expired", Box::new(|c| c["exp"] = (NOW - 3600).into())),
            (
                "no events",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("events");
                }),
            ),
            (
                "wrong event",
                Box::new(|c| c["events"] = serde_json::json!({"http://example/other": {}})),
            ),
            (
                "event not object",
                Box::new(|c| c["events"] = serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: "x" })),
            ),
            ("nonce", Box::new(|c| c["nonce"] = "n".into())),
            (
                "no sid no sub",
                Box::new(|c| {
                    let o = c.as_object_mut().unwrap();
                    o.remove("sid");
                    o.remove("sub");
                }),
            ),
            (
                "no jti",
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("jti");
                }),
            ),
        ];
        for (name, mutate) in cases {
            let mut c = claims();
            mutate(&mut c);
            assert!(check(c).is_err(), "{name} must be rejected");
        }
        let mut c = claims();
        c["nonce"] = "n".into();
        assert!(matches!(check(c), Err(LogoutTokenError::NoncePresent)));
    }

    /// Alice at two issuers, with and without `sid`; what a token from the first
    /// issuer leaves behind.
    async fn left_after(target: LogoutTarget, by_issuer: bool) -> Vec<(String, Option<String>)> {
        use crate::store::AuthCache as _;
        let memory = std::sync::Arc::new(crate::store::MemoryStore::default());
        let store = crate::store::BoundedStore::new(memory.clone(), Duration::from_secs(2));
        let hour = Duration::from_secs(3600);
        let at = |iss: &str, sid: Option<&str>| {
            let mut r = crate::session::tests::record("alice", sid);
            std::sync::Arc::make_mut(&mut r.claims).iss = iss.into();
            std::sync::Arc::new(r)
        };
        for (key, iss, sid) in [
            ("a1", "https://a.example", Some("sa")),
            ("a2", "https://a.example", None),
            ("b1", "https://b.example", Some("sb")),
            ("b2", "https://b.example", None),
        ] {
            let key = crate::session::SessionKey::from_stored(key);
            memory.put(&key, at(iss, sid), hour).await.unwrap();
        }
        let valid = ValidLogoutToken {
            iss: "https://a.example".into(),
            target,
            jti: format!("jti-{by_issuer}"),
        };
        assert!(matches!(
            end_sessions(&store, &valid, Duration::ZERO, by_issuer).await,
            Ended::Sessions(_)
        ));
        let mut left = Vec::new();
        for iss in ["https://a.example", "https://b.example"] {
            for (_, r) in memory.sessions_of(iss, "alice").await.unwrap() {
                left.push((r.claims.iss.clone(), r.sid().map(str::to_owned)));
            }
        }
        left.sort();
        left
    }

    #[tokio::test]
    async fn with_several_providers_a_logout_by_sub_ends_only_the_sessions_of_its_issuer() {
        let b = |sid: Option<&str>| ("https://b.example".to_owned(), sid.map(str::to_owned));
        let a = |sid: Option<&str>| ("https://a.example".to_owned(), sid.map(str::to_owned));
        assert_eq!(
            left_after(LogoutTarget::Sub("alice".into()), true).await,
            [b(None), b(Some("sb"))]
        );
        let both = LogoutTarget::SidAndSub {
            sid: "sa".into(),
            sub: "alice".into(),
        };
        assert_eq!(left_after(both, true).await, [b(None), b(Some("sb"))]);
        // With `sid` and `sub`, the subject's sessions with another `sid` stay.
        let other_sid = LogoutTarget::SidAndSub {
            sid: "other".into(),
            sub: "alice".into(),
        };
        assert_eq!(
            left_after(other_sid, true).await,
            [a(Some("sa")), b(None), b(Some("sb"))]
        );
        // One provider: the store's own indexes, by `sub` alone, as before.
        assert!(
            left_after(LogoutTarget::Sub("alice".into()), false)
                .await
                .is_empty()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// The issuer that chooses a provider is read from any input without a
        /// panic, and only from a JWS payload's string `iss`.
        #[test]
        fn peeking_at_the_issuer_never_panics(token in ".{0,300}") {
            let _ = peek_issuer(&token, &SigningAlgorithm::ALL);
        }

        #[test]
        fn the_peeked_issuer_is_the_payloads(iss in "[ -~]{0,40}") {
            use base64::Engine as _;
            let b64 = |v: &serde_json::Value| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
            };
            let header = b64(&serde_json::json!({"alg": "RS256", "kid": "k"}));
            let token = format!("{header}.{}.c2ln", b64(&serde_json::json!({"iss": iss})));
            proptest::prop_assert_eq!(peek_issuer(&token, &SigningAlgorithm::ALL), Some(iss.clone()));
            let number = format!("{header}.{}.c2ln", b64(&serde_json::json!({"iss": 7})));
            proptest::prop_assert_eq!(peek_issuer(&number, &SigningAlgorithm::ALL), None);
            let none = b64(&serde_json::json!({"alg": "none"}));
            let unsigned = format!("{none}.{}.", b64(&serde_json::json!({"iss": iss})));
            proptest::prop_assert_eq!(peek_issuer(&unsigned, &SigningAlgorithm::ALL), None);
        }
    }
}
