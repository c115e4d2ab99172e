//! Opening an SQL store: pools, schema creation, and the cleanup task.

use std::sync::{Mutex, Weak};
use std::time::Duration;

use tokio::sync::watch;

#[cfg(feature = "sqlite")]
use super::SqlStoreConfig;
use super::engine::Engine;
use super::{Inner, SqlStore};
use crate::store::StoreError;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
use crate::store::url::Scheme;

#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(super) fn parse<T>(url: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr<Err = sqlx::Error>,
{
    url.parse()
        .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))
}

/// Opens a PostgreSQL or MySQL pool, failing with [`StoreError::Connect`].
///
/// The pool retries a refused connection until its acquire timeout and then reports
/// only "pool timed out": one direct attempt then finds the cause to report.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(super) async fn connect_pool<DB: sqlx::Database>(
    pool: sqlx::pool::PoolOptions<DB>,
    options: <DB::Connection as sqlx::Connection>::Options,
    scheme: Scheme,
    url: &str,
) -> Result<sqlx::Pool<DB>, StoreError> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let timeout = pool.get_acquire_timeout();
    match pool.connect_with(options.clone()).await {
        Ok(pool) => Ok(pool),
        Err(sqlx::Error::PoolTimedOut) => {
            let cause: Box<dyn std::error::Error + Send + Sync> =
                match tokio::time::timeout(timeout, options.connect()).await {
                    Ok(Err(e)) => Box::new(e),
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                        Box::new(sqlx::Error::PoolTimedOut)
                    }
                    Err(_) => Box::new(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no connection within {} s", timeout.as_secs_f32()),
                    )),
                };
            Err(scheme.connect_error(url, cause))
        }
        Err(e) => Err(scheme.connect_error(url, e)),
    }
}

#[cfg(feature = "sqlite")]
pub(super) async fn sqlite_pool(
    url: &str,
    config: &SqlStoreConfig,
) -> Result<sqlx::SqlitePool, StoreError> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let options: SqliteConnectOptions = url
        .parse()
        .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?;
    let options = options.create_if_missing(true);
    let pool = SqlitePoolOptions::new().acquire_timeout(config.acquire_timeout);
    // sqlx opens `:memory:` as a shared-cache database that lives as long as one of
    // its connections: keep exactly one, forever. (Several connections to a shared
    // cache would also fail writes with SQLITE_LOCKED instead of waiting.)
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let (pool, options) = if in_memory {
        let pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        (pool, options)
    } else {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        (pool.max_connections(config.max_connections), options)
    };
    pool.connect_with(options)
        .await
        .map_err(|e| Scheme::Sqlite.connect_error(url, e))
}

/// Runs the schema statements. Retried a few times: PostgreSQL can fail one of two
/// concurrent `CREATE TABLE IF NOT EXISTS` of the same table (instances starting
/// together); the retry then finds the table.
pub(super) async fn create_schema(
    engine: &dyn Engine,
    statements: &[String],
) -> Result<(), StoreError> {
    const ATTEMPTS: u32 = 3;
    let mut attempt = 1;
    loop {
        let mut result = Ok(0);
        for sql in statements {
            result = engine.execute(sql, &[]).await;
            if result.is_err() {
                break;
            }
        }
        match result {
            Ok(_) => return Ok(()),
            Err(e) if attempt >= ATTEMPTS || is_connection_error(&e) => {
                return Err(StoreError::unavailable(e));
            }
            Err(e) => {
                tracing::debug!(error = %e, attempt, "creating the session tables failed; retrying");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
        }
    }
}

fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
    )
}

pub(super) async fn cleanup_loop(
    store: Weak<Inner>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    // Instances started together spread their first pass over the interval.
    let mut wait = every.mul_f64(0.5 + rand::random::<f64>() / 2.0);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            // A shutdown, or the last handle dropped the sender.
            _ = stop.changed() => return,
        }
        wait = every;
        let Some(inner) = store.upgrade() else {
            return;
        };
        match (SqlStore { inner }).purge_expired().await {
            Ok(n) => tracing::debug!(rows = n, "purged expired session rows"),
            Err(e) => {
                tracing::warn!(error = ?e, "purging expired session rows failed; retrying next interval");
            }
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
