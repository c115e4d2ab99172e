//! The three sqlx calls the store makes, over a pool of any enabled engine.
//!
//! Keeping the per-engine surface this small lets one [`SqlStore`](super::SqlStore)
//! hold the store logic for every engine, behind a trait object, without sqlx's
//! generic bounds spreading through it.

use async_trait::async_trait;
use sqlx::{Database, Encode, Type, query::Query};

/// A bound parameter.
#[derive(Clone, Copy)]
pub(super) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bytes(&'a [u8]),
}

/// A pool the store can run statements on.
#[async_trait]
pub(super) trait Engine: Send + Sync + 'static {
    /// Runs a statement; returns the rows it affected.
    async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, sqlx::Error>;

    /// Runs a query; returns the first column of its first row, if any.
    async fn fetch_bytes(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<Vec<u8>>, sqlx::Error>;

    /// Runs a query whose rows are `(text key, bytes)`; returns them all. The key is
    /// `TEXT` on PostgreSQL and SQLite and `VARBINARY` on MySQL, so it is read as
    /// either.
    async fn fetch_keyed_bytes(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error>;

    /// Closes the pool.
    async fn close(&self);

    /// The pool itself, for the invalidation channel's engine-specific calls.
    fn as_any(&self) -> &dyn std::any::Any;
}

fn bind<'q, DB>(
    mut query: Query<'q, DB, DB::Arguments<'q>>,
    args: &[Arg<'q>],
) -> Query<'q, DB, DB::Arguments<'q>>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    for arg in args {
        query = match *arg {
            Arg::Int(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    query
}

macro_rules! sqlx_engine {
    ($db:ty) => {
        #[async_trait]
        impl Engine for sqlx::Pool<$db> {
            async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, sqlx::Error> {
                let done = bind(sqlx::query::<$db>(sql), args).execute(self).await?;
                Ok(done.rows_affected())
            }

            async fn fetch_bytes(
                &self,
                sql: &str,
                args: &[Arg<'_>],
            ) -> Result<Option<Vec<u8>>, sqlx::Error> {
                use sqlx::Row as _;
                let row = bind(sqlx::query::<$db>(sql), args)
                    .fetch_optional(self)
                    .await?;
                row.map(|r| r.try_get(0)).transpose()
            }

            async fn fetch_keyed_bytes(
                &self,
                sql: &str,
                args: &[Arg<'_>],
            ) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error> {
                use sqlx::Row as _;
                let rows = bind(sqlx::query::<$db>(sql), args).fetch_all(self).await?;
                rows.iter()
                    .map(|r| {
                        let key = match r.try_get::<String, _>(0) {
                            Ok(key) => key,
                            Err(_) => String::from_utf8(r.try_get::<Vec<u8>, _>(0)?)
                                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                        };
                        Ok((key, r.try_get(1)?))
                    })
                    .collect()
            }

            async fn close(&self) {
                sqlx::Pool::close(self).await;
            }

            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
        }
    };
}

#[cfg(feature = "postgres")]
sqlx_engine!(sqlx::Postgres);
#[cfg(feature = "mysql")]
sqlx_engine!(sqlx::MySql);
#[cfg(feature = "sqlite")]
sqlx_engine!(sqlx::Sqlite);
