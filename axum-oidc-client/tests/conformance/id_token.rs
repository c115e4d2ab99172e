//! ID token validation (OIDC Core 3.1.3.7) through a full login: every forged or
//! broken ID token ends in an error page and no session: 400 for a token that looks
//! forged, 500 (the operator's page) for an issuer, audience or time mismatch that
//! only the configuration or the clock explains.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

fn with_sig(sig: Sig) -> Behavior {
    Behavior {
        id_token_sig: sig,
        ..Behavior::default()
    }
}

fn with_claims(claims: Value) -> Behavior {
    Behavior {
        id_token_claims: claims,
        ..Behavior::default()
    }
}

async fn refused(behavior: Behavior) -> Trial {
    refused_with(behavior, StatusCode::BAD_REQUEST).await
}

/// Refused with the configuration page.
async fn misconfigured(behavior: Behavior) -> Trial {
    refused_with(behavior, StatusCode::INTERNAL_SERVER_ERROR).await
}

async fn refused_with(behavior: Behavior, status: StatusCode) -> Trial {
    let t = Trial::new(behavior).await;
    t.login_is_refused(status).await;
    assert_eq!(t.seen().code_exchanges(), 1, "the code was exchanged once");
    t
}

/// Registers the case, then sets time-dependent claims from the shared clock. A token
/// straight from the token endpoint that is not valid now means the clocks differ:
/// the operator's page.
async fn refused_at(claims: impl FnOnce(i64) -> Value) {
    let t = Trial::new(Behavior::default()).await;
    let patch = claims(t.adv.now());
    t.update(|b| b.id_token_claims = patch);
    t.login_is_refused(StatusCode::INTERNAL_SERVER_ERROR).await;
}

#[tokio::test]
async fn accepts_a_well_formed_id_token_and_exposes_its_claims() {
    let t = Trial::new(Behavior::default()).await;
    t.login_ok().await;
    let me = me_json(&t.browser).await;
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["claims"]["iss"], t.adv.issuer(t.case));
    assert_eq!(me["claims"]["email"], "alice@example.test");
    let seen = t.seen();
    assert_eq!(seen.code_exchanges(), 1);
    assert!(seen.token[0].client_authenticated);
    assert_eq!(seen.jwks, 1);
}

#[tokio::test]
async fn accepts_an_es256_id_token() {
    let t = Trial::new(Behavior {
        jwks: vec![Key::Rsa1, Key::Ec],
        id_token_sig: Sig::By(Key::Ec),
        ..Behavior::default()
    })
    .await;
    t.login_ok().await;
}

#[tokio::test]
async fn rejects_id_token_with_bad_signature() {
    refused(with_sig(Sig::Tampered(Key::Rsa1))).await;
}

#[tokio::test]
async fn rejects_unsigned_id_token_with_alg_none() {
    refused(with_sig(Sig::AlgNone)).await;
}

#[tokio::test]
async fn rejects_hs256_id_token_keyed_with_the_rsa_public_key() {
    refused(with_sig(Sig::Hs256WithPublicKey)).await;
}

#[tokio::test]
async fn rejects_id_token_signed_by_a_key_not_in_the_jwks_without_hammering_the_jwks() {
    let t = refused(with_sig(Sig::By(Key::Rsa2))).await;
    t.login_is_refused(StatusCode::BAD_REQUEST).await;
    assert_eq!(
        t.seen().jwks,
        1,
        "unknown kids must not refetch within the refetch interval"
    );
}

#[tokio::test]
async fn rejects_id_token_signed_by_a_foreign_key_under_the_published_kid() {
    refused(with_sig(Sig::ClaimingKid(Key::Rsa2, "rsa-1".into()))).await;
}

#[tokio::test]
async fn rejects_rs256_id_token_naming_an_ec_key() {
    refused(Behavior {
        jwks: vec![Key::Rsa1, Key::Ec],
        id_token_sig: Sig::ClaimingKid(Key::Rsa1, "ec-1".into()),
        ..Behavior::default()
    })
    .await;
}

#[tokio::test]
async fn accepts_id_token_without_kid_when_the_jwks_has_one_key() {
    let t = Trial::new(with_sig(Sig::WithoutKid(Key::Rsa1))).await;
    t.login_ok().await;
}

#[tokio::test]
async fn rejects_id_token_without_kid_when_the_jwks_has_several_keys() {
    refused(Behavior {
        jwks: vec![Key::Rsa1, Key::Rsa2],
        id_token_sig: Sig::WithoutKid(Key::Rsa1),
        ..Behavior::default()
    })
    .await;
}

#[tokio::test]
async fn accepts_a_rotated_key_once_a_refetch_of_the_jwks_shows_it() {
    let t = Trial::with(
        Behavior {
            jwks: vec![Key::Rsa1],
            jwks_after_first_fetch: Some(vec![Key::Rsa1, Key::Rsa2]),
            ..Behavior::default()
        },
        |b| b.with_jwks_refetch_interval(Duration::ZERO),
    )
    .await;
    t.login_ok().await;
    assert_eq!(t.seen().jwks, 1);
    // The provider rotates: new tokens are signed by a key the cache has not seen.
    t.update(|b| b.id_token_sig = Sig::By(Key::Rsa2));
    let other = t.rp.browser();
    login_ok(&other).await;
    assert_eq!(
        t.seen().jwks,
        2,
        "the unknown kid caused exactly one refetch"
    );
}

