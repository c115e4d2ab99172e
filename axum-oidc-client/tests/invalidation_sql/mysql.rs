//! MySQL/MariaDB: the revocation log.

use axum_oidc_client::store::suite::server_url;

use super::*;

const MYSQL_VAR: &str = "AXUM_OIDC_TEST_MYSQL_URL";

async fn drop_tables(url: &str, prefix: &str) {
    let pool = sqlx::MySqlPool::connect(url).await.unwrap();
    for table in ["sessions", "leases", "once", "invalidations"] {
        sqlx::query(&format!("DROP TABLE IF EXISTS {prefix}_{table}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_instance_reach_the_other_over_the_revocation_log() {
    let Some(url) = server_url(MYSQL_VAR) else {
        return;
    };
    let prefix = unique_name();
    let (a, b) = (connect(&url, &prefix).await, connect(&url, &prefix).await);
    changes_through_one_instance_reach_the_other(&a, &b).await;
    drop_tables(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_messages_over_8000_bytes_are_refused() {
    let Some(url) = server_url(MYSQL_VAR) else {
        return;
    };
    let prefix = unique_name();
    messages_over_the_limit_are_refused(&connect(&url, &prefix).await).await;
    drop_tables(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_log_read_is_reported_down_then_up_and_flushes_the_local_tier() {
    let Some(url) = server_url(MYSQL_VAR) else {
        return;
    };
    let prefix = unique_name();
    let (shared_a, shared_b) = (connect(&url, &prefix).await, connect(&url, &prefix).await);
    let b = instance(&shared_b).await;
    let admin = sqlx::MySqlPool::connect(&url).await.unwrap();
    let log = format!("{prefix}_invalidations");
    let mut outage = LogRenamed {
        rename: Box::new(move |away| {
            let (admin, log) = (admin.clone(), log.clone());
            Box::pin(async move {
                let (from, to) = if away {
                    (log.clone(), format!("{log}_away"))
                } else {
                    (format!("{log}_away"), log.clone())
                };
                sqlx::query(&format!("RENAME TABLE {from} TO {to}"))
                    .execute(&admin)
                    .await
                    .unwrap();
            })
        }),
    };
    a_dropped_channel_is_reported_and_flushes_the_local_tier(&shared_a, &b, &mut outage).await;
    drop_tables(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_deletes_log_rows_older_than_ten_minutes_only() {
    let Some(url) = server_url(MYSQL_VAR) else {
        return;
    };
    let prefix = unique_name();
    let store = connect(&url, &prefix).await;
    let admin = sqlx::MySqlPool::connect(&url).await.unwrap();
    let log = format!("{prefix}_invalidations");
    for age in [601, 590, 0] {
        sqlx::query(&format!(
            "INSERT INTO {log} (message, created_at) VALUES ('m', UNIX_TIMESTAMP() - ?)"
        ))
        .bind(age)
        .execute(&admin)
        .await
        .unwrap();
    }
    assert_eq!(store.purge_expired().await.unwrap(), 1);
    let left: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {log}"))
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(left, 2);
    drop_tables(&url, &prefix).await;
}

/// InnoDB assigns `seq` at insert: a row inserted first can commit last. The
/// reader must still deliver it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_row_that_commits_after_a_later_one_is_still_delivered() {
    let Some(url) = server_url(MYSQL_VAR) else {
        return;
    };
    let prefix = unique_name();
    let store = connect(&url, &prefix).await;
    let channel = store.invalidation_channel();
    let mut messages = channel.subscribe().await.unwrap();
    let admin = sqlx::MySqlPool::connect(&url).await.unwrap();
    let insert = format!(
        "INSERT INTO {prefix}_invalidations (message, created_at) VALUES (?, UNIX_TIMESTAMP())"
    );
    let mut slow = admin.begin().await.unwrap();
    sqlx::query(&insert)
        .bind(b"late".as_slice())
        .execute(&mut *slow)
        .await
        .unwrap();
    channel.publish("early").await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(2), messages.next()).await;
    assert_eq!(next.unwrap().unwrap().unwrap(), "early");
    // Several reads pass with the gap open.
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.commit().await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(1), messages.next()).await;
    assert_eq!(next.unwrap().unwrap().unwrap(), "late");
    let seqs: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT seq FROM {prefix}_invalidations ORDER BY seq"
    ))
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(seqs.len(), 2);
    assert!(
        seqs[0] < seqs[1],
        "the late row has the lower seq: {seqs:?}"
    );
    drop_tables(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn revocation_log_latency_on_mysql() {
    let Some(url) = server_url(MYSQL_VAR) else {
        return;
    };
    let prefix = unique_name();
    let (a, b) = (connect(&url, &prefix).await, connect(&url, &prefix).await);
    latency(&a, &b, "MySQL revocation log").await;
    drop_tables(&url, &prefix).await;
}
