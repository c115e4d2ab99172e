//! The zero-configuration demo with `OIDC_PROFILE=fapi2` and with `OIDC_DPOP=1`: the
//! embedded provider speaks DPoP (RFC 9449) and `private_key_jwt` (RFC 7523), so a
//! login works without any provider of one's own. What the provider saw is read
//! from its log lines (JSON logs): a pushed request (RFC 9126) and tokens issued as
//! `token_type: DPoP` to a client that authenticated as the profile asks.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use support::{browser, demo, free_port, location, wait_ready};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The demo on free ports with `env`, JSON logs and the memory store, ready; its
/// origin and the log lines it has written so far (read in the background).
async fn start_demo(env: &[(&str, &str)]) -> (tokio::process::Child, String, Logs) {
    let origin = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port().to_string();
    let mut all = vec![
        ("APP_URL", origin.as_str()),
        ("DEV_PROVIDER_PORT", op_port.as_str()),
        ("SESSION_STORE", "memory"),
        ("LOG_FORMAT", "json"),
    ];
    all.extend_from_slice(env);
    let mut child = demo(&[], &all).spawn().expect("oidc-demo");
    let logs = Logs::default();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let sink = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(json) = serde_json::from_str::<Value>(&line) {
                sink.0.lock().unwrap().push(json);
            }
        }
    });
    wait_ready(&origin).await;
    (child, origin, logs)
}

/// The demo's JSON log lines.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<Value>>>);

impl Logs {
    /// The `fields` of the first line whose message starts with `message`, waiting
    /// up to 5 s for it.
    async fn wait_for(&self, message: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(fields) = self.find(message) {
                return fields;
            }
            assert!(Instant::now() < deadline, "no log line {message:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn find(&self, message: &str) -> Option<Value> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .map(|l| &l["fields"])
            .find(|f| {
                f["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(message))
            })
            .cloned()
    }
}

/// Signs alice in from `/auth/login` through the embedded provider's `login_hint`
/// shortcut; the browser and the authorization URL it was sent to.
async fn login(origin: &str) -> (reqwest::Client, String) {
    let http = browser();
    let start = http
        .get(format!("{origin}/auth/login?next=%2F"))
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
    assert_eq!(location(&done), "/");
    (http, authorization_url)
}

/// `/bff/api/me`: the BFF proxy presents the session's DPoP-bound token, with a proof
/// for `{APP_URL}/api/me`, to the demo's own bearer API, which checks it.
async fn api_me_through_the_proxy(http: &reqwest::Client, origin: &str) -> Value {
    let r = http
        .get(format!("{origin}/bff/api/me"))
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn me(http: &reqwest::Client, origin: &str) -> Value {
    let r = http.get(format!("{origin}/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn fapi2_logs_in_at_the_embedded_provider_with_par_private_key_jwt_and_dpop() {
    let (_demo, origin, logs) = start_demo(&[("OIDC_PROFILE", "fapi2")]).await;
    let announced = logs.wait_for("OIDC_PROFILE=fapi2").await;
    assert!(
        announced["kid"].as_str().is_some_and(|k| k.len() == 43),
        "{announced}"
    );

    let (http, authorization_url) = login(&origin).await;
    let query: Vec<String> = url::Url::parse(&authorization_url)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(query, ["client_id", "request_uri"], "{authorization_url}");
    assert_eq!(me(&http, &origin).await["sub"], "user-alice");

    let pushed = logs.wait_for("dev provider accepted a pushed").await;
    assert_eq!(pushed["client_auth"], "private_key_jwt", "{pushed}");
    // RFC 9449 section 10: the pushed request bound the code to the session's key.
    assert_eq!(pushed["dpop_bound"], true, "{pushed}");
    let issued = logs.wait_for("dev provider issued tokens").await;
    assert_eq!(issued["grant_type"], "authorization_code", "{issued}");
    assert_eq!(issued["token_type"], "DPoP", "{issued}");
    assert_eq!(issued["client_auth"], "private_key_jwt", "{issued}");
    let claims = api_me_through_the_proxy(&http, &origin).await;
    assert!(
        claims["cnf"]["jkt"].is_string(),
        "a DPoP-bound token: {claims}"
    );
}

#[tokio::test]
async fn oidc_dpop_logs_in_at_the_embedded_provider_with_dpop_bound_tokens() {
    let (_demo, origin, logs) = start_demo(&[("OIDC_DPOP", "1")]).await;
    let (http, _) = login(&origin).await;
    assert_eq!(me(&http, &origin).await["sub"], "user-alice");

    let issued = logs.wait_for("dev provider issued tokens").await;
    assert_eq!(issued["token_type"], "DPoP", "{issued}");
    assert_eq!(issued["client_auth"], "client_secret_basic", "{issued}");
    assert!(logs.find("dev provider accepted a pushed").is_none());
    let claims = api_me_through_the_proxy(&http, &origin).await;
    assert!(
        claims["cnf"]["jkt"].is_string(),
        "a DPoP-bound token: {claims}"
    );
}
