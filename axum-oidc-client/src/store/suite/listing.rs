//! The rules of [`AuthCache::sessions_of`](crate::store::AuthCache::sessions_of): a
//! user's live sessions, and nobody else's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Fixture, key, record, unique_name};
use crate::session::{SessionKey, SessionRecord};

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(600);
const AFTER_SHORT: Duration = Duration::from_millis(850);

/// The issuer of [`record`].
const ISS: &str = "https://op.example";

/// A session of `sub` at the issuer `iss`, created at `created_at`.
fn at(iss: &str, sub: &str, created_at: i64) -> Arc<SessionRecord> {
    let mut r = (*record(sub, None)).clone();
    let mut claims = (*r.claims).clone();
    claims.iss = iss.to_owned();
    r.claims = Arc::new(claims);
    r.created_at = created_at;
    r.user_agent = Some(format!("agent-{created_at}"));
    Arc::new(r)
}

/// What `sessions_of` returned, by key (its order is unspecified).
async fn listed(f: &Fixture, iss: &str, sub: &str) -> BTreeMap<String, Arc<SessionRecord>> {
    f.store
        .sessions_of(iss, sub)
        .await
        .expect("sessions_of")
        .into_iter()
        .map(|(k, r)| (k.as_str().to_owned(), r))
        .collect()
}

fn keys(of: &[&SessionKey]) -> Vec<String> {
    let mut keys: Vec<String> = of.iter().map(|k| k.as_str().to_owned()).collect();
    keys.sort();
    keys
}

/// Behaviour: sessions_of lists every live session of the user, with its record as
/// stored (a refresh's rewrite included), each once.
pub async fn sessions_of_lists_every_live_session_of_the_user(f: &Fixture) {
    let sub = format!("alice-{}", unique_name());
    let (k1, k2) = (key(), key());
    f.store.put(&k1, at(ISS, &sub, 10), LONG).await.unwrap();
    f.store.put(&k2, at(ISS, &sub, 20), LONG).await.unwrap();
    // Rewritten (a touch or a refresh): listed once, as it is now.
    let rewritten = at(ISS, &sub, 21);
    f.store.put(&k2, rewritten.clone(), LONG).await.unwrap();
    let found = listed(f, ISS, &sub).await;
    assert_eq!(found.keys().cloned().collect::<Vec<_>>(), keys(&[&k1, &k2]));
    assert_eq!(*found[k1.as_str()], *at(ISS, &sub, 10));
    assert_eq!(*found[k2.as_str()], *rewritten);
    assert!(
        listed(f, ISS, &format!("nobody-{}", unique_name()))
            .await
            .is_empty()
    );
}

/// Behaviour: sessions_of never lists another issuer's user with the same `sub`, nor
/// a subject that only looks alike (subjects compare exactly).
pub async fn sessions_of_lists_no_other_issuer_or_subject(f: &Fixture) {
    let sub = format!("alice-{}", unique_name());
    let mine = key();
    f.store.put(&mine, at(ISS, &sub, 1), LONG).await.unwrap();
    let others = [
        ("https://other.example", sub.clone()),
        ("https://op.example/", sub.clone()),
        (ISS, sub.to_uppercase()),
        (ISS, format!("{sub} ")),
        (ISS, format!("{sub}x")),
    ];
    for (iss, other) in &others {
        f.store.put(&key(), at(iss, other, 2), LONG).await.unwrap();
    }
    let found = listed(f, ISS, &sub).await;
    assert_eq!(found.keys().cloned().collect::<Vec<_>>(), keys(&[&mine]));
    // Each of the others is listed under its own (iss, sub), and alone.
    let theirs = listed(f, "https://other.example", &sub).await;
    assert_eq!(theirs.len(), 1);
    assert!(!theirs.contains_key(mine.as_str()));
}

/// Behaviour: sessions_of leaves out removed, ended and expired sessions.
pub async fn sessions_of_lists_no_removed_or_expired_session(f: &Fixture) {
    let sub = format!("alice-{}", unique_name());
    let sid = unique_name();
    let (kept, removed, ended, expiring) = (key(), key(), key(), key());
    f.store.put(&kept, at(ISS, &sub, 1), LONG).await.unwrap();
    f.store.put(&removed, at(ISS, &sub, 2), LONG).await.unwrap();
    let mut with_sid = (*at(ISS, &sub, 3)).clone();
    let mut claims = (*with_sid.claims).clone();
    claims.sid = Some(sid.clone());
    with_sid.claims = Arc::new(claims);
    f.store.put(&ended, Arc::new(with_sid), LONG).await.unwrap();
    f.store
        .put(&expiring, at(ISS, &sub, 4), SHORT)
        .await
        .unwrap();
    assert_eq!(listed(f, ISS, &sub).await.len(), 4);

    f.store.remove(&removed).await.unwrap();
    assert_eq!(f.store.remove_by_sid(&sid).await.unwrap(), 1);
    tokio::time::sleep(AFTER_SHORT).await;
    let found = listed(f, ISS, &sub).await;
    assert_eq!(found.keys().cloned().collect::<Vec<_>>(), keys(&[&kept]));

    f.store.remove_by_sub(&sub).await.unwrap();
    assert!(listed(f, ISS, &sub).await.is_empty());
}
