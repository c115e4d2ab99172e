//! Two `oidc-demo` instances sharing one store and one cookie key, against the
//! `oidc-provider` npm package: what a fleet behind a load balancer needs.

#[path = "../../axum-oidc-client/tests/support/node_provider.rs"]
mod node_provider;

use std::process::Stdio;
use std::time::{Duration, Instant};

use node_provider::NodeProvider;
use reqwest::StatusCode;
use serde_json::json;
use tokio::process::{Child, Command};

const SECRET: &str = "multi-instance-client-secret";
const COOKIE_KEY: &str = "/77lyw0yClYwvfbYXNGBee/8yBqi0k8V+mz66FNZzAl7EjHudrN6eW0LdmckOKoE";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The store URL from the environment, or `None` (skipped locally, a failure in CI).
fn store_url(var: &str) -> Option<String> {
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

struct Demo {
    child: Child,
    origin: String,
    port: u16,
    env: Vec<(String, String)>,
}

impl Demo {
    async fn start(port: u16, env: Vec<(String, String)>) -> Demo {
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

    async fn restart(mut self) -> Demo {
        self.child.kill().await.unwrap();
        let _ = self.child.wait().await;
        Demo::start(self.port, self.env.clone()).await
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn me(b: &reqwest::Client, demo: &Demo) -> (StatusCode, serde_json::Value) {
    let r = b.get(format!("{}/me", demo.origin)).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

async fn fleet(store: &str) -> (NodeProvider, Demo, Demo) {
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
        "accessTokenTtl": 4,
        "rotateRefreshToken": true,
    }))
    .await;
    let env: Vec<(String, String)> = [
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
    let (da, db) = tokio::join!(Demo::start(pa, env.clone()), Demo::start(pb, env));
    (op, da, db)
}

async fn login(op: &NodeProvider, b: &reqwest::Client, demo: &Demo, sub: &str) {
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

/// `revocation_bound`: how long another instance may still serve a revoked session
/// (zero for plain shared stores, the local-tier TTL for two-tier).
async fn sessions_are_shared_across_instances(store: &str, revocation_bound: Duration) {
    let (op, a, b) = fleet(store).await;
    let user = browser();
    login(&op, &user, &a, "alice").await;

    // A login on A works on B.
    assert_eq!(me(&user, &a).await.1["sub"], "alice");
    assert_eq!(me(&user, &b).await.1["sub"], "alice");

    // After expiry, concurrent requests to A and B share exactly one refresh.
    op.reset_stats().await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let user = user.clone();
        let origin = if i % 2 == 0 {
            a.origin.clone()
        } else {
            b.origin.clone()
        };
        tasks.push(tokio::spawn(async move {
            user.get(format!("{origin}/me"))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap(),
            StatusCode::OK,
            "no request fails during the refresh"
        );
    }
    let stats = op.stats().await;
    assert_eq!(
        stats["refresh_grants"], 1,
        "one refresh for the whole fleet: {stats}"
    );

    // Restarting both instances keeps the session.
    let (a, b) = (a.restart().await, b.restart().await);
    assert_eq!(me(&user, &b).await.0, StatusCode::OK);
    assert_eq!(me(&user, &a).await.0, StatusCode::OK);

    // A back-channel logout received by A ends the session on B.
    let other = browser();
    login(&op, &other, &b, "bob").await;
    op.logout_sub("alice").await;
    let stats = op.stats().await;
    assert!(
        stats["backchannel_logouts_sent"].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
    assert_eq!(
        me(&user, &a).await.0,
        StatusCode::UNAUTHORIZED,
        "A received the logout"
    );
    let logged_out = Instant::now();
    loop {
        let status = me(&user, &b).await.0;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            logged_out.elapsed() <= revocation_bound + Duration::from_millis(500),
            "B still served the session {:?} after the logout",
            logged_out.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        me(&other, &a).await.0,
        StatusCode::OK,
        "bob is still signed in"
    );
}

#[tokio::test]
async fn two_instances_share_sessions_refresh_and_logout_through_redis() {
    if !node_provider::should_run() {
        return;
    }
    let Some(url) = store_url("AXUM_OIDC_TEST_REDIS_URL") else {
        return;
    };
    sessions_are_shared_across_instances(&url, Duration::ZERO).await;
}

#[tokio::test]
async fn two_instances_share_sessions_refresh_and_logout_through_postgres() {
    if !node_provider::should_run() {
        return;
    }
    let Some(url) = store_url("AXUM_OIDC_TEST_POSTGRES_URL") else {
        return;
    };
    sessions_are_shared_across_instances(&url, Duration::ZERO).await;
}

#[tokio::test]
async fn two_instances_share_sessions_through_two_tier_over_redis() {
    if !node_provider::should_run() {
        return;
    }
    let Some(url) = store_url("AXUM_OIDC_TEST_REDIS_URL") else {
        return;
    };
    let bound = axum_oidc_client::store::two_tier::DEFAULT_L1_TTL;
    sessions_are_shared_across_instances(&format!("tiered+{url}"), bound).await;
}

/// A Redis server of this test's own, so stopping it disturbs no other test.
struct OwnRedis {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl OwnRedis {
    async fn start(port: u16, dir: &std::path::Path) -> OwnRedis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        OwnRedis {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.id().unwrap().to_string();
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    async fn save_and_kill(mut self) -> (u16, std::path::PathBuf) {
        let status = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "save"])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.kill().await.unwrap();
        let _ = self.child.wait().await;
        (self.port, self.dir.clone())
    }
}

#[tokio::test]
async fn a_redis_outage_gives_503s_without_logging_anyone_out_and_the_session_comes_back() {
    if !node_provider::should_run() {
        return;
    }
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is required in CI"
        );
        eprintln!("skipped: redis-server not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("axum-oidc-redis-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let redis = OwnRedis::start(free_port(), &dir).await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let (op, a, _b) = fleet(&url).await;
    let user = browser();
    login(&op, &user, &a, "carol").await;
    assert_eq!(me(&user, &a).await.0, StatusCode::OK);

    // Redis hangs: requests that need the session get 503, quickly, never a logout.
    redis.signal("-STOP");
    let started = Instant::now();
    let r = user.get(format!("{}/me", a.origin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert!(
        r.headers().get_all("set-cookie").iter().next().is_none(),
        "cookie kept"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "answered within the store timeout"
    );
    let r = user
        .get(format!("{}/protected", a.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not sent to login"
    );
    redis.signal("-CONT");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        me(&user, &a).await.0,
        StatusCode::OK,
        "the same session works again"
    );

    // Redis dies and comes back (with its data): the app reconnects by itself.
    let (port, dir) = redis.save_and_kill().await;
    let r = user.get(format!("{}/me", a.origin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let _redis = OwnRedis::start(port, &dir).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = me(&user, &a).await;
        if status == StatusCode::OK {
            assert_eq!(body["sub"], "carol");
            break;
        }
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "never a logout while reconnecting"
        );
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
