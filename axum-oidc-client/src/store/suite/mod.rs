//! The behaviour every session store must have, as one async function per rule, and
//! [`store_suite!`](crate::store_suite) to run them all against one store (Cargo
//! feature `test-util`).
//!
//! Every backend of this crate runs this suite; a store of your own can run it too.
//! In a test file (the crate's dev-dependencies need `tokio` with the `macros` and
//! `rt-multi-thread` features):
//!
//! ```ignore
//! use std::sync::Arc;
//! use axum_oidc_client::store::suite::Fixture;
//!
//! axum_oidc_client::store_suite!(my_store, async {
//!     Some(Fixture::new(Arc::new(MyStore::default())))
//! });
//! ```
//!
//! That is one `#[tokio::test]` per behaviour, in a module named `my_store`. The
//! fixture expression yields `None` when the backend is not available and the suite
//! should be skipped (see [`server_url`]). Give the fixture a raw reader
//! ([`Fixture::with_raw`]) and a store over the same data with another at-rest key
//! ([`Fixture::with_other_key`]) to run the encryption-at-rest behaviours as well.

use std::sync::Arc;

use crate::id_token::IdTokenClaims;
use crate::secret::{AccessTokenValue, IdTokenValue, RefreshTokenValue};
use crate::session::{SessionKey, SessionRecord, TokenSet, new_session_id};
use crate::store::SharedStore;
use futures_util::future::BoxFuture;

mod behaviours;
mod listing;
pub use self::behaviours::*;
pub use self::listing::*;

/// Runs every behaviour of [`store::suite`](crate::store::suite) against the store
/// made by `$fixture` (an expression of type
/// `impl Future<Output = Option<Fixture>>`), one `#[tokio::test]` each, in a module
/// named `$name`. Needs `tokio` (features `macros`, `rt-multi-thread`) in the calling
/// crate. Cargo feature `test-util`.
///
/// ```ignore
/// axum_oidc_client::store_suite!(memory, async {
///     Some(axum_oidc_client::store::suite::Fixture::new(std::sync::Arc::new(
///         axum_oidc_client::MemoryStore::default(),
///     )))
/// });
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[macro_export]
macro_rules! store_suite {
    ($name:ident, $fixture:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::store_suite!(@each $fixture;
                put_then_get_returns_the_same_record,
                get_of_an_unknown_key_is_none,
                put_overwrites_the_record_and_restarts_its_ttl,
                sessions_expire_after_their_ttl,
                remove_deletes_the_session,
                remove_by_sid_ends_only_the_sessions_of_that_sid,
                a_named_providers_session_is_ended_by_its_issuers_sid_only,
                remove_by_sub_ends_every_session_of_the_subject_and_no_other,
                a_rewritten_session_is_still_ended_by_its_sid_and_sub,
                replace_writes_over_the_version_read,
                replace_refuses_when_the_session_was_removed,
                replace_refuses_when_the_session_changed_meanwhile,
                replace_refuses_when_the_session_expired,
                replace_reindexes_by_sid_and_sub,
                concurrent_replaces_of_one_version_have_exactly_one_winner,
                remove_by_sub_without_sid_ends_only_the_sessions_without_a_sid,
                remove_by_sub_without_sid_spares_other_subjects,
                a_lease_is_exclusive_between_owners,
                a_lease_is_reentrant_for_its_owner_and_extended,
                unlock_releases_the_lease_only_for_its_owner,
                a_lease_expires_after_its_duration,
                concurrent_try_lock_from_20_tasks_has_exactly_one_winner,
                insert_once_is_true_once_then_false,
                insert_once_is_true_again_after_its_ttl,
                one_time_values_leases_and_sessions_do_not_collide,
                entries_sealed_with_another_key_read_as_absent,
                stored_entries_do_not_contain_token_plaintext,
                sessions_of_lists_every_live_session_of_the_user,
                sessions_of_lists_no_other_issuer_or_subject,
                sessions_of_lists_no_removed_or_expired_session,
            );
        }
    };
    (@each $fixture:expr; $($behaviour:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $behaviour() {
                let Some(fixture) = $fixture.await else {
                    return;
                };
                $crate::store::suite::$behaviour(&fixture).await;
                fixture.teardown().await;
            }
        )*
    };
}

/// Reads the raw stored bytes of a session, bypassing the store.
pub type RawRead = Box<dyn Fn(SessionKey) -> BoxFuture<'static, Option<Vec<u8>>> + Send + Sync>;

/// Cleans up what a test created on a server.
pub type Teardown = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// A store under test and what the suite may use to look behind it.
///
/// ```
/// # use std::sync::Arc;
/// # use axum_oidc_client::store::{MemoryStore, suite::{self, Fixture}};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let fixture = Fixture::new(Arc::new(MemoryStore::default()));
/// // Run one behaviour by hand (`store_suite!` runs them all, one test each).
/// suite::put_then_get_returns_the_same_record(&fixture).await;
/// fixture.teardown().await;
/// # }
/// ```
pub struct Fixture {
    /// The store under test.
    pub store: SharedStore,
    /// The same data through a store with another at-rest key, if the backend can.
    pub other_key: Option<SharedStore>,
    /// Raw stored bytes of a session, for remote backends.
    pub raw: Option<RawRead>,
    teardown: Option<Teardown>,
}

