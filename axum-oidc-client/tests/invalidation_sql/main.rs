//! The SQL invalidation channels, against real servers: PostgreSQL `LISTEN`/`NOTIFY`,
//! and the revocation log of MySQL/MariaDB and SQLite.
//!
//! Two [`TwoTierStore`]s over one database stand for two instances: a change made
//! through one must reach the other's local tier (whose TTL is 300 s) within a
//! second, and after the channel drops, the other must report it down, come back,
//! and flush what it may have missed.
//!
//! Reads `AXUM_OIDC_TEST_POSTGRES_URL` and `AXUM_OIDC_TEST_MYSQL_URL`; unset, those
//! tests print `skipped: …` and pass, unless `CI` is set. SQLite runs on a temporary
//! file shared by two stores. Every test has its own tables.
#![cfg(all(
    feature = "test-util",
    any(feature = "postgres", feature = "mysql", feature = "sqlite")
))]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_oidc_client::store::suite::{KEY, key, record, unique_name};
use axum_oidc_client::store::{
    AuthCache, SessionCodec, SessionKey, SessionRecord, SqlStore, SqlStoreConfig, TwoTierStore,
    TwoTierStoreConfig,
};
use futures_util::StreamExt;

/// The local TTL: far longer than any test, so only the channel can drop a copy.
const LOCAL_TTL: Duration = Duration::from_secs(300);
/// A session's TTL in the shared store.
const TTL: Duration = Duration::from_secs(3600);
/// How soon a change must reach the other instance.
const PROPAGATION: Duration = Duration::from_secs(1);

fn codec() -> SessionCodec {
    SessionCodec::encrypted(&KEY)
}

fn config(prefix: &str) -> SqlStoreConfig {
    SqlStoreConfig::default()
        .with_table_prefix(prefix)
        .without_cleanup()
}

async fn connect(url: &str, prefix: &str) -> SqlStore {
    SqlStore::connect(url, codec(), config(prefix))
        .await
        .unwrap_or_else(|e| panic!("cannot open the store at the test server: {e:?}"))
}

/// An instance: a local tier in front of `shared`, on `shared`'s channel.
async fn instance(shared: &SqlStore) -> TwoTierStore {
    let tiers = TwoTierStoreConfig::default().with_l1_ttl(LOCAL_TTL);
    let store = TwoTierStore::with_channel(
        Arc::new(shared.clone()),
        shared.invalidation_channel(),
        tiers,
    )
    .await;
    assert!(
        store.invalidation_health().unwrap().is_up(),
        "{:?}",
        store.invalidation_health()
    );
    store
}

/// Polls `check` every few milliseconds until it holds or `limit` passes.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn gone_from(store: &TwoTierStore, key: &SessionKey) -> bool {
    store.get(key).await.unwrap().is_none()
}

/// Writes a session in the shared store and reads it through `b`, so `b` holds a
/// local copy. (Written without publishing: a message about the write arriving
/// after the read would drop that copy again.)
async fn cached_in_b(
    shared: &SqlStore,
    b: &TwoTierStore,
    sub: &str,
    sid: Option<&str>,
) -> (SessionKey, Arc<SessionRecord>) {
    let (k, r) = (key(), record(sub, sid));
    shared.put(&k, r.clone(), TTL).await.unwrap();
    assert_eq!(b.get(&k).await.unwrap().as_deref(), Some(&*r));
    (k, r)
}

/// A removal, a remove_by_sid, a remove_by_sub and a replace made through `a` reach
/// `b`'s local tier within [`PROPAGATION`]; and a change made in the shared store
/// behind both (published by nobody) is not seen by `b`, so `b` was serving its
/// local copy all along.
async fn changes_through_one_instance_reach_the_other(shared_a: &SqlStore, shared_b: &SqlStore) {
    let a = instance(shared_a).await;
    let b = instance(shared_b).await;
    let unique = unique_name();

    // The control: unpublished, so `b` keeps serving its copy.
    let (k, _) = cached_in_b(shared_a, &b, &format!("{unique}-control"), None).await;
    shared_a.remove(&k).await.unwrap();
    tokio::time::sleep(PROPAGATION).await;
    assert!(
        b.get(&k).await.unwrap().is_some(),
        "b must serve its local copy"
    );

    let (k, _) = cached_in_b(shared_a, &b, &format!("{unique}-removed"), None).await;
    a.remove(&k).await.unwrap();
    assert!(
        eventually(PROPAGATION, || gone_from(&b, &k)).await,
        "remove"
    );

    let sid = format!("{unique}-sid");
    let (k1, _) = cached_in_b(shared_a, &b, &format!("{unique}-s1"), Some(&sid)).await;
    let (k2, _) = cached_in_b(shared_a, &b, &format!("{unique}-s2"), Some(&sid)).await;
    let (spared, _) = cached_in_b(shared_a, &b, &format!("{unique}-s3"), Some("other")).await;
    assert_eq!(a.remove_by_sid(&sid).await.unwrap(), 2);
    assert!(
        eventually(PROPAGATION, || async {
            gone_from(&b, &k1).await && gone_from(&b, &k2).await
        })
        .await,
        "remove_by_sid"
    );
    assert!(b.get(&spared).await.unwrap().is_some());

    let sub = format!("{unique}-sub");
    let (k1, _) = cached_in_b(shared_a, &b, &sub, Some("sid-a")).await;
    let (k2, _) = cached_in_b(shared_a, &b, &sub, None).await;
    assert_eq!(a.remove_by_sub(&sub).await.unwrap(), 2);
    assert!(
        eventually(PROPAGATION, || async {
            gone_from(&b, &k1).await && gone_from(&b, &k2).await
        })
        .await,
        "remove_by_sub"
    );

    let (k, old) = cached_in_b(shared_a, &b, &format!("{unique}-refreshed"), None).await;
    let mut new = (*old).clone();
    new.last_seen = old.last_seen + 1000;
    new.created_at = old.created_at;
    let new = Arc::new(new);
    assert!(a.replace(&k, &old, new.clone(), TTL).await.unwrap());
    assert!(
        eventually(PROPAGATION, || async {
            b.get(&k).await.unwrap().as_deref() == Some(&*new)
        })
        .await,
        "replace"
    );
}

