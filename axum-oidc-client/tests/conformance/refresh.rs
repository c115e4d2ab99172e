//! Refresh (RFC 6749 section 6, OIDC Core 12.2) against a provider that changes the
//! identity, revokes the grant, or goes down. Access tokens live 2 s and are refreshed
//! 1 s ahead; the shared manual clock moves time, so no test sleeps.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

async fn short_lived(behavior: Behavior) -> Trial {
    short_lived_with(behavior, |b| b).await
}

async fn short_lived_with(
    behavior: Behavior,
    configure: impl FnOnce(
        axum_oidc_client::OAuthConfigurationBuilder,
    ) -> axum_oidc_client::OAuthConfigurationBuilder,
) -> Trial {
    let t = Trial::with(
        Behavior {
            expires_in: 2,
            ..behavior
        },
        |b| configure(b.with_refresh_margin(Duration::from_secs(1))),
    )
    .await;
    t.login_ok().await;
    t
}

async fn token(browser: &Browser) -> (StatusCode, String) {
    let r = browser.get("/token").await;
    (r.status(), r.text().await.unwrap_or_default())
}

fn clears_session_cookie(r: &reqwest::Response) -> bool {
    set_cookies(r)
        .iter()
        .any(|c| c.starts_with(&format!("{SESSION_COOKIE}=;")) && c.contains("Max-Age=0"))
}

#[tokio::test]
async fn refreshes_ahead_of_expiry_with_a_consistent_id_token() {
    let t = short_lived(Behavior::default()).await;
    let (_, before) = token(&t.browser).await;
    t.adv.advance(Duration::from_secs(1));
    let (status, after) = token(&t.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(before, after, "the access token was refreshed");
    assert_eq!(after, *t.seen().access_tokens.last().unwrap());
    let seen = t.seen();
    assert_eq!(seen.refresh_grants(), 1);
    let grant = &seen.token[1];
    assert_eq!(grant.grant_type, "refresh_token");
    assert!(grant.client_authenticated);
    assert!(
        grant
            .form
            .get("refresh_token")
            .is_some_and(|rt| rt.starts_with("rt-"))
    );
    assert_eq!(me_json(&t.browser).await["sub"], "alice");
}

#[tokio::test]
async fn keeps_the_session_when_a_refresh_response_has_no_id_token() {
    let t = short_lived(Behavior {
        refresh_returns_id_token: false,
        ..Behavior::default()
    })
    .await;
    t.adv.advance(Duration::from_secs(1));
    assert_eq!(me_json(&t.browser).await["sub"], "alice");
    assert_eq!(t.seen().refresh_grants(), 1);
}

async fn ends_after_refresh(behavior: Behavior) -> Trial {
    let t = short_lived(behavior).await;
    t.adv.advance(Duration::from_secs(1));
    let r = t.browser.get("/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        clears_session_cookie(&r),
        "the session cookie is cleared: {:?}",
        set_cookies(&r)
    );
    assert_eq!(t.seen().refresh_grants(), 1);
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.rp.sessions().await, 0);
    assert_eq!(
        t.seen().refresh_grants(),
        1,
        "an ended session is not refreshed"
    );
    t
}

#[tokio::test]
async fn ends_the_session_when_the_refreshed_id_token_names_another_subject() {
    ends_after_refresh(Behavior {
        refresh_id_token_claims: json!({ "sub": "mallory" }),
        ..Behavior::default()
    })
    .await;
}

#[tokio::test]
async fn ends_the_session_when_the_refreshed_id_token_names_another_issuer() {
    ends_after_refresh(Behavior {
        refresh_id_token_claims: json!({ "iss": "http://127.0.0.1:1/other" }),
        ..Behavior::default()
    })
    .await;
}

#[tokio::test]
async fn ends_the_session_when_the_refreshed_id_token_is_unsigned() {
    ends_after_refresh(Behavior {
        refresh_id_token_sig: Sig::AlgNone,
        ..Behavior::default()
    })
    .await;
}

