use super::*;
use crate::session::new_session_id;
use crate::session::tests::record;

#[tokio::test]
async fn an_updated_session_stays_reachable_by_sid_and_sub() {
    let store = MemoryStore::default();
    let key = SessionKey::of(&new_session_id());
    let ttl = Duration::from_secs(60);
    store
        .put(&key, Arc::new(record("alice", Some("s1"))), ttl)
        .await
        .unwrap();
    // A refresh or a touch writes the session again under the same key.
    store
        .put(&key, Arc::new(record("alice", Some("s1"))), ttl)
        .await
        .unwrap();
    store.sessions.run_pending_tasks().await;
    assert_eq!(store.remove_by_sid("s1").await.unwrap(), 1);
    assert!(store.get(&key).await.unwrap().is_none());

    store
        .put(&key, Arc::new(record("alice", Some("s1"))), ttl)
        .await
        .unwrap();
    store
        .put(&key, Arc::new(record("alice", Some("s1"))), ttl)
        .await
        .unwrap();
    store.sessions.run_pending_tasks().await;
    assert_eq!(store.remove_by_sub("alice").await.unwrap(), 1);
    assert!(store.get(&key).await.unwrap().is_none());
}

fn colliding_store() -> MemoryStore {
    let indexes = Indexes {
        colliding: true,
        ..Indexes::default()
    };
    MemoryStore::with_indexes(1_000, indexes)
}

async fn put(store: &MemoryStore, sub: &str, sid: Option<&str>) -> SessionKey {
    let key = SessionKey::of(&new_session_id());
    store
        .put(&key, Arc::new(record(sub, sid)), Duration::from_secs(60))
        .await
        .unwrap();
    key
}

#[tokio::test]
async fn sessions_whose_sid_and_sub_share_a_hash_are_told_apart_by_their_records() {
    let store = colliding_store();
    let a = put(&store, "alice", Some("s1")).await;
    let b = put(&store, "bob", Some("s2")).await;
    let c = put(&store, "carol", None).await;
    assert_eq!(store.remove_by_sid("s1").await.unwrap(), 1);
    assert!(store.get(&a).await.unwrap().is_none());
    assert!(store.get(&b).await.unwrap().is_some());
    // Bob's session is still reachable by its own sid and subject.
    let mine = store
        .sessions_of("https://op.example", "bob")
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].0, b);
    assert_eq!(store.remove_by_sub_without_sid("bob").await.unwrap(), 0);
    assert_eq!(store.remove_by_sub_without_sid("carol").await.unwrap(), 1);
    assert!(store.get(&c).await.unwrap().is_none());
    assert_eq!(store.remove_by_sub("bob").await.unwrap(), 1);
    assert_eq!(store.session_count().await, 0);
}

#[test]
fn an_index_slot_with_one_session_stays_small() {
    // The key's hash, and one inline key with its generation: 40 bytes a session.
    assert!(size_of::<(u64, Keys)>() <= 40);
}

#[tokio::test]
async fn removed_sessions_leave_no_index_entries() {
    let store = MemoryStore::default();
    let one = put(&store, "alice", Some("s1")).await;
    let _two = put(&store, "alice", Some("s2")).await;
    let _three = put(&store, "bob", Some("s3")).await;
    store.remove(&one).await.unwrap();
    assert_eq!(store.remove_by_sid("s2").await.unwrap(), 1);
    assert_eq!(store.remove_by_sub("bob").await.unwrap(), 1);
    store.sessions.run_pending_tasks().await;
    assert!(lock(&store.indexes.by_sid).is_empty());
    assert!(lock(&store.indexes.by_sub).is_empty());
}

#[tokio::test]
async fn a_subject_with_many_sessions_keeps_every_one_indexed() {
    let store = MemoryStore::default();
    let mut keys = Vec::new();
    for i in 0..5 {
        keys.push(put(&store, "alice", Some(&format!("s{i}"))).await);
    }
    store.remove(&keys[0]).await.unwrap();
    assert_eq!(
        store
            .sessions_of("https://op.example", "alice")
            .await
            .unwrap()
            .len(),
        4
    );
    for k in &keys[1..4] {
        store.remove(k).await.unwrap();
    }
    // Back to one key: still found by sid and by subject.
    assert_eq!(
        store
            .sessions_of("https://op.example", "alice")
            .await
            .unwrap()[0]
            .0,
        keys[4]
    );
    assert_eq!(store.remove_by_sid("s4").await.unwrap(), 1);
    assert!(lock(&store.indexes.by_sub).is_empty());
}
