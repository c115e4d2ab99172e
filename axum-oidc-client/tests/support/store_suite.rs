//! The behaviour every session store must have, as one async function per rule, and
//! [`store_suite!`] to run them all against one backend.
//!
//! ```ignore
//! store_suite!(memory, async { Some(Fixture::new(Arc::new(MemoryStore::default()))) });
//! ```
//!
//! The fixture expression yields `None` when the backend is not available and the
//! suite should be skipped (see [`server_url`]).

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum_oidc_client::IdTokenClaims;
use axum_oidc_client::secret::{AccessTokenValue, IdTokenValue, RefreshTokenValue};
use axum_oidc_client::session::{SessionKey, SessionRecord, TokenSet, new_session_id};
use axum_oidc_client::store::SharedStore;
use futures_util::future::BoxFuture;

/// Runs every behaviour against the store made by `$fixture` (an expression of type
/// `impl Future<Output = Option<Fixture>>`), one `#[tokio::test]` each, in a module
/// named `$name`.
macro_rules! store_suite {
    ($name:ident, $fixture:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            store_suite!(@each $fixture;
                put_then_get_returns_the_same_record,
                get_of_an_unknown_key_is_none,
                put_overwrites_the_record_and_restarts_its_ttl,
                sessions_expire_after_their_ttl,
                remove_deletes_the_session,
                remove_by_sid_ends_only_the_sessions_of_that_sid,
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
                suite::$behaviour(&fixture).await;
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
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            other_key: None,
            raw: None,
            teardown: None,
        }
    }

    /// Adds a store over the same data with another at-rest key.
    pub fn with_other_key(mut self, store: SharedStore) -> Self {
        self.other_key = Some(store);
        self
    }

    /// Adds a raw reader.
    pub fn with_raw(mut self, raw: RawRead) -> Self {
        self.raw = Some(raw);
        self
    }

    /// Adds a cleanup step run after a passing test, after those added before.
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
    pub async fn teardown(self) {
        if let Some(teardown) = self.teardown {
            teardown().await;
        }
    }
}

/// The URL of a test server from `var`. Unset: `None` (skip), unless `CI` is set, in
/// which case a missing server is a failure.
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
pub fn unique_name() -> String {
    format!("t{:016x}", rand::random::<u64>())
}

/// The at-rest key of the stores under test, and another one.
pub const KEY: [u8; 32] = [7; 32];
pub const OTHER_KEY: [u8; 32] = [8; 32];

/// Token values the plaintext test looks for.
pub const ACCESS_TOKEN: &str = "access-token-plaintext-marker";
pub const REFRESH_TOKEN: &str = "refresh-token-plaintext-marker";

/// A session of `sub` with an optional provider session id.
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
        },
        claims: claims.into(),
        created_at: 1,
        last_seen: 1,
    })
}

/// A fresh session key.
pub fn key() -> SessionKey {
    SessionKey::of(&new_session_id())
}

const LONG: Duration = Duration::from_secs(60);
/// TTLs that tests wait out: short, as libtest runs only one test per core.
const SHORT: Duration = Duration::from_millis(600);
/// Past [`SHORT`] with room for scheduling noise.
const AFTER_SHORT: Duration = Duration::from_millis(850);

async fn live(store: &SharedStore, key: &SessionKey) -> bool {
    store.get(key).await.expect("get").is_some()
}

pub async fn put_then_get_returns_the_same_record(f: &Fixture) {
    let k = key();
    let r = record("alice", Some("s1"));
    f.store.put(&k, r.clone(), LONG).await.unwrap();
    assert_eq!(f.store.get(&k).await.unwrap().as_deref(), Some(&*r));
    assert_eq!(f.store.get_fresh(&k).await.unwrap().as_deref(), Some(&*r));
}

pub async fn get_of_an_unknown_key_is_none(f: &Fixture) {
    assert!(f.store.get(&key()).await.unwrap().is_none());
    assert!(f.store.get_fresh(&key()).await.unwrap().is_none());
}

pub async fn put_overwrites_the_record_and_restarts_its_ttl(f: &Fixture) {
    let k = key();
    f.store.put(&k, record("alice", None), SHORT).await.unwrap();
    let mut newer = (*record("alice", None)).clone();
    newer.last_seen = 42;
    f.store.put(&k, Arc::new(newer), LONG).await.unwrap();
    tokio::time::sleep(AFTER_SHORT).await;
    let got = f.store.get(&k).await.unwrap().expect("still live");
    assert_eq!(got.last_seen, 42);
}

