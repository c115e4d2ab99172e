//! What the tests of the `oidc-demo` binary share: running it with a clean
//! environment.

#![allow(dead_code)]

use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_oidc-demo");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command with an empty environment but `env`, so settings of the shell running
/// the tests never leak in.
pub fn demo(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs a command that must exit by itself within 15 seconds (and not serve).
pub async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> Output {
    // Whatever it does, it must not take the ports a server would use by default.
    let app_url = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port().to_string();
    let mut all: Vec<(&str, &str)> = vec![("APP_URL", &app_url), ("DEV_PROVIDER_PORT", &op_port)];
    all.extend_from_slice(env);
    let child = demo(args, &all).spawn().expect("oidc-demo");
    match tokio::time::timeout(Duration::from_secs(15), child.wait_with_output()).await {
        Ok(out) => out.expect("oidc-demo output"),
        Err(_) => panic!("oidc-demo {args:?} did not exit: it is serving instead"),
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A browser that keeps cookies and follows no redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// The `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Waits (30 s at most) until the demo at `origin` answers `/readyz` with 200.
pub async fn wait_ready(origin: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !browser()
        .get(format!("{origin}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the demo at {origin} did not get ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The demo with zero configuration (its embedded provider, the memory store) on
/// free ports, ready; its origin. The process ends when the child is dropped.
pub async fn zero_config_demo() -> (tokio::process::Child, String) {
    let origin = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port().to_string();
    let child = demo(
        &[],
        &[
            ("APP_URL", origin.as_str()),
            ("DEV_PROVIDER_PORT", op_port.as_str()),
            ("SESSION_STORE", "memory"),
        ],
    )
    .spawn()
    .expect("oidc-demo");
    wait_ready(&origin).await;
    (child, origin)
}

/// Signs `user` in with a new browser, starting at `{origin}{login}` (the embedded
/// provider's `login_hint` shortcut), and checks the login lands on `next`.
pub async fn login_with_hint(origin: &str, login: &str, user: &str, next: &str) -> reqwest::Client {
    let http = browser();
    let start = http.get(format!("{origin}{login}")).send().await.unwrap();
    assert_eq!(start.status(), reqwest::StatusCode::SEE_OTHER, "{login}");
    let approved = http
        .get(format!("{}&login_hint={user}", location(&start)))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let done = http.get(location(&approved)).send().await.unwrap();
    assert_eq!(
        done.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{user} signs in"
    );
    assert_eq!(location(&done), next);
    http
}
