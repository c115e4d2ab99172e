//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): valid logout tokens end
//! exactly the sessions they name; every invalid one gets 400 and ends nothing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

async fn post_logout_token(rp: &Rp, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/auth/backchannel-logout", rp.origin))
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("back-channel request")
}

fn assert_success(r: &reqwest::Response) {
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
}

/// A trial with one logged-in browser; returns it and its provider `sid`.
async fn signed_in() -> (Trial, String) {
    let t = Trial::new(Behavior::default()).await;
    t.login_ok().await;
    let sid = t.seen().sids[0].clone();
    (t, sid)
}

#[tokio::test]
async fn ends_only_the_session_named_by_sid() {
    let (t, sid) = signed_in().await;
    let other = t.rp.browser();
    login_ok(&other).await;
    assert_ne!(t.seen().sids[1], sid);

    let token = t
        .adv
        .logout_token(t.case, &Sig::By(Key::Rsa1), json!({ "sid": sid }));
    assert_success(&post_logout_token(&t.rp, &token).await);
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&other).await, StatusCode::OK, "the other session stays");
}

#[tokio::test]
async fn ends_every_session_of_the_subject_named_by_sub_and_no_other() {
    let (t, _) = signed_in().await;
    let second = t.rp.browser();
    login_ok(&second).await;
    t.update(|b| b.sub = "bob".into());
    let bob = t.rp.browser();
    login_ok(&bob).await;

    let token = t
        .adv
        .logout_token(t.case, &Sig::By(Key::Rsa1), json!({ "sub": "alice" }));
    assert_success(&post_logout_token(&t.rp, &token).await);
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&bob).await, StatusCode::OK, "another subject stays");
}

#[tokio::test]
async fn ends_a_refreshed_session_by_the_sid_of_its_login() {
    // The refreshed ID token omits sid; the session must still be found by it.
    let t = Trial::with(
        Behavior {
            expires_in: 2,
            refresh_id_token_claims: json!({ "sid": null }),
            ..Behavior::default()
        },
        |b| b.with_refresh_margin(Duration::from_secs(1)),
    )
    .await;
    t.login_ok().await;
    let sid = t.seen().sids[0].clone();
    t.adv.advance(Duration::from_secs(1));
    assert_eq!(me(&t.browser).await, StatusCode::OK);
    assert_eq!(t.seen().refresh_grants(), 1);
    let token = t
        .adv
        .logout_token(t.case, &Sig::By(Key::Rsa1), json!({ "sid": sid }));
    assert_success(&post_logout_token(&t.rp, &token).await);
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ends_a_session_by_sid_after_activity_renewed_it() {
    // Activity rewrites the session (`last_seen`, every idle/10 = 300 s by default).
    let (t, sid) = signed_in().await;
    t.adv.advance(Duration::from_secs(301));
    assert_eq!(me(&t.browser).await, StatusCode::OK);
    assert_eq!(t.seen().refresh_grants(), 0);
    let token = t
        .adv
        .logout_token(t.case, &Sig::By(Key::Rsa1), json!({ "sid": sid }));
    assert_success(&post_logout_token(&t.rp, &token).await);
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ends_a_session_by_sub_after_activity_renewed_it() {
    let (t, _) = signed_in().await;
    t.adv.advance(Duration::from_secs(301));
    assert_eq!(me(&t.browser).await, StatusCode::OK);
    let token = t
        .adv
        .logout_token(t.case, &Sig::By(Key::Rsa1), json!({ "sub": "alice" }));
    assert_success(&post_logout_token(&t.rp, &token).await);
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
}

/// Posts the token and asserts 400 and that the signed-in session survived.
async fn refused(t: &Trial, token: &str) {
    let r = post_logout_token(&t.rp, token).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&t.browser).await, StatusCode::OK, "the session stays");
}

/// A logout token for the signed-in session with `patch`, signed as `sig`.
async fn refused_variant(sig: Sig, patch: impl FnOnce(i64) -> Value) {
    let (t, sid) = signed_in().await;
    let mut claims = json!({ "sid": sid });
    if let (Some(c), Value::Object(p)) = (claims.as_object_mut(), patch(t.adv.now())) {
        c.extend(p);
    }
    let token = t.adv.logout_token(t.case, &sig, claims);
    refused(&t, &token).await;
}

