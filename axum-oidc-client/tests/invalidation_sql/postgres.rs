//! PostgreSQL: `LISTEN`/`NOTIFY`.

use axum_oidc_client::store::suite::server_url;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::*;

const POSTGRES_VAR: &str = "AXUM_OIDC_TEST_POSTGRES_URL";

async fn drop_tables(url: &str, prefix: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    for table in ["sessions", "leases", "once"] {
        sqlx::query(&format!("DROP TABLE IF EXISTS {prefix}_{table}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_instance_reach_the_other_over_listen_notify() {
    let Some(url) = server_url(POSTGRES_VAR) else {
        return;
    };
    let prefix = unique_name();
    let (a, b) = (connect(&url, &prefix).await, connect(&url, &prefix).await);
    changes_through_one_instance_reach_the_other(&a, &b).await;
    drop_tables(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_messages_over_8000_bytes_are_refused() {
    let Some(url) = server_url(POSTGRES_VAR) else {
        return;
    };
    let prefix = unique_name();
    messages_over_the_limit_are_refused(&connect(&url, &prefix).await).await;
    drop_tables(&url, &prefix).await;
}

/// `pg_terminate_backend` of `b`'s listener, found by its application name and
/// its `LISTEN` query. Its pool is kept full meanwhile (by a connection held
/// and a second one waited for, which takes the listener's freed slot), so the
/// subscription cannot come back until the outage ends.
struct Terminated {
    admin: sqlx::PgPool,
    pool: sqlx::PgPool,
    application: String,
    held: Vec<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    waiting: Option<tokio::task::JoinHandle<sqlx::pool::PoolConnection<sqlx::Postgres>>>,
}

#[async_trait::async_trait]
impl Outage for Terminated {
    async fn begin(&mut self) {
        self.held.push(self.pool.acquire().await.unwrap());
        let pool = self.pool.clone();
        self.waiting = Some(tokio::spawn(async move { pool.acquire().await.unwrap() }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let terminated: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND query LIKE 'LISTEN%'",
        )
        .bind(&self.application)
        .fetch_all(&self.admin)
        .await
        .unwrap();
        assert_eq!(terminated, [true], "exactly b's listener");
        let waiting = self.waiting.take().unwrap();
        self.held.push(waiting.await.unwrap());
    }

    async fn end(&mut self) {
        self.held.clear();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_listener_is_reported_down_then_up_and_flushes_the_local_tier() {
    let Some(url) = server_url(POSTGRES_VAR) else {
        return;
    };
    let prefix = unique_name();
    let application = format!("axum-oidc-{prefix}");
    let options: PgConnectOptions = url.parse().unwrap();
    // The listener, one connection held by the test, one waited for by it; a
    // long acquire timeout keeps the resubscription waiting behind the test.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.application_name(&application))
        .await
        .unwrap();
    let shared_b = SqlStore::from_pg_pool(pool.clone(), codec(), config(&prefix))
        .await
        .unwrap();
    let b = instance(&shared_b).await;
    let mut outage = Terminated {
        admin: sqlx::PgPool::connect(&url).await.unwrap(),
        pool,
        application,
        held: Vec::new(),
        waiting: None,
    };
    let shared_a = connect(&url, &prefix).await;
    a_dropped_channel_is_reported_and_flushes_the_local_tier(&shared_a, &b, &mut outage).await;
    drop_tables(&url, &prefix).await;
}

/// A TCP proxy to the server whose open connections can be cut, as a network
/// failure would: the listener sees its connection end without an error.
struct Proxy {
    port: u16,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: (String, u16)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
        let open = connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let forward = tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                open.lock().unwrap().push(forward);
            }
        });
        Self {
            port,
            connections,
            accept,
        }
    }

    /// Closes every open connection (both ends); new ones are still accepted.
    fn cut(&self) {
        for forward in self.connections.lock().unwrap().drain(..) {
            forward.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// A connection that ends without an error (sqlx's `try_recv` returns `Ok(None)`)
/// must end the subscription too: sqlx would otherwise reconnect silently, and
/// what was sent meanwhile would never be dropped from the local tier. The
/// subscriber then flushes, so a change it may have missed is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_connection_cut_by_the_network_ends_the_subscription_and_flushes() {
    let Some(url) = server_url(POSTGRES_VAR) else {
        return;
    };
    let prefix = unique_name();
    let options: PgConnectOptions = url.parse().unwrap();
    let proxy = Proxy::start((options.get_host().to_owned(), options.get_port())).await;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.host("127.0.0.1").port(proxy.port))
        .await
        .unwrap();
    let shared_b = SqlStore::from_pg_pool(pool, codec(), config(&prefix))
        .await
        .unwrap();
    let b = instance(&shared_b).await;
    let shared_a = connect(&url, &prefix).await;
    let (k, _) = cached_in_b(&shared_a, &b, &unique_name(), None).await;
    // Missed by `b` whatever happens: nobody publishes it.
    shared_a.remove(&k).await.unwrap();
    assert!(b.get(&k).await.unwrap().is_some());

    proxy.cut();
    assert!(
        eventually(Duration::from_secs(5), || gone_from(&b, &k)).await,
        "the local tier was not flushed after the connection was lost"
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            b.invalidation_health().unwrap().is_up()
        })
        .await
    );
    let a = instance(&shared_a).await;
    let (k, _) = cached_in_b(&shared_a, &b, &unique_name(), None).await;
    a.remove(&k).await.unwrap();
    assert!(eventually(PROPAGATION, || gone_from(&b, &k)).await);
    drop_tables(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn listen_notify_latency() {
    let Some(url) = server_url(POSTGRES_VAR) else {
        return;
    };
    let prefix = unique_name();
    let (a, b) = (connect(&url, &prefix).await, connect(&url, &prefix).await);
    latency(&a, &b, "PostgreSQL LISTEN/NOTIFY").await;
    drop_tables(&url, &prefix).await;
}
