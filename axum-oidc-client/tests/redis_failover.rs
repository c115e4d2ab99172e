//! A Sentinel failover under load: the primary is stopped (`SIGSTOP`), Sentinel
//! promotes the replica, and the store answers every operation either correctly or
//! with an error (the layer's 503), never "no such session" (a logout) nor a wrong
//! record; afterwards every session written before is readable. The same failover
//! seen by a signed-in browser through the layer: 200 or 503, never a logout.
//!
//! Reads `AXUM_OIDC_TEST_REDIS_SENTINEL_URL` (`scripts/redis-topologies.sh start`);
//! unset, the test prints `skipped: …` and passes, unless `CI` is set. Its own test
//! binary, so the failover does not disturb the store suite running in parallel.
#![cfg(all(feature = "redis", feature = "test-util", unix))]

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/app.rs"]
mod app;

use ::redis::AsyncCommands as _;
use ::redis::aio::MultiplexedConnection;
use axum_oidc_client::store::suite::{KEY, key, record, unique_name};
use axum_oidc_client::store::{AuthCache, RedisStore, SessionCodec, SessionKey, SessionRecord};

const VAR: &str = "AXUM_OIDC_TEST_REDIS_SENTINEL_URL";

/// One failover at a time: the tests of this binary share the Sentinel setup.
static FAILOVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn sentinel_url() -> Option<String> {
    match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!("{VAR} must be set when CI is set"),
        _ => {
            eprintln!("skipped: {VAR} not set");
            None
        }
    }
}

/// The sentinels (`host:port`) and the service name of a `redis+sentinel://` URL.
fn sentinels(url: &str) -> (Vec<String>, String) {
    let rest = url
        .strip_prefix("redis+sentinel://")
        .expect("a redis+sentinel:// URL");
    let (nodes, service) = rest.split_once('/').expect("a service name");
    (
        nodes.split(',').map(str::to_owned).collect(),
        service.to_owned(),
    )
}

