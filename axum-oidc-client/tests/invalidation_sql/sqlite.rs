//! SQLite: the revocation log, on a temporary file shared by two stores.

use super::*;

/// A temporary database file, removed (with its WAL files) when dropped.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("axum-oidc-{}.db", unique_name())))
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_instance_reach_the_other_over_a_shared_sqlite_file() {
    let db = TempDb::new();
    let (a, b) = (connect(&db.url(), "t").await, connect(&db.url(), "t").await);
    changes_through_one_instance_reach_the_other(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_messages_over_8000_bytes_are_refused() {
    let db = TempDb::new();
    messages_over_the_limit_are_refused(&connect(&db.url(), "t").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sqlite_log_read_is_reported_down_then_up_and_flushes_the_local_tier() {
    let db = TempDb::new();
    let (shared_a, shared_b) = (connect(&db.url(), "t").await, connect(&db.url(), "t").await);
    let b = instance(&shared_b).await;
    let admin = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
    let mut outage = LogRenamed {
        rename: Box::new(move |away| {
            let admin = admin.clone();
            Box::pin(async move {
                let (from, to) = if away {
                    ("t_invalidations", "t_invalidations_away")
                } else {
                    ("t_invalidations_away", "t_invalidations")
                };
                sqlx::query(&format!("ALTER TABLE {from} RENAME TO {to}"))
                    .execute(&admin)
                    .await
                    .unwrap();
            })
        }),
    };
    a_dropped_channel_is_reported_and_flushes_the_local_tier(&shared_a, &b, &mut outage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_deletes_sqlite_log_rows_older_than_ten_minutes_only() {
    let db = TempDb::new();
    let store = connect(&db.url(), "t").await;
    let admin = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
    for age in [601, 590, 0] {
        sqlx::query(
            "INSERT INTO t_invalidations (message, created_at) \
             VALUES ('m', CAST(strftime('%s', 'now') AS INTEGER) - ?)",
        )
        .bind(age)
        .execute(&admin)
        .await
        .unwrap();
    }
    assert_eq!(store.purge_expired().await.unwrap(), 1);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t_invalidations")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(left, 2);
}

/// `store::from_url` wires the channel: two `tiered+` stores on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiered_sqlite_urls_subscribe_to_the_revocation_log() {
    let db = TempDb::new();
    let key = axum_oidc_client::CookieKey::derive(&[3; 32]).unwrap();
    let url = format!("tiered+{}", db.url());
    let a = axum_oidc_client::store::from_url(&url, &key).await.unwrap();
    let b = axum_oidc_client::store::from_url(&url, &key).await.unwrap();
    let health = b.invalidation_health().expect("a channel");
    assert!(health.is_up(), "{health:?}");
    assert!(
        format!("{health:?}").contains("SQLite revocation log"),
        "{health:?}"
    );
    let (k, r) = (super::key(), record(&unique_name(), None));
    a.put(&k, r, TTL).await.unwrap();
    // `b` reads it after `a`'s message about the write has arrived.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(b.get(&k).await.unwrap().is_some());
    a.remove(&k).await.unwrap();
    assert!(eventually(PROPAGATION, || async { b.get(&k).await.unwrap().is_none() }).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn revocation_log_latency_on_sqlite() {
    let db = TempDb::new();
    let (a, b) = (connect(&db.url(), "t").await, connect(&db.url(), "t").await);
    latency(&a, &b, "SQLite revocation log").await;
}
