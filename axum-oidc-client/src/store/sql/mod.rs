//! SQL store on sqlx: PostgreSQL, MySQL/MariaDB and SQLite, each behind its Cargo
//! feature (`postgres`, `mysql`, `sqlite`).
//!
//! One type, [`SqlStore`], serves every engine: the engine is chosen by the URL
//! (or the pool) at construction. The store logic is written once; what differs per
//! engine is only SQL text (upsert syntax, column types, the database clock) and three
//! sqlx calls. sqlx's `Any` driver was not used: it does not rewrite placeholders nor
//! abstract upserts, so it would save none of that and add a runtime driver registry.
//!
//! # Schema
//!
//! Created at connect with `CREATE TABLE IF NOT EXISTS` (turn off with
//! [`SqlStoreConfig::without_schema_creation`] when migrations are managed elsewhere).
//! With the default prefix `axum_oidc`:
//!
//! | table | columns | indexes |
//! |---|---|---|
//! | `axum_oidc_sessions` | `session_key` PK, `data` (BYTEA/MEDIUMBLOB/BLOB), `sid`, `sub`, `expires_at_ms` | `sid`, `sub`, `expires_at_ms` |
//! | `axum_oidc_leases` | `name` PK, `owner`, `expires_at_ms` | `expires_at_ms` |
//! | `axum_oidc_once` | `once_value` PK (SHA-256 of the value), `expires_at_ms` | `expires_at_ms` |
//! | `axum_oidc_invalidations` (MySQL, SQLite) | `seq` auto-increment PK, `message` (VARBINARY(8000)/BLOB), `created_at` (Unix seconds) | `created_at` |
//!
//! The last table is the revocation log of the
//! [invalidation channel](SqlStore::invalidation_channel); PostgreSQL needs none (it
//! uses `LISTEN`/`NOTIFY` on the channel `axum_oidc_invalidate`). Its rows are purged
//! with the expired ones once they are 10 minutes old. On MySQL:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS axum_oidc_invalidations (
//!   seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
//!   message VARBINARY(8000) NOT NULL,
//!   created_at BIGINT NOT NULL,
//!   INDEX created_idx (created_at)) ENGINE=InnoDB;
//! ```
//!
//! On SQLite:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS axum_oidc_invalidations (
//!   seq INTEGER PRIMARY KEY AUTOINCREMENT,
//!   message BLOB NOT NULL,
//!   created_at BIGINT NOT NULL);
//! CREATE INDEX IF NOT EXISTS axum_oidc_invalidations_created_idx
//!   ON axum_oidc_invalidations (created_at);
//! ```
//!
//! `expires_at_ms` is Unix time in milliseconds on the database's clock (Redis's `PX`
//! precision, and one clock for every instance). Reads filter `expires_at_ms > now`,
//! so an expired row is never returned; a background task deletes expired rows in
//! bounded batches. On MySQL the text columns are `VARBINARY`, so comparisons are
//! exact (the default collations ignore case and trailing spaces); `sid` and `sub`
//! may be up to 1024 bytes there (OpenID Connect caps `sub` at 255).

mod config;
mod dialect;
mod engine;
mod invalidate;
mod lifecycle;
#[cfg(any(feature = "mysql", feature = "sqlite"))]
mod log_cursor;
mod ops;

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::config::SqlStoreConfig;
use self::dialect::{Dialect, Queries, Tables};
use self::engine::Engine;
#[cfg(feature = "sqlite")]
use self::lifecycle::sqlite_pool;
use self::lifecycle::{cleanup_loop, create_schema, lock};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use self::lifecycle::{connect_pool, parse};
use super::StoreError;
use super::url::Scheme;
use crate::session::SessionCodec;

/// Default table prefix: tables `axum_oidc_sessions`, `axum_oidc_leases`, `axum_oidc_once`.
pub const DEFAULT_TABLE_PREFIX: &str = "axum_oidc";

