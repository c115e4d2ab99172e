//! SQL store on sqlx: PostgreSQL, MySQL/MariaDB and SQLite, each behind its Cargo
//! feature (`postgres`, `mysql`, `sqlite`).
//!
//! One type, [`SqlAuthCache`], serves every engine: the engine is chosen by the URL
//! (or the pool) at construction. The store logic is written once; what differs per
//! engine is only SQL text (upsert syntax, column types, the database clock) and three
//! sqlx calls. sqlx's `Any` driver was not used: it does not rewrite placeholders nor
//! abstract upserts, so it would save none of that and add a runtime driver registry.
//!
//! # Schema
//!
//! Created at connect with `CREATE TABLE IF NOT EXISTS` (turn off with
//! [`SqlCacheConfig::without_schema_creation`] when migrations are managed elsewhere).
//! With the default prefix `axum_oidc`:
//!
//! | table | columns | indexes |
//! |---|---|---|
//! | `axum_oidc_sessions` | `session_key` PK, `data` (BYTEA/MEDIUMBLOB/BLOB), `sid`, `sub`, `expires_at_ms` | `sid`, `sub`, `expires_at_ms` |
//! | `axum_oidc_leases` | `name` PK, `owner`, `expires_at_ms` | `expires_at_ms` |
//! | `axum_oidc_once` | `once_value` PK (SHA-256 of the value), `expires_at_ms` | `expires_at_ms` |
//!
//! `expires_at_ms` is Unix time in milliseconds on the database's clock (Redis's `PX`
//! precision, and one clock for every instance). Reads filter `expires_at_ms > now`,
//! so an expired row is never returned; a background task deletes expired rows in
//! bounded batches. On MySQL the text columns are `VARBINARY`, so comparisons are
//! exact (the default collations ignore case and trailing spaces); `sid` and `sub`
//! may be up to 1024 bytes there (OpenID Connect caps `sub` at 255).

mod dialect;
mod engine;

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::dialect::{Dialect, MAX_PREFIX_LEN, Queries, Tables};
use self::engine::{Arg, Engine};
use super::remote::{decode_entry, once_digest, ttl_millis};
use super::url::Scheme;
use super::{AuthCache, StoreError};
use crate::session::{SessionCodec, SessionKey, SessionRecord};

/// Default table prefix: tables `axum_oidc_sessions`, `axum_oidc_leases`, `axum_oidc_once`.
pub const DEFAULT_TABLE_PREFIX: &str = "axum_oidc";

/// Settings of a [`SqlAuthCache`].
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::store::SqlCacheConfig;
///
/// let config = SqlCacheConfig::default()
///     .with_table_prefix("shop_auth")
///     .with_cleanup_interval(Duration::from_secs(60))
///     .with_cleanup_batch_size(1000);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqlCacheConfig {
    /// Prefix of the table names; an identifier `[A-Za-z_][A-Za-z0-9_]*` of at most
    /// 40 bytes. Default [`DEFAULT_TABLE_PREFIX`].
    pub table_prefix: String,
    /// How often expired rows are deleted; `None` runs no cleanup task. Default 5 min.
    pub cleanup_interval: Option<Duration>,
    /// Most rows one cleanup statement deletes; a pass repeats until a batch comes
    /// back short. Default 500.
    pub cleanup_batch_size: u32,
    /// Whether to create the tables at connect. Default `true`.
    pub create_schema: bool,
    /// Pool size for stores made from a URL. Default 10 (1 for in-memory SQLite).
    pub max_connections: u32,
    /// Longest wait for a pooled connection, including connecting. Default 2 s, so a
    /// dead server fails requests quickly.
    pub acquire_timeout: Duration,
}

impl Default for SqlCacheConfig {
    fn default() -> Self {
        Self {
            table_prefix: DEFAULT_TABLE_PREFIX.to_owned(),
            cleanup_interval: Some(Duration::from_secs(300)),
            cleanup_batch_size: 500,
            create_schema: true,
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
        }
    }
}