/// With a sub-second TTL: a backend that rounded TTLs up to whole seconds fails.
pub async fn sessions_expire_after_their_ttl(f: &Fixture) {
    let k = key();
    f.store
        .put(&k, record("alice", Some("s1")), SHORT)
        .await
        .unwrap();
    assert!(live(&f.store, &k).await);
    tokio::time::sleep(AFTER_SHORT).await;
    assert!(f.store.get(&k).await.unwrap().is_none());
    assert!(f.store.get_fresh(&k).await.unwrap().is_none());
}

pub async fn remove_deletes_the_session(f: &Fixture) {
    let (k, other) = (key(), key());
    f.store.put(&k, record("alice", None), LONG).await.unwrap();
    f.store
        .put(&other, record("alice", None), LONG)
        .await
        .unwrap();
    f.store.remove(&k).await.unwrap();
    assert!(!live(&f.store, &k).await);
    assert!(live(&f.store, &other).await);
    // Removing what is not there is not an error.
    f.store.remove(&k).await.unwrap();
}

pub async fn remove_by_sid_ends_only_the_sessions_of_that_sid(f: &Fixture) {
    let sid = unique_name();
    let other_sid = unique_name();
    let (k1, k2, k3, k4) = (key(), key(), key(), key());
    f.store
        .put(&k1, record("alice", Some(&sid)), LONG)
        .await
        .unwrap();
    f.store
        .put(&k2, record("alice", Some(&sid)), LONG)
        .await
        .unwrap();
    f.store
        .put(&k3, record("alice", Some(&other_sid)), LONG)
        .await
        .unwrap();
    f.store.put(&k4, record("bob", None), LONG).await.unwrap();
    assert_eq!(f.store.remove_by_sid(&sid).await.unwrap(), 2);
    assert!(!live(&f.store, &k1).await && !live(&f.store, &k2).await);
    assert!(live(&f.store, &k3).await && live(&f.store, &k4).await);
    assert_eq!(f.store.remove_by_sid(&sid).await.unwrap(), 0);
}

pub async fn remove_by_sub_ends_every_session_of_the_subject_and_no_other(f: &Fixture) {
    let sub = format!("alice-{}", unique_name());
    let (k1, k2) = (key(), key());
    f.store
        .put(&k1, record(&sub, Some("s1")), LONG)
        .await
        .unwrap();
    f.store.put(&k2, record(&sub, None), LONG).await.unwrap();
    // Subjects are compared exactly: case and trailing spaces count.
    let others = [
        format!("bob-{}", unique_name()),
        sub.to_uppercase(),
        format!("{sub} "),
        format!("{sub}x"),
    ];
    let mut kept = Vec::new();
    for other in &others {
        let k = key();
        f.store
            .put(&k, record(other, Some("s1")), LONG)
            .await
            .unwrap();
        kept.push(k);
    }
    assert_eq!(f.store.remove_by_sub(&sub).await.unwrap(), 2);
    assert!(!live(&f.store, &k1).await && !live(&f.store, &k2).await);
    for k in &kept {
        assert!(live(&f.store, k).await);
    }
    assert_eq!(f.store.remove_by_sub(&sub).await.unwrap(), 0);
}

/// A refresh or a touch writes a session again under its key: the indexes must
/// still reach it, once.
pub async fn a_rewritten_session_is_still_ended_by_its_sid_and_sub(f: &Fixture) {
    let (sid, sub) = (unique_name(), unique_name());
    let k = key();
    for _ in 0..3 {
        f.store
            .put(&k, record(&sub, Some(&sid)), LONG)
            .await
            .unwrap();
    }
    assert_eq!(f.store.remove_by_sid(&sid).await.unwrap(), 1);
    assert!(!live(&f.store, &k).await);
    for _ in 0..3 {
        f.store
            .put(&k, record(&sub, Some(&sid)), LONG)
            .await
            .unwrap();
    }
    assert_eq!(f.store.remove_by_sub(&sub).await.unwrap(), 1);
    assert!(!live(&f.store, &k).await);
}

