//! One async function per rule every store must follow.

use std::sync::Arc;
use std::time::Duration;

use super::{ACCESS_TOKEN, Fixture, REFRESH_TOKEN, key, record, unique_name};
use crate::session::{SessionKey, SessionRecord};
use crate::store::SharedStore;

const LONG: Duration = Duration::from_secs(60);
/// TTLs that tests wait out: short, as libtest runs only one test per core.
const SHORT: Duration = Duration::from_millis(600);
/// Past [`SHORT`] with room for scheduling noise.
const AFTER_SHORT: Duration = Duration::from_millis(850);

async fn live(store: &SharedStore, key: &SessionKey) -> bool {
    store.get(key).await.expect("get").is_some()
}

/// Behaviour: put then get returns the same record.
pub async fn put_then_get_returns_the_same_record(f: &Fixture) {
    let k = key();
    let r = record("alice", Some("s1"));
    f.store.put(&k, r.clone(), LONG).await.unwrap();
    assert_eq!(f.store.get(&k).await.unwrap().as_deref(), Some(&*r));
    assert_eq!(f.store.get_fresh(&k).await.unwrap().as_deref(), Some(&*r));
}

/// Behaviour: get of an unknown key is none.
pub async fn get_of_an_unknown_key_is_none(f: &Fixture) {
    assert!(f.store.get(&key()).await.unwrap().is_none());
    assert!(f.store.get_fresh(&key()).await.unwrap().is_none());
}

/// Behaviour: put overwrites the record and restarts its ttl.
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

/// Behaviour: remove deletes the session.
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

/// Behaviour: remove by sid ends only the sessions of that sid.
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

/// Behaviour: a session of a named provider is ended by its issuer-scoped `sid`
/// ([`SessionRecord::logout_sid`]), never by the bare `sid` or another issuer's, so a
/// logout token of one provider cannot end another's session with the same `sid`.
pub async fn a_named_providers_session_is_ended_by_its_issuers_sid_only(f: &Fixture) {
    let sid = unique_name();
    let k = key();
    let mut named = (*record("alice", Some(&sid))).clone();
    named.provider = Some("corp".into());
    let iss = named.claims.iss.clone();
    f.store.put(&k, Arc::new(named), LONG).await.unwrap();
    assert_eq!(f.store.remove_by_sid(&sid).await.unwrap(), 0);
    let other = crate::session::scoped_sid("https://other.example", &sid);
    assert_eq!(f.store.remove_by_sid(&other).await.unwrap(), 0);
    assert!(live(&f.store, &k).await, "another issuer's sid spares it");
    let own = crate::session::scoped_sid(&iss, &sid);
    assert_eq!(f.store.remove_by_sid(&own).await.unwrap(), 1);
    assert!(!live(&f.store, &k).await);
}

/// Behaviour: remove by sub ends every session of the subject and no other.
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

/// Behaviour: a lease is exclusive between owners.
pub async fn a_lease_is_exclusive_between_owners(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.try_lock(&name, "a", LONG).await.unwrap());
    assert!(!f.store.try_lock(&name, "b", LONG).await.unwrap());
    // Other names are independent.
    assert!(f.store.try_lock(&unique_name(), "b", LONG).await.unwrap());
}

/// Behaviour: a lease is reentrant for its owner and extended.
pub async fn a_lease_is_reentrant_for_its_owner_and_extended(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.try_lock(&name, "a", SHORT).await.unwrap());
    tokio::time::sleep(SHORT / 2).await;
    assert!(f.store.try_lock(&name, "a", LONG).await.unwrap());
    tokio::time::sleep(AFTER_SHORT - SHORT / 2).await;
    // Past the first lease, within the extended one.
    assert!(!f.store.try_lock(&name, "b", SHORT).await.unwrap());
}

/// Behaviour: unlock releases the lease only for its owner.
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

/// Behaviour: a lease expires after its duration.
pub async fn a_lease_expires_after_its_duration(f: &Fixture) {
    let name = unique_name();
    assert!(f.store.try_lock(&name, "a", SHORT).await.unwrap());
    assert!(!f.store.try_lock(&name, "b", SHORT).await.unwrap());
    tokio::time::sleep(AFTER_SHORT).await;
    assert!(f.store.try_lock(&name, "b", LONG).await.unwrap());
    assert!(!f.store.try_lock(&name, "a", LONG).await.unwrap());
}

/// Behaviour: concurrent try lock from 20 tasks has exactly one winner.
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

/// Behaviour: insert once is true once then false.
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

/// Behaviour: insert once is true again after its ttl.
pub async fn insert_once_is_true_again_after_its_ttl(f: &Fixture) {
    let value = unique_name();
    assert!(f.store.insert_once(&value, SHORT).await.unwrap());
    assert!(!f.store.insert_once(&value, SHORT).await.unwrap());
    tokio::time::sleep(AFTER_SHORT).await;
    assert!(f.store.insert_once(&value, LONG).await.unwrap());
    assert!(!f.store.insert_once(&value, LONG).await.unwrap());
}

/// Behaviour: one time values leases and sessions do not collide.
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

/// Behaviour: entries sealed with another key read as absent.
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

/// Behaviour: stored entries do not contain token plaintext.
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

/// Behaviour: replace refuses when the session changed meanwhile.
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

/// Behaviour: replace refuses when the session expired.
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

/// Behaviour: concurrent replaces of one version have exactly one winner.
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

/// Behaviour: remove by sub without sid spares other subjects.
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