impl SqlCacheConfig {
    /// Sets [`table_prefix`](Self::table_prefix).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlCacheConfig;
    /// let config = SqlCacheConfig::default().with_table_prefix("app_a");
    /// ```
    #[must_use]
    pub fn with_table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// Sets [`cleanup_interval`](Self::cleanup_interval).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::SqlCacheConfig;
    /// let config = SqlCacheConfig::default().with_cleanup_interval(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn with_cleanup_interval(mut self, every: Duration) -> Self {
        self.cleanup_interval = Some(every);
        self
    }

    /// Runs no cleanup task (for example when a database job purges expired rows, or
    /// [`SqlAuthCache::purge_expired`] is called on a schedule).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlCacheConfig;
    /// let config = SqlCacheConfig::default().without_cleanup();
    /// ```
    #[must_use]
    pub fn without_cleanup(mut self) -> Self {
        self.cleanup_interval = None;
        self
    }

    /// Sets [`cleanup_batch_size`](Self::cleanup_batch_size).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlCacheConfig;
    /// let config = SqlCacheConfig::default().with_cleanup_batch_size(100);
    /// ```
    #[must_use]
    pub fn with_cleanup_batch_size(mut self, rows: u32) -> Self {
        self.cleanup_batch_size = rows;
        self
    }

    /// Creates no tables: they must exist (see the [module docs](self) for the schema).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlCacheConfig;
    /// let config = SqlCacheConfig::default().without_schema_creation();
    /// ```
    #[must_use]
    pub fn without_schema_creation(mut self) -> Self {
        self.create_schema = false;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlCacheConfig;
    /// let config = SqlCacheConfig::default().with_max_connections(4);
    /// ```
    #[must_use]
    pub fn with_max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections;
        self
    }

    /// Sets [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::SqlCacheConfig;
    /// let config = SqlCacheConfig::default().with_acquire_timeout(Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    fn validate(&self) -> Result<Tables, StoreError> {
        let tables = Tables::new(&self.table_prefix).ok_or_else(|| {
            StoreError::Config(format!(
                "table_prefix {:?} is not an identifier [A-Za-z_][A-Za-z0-9_]* of at most \
                 {MAX_PREFIX_LEN} bytes",
                self.table_prefix
            ))
        })?;
        if self.cleanup_batch_size == 0 {
            return Err(StoreError::Config(
                "cleanup_batch_size must be at least 1".into(),
            ));
        }
        if self.cleanup_interval == Some(Duration::ZERO) {
            return Err(StoreError::Config(
                "cleanup_interval must not be zero".into(),
            ));
        }
        if self.max_connections == 0 {
            return Err(StoreError::Config(
                "max_connections must be at least 1".into(),
            ));
        }
        Ok(tables)
    }
}

/// Sessions in a SQL database, shared by every instance of the application.
///
/// Cloning is cheap and shares the pool. A background task deletes expired rows every
/// [`cleanup_interval`](SqlCacheConfig::cleanup_interval); it stops when the last
/// clone is dropped, or at [`shutdown`](Self::shutdown). See the
/// [module docs](self) for the schema.
///
/// Records are encoded with the [`SessionCodec`] given at construction; pass
/// [`SessionCodec::encrypted`] (what [`from_url`](super::from_url) does) to keep
/// tokens encrypted at rest.
///
/// ```no_run
/// use axum_oidc_client::cookies::CookieKey;
/// use axum_oidc_client::session::SessionCodec;
/// use axum_oidc_client::store::{SqlAuthCache, SqlCacheConfig};
///
/// # async fn run() -> Result<(), axum_oidc_client::StoreError> {
/// let key = CookieKey::derive(b"a secret of at least thirty-two bytes!").unwrap();
/// let store = SqlAuthCache::connect(
///     "postgres://app@db.internal/app",
///     SessionCodec::encrypted(key.at_rest_key()),
///     SqlCacheConfig::default(),
/// )
/// .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqlAuthCache {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Box<dyn Engine>,
    dialect: Dialect,
    table_prefix: String,
    queries: Queries,
    codec: SessionCodec,
    batch: u64,
    /// Dropped with the last handle, which also stops the cleanup task.
    stop: watch::Sender<bool>,
    cleanup: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SqlAuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlAuthCache")
            .field("engine", &self.inner.dialect)
            .field("table_prefix", &self.inner.table_prefix)
            .field("codec", &self.inner.codec)
            .finish_non_exhaustive()
    }
}