/// Sessions in a SQL database, shared by every instance of the application.
///
/// Cloning is cheap and shares the pool. A background task deletes expired rows every
/// [`cleanup_interval`](SqlStoreConfig::cleanup_interval); it stops when the last
/// clone is dropped, or at [`shutdown`](Self::shutdown). See the
/// [module docs](self) for the schema.
///
/// Records are encoded with the [`SessionCodec`] given at construction; pass
/// [`SessionCodec::encrypted`] (what [`from_url`](super::from_url) does) to keep
/// tokens encrypted at rest.
///
/// ```no_run
/// use axum_oidc_client::CookieKey;
/// use axum_oidc_client::store::SessionCodec;
/// use axum_oidc_client::store::{SqlStore, SqlStoreConfig};
///
/// # async fn run() -> Result<(), axum_oidc_client::StoreError> {
/// let key = CookieKey::derive(b"a secret of at least thirty-two bytes!").unwrap();
/// let store = SqlStore::connect(
///     "postgres://app@db.internal/app",
///     SessionCodec::encrypted(key.at_rest_key()),
///     SqlStoreConfig::default(),
/// )
/// .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqlStore {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Box<dyn Engine>,
    dialect: Dialect,
    table_prefix: String,
    queries: Queries,
    codec: SessionCodec,
    batch: u64,
    /// How often the invalidation channel reads the revocation log.
    poll_interval: std::time::Duration,
    /// Dropped with the last handle, which also stops the cleanup task.
    stop: watch::Sender<bool>,
    cleanup: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("engine", &self.inner.dialect)
            .field("table_prefix", &self.inner.table_prefix)
            .field("codec", &self.inner.codec)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connects to `postgres://`/`postgresql://`, `mysql://`/`mariadb://` or `sqlite:`
    /// URLs (`sqlite://sessions.db`, created if missing, in WAL mode; or
    /// `sqlite::memory:`), then creates the tables.
    ///
    /// Fails with [`StoreError::Config`] for a bad URL or configuration, or a URL whose
    /// engine feature is off, and with [`StoreError::Connect`] (naming host and port and
    /// the driver's cause, such as "connection refused") if the database cannot be
    /// reached within [`acquire_timeout`](SqlStoreConfig::acquire_timeout).
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::SessionCodec;
    /// # use axum_oidc_client::store::{SqlStore, SqlStoreConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = SqlStore::connect(
    ///     "sqlite://sessions.db",
    ///     SessionCodec::encrypted(at_rest_key),
    ///     SqlStoreConfig::default(),
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(
        url: &str,
        codec: SessionCodec,
        config: SqlStoreConfig,
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
                    .acquire_timeout(config.acquire_timeout);
                let pool = connect_pool(pool, options, Scheme::Postgres, url).await?;
                Self::start(Box::new(pool), Dialect::Postgres, codec, config, tables).await
            }
            #[cfg(feature = "mysql")]
            Some(Scheme::MySql) => {
                let options = parse::<sqlx::mysql::MySqlConnectOptions>(url)?;
                let pool = sqlx::mysql::MySqlPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(config.acquire_timeout);
                let pool = connect_pool(pool, options, Scheme::MySql, url).await?;
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
    /// # use axum_oidc_client::store::SessionCodec;
    /// # use axum_oidc_client::store::{SqlStore, SqlStoreConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::PgPool::connect("postgres://app@db.internal/app").await?;
    /// let store =
    ///     SqlStore::from_pg_pool(pool, SessionCodec::encrypted(at_rest_key), SqlStoreConfig::default())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "postgres")]
    pub async fn from_pg_pool(
        pool: sqlx::PgPool,
        codec: SessionCodec,
        config: SqlStoreConfig,
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
    /// # use axum_oidc_client::store::SessionCodec;
    /// # use axum_oidc_client::store::{SqlStore, SqlStoreConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::MySqlPool::connect("mysql://app@db.internal/app").await?;
    /// let store =
    ///     SqlStore::from_mysql_pool(pool, SessionCodec::encrypted(at_rest_key), SqlStoreConfig::default())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "mysql")]
    pub async fn from_mysql_pool(
        pool: sqlx::MySqlPool,
        codec: SessionCodec,
        config: SqlStoreConfig,
    ) -> Result<Self, StoreError> {
        let tables = config.validate()?;
        Self::start(Box::new(pool), Dialect::MySql, codec, config, tables).await
    }

    /// A store on a SQLite pool the application already has. An in-memory database
    /// needs a pool that never closes its only connection (the database dies with it).
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::SessionCodec;
    /// # use axum_oidc_client::store::{SqlStore, SqlStoreConfig};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::SqlitePool::connect("sqlite://sessions.db?mode=rwc").await?;
    /// let store =
    ///     SqlStore::from_sqlite_pool(pool, SessionCodec::encrypted(at_rest_key), SqlStoreConfig::default())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sqlite")]
    pub async fn from_sqlite_pool(
        pool: sqlx::SqlitePool,
        codec: SessionCodec,
        config: SqlStoreConfig,
    ) -> Result<Self, StoreError> {
        let tables = config.validate()?;
        Self::start(Box::new(pool), Dialect::Sqlite, codec, config, tables).await
    }

    async fn start(
        engine: Box<dyn Engine>,
        dialect: Dialect,
        codec: SessionCodec,
        config: SqlStoreConfig,
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
            poll_interval: config.invalidation_poll_interval,
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
    /// # async fn run(store: axum_oidc_client::store::SqlStore) -> Result<(), axum_oidc_client::StoreError> {
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
    /// # async fn run(store: axum_oidc_client::store::SqlStore) {
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

/// The earlier name of [`SqlStore`].
#[deprecated(note = "renamed to `SqlStore`")]
pub type SqlAuthCache = SqlStore;

/// The earlier name of [`SqlStoreConfig`].
#[deprecated(note = "renamed to `SqlStoreConfig`")]
pub type SqlCacheConfig = SqlStoreConfig;
