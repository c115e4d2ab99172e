//! The settings of an SQL store.

use std::time::Duration;

use super::DEFAULT_TABLE_PREFIX;
use super::dialect::{MAX_PREFIX_LEN, Tables};
use crate::store::StoreError;

/// Settings of a [`SqlStore`](super::SqlStore).
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::store::SqlStoreConfig;
///
/// let config = SqlStoreConfig::default()
///     .with_table_prefix("shop_auth")
///     .with_cleanup_interval(Duration::from_secs(60))
///     .with_cleanup_batch_size(1000);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqlStoreConfig {
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
    /// How often a subscription to the
    /// [invalidation channel](super::SqlStore::invalidation_channel) reads the
    /// revocation log (MySQL/MariaDB and SQLite; PostgreSQL is pushed its messages).
    /// Default 50 ms: the usual delay before another instance drops a revoked
    /// session, for one indexed query per instance per interval.
    pub invalidation_poll_interval: Duration,
}

impl Default for SqlStoreConfig {
    fn default() -> Self {
        Self {
            table_prefix: DEFAULT_TABLE_PREFIX.to_owned(),
            cleanup_interval: Some(Duration::from_secs(300)),
            cleanup_batch_size: 500,
            create_schema: true,
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            invalidation_poll_interval: Duration::from_millis(50),
        }
    }
}

impl SqlStoreConfig {
    /// Sets [`table_prefix`](Self::table_prefix).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config = SqlStoreConfig::default().with_table_prefix("app_a");
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
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config = SqlStoreConfig::default().with_cleanup_interval(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn with_cleanup_interval(mut self, every: Duration) -> Self {
        self.cleanup_interval = Some(every);
        self
    }

    /// Runs no cleanup task (for example when a database job purges expired rows, or
    /// [`SqlStore::purge_expired`](super::SqlStore::purge_expired) is called on a schedule).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config = SqlStoreConfig::default().without_cleanup();
    /// ```
    #[must_use]
    pub fn without_cleanup(mut self) -> Self {
        self.cleanup_interval = None;
        self
    }

    /// Sets [`cleanup_batch_size`](Self::cleanup_batch_size).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config = SqlStoreConfig::default().with_cleanup_batch_size(100);
    /// ```
    #[must_use]
    pub fn with_cleanup_batch_size(mut self, rows: u32) -> Self {
        self.cleanup_batch_size = rows;
        self
    }

    /// Creates no tables: they must exist (see the [module docs](super) for the schema).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config = SqlStoreConfig::default().without_schema_creation();
    /// ```
    #[must_use]
    pub fn without_schema_creation(mut self) -> Self {
        self.create_schema = false;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    ///
    /// ```
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config = SqlStoreConfig::default().with_max_connections(4);
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
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config = SqlStoreConfig::default().with_acquire_timeout(Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`invalidation_poll_interval`](Self::invalidation_poll_interval).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::SqlStoreConfig;
    /// let config =
    ///     SqlStoreConfig::default().with_invalidation_poll_interval(Duration::from_millis(200));
    /// ```
    #[must_use]
    pub fn with_invalidation_poll_interval(mut self, every: Duration) -> Self {
        self.invalidation_poll_interval = every;
        self
    }

    pub(super) fn validate(&self) -> Result<Tables, StoreError> {
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
        if self.invalidation_poll_interval.is_zero() {
            return Err(StoreError::Config(
                "invalidation_poll_interval must not be zero".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_invalidation_poll_interval_is_refused() {
        let config = SqlStoreConfig::default().with_invalidation_poll_interval(Duration::ZERO);
        let Err(StoreError::Config(message)) = config.validate() else {
            panic!("a zero poll interval was accepted");
        };
        assert!(message.contains("invalidation_poll_interval"), "{message}");
        let ok =
            SqlStoreConfig::default().with_invalidation_poll_interval(Duration::from_millis(1));
        assert!(ok.validate().is_ok());
    }
}
