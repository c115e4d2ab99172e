//! The invalidation channel of an SQL store.
//!
//! - **PostgreSQL**: `LISTEN`/`NOTIFY`. Publishing is `SELECT pg_notify(channel,
//!   message)` on the pool; a subscription is a [`PgListener`](sqlx::postgres::PgListener)
//!   holding one connection of the pool. A lost connection ends the subscription
//!   (sqlx would reconnect silently, losing what was sent meanwhile), so the local
//!   tier flushes and subscribes again.
//! - **MySQL/MariaDB and SQLite**: a revocation log table, `{prefix}_invalidations`.
//!   Publishing inserts a row; a subscription reads the rows above the highest seq it
//!   found when it started, every
//!   [`invalidation_poll_interval`](super::SqlStoreConfig::invalidation_poll_interval),
//!   through a [`LogCursor`] so that a row committing out of order is not skipped.
//!   Messages survive a lost connection in the table; a failed read ends the
//!   subscription all the same, since it may stay down for long.

use std::sync::Arc;

use async_trait::async_trait;

use super::SqlStore;
use super::dialect::InvalidationSql;
use crate::store::StoreError;
use crate::store::invalidation::SharedChannel;
use crate::store::invalidation::{InvalidationChannel, Subscription};

/// Longest message a channel carries, in bytes: PostgreSQL's `NOTIFY` payload must be
/// shorter than 8000 bytes, and the log's `message` column holds 8000.
pub(super) const MAX_MESSAGE_BYTES: usize = 7999;

/// A message over [`MAX_MESSAGE_BYTES`]: refused, not truncated.
#[derive(Debug, thiserror::Error)]
#[error("an invalidation message of {len} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")]
struct MessageTooLong {
    len: usize,
}

/// A subscription that dropped.
#[cfg(feature = "postgres")]
#[derive(Debug, thiserror::Error)]
#[error("the connection listening on {channel:?} was lost")]
struct ListenerLost {
    channel: String,
}

fn check_len(message: &str) -> Result<(), StoreError> {
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(StoreError::unavailable(MessageTooLong {
            len: message.len(),
        }));
    }
    Ok(())
}

