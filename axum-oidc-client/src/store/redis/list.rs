//! [`AuthCache::sessions_of`](crate::store::AuthCache::sessions_of) on Redis: a
//! user's live sessions, read through the `sub:` index sets.

use std::sync::Arc;

use ::redis::AsyncCommands as _;

use super::RedisStore;
use crate::session::{SessionKey, SessionRecord};
use crate::store::StoreError;
use crate::store::remote::decode_entry;

impl RedisStore {
    /// The sessions of `(iss, sub)`, group by group (one group on one server or
    /// Sentinel, [`CLUSTER_GROUPS`](super::keys::CLUSTER_GROUPS) in a cluster),
    /// concurrently.
    pub(super) async fn list_sessions(
        &self,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        let groups = (0..self.keys.group_count()).map(|g| self.list_in(g, iss, sub));
        let found = futures_util::future::try_join_all(groups).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Group `g`: the subject's index set lists every session key written for it
    /// there (members of expired or removed sessions linger until pruned, so each is
    /// read back); the entries are read in one `MGET` (one hash slot) and decoded
    /// here. A record must name the same subject and issuer: a subject is unique only
    /// per issuer (OpenID Connect Core 1.0 section 2), and an unreadable entry (other
    /// key, tampered) is absent.
    async fn list_in(
        &self,
        g: usize,
        iss: &str,
        sub: &str,
    ) -> Result<Vec<(SessionKey, Arc<SessionRecord>)>, StoreError> {
        let members: Vec<String> = self
            .conn()
            .smembers(self.keys.sub(g, sub))
            .await
            .map_err(StoreError::unavailable)?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let prefix = self.keys.session_prefix(g);
        let redis_keys: Vec<String> = members.iter().map(|m| format!("{prefix}{m}")).collect();
        let entries: Vec<Option<Vec<u8>>> = self
            .conn()
            .mget(&redis_keys)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(members
            .into_iter()
            .zip(entries)
            .filter_map(|(member, bytes)| {
                let key = SessionKey::from_stored(member);
                let record = decode_entry(&self.codec, &key, &bytes?)?;
                (record.sub() == sub && record.claims.iss == iss).then_some((key, record))
            })
            .collect())
    }
}
