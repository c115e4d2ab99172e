//! The [`AuthCache`] operations of an SQL store.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::engine::Arg;
use super::{Inner, SqlStore};
use crate::session::{SessionKey, SessionRecord};
use crate::store::remote::{decode_entry, once_digest, ttl_millis};
use crate::store::{AuthCache, StoreError};

impl Inner {
    pub(super) async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        self.engine
            .execute(sql, args)
            .await
            .map_err(StoreError::unavailable)
    }

    /// Runs an insert-if-absent; `true` when it inserted. MySQL reports the conflict
    /// as a duplicate-key error, the others as zero rows.
    pub(super) async fn insert_if_absent(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<bool, StoreError> {
        match self.engine.execute(sql, args).await {
            Ok(n) => Ok(n > 0),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// The stored bytes of a live session.
    pub(super) async fn raw(&self, key: &SessionKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.engine
            .fetch_bytes(&self.queries.get, &[Arg::Text(key.as_str())])
            .await
            .map_err(StoreError::unavailable)
    }

    pub(super) async fn count(&self, sql: &str, value: &str) -> Result<usize, StoreError> {
        let n = self.execute(sql, &[Arg::Text(value)]).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

#[async_trait]
impl AuthCache for SqlStore {
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
        let sid = record.logout_sid();
        let args = [
            Arg::Text(key.as_str()),
            Arg::Bytes(&data),
            Arg::OptText(sid.as_deref()),
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
        let sid = record.logout_sid();
        let args = [
            Arg::Bytes(&data),
            Arg::OptText(sid.as_deref()),
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

    /// One `SELECT` through the `sub` index; the issuer is in the sealed record only,
    /// so it is compared after decoding (a subject is unique only per issuer, OpenID
    /// Connect Core 1.0 section 2). Unreadable rows are left out, as `get` treats them.
    async fn sessions_of(
        &self,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        let inner = &self.inner;
        let rows = inner
            .engine
            .fetch_keyed_bytes(&inner.queries.sessions_of, &[Arg::Text(sub)])
            .await
            .map_err(StoreError::unavailable)?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, data)| {
                let key = SessionKey::from_stored(key);
                let record = decode_entry(&inner.codec, &key, &data)?;
                (record.sub() == sub && record.claims.iss == iss).then_some((key, record))
            })
            .collect())
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