/// What makes a channel drop, and undoes it.
#[async_trait::async_trait]
trait Outage {
    /// Drops `b`'s subscription and keeps it from coming back.
    async fn begin(&mut self);
    /// Lets it come back.
    async fn end(&mut self);
}

/// After `outage` drops `b`'s channel: `b` reports it down; a change made in the
/// shared store meanwhile (which nobody could publish) is not seen from `b`'s local
/// copy while it is down; once `outage` ends, `b` reports the channel up again and
/// has flushed its local tier, so it sees the change.
async fn a_dropped_channel_is_reported_and_flushes_the_local_tier(
    shared_a: &SqlStore,
    b: &TwoTierStore,
    outage: &mut dyn Outage,
) {
    let a = instance(shared_a).await;
    let unique = unique_name();
    let (k, _) = cached_in_b(shared_a, b, &format!("{unique}-kept"), None).await;

    outage.begin().await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            !b.invalidation_health().unwrap().is_up()
        })
        .await,
        "the drop was not reported: {:?}",
        b.invalidation_health()
    );
    shared_a.remove(&k).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = b.invalidation_health().unwrap();
    assert!(!health.is_up(), "{health:?}");
    assert!(
        b.get(&k).await.unwrap().is_some(),
        "while down, the local copy is served (the local TTL is the bound)"
    );

    outage.end().await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            b.invalidation_health().unwrap().is_up()
        })
        .await,
        "not up again: {:?}",
        b.invalidation_health()
    );
    assert!(
        b.get(&k).await.unwrap().is_none(),
        "the local tier was not flushed"
    );
    // And the new subscription works.
    let (k, _) = cached_in_b(shared_a, b, &format!("{unique}-after"), None).await;
    a.remove(&k).await.unwrap();
    assert!(eventually(PROPAGATION, || gone_from(b, &k)).await);
}

/// A message of 7999 bytes is delivered; one of 8000 is refused, not truncated.
async fn messages_over_the_limit_are_refused(shared: &SqlStore) {
    let channel = shared.invalidation_channel();
    let mut messages = channel.subscribe().await.unwrap();
    let longest = "x".repeat(7999);
    assert!(channel.publish(&"y".repeat(8000)).await.is_err());
    channel.publish("first").await.unwrap();
    channel.publish(&longest).await.unwrap();
    channel.publish("last").await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
        got.push(next.unwrap().unwrap().unwrap());
    }
    assert_eq!(got, ["first".to_owned(), longest, "last".to_owned()]);
}

/// Publish-to-apply latency over 200 removals, printed (p50, p99).
async fn latency(shared_a: &SqlStore, shared_b: &SqlStore, backend: &str) {
    let a = instance(shared_a).await;
    let b = instance(shared_b).await;
    let unique = unique_name();
    let mut samples = Vec::new();
    for i in 0..200 {
        let (k, _) = cached_in_b(shared_a, &b, &format!("{unique}-{i}"), None).await;
        let start = Instant::now();
        a.remove(&k).await.unwrap();
        loop {
            if gone_from(&b, &k).await {
                break;
            }
            assert!(start.elapsed() < PROPAGATION, "message {i} not applied");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        samples.push(start.elapsed());
    }
    samples.sort();
    eprintln!(
        "{backend}: remove-to-applied over 200: p50 {:?}, p99 {:?}, max {:?}",
        samples[100], samples[197], samples[199]
    );
}

/// Renames the revocation log away, so reading it fails and no subscription can
/// start, then back.
#[cfg(any(feature = "mysql", feature = "sqlite"))]
struct LogRenamed {
    rename: Box<dyn Fn(bool) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>,
}

#[cfg(any(feature = "mysql", feature = "sqlite"))]
#[async_trait::async_trait]
impl Outage for LogRenamed {
    async fn begin(&mut self) {
        (self.rename)(true).await;
    }

    async fn end(&mut self) {
        (self.rename)(false).await;
    }
}

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