pub async fn a_lease_is_exclusive_between_owners(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.try_lock(&name, "a", LONG).await.unwrap());
    assert!(!f.store.try_lock(&name, "b", LONG).await.unwrap());
    // Other names are independent.
    assert!(f.store.try_lock(&unique_name(), "b", LONG).await.unwrap());
}

pub async fn a_lease_is_reentrant_for_its_owner_and_extended(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.try_lock(&name, "a", SHORT).await.unwrap());
    tokio::time::sleep(SHORT / 2).await;
    assert!(f.store.try_lock(&name, "a", LONG).await.unwrap());
    tokio::time::sleep(AFTER_SHORT - SHORT / 2).await;
    // Past the first lease, within the extended one.
    assert!(!f.store.try_lock(&name, "b", SHORT).await.unwrap());
}

pub async fn unlock_releases_the_lease_only_for_its_owner(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.try_lock(&name, "a", LONG).await.unwrap());
    f.store.unlock(&name, "b").await.unwrap();
    assert!(!f.store.try_lock(&name, "b", LONG).await.unwrap());
    f.store.unlock(&name, "a").await.unwrap();
    assert!(f.store.try_lock(&name, "b", LONG).await.unwrap());
    // Unlocking a free or foreign lease is not an error.
    f.store.unlock(&unique_name(), "a").await.unwrap();
    f.store.unlock(&name, "a").await.unwrap();
    assert!(!f.store.try_lock(&name, "a", LONG).await.unwrap());
}

pub async fn a_lease_expires_after_its_duration(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.try_lock(&name, "a", SHORT).await.unwrap());
    assert!(!f.store.try_lock(&name, "b", SHORT).await.unwrap());
    tokio::time::sleep(AFTER_SHORT).await;
    assert!(f.store.try_lock(&name, "b", LONG).await.unwrap());
    assert!(!f.store.try_lock(&name, "a", LONG).await.unwrap());
}

pub async fn concurrent_try_lock_from_20_tasks_has_exactly_one_winner(f: &Fixture) {
    let name = unique_name();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, name, barrier) = (f.store.clone(), name.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.try_lock(&name, &format!("owner-{i}"), LONG).await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

pub async fn insert_once_is_true_once_then_false(f: &Fixture) {
    let value = unique_name();
    assert!(f.store.insert_once(&value, LONG).await.unwrap());
    assert!(!f.store.insert_once(&value, LONG).await.unwrap());
    assert!(!f.store.insert_once(&value, LONG).await.unwrap());
    assert!(f.store.insert_once(&unique_name(), LONG).await.unwrap());
    // Long values are fine too.
    let long = format!("{}{}", unique_name(), "j".repeat(4096));
    assert!(f.store.insert_once(&long, LONG).await.unwrap());
    assert!(!f.store.insert_once(&long, LONG).await.unwrap());
}

pub async fn insert_once_is_true_again_after_its_ttl(f: &Fixture) {
    let value = unique_name();
    assert!(f.store.insert_once(&value, SHORT).await.unwrap());
    assert!(!f.store.insert_once(&value, SHORT).await.unwrap());
    tokio::time::sleep(AFTER_SHORT).await;
    assert!(f.store.insert_once(&value, LONG).await.unwrap());
    assert!(!f.store.insert_once(&value, LONG).await.unwrap());
}

pub async fn one_time_values_leases_and_sessions_do_not_collide(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.insert_once(&name, LONG).await.unwrap());
    assert!(f.store.try_lock(&name, "a", LONG).await.unwrap());
    let k = SessionKey::from_stored(name.clone());
    assert!(f.store.get(&k).await.unwrap().is_none());
    f.store
        .put(&k, record(&name, Some(&name)), LONG)
        .await
        .unwrap();
    assert!(!f.store.try_lock(&name, "b", LONG).await.unwrap());
    assert!(!f.store.insert_once(&name, LONG).await.unwrap());
}

pub async fn entries_sealed_with_another_key_read_as_absent(f: &Fixture) {
    let Some(other) = &f.other_key else {
        return;
    };
    let k = key();
    f.store.put(&k, record("alice", None), LONG).await.unwrap();
    assert!(live(&f.store, &k).await);
    assert!(other.get(&k).await.unwrap().is_none());
    assert!(other.get_fresh(&k).await.unwrap().is_none());
}

