//! The session store interface and its backends.
//!
//! A store keeps four things, each with an expiry:
//! - sessions by [`SessionKey`];
//! - the indexes back-channel logout needs: `sid` and `sub` to session keys;
//! - short leases used as the cross-instance refresh lock;
//! - a replay cache of one-time values (logout-token `jti`, consumed `state`).
//!
//! Every backend runs the same behaviour suite (`store::suite`, Cargo feature
//! `test-util`), which a store of your own can run too.
//!
//! # Backends
//!
//! | store | feature | shared between instances | notes |
//! |---|---|---|---|
//! | [`MemoryStore`] | — | no | the default; sessions die with the process |
//! | `RedisStore` | `redis` | yes | reconnects by itself; TTLs are Redis's own |
//! | `SqlStore` | `postgres`, `mysql`, `sqlite` | yes (SQLite: one host) | tables created at connect; expired rows purged in the background |
//! | [`TwoTierStore`] | — | through its second tier | a short-lived local copy in front of a shared store |
//!
//! [`from_url`] picks one from a URL (`memory`, `redis://…`, `postgres://…`,
//! `mysql://…`, `sqlite://…`, `tiered+redis://…`).
//!
//! # Encryption at rest
//!
//! Remote stores write records through a [`SessionCodec`].
//! [`from_url`] always uses the encrypting codec keyed by
//! [`CookieKey::at_rest_key`](crate::session::cookies::CookieKey::at_rest_key): a copy of the
//! database does not yield usable tokens, and rows cannot be moved between sessions.
//! Session keys are SHA-256 digests of the session ids, so the store holds no cookie
//! value either.
//!
//! # Faults
//!
//! Every backend failure is [`StoreError::Unavailable`] (never "absent"); an entry
//! that cannot be decoded (another key, another format version) reads as absent.
//! Connections time out after about 2 s so a dead server fails fast; the layer also
//! bounds each operation with its own timeout ([`StoreError::Timeout`]).

use std::sync::Arc;

/// The session types a store keeps.
pub use crate::session::{SessionCodec, SessionKey, SessionRecord, TokenSet};

mod auth_cache;
pub use auth_cache::AuthCache;

mod bounded;
mod metered;
pub(crate) use bounded::BoundedStore;

pub mod memory;
pub use memory::MemoryStore;

pub mod invalidation;
pub use invalidation::{
    Invalidation, InvalidationChannel, InvalidationHealth, LocalChannel, SharedChannel,
    Subscription,
};

pub mod two_tier;
#[allow(deprecated)]
pub use two_tier::{TwoTierAuthCache, TwoTierCacheConfig};
pub use two_tier::{TwoTierStore, TwoTierStoreConfig};

pub mod url;
pub use self::url::{from_url, from_url_with, two_tier_from_url};

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod suite;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisStore, RedisStoreBuilder};

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite")))
)]
pub mod sql;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
#[allow(deprecated)]
pub use self::sql::{SqlAuthCache, SqlCacheConfig};
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite")))
)]
pub use self::sql::{SqlStore, SqlStoreConfig};

#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "mysql",
    feature = "sqlite"
))]
mod remote;

/// Why a store operation failed. Any of these makes the request answer 503: a store
/// fault is never read as "logged out" nor as "logged in".
///
/// ```
/// use axum_oidc_client::store::StoreError;
///
/// // What a store of your own returns when its backend fails.
/// let e = StoreError::unavailable(std::io::Error::other("connection refused"));
/// assert_eq!(e.to_string(), "session store unavailable");
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or failed.
    #[error("session store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The operation did not finish in time.
    #[error("session store timed out")]
    Timeout,
    /// A record could not be encoded.
    #[error("session record could not be encoded")]
    Codec,
    /// The store was configured wrongly (bad URL, unknown scheme).
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// The store's server could not be reached when the store was opened
    /// ([`store::from_url`](crate::store::from_url), `RedisStore::connect`,
    /// `SqlStore::connect`). The cause is the backend's own error, down to the root
    /// (for example "connection refused").
    #[error("cannot connect to the {backend} session store at {address}")]
    Connect {
        /// The backend: `Redis`, `PostgreSQL`, `MySQL` or `SQLite`.
        backend: &'static str,
        /// Where: `host:port` (or the SQLite file), never a user name or password.
        address: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// Wraps a backend error.
    ///
    /// ```
    /// use axum_oidc_client::store::StoreError;
    ///
    /// let e = StoreError::unavailable(std::io::Error::other("reset"));
    /// assert!(matches!(e, StoreError::Unavailable(_)));
    /// assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "reset");
    /// ```
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

/// The name the rest of the crate uses for a shared store.
pub type SharedStore = Arc<dyn AuthCache>;
