//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) through
//! `OidcLogoutHandler`: the provider must send back the `state` it was given.

use std::collections::HashMap;

use axum_oidc_client::OidcLogoutHandler;
use reqwest::StatusCode;

use crate::harness::*;

/// Logs in, logs out at the app, checks the end-session request, and returns the
/// answer of `{base}/logout/callback` after the provider's redirect.
async fn logout_through(end_session_state: Echo) -> reqwest::Response {
    let t = Trial::with_layer(
        Behavior {
            end_session_state,
            ..Behavior::default()
        },
        |b| b,
        |l| l.with_logout_handler(OidcLogoutHandler),
    )
    .await;
    t.login_ok().await;

    let r = t.browser.logout().await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let end_session = location(&r);
    let issuer = t.adv.issuer(t.case);
    assert!(
        end_session.starts_with(&format!("{issuer}/end_session?")),
        "{end_session}"
    );
    let q: HashMap<String, String> = url::Url::parse(&end_session)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q.get("id_token_hint"), t.seen().id_tokens.last());
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    let callback = format!("{}/auth/logout/callback", t.rp.origin);
    assert_eq!(q.get("post_logout_redirect_uri"), Some(&callback));
    assert!(q.get("state").is_some_and(|s| s.len() >= 16), "{q:?}");
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);

    let at_provider = t.browser.get(&end_session).await;
    assert_eq!(at_provider.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.seen().end_session.len(), 1);
    let back = location(&at_provider);
    assert!(back.starts_with(&callback), "{back}");
    let answer = t.browser.get(&back).await;
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.rp.sessions().await, 0);
    answer
}

#[tokio::test]
async fn rp_initiated_logout_returns_home_when_the_provider_echoes_state() {
    let r = logout_through(Echo::Same).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
}

#[tokio::test]
async fn rp_initiated_logout_refuses_a_changed_state() {
    let r = logout_through(Echo::Changed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("<h1>"));
}

#[tokio::test]
async fn rp_initiated_logout_refuses_a_dropped_state() {
    let r = logout_through(Echo::Dropped).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("<h1>"));
}