pub async fn stored_entries_do_not_contain_token_plaintext(f: &Fixture) {
    let Some(raw) = &f.raw else {
        return;
    };
    let k = key();
    f.store.put(&k, record("alice", None), LONG).await.unwrap();
    let bytes = raw(k.clone()).await.expect("the entry is stored");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(ACCESS_TOKEN) && !text.contains(REFRESH_TOKEN));
    assert!(!text.contains("header.payload.signature"));
}

/// `record` with `last_seen` set, so versions of one session differ.
fn version(sub: &str, sid: Option<&str>, last_seen: i64) -> Arc<SessionRecord> {
    let mut r = (*record(sub, sid)).clone();
    r.last_seen = last_seen;
    Arc::new(r)
}

/// A refresh writes the refreshed record over the version it read.
pub async fn replace_writes_over_the_version_read(f: &Fixture) {
    let k = key();
    let read = version("alice", Some("s1"), 1);
    f.store.put(&k, read.clone(), LONG).await.unwrap();
    let current = f.store.get(&k).await.unwrap().expect("stored");
    let refreshed = version("alice", Some("s1"), 2);
    assert!(
        f.store
            .replace(&k, &current, refreshed.clone(), LONG)
            .await
            .unwrap()
    );
    assert_eq!(f.store.get(&k).await.unwrap().as_deref(), Some(&*refreshed));
    assert_eq!(
        f.store.get_fresh(&k).await.unwrap().as_deref(),
        Some(&*refreshed)
    );
    // The replaced version is no longer current: replacing it again is refused.
    assert!(
        !f.store
            .replace(&k, &current, version("alice", Some("s1"), 3), LONG)
            .await
            .unwrap()
    );
    assert_eq!(f.store.get(&k).await.unwrap().as_deref(), Some(&*refreshed));
}

/// Back-Channel Logout 1.0 §2.7: a logout that ends the session while a refresh is in
/// flight is not undone by the refresh's write.
pub async fn replace_refuses_when_the_session_was_removed(f: &Fixture) {
    let (sid, sub) = (unique_name(), unique_name());
    for end in ["remove", "remove_by_sid", "remove_by_sub"] {
        let k = key();
        let read = version(&sub, Some(&sid), 1);
        f.store.put(&k, read.clone(), LONG).await.unwrap();
        match end {
            "remove" => f.store.remove(&k).await.unwrap(),
            "remove_by_sid" => assert_eq!(f.store.remove_by_sid(&sid).await.unwrap(), 1),
            _ => assert_eq!(f.store.remove_by_sub(&sub).await.unwrap(), 1),
        }
        let refreshed = version(&sub, Some(&sid), 2);
        assert!(
            !f.store.replace(&k, &read, refreshed, LONG).await.unwrap(),
            "{end}"
        );
        assert!(f.store.get(&k).await.unwrap().is_none(), "{end}");
        assert!(f.store.get_fresh(&k).await.unwrap().is_none(), "{end}");
    }
}

pub async fn replace_refuses_when_the_session_changed_meanwhile(f: &Fixture) {
    let k = key();
    let read = version("alice", Some("s1"), 1);
    f.store.put(&k, read.clone(), LONG).await.unwrap();
    let other_write = version("alice", Some("s1"), 7);
    f.store.put(&k, other_write.clone(), LONG).await.unwrap();
    assert!(
        !f.store
            .replace(&k, &read, version("alice", Some("s1"), 2), LONG)
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.get_fresh(&k).await.unwrap().as_deref(),
        Some(&*other_write)
    );
    // An unknown key is never created.
    let unknown = key();
    assert!(
        !f.store
            .replace(&unknown, &read, version("alice", Some("s1"), 2), LONG)
            .await
            .unwrap()
    );
    assert!(f.store.get_fresh(&unknown).await.unwrap().is_none());
}

pub async fn replace_refuses_when_the_session_expired(f: &Fixture) {
    let k = key();
    let read = version("alice", None, 1);
    f.store.put(&k, read.clone(), SHORT).await.unwrap();
    tokio::time::sleep(AFTER_SHORT).await;
    assert!(
        !f.store
            .replace(&k, &read, version("alice", None, 2), LONG)
            .await
            .unwrap()
    );
    assert!(f.store.get_fresh(&k).await.unwrap().is_none());
}