impl Fixture {
    /// A fixture with nothing but the store.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_oidc_client::store::{MemoryStore, suite::{self, Fixture}};
    /// let fixture = Fixture::new(Arc::new(MemoryStore::new(1_000)));
    /// assert!(fixture.other_key.is_none() && fixture.raw.is_none());
    /// ```
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            other_key: None,
            raw: None,
            teardown: None,
        }
    }

    /// Adds a store over the same data with another at-rest key.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_oidc_client::store::{MemoryStore, suite::{self, Fixture}};
    /// // A remote backend opens a second store over the same data with `suite::OTHER_KEY`.
    /// let shared = Arc::new(MemoryStore::default());
    /// let fixture = Fixture::new(shared.clone()).with_other_key(shared);
    /// assert!(fixture.other_key.is_some());
    /// ```
    pub fn with_other_key(mut self, store: SharedStore) -> Self {
        self.other_key = Some(store);
        self
    }

    /// Adds a raw reader.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_oidc_client::store::{MemoryStore, suite::{self, Fixture}};
    /// // A remote backend reads the stored bytes directly (here: nothing stored).
    /// let fixture = Fixture::new(Arc::new(MemoryStore::default()))
    ///     .with_raw(Box::new(|_key| Box::pin(async { None })));
    /// assert!(fixture.raw.is_some());
    /// ```
    pub fn with_raw(mut self, raw: RawRead) -> Self {
        self.raw = Some(raw);
        self
    }

    /// Adds a cleanup step run after a passing test, after those added before.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_oidc_client::store::{MemoryStore, suite::{self, Fixture}};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let table = suite::unique_name();
    /// let fixture = Fixture::new(Arc::new(MemoryStore::default())).with_teardown(Box::new(move || {
    ///     Box::pin(async move { println!("DROP TABLE {table}") })
    /// }));
    /// fixture.teardown().await;
    /// # }
    /// ```
    pub fn with_teardown(mut self, next: Teardown) -> Self {
        self.teardown = Some(match self.teardown.take() {
            None => next,
            Some(first) => Box::new(move || {
                Box::pin(async move {
                    first().await;
                    next().await;
                })
            }),
        });
        self
    }

    /// Runs the cleanup step.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_oidc_client::store::{MemoryStore, suite::{self, Fixture}};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    /// let flag = done.clone();
    /// let fixture = Fixture::new(Arc::new(MemoryStore::default())).with_teardown(Box::new(move || {
    ///     Box::pin(async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) })
    /// }));
    /// fixture.teardown().await;
    /// assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    /// # }
    /// ```
    pub async fn teardown(self) {
        if let Some(teardown) = self.teardown {
            teardown().await;
        }
    }
}

/// The URL of a test server from `var`. Unset: `None` (skip), unless `CI` is set, in
/// which case a missing server is a failure.
///
/// ```no_run
/// use axum_oidc_client::store::suite::server_url;
///
/// // In a fixture: skip the suite when no server is configured.
/// let Some(url) = server_url("MY_STORE_TEST_URL") else { return };
/// # let _ = url;
/// ```
pub fn server_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!("{var} must be set when CI is set"),
        _ => {
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

/// A fresh name for tables or key prefixes, so parallel tests never share data.
///
/// ```
/// use axum_oidc_client::store::suite::unique_name;
///
/// let (a, b) = (unique_name(), unique_name());
/// assert_ne!(a, b);
/// assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "usable as a table name");
/// ```
pub fn unique_name() -> String {
    format!("t{:016x}", rand::random::<u64>())
}

/// The at-rest key of the stores under test.
pub const KEY: [u8; 32] = [7; 32];
/// Another at-rest key, for [`Fixture::with_other_key`].
pub const OTHER_KEY: [u8; 32] = [8; 32];

/// The access token of [`record`], which no stored entry may contain in plain text.
pub const ACCESS_TOKEN: &str = "access-token-plaintext-marker";
/// The refresh token of [`record`], which no stored entry may contain in plain text.
pub const REFRESH_TOKEN: &str = "refresh-token-plaintext-marker";

/// A session of `sub` with an optional provider session id.
///
/// ```
/// use axum_oidc_client::store::suite::{ACCESS_TOKEN, record};
///
/// let r = record("alice", Some("sid-1"));
/// assert_eq!((r.sub(), r.sid()), ("alice", Some("sid-1")));
/// assert_eq!(r.tokens.access_token.secret(), ACCESS_TOKEN);
/// ```
pub fn record(sub: &str, sid: Option<&str>) -> Arc<SessionRecord> {
    let mut claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
        "iss": "https://op.example", "sub": sub, "aud": "client", "exp": 2, "iat": 1
    }))
    .expect("valid claims");
    claims.sid = sid.map(str::to_owned);
    Arc::new(SessionRecord {
        tokens: TokenSet {
            access_token: AccessTokenValue::new(ACCESS_TOKEN),
            token_type: "Bearer".into(),
            refresh_token: Some(RefreshTokenValue::new(REFRESH_TOKEN)),
            id_token: Some(IdTokenValue::new("header.payload.signature")),
            scope: "openid".into(),
            expires_at: 100,
            dpop_key: None,
        },
        claims: claims.into(),
        created_at: 1,
        last_seen: 1,
        user_agent: None,
        enriched_claims: Vec::new(),
        provider: None,
    })
}

/// A fresh session key.
///
/// ```
/// use axum_oidc_client::store::suite::key;
///
/// assert_ne!(key(), key());
/// ```
pub fn key() -> SessionKey {
    SessionKey::of(&new_session_id())
}
