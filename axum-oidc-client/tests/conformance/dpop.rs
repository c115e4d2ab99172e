//! DPoP-bound tokens (RFC 9449) from the client's side: every token request proves
//! the session's own key, a nonce challenge is answered exactly once, and a response
//! that is not bound to that key never becomes a session.

use std::time::Duration;

use axum_oidc_client::store::AuthCache as _;
use reqwest::StatusCode;

use crate::adversary::DpopReply;
use crate::harness::*;

fn dpop(reply: DpopReply) -> Behavior {
    Behavior {
        dpop: Some(reply),
        ..Behavior::default()
    }
}

/// A DPoP client whose error pages show their reason code.
async fn trial(reply: DpopReply) -> Trial {
    Trial::with_layer(
        Behavior {
            expires_in: 2,
            ..dpop(reply)
        },
        |b| {
            b.with_dpop(true)
                .with_refresh_margin(Duration::from_secs(1))
        },
        |l| {
            l.with_error_pages(|page: &axum_oidc_client::ErrorPage| {
                use axum::response::IntoResponse;
                (page.status, page.reason).into_response()
            })
        },
    )
    .await
}

/// The thumbprint of the key stored with the browser's only session.
async fn stored_jkt(t: &Trial) -> String {
    let me = me_json(&t.browser).await;
    let iss = me["claims"]["iss"].as_str().expect("iss");
    let sessions = t.rp.store.sessions_of(iss, "alice").await.unwrap();
    assert_eq!(sessions.len(), 1);
    let record = &sessions[0].1;
    assert_eq!(record.tokens.token_type, "DPoP");
    record
        .dpop_thumbprint()
        .expect("a DPoP key with the session")
}

/// Login and refresh each prove the session's key (`htm` POST, `htu` the token
/// endpoint); the refresh uses the very key of the login, and the key is the one the
/// stored session keeps.
#[tokio::test]
async fn login_and_refresh_prove_the_sessions_own_key() {
    let t = trial(DpopReply::Bound).await;
    t.login_ok().await;
    let jkt = stored_jkt(&t).await;
    t.adv.advance(Duration::from_secs(1));
    assert_eq!(me(&t.browser).await, StatusCode::OK);
    let seen = t.seen();
    assert_eq!(seen.refresh_grants(), 1);
    for call in &seen.token {
        let proof = call
            .dpop
            .as_ref()
            .expect("a DPoP proof on every token request");
        assert_eq!(proof.jkt, jkt, "{}", call.grant_type);
        assert_eq!(proof.htm, "POST");
        assert!(proof.htu.ends_with("/case/token"), "{}", proof.htu);
        assert!(proof.ath.is_none(), "no access token at the token endpoint");
    }
    assert_ne!(
        seen.token[0].dpop.as_ref().unwrap().jti,
        seen.token[1].dpop.as_ref().unwrap().jti
    );
    assert_eq!(
        stored_jkt(&t).await,
        jkt,
        "the refreshed session keeps its key"
    );
    // RFC 9449 section 10: the code was bound to that key from the start.
    assert_eq!(
        seen.authorize[0].get("dpop_jkt").map(String::as_str),
        Some(jkt.as_str())
    );
}

/// With PAR, the pushed request proves the key (RFC 9449 section 10.1: `htu` the PAR
/// endpoint) and names it in `dpop_jkt`; the browser carries neither.
#[tokio::test]
async fn a_pushed_request_proves_the_key_the_session_then_keeps() {
    let t = Trial::with(
        Behavior {
            par: Some(crate::adversary::ParReply::Normal),
            require_par: true,
            ..dpop(DpopReply::Bound)
        },
        |b| b.with_dpop(true),
    )
    .await;
    t.login_ok().await;
    let jkt = stored_jkt(&t).await;
    let seen = t.seen();
    assert_eq!(seen.pushed.len(), 1);
    let pushed = &seen.pushed[0];
    let proof = pushed.dpop.as_ref().expect("a proof at the PAR endpoint");
    assert_eq!(proof.jkt, jkt);
    assert_eq!(proof.htm, "POST");
    assert!(proof.htu.ends_with("/case/par"), "{}", proof.htu);
    assert_eq!(pushed.form.get("dpop_jkt"), Some(&jkt));
    assert!(
        !seen.authorize[0].contains_key("dpop_jkt"),
        "request_uri only"
    );
    assert_eq!(seen.token[0].dpop.as_ref().unwrap().jkt, jkt);
}

/// Two sessions never share a key.
#[tokio::test]
async fn each_session_has_a_key_of_its_own() {
    let t = trial(DpopReply::Bound).await;
    t.login_ok().await;
    let other = t.rp.browser();
    login_ok(&other).await;
    let seen = t.seen();
    let keys: Vec<&str> = seen
        .token
        .iter()
        .map(|c| c.dpop.as_ref().unwrap().jkt.as_str())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
}

