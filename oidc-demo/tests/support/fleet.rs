//! Several `oidc-demo` instances sharing one store and one cookie key, against the
//! `oidc-provider` npm package: what the fleet tests share.

#![allow(dead_code)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::process::{Child, Command};

use super::node_provider::NodeProvider;

pub const SECRET: &str = "multi-instance-client-secret";
pub const COOKIE_KEY: &str = "/77lyw0yClYwvfbYXNGBee/8yBqi0k8V+mz66FNZzAl7EjHudrN6eW0LdmckOKoE";

/// At most two fleets at once in a test binary: each is a provider and two demo
/// processes, and CI has two cores. Timing assertions ("within a second") need the
/// machine not to be swamped by the other tests of the binary.
static FLEETS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Waits for a fleet slot; hold it for the whole test.
pub async fn slot() -> tokio::sync::SemaphorePermit<'static> {
    FLEETS
        .acquire()
        .await
        .expect("the semaphore is never closed")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The store URL from the environment, or `None` (skipped locally, a failure in CI).
pub fn store_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false") => {
            panic!("{var} must be set in CI")
        }
        _ => {
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

pub struct Demo {
    pub child: Child,
    pub origin: String,
    pub port: u16,
    pub env: Vec<(String, String)>,
}

impl Demo {
    pub async fn start(port: u16, env: Vec<(String, String)>) -> Demo {
        let origin = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_oidc-demo"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("APP_URL", &origin)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn oidc-demo");
        let demo = Demo {
            child,
            origin,
            port,
            env,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            if http.get(format!("{}/", demo.origin)).send().await.is_ok() {
                return demo;
            }
            assert!(
                Instant::now() < deadline,
                "oidc-demo did not start on {}",
                demo.origin
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn restart(mut self) -> Demo {
        self.child.kill().await.unwrap();
        let _ = self.child.wait().await;
        Demo::start(self.port, self.env.clone()).await
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

pub async fn me(b: &reqwest::Client, demo: &Demo) -> (StatusCode, serde_json::Value) {
    let r = b.get(format!("{}/me", demo.origin)).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

pub async fn fleet(store: &str) -> (NodeProvider, Demo, Demo) {
    fleet_with(store, 4, &[], &[]).await
}

/// Two instances over `store`, a provider whose access tokens live
/// `access_token_ttl` seconds, and settings of each instance's own on top of the
/// shared ones. The provider sends back-channel logouts to A.
pub async fn fleet_with(
    store: &str,
    access_token_ttl: u64,
    only_a: &[(&str, &str)],
    only_b: &[(&str, &str)],
) -> (NodeProvider, Demo, Demo) {
    let (pa, pb) = (free_port(), free_port());
    let (a, b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    let op = NodeProvider::start(json!({
        "clients": [{
            "client_id": "demo",
            "client_secret": SECRET,
            "redirect_uris": [format!("{a}/auth/callback"), format!("{b}/auth/callback")],
            "post_logout_redirect_uris": [format!("{a}/auth/logout/callback"), format!("{b}/auth/logout/callback")],
            "backchannel_logout_uri": format!("{a}/auth/backchannel-logout"),
            "backchannel_logout_session_required": true,
            "grant_types": ["authorization_code", "refresh_token"],
        }],
        "accessTokenTtl": access_token_ttl,
        "rotateRefreshToken": true,
    }))
    .await;
    let shared: Vec<(String, String)> = [
        ("OIDC_ISSUER", op.issuer.as_str()),
        ("OIDC_CLIENT_ID", "demo"),
        ("OIDC_CLIENT_SECRET", SECRET),
        ("OIDC_SCOPES", "openid profile offline_access"),
        ("SESSION_STORE", store),
        ("COOKIE_KEY", COOKIE_KEY),
        ("OIDC_REFRESH_MARGIN_SECS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let with = |own: &[(&str, &str)]| {
        let mut env = shared.clone();
        for (k, v) in own {
            env.retain(|(name, _)| name != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        env
    };
    let (da, db) = tokio::join!(Demo::start(pa, with(only_a)), Demo::start(pb, with(only_b)));
    (op, da, db)
}

pub async fn login(op: &NodeProvider, b: &reqwest::Client, demo: &Demo, sub: &str) {
    let r = b
        .get(format!("{}/auth/login?next=/me", demo.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = op.authorize(&location(&r), sub).await;
    let done = b.get(back).send().await.unwrap();
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{}",
        done.text().await.unwrap_or_default()
    );
}
