//! The Redis invalidation channel (pub/sub) between two [`TwoTierStore`]s over one
//! Redis, on one server, a Redis Cluster and a Sentinel deployment: changes reach
//! the other instance's local tier at once, a dropped subscription is reported,
//! re-established and flushes the local tier, and a Sentinel failover is followed.
//!
//! Reads `AXUM_OIDC_TEST_REDIS_URL`, `AXUM_OIDC_TEST_REDIS_CLUSTER_URL` and
//! `AXUM_OIDC_TEST_REDIS_SENTINEL_URL` (`scripts/redis-topologies.sh start` prints
//! the last two); unset, a test prints `skipped: …` and passes, unless `CI` is set.
//!
//! The tests of this binary run one at a time: `CLIENT KILL TYPE pubsub` and a
//! failover drop every subscription on the server, the other tests' too.
#![cfg(all(feature = "redis", feature = "test-util", unix))]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::MultiplexedConnection;
use axum_oidc_client::AccessTokenValue;
use axum_oidc_client::store::suite::{KEY, key, record, server_url, unique_name};
use axum_oidc_client::store::{
    AuthCache, InvalidationHealth, RedisStore, SessionCodec, SessionKey, TwoTierStore,
    TwoTierStoreConfig,
};
use futures_util::StreamExt;

#[path = "invalidation_redis/freezer.rs"]
mod freezer;
use freezer::freezer;

const SINGLE: &str = "AXUM_OIDC_TEST_REDIS_URL";
const CLUSTER: &str = "AXUM_OIDC_TEST_REDIS_CLUSTER_URL";
const SENTINEL: &str = "AXUM_OIDC_TEST_REDIS_SENTINEL_URL";

/// The local TTL: far longer than any test, so only the channel can drop a copy.
const LOCAL_TTL: Duration = Duration::from_secs(300);
/// How long a change may take to reach the other instance.
const DELIVERY: Duration = Duration::from_secs(1);
const SESSION_TTL: Duration = Duration::from_secs(120);

/// One test at a time (see the module docs).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Two instances (each with its own Redis connections) sharing one key prefix, and
/// the shared store alone, for changes no instance hears about.
struct Fleet {
    url: String,
    prefix: String,
    a: TwoTierStore,
    b: TwoTierStore,
    shared: RedisStore,
}

async fn redis(var: &str, url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(SessionCodec::encrypted(&KEY))
        .with_key_prefix(prefix)
        .with_connect_timeout(Duration::from_millis(500))
        .with_response_timeout(Duration::from_millis(500))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("{var} is set but the server cannot be used: {e:?}"))
}

async fn instance(var: &str, url: &str, prefix: &str) -> TwoTierStore {
    let store = redis(var, url, prefix).await;
    let channel = store.invalidation_channel().expect("built from a URL");
    let config = TwoTierStoreConfig::default().with_l1_ttl(LOCAL_TTL);
    let tier = TwoTierStore::with_channel(Arc::new(store), channel, config).await;
    assert!(up(&tier), "{var}: the first subscription succeeds");
    tier
}

async fn fleet(var: &str) -> Option<Fleet> {
    let url = server_url(var)?;
    let prefix = format!("axum_oidc_test:{}:", unique_name());
    Some(Fleet {
        a: instance(var, &url, &prefix).await,
        b: instance(var, &url, &prefix).await,
        shared: redis(var, &url, &prefix).await,
        url,
        prefix,
    })
}

fn up(store: &TwoTierStore) -> bool {
    store.invalidation_health().is_some_and(|h| h.is_up())
}

/// Polls `check` every few milliseconds until it holds or `limit` passes; how long it took.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

/// Lets the other instance hear of a write before it reads (that message drops
/// nothing yet), so the copy it reads next stays in its local tier.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

async fn served(store: &TwoTierStore, k: &SessionKey) -> bool {
    store.get(k).await.unwrap().is_some()
}

