//! The store behaviour suite against every backend, plus backend-specific checks
//! (SQL cleanup, faults, recovery, `from_url`).
//!
//! Remote backends read their server from `AXUM_OIDC_TEST_REDIS_URL`,
//! `AXUM_OIDC_TEST_REDIS_CLUSTER_URL`, `AXUM_OIDC_TEST_REDIS_SENTINEL_URL`
//! (`scripts/redis-topologies.sh start` prints both),
//! `AXUM_OIDC_TEST_POSTGRES_URL` and `AXUM_OIDC_TEST_MYSQL_URL`. Unset, their tests
//! print `skipped: …` and pass, unless `CI` is set: then a missing or unreachable
//! server fails them.

// Helpers serve the backends of every feature; with some features off, some go unused.
#![cfg_attr(
    not(all(
        feature = "redis",
        feature = "postgres",
        feature = "mysql",
        feature = "sqlite"
    )),
    allow(dead_code, unused_imports)
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_oidc_client::store::{
    AuthCache, MemoryStore, SharedStore, StoreError, TwoTierStore, TwoTierStoreConfig,
};
use axum_oidc_client::store::{SessionCodec, SessionKey};
// The suite exactly as a third-party store uses it (feature `test-util`).
use axum_oidc_client::store::suite::{
    self, Fixture, KEY, OTHER_KEY, RawRead, Teardown, key, record, server_url, unique_name,
};
use axum_oidc_client::store_suite;

const REDIS_VAR: &str = "AXUM_OIDC_TEST_REDIS_URL";
const REDIS_CLUSTER_VAR: &str = "AXUM_OIDC_TEST_REDIS_CLUSTER_URL";
const REDIS_SENTINEL_VAR: &str = "AXUM_OIDC_TEST_REDIS_SENTINEL_URL";
const POSTGRES_VAR: &str = "AXUM_OIDC_TEST_POSTGRES_URL";
const MYSQL_VAR: &str = "AXUM_OIDC_TEST_MYSQL_URL";

fn codec() -> SessionCodec {
    SessionCodec::encrypted(&KEY)
}

fn other_codec() -> SessionCodec {
    SessionCodec::encrypted(&OTHER_KEY)
}

fn unreachable_server(var: &str, e: impl std::fmt::Debug) -> ! {
    panic!("{var} is set but the server cannot be used: {e:?}")
}

fn tiered(shared: impl AuthCache) -> SharedStore {
    Arc::new(TwoTierStore::new(
        Arc::new(shared),
        TwoTierStoreConfig::default(),
    ))
}

// ---------------------------------------------------------------------------------
// Memory and two-tier over memory
// ---------------------------------------------------------------------------------

store_suite!(memory, async {
    Some(Fixture::new(Arc::new(MemoryStore::default())))
});

store_suite!(two_tier_over_memory, async {
    Some(Fixture::new(tiered(MemoryStore::default())))
});

// ---------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------

#[cfg(feature = "redis")]
mod redis_backend {
    use ::redis::AsyncCommands as _;
    use ::redis::aio::MultiplexedConnection;
    use ::redis::cluster_async::ClusterConnection;
    use axum_oidc_client::store::RedisStore;

    use super::*;

    /// A plain connection for reading and cleaning up what a store wrote.
    #[derive(Clone)]
    pub enum Raw {
        Single(MultiplexedConnection),
        Cluster(ClusterConnection),
    }

    impl Raw {
        /// To the server `url` names: one server, the cluster, or the primary that
        /// Sentinel names now.
        pub async fn open(var: &str, url: &str) -> Self {
            fn fail<T>(var: &str) -> impl FnOnce(::redis::RedisError) -> T + '_ {
                move |e| unreachable_server(var, e)
            }
            if let Some(nodes) = url.strip_prefix("redis+cluster://") {
                let nodes: Vec<String> = nodes.split(',').map(|n| format!("redis://{n}")).collect();
                let client = ::redis::cluster::ClusterClient::new(nodes).unwrap();
                Self::Cluster(
                    client
                        .get_async_connection()
                        .await
                        .unwrap_or_else(fail(var)),
                )
            } else if let Some(rest) = url.strip_prefix("redis+sentinel://") {
                let (nodes, service) = rest.split_once('/').unwrap();
                let nodes: Vec<String> = nodes.split(',').map(|n| format!("redis://{n}")).collect();
                let mut sentinel = ::redis::sentinel::SentinelClient::build(
                    nodes,
                    service,
                    None,
                    ::redis::sentinel::SentinelServerType::Master,
                )
                .unwrap();
                Self::Single(
                    sentinel
                        .get_async_connection()
                        .await
                        .unwrap_or_else(fail(var)),
                )
            } else {
                let client = ::redis::Client::open(url).unwrap();
                Self::Single(
                    client
                        .get_multiplexed_async_connection()
                        .await
                        .unwrap_or_else(fail(var)),
                )
            }
        }

