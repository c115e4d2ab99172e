//! The authorization response (RFC 6749 4.1.2, RFC 9207), the code exchange, open
//! redirects through `next`, and UserInfo (OIDC Core 5.3.4).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

async fn refused_before_exchange(behavior: Behavior, status: StatusCode) -> Trial {
    let t = Trial::new(behavior).await;
    t.login_is_refused(status).await;
    assert_eq!(
        t.seen().code_exchanges(),
        0,
        "a bad authorization response must be refused before the code is exchanged"
    );
    t
}

#[tokio::test]
async fn rejects_authorization_response_with_changed_state() {
    refused_before_exchange(
        Behavior {
            authorize_state: Echo::Changed,
            ..Behavior::default()
        },
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn rejects_authorization_response_without_state() {
    refused_before_exchange(
        Behavior {
            authorize_state: Echo::Dropped,
            ..Behavior::default()
        },
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn rejects_authorization_response_with_wrong_iss() {
    refused_before_exchange(
        Behavior {
            authorize_iss: Echo::Changed,
            ..Behavior::default()
        },
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn rejects_authorization_response_without_iss_when_the_provider_advertises_it() {
    refused_before_exchange(
        Behavior {
            advertise_iss: true,
            authorize_iss: Echo::Dropped,
            ..Behavior::default()
        },
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn accepts_authorization_response_without_iss_when_the_provider_does_not_advertise_it() {
    let t = Trial::new(Behavior {
        advertise_iss: false,
        authorize_iss: Echo::Dropped,
        ..Behavior::default()
    })
    .await;
    t.login_ok().await;
}

#[tokio::test]
async fn shows_a_clear_page_when_the_user_denies_access() {
    let t = Trial::new(Behavior {
        authorize_error: Some("access_denied"),
        ..Behavior::default()
    })
    .await;
    let r = t.login("/me").await;
    let status = r.status();
    assert!(status.is_client_error(), "{status}");
    assert!(!sets_session(&r));
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>"), "a human-readable page: {html}");
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.seen().code_exchanges(), 0);
}

#[tokio::test]
async fn rejects_a_callback_that_belongs_to_another_browser() {
    // Login CSRF: the attacker's own authorization response, planted in the victim's
    // browser, carries a state the victim's browser has no login cookie for.
    let t = Trial::new(Behavior::default()).await;
    let attacker = t.rp.browser();
    let authorization_url = attacker.start_login("/me").await;
    let approved = attacker.get(&authorization_url).await;
    let planted = location(&approved);
    let r = t.browser.finish_login(&planted).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!sets_session(&r));
    assert_eq!(me(&t.browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.seen().code_exchanges(), 0);
}

/// The raw steps of a login with a cookie-less client: the callback URL and the
/// login cookie (`name=value`) it needs, so a test can replay both.
async fn captured_callback(t: &Trial) -> (reqwest::Client, String, String) {
    let client = crate::app::no_redirect_client();
    let start = client
        .get(format!("{}/auth/login?next=%2Fme", t.rp.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let login_cookie = set_cookies(&start)[0].split(';').next().unwrap().to_owned();
    let approved = client.get(location(&start)).send().await.unwrap();
    (client, location(&approved), login_cookie)
}

#[tokio::test]
async fn refuses_a_replayed_callback_and_exchanges_the_code_once() {
    let t = Trial::new(Behavior::default()).await;
    let (client, callback, cookie) = captured_callback(&t).await;
    let first = client
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(sets_session(&first));
    let second = client
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    assert!(!sets_session(&second), "a replay must not create a session");
    assert_eq!(t.seen().code_exchanges(), 1);
    assert_eq!(t.rp.sessions().await, 1);
}

#[tokio::test]
async fn concurrent_replays_of_a_callback_create_one_session() {
    let t = Trial::new(Behavior::default()).await;
    let (client, callback, cookie) = captured_callback(&t).await;
    let send = || client.get(&callback).header("cookie", &cookie).send();
    let (a, b, c) = tokio::join!(send(), send(), send());
    let statuses = [a.unwrap(), b.unwrap(), c.unwrap()].map(|r| r.status());
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(created, 1, "exactly one callback wins: {statuses:?}");
    assert_eq!(t.seen().code_exchanges(), 1);
    assert_eq!(t.rp.sessions().await, 1);
}

#[tokio::test]
async fn rejects_a_code_the_token_endpoint_refuses() {
    let t = Trial::new(Behavior {
        token: TokenReply::InvalidGrant,
        ..Behavior::default()
    })
    .await;
    t.login_is_refused(StatusCode::BAD_REQUEST).await;
    assert_eq!(t.seen().code_exchanges(), 1);
}

#[tokio::test]
async fn answers_503_when_the_token_endpoint_fails() {
    let t = Trial::new(Behavior {
        token: TokenReply::ServerError,
        ..Behavior::default()
    })
    .await;
    let r = t.login_is_refused(StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(t.seen().code_exchanges(), 1);
}

#[tokio::test]
async fn answers_503_when_the_token_endpoint_hangs() {
    let t = Trial::with(
        Behavior {
            token: TokenReply::Hang,
            ..Behavior::default()
        },
        |b| b.with_http_timeout(Duration::from_millis(500)),
    )
    .await;
    t.login_is_refused(StatusCode::SERVICE_UNAVAILABLE).await;
}

#[tokio::test]
async fn rejects_a_token_response_that_is_not_a_bearer_token() {
    let t = Trial::new(Behavior {
        token_type: "DPoP",
        ..Behavior::default()
    })
    .await;
    // Not a forged answer: the provider is set up for another token type.
    t.login_is_refused(StatusCode::INTERNAL_SERVER_ERROR).await;
}

const OPEN_REDIRECTS: &[&str] = &[
    "//evil.example",
    "//evil.example/%2F..",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "%5C%5Cevil.example",
    "https://evil.example",
    "https://evil.example/me",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\u{0}/evil.example",
];

#[tokio::test]
async fn sends_every_open_redirect_variant_of_next_to_the_root() {
    let t = Trial::new(Behavior::default()).await;
    for next in OPEN_REDIRECTS {
        let r = t.login(next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&r), "/", "next={next:?} must fall back to /");
    }
}

#[tokio::test]
async fn returns_to_a_local_next_path_after_login() {
    let t = Trial::new(Behavior::default()).await;
    let r = t.login("/protected?tab=keys&x=%2F").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/protected?tab=keys&x=%2F");
}

#[tokio::test]
async fn returns_to_a_non_ascii_next_path_percent_encoded() {
    let t = Trial::new(Behavior::default()).await;
    let r = t.login("/café").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(to.as_deref(), Some("/caf%C3%A9"));
}

#[tokio::test]
async fn merges_userinfo_claims_when_the_subject_matches() {
    let t = Trial::with(
        Behavior {
            userinfo_claims: json!({ "favorite_color": "teal" }),
            ..Behavior::default()
        },
        |b| b.with_userinfo(true),
    )
    .await;
    t.login_ok().await;
    assert_eq!(
        me_json(&t.browser).await["claims"]["favorite_color"],
        "teal"
    );
    assert_eq!(t.seen().userinfo, 1);
}

#[tokio::test]
async fn rejects_userinfo_for_another_subject() {
    let t = Trial::with(
        Behavior {
            userinfo_claims: json!({ "sub": "mallory" }),
            ..Behavior::default()
        },
        |b| b.with_userinfo(true),
    )
    .await;
    t.login_is_refused(StatusCode::BAD_REQUEST).await;
    assert_eq!(t.seen().userinfo, 1);
}

#[tokio::test]
async fn rejects_userinfo_without_a_subject() {
    let t = Trial::with(
        Behavior {
            userinfo_claims: json!({ "sub": null }),
            ..Behavior::default()
        },
        |b| b.with_userinfo(true),
    )
    .await;
    t.login_is_refused(StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn rejects_a_callback_that_arrives_after_the_login_expired() {
    let t = Trial::new(Behavior::default()).await;
    let authorization_url = t.browser.start_login("/me").await;
    let approved = t.browser.get(&authorization_url).await;
    t.adv.advance(Duration::from_secs(601));
    let r = t.browser.finish_login(&location(&approved)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!sets_session(&r));
    assert_eq!(t.seen().code_exchanges(), 0);
}