#[tokio::test]
async fn rejects_logout_token_with_bad_signature() {
    refused_variant(Sig::Tampered(Key::Rsa1), |_| json!({})).await;
}

#[tokio::test]
async fn rejects_unsigned_logout_token() {
    refused_variant(Sig::AlgNone, |_| json!({})).await;
}

#[tokio::test]
async fn rejects_hs256_logout_token_keyed_with_the_rsa_public_key() {
    refused_variant(Sig::Hs256WithPublicKey, |_| json!({})).await;
}

#[tokio::test]
async fn rejects_logout_token_signed_by_an_unknown_key() {
    refused_variant(Sig::By(Key::Rsa2), |_| json!({})).await;
}

#[tokio::test]
async fn rejects_logout_token_with_wrong_issuer() {
    refused_variant(
        Sig::By(Key::Rsa1),
        |_| json!({ "iss": "http://127.0.0.1:1/other" }),
    )
    .await;
}

#[tokio::test]
async fn rejects_logout_token_with_wrong_audience() {
    refused_variant(Sig::By(Key::Rsa1), |_| json!({ "aud": "another-client" })).await;
}

#[tokio::test]
async fn rejects_logout_token_without_events() {
    refused_variant(Sig::By(Key::Rsa1), |_| json!({ "events": null })).await;
}

#[tokio::test]
async fn rejects_logout_token_with_another_event() {
    refused_variant(
        Sig::By(Key::Rsa1),
        |_| json!({ "events": { "http://schemas.openid.net/event/other": {} } }),
    )
    .await;
}

#[tokio::test]
async fn rejects_logout_token_with_a_nonce() {
    refused_variant(Sig::By(Key::Rsa1), |_| json!({ "nonce": "n-1" })).await;
}

#[tokio::test]
async fn rejects_expired_logout_token() {
    refused_variant(
        Sig::By(Key::Rsa1),
        |now| json!({ "iat": now - 200, "exp": now - 100 }),
    )
    .await;
}

#[tokio::test]
async fn rejects_logout_token_issued_long_ago() {
    refused_variant(
        Sig::By(Key::Rsa1),
        |now| json!({ "iat": now - 3600, "exp": now + 120 }),
    )
    .await;
}

#[tokio::test]
async fn rejects_logout_token_without_exp() {
    // Back-Channel Logout 1.0 section 2.4: `exp` is REQUIRED.
    refused_variant(Sig::By(Key::Rsa1), |_| json!({ "exp": null })).await;
}

#[tokio::test]
async fn rejects_logout_token_without_jti() {
    refused_variant(Sig::By(Key::Rsa1), |_| json!({ "jti": null })).await;
}

#[tokio::test]
async fn rejects_logout_token_typed_as_an_access_token() {
    let (t, sid) = signed_in().await;
    let mut claims = t.adv.logout_claims(t.case);
    claims["sid"] = sid.into();
    let token = crate::adversary::sign(&Sig::By(Key::Rsa1), "at+jwt", &claims);
    refused(&t, &token).await;
}

#[tokio::test]
async fn rejects_logout_token_without_sid_or_sub() {
    let (t, _) = signed_in().await;
    let token = t.adv.logout_token(t.case, &Sig::By(Key::Rsa1), json!({}));
    refused(&t, &token).await;
}

#[tokio::test]
async fn rejects_a_replayed_jti() {
    let (t, sid) = signed_in().await;
    let first = t.adv.logout_token(
        t.case,
        &Sig::By(Key::Rsa1),
        json!({ "sid": "some-other-sid", "jti": "jti-once" }),
    );
    assert_success(&post_logout_token(&t.rp, &first).await);
    // The very same token again, then a new token reusing its jti for our session.
    refused(&t, &first).await;
    let reused = t.adv.logout_token(
        t.case,
        &Sig::By(Key::Rsa1),
        json!({ "sid": sid, "jti": "jti-once" }),
    );
    refused(&t, &reused).await;
}