impl SqlStore {
    /// The channel through which the local tiers in front of this store tell each
    /// other what changed: PostgreSQL `LISTEN`/`NOTIFY`, or on MySQL/MariaDB and
    /// SQLite a revocation log table read every
    /// [`invalidation_poll_interval`](super::SqlStoreConfig::invalidation_poll_interval)
    /// (see the [module docs](super) for its schema). It shares the store's pool; on
    /// PostgreSQL each subscription holds one of its connections.
    /// [`store::from_url`](crate::store::from_url) sets it up for `tiered+` URLs.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use axum_oidc_client::store::{SessionCodec, SqlStore, SqlStoreConfig};
    /// use axum_oidc_client::store::{TwoTierStore, TwoTierStoreConfig};
    ///
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let shared = SqlStore::connect(
    ///     "postgres://app@db.internal/app",
    ///     SessionCodec::encrypted(at_rest_key),
    ///     SqlStoreConfig::default(),
    /// )
    /// .await?;
    /// let channel = shared.invalidation_channel();
    /// let store =
    ///     TwoTierStore::with_channel(Arc::new(shared), channel, TwoTierStoreConfig::default())
    ///         .await;
    /// # Ok(()) }
    /// ```
    pub fn invalidation_channel(&self) -> SharedChannel {
        let inner = &self.inner;
        let pool = inner.engine.as_any();
        match &inner.queries.invalidation {
            InvalidationSql::Notify { channel } => {
                #[cfg(feature = "postgres")]
                if let Some(pool) = pool.downcast_ref::<sqlx::PgPool>() {
                    return Arc::new(NotifyChannel {
                        pool: pool.clone(),
                        channel: channel.clone(),
                    });
                }
                let _ = channel;
            }
            InvalidationSql::Log(sql) => {
                #[cfg(any(feature = "mysql", feature = "sqlite"))]
                if let Some(channel) = log::LogChannel::of(pool, sql, inner.poll_interval) {
                    return Arc::new(channel);
                }
                let _ = (sql, inner.poll_interval);
            }
        }
        // A store's pool is always of its dialect's engine; were it not, the channel
        // reports itself down (the local TTL is then the bound) instead of panicking.
        Arc::new(NoChannel)
    }
}

/// PostgreSQL `LISTEN`/`NOTIFY`.
#[cfg(feature = "postgres")]
struct NotifyChannel {
    pool: sqlx::PgPool,
    channel: String,
}

#[cfg(feature = "postgres")]
#[async_trait]
impl InvalidationChannel for NotifyChannel {
    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        check_len(message)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(message)
            .execute(&self.pool)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn subscribe(&self) -> Result<Subscription, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
            .await
            .map_err(StoreError::unavailable)?;
        // A lost connection ends the subscription instead of being re-established
        // behind our back: what was sent meanwhile is lost, so the local tier flushes.
        listener.eager_reconnect(false);
        listener
            .listen(&self.channel)
            .await
            .map_err(StoreError::unavailable)?;
        let channel = self.channel.clone();
        let stream = futures_util::stream::unfold(Some(listener), move |listener| {
            let channel = channel.clone();
            async move {
                let mut listener = listener?;
                let item = match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        return Some((Ok(notification.payload().to_owned()), Some(listener)));
                    }
                    Ok(None) => StoreError::unavailable(ListenerLost { channel }),
                    Err(e) => StoreError::unavailable(e),
                };
                // The listener is dropped with the stream's last item.
                Some((Err(item), None))
            }
        });
        Ok(Box::pin(stream))
    }

    fn describe(&self) -> String {
        format!("PostgreSQL LISTEN/NOTIFY {:?}", self.channel)
    }
}

/// The revocation log channel of MySQL/MariaDB and SQLite.
#[cfg(any(feature = "mysql", feature = "sqlite"))]
mod log {
    use std::collections::VecDeque;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use async_trait::async_trait;

    use super::check_len;
    use crate::store::StoreError;
    use crate::store::invalidation::{InvalidationChannel, Subscription};
    use crate::store::sql::dialect::LogSql;
    use crate::store::sql::log_cursor::LogCursor;

    /// How long a reader of the log waits for a missing seq before giving up on it.
    const GAP_TIMEOUT: Duration = Duration::from_secs(2);

    /// The pool of an engine with a revocation log.
    #[derive(Clone)]
    enum LogPool {
        #[cfg(feature = "mysql")]
        MySql(sqlx::MySqlPool),
        #[cfg(feature = "sqlite")]
        Sqlite(sqlx::SqlitePool),
    }

    /// Runs `$body` with `$pool` bound to the concrete pool.
    macro_rules! on_pool {
        ($self:expr, $pool:ident => $body:expr) => {
            match $self {
                #[cfg(feature = "mysql")]
                LogPool::MySql($pool) => $body,
                #[cfg(feature = "sqlite")]
                LogPool::Sqlite($pool) => $body,
            }
        };
    }

    impl LogPool {
        fn of(pool: &dyn std::any::Any) -> Option<Self> {
            #[cfg(feature = "mysql")]
            if let Some(pool) = pool.downcast_ref::<sqlx::MySqlPool>() {
                return Some(Self::MySql(pool.clone()));
            }
            #[cfg(feature = "sqlite")]
            if let Some(pool) = pool.downcast_ref::<sqlx::SqlitePool>() {
                return Some(Self::Sqlite(pool.clone()));
            }
            let _ = pool;
            None
        }

        fn engine(&self) -> &'static str {
            match self {
                #[cfg(feature = "mysql")]
                Self::MySql(_) => "MySQL",
                #[cfg(feature = "sqlite")]
                Self::Sqlite(_) => "SQLite",
            }
        }

