//! Unit tests of back-channel logout: the logout token's claims, ending sessions per
//! issuer, and reading `iss` to choose a provider.

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

/// Section 2.6 step 3 under a multi-tenant template: `iss` is the template filled
/// with the token's own `tid`, inside the allow-list.
#[test]
fn a_template_providers_logout_token_names_its_tenant() {
    let template = crate::issuer::IssuerTemplate::new("https://op/{tenantid}/v2.0", false)
        .unwrap()
        .with_allowed_tenants(["t1"])
        .unwrap();
    let check = |iss: &str, tid: Option<&str>| {
        let mut c = claims();
        c["iss"] = iss.into();
        if let Some(tid) = tid {
            c["tid"] = tid.into();
        }
        validate_logout_claims(
            &serde_json::to_vec(&c).unwrap(),
            IssuerExpectation::Template(&template),
            "c",
            Duration::from_secs(30),
            NOW,
        )
    };
    let valid = check("https://op/t1/v2.0", Some("t1")).unwrap();
    assert_eq!(valid.iss, "https://op/t1/v2.0");
    for (iss, tid) in [
        ("https://op/t1/v2.0", None),
        ("https://op/t1/v2.0", Some("t2")),
        ("https://op/t2/v2.0", Some("t2")),
        ("https://op/{tenantid}/v2.0", Some("t1")),
    ] {
        assert!(
            matches!(check(iss, tid), Err(LogoutTokenError::WrongIssuer)),
            "{iss} {tid:?}"
        );
    }
}
