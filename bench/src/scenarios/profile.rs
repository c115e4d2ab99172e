//! `profile` (not part of `all`): samples the server with `perf record -e cpu-clock`
//! while wrk loads `/plain`, `/public`, `/authed` and `/authed-session` (memory store,
//! warm session), and prints each arm's hottest functions. The data files stay in
//! `target/bench-profile/` for `perf report -i`.

use std::path::PathBuf;
use std::time::Duration;

use super::{Rig, RigOptions};
use crate::BenchResult;
use crate::report::Report;
use crate::settings::Settings;
use crate::wrk;

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let dir = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("bench-profile");
    std::fs::create_dir_all(&dir)?;
    let rig = Rig::start(settings, RigOptions::memory(), |c| c).await?;
    let cookie = rig.login("alice").await?;
    rig.expect("/authed", Some(&cookie), 200).await?;
    for path in ["/plain", "/public", "/authed", "/authed-session"] {
        let load = rig.load(settings, path, Some(&cookie));
        let mut warm = load.clone();
        warm.duration = settings.warmup;
        wrk::run(&warm).await?;
        let file = dir.join(format!("{}.data", path.trim_start_matches('/')));
        let mut perf = tokio::process::Command::new("perf")
            .args([
                "record",
                "-e",
                "cpu-clock",
                "-F",
                "1999",
                "--call-graph",
                "dwarf,32768",
                "-p",
            ])
            .arg(rig.server.pid.to_string())
            .arg("-o")
            .arg(&file)
            .arg("--")
            .arg("sleep")
            .arg(settings.duration.as_secs().to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let o = wrk::run(&load).await?;
        let _ = tokio::time::timeout(Duration::from_secs(60), perf.wait()).await;
        report.note(format!(
            "profile {path}: {:.0} req/s, {:.1} µs server CPU/request, perf data {}",
            o.rps(),
            o.cpu_us_per_request(),
            file.display()
        ));
        let top = tokio::process::Command::new("perf")
            .args([
                "report",
                "--no-children",
                "--stdio",
                "--sort",
                "symbol",
                "-g",
                "none",
                "--percent-limit",
                "0.7",
                "-i",
            ])
            .arg(&file)
            .output()
            .await?;
        let text = String::from_utf8_lossy(&top.stdout);
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .take(40)
        {
            println!("{path}: {line}");
        }
    }
    rig.server.stop().await;
    Ok(())
}
