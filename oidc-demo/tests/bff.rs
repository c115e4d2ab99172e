//! The demo's backend-for-frontend with zero configuration: `/bff/api/me` forwards to
//! its own bearer-protected `/api/me` with the session's access token, behind the
//! CSRF header; `/spa` is served; `{base}/session` and the script logout answer JSON.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use support::{demo, free_port};

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

async fn login(origin: &str, user: &str) -> reqwest::Client {
    let http = browser();
    let start = http
        .get(format!("{origin}/auth/login?next=/spa"))
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
    assert_eq!(location(&done), "/spa");
    http
}

#[tokio::test]
async fn the_spa_backend_forwards_to_the_bearer_api_behind_the_csrf_header() {
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