#[tokio::test]
async fn a_login_right_after_a_key_rotation_succeeds() {
    // The default refetch interval (10 s) is kept: an ID token the client fetched
    // itself from the token endpoint may trigger a refetch at once (OIDC Core 10.1.1,
    // 3.1.3.7 step 6).
    let t = Trial::new(Behavior {
        jwks: vec![Key::Rsa1],
        jwks_after_first_fetch: Some(vec![Key::Rsa2]),
        ..Behavior::default()
    })
    .await;
    t.login_ok().await;
    assert_eq!(t.seen().jwks, 1);
    // The provider rotates to a new key right after the first fetch.
    t.update(|b| b.id_token_sig = Sig::By(Key::Rsa2));
    let other = t.rp.browser();
    login_ok(&other).await;
    assert_eq!(
        t.seen().jwks,
        2,
        "the unknown kid caused exactly one refetch"
    );
    // A second login with the new key uses the refetched keys.
    let third = t.rp.browser();
    login_ok(&third).await;
    assert_eq!(t.seen().jwks, 2, "no further fetch for a known kid");
}

#[tokio::test]
async fn accepts_a_kid_shared_by_keys_of_different_types() {
    // RFC 7517 4.5 allows one kid for equivalent keys of different kty.
    let t = Trial::new(Behavior {
        jwks_raw: Some(vec![
            Key::Ec.jwk_with_kid("shared"),
            Key::Rsa1.jwk_with_kid("shared"),
        ]),
        id_token_sig: Sig::ClaimingKid(Key::Rsa1, "shared".into()),
        ..Behavior::default()
    })
    .await;
    t.login_ok().await;
}

#[tokio::test]
async fn ignores_keys_embedded_in_the_token_header() {
    let t = Trial::new(Behavior::default()).await;
    let jku = format!("{}/attacker-jwks", t.adv.issuer(t.case));
    t.update(|b| {
        b.id_token_sig = Sig::WithHeader(Key::Rsa2, json!({ "jwk": Key::Rsa2.jwk(), "jku": jku }))
    });
    t.login_is_refused(StatusCode::BAD_REQUEST).await;
    assert_eq!(t.seen().attacker_jwks, 0, "jku must never be fetched");
}

#[tokio::test]
async fn rejects_id_token_with_unknown_crit_header() {
    refused(with_sig(Sig::WithHeader(
        Key::Rsa1,
        json!({ "crit": ["http://example.test/must-understand"], "http://example.test/must-understand": true }),
    )))
    .await;
}

#[tokio::test]
async fn rejects_id_token_with_wrong_issuer() {
    misconfigured(with_claims(json!({ "iss": "http://127.0.0.1:1/other" }))).await;
}

#[tokio::test]
async fn rejects_id_token_with_wrong_audience() {
    misconfigured(with_claims(json!({ "aud": "another-client" }))).await;
}

#[tokio::test]
async fn rejects_id_token_with_several_audiences_and_no_azp() {
    misconfigured(with_claims(json!({ "aud": [CLIENT_ID, "another-client"] }))).await;
}

#[tokio::test]
async fn rejects_id_token_with_an_untrusted_extra_audience_even_with_azp() {
    misconfigured(with_claims(
        json!({ "aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID }),
    ))
    .await;
}

#[tokio::test]
async fn accepts_a_configured_extra_audience_with_azp() {
    let t = Trial::with(
        with_claims(json!({ "aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID })),
        |b| b.with_additional_audience("another-client"),
    )
    .await;
    t.login_ok().await;
}

#[tokio::test]
async fn rejects_id_token_with_wrong_azp() {
    misconfigured(with_claims(json!({ "azp": "another-client" }))).await;
}

#[tokio::test]
async fn rejects_expired_id_token() {
    refused_at(|now| json!({ "exp": now - 3600, "iat": now - 7200 })).await;
}

#[tokio::test]
async fn rejects_id_token_without_exp() {
    refused(with_claims(json!({ "exp": null }))).await;
}

#[tokio::test]
async fn rejects_id_token_without_iat() {
    refused(with_claims(json!({ "iat": null }))).await;
}

#[tokio::test]
async fn rejects_id_token_issued_far_in_the_future() {
    refused_at(|now| json!({ "iat": now + 3600, "exp": now + 7200 })).await;
}

#[tokio::test]
async fn rejects_id_token_with_wrong_nonce() {
    refused(with_claims(json!({ "nonce": "not-the-nonce-we-sent" }))).await;
}

#[tokio::test]
async fn rejects_id_token_without_nonce() {
    refused(with_claims(json!({ "nonce": null }))).await;
}

#[tokio::test]
async fn rejects_id_token_with_at_hash_mismatch() {
    refused(with_claims(
        json!({ "at_hash": at_hash_of("another-token") }),
    ))
    .await;
}

#[tokio::test]
async fn rejects_token_response_without_id_token() {
    misconfigured(Behavior {
        login_returns_id_token: false,
        ..Behavior::default()
    })
    .await;
}

fn at_hash_of(token: &str) -> String {
    crate::adversary::at_hash(token)
}

#[tokio::test]
async fn answers_503_when_the_jwks_endpoint_fails() {
    let t = Trial::new(Behavior {
        jwks_status: StatusCode::INTERNAL_SERVER_ERROR,
        ..Behavior::default()
    })
    .await;
    let r = t.login_is_refused(StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn rejects_id_token_with_an_empty_subject() {
    refused(with_claims(json!({ "sub": "" }))).await;
}

#[tokio::test]
async fn rejects_id_token_with_a_numeric_subject() {
    refused(with_claims(json!({ "sub": 42 }))).await;
}

#[tokio::test]
async fn accepts_id_token_whose_audience_is_an_array_of_only_the_client() {
    let t = Trial::new(with_claims(json!({ "aud": [CLIENT_ID] }))).await;
    t.login_ok().await;
}
