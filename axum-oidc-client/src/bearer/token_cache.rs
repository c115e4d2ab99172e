//! A cache of recently verified tokens, so a client that sends the same token many
//! times pays for one signature check.
//!
//! Why it cannot weaken verification:
//! - Entries are keyed by the SHA-256 of the whole compact token, so a hit means the
//!   very same bytes (header, claims and signature) were verified before. No token
//!   is kept in memory, only its hash.
//! - Only tokens that passed every rule are stored; every rule except the time ones
//!   is a function of those bytes and of the configuration, which owns the cache.
//! - On every hit `exp` and `nbf` are checked again against the clock.
//! - Each entry remembers the key set that verified it. When the issuer's
//!   [`JwksCache`](crate::jose::JwksCache) has fetched other keys since (rotation,
//!   removal of a compromised key), the entry is ignored and the token verified again.
//! - Entries live at most [`TTL`], and the cache is bounded.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::VerifiedJwt;
use crate::jose::JwkSet;

/// Longest time an entry is used.
pub(crate) const TTL: Duration = Duration::from_secs(300);

/// Default number of entries.
pub(crate) const DEFAULT_CAPACITY: u64 = 10_000;

pub(crate) type Key = [u8; 32];

/// One verified token.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) jwt: VerifiedJwt,
    /// Index of the issuer in the configuration.
    pub(crate) issuer: usize,
    /// The key set the signature was checked with; `None` for HMAC issuers.
    pub(crate) keys: Option<Weak<JwkSet>>,
}

impl Entry {
    /// Whether `current` is still the key set this entry was verified with. The weak
    /// reference keeps the old allocation alive, so its address cannot be reused.
    pub(crate) fn keys_unchanged(&self, current: &Arc<JwkSet>) -> bool {
        self.keys
            .as_ref()
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(current)))
    }
}

/// The cache.
#[derive(Clone)]
pub(crate) struct TokenCache {
    entries: moka::future::Cache<Key, Arc<Entry>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl TokenCache {
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(TTL)
                .build(),
        }
    }

    pub(crate) fn key(token: &str) -> Key {
        Sha256::digest(token.as_bytes()).into()
    }

    pub(crate) async fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        self.entries.get(key).await
    }

    pub(crate) async fn insert(&self, key: Key, entry: Entry) {
        self.entries.insert(key, Arc::new(entry)).await;
    }

    pub(crate) async fn remove(&self, key: &Key) {
        self.entries.invalidate(key).await;
    }
}