        async fn insert(&self, sql: &str, message: &str) -> Result<(), sqlx::Error> {
            on_pool!(self, pool => {
                sqlx::query(sql).bind(message.as_bytes()).execute(pool).await.map(drop)
            })
        }

        async fn max_seq(&self, sql: &str) -> Result<i64, sqlx::Error> {
            on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)
        }

        async fn read_after(
            &self,
            sql: &str,
            after: i64,
        ) -> Result<Vec<(i64, Vec<u8>)>, sqlx::Error> {
            on_pool!(self, pool => sqlx::query_as(sql).bind(after).fetch_all(pool).await)
        }
    }

    /// A revocation log table, polled.
    pub(super) struct LogChannel {
        pool: LogPool,
        sql: Arc<LogSql>,
        every: Duration,
    }

    impl LogChannel {
        /// The channel of a MySQL or SQLite pool.
        pub(super) fn of(pool: &dyn std::any::Any, sql: &LogSql, every: Duration) -> Option<Self> {
            Some(Self {
                pool: LogPool::of(pool)?,
                sql: Arc::new(sql.clone()),
                every,
            })
        }
    }

    /// What a log subscription carries from one poll to the next.
    struct Poll {
        pool: LogPool,
        sql: Arc<LogSql>,
        every: Duration,
        cursor: LogCursor,
        ready: VecDeque<String>,
        failed: bool,
    }

    impl Poll {
        /// The next message: from the last read, or from reads every `every` until one
        /// has something. A failed read is the last item.
        async fn next(mut self) -> Option<(Result<String, StoreError>, Self)> {
            loop {
                if let Some(message) = self.ready.pop_front() {
                    return Some((Ok(message), self));
                }
                if self.failed {
                    return None;
                }
                tokio::time::sleep(self.every).await;
                match self
                    .pool
                    .read_after(&self.sql.read_after, self.cursor.floor())
                    .await
                {
                    Ok(rows) => {
                        let fresh = self.cursor.accept(rows, Instant::now());
                        // Anything that is not UTF-8 is not ours; `decode` would refuse it.
                        self.ready
                            .extend(fresh.into_iter().filter_map(|m| String::from_utf8(m).ok()));
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some((Err(StoreError::unavailable(e)), self));
                    }
                }
            }
        }
    }

    #[async_trait]
    impl InvalidationChannel for LogChannel {
        async fn publish(&self, message: &str) -> Result<(), StoreError> {
            check_len(message)?;
            self.pool
                .insert(&self.sql.insert, message)
                .await
                .map_err(StoreError::unavailable)
        }

        async fn subscribe(&self) -> Result<Subscription, StoreError> {
            let start = self
                .pool
                .max_seq(&self.sql.max_seq)
                .await
                .map_err(StoreError::unavailable)?;
            let poll = Poll {
                pool: self.pool.clone(),
                sql: self.sql.clone(),
                every: self.every,
                cursor: LogCursor::new(start, GAP_TIMEOUT),
                ready: VecDeque::new(),
                failed: false,
            };
            Ok(Box::pin(futures_util::stream::unfold(poll, Poll::next)))
        }

        fn describe(&self) -> String {
            format!(
                "{} revocation log {:?} (read every {} ms)",
                self.pool.engine(),
                self.sql.table,
                self.every.as_millis()
            )
        }
    }
}

/// The channel of a store whose pool is not of its dialect's engine (which
/// construction rules out): it refuses every call, so the local tier reports it down.
struct NoChannel;

#[async_trait]
impl InvalidationChannel for NoChannel {
    async fn publish(&self, _: &str) -> Result<(), StoreError> {
        Err(Self::error())
    }

    async fn subscribe(&self) -> Result<Subscription, StoreError> {
        Err(Self::error())
    }

    fn describe(&self) -> String {
        "no SQL invalidation channel".into()
    }
}

impl NoChannel {
    fn error() -> StoreError {
        StoreError::Config(
            "the SQL store's pool does not match its dialect: no invalidation channel".into(),
        )
    }
}