/// The servers of a URL (`host:port`): the one server, every node of the cluster,
/// or the primary the sentinels name now.
async fn servers(url: &str) -> Vec<String> {
    if let Some(seeds) = url.strip_prefix("redis+cluster://") {
        let seed = seeds.split(',').next().unwrap();
        let nodes: String = ::redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut connect(seed).await)
            .await
            .unwrap();
        nodes
            .lines()
            .filter_map(|l| l.split(' ').nth(1))
            .map(|addr| addr.split('@').next().unwrap().to_owned())
            .collect()
    } else if url.starts_with("redis+sentinel://") {
        vec![named_primary(url).await]
    } else {
        let parsed = url::Url::parse(url).unwrap();
        let host = parsed.host_str().unwrap();
        vec![format!("{host}:{}", parsed.port().unwrap_or(6379))]
    }
}

async fn connect(addr: &str) -> MultiplexedConnection {
    ::redis::Client::open(format!("redis://{addr}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The sentinels (`host:port`) and the service of a `redis+sentinel://` URL.
fn sentinels(url: &str) -> (Vec<String>, String) {
    let rest = url.strip_prefix("redis+sentinel://").unwrap();
    let (nodes, service) = rest.split_once('/').unwrap();
    (
        nodes.split(',').map(str::to_owned).collect(),
        service.to_owned(),
    )
}

async fn named_primary(url: &str) -> String {
    let (nodes, service) = sentinels(url);
    let (host, port): (String, u16) = ::redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(&service)
        .query_async(&mut connect(&nodes[0]).await)
        .await
        .unwrap();
    format!("{host}:{port}")
}

/// How many connections subscribe to the fleet's channel on the server `addr`.
async fn subscribers(addr: &str, prefix: &str) -> i64 {
    let (_, n): (String, i64) = ::redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(format!("{prefix}invalidate"))
        .query_async(&mut connect(addr).await)
        .await
        .unwrap();
    n
}

/// `CLIENT KILL TYPE pubsub` on every server of the URL.
async fn kill_subscriptions(url: &str) {
    for addr in servers(url).await {
        let _: i64 = ::redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query_async(&mut connect(&addr).await)
            .await
            .unwrap();
    }
}

/// A removal, a `remove_by_sid`, a `remove_by_sub` and a replace on `a` reach the
/// local tier of `b` within [`DELIVERY`], while that tier would otherwise keep its
/// copies for [`LOCAL_TTL`].
async fn changes_reach_the_other_local_tier(var: &str) {
    let _serial = SERIAL.lock().await;
    let Some(Fleet { a, b, shared, .. }) = fleet(var).await else {
        return;
    };
    let hour = SESSION_TTL;
    let ks: Vec<SessionKey> = (0..5).map(|_| key()).collect();
    let old = record("carol", None);
    a.put(&ks[0], record("alice", None), hour).await.unwrap();
    a.put(&ks[1], record("alice", Some("sid-1")), hour)
        .await
        .unwrap();
    a.put(&ks[2], record("bob", None), hour).await.unwrap();
    a.put(&ks[3], old.clone(), hour).await.unwrap();
    a.put(&ks[4], record("dave", None), hour).await.unwrap();
    settle().await;
    for k in &ks {
        assert!(served(&b, k).await, "{var}: b's local tier is warm");
    }

    // Control: a change nobody publishes leaves b serving its copy.
    shared.remove(&ks[4]).await.unwrap();
    tokio::time::sleep(DELIVERY).await;
    assert!(
        served(&b, &ks[4]).await,
        "{var}: without a message, b serves its local copy"
    );

    let mut took = Vec::new();
    a.remove(&ks[0]).await.unwrap();
    let t = within(DELIVERY, || async { !served(&b, &ks[0]).await }).await;
    took.push(t.unwrap_or_else(|| panic!("{var}: a removal reached b")));

    assert_eq!(a.remove_by_sid("sid-1").await.unwrap(), 1);
    let t = within(DELIVERY, || async { !served(&b, &ks[1]).await }).await;
    took.push(t.unwrap_or_else(|| panic!("{var}: remove_by_sid reached b")));

    assert_eq!(a.remove_by_sub("bob").await.unwrap(), 1);
    let t = within(DELIVERY, || async { !served(&b, &ks[2]).await }).await;
    took.push(t.unwrap_or_else(|| panic!("{var}: remove_by_sub reached b")));

    let mut refreshed = (*old).clone();
    refreshed.tokens.access_token = AccessTokenValue::new("at-refreshed");
    assert!(
        a.replace(&ks[3], &old, Arc::new(refreshed.clone()), hour)
            .await
            .unwrap()
    );
    let t = within(DELIVERY, || async {
        b.get(&ks[3]).await.unwrap().as_deref() == Some(&refreshed)
    })
    .await;
    took.push(t.unwrap_or_else(|| panic!("{var}: a replace reached b")));
    eprintln!("{var}: changes reached b after {took:?}");
    for k in &ks {
        shared.remove(k).await.unwrap();
    }
}

/// A subscription killed on the server(s) is reported down, then up again, and
/// the local tier is flushed: a change made meanwhile in the shared store alone is
/// seen, not served from the old copy. Then changes flow again.
async fn a_killed_subscription_is_reported_resubscribed_and_flushed(var: &str) {
    let _serial = SERIAL.lock().await;
    let Some(Fleet {
        url, a, b, shared, ..
    }) = fleet(var).await
    else {
        return;
    };
    let k = key();
    a.put(&k, record("alice", None), SESSION_TTL).await.unwrap();
    settle().await;
    assert!(served(&b, &k).await);

    kill_subscriptions(&url).await;
    within(Duration::from_secs(2), || async { !up(&b) })
        .await
        .unwrap_or_else(|| panic!("{var}: the drop is reported"));
    // A change b cannot hear about: made in the shared store alone, while down.
    shared.remove(&k).await.unwrap();
    let Some(InvalidationHealth::Down { last_error, .. }) = b.invalidation_health() else {
        panic!("{var}: b went up again before the change was made; too slow a test machine?")
    };
    assert!(!last_error.is_empty());

    within(Duration::from_secs(5), || async { up(&b) })
        .await
        .unwrap_or_else(|| panic!("{var}: b subscribes again"));
    assert!(
        !served(&b, &k).await,
        "{var}: nothing is served from the flushed local tier"
    );

    // Changes flow again.
    within(Duration::from_secs(5), || async { up(&a) })
        .await
        .unwrap_or_else(|| panic!("{var}: a subscribes again"));
    let k2 = key();
    a.put(&k2, record("bob", None), SESSION_TTL).await.unwrap();
    settle().await;
    assert!(served(&b, &k2).await);
    a.remove(&k2).await.unwrap();
    within(DELIVERY, || async { !served(&b, &k2).await })
        .await
        .unwrap_or_else(|| panic!("{var}: a removal after resubscribing reached b"));
}

mod single {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_on_one_instance_reach_the_local_tier_of_the_other_within_a_second() {
        changes_reach_the_other_local_tier(SINGLE).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_subscription_is_reported_down_then_up_and_the_local_tier_flushed() {
        a_killed_subscription_is_reported_resubscribed_and_flushed(SINGLE).await;
    }

    /// Rough publish→receive latency over the local server (`--nocapture` prints it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publish_to_delivery_latency_is_far_below_a_second() {
        let _serial = SERIAL.lock().await;
        let Some(url) = server_url(SINGLE) else {
            return;
        };
        let prefix = format!("axum_oidc_test:{}:", unique_name());
        let store = redis(SINGLE, &url, &prefix).await;
        let channel = store.invalidation_channel().unwrap();
        let mut messages = channel.subscribe().await.unwrap();
        let mut latencies = Vec::with_capacity(200);
        for n in 0..200 {
            let sent = Instant::now();
            channel.publish(&format!("m{n}")).await.unwrap();
            let got = tokio::time::timeout(DELIVERY, messages.next())
                .await
                .expect("delivered within a second")
                .unwrap()
                .unwrap();
            latencies.push(sent.elapsed());
            assert_eq!(got, format!("m{n}"));
        }
        latencies.sort();
        let (p50, p99) = (latencies[100], latencies[198]);
        eprintln!("Redis pub/sub publish→receive over 200 messages: p50 {p50:?}, p99 {p99:?}");
        assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
    }

    /// A server that stops answering without closing the connection is noticed
    /// by the keep-alive `PING` (every 5 s of silence, answered within the response
    /// timeout), and the local tier is flushed once the subscription is back. An
    /// idle subscription that answers its pings stays up and keeps its local tier.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_hangs_is_noticed_by_the_keepalive_and_the_local_tier_flushed() {
        let _serial = SERIAL.lock().await;
        let Some(url) = server_url(SINGLE) else {
            return;
        };
        let prefix = format!("axum_oidc_test:{}:", unique_name());
        let (port, frozen) = freezer(servers(&url).await.remove(0)).await;
        let mut proxied = url::Url::parse(&url).unwrap();
        proxied.set_host(Some("127.0.0.1")).unwrap();
        proxied.set_port(Some(port)).unwrap();
        let a = instance(SINGLE, &url, &prefix).await;
        let b = instance(SINGLE, proxied.as_str(), &prefix).await;
        let shared = redis(SINGLE, &url, &prefix).await;
        let k = key();
        a.put(&k, record("alice", None), SESSION_TTL).await.unwrap();
        settle().await;
        assert!(served(&b, &k).await);

        // Idle past a keep-alive round: still up, nothing flushed.
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(up(&b), "an answered PING keeps the subscription");
        shared.remove(&k).await.unwrap();
        assert!(
            served(&b, &k).await,
            "the local tier was not flushed while the subscription stayed up"
        );
        let k = key();
        a.put(&k, record("alice", None), SESSION_TTL).await.unwrap();
        settle().await;
        assert!(served(&b, &k).await);

        frozen.send_replace(true);
        within(Duration::from_secs(8), || async { !up(&b) })
            .await
            .expect("the hung server is noticed");
        let Some(InvalidationHealth::Down { last_error, .. }) = b.invalidation_health() else {
            panic!("down")
        };
        assert!(last_error.contains("PING"), "{last_error}");
        shared.remove(&k).await.unwrap();
        assert!(
            served(&b, &k).await,
            "while down, the local TTL is the bound (the documented behaviour)"
        );

        frozen.send_replace(false);
        within(Duration::from_secs(15), || async { up(&b) })
            .await
            .expect("b subscribes again");
        assert!(
            !served(&b, &k).await,
            "nothing is served from the flushed local tier"
        );
    }

    /// `rediss://` subscribes over TLS, like the store's own connections: against a
    /// plain-text server the handshake fails, and the error says unavailable.
    #[tokio::test]
    async fn a_rediss_channel_to_a_plain_text_server_fails_to_subscribe() {
        let Some(url) = server_url(SINGLE) else {
            return;
        };
        let tls = url.replacen("redis://", "rediss://", 1);
        assert_ne!(tls, url, "{SINGLE} is a redis:// URL");
        let store = RedisStore::builder(SessionCodec::encrypted(&KEY))
            .with_connect_timeout(Duration::from_millis(500))
            .connect_lazy(&tls)
            .unwrap();
        let channel = store.invalidation_channel().unwrap();
        let started = Instant::now();
        assert!(matches!(
            channel.subscribe().await,
            Err(axum_oidc_client::StoreError::Unavailable(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn apps_with_different_key_prefixes_do_not_hear_each_other() {
        let _serial = SERIAL.lock().await;
        let Some(url) = server_url(SINGLE) else {
            return;
        };
        let one = redis(SINGLE, &url, &format!("axum_oidc_test:{}:", unique_name())).await;
        let two = redis(SINGLE, &url, &format!("axum_oidc_test:{}:", unique_name())).await;
        let (one, two) = (
            one.invalidation_channel().unwrap(),
            two.invalidation_channel().unwrap(),
        );
        let mut heard_by_two = two.subscribe().await.unwrap();
        one.publish("v1 o all ").await.unwrap();
        two.publish("mine").await.unwrap();
        let first = tokio::time::timeout(DELIVERY, heard_by_two.next()).await;
        assert_eq!(first.unwrap().unwrap().unwrap(), "mine");
    }
}

/// `from_url` with `tiered+` gives the local tier the Redis channel, on every
/// deployment.
#[tokio::test]
async fn a_tiered_redis_url_subscribes_to_the_invalidation_channel() {
    let _serial = SERIAL.lock().await;
    let key = axum_oidc_client::CookieKey::derive(&[3; 32]).unwrap();
    for var in [SINGLE, CLUSTER, SENTINEL] {
        let Some(url) = server_url(var) else {
            continue;
        };
        let store = axum_oidc_client::store::from_url(&format!("tiered+{url}"), &key)
            .await
            .unwrap();
        match store.invalidation_health() {
            Some(InvalidationHealth::Up { channel }) => {
                assert_eq!(channel, r#"Redis pub/sub "axum_oidc:invalidate""#, "{var}");
            }
            other => panic!("{var}: {other:?}"),
        }
    }
}

mod cluster {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_on_one_instance_reach_the_local_tier_of_the_other_within_a_second() {
        changes_reach_the_other_local_tier(CLUSTER).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_subscription_is_reported_down_then_up_and_the_local_tier_flushed() {
        a_killed_subscription_is_reported_resubscribed_and_flushed(CLUSTER).await;
    }
}

mod sentinel {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_on_one_instance_reach_the_local_tier_of_the_other_within_a_second() {
        changes_reach_the_other_local_tier(SENTINEL).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_subscription_is_reported_down_then_up_and_the_local_tier_flushed() {
        a_killed_subscription_is_reported_resubscribed_and_flushed(SENTINEL).await;
    }

    /// `SENTINEL FAILOVER`: both instances end up subscribed on the new primary (the
    /// old one, now a replica, would still relay messages, so that alone proves
    /// nothing), and revocations flow again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_failover_the_channel_follows_the_new_primary_and_revocations_flow() {
        let _serial = SERIAL.lock().await;
        let Some(Fleet {
            url, prefix, a, b, ..
        }) = fleet(SENTINEL).await
        else {
            return;
        };
        let old = named_primary(&url).await;
        assert_eq!(subscribers(&old, &prefix).await, 2);
        wait_for_synced_replica(&old).await;
        let (nodes, service) = sentinels(&url);
        let _: () = ::redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(&service)
            .query_async(&mut connect(&nodes[0]).await)
            .await
            .unwrap();
        let new = loop_until(Duration::from_secs(30), "a new primary", || async {
            let now = named_primary(&url).await;
            (now != old).then_some(now)
        })
        .await;
        loop_until(
            Duration::from_secs(30),
            "both instances subscribed on the new primary",
            || async { (subscribers(&new, &prefix).await == 2 && up(&a) && up(&b)).then_some(()) },
        )
        .await;

        // Revocations flow. The sentinels closed the store connections to the old
        // primary too: an operation fails once, and the next finds the new primary.
        let k = key();
        loop_until(
            Duration::from_secs(30),
            "a write after the failover",
            || async { a.put(&k, record("alice", None), SESSION_TTL).await.ok() },
        )
        .await;
        settle().await;
        let warm = loop_until(
            Duration::from_secs(30),
            "a read after the failover",
            || async { b.get(&k).await.ok() },
        )
        .await;
        assert!(warm.is_some());
        a.remove(&k).await.unwrap();
        within(DELIVERY, || async { !served(&b, &k).await })
            .await
            .expect("a removal after the failover reached b");
    }

    async fn wait_for_synced_replica(primary: &str) {
        loop_until(Duration::from_secs(30), "a synced replica", || async {
            let info: String = ::redis::cmd("INFO")
                .arg("replication")
                .query_async(&mut connect(primary).await)
                .await
                .unwrap();
            (info.contains("connected_slaves:1") && info.contains("state=online")).then_some(())
        })
        .await;
    }

    async fn loop_until<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            if let Some(t) = f().await {
                return t;
            }
            assert!(
                started.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