impl SqlAuthCache {
    /// Connects to `postgres://`/`postgresql://`, `mysql://`/`mariadb://` or `sqlite:`
    /// URLs (`sqlite://sessions.db`, created if missing, in WAL mode; or
    /// `sqlite::memory:`), then creates the tables.
    ///
    /// Fails with [`StoreError::Config`] for a bad URL or configuration, or a URL whose
    /// engine feature is off, and with [`StoreError::Unavailable`] if the database
    /// cannot be reached within [`acquire_timeout`](SqlCacheConfig::acquire_timeout).
    ///
    /// ```no_run
    /// # use axum_oidc_client::session::SessionCodec;
    /// # use axum_oidc_client::store::{SqlAuthCache, SqlCacheConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = SqlAuthCache::connect(
    ///     "sqlite://sessions.db",
    ///     SessionCodec::encrypted(at_rest_key),
    ///     SqlCacheConfig::default(),
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(
        url: &str,
        codec: SessionCodec,
        config: SqlCacheConfig,
    ) -> Result<Self, StoreError> {
        let tables = config.validate()?;
        let scheme = Scheme::of(url);
        if let Some(scheme) = scheme {
            scheme.require_feature()?;
        }
        match scheme {
            #[cfg(feature = "postgres")]
            Some(Scheme::Postgres) => {
                let options = parse::<sqlx::postgres::PgConnectOptions>(url)?;
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(config.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(StoreError::unavailable)?;
                Self::start(Box::new(pool), Dialect::Postgres, codec, config, tables).await
            }
            #[cfg(feature = "mysql")]
            Some(Scheme::MySql) => {
                let options = parse::<sqlx::mysql::MySqlConnectOptions>(url)?;
                let pool = sqlx::mysql::MySqlPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(config.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(StoreError::unavailable)?;
                Self::start(Box::new(pool), Dialect::MySql, codec, config, tables).await
            }
            #[cfg(feature = "sqlite")]
            Some(Scheme::Sqlite) => {
                let pool = sqlite_pool(url, &config).await?;
                Self::start(Box::new(pool), Dialect::Sqlite, codec, config, tables).await
            }
            _ => Err(StoreError::Config(
                "not an SQL store URL (postgres://, postgresql://, mysql://, mariadb://, sqlite:)"
                    .into(),
            )),
        }
    }

    /// A store on a PostgreSQL pool the application already has.
    ///
    /// ```no_run
    /// # use axum_oidc_client::session::SessionCodec;
    /// # use axum_oidc_client::store::{SqlAuthCache, SqlCacheConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::PgPool::connect("postgres://app@db.internal/app").await?;
    /// let store =
    ///     SqlAuthCache::from_pg_pool(pool, SessionCodec::encrypted(at_rest_key), SqlCacheConfig::default())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "postgres")]
    pub async fn from_pg_pool(
        pool: sqlx::PgPool,
        codec: SessionCodec,
        config: SqlCacheConfig,
    ) -> Result<Self, StoreError> {
        let tables = config.validate()?;
        Self::start(Box::new(pool), Dialect::Postgres, codec, config, tables).await
    }

    /// A store on a MySQL or MariaDB pool the application already has. Keep sqlx's
    /// default session time zone (UTC): the store reads the clock through
    /// `UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3))`, which a zone with daylight saving time
    /// would shift by an hour during the autumn change.
    ///
    /// ```no_run
    /// # use axum_oidc_client::session::SessionCodec;
    /// # use axum_oidc_client::store::{SqlAuthCache, SqlCacheConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::MySqlPool::connect("mysql://app@db.internal/app").await?;
    /// let store =
    ///     SqlAuthCache::from_mysql_pool(pool, SessionCodec::encrypted(at_rest_key), SqlCacheConfig::default())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "mysql")]
    pub async fn from_mysql_pool(
        pool: sqlx::MySqlPool,
        codec: SessionCodec,
        config: SqlCacheConfig,
    ) -> Result<Self, StoreError> {
        let tables = config.validate()?;
        Self::start(Box::new(pool), Dialect::MySql, codec, config, tables).await
    }

    /// A store on a SQLite pool the application already has. An in-memory database
    /// needs a pool that never closes its only connection (the database dies with it).
    ///
    /// ```no_run
    /// # use axum_oidc_client::session::SessionCodec;
    /// # use axum_oidc_client::store::{SqlAuthCache, SqlCacheConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::SqlitePool::connect("sqlite://sessions.db?mode=rwc").await?;
    /// let store =
    ///     SqlAuthCache::from_sqlite_pool(pool, SessionCodec::encrypted(at_rest_key), SqlCacheConfig::default())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sqlite")]
    pub async fn from_sqlite_pool(
        pool: sqlx::SqlitePool,
        codec: SessionCodec,
        config: SqlCacheConfig,
    ) -> Result<Self, StoreError> {
        let tables = config.validate()?;
        Self::start(Box::new(pool), Dialect::Sqlite, codec, config, tables).await
    }

    async fn start(
        engine: Box<dyn Engine>,
        dialect: Dialect,
        codec: SessionCodec,
        config: SqlCacheConfig,
        tables: Tables,
    ) -> Result<Self, StoreError> {
        let queries = dialect.queries(&tables, config.cleanup_batch_size);
        if config.create_schema {
            create_schema(engine.as_ref(), &queries.schema).await?;
        }
        let (stop, stopped) = watch::channel(false);
        let inner = Arc::new(Inner {
            engine,
            dialect,
            table_prefix: config.table_prefix,
            queries,
            codec,
            batch: config.cleanup_batch_size.into(),
            stop,
            cleanup: Mutex::new(None),
        });
        if let Some(every) = config.cleanup_interval {
            let task = tokio::spawn(cleanup_loop(Arc::downgrade(&inner), every, stopped));
            *lock(&inner.cleanup) = Some(task);
        }
        Ok(Self { inner })
    }

    /// Deletes every expired row now, in batches; returns how many. The cleanup task
    /// calls this; call it yourself when the task is off.
    ///
    /// ```no_run
    /// # async fn run(store: axum_oidc_client::store::SqlAuthCache) -> Result<(), axum_oidc_client::StoreError> {
    /// let purged = store.purge_expired().await?;
    /// # Ok(()) }
    /// ```
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let inner = &self.inner;
        let mut total = 0;
        for sql in &inner.queries.purge {
            loop {
                let n = inner.execute(sql, &[]).await?;
                total += n;
                if n < inner.batch {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// Stops the cleanup task (letting a pass in progress finish) and closes the pool.
    /// Every clone shares the pool, so afterwards their operations fail with
    /// [`StoreError::Unavailable`].
    ///
    /// ```no_run
    /// # async fn run(store: axum_oidc_client::store::SqlAuthCache) {
    /// store.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let task = lock(&self.inner.cleanup).take();
        if let Some(task) = task {
            // The task only ends by returning; a JoinError would be a panic inside it,
            // already reported by the runtime.
            let _ = task.await;
        }
        self.inner.engine.close().await;
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn parse<T>(url: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr<Err = sqlx::Error>,
{
    url.parse()
        .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))
}

#[cfg(feature = "sqlite")]
async fn sqlite_pool(url: &str, config: &SqlCacheConfig) -> Result<sqlx::SqlitePool, StoreError> {
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
        .map_err(StoreError::unavailable)
}

/// Runs the schema statements. Retried a few times: PostgreSQL can fail one of two
/// concurrent `CREATE TABLE IF NOT EXISTS` of the same table (instances starting
/// together); the retry then finds the table.
async fn create_schema(engine: &dyn Engine, statements: &[String]) -> Result<(), StoreError> {
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

async fn cleanup_loop(store: Weak<Inner>, every: Duration, mut stop: watch::Receiver<bool>) {
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
        match (SqlAuthCache { inner }).purge_expired().await {
            Ok(n) => tracing::debug!(rows = n, "purged expired session rows"),
            Err(e) => {
                tracing::warn!(error = ?e, "purging expired session rows failed; retrying next interval");
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        self.engine
            .execute(sql, args)
            .await
            .map_err(StoreError::unavailable)
    }

    /// Runs an insert-if-absent; `true` when it inserted. MySQL reports the conflict
    /// as a duplicate-key error, the others as zero rows.
    async fn insert_if_absent(&self, sql: &str, args: &[Arg<'_>]) -> Result<bool, StoreError> {
        match self.engine.execute(sql, args).await {
            Ok(n) => Ok(n > 0),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// The stored bytes of a live session.
    async fn raw(&self, key: &SessionKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.engine
            .fetch_bytes(&self.queries.get, &[Arg::Text(key.as_str())])
            .await
            .map_err(StoreError::unavailable)
    }

    async fn count(&self, sql: &str, value: &str) -> Result<usize, StoreError> {
        let n = self.execute(sql, &[Arg::Text(value)]).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

#[async_trait]
impl AuthCache for SqlAuthCache {
    async fn get(&self, key: &SessionKey) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let bytes = self.inner.raw(key).await?;
        Ok(bytes.and_then(|b| decode_entry(&self.inner.codec, key, &b)))
    }

    async fn put(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let data = inner.codec.encode(key, &record)?;
        let args = [
            Arg::Text(key.as_str()),
            Arg::Bytes(&data),
            Arg::OptText(record.sid()),
            Arg::Text(record.sub()),
            Arg::Int(ttl_millis(ttl)),
        ];
        inner.execute(&inner.queries.put, &args).await.map(drop)
    }

    /// Reads the stored bytes, decodes them and compares the record with `current`
    /// here (encrypted entries carry a random nonce, so equal records have different
    /// bytes); then one `UPDATE … WHERE session_key = ? AND data = <bytes read>` on a
    /// live row writes only if nobody wrote or deleted the row meanwhile.
    async fn replace(
        &self,
        key: &SessionKey,
        current: &SessionRecord,
        record: Arc<SessionRecord>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let Some(read) = inner.raw(key).await? else {
            return Ok(false);
        };
        if decode_entry(&inner.codec, key, &read).as_deref() != Some(current) {
            return Ok(false);
        }
        let data = inner.codec.encode(key, &record)?;
        let args = [
            Arg::Bytes(&data),
            Arg::OptText(record.sid()),
            Arg::Text(record.sub()),
            Arg::Int(ttl_millis(ttl)),
            Arg::Text(key.as_str()),
            Arg::Bytes(&read),
        ];
        Ok(inner.execute(&inner.queries.replace, &args).await? > 0)
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner
            .execute(&inner.queries.remove, &[Arg::Text(key.as_str())])
            .await
            .map(drop)
    }

    async fn remove_by_sid(&self, sid: &str) -> Result<usize, StoreError> {
        self.inner
            .count(&self.inner.queries.remove_by_sid, sid)
            .await
    }

    async fn remove_by_sub(&self, sub: &str) -> Result<usize, StoreError> {
        self.inner
            .count(&self.inner.queries.remove_by_sub, sub)
            .await
    }

    /// The `sid` column is NULL exactly for sessions without one (since the first
    /// schema), so existing rows need no migration.
    async fn remove_by_sub_without_sid(&self, sub: &str) -> Result<usize, StoreError> {
        self.inner
            .count(&self.inner.queries.remove_by_sub_without_sid, sub)
            .await
    }

    /// Three statements, each atomic: drop the lease if expired; insert it if absent
    /// (exactly one of concurrent inserts wins); else extend it if `owner` holds it.
    /// A lease that expires between the steps is only ever reported as not taken.
    async fn try_lock(&self, name: &str, owner: &str, lease: Duration) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let q = &inner.queries;
        let lease = Arg::Int(ttl_millis(lease));
        inner
            .execute(&q.lease_clear_expired, &[Arg::Text(name)])
            .await?;
        if inner
            .insert_if_absent(&q.lease_insert, &[Arg::Text(name), Arg::Text(owner), lease])
            .await?
        {
            return Ok(true);
        }
        let extended = inner
            .execute(&q.lease_extend, &[lease, Arg::Text(name), Arg::Text(owner)])
            .await?;
        Ok(extended > 0)
    }

    async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner
            .execute(&inner.queries.unlock, &[Arg::Text(name), Arg::Text(owner)])
            .await
            .map(drop)
    }

    async fn insert_once(&self, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let digest = once_digest(value);
        inner
            .execute(&inner.queries.once_clear_expired, &[Arg::Text(&digest)])
            .await?;
        inner
            .insert_if_absent(
                &inner.queries.once_insert,
                &[Arg::Text(&digest), Arg::Int(ttl_millis(ttl))],
            )
            .await
    }
}
