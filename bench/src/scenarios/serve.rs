//! `serve` (not part of `all`): starts the memory-store server and a provider, logs
//! `alice` in, prints the origin and session cookie, and keeps them up for
//! `BENCH_SERVE_SECS` (default 120) for experiments by hand (curl, wrk, perf).

use std::time::Duration;

use super::{Rig, RigOptions};
use crate::BenchResult;
use crate::report::Report;
use crate::settings::Settings;

pub async fn run(settings: &Settings, _report: &mut Report) -> BenchResult<()> {
    let rig = Rig::start(settings, RigOptions::memory(), |c| c).await?;
    let cookie = rig.login("alice").await?;
    let secs: u64 = std::env::var("BENCH_SERVE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
        .min(3600);
    println!("origin {} pid {}", rig.server.origin, rig.server.pid);
    println!("cookie {cookie}");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    rig.server.stop().await;
    Ok(())
}
