//! `GET /admin` of the demo with zero configuration: the embedded provider puts
//! `groups` into its ID tokens, and only members of `admin` get the page.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::{demo, free_port};

/// A browser that keeps cookies and follows no redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Logs `user` in through the embedded provider's `login_hint` shortcut.
async fn login(origin: &str, user: &str) -> reqwest::Client {
    let http = browser();
    let start = http
        .get(format!("{origin}/auth/login?next=/admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let approved = http
        .get(format!("{}&login_hint={user}", location(&start)))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let done = http.get(location(&approved)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{user} signs in");
    assert_eq!(location(&done), "/admin");
    http
}

#[tokio::test]
async fn admin_is_200_for_alice_403_for_bob_and_a_login_for_a_stranger() {
    let origin = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port().to_string();
    let _demo = demo(
        &[],
        &[
            ("APP_URL", origin.as_str()),
            ("DEV_PROVIDER_PORT", op_port.as_str()),
            ("SESSION_STORE", "memory"),
        ],
    )
    .spawn()
    .expect("oidc-demo");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !browser()
        .get(format!("{origin}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "the demo did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stranger = browser()
        .get(format!("{origin}/admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);
    assert!(location(&stranger).starts_with("/auth/login?next=%2Fadmin"));

    let alice = login(&origin, "alice").await;
    let r = alice.get(format!("{origin}/admin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("user-alice"), "{page}");
    assert!(page.contains("admin, staff"), "{page}");

    let bob = login(&origin, "bob").await;
    let r = bob.get(format!("{origin}/admin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(page.contains("Access denied"), "{page}");
    assert!(!page.contains("user-bob"), "{page}");
    // Bob is still signed in: the rest of the site works for him.
    let r = bob.get(format!("{origin}/protected")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