/// RFC 9449 section 8: `use_dpop_nonce` is answered once, with the server's nonce
/// and a fresh proof; the next request sends the nonce it already knows.
#[tokio::test]
async fn a_nonce_challenge_at_the_token_endpoint_is_answered_with_one_retry() {
    let t = trial(DpopReply::NonceRequired).await;
    t.login_ok().await;
    let seen = t.seen();
    assert_eq!(seen.token.len(), 2, "one challenge, one retry");
    let (first, second) = (
        seen.token[0].dpop.as_ref().unwrap(),
        seen.token[1].dpop.as_ref().unwrap(),
    );
    assert_eq!(first.nonce, None);
    assert_eq!(second.nonce.as_deref(), Some("adv-nonce-1"));
    assert_ne!(first.jti, second.jti, "a fresh proof");
    assert_eq!(first.jkt, second.jkt, "the same key");
    t.adv.advance(Duration::from_secs(1));
    assert_eq!(me(&t.browser).await, StatusCode::OK);
    let seen = t.seen();
    assert_eq!(
        seen.token.len(),
        3,
        "the refresh knew the nonce: no challenge"
    );
    assert_eq!(
        seen.token[2].dpop.as_ref().unwrap().nonce.as_deref(),
        Some("adv-nonce-1")
    );
}

/// A server that challenges every proof gets exactly two tries, then the login
/// fails without a session.
#[tokio::test]
async fn a_provider_that_challenges_every_proof_gets_two_tries_and_no_session() {
    let t = trial(DpopReply::NonceEveryTime).await;
    let r = t.login("/me").await;
    assert!(!sets_session(&r), "no session");
    assert!(r.status().is_client_error() || r.status().is_server_error());
    assert_eq!(t.seen().token.len(), 2);
    assert_eq!(t.rp.sessions().await, 0);
}

/// RFC 9449 section 5: a bearer token in answer to a proved request is refused; a
/// DPoP client never falls back to bearer tokens.
#[tokio::test]
async fn a_bearer_answer_to_a_dpop_request_is_refused() {
    let t = trial(DpopReply::Unbound).await;
    let r = t.login("/me").await;
    assert!(!sets_session(&r));
    assert_eq!(r.text().await.unwrap(), "dpop_not_bound");
    assert_eq!(t.rp.sessions().await, 0);
}

/// RFC 9449 section 6.1: an access token whose `cnf.jkt` names another key is refused.
#[tokio::test]
async fn an_access_token_bound_to_another_key_is_refused() {
    let t = trial(DpopReply::BoundElsewhere).await;
    let r = t.login("/me").await;
    assert!(!sets_session(&r));
    assert_eq!(r.text().await.unwrap(), "dpop_binding_mismatch");
    assert_eq!(t.rp.sessions().await, 0);
}

/// UserInfo gets the token with the `DPoP` scheme and a proof with `ath`
/// (RFC 9449 section 7.1).
#[tokio::test]
async fn userinfo_gets_the_dpop_scheme_and_a_proof_of_the_sessions_key() {
    let t = Trial::with(dpop(DpopReply::Bound), |b| {
        b.with_dpop(true).with_userinfo(true)
    })
    .await;
    t.login_ok().await;
    let seen = t.seen();
    assert_eq!(seen.userinfo, 1);
    let proof = seen.userinfo_dpop.first().expect("a DPoP UserInfo call");
    assert_eq!(proof.htm, "GET");
    assert!(proof.htu.ends_with("/case/userinfo"), "{}", proof.htu);
    assert_eq!(proof.jkt, seen.token[0].dpop.as_ref().unwrap().jkt);
    let at = seen.access_tokens.last().unwrap();
    assert_eq!(
        proof.ath.as_deref(),
        Some(axum_oidc_client::dpop::access_token_hash(at).as_str())
    );
}

/// Without `with_dpop`, no proof and no `dpop_jkt` are sent and bearer tokens are
/// expected.
#[tokio::test]
async fn without_dpop_no_proof_is_sent() {
    let t = Trial::new(Behavior::default()).await;
    t.login_ok().await;
    let seen = t.seen();
    assert!(seen.token.iter().all(|c| c.dpop.is_none()));
    assert!(!seen.authorize[0].contains_key("dpop_jkt"));
}

/// An application's `dpop_jkt` extra parameter cannot replace the library's.
#[tokio::test]
async fn a_configured_dpop_jkt_is_ignored() {
    let t = Trial::with(dpop(DpopReply::Bound), |b| {
        b.with_dpop(true)
            .with_auth_param("dpop_jkt", "attacker-chosen")
    })
    .await;
    t.login_ok().await;
    let seen = t.seen();
    let jkt = &seen.token[0].dpop.as_ref().unwrap().jkt;
    assert_eq!(seen.authorize[0].get("dpop_jkt"), Some(jkt));
}