/// The replaced record is reachable by its own `sid` and `sub`, once.
pub async fn replace_reindexes_by_sid_and_sub(f: &Fixture) {
    let (sid, sub) = (unique_name(), unique_name());
    let k = key();
    f.store.put(&k, version(&sub, None, 1), LONG).await.unwrap();
    let current = f.store.get(&k).await.unwrap().expect("stored");
    // The refreshed ID token now carries a sid (OIDC Core 12.2).
    let refreshed = version(&sub, Some(&sid), 2);
    assert!(
        f.store
            .replace(&k, &current, refreshed.clone(), LONG)
            .await
            .unwrap()
    );
    assert_eq!(f.store.remove_by_sid(&sid).await.unwrap(), 1);
    assert!(f.store.get_fresh(&k).await.unwrap().is_none());

    let k = key();
    f.store
        .put(&k, version(&sub, Some(&sid), 1), LONG)
        .await
        .unwrap();
    let current = f.store.get(&k).await.unwrap().expect("stored");
    assert!(
        f.store
            .replace(&k, &current, version(&sub, Some(&sid), 2), LONG)
            .await
            .unwrap()
    );
    // A session that now has a sid is not one "without a sid".
    assert_eq!(f.store.remove_by_sub_without_sid(&sub).await.unwrap(), 0);
    assert_eq!(f.store.remove_by_sub(&sub).await.unwrap(), 1);
    assert!(f.store.get_fresh(&k).await.unwrap().is_none());
}

pub async fn concurrent_replaces_of_one_version_have_exactly_one_winner(f: &Fixture) {
    const TASKS: i64 = 12;
    let k = key();
    f.store
        .put(&k, version("alice", Some("s1"), 0), LONG)
        .await
        .unwrap();
    let current = f.store.get(&k).await.unwrap().expect("stored");
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let tasks: Vec<_> = (1..=TASKS)
        .map(|i| {
            let (store, k, current, barrier) =
                (f.store.clone(), k.clone(), current.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let won = store
                    .replace(&k, &current, version("alice", Some("s1"), i), LONG)
                    .await
                    .unwrap();
                won.then_some(i)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = f.store.get_fresh(&k).await.unwrap().expect("stored");
    assert_eq!(stored.last_seen, winners[0]);
}

/// Back-Channel Logout 1.0 §2.7: a logout token with both `sid` and `sub` also ends
/// the subject's sessions whose ID token carried no `sid`.
pub async fn remove_by_sub_without_sid_ends_only_the_sessions_without_a_sid(f: &Fixture) {
    let sub = unique_name();
    let (without1, without2, with) = (key(), key(), key());
    f.store
        .put(&without1, record(&sub, None), LONG)
        .await
        .unwrap();
    f.store
        .put(&without2, record(&sub, None), LONG)
        .await
        .unwrap();
    f.store
        .put(&with, record(&sub, Some("s1")), LONG)
        .await
        .unwrap();
    assert_eq!(f.store.remove_by_sub_without_sid(&sub).await.unwrap(), 2);
    assert!(f.store.get_fresh(&without1).await.unwrap().is_none());
    assert!(f.store.get_fresh(&without2).await.unwrap().is_none());
    assert!(live(&f.store, &with).await);
    assert_eq!(f.store.remove_by_sub_without_sid(&sub).await.unwrap(), 0);
    assert!(live(&f.store, &with).await);
}

pub async fn remove_by_sub_without_sid_spares_other_subjects(f: &Fixture) {
    let sub = unique_name();
    let mine = key();
    f.store.put(&mine, record(&sub, None), LONG).await.unwrap();
    // Subjects are compared exactly: case and trailing spaces count.
    let mut kept = Vec::new();
    for other in [
        unique_name(),
        sub.to_uppercase(),
        format!("{sub} "),
        format!("{sub}x"),
    ] {
        let k = key();
        f.store.put(&k, record(&other, None), LONG).await.unwrap();
        kept.push(k);
    }
    assert_eq!(f.store.remove_by_sub_without_sid(&sub).await.unwrap(), 1);
    assert!(f.store.get_fresh(&mine).await.unwrap().is_none());
    for k in &kept {
        assert!(live(&f.store, k).await);
    }
}
