//! `GET /metrics`: the library's metrics in the Prometheus text format.

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `oidc-demo` on `origin` with the embedded provider on `op_port`, and waits
/// until it answers.
async fn start_demo(origin: &str, op_port: u16) -> tokio::process::Child {
    let demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_oidc-demo"))
        .env_clear()
        .env("APP_URL", origin)
        .env("DEV_PROVIDER_PORT", op_port.to_string())
        .env("SESSION_STORE", "memory")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("oidc-demo");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{origin}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "oidc-demo did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    demo
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn after_one_login_metrics_show_one_successful_login() {
    let (port, op_port) = (free_port(), free_port());
    let origin = format!("http://127.0.0.1:{port}");
    let _demo = start_demo(&origin, op_port).await;
    let http = reqwest::Client::new();

    let before = http.get(format!("{origin}/metrics")).send().await.unwrap();
    assert_eq!(before.status(), StatusCode::OK);
    assert!(
        before.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    let before = before.text().await.unwrap();
    assert!(!before.contains("axum_oidc_logins_total"), "{before}");

    // One login at the embedded provider, through its login_hint shortcut.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser
        .get(format!("{origin}/auth/login?next=/protected"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mut auth = url::Url::parse(&location(&r)).unwrap();
    auth.query_pairs_mut().append_pair("login_hint", "alice");
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(auth)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let r = browser.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/protected");
    let r = browser
        .get(format!("{origin}/protected"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let body = http
        .get(format!("{origin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.lines()
            .any(|l| l == r#"axum_oidc_logins_total{outcome="success"} 1"#),
        "{body}"
    );
    // The code exchange was timed, in buckets.
    assert!(
        body.contains(r#"axum_oidc_provider_request_seconds_bucket{endpoint="token","#),
        "{body}"
    );
}
