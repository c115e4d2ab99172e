//! The demo's backend-for-frontend with zero configuration: `/bff/api/me` forwards to
//! its own bearer-protected `/api/me` with the session's access token, behind the
//! CSRF header; `/spa` is served; `{base}/session` and the script logout answer JSON.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{browser, login_with_hint, zero_config_demo};

/// Logs `user` in through the embedded provider's `login_hint` shortcut.
async fn login(origin: &str, user: &str) -> reqwest::Client {
    login_with_hint(origin, "/auth/login?next=/spa", user, "/spa").await
}

#[tokio::test]
async fn the_spa_backend_forwards_to_the_bearer_api_behind_the_csrf_header() {
    let (_demo, origin) = zero_config_demo().await;

    let page = browser().get(format!("{origin}/spa")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/bff/api/me"));

    let stranger = browser()
        .get(format!("{origin}/bff/api/me"))
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let body: Value = stranger.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
    let session = browser()
        .get(format!("{origin}/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::UNAUTHORIZED);

    let alice = login(&origin, "alice").await;
    let r = alice
        .get(format!("{origin}/bff/api/me"))
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let claims: Value = r.json().await.unwrap();
    assert_eq!(claims["sub"], "user-alice", "{claims}");

    let no_header = alice
        .get(format!("{origin}/bff/api/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN);

    let session: Value = alice
        .get(format!("{origin}/auth/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["authenticated"], true);
    assert_eq!(session["claims"]["sub"], "user-alice");

    let out = alice
        .post(format!("{origin}/auth/logout"))
        .header("x-csrf", "1")
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let out: Value = out.json().await.unwrap();
    assert_eq!(out["signed_out"], true);
    assert!(out["redirect_to"].is_string(), "{out}");

    let after = alice
        .get(format!("{origin}/bff/api/me"))
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}