        pub async fn get(&self, key: String) -> Option<Vec<u8>> {
            match self.clone() {
                Self::Single(mut c) => c.get(key).await.unwrap(),
                Self::Cluster(mut c) => c.get(key).await.unwrap(),
            }
        }

        /// Deletes every key under `prefix` (on every primary of a cluster).
        pub async fn delete_prefixed(&self, prefix: &str) {
            let pattern = format!("{prefix}*");
            let keys: Vec<String> = match self.clone() {
                Self::Single(mut c) => c.keys(pattern).await.unwrap(),
                Self::Cluster(mut c) => c.keys(pattern).await.unwrap(),
            };
            if keys.is_empty() {
                return;
            }
            match self.clone() {
                Self::Single(mut c) => c.del::<_, ()>(keys).await.unwrap(),
                Self::Cluster(mut c) => c.del::<_, ()>(keys).await.unwrap(),
            }
        }
    }

    pub async fn fixture(two_tier: bool) -> Option<Fixture> {
        fixture_at(REDIS_VAR, two_tier).await
    }

    /// The suite's fixture on the deployment the URL in `var` names.
    pub async fn fixture_at(var: &'static str, two_tier: bool) -> Option<Fixture> {
        let url = server_url(var)?;
        let prefix = format!("axum_oidc_test:{}:", unique_name());
        let open = |codec: SessionCodec| {
            RedisStore::builder(codec)
                .with_key_prefix(prefix.clone())
                .connect(&url)
        };
        let store = open(codec())
            .await
            .unwrap_or_else(|e| unreachable_server(var, e));
        let other = open(other_codec())
            .await
            .unwrap_or_else(|e| unreachable_server(var, e));
        let wrap =
            |s: RedisStore| -> SharedStore { if two_tier { tiered(s) } else { Arc::new(s) } };
        let conn = Raw::open(var, &url).await;
        let raw: RawRead = {
            let (conn, store) = (conn.clone(), store.clone());
            Box::new(move |k: SessionKey| {
                let (conn, key) = (conn.clone(), store.session_redis_key(&k));
                Box::pin(async move { conn.get(key).await })
            })
        };
        let teardown: Teardown =
            Box::new(move || Box::pin(async move { conn.delete_prefixed(&prefix).await }));
        Some(
            Fixture::new(wrap(store))
                .with_other_key(wrap(other))
                .with_raw(raw)
                .with_teardown(teardown),
        )
    }
}

#[cfg(feature = "redis")]
store_suite!(redis, redis_backend::fixture(false));

#[cfg(feature = "redis")]
store_suite!(two_tier_over_redis, redis_backend::fixture(true));

#[cfg(feature = "redis")]
store_suite!(
    redis_cluster,
    redis_backend::fixture_at(REDIS_CLUSTER_VAR, false)
);

#[cfg(feature = "redis")]
store_suite!(
    two_tier_over_redis_cluster,
    redis_backend::fixture_at(REDIS_CLUSTER_VAR, true)
);

#[cfg(feature = "redis")]
store_suite!(
    redis_sentinel,
    redis_backend::fixture_at(REDIS_SENTINEL_VAR, false)
);

// ---------------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------------

