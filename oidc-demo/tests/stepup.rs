//! `GET /sensitive` of the demo: a login within the last `STEP_UP_MAX_AGE_SECS`
//! seconds (plus the library's 60 s clock-skew leeway) opens it; an older one logs
//! in again with `max_age`, and a script gets the RFC 9470 challenge.
//!
//! The demo runs on the real clock, so the stale case waits out max_age + leeway
//! (about a minute) with `STEP_UP_MAX_AGE_SECS=1`.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::{browser, demo, free_port, location, wait_ready};

/// The library's default leeway for clock skew, which the step-up check allows.
const LEEWAY: Duration = Duration::from_secs(60);

/// From a login URL of the demo, through the embedded provider's `login_hint`
/// shortcut, to the callback; returns the provider URL and the callback's redirect.
async fn login_via(http: &reqwest::Client, origin: &str, login_url: &str) -> (String, String) {
    let start = http
        .get(format!("{origin}{login_url}"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let authorization_url = location(&start);
    let approved = http
        .get(format!("{authorization_url}&login_hint=alice"))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let done = http.get(location(&approved)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "alice signs in");
    (authorization_url, location(&done))
}

async fn start_demo(max_age: &str) -> (tokio::process::Child, String) {
    let origin = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port().to_string();
    let child = demo(
        &[],
        &[
            ("APP_URL", origin.as_str()),
            ("DEV_PROVIDER_PORT", op_port.as_str()),
            ("SESSION_STORE", "memory"),
            ("STEP_UP_MAX_AGE_SECS", max_age),
        ],
    )
    .spawn()
    .expect("oidc-demo");
    wait_ready(&origin).await;
    (child, origin)
}

#[tokio::test]
async fn a_fresh_login_opens_sensitive_and_a_stranger_is_sent_to_login() {
    let (_demo, origin) = start_demo("300").await;
    let stranger = browser()
        .get(format!("{origin}/sensitive"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&stranger), "/auth/login?next=%2Fsensitive");

    let alice = browser();
    let (_, back) = login_via(&alice, &origin, "/auth/login?next=%2Fsensitive").await;
    assert_eq!(back, "/sensitive");
    let page = alice
        .get(format!("{origin}/sensitive"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<strong id="user">user-alice</strong>"#),
        "{html}"
    );
}

#[tokio::test]
async fn past_max_age_sensitive_redirects_with_max_age_and_a_script_gets_the_challenge() {
    let (_demo, origin) = start_demo("1").await;
    let alice = browser();
    let signed_in = Instant::now();
    login_via(&alice, &origin, "/auth/login?next=%2F").await;
    let fresh = alice
        .get(format!("{origin}/sensitive"))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK, "a login just now is fresh");

    tokio::time::sleep(
        (signed_in + Duration::from_secs(3) + LEEWAY).saturating_duration_since(Instant::now()),
    )
    .await;
    let stale = alice
        .get(format!("{origin}/sensitive"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    let login_url = location(&stale);
    assert_eq!(login_url, "/auth/login?next=%2Fsensitive&max_age=1");

    let api = alice
        .get(format!("{origin}/sensitive"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let challenge = api.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("max_age=\"1\""),
        "{challenge}"
    );

    // The step-up: the provider is asked for max_age, and the page opens again.
    let (authorization_url, back) = login_via(&alice, &origin, &login_url).await;
    assert!(
        authorization_url.contains("max_age=1"),
        "{authorization_url}"
    );
    assert_eq!(back, "/sensitive");
    let again = alice
        .get(format!("{origin}/sensitive"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
}
