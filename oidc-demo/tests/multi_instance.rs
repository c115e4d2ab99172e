//! Two `oidc-demo` instances sharing one store and one cookie key, against the
//! `oidc-provider` npm package: what a fleet behind a load balancer needs.

#[path = "support/fleet.rs"]
mod fleet;
#[path = "../../axum-oidc-client/tests/support/node_provider.rs"]
mod node_provider;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fleet::{browser, fleet, fleet_with, free_port, login, me, store_url};
use reqwest::StatusCode;
use tokio::process::{Child, Command};

/// `revocation_bound`: how long another instance may still serve a revoked session
/// (zero for plain shared stores, the local-tier TTL for two-tier).
async fn sessions_are_shared_across_instances(store: &str, revocation_bound: Duration) {
    let _slot = fleet::slot().await;
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

/// A shared store's URL from `$var`, then the shared-session checks with no
/// revocation delay allowed.
macro_rules! shared_fleet_tests {
    ($($name:ident: $var:literal,)*) => {$(
        #[tokio::test]
        async fn $name() {
            if !node_provider::should_run() {
                return;
            }
            let Some(url) = store_url($var) else {
                return;
            };
            sessions_are_shared_across_instances(&url, Duration::ZERO).await;
        }
    )*};
}

shared_fleet_tests! {
    two_instances_share_sessions_refresh_and_logout_through_redis: "AXUM_OIDC_TEST_REDIS_URL",
    two_instances_share_sessions_refresh_and_logout_through_postgres: "AXUM_OIDC_TEST_POSTGRES_URL",
    two_instances_share_sessions_refresh_and_logout_through_redis_cluster: "AXUM_OIDC_TEST_REDIS_CLUSTER_URL",
    two_instances_share_sessions_refresh_and_logout_through_redis_sentinel: "AXUM_OIDC_TEST_REDIS_SENTINEL_URL",
}

#[tokio::test]
async fn two_instances_share_sessions_through_two_tier_over_redis() {
    if !node_provider::should_run() {
        return;
    }
    let Some(url) = store_url("AXUM_OIDC_TEST_REDIS_URL") else {
        return;
    };
    // The default local tier lives five minutes; its channel carries the logout.
    sessions_are_shared_across_instances(&format!("tiered+{url}"), Duration::from_secs(1)).await;
}

/// Two instances over `tiered+{url}` with a five-minute local tier, so only the
/// invalidation channel can make B see within a second what A changed: a refresh,
/// then a back-channel logout. A refreshes on every request past its first second
/// (a margin of 59 s on 60 s tokens); B never does during the test (a margin of 1 s),
/// so the new token B serves can only be A's.
async fn a_local_tier_hears_of_a_refresh_and_a_logout_within_a_second(url: &str) {
    let _slot = fleet::slot().await;
    let (op, a, b) = fleet_with(
        &format!("tiered+{url}"),
        60,
        &[
            ("SESSION_LOCAL_TTL_SECS", "300"),
            ("OIDC_REFRESH_MARGIN_SECS", "59"),
        ],
        &[("SESSION_LOCAL_TTL_SECS", "300")],
    )
    .await;
    for demo in [&a, &b] {
        let ready = readyz(demo).await;
        assert_eq!(ready["invalidation"]["state"], "up", "{ready}");
    }
    let user = browser();
    login(&op, &user, &a, "dave").await;
    let (status, first) = me(&user, &b).await;
    assert_eq!(status, StatusCode::OK, "B serves A's session: {first}");
    let first = first["expires"].clone();

    // A refreshes: B serves the new tokens within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    op.reset_stats().await;
    let (status, refreshed) = me(&user, &a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(op.stats().await["refresh_grants"], 1, "A refreshed");
    let refreshed = refreshed["expires"].clone();
    assert_ne!(refreshed, first);
    let since = Instant::now();
    loop {
        let (status, seen) = me(&user, &b).await;
        assert_eq!(status, StatusCode::OK);
        if seen["expires"] == refreshed {
            break;
        }
        assert_eq!(seen["expires"], first);
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "B still served the replaced tokens after {:?}",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(op.stats().await["refresh_grants"], 1, "B did not refresh");

    // A receives a back-channel logout: B answers 401 within a second.
    op.logout_sub("dave").await;
    assert_eq!(me(&user, &a).await.0, StatusCode::UNAUTHORIZED);
    let since = Instant::now();
    loop {
        let status = me(&user, &b).await.0;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "B still served the session {:?} after the logout",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The demo's `/readyz` body.
async fn readyz(demo: &fleet::Demo) -> serde_json::Value {
    reqwest::get(format!("{}/readyz", demo.origin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

macro_rules! tiered_fleet_tests {
    ($($name:ident: $var:literal,)*) => {$(
        #[tokio::test]
        async fn $name() {
            if !node_provider::should_run() {
                return;
            }
            let Some(url) = store_url($var) else {
                return;
            };
            a_local_tier_hears_of_a_refresh_and_a_logout_within_a_second(&url).await;
        }
    )*};
}

tiered_fleet_tests! {
    tiered_redis_instances_hear_of_refreshes_and_logouts_within_a_second: "AXUM_OIDC_TEST_REDIS_URL",
    tiered_postgres_instances_hear_of_refreshes_and_logouts_within_a_second: "AXUM_OIDC_TEST_POSTGRES_URL",
    tiered_mysql_instances_hear_of_refreshes_and_logouts_within_a_second: "AXUM_OIDC_TEST_MYSQL_URL",
    tiered_redis_cluster_instances_hear_of_refreshes_and_logouts_within_a_second: "AXUM_OIDC_TEST_REDIS_CLUSTER_URL",
    tiered_redis_sentinel_instances_hear_of_refreshes_and_logouts_within_a_second: "AXUM_OIDC_TEST_REDIS_SENTINEL_URL",
}

#[tokio::test]
async fn tiered_sqlite_instances_hear_of_refreshes_and_logouts_within_a_second() {
    if !node_provider::should_run() {
        return;
    }
    let file = std::env::temp_dir().join(format!("axum-oidc-tiered-{}.db", free_port()));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    a_local_tier_hears_of_a_refresh_and_a_logout_within_a_second(&url).await;
    let _ = std::fs::remove_file(&file);
}

/// A Redis server of this test's own, so stopping it disturbs no other test.
struct OwnRedis {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

/// Whether `redis-server` can be run (required in CI; skipped otherwise).
fn redis_server_installed() -> bool {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "redis-server is required in CI"
    );
    eprintln!("skipped: redis-server not installed");
    false
}

impl OwnRedis {
    /// A server on a free port, its data in a new temporary directory.
    async fn in_a_temporary_dir() -> (OwnRedis, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("axum-oidc-redis-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        (OwnRedis::start(free_port(), &dir).await, dir)
    }

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
    if !node_provider::should_run() || !redis_server_installed() {
        return;
    }
    let _slot = fleet::slot().await;
    let (redis, _dir) = OwnRedis::in_a_temporary_dir().await;
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

/// Redis restarts under two instances of a `tiered+` store: both report the channel
/// down (ready, degraded) while it is gone, subscribe again once it is back, and
/// revocations flow again; nothing they kept from before is served, because the local
/// tier was flushed.
#[tokio::test]
async fn after_a_redis_restart_the_channel_comes_back_and_revocations_flow_again() {
    if !node_provider::should_run() || !redis_server_installed() {
        return;
    }
    let _slot = fleet::slot().await;
    let (redis, _dir) = OwnRedis::in_a_temporary_dir().await;
    let url = format!("tiered+redis://127.0.0.1:{}", redis.port);
    let (op, a, b) = fleet_with(
        &url,
        60,
        &[("SESSION_LOCAL_TTL_SECS", "300")],
        &[("SESSION_LOCAL_TTL_SECS", "300")],
    )
    .await;
    let user = browser();
    login(&op, &user, &a, "erin").await;
    assert_eq!(me(&user, &b).await.0, StatusCode::OK);

    // Redis goes away and comes back with its data.
    let (port, dir) = redis.save_and_kill().await;
    let down = Instant::now();
    loop {
        let ready = readyz(&b).await;
        if ready["invalidation"]["state"] == "down" {
            assert_eq!(ready["status"], "not_ready", "the store itself is gone too");
            break;
        }
        assert!(
            down.elapsed() < Duration::from_secs(15),
            "never reported down: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _redis = OwnRedis::start(port, &dir).await;
    let back = Instant::now();
    for demo in [&a, &b] {
        loop {
            let ready = readyz(demo).await;
            if ready["invalidation"]["state"] == "up" {
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(30),
                "never back: {ready}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // The session is still there, and a back-channel logout on A reaches B at once.
    assert_eq!(me(&user, &b).await.0, StatusCode::OK);
    op.logout_sub("erin").await;
    assert_eq!(me(&user, &a).await.0, StatusCode::UNAUTHORIZED);
    let since = Instant::now();
    while me(&user, &b).await.0 != StatusCode::UNAUTHORIZED {
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "B still served the session after the channel came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
