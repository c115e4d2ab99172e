//! ID token claims: `serde_json::from_slice::<IdTokenClaims>` then
//! `id_token::validate_claims` (OIDC Core 3.1.3.7): never panics, the claims survive a
//! serialization round trip (as stored in a session), and what validates meets every
//! rule.
#![no_main]

use std::time::Duration;

use axum_oidc_client::__private::id_token::{Expectations, IdTokenClaims, NonceCheck, validate_claims};
use axum_oidc_client_fuzz::{CLIENT, ISSUER, NONCE, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(claims) = serde_json::from_slice::<IdTokenClaims>(data) else {
        return;
    };
    let again: IdTokenClaims =
        serde_json::from_slice(&serde_json::to_vec(&claims).expect("claims serialize"))
            .expect("serialized claims parse");
    // Every claim comes back exactly, floats included (serde_json's `float_roundtrip`).
    assert_eq!(again, claims);
    let extra = ["api".to_owned()];
    let exp = Expectations {
        issuer: ISSUER.into(),
        client_id: CLIENT,
        additional_audiences: &extra,
        nonce: NonceCheck::Required(NONCE),
        leeway: Duration::from_secs(30),
        max_age: Some(Duration::from_secs(3600)),
        subject: None,
        now: NOW,
    };
    if validate_claims(&claims, &exp).is_err() {
        return;
    }
    assert_eq!(claims.iss, ISSUER);
    assert!(!claims.sub.is_empty());
    assert!(claims.aud.contains(CLIENT));
    assert!(claims.aud.0.len() == 1 || claims.azp.as_deref() == Some(CLIENT));
    assert!(claims.aud.0.iter().all(|a| a == CLIENT || a == "api"));
    assert!(claims.azp.as_deref().is_none_or(|a| a == CLIENT));
    assert!(NOW < claims.exp.saturating_add(30));
    assert!(claims.iat <= NOW + 30 && claims.iat >= NOW - 3600 - 30);
    assert_eq!(claims.nonce.as_deref(), Some(NONCE));
});
