//! The demo started while its provider is down: it serves, `/readyz` says why it is
//! not ready, logins answer 503, and once the provider is up login works without a
//! restart and `/readyz` answers 200.

use std::process::Stdio;
use std::time::{Duration, Instant};

use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig};
use reqwest::StatusCode;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_oidc-demo");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_demo_starts_without_its_provider_and_logs_in_once_it_is_up() {
    let app_url = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let _demo = Command::new(BIN)
        .env_clear()
        .envs([
            ("APP_URL", app_url.as_str()),
            ("OIDC_ISSUER", issuer.as_str()),
            ("OIDC_CLIENT_ID", "ready-test"),
            ("OIDC_CLIENT_SECRET", "ready-test-client-secret-0123456789"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("oidc-demo");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{app_url}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "the demo did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(
        http.get(format!("{app_url}/"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ready = http.get(format!("{app_url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["reason"], "discovery_pending");
    assert_eq!(body["discovery"]["state"], "pending");
    assert_eq!(body["store"]["state"], "reachable");

    let login = http
        .get(format!("{app_url}/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(login.headers().contains_key("retry-after"));

    let client = ClientRegistration::confidential(
        "ready-test",
        "ready-test-client-secret-0123456789",
        format!("{app_url}/auth/callback"),
    );
    let _op = DevProvider::start(
        DevProviderConfig::default()
            .with_bind(([127, 0, 0, 1], op_port).into())
            .with_issuer(issuer.clone())
            .with_client(client),
    )
    .await
    .expect("provider");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let start = http
        .get(format!("{app_url}/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        start.status(),
        StatusCode::SEE_OTHER,
        "login works without a restart"
    );
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    let approved = http
        .get(format!("{authorize}&login_hint=alice"))
        .send()
        .await
        .unwrap();
    let callback = approved.headers()["location"].to_str().unwrap().to_owned();
    let done = http.get(callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let me = http.get(format!("{app_url}/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let ready = http.get(format!("{app_url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["discovery"]["state"], "discovered");
}
