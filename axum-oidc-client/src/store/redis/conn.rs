//! The connection of a [`RedisStore`](super::RedisStore) for each deployment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use ::redis::cluster::ClusterClient;
use ::redis::cluster_async::ClusterConnection;
use ::redis::sentinel::SentinelClient;
use ::redis::{AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use tokio::sync::OnceCell;

/// One of the three deployments, all used through [`ConnectionLike`].
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server: reconnects in the background.
    Single(ConnectionManager),
    /// Redis Cluster: the redis crate routes each command by its first key, follows
    /// `MOVED`/`ASK` and refreshes the slot map by itself.
    Cluster(Cluster),
    /// The primary named by Sentinel.
    Sentinel(Sentinel),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => Box::pin(async move {
                let mut conn = c.connection().await?;
                conn.req_packed_command(cmd).await
            }),
            Self::Sentinel(s) => Box::pin(async move {
                let (generation, mut conn) = s.primary().await?;
                let r = conn.req_packed_command(cmd).await;
                s.check(generation, r)
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => Box::pin(async move {
                let mut conn = c.connection().await?;
                conn.req_packed_commands(pipeline, offset, count).await
            }),
            Self::Sentinel(s) => Box::pin(async move {
                let (generation, mut conn) = s.primary().await?;
                let r = conn.req_packed_commands(pipeline, offset, count).await;
                s.check(generation, r)
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(_) => 0,
            Self::Sentinel(s) => s.inner.db,
        }
    }
}

/// A timeout as a redis error, so it maps to `StoreError::Unavailable` like the rest.
fn timed_out(what: &'static str) -> RedisError {
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// A cluster connection, opened on first use (or at once by `connect`).
#[derive(Clone)]
pub(crate) struct Cluster {
    /// `None` for a connection the application opened itself.
    client: Option<Arc<ClusterClient>>,
    conn: Arc<OnceCell<ClusterConnection>>,
    connect_timeout: Duration,
}

impl Cluster {
    pub(crate) fn new(client: ClusterClient, connect_timeout: Duration) -> Self {
        Self {
            client: Some(Arc::new(client)),
            conn: Arc::new(OnceCell::new()),
            connect_timeout,
        }
    }

    /// A connection opened by the application.
    pub(crate) fn from_connection(conn: ClusterConnection) -> Self {
        Self {
            client: None,
            conn: Arc::new(OnceCell::new_with(Some(conn))),
            connect_timeout: Duration::ZERO,
        }
    }

    /// The connection; the first call reads the slot map from the seed nodes.
    pub(crate) async fn connection(&self) -> Result<ClusterConnection, RedisError> {
        self.conn
            .get_or_try_init(|| async {
                let client = self.client.as_ref().ok_or_else(|| {
                    RedisError::from((ErrorKind::InvalidClientConfig, "no cluster client"))
                })?;
                tokio::time::timeout(self.connect_timeout, client.get_async_connection())
                    .await
                    .map_err(|_| timed_out("connecting to the Redis Cluster timed out"))?
            })
            .await
            .cloned()
    }
}

/// The primary of a Sentinel service.
///
/// The connection is found through the sentinels, which check that the server they
/// name answers `ROLE` as a primary. An I/O error, a timeout, a dropped connection,
/// `READONLY` (the server was demoted) or `MASTERDOWN` forgets it: that operation
/// fails, and the next one asks the sentinels again. Nothing is retried, so during a
/// failover operations fail (the layer answers 503) until the sentinels name the new
/// primary; no operation is answered by a server that is no longer the primary once
/// it has said so.
#[derive(Clone)]
pub(crate) struct Sentinel {
    inner: Arc<SentinelInner>,
}

struct SentinelInner {
    /// Held while asking the sentinels, so concurrent failures ask once.
    client: tokio::sync::Mutex<SentinelClient>,
    /// The current primary and its generation (so a late failure of an old
    /// connection does not forget a newer one).
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    /// The generation of the next connection.
    next: AtomicU64,
    config: AsyncConnectionConfig,
    connect_timeout: Duration,
    db: i64,
}

impl Sentinel {
    pub(crate) fn new(
        client: SentinelClient,
        config: AsyncConnectionConfig,
        connect_timeout: Duration,
        db: i64,
    ) -> Self {
        Self {
            inner: Arc::new(SentinelInner {
                client: tokio::sync::Mutex::new(client),
                current: Mutex::new(None),
                next: AtomicU64::new(0),
                config,
                connect_timeout,
                db,
            }),
        }
    }

    fn cached(&self) -> Option<(u64, MultiplexedConnection)> {
        self.inner
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The connection to the primary, found through the sentinels when there is none.
    pub(crate) async fn primary(&self) -> Result<(u64, MultiplexedConnection), RedisError> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let mut client = self.inner.client.lock().await;
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        // Asking the sentinels, then connecting, each within the connect timeout.
        let found = tokio::time::timeout(self.inner.connect_timeout * 2, async {
            let primary = client.async_get_client().await?;
            let mut conn = primary
                .get_multiplexed_async_connection_with_config(&self.inner.config)
                .await?;
            is_primary(&mut conn).await?;
            Ok::<_, RedisError>(conn)
        })
        .await
        .map_err(|_| timed_out("finding the Redis primary through Sentinel timed out"))??;
        let mut current = self.inner.current.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.inner.next.fetch_add(1, Ordering::Relaxed);
        *current = Some((generation, found.clone()));
        Ok((generation, found))
    }

    /// Passes `result` on; forgets connection `generation` if the error means the
    /// primary is gone or has changed.
    fn check<T>(&self, generation: u64, result: Result<T, RedisError>) -> Result<T, RedisError> {
        if let Err(e) = &result
            && must_rediscover(e)
        {
            let mut current = self.inner.current.lock().unwrap_or_else(|e| e.into_inner());
            if current.as_ref().is_some_and(|(g, _)| *g == generation) {
                *current = None;
                drop(current);
                tracing::debug!(
                    error = %e,
                    "the Redis primary failed; asking Sentinel for it on the next operation"
                );
            }
        }
        result
    }
}

/// Checks that the server a sentinel named is a primary now (the Sentinel client
/// guidelines, step 3: ask the instance its `ROLE`). A sentinel with a stale view
/// may name a replica; a replica answers reads, and one that is resynchronising
/// answers them from an emptied dataset, which would read as "no such session" (a
/// logout). Anything but `master` is a `READONLY` error: the operation fails (503)
/// and the next one asks the sentinels again.
async fn is_primary(conn: &mut MultiplexedConnection) -> Result<(), RedisError> {
    let role: Vec<::redis::Value> = ::redis::cmd("ROLE").query_async(conn).await?;
    let is_master = matches!(
        role.first(),
        Some(::redis::Value::BulkString(b)) if b.as_slice() == b"master"
    ) || matches!(
        role.first(),
        Some(::redis::Value::SimpleString(s)) if s == "master"
    );
    if is_master {
        Ok(())
    } else {
        Err(RedisError::from((
            ErrorKind::Server(::redis::ServerErrorKind::ReadOnly),
            "the server Sentinel named is not a primary (ROLE)",
        )))
    }
}

/// Errors after which the connection may no longer reach the primary.
fn must_rediscover(e: &RedisError) -> bool {
    use ::redis::ServerErrorKind;
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        || matches!(
            e.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
}