/// The raw reader and table cleanup of an SQL fixture, on a pool of its own.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
macro_rules! sql_fixture {
    ($store:expr, $other:expr, $pool:expr, $prefix:expr, $placeholder:literal) => {{
        let (store, other, pool, prefix): (_, _, _, String) = ($store, $other, $pool, $prefix);
        let select = format!(
            "SELECT data FROM {prefix}_sessions WHERE session_key = {}",
            $placeholder
        );
        let raw: RawRead = {
            let pool = pool.clone();
            Box::new(move |k: SessionKey| {
                let (pool, select) = (pool.clone(), select.clone());
                Box::pin(async move {
                    sqlx::query_scalar::<_, Vec<u8>>(&select)
                        .bind(k.as_str().to_owned())
                        .fetch_optional(&pool)
                        .await
                        .expect("raw read")
                })
            })
        };
        let teardown: Teardown = {
            let (store, other) = (store.clone(), other.clone());
            Box::new(move || {
                Box::pin(async move {
                    // Tables first: an in-memory SQLite pool is shared with the stores.
                    for table in ["sessions", "leases", "once", "invalidations"] {
                        sqlx::query(&format!("DROP TABLE IF EXISTS {prefix}_{table}"))
                            .execute(&pool)
                            .await
                            .expect("drop table");
                    }
                    store.shutdown().await;
                    other.shutdown().await;
                    pool.close().await;
                })
            })
        };
        Fixture::new(Arc::new(store))
            .with_other_key(Arc::new(other))
            .with_raw(raw)
            .with_teardown(teardown)
    }};
}

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql_backend {
    use axum_oidc_client::store::{SqlStore, SqlStoreConfig};

    use super::*;

    /// Test tables with no cleanup task (the suite checks reads filter expiry).
    pub fn config(prefix: &str) -> SqlStoreConfig {
        SqlStoreConfig::default()
            .with_table_prefix(prefix)
            .without_cleanup()
    }

    pub async fn connect(var: &str, url: &str, codec: SessionCodec, prefix: &str) -> SqlStore {
        SqlStore::connect(url, codec, config(prefix))
            .await
            .unwrap_or_else(|e| unreachable_server(var, e))
    }

    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Option<Fixture> {
        let url = server_url(POSTGRES_VAR)?;
        let prefix = unique_name();
        let store = connect(POSTGRES_VAR, &url, codec(), &prefix).await;
        let other = connect(POSTGRES_VAR, &url, other_codec(), &prefix).await;
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        Some(sql_fixture!(store, other, pool, prefix, "$1"))
    }

    #[cfg(feature = "mysql")]
    pub async fn mysql() -> Option<Fixture> {
        let url = server_url(MYSQL_VAR)?;
        let prefix = unique_name();
        let store = connect(MYSQL_VAR, &url, codec(), &prefix).await;
        let other = connect(MYSQL_VAR, &url, other_codec(), &prefix).await;
        let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
        Some(sql_fixture!(store, other, pool, prefix, "?"))
    }

    #[cfg(feature = "sqlite")]
    pub fn sqlite_path() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("axum_oidc_{}.db", unique_name()))
    }

    #[cfg(feature = "sqlite")]
    pub fn remove_sqlite_files(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }

    #[cfg(feature = "sqlite")]
    pub async fn sqlite_file() -> Option<Fixture> {
        let path = sqlite_path();
        let url = format!("sqlite://{}", path.display());
        let prefix = unique_name();
        let store = connect("sqlite", &url, codec(), &prefix).await;
        let other = connect("sqlite", &url, other_codec(), &prefix).await;
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let fixture = sql_fixture!(store, other, pool, prefix, "?");
        Some(fixture.with_teardown(Box::new(move || {
            Box::pin(async move { remove_sqlite_files(&path) })
        })))
    }

    /// An in-memory database lives in its one connection: the store, the store with
    /// the other key and the raw reader share one pool.
    #[cfg(feature = "sqlite")]
    pub async fn sqlite_memory() -> Option<Fixture> {
        let pool = memory_pool().await;
        let prefix = unique_name();
        let store = SqlStore::from_sqlite_pool(pool.clone(), codec(), config(&prefix))
            .await
            .unwrap();
        let other = SqlStore::from_sqlite_pool(pool.clone(), other_codec(), config(&prefix))
            .await
            .unwrap();
        Some(sql_fixture!(store, other, pool, prefix, "?"))
    }

    #[cfg(feature = "sqlite")]
    pub async fn memory_pool() -> sqlx::SqlitePool {
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }
}

