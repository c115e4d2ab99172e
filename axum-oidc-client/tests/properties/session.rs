//! `session::SessionCodec`: arbitrary rows, round trips, sealed rows bound to key and secret.

use axum_oidc_client::__private::id_token::{Audiences, IdTokenClaims};
use axum_oidc_client::__private::secret::{
    AccessTokenValue, IdTokenValue, RefreshTokenValue, SessionId,
};
use axum_oidc_client::store::{SessionCodec, SessionKey, SessionRecord, TokenSet};

use super::*;

fn claims_value() -> impl Strategy<Value = IdTokenClaims> {
    (
        (
            ".{0,20}",
            ".{0,20}",
            prop::collection::vec(".{0,10}", 0..3),
            any::<i64>(),
            any::<i64>(),
        ),
        (
            prop::option::of(".{0,10}"),
            prop::option::of(".{0,10}"),
            prop::option::of(any::<i64>()),
            prop::option::of(".{0,10}"),
            prop::option::of("[A-Za-z0-9_-]{0,22}"),
            prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..4),
        ),
    )
        .prop_map(
            |((iss, sub, aud, exp, iat), (nonce, azp, auth_time, sid, at_hash, extra))| {
                let additional: Map<String, Value> = extra
                    .into_iter()
                    .filter(|(k, _)| !IdTokenClaims::NAMED.contains(&k.as_str()))
                    .collect();
                IdTokenClaims {
                    iss,
                    sub,
                    aud: Audiences(aud),
                    exp,
                    iat,
                    nonce,
                    azp,
                    auth_time,
                    sid,
                    at_hash,
                    additional: additional.into(),
                }
            },
        )
}

fn session_record() -> impl Strategy<Value = SessionRecord> {
    (
        (
            ".{0,40}",
            ".{0,10}",
            prop::option::of(".{0,40}"),
            prop::option::of("[A-Za-z0-9_.-]{0,60}"),
            ".{0,20}",
            any::<i64>(),
        ),
        claims_value(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(
            |((at, tt, rt, id, scope, expires_at), claims, created_at, last_seen)| SessionRecord {
                tokens: TokenSet {
                    access_token: AccessTokenValue::new(at),
                    token_type: tt,
                    refresh_token: rt.map(RefreshTokenValue::new),
                    id_token: id.map(IdTokenValue::new),
                    scope,
                    expires_at,
                    dpop_key: None,
                },
                claims: claims.into(),
                created_at,
                last_seen,
                user_agent: None,
                enriched_claims: Vec::new(),
                provider: None,
            },
        )
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn session_decode_never_panics_and_never_accepts_forged_sealed_rows(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        key in ".{0,44}",
    ) {
        let key = SessionKey::from_stored(key);
        let _ = SessionCodec::plain().decode(&key, &bytes);
        let sealed = SessionCodec::encrypted(&[7; 32]);
        let _ = sealed.decode(&key, &bytes);
        let mut forged = vec![2u8];
        forged.extend_from_slice(&bytes);
        prop_assert!(sealed.decode(&key, &forged).is_none());
        prop_assert!(SessionCodec::plain().decode(&key, &forged).is_none());
    }

    #[test]
    fn session_codec_round_trips_and_binds_sealed_rows_to_key_and_secret(
        record in session_record(),
        id in "[A-Za-z0-9_-]{1,43}",
        other_id in "[A-Za-z0-9_-]{1,43}",
        secret in any::<[u8; 32]>(),
        flip_at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = SessionKey::of(&SessionId::new(id.clone()));
        let plain = SessionCodec::plain();
        let bytes = plain.encode(&key, &record).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(plain.decode(&key, &bytes), Some(record.clone()));

        let sealed = SessionCodec::encrypted(&secret);
        let bytes = sealed.encode(&key, &record).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sealed.decode(&key, &bytes), Some(record));
        if other_id != id {
            let other = SessionKey::of(&SessionId::new(other_id));
            prop_assert!(sealed.decode(&other, &bytes).is_none());
        }
        let mut other_secret = secret;
        other_secret[0] ^= 1;
        prop_assert!(SessionCodec::encrypted(&other_secret).decode(&key, &bytes).is_none());
        prop_assert!(plain.decode(&key, &bytes).is_none());
        let mut tampered = bytes.clone();
        tampered[flip_at.index(bytes.len())] ^= flip;
        prop_assert!(sealed.decode(&key, &tampered).is_none());
    }
}
