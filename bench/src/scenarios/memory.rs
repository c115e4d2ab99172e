//! `memory`: resident memory per session in the memory store. One session is logged
//! in for real; 100,000 copies of it (each with its own id, `sub`, `sid` and heap
//! copies of the provider's real tokens) are then written through the store API
//! inside the server, and the server's RSS is read before and after, and so is its
//! heap in use (glibc's `mallinfo2`: live allocations with their chunk overhead, no
//! free pages), which does not count memory the allocator holds but no one uses.
//! Then, after the figures of record: `VmRSS` once `malloc_trim(3)` has handed free
//! pages back, and a probe of the heap of one session's parts without the store
//! (its copies are freed again, but may leave the RSS higher: it runs last).

use std::time::Duration;

use super::{Rig, RigOptions};
use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;

const SESSIONS: u64 = 100_000;
const PROBE: u64 = 20_000;

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
    // What of the growth is free memory the allocator keeps: read again once it is
    // handed back (the figure of record stays the plain VmRSS above).
    rig.http
        .post(format!("{}/__bench/trim", rig.server.origin))
        .send()
        .await?
        .error_for_status()?;
    let rss_trimmed = rig.server.rss_kib();
    // The parts without the store, measured after the fill so the allocator's arenas
    // are already grown (the probe's own sets are freed again).
    let parts: serde_json::Value = rig
        .http
        .post(format!("{}/__bench/probe?n={PROBE}", rig.server.origin))
        .timeout(Duration::from_secs(300))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let held = after.sessions.unwrap_or(0);
    let per_session = (rss1.saturating_sub(rss0) as f64 * 1024.0) / inserted.max(1) as f64;
    let trimmed_per_session =
        (rss_trimmed.saturating_sub(rss0) as f64 * 1024.0) / inserted.max(1) as f64;
    let heap_per_session =
        after.heap_bytes.saturating_sub(before.heap_bytes) as f64 / inserted.max(1) as f64;
    report.push(Row::new("memory", format!("memory store, {inserted} sessions written, {held} held"))
        .figure(format!(
            "VmRSS {rss0} → {rss1} KiB: {per_session:.0} bytes/session (record JSON {} B: access token {} B, ID token {} B, refresh token {} B); heap in use {heap_per_session:.0} bytes/session; VmRSS after malloc_trim {trimmed_per_session:.0} bytes/session",
            before.record_json_len.unwrap_or(0),
            before.access_token_len.unwrap_or(0),
            before.id_token_len.unwrap_or(0),
            before.refresh_token_len.unwrap_or(0),
        )));
    let part = |name: &str| parts[name].as_f64().unwrap_or(f64::NAN);
    report.push(Row::new("memory", format!("heap per copy of one session's parts, {PROBE} copies, no store"))
        .figure(format!(
            "record {:.0} B (claims {:.0} B, tokens {:.0} B), session key {:.0} B; the store's own share: {:.0} B/session",
            part("record"), part("claims"), part("tokens"), part("key"),
            heap_per_session - part("record") - part("key"),
        )));
    if held + 1 < inserted {
        report.note(format!(
            "memory: only {held} of {inserted} sessions were held (evictions)"
        ));
    }
    rig.server.stop().await;
    Ok(())
}