async fn connect(addr: &str) -> MultiplexedConnection {
    ::redis::Client::open(format!("redis://{addr}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The primary the first sentinel names, as `host:port`.
async fn named_primary(sentinel: &str, service: &str) -> String {
    let (host, port): (String, u16) = ::redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(service)
        .query_async(&mut connect(sentinel).await)
        .await
        .unwrap();
    format!("{host}:{port}")
}

async fn info_field(conn: &mut MultiplexedConnection, section: &str, field: &str) -> String {
    let info: String = ::redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Whether the server at `addr` is a replica whose link to its primary is up.
async fn replica_link_up(addr: &str) -> bool {
    let Ok(client) = ::redis::Client::open(format!("redis://{addr}")) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    let info: Result<String, _> = ::redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut conn)
        .await;
    info.is_ok_and(|i| i.contains("master_link_status:up"))
}

/// Waits until the Sentinel setup is healthy before a failover is staged: every
/// sentinel names the same primary, and the primary's one replica is online with its
/// link up and no sync in progress. A test binary run just before may have failed
/// over itself, and a replica still resynchronising when it is promoted comes up with
/// a partial dataset (Redis replicates asynchronously), which is not what these tests
/// are about.
async fn settled(sentinels: &[String], service: &str) {
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the Sentinel setup did not settle within 60 s"
        );
        let mut named = Vec::new();
        for s in sentinels {
            named.push(named_primary(s, service).await);
        }
        let primary = named[0].clone();
        if named.iter().all(|n| *n == primary) {
            let mut conn = connect(&primary).await;
            let role = info_field(&mut conn, "replication", "role").await;
            let online = info_field(&mut conn, "replication", "slave0").await;
            let replica = online.split(',').filter_map(|kv| kv.split_once('=')).fold(
                (None, None),
                |(ip, port), (k, v)| match k {
                    "ip" => (Some(v.to_owned()), port),
                    "port" => (ip, Some(v.to_owned())),
                    _ => (ip, port),
                },
            );
            if role == "master"
                && online.contains("state=online")
                && let (Some(ip), Some(port)) = replica
            {
                let mut replica = connect(&format!("{ip}:{port}")).await;
                let link = info_field(&mut replica, "replication", "master_link_status").await;
                let syncing =
                    info_field(&mut replica, "replication", "master_sync_in_progress").await;
                if link == "up" && syncing == "0" {
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends `signal` to a process with `kill`.
fn signal(pid: &str, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, pid])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Resumes the stopped primary even when the test fails, so the setup recovers.
struct Resume(String);

impl Drop for Resume {
    fn drop(&mut self) {
        signal(&self.0, "-CONT");
    }
}

/// The replica the sentinels will promote has every write so far, by anyone.
///
/// `WAIT` waits for the replication offset of the calling connection's own last
/// write, so on a connection that wrote nothing it returns at once, whatever the
/// replica lags. A write on this connection first moves that offset to the
/// primary's current one, which covers the store's writes made on its own
/// connection. Without it, a replica that has just finished a full resynchronisation
/// (and lags by a second or two) can be promoted without the sessions the test
/// wrote, which Redis's asynchronous replication allows and the test is not about.
async fn replicated(primary: &mut MultiplexedConnection) {
    let _: () = ::redis::cmd("SET")
        .arg("axum_oidc_test:replication-barrier")
        .arg(1)
        .arg("PX")
        .arg(60_000)
        .query_async(primary)
        .await
        .unwrap();
    let acked: i64 = ::redis::cmd("WAIT")
        .arg(1)
        .arg(10_000)
        .query_async(primary)
        .await
        .unwrap();
    assert!(acked >= 1, "no replica acknowledged the writes");
}

/// A store on the Sentinel setup under `prefix`, with short timeouts.
async fn sentinel_store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(SessionCodec::encrypted(&KEY))
        .with_key_prefix(prefix)
        .with_connect_timeout(Duration::from_millis(500))
        .with_response_timeout(Duration::from_millis(500))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("{VAR} is set but the server cannot be used: {e:?}"))
}

/// The primary the sentinels name (`host:port`) and its process id, once a replica
/// has every write so far.
async fn replicated_primary(sentinel: &str, service: &str) -> (String, String) {
    let primary = named_primary(sentinel, service).await;
    let mut conn = connect(&primary).await;
    replicated(&mut conn).await;
    let pid = info_field(&mut conn, "server", "process_id").await;
    (primary, pid)
}

/// `get` either fails or returns exactly what was written; never "absent".
fn check_read(
    n: usize,
    r: Result<Option<Arc<SessionRecord>>, impl std::fmt::Debug>,
    written: &[(SessionKey, Arc<SessionRecord>)],
) -> bool {
    match r {
        Ok(Some(got)) => {
            assert_eq!(
                *got, *written[n].1,
                "session {n} read back a different record"
            );
            true
        }
        Ok(None) => panic!("session {n} read as absent during the failover (a logout)"),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_gives_errors_never_wrong_answers_and_keeps_the_sessions() {
    let _one_at_a_time = FAILOVER.lock().await;
    let Some(url) = sentinel_url() else { return };
    let (sentinel_nodes, service) = sentinels(&url);
    settled(&sentinel_nodes, &service).await;
    let prefix = format!("axum_oidc_test:{}:", unique_name());
    let store = sentinel_store(&url, &prefix).await;

    // Sessions written and replicated before the failover.
    let written: Vec<_> = (0..20)
        .map(|n| {
            (
                key(),
                record(&format!("user-{n}"), Some(&format!("sid-{n}"))),
            )
        })
        .collect();
    for (k, r) in &written {
        store
            .put(k, r.clone(), Duration::from_secs(300))
            .await
            .unwrap();
    }
    let (old, pid) = replicated_primary(&sentinel_nodes[0], &service).await;

    // The primary stops answering; the sentinels see it down after 1 s and promote
    // the replica.
    signal(&pid, "-STOP");
    let resume = Resume(pid);
    let started = Instant::now();
    let (mut failed, mut served_after) = (0, 0);
    let mut n = 0;
    while served_after < written.len() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no failover within 30 s ({failed} failed operations)"
        );
        let i = n % written.len();
        n += 1;
        let got = store.get(&written[i].0).await;
        if matches!(got, Ok(None)) {
            diagnose(&sentinel_nodes, &service, &old, &prefix).await;
        }
        if check_read(i, got, &written) {
            if named_primary(&sentinel_nodes[0], &service).await != old {
                served_after += 1;
            }
        } else {
            failed += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(failed > 0, "the store never noticed the stopped primary");
    let new = named_primary(&sentinel_nodes[0], &service).await;
    assert_ne!(new, old);

    // Everything written before is there, and the new primary takes writes.
    for (i, (k, _)) in written.iter().enumerate() {
        assert!(check_read(i, store.get(k).await, &written), "session {i}");
    }
    let (k, r) = (key(), record("after", None));
    store
        .put(&k, r.clone(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.get(&k).await.unwrap().as_deref(), Some(&*r));
    assert_eq!(store.remove_by_sub("user-3").await.unwrap(), 1);

    // The old primary comes back and rejoins as a replica, ready for the next run.
    drop(resume);
    rejoin(&old).await;
    clean(&new, &prefix).await;
}

/// Prints what every sentinel, the stopped primary and the primary named now say
/// (role, replication offsets, how many of the test's keys they hold), so that a
/// wrong answer during a failover can be told apart: a store fault, or a replica
/// promoted without the writes.
async fn diagnose(sentinels: &[String], service: &str, old: &str, prefix: &str) {
    let mut servers = vec![old.to_owned()];
    for s in sentinels {
        let named = tokio::time::timeout(Duration::from_secs(1), named_primary(s, service)).await;
        eprintln!("sentinel {s} names {named:?}");
        if let Ok(n) = named
            && !servers.contains(&n)
        {
            servers.push(n);
        }
    }
    for addr in servers {
        let r = tokio::time::timeout(Duration::from_secs(1), async {
            let mut c = ::redis::Client::open(format!("redis://{addr}"))
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| e.to_string())?;
            let info: String = ::redis::cmd("INFO")
                .arg("replication")
                .query_async(&mut c)
                .await
                .map_err(|e| e.to_string())?;
            let keys: Vec<String> = c
                .keys(format!("{prefix}*"))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((info.replace("\r\n", " | "), keys.len()))
        })
        .await;
        eprintln!("server {addr}: {r:?}");
    }
}

/// Waits until the old primary has rejoined as a replica. Sentinel reconfigures it
/// and closes its client connections: a fresh connection each time.
async fn rejoin(old: &str) {
    let rejoined = Instant::now();
    while !replica_link_up(old).await {
        assert!(
            rejoined.elapsed() < Duration::from_secs(20),
            "the old primary did not rejoin"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deletes the test's keys on the primary.
async fn clean(primary: &str, prefix: &str) {
    let mut primary = connect(primary).await;
    let keys: Vec<String> = primary.keys(format!("{prefix}*")).await.unwrap();
    if !keys.is_empty() {
        primary.del::<_, ()>(keys).await.unwrap();
    }
}

/// The same failover seen through the layer, by a signed-in browser: every request
/// during it answers 200 or 503 (with `Retry-After`), never 401 nor a redirect to the
/// login (a logout), and the session works again once Sentinel has promoted the
/// replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_sentinel_failover_the_layer_answers_503_and_never_logs_anyone_out() {
    use axum_oidc_client::OAuthConfigurationBuilder;
    use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig};
    use reqwest::StatusCode;

    let _one_at_a_time = FAILOVER.lock().await;
    let Some(url) = sentinel_url() else { return };
    let (sentinel_nodes, service) = sentinels(&url);
    settled(&sentinel_nodes, &service).await;
    let prefix = format!("axum_oidc_test:{}:", unique_name());
    let store = sentinel_store(&url, &prefix).await;

    let bound = app::bind().await;
    let origin = bound.origin.clone();
    let client = ClientRegistration::confidential(
        "failover",
        "failover-secret",
        format!("{origin}/auth/callback"),
    );
    let op = DevProvider::start(DevProviderConfig::default().with_client(client))
        .await
        .expect("dev provider");
    let config = OAuthConfigurationBuilder::default()
        .with_client_id("failover")
        .with_client_secret("failover-secret")
        .with_app_url(&origin)
        .with_issuer(op.issuer())
        .await
        .expect("discovery")
        .build()
        .expect("config");
    let _server = app::serve(bound, app::layer(config, Arc::new(store)));
    let browser = app::Browser::new(&origin);
    browser.login_as("alice", "/me").await;
    let me = browser.get_json("/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    let sub = me["sub"].clone();
    assert!(sub.is_string(), "{me}");

    let (old, pid) = replicated_primary(&sentinel_nodes[0], &service).await;
    signal(&pid, "-STOP");
    let resume = Resume(pid);

    let started = Instant::now();
    let (mut unavailable, mut served_after) = (0, 0);
    while served_after < 10 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no failover within 30 s ({unavailable} answers 503)"
        );
        let r = browser.get_json("/me").await;
        match r.status() {
            StatusCode::OK => {
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(body["sub"], sub, "the same user");
                if named_primary(&sentinel_nodes[0], &service).await != old {
                    served_after += 1;
                }
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(r.headers().contains_key("retry-after"));
                assert!(
                    r.headers().get_all("set-cookie").iter().next().is_none(),
                    "the session cookie is kept"
                );
                unavailable += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => {
                eprintln!(
                    "{other} after {:?}: {:?}",
                    started.elapsed(),
                    r.text().await
                );
                diagnose(&sentinel_nodes, &service, &old, &prefix).await;
                panic!("{other} during the failover: a store outage must never log anyone out")
            }
        }
    }
    assert!(unavailable > 0, "no request noticed the stopped primary");
    let new = named_primary(&sentinel_nodes[0], &service).await;
    assert_ne!(new, old);

    drop(resume);
    rejoin(&old).await;
    clean(&new, &prefix).await;
}