#[tokio::test]
async fn rejects_an_id_token_sent_as_logout_token() {
    let (t, _) = signed_in().await;
    let id_token = t.seen().id_tokens[0].clone();
    refused(&t, &id_token).await;
}

#[tokio::test]
async fn a_logout_that_failed_in_the_store_succeeds_when_retried() {
    // The store times out while ending the sessions: the provider gets 503 and
    // retries with the same token. The retry must not be taken for a replay.
    let sessions: axum_oidc_client::store::SharedStore =
        std::sync::Arc::new(axum_oidc_client::MemoryStore::default());
    let store = crate::faulty_store::FaultyStore::new(sessions);
    let faults = store.clone();
    let t = Trial::with_layer(Behavior::default(), |b| b, move |l| l.store(store)).await;
    t.login_ok().await;
    let sid = t.seen().sids[0].clone();
    let token = t
        .adv
        .logout_token(t.case, &Sig::By(Key::Rsa1), json!({ "sid": sid }));

    faults.fail_next("remove_by_sid", 1);
    let failed = post_logout_token(&t.rp, &token).await;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(me(&t.browser).await, StatusCode::OK, "nothing ended yet");

    let retried = post_logout_token(&t.rp, &token).await;
    assert_eq!(
        retried.status(),
        StatusCode::OK,
        "the retry of a logout that did not happen is not a replay"
    );
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    // Once it has happened, the same token is a replay.
    assert_eq!(
        post_logout_token(&t.rp, &token).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_backchannel_logout_during_a_refresh_is_not_undone() {
    // The logout lands after the refresh read the session and before it writes the
    // refreshed one back: the write must not bring the ended session back.
    let sessions: axum_oidc_client::store::SharedStore =
        std::sync::Arc::new(axum_oidc_client::MemoryStore::default());
    let store = crate::faulty_store::FaultyStore::new(sessions);
    let faults = store.clone();
    let t = Trial::with_layer(
        Behavior {
            expires_in: 2,
            ..Behavior::default()
        },
        |b| b.with_refresh_margin(Duration::from_secs(1)),
        move |l| l.store(store),
    )
    .await;
    t.login_ok().await;
    let sid = t.seen().sids[0].clone();
    t.adv.advance(Duration::from_secs(1));

    let gate = faults.hold_next_write();
    let browser = t.browser.clone();
    let refreshing = tokio::spawn(async move { me(&browser).await });
    gate.reached().await;
    assert_eq!(t.seen().refresh_grants(), 1, "the refresh is in flight");
    let token = t
        .adv
        .logout_token(t.case, &Sig::By(Key::Rsa1), json!({ "sid": sid }));
    assert_success(&post_logout_token(&t.rp, &token).await);
    gate.release();

    assert_eq!(
        refreshing.await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "the refresh sees the logout"
    );
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_with_sid_and_sub_ends_the_sessions_of_that_sub_without_a_sid() {
    // The first login's ID token carries no `sid` (many providers leave it out).
    let t = Trial::new(Behavior {
        id_token_claims: json!({ "sid": null }),
        ..Behavior::default()
    })
    .await;
    t.login_ok().await;
    t.update(|b| b.id_token_claims = json!({}));
    let with_sid = t.rp.browser();
    login_ok(&with_sid).await;
    let sid = t.seen().sids[1].clone();

    let token = t.adv.logout_token(
        t.case,
        &Sig::By(Key::Rsa1),
        json!({ "sid": sid, "sub": "alice" }),
    );
    assert_success(&post_logout_token(&t.rp, &token).await);
    assert_eq!(me(&with_sid).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&t.browser).await,
        StatusCode::UNAUTHORIZED,
        "the subject's session without a sid must end too"
    );
}

#[tokio::test]
async fn a_token_with_sid_and_sub_spares_the_other_sids_of_that_sub() {
    let (t, sid) = signed_in().await;
    let other = t.rp.browser();
    login_ok(&other).await;
    let token = t.adv.logout_token(
        t.case,
        &Sig::By(Key::Rsa1),
        json!({ "sid": sid, "sub": "alice" }),
    );
    assert_success(&post_logout_token(&t.rp, &token).await);
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&other).await,
        StatusCode::OK,
        "another provider session of the same subject stays"
    );
}
