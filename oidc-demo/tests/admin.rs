//! `GET /admin` of the demo with zero configuration: the embedded provider puts
//! `groups` into its ID tokens, and only members of `admin` get the page.

mod support;

use reqwest::StatusCode;
use support::{browser, location, login_with_hint, zero_config_demo};

/// Logs `user` in through the embedded provider's `login_hint` shortcut.
async fn login(origin: &str, user: &str) -> reqwest::Client {
    login_with_hint(origin, "/auth/login?next=/admin", user, "/admin").await
}

#[tokio::test]
async fn admin_is_200_for_alice_403_for_bob_and_a_login_for_a_stranger() {
    let (_demo, origin) = zero_config_demo().await;

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