#[tokio::test]
async fn ends_the_session_cleanly_when_the_refresh_token_is_revoked() {
    let t = ends_after_refresh(Behavior {
        refresh: TokenReply::InvalidGrant,
        ..Behavior::default()
    })
    .await;
    let r = t.browser.get("/protected").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/auth/login?next=%2Fprotected");
}

#[tokio::test]
async fn serves_a_still_valid_access_token_while_the_token_endpoint_is_down() {
    let t = short_lived(Behavior {
        refresh: TokenReply::ServerError,
        ..Behavior::default()
    })
    .await;
    let issued = t.seen().access_tokens[0].clone();
    t.adv.advance(Duration::from_secs(1));
    let (status, access_token) = token(&t.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(access_token, issued);
    assert_eq!(t.seen().refresh_grants(), 1, "a refresh was attempted");
}

#[tokio::test]
async fn answers_503_after_expiry_while_the_token_endpoint_is_down_and_recovers() {
    let t = short_lived(Behavior {
        refresh: TokenReply::ServerError,
        ..Behavior::default()
    })
    .await;
    t.adv.advance(Duration::from_secs(2));
    let r = t.browser.get("/me").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert!(
        !clears_session_cookie(&r),
        "a provider outage does not end the session"
    );
    assert_eq!(t.rp.sessions().await, 1);

    t.update(|b| b.refresh = TokenReply::Normal);
    let (status, access_token) = token(&t.browser).await;
    assert_eq!(status, StatusCode::OK, "the same cookie works again");
    assert_eq!(access_token, *t.seen().access_tokens.last().unwrap());
    assert_eq!(t.seen().access_tokens.len(), 2);
}

#[tokio::test]
async fn keeps_userinfo_claims_across_a_refresh() {
    // `with_userinfo` documents that UserInfo is merged "after login and refresh".
    let t = short_lived_with(
        Behavior {
            userinfo_claims: json!({ "favorite_color": "teal" }),
            ..Behavior::default()
        },
        |b| b.with_userinfo(true),
    )
    .await;
    assert_eq!(
        me_json(&t.browser).await["claims"]["favorite_color"],
        "teal"
    );
    t.adv.advance(Duration::from_secs(1));
    let me = me_json(&t.browser).await;
    assert_eq!(t.seen().refresh_grants(), 1);
    assert_eq!(
        me["claims"]["favorite_color"], "teal",
        "UserInfo claims are lost after a refresh: {me}"
    );
}

#[tokio::test]
async fn a_refresh_token_rotated_while_the_id_token_cannot_be_checked_is_kept() {
    // The refreshed ID token is signed with a key the provider has not published yet
    // (a rotation in progress): it cannot be checked, but the provider has already
    // rotated the refresh token. Losing the new one would make the next refresh reuse
    // the old one, and the provider would revoke the grant.
    let t = short_lived_with(
        Behavior {
            refresh_id_token_sig: Sig::By(Key::Rsa2),
            ..Behavior::default()
        },
        |b| b.with_jwks_refetch_interval(Duration::ZERO),
    )
    .await;
    let issued = t.seen().access_tokens[0].clone();
    t.adv.advance(Duration::from_secs(1));
    let (status, access_token) = token(&t.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        access_token, issued,
        "nothing from an unverified response is served"
    );
    assert_eq!(t.seen().refresh_grants(), 1);

    // The rotation completes; the next refresh must present the rotated token.
    t.update(|b| {
        b.jwks = vec![Key::Rsa1, Key::Rsa2];
    });
    t.adv.advance(Duration::from_secs(1));
    let (status, access_token) = token(&t.browser).await;
    assert_eq!(
        t.seen().refresh_token_reuse,
        0,
        "the provider saw a rotated refresh token used again"
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(access_token, *t.seen().access_tokens.last().unwrap());
    assert_eq!(t.seen().refresh_grants(), 2);
}