#[cfg(feature = "postgres")]
store_suite!(postgres, sql_backend::postgres());

#[cfg(feature = "mysql")]
store_suite!(mysql, sql_backend::mysql());

#[cfg(feature = "sqlite")]
store_suite!(sqlite_file, sql_backend::sqlite_file());

#[cfg(feature = "sqlite")]
store_suite!(sqlite_memory, sql_backend::sqlite_memory());

// ---------------------------------------------------------------------------------
// SQL: cleanup, shutdown, configuration, persistence
// ---------------------------------------------------------------------------------

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql_cleanup {
    use axum_oidc_client::store::{SqlStore, SqlStoreConfig};

    use super::*;

    const TINY: Duration = Duration::from_millis(1);

    /// Expired rows in all three tables, and live ones that must survive.
    async fn expired_rows(store: &SqlStore) -> SessionKey {
        for _ in 0..5 {
            store
                .put(&key(), record("alice", Some("s")), TINY)
                .await
                .unwrap();
        }
        for _ in 0..3 {
            assert!(store.insert_once(&unique_name(), TINY).await.unwrap());
        }
        assert!(store.try_lock(&unique_name(), "a", TINY).await.unwrap());
        let live = key();
        store
            .put(&live, record("bob", None), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(
            store
                .insert_once("kept", Duration::from_secs(60))
                .await
                .unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        live
    }

    /// Batches of 2 make each table take several statements.
    pub async fn purge_deletes_expired_rows_in_bounded_batches(url: &str) {
        let prefix = unique_name();
        let config = SqlStoreConfig::default()
            .with_table_prefix(&prefix)
            .without_cleanup()
            .with_cleanup_batch_size(2);
        let store = SqlStore::connect(url, codec(), config).await.unwrap();
        let live = expired_rows(&store).await;
        assert_eq!(store.purge_expired().await.unwrap(), 5 + 3 + 1);
        assert_eq!(store.purge_expired().await.unwrap(), 0);
        assert!(store.get(&live).await.unwrap().is_some());
        assert!(
            !store
                .insert_once("kept", Duration::from_secs(60))
                .await
                .unwrap()
        );
        store.shutdown().await;
        drop_tables(url, &prefix).await;
    }

    /// Drops a test's tables on a server (an in-memory SQLite database dies by itself).
    pub async fn drop_tables(url: &str, prefix: &str) {
        let statements = ["sessions", "leases", "once", "invalidations"]
            .map(|table| format!("DROP TABLE IF EXISTS {prefix}_{table}"));
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for sql in &statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        #[cfg(feature = "mysql")]
        if url.starts_with("mysql") {
            let pool = sqlx::MySqlPool::connect(url).await.unwrap();
            for sql in &statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        let _ = statements;
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_purge_deletes_expired_rows_in_bounded_batches() {
        purge_deletes_expired_rows_in_bounded_batches("sqlite::memory:").await;
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_purge_deletes_expired_rows_in_bounded_batches() {
        let Some(url) = server_url(POSTGRES_VAR) else {
            return;
        };
        purge_deletes_expired_rows_in_bounded_batches(&url).await;
    }

    #[cfg(feature = "mysql")]
    #[tokio::test]
    async fn mysql_purge_deletes_expired_rows_in_bounded_batches() {
        let Some(url) = server_url(MYSQL_VAR) else {
            return;
        };
        purge_deletes_expired_rows_in_bounded_batches(&url).await;
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn the_cleanup_task_purges_on_its_interval_and_stops_at_shutdown() {
        let config = SqlStoreConfig::default()
            .with_table_prefix(unique_name())
            .with_cleanup_interval(Duration::from_millis(100));
        let store = SqlStore::connect("sqlite::memory:", codec(), config)
            .await
            .unwrap();
        let live = expired_rows(&store).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            store.purge_expired().await.unwrap(),
            0,
            "the task purged first"
        );
        assert!(store.get(&live).await.unwrap().is_some());

        let started = Instant::now();
        store.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(matches!(
            store.get(&live).await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn table_prefixes_that_are_not_identifiers_are_refused_before_connecting() {
        for prefix in [
            "",
            "1x",
            "x; DROP TABLE users",
            "a-b",
            "x\"y",
            &"a".repeat(41),
        ] {
            let config = SqlStoreConfig::default().with_table_prefix(prefix);
            match SqlStore::connect("sqlite::memory:", codec(), config).await {
                Err(StoreError::Config(msg)) => assert!(msg.contains("table_prefix"), "{msg}"),
                other => panic!("{prefix:?}: {other:?}"),
            }
        }
        let config = SqlStoreConfig::default().with_cleanup_batch_size(0);
        assert!(matches!(
            SqlStore::connect("sqlite::memory:", codec(), config).await,
            Err(StoreError::Config(_))
        ));
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_sqlite_file_is_created_if_missing_and_keeps_sessions_across_restarts() {
        let path = sql_backend::sqlite_path();
        assert!(!path.exists());
        let url = format!("sqlite://{}", path.display());
        let config = SqlStoreConfig::default();
        let k = key();
        let store = SqlStore::connect(&url, codec(), config.clone())
            .await
            .unwrap();
        assert!(path.exists());
        store
            .put(&k, record("alice", None), Duration::from_secs(60))
            .await
            .unwrap();
        store.shutdown().await;
        drop(store);

        let reopened = SqlStore::connect(&url, codec(), config).await.unwrap();
        assert!(reopened.get(&k).await.unwrap().is_some());
        reopened.shutdown().await;
        sql_backend::remove_sqlite_files(&path);
    }

    #[cfg(all(feature = "sqlite", not(feature = "postgres")))]
    #[tokio::test]
    async fn postgres_urls_need_the_postgres_feature() {
        match SqlStore::connect("postgres://u@h/db", codec(), SqlStoreConfig::default()).await {
            Err(StoreError::Config(msg)) => assert!(msg.contains("`postgres` feature"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------
// Faults: dead servers fail fast, and stores recover when the server comes back
// ---------------------------------------------------------------------------------

mod faults {
    use std::net::SocketAddr;

    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::{JoinHandle, JoinSet};

    use super::*;

    /// Fast enough that a request fails instead of hanging (the layer's own timeout is
    /// 2 s by default; connect timeouts are about the same).
    pub const FAST: Duration = Duration::from_secs(4);

    pub fn assert_unavailable<T: std::fmt::Debug>(r: Result<T, StoreError>, started: Instant) {
        assert!(
            matches!(r, Err(StoreError::Unavailable(_) | StoreError::Timeout)),
            "{r:?}"
        );
        assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    }

    /// Opening a store whose server cannot be reached fails fast with
    /// `StoreError::Connect`, which names where it looked.
    pub fn assert_cannot_connect<T: std::fmt::Debug>(r: Result<T, StoreError>, started: Instant) {
        assert!(matches!(r, Err(StoreError::Connect { .. })), "{r:?}");
        assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    }

    /// A TCP proxy to `upstream`; aborting the task drops every proxied connection.
    pub fn proxy(listener: TcpListener, upstream: SocketAddr) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        })
    }

    /// The URL of `url`'s server through a proxy, and the proxy's task and address.
    pub async fn proxied(url: &str) -> (String, JoinHandle<()>, SocketAddr) {
        let mut proxied = url::Url::parse(url).unwrap();
        let upstream = proxied
            .socket_addrs(|| None)
            .unwrap()
            .into_iter()
            .next()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        proxied.set_host(Some("127.0.0.1")).unwrap();
        proxied.set_port(Some(addr.port())).unwrap();
        (proxied.to_string(), proxy(listener, upstream), addr)
    }

    /// Starts the proxy to `url`'s server again on its old address.
    pub async fn restart(addr: SocketAddr, url: &str) -> JoinHandle<()> {
        let upstream = url::Url::parse(url).unwrap().socket_addrs(|| None).unwrap()[0];
        proxy(TcpListener::bind(addr).await.unwrap(), upstream)
    }

    /// Waits for the store to serve `key` again; panics after 10 s.
    pub async fn recovers(store: &dyn AuthCache, key: &SessionKey) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = store.get(key).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the store did not recover");
    }

    #[cfg(feature = "redis")]
    mod redis_faults {
        use axum_oidc_client::store::RedisStore;

        use super::*;

        #[tokio::test]
        async fn a_redis_store_at_a_dead_port_fails_fast_with_unavailable() {
            let started = Instant::now();
            assert_cannot_connect(
                RedisStore::connect("redis://127.0.0.1:1", codec()).await,
                started,
            );

            let store = RedisStore::builder(codec())
                .connect_lazy("redis://127.0.0.1:1")
                .unwrap();
            let k = key();
            let started = Instant::now();
            assert_unavailable(store.get(&k).await, started);
            let started = Instant::now();
            assert_unavailable(
                store
                    .put(&k, record("a", None), Duration::from_secs(5))
                    .await,
                started,
            );
            let started = Instant::now();
            assert_unavailable(
                store.try_lock("l", "o", Duration::from_secs(5)).await,
                started,
            );
            let started = Instant::now();
            assert_unavailable(
                store.insert_once("v", Duration::from_secs(5)).await,
                started,
            );
        }

        /// TLS is set up (a rustls crypto provider is available): the handshake with
        /// a plain-text server fails as an error, not a panic.
        #[tokio::test]
        async fn a_rediss_url_to_a_plain_text_server_fails_with_unavailable() {
            let Some(url) = server_url(REDIS_VAR) else {
                return;
            };
            let tls = url.replacen("redis://", "rediss://", 1);
            let started = Instant::now();
            assert_cannot_connect(RedisStore::connect(&tls, codec()).await, started);
        }

        #[tokio::test]
        async fn a_malformed_redis_url_is_a_configuration_error() {
            assert!(matches!(
                RedisStore::connect("redis://", codec()).await,
                Err(StoreError::Config(_))
            ));
        }

        #[tokio::test]
        async fn a_redis_store_recovers_by_itself_when_redis_comes_back() {
            let Some(url) = server_url(REDIS_VAR) else {
                return;
            };
            let (proxied, task, addr) = proxied(&url).await;
            let prefix = format!("axum_oidc_test:{}:", unique_name());
            let store = RedisStore::builder(codec())
                .with_key_prefix(prefix)
                .connect(&proxied)
                .await
                .unwrap_or_else(|e| unreachable_server(REDIS_VAR, e));
            let k = key();
            store
                .put(&k, record("alice", None), Duration::from_secs(60))
                .await
                .unwrap();

            task.abort();
            let _ = task.await;
            let started = Instant::now();
            assert_unavailable(store.get(&k).await, started);

            let task = restart(addr, &url).await;
            recovers(&store, &k).await;
            store.remove(&k).await.unwrap();
            task.abort();
        }
    }

    #[cfg(feature = "postgres")]
    mod postgres_faults {
        use axum_oidc_client::store::{SqlStore, SqlStoreConfig};

        use super::*;

        #[tokio::test]
        async fn a_postgres_store_at_a_dead_port_fails_fast_with_unavailable() {
            let url = "postgres://postgres@127.0.0.1:1/test";
            let started = Instant::now();
            assert_cannot_connect(
                SqlStore::connect(url, codec(), SqlStoreConfig::default()).await,
                started,
            );

            let pool = sqlx::postgres::PgPoolOptions::new()
                .acquire_timeout(Duration::from_secs(2))
                .connect_lazy(url)
                .unwrap();
            let config = SqlStoreConfig::default().without_schema_creation();
            let store = SqlStore::from_pg_pool(pool, codec(), config).await.unwrap();
            let started = Instant::now();
            assert_unavailable(store.get(&key()).await, started);
            let started = Instant::now();
            assert_unavailable(
                store.try_lock("l", "o", Duration::from_secs(5)).await,
                started,
            );
        }

        #[tokio::test]
        async fn a_postgres_store_recovers_by_itself_when_the_server_comes_back() {
            let Some(url) = server_url(POSTGRES_VAR) else {
                return;
            };
            let (proxied, task, addr) = proxied(&url).await;
            let prefix = unique_name();
            let config = SqlStoreConfig::default().with_table_prefix(&prefix);
            let store = SqlStore::connect(&proxied, codec(), config)
                .await
                .unwrap_or_else(|e| unreachable_server(POSTGRES_VAR, e));
            let k = key();
            store
                .put(&k, record("alice", None), Duration::from_secs(60))
                .await
                .unwrap();

            task.abort();
            let _ = task.await;
            let started = Instant::now();
            assert_unavailable(store.get(&k).await, started);

            let task = restart(addr, &url).await;
            recovers(&store, &k).await;
            store.shutdown().await;
            task.abort();
            sql_cleanup::drop_tables(&url, &prefix).await;
        }
    }

    #[cfg(feature = "mysql")]
    #[tokio::test]
    async fn a_mysql_store_at_a_dead_port_fails_fast_with_unavailable() {
        use axum_oidc_client::store::{SqlStore, SqlStoreConfig};
        let started = Instant::now();
        assert_cannot_connect(
            SqlStore::connect(
                "mysql://root@127.0.0.1:1/test",
                codec(),
                SqlStoreConfig::default(),
            )
            .await,
            started,
        );
    }
}

// ---------------------------------------------------------------------------------
// from_url
// ---------------------------------------------------------------------------------

mod from_url {
    use axum_oidc_client::__private::cookies::CookieKey;
    use axum_oidc_client::store::from_url;

    use super::*;

    /// Opens `url` and checks a round trip; removes what it wrote.
    async fn round_trip(url: &str) {
        let key = CookieKey::derive(&[3; 32]).unwrap();
        let store = from_url(url, &key)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let k = suite::key();
        let r = record("alice", Some(&unique_name()));
        store
            .put(&k, r.clone(), Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(store.get(&k).await.unwrap().as_deref(), Some(&*r));
        store.remove(&k).await.unwrap();
        assert!(store.get(&k).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn memory_urls_open_a_memory_store() {
        round_trip("memory").await;
        round_trip("memory://").await;
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_urls_open_a_sql_store() {
        round_trip("sqlite::memory:").await;
        round_trip("tiered+sqlite::memory:").await;
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis_urls_open_a_redis_store() {
        let Some(url) = server_url(REDIS_VAR) else {
            return;
        };
        round_trip(&url).await;
        round_trip(&format!("tiered+{url}")).await;
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn from_url_with_sets_the_local_tiers_ttl() {
        use axum_oidc_client::TwoTierStoreConfig;
        use axum_oidc_client::store::from_url_with;
        let Some(url) = server_url(REDIS_VAR) else {
            return;
        };
        let key = CookieKey::derive(&[3; 32]).unwrap();
        let one_second = TwoTierStoreConfig::default().with_l1_ttl(Duration::from_millis(800));
        let tiered = from_url_with(&format!("tiered+{url}"), &key, one_second)
            .await
            .unwrap();
        let shared = from_url(&url, &key).await.unwrap();
        let k = suite::key();
        let r = record("alice", Some(&unique_name()));
        tiered.put(&k, r, Duration::from_secs(30)).await.unwrap();
        assert!(tiered.get(&k).await.unwrap().is_some());
        // Revoked in the shared store only: the local copy lives out its TTL, no longer.
        shared.remove(&k).await.unwrap();
        assert!(tiered.get(&k).await.unwrap().is_some(), "served locally");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(
            tiered.get(&k).await.unwrap().is_none(),
            "the TTL given was used"
        );
        // Local tier settings without a local tier are refused, not ignored.
        let two = TwoTierStoreConfig::default().with_l1_ttl(Duration::from_secs(2));
        assert!(from_url_with(&url, &key, two).await.is_err());
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis_cluster_and_sentinel_urls_open_a_redis_store() {
        for var in [REDIS_CLUSTER_VAR, REDIS_SENTINEL_VAR] {
            let Some(url) = server_url(var) else {
                continue;
            };
            round_trip(&url).await;
            round_trip(&format!("tiered+{url}")).await;
        }
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_urls_open_a_sql_store() {
        let Some(url) = server_url(POSTGRES_VAR) else {
            return;
        };
        round_trip(&url).await;
    }

    #[cfg(feature = "mysql")]
    #[tokio::test]
    async fn mysql_and_mariadb_urls_open_a_sql_store() {
        let Some(url) = server_url(MYSQL_VAR) else {
            return;
        };
        round_trip(&url).await;
        round_trip(&url.replacen("mysql://", "mariadb://", 1)).await;
    }
}
