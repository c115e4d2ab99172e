//! ID token claims: deserialization, then `id_token::validate_claims` (OIDC Core
//! 3.1.3.7).

use axum_oidc_client::__private::id_token::{
    Expectations, IdTokenClaims, NonceCheck, validate_claims,
};

use super::*;

fn id_token_claims() -> impl Strategy<Value = Map<String, Value>> {
    (
        (
            slot(one_of(&[
                ISSUER,
                "https://op.example/",
                "https://evil.example",
            ])),
            slot(one_of(&["alice", "bob", ""])),
            slot(audience()),
            slot(time_claim()),
            slot(time_claim()),
        ),
        (
            slot(one_of(&[NONCE, "other", ""])),
            slot(one_of(&[CLIENT, "api", "other"])),
            slot(time_claim()),
            slot("[a-z0-9]{0,6}".prop_map(Value::from)),
            extra_members(),
        ),
    )
        .prop_map(
            |((iss, sub, aud, exp, iat), (nonce, azp, auth_time, sid, extra))| {
                object(
                    vec![
                        ("iss", iss),
                        ("sub", sub),
                        ("aud", aud),
                        ("exp", exp),
                        ("iat", iat),
                        ("nonce", nonce),
                        ("azp", azp),
                        ("auth_time", auth_time),
                        ("sid", sid),
                    ],
                    extra,
                )
            },
        )
}

fn nonce_check() -> impl Strategy<Value = u8> {
    0u8..3
}

fn expectations<'a>(
    nonce: u8,
    leeway: u64,
    max_age: Option<u64>,
    subject: Option<&'a str>,
    extra: &'a [String],
) -> Expectations<'a> {
    Expectations {
        issuer: ISSUER.into(),
        client_id: CLIENT,
        additional_audiences: extra,
        nonce: match nonce {
            0 => NonceCheck::Required(NONCE),
            1 => NonceCheck::IfPresent(Some(NONCE)),
            _ => NonceCheck::IfPresent(None),
        },
        leeway: Duration::from_secs(leeway),
        max_age: max_age.map(Duration::from_secs),
        subject,
        now: NOW,
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn id_token_claims_never_panic_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(claims) = serde_json::from_slice::<IdTokenClaims>(&bytes) {
            let _ = validate_claims(&claims, &expectations(0, 30, Some(600), None, &[]));
        }
    }

    #[test]
    fn id_token_claims_accept_only_what_oidc_core_allows(
        doc in id_token_claims(),
        nonce in nonce_check(),
        leeway in 0u64..120,
        max_age in prop::option::of(0u64..3600),
        subject in prop::option::of(select(vec!["alice", "bob"])),
    ) {
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        let Ok(claims) = serde_json::from_slice::<IdTokenClaims>(&bytes) else {
            return Ok(());
        };
        // What was parsed serializes back to the same claims.
        let again: IdTokenClaims = serde_json::from_slice(&serde_json::to_vec(&claims).unwrap_or_default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&again, &claims);

        let extra = vec!["api".to_owned()];
        let exp = expectations(nonce, leeway, max_age, subject, &extra);
        if validate_claims(&claims, &exp).is_err() {
            return Ok(());
        }
        let leeway = leeway as i64;
        prop_assert_eq!(claims.iss.as_str(), ISSUER);
        prop_assert!(!claims.sub.is_empty());
        prop_assert!(claims.aud.contains(CLIENT));
        if claims.aud.0.len() > 1 {
            prop_assert_eq!(claims.azp.as_deref(), Some(CLIENT));
            prop_assert!(claims.aud.0.iter().all(|a| a == CLIENT || a == "api"));
        }
        prop_assert!(claims.azp.as_deref().is_none_or(|a| a == CLIENT));
        prop_assert!(NOW < claims.exp.saturating_add(leeway));
        prop_assert!(claims.iat <= NOW + leeway);
        if let Some(max_age) = max_age {
            prop_assert!(claims.iat >= NOW - max_age as i64 - leeway);
        }
        match nonce {
            0 => prop_assert_eq!(claims.nonce.as_deref(), Some(NONCE)),
            1 => prop_assert!(claims.nonce.as_deref().is_none_or(|n| n == NONCE)),
            _ => prop_assert!(claims.nonce.is_none()),
        }
        if let Some(subject) = subject {
            prop_assert_eq!(claims.sub.as_str(), subject);
        }
    }
}
