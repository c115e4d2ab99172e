//! `memory`: resident memory per session in the memory store. One session is logged
//! in for real; 100,000 copies of it (each with its own id, `sub`, `sid` and heap
//! copies of the provider's real tokens) are then written through the store API
//! inside the server, and the server's RSS is read before and after.

use std::time::Duration;

use super::{Rig, RigOptions};
use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;

const SESSIONS: u64 = 100_000;

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let rig = Rig::start(
        settings,
        RigOptions {
            count: true,
            // Room for all of them: the default capacity is exactly 100,000.
            memory_capacity: Some(SESSIONS + 10_000),
            ..RigOptions::memory()
        },
        |c| c,
    )
    .await?;
    let cookie = rig.login("alice").await?;
    rig.expect("/authed", Some(&cookie), 200).await?;
    let before = rig.server.stats(&rig.http).await?;
    let rss0 = rig.server.rss_kib();
    let filled: serde_json::Value = rig
        .http
        .post(format!("{}/__bench/fill?n={SESSIONS}", rig.server.origin))
        .timeout(Duration::from_secs(300))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let inserted = filled["inserted"].as_u64().ok_or("fill failed")?;
    let after = rig.server.stats(&rig.http).await?;
    let rss1 = rig.server.rss_kib();
    let held = after.sessions.unwrap_or(0);
    let per_session = (rss1.saturating_sub(rss0) as f64 * 1024.0) / inserted.max(1) as f64;
    report.push(Row::new("memory", format!("memory store, {inserted} sessions written, {held} held"))
        .figure(format!(
            "VmRSS {rss0} → {rss1} KiB: {per_session:.0} bytes/session (record JSON {} B: access token {} B, ID token {} B, refresh token {} B)",
            before.record_json_len.unwrap_or(0),
            before.access_token_len.unwrap_or(0),
            before.id_token_len.unwrap_or(0),
            before.refresh_token_len.unwrap_or(0),
        )));
    if held + 1 < inserted {
        report.note(format!(
            "memory: only {held} of {inserted} sessions were held (evictions)"
        ));
    }
    rig.server.stop().await;
    Ok(())
}
