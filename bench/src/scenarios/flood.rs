//! `flood`: what unauthenticated traffic costs.
//!
//! 1. Twice at least 100,000 hits on `/auth/login` (each creates a login cookie and
//!    nothing on the server): the server's RSS before, between and after, and store
//!    operations.
//! 2. At least 100,000 requests to `/authed` with random or forged session cookies,
//!    interleaved with as many to `/public` carrying a cookie of the same size under
//!    another name (same wrk script, so the client side costs the same): req/s and
//!    server-CPU ratios, and the store operations counted by a wrapper store (must be
//!    zero).
//!
//! wrk runs for a fixed time, so "at least N requests" is reached by repeating runs
//! (bounded in number).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Rig, RigOptions, compare, require_clean};
use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;
use crate::wrk;

const FLOOD: u64 = 100_000;
/// Most wrk runs spent on reaching [`FLOOD`] requests.
const MAX_RUNS: usize = 30;

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let rig = Rig::start(
        settings,
        RigOptions {
            count: true,
            ..RigOptions::memory()
        },
        |c| c,
    )
    .await?;
    let cookie = rig.login("alice").await?;
    rig.expect("/authed", Some(&cookie), 200).await?;
    rig.expect("/auth/login", None, 303).await?;
    login_flood(settings, report, &rig).await?;
    forged_flood(settings, report, &rig, &cookie).await?;
    rig.server.stop().await;
    Ok(())
}

async fn login_flood(settings: &Settings, report: &mut Report, rig: &Rig) -> BenchResult<()> {
    let load = rig.load(settings, "/auth/login?next=/somewhere", None);
    let mut warm = load.clone();
    warm.duration = settings.warmup;
    wrk::run(&warm).await?; // allocator and connection buffers settle
    let ops0 = rig
        .server
        .stats(&rig.http)
        .await?
        .counts
        .unwrap_or_default();
    let rss0 = rig.server.rss_kib();
    let first = wrk::run_count(&load, FLOOD, MAX_RUNS).await?;
    let rss1 = rig.server.rss_kib();
    let second = wrk::run_count(&load, FLOOD, MAX_RUNS).await?;
    let rss2 = rig.server.rss_kib();
    let ops = rig
        .server
        .stats(&rig.http)
        .await?
        .counts
        .unwrap_or_default()
        .since(&ops0);
    let count = |runs: &[wrk::Outcome]| runs.iter().map(|o| o.requests).sum::<u64>();
    let (n1, n2) = (count(&first), count(&second));
    let all: Vec<wrk::Outcome> = first.into_iter().chain(second).collect();
    let summary = wrk::Summary::of(&all);
    require_clean("/auth/login flood", &summary)?;
    let growth1 = rss1 as i64 - rss0 as i64;
    let growth2 = rss2 as i64 - rss1 as i64;
    let per_request = growth1.max(growth2) as f64 * 1024.0 / n1.min(n2).max(1) as f64;
    report.push(
        Row::new(
            "flood",
            format!("/auth/login × {n1} then × {n2}"),
        )
        .load(&summary)
        .figure(format!(
            "VmRSS {rss0} → {rss1} → {rss2} KiB (+{growth1}, +{growth2} KiB; ≤ {per_request:.2} B/request)"
        ))
        .goal("RSS growth ≈ 0 (< 1 MiB per 100k)", growth1.max(growth2) < 1024),
    );
    report.push(
        Row::new("flood", "/auth/login: store operations")
            .figure(format!("{} in {} requests", ops.total(), n1 + n2))
            .goal("0", ops.total() == 0),
    );
    Ok(())
}

/// 1,000 cookie values as long as a real one: half random, half the real value with
/// one character of its MAC changed.
fn bad_cookie_values(real: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(1000);
    let len = real.len().max(8);
    for i in 0..500 {
        let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        let mut s = STANDARD.encode(&bytes);
        s.retain(|c| c != '=');
        s.truncate(len);
        if i % 50 == 0 {
            s.truncate(5); // some short garbage too
        }
        out.push(s);
    }
    let mac_len = 44.min(real.len());
    for i in 0..500 {
        let mut chars: Vec<char> = real.chars().collect();
        let pos = i % mac_len.max(1);
        if let Some(c) = chars.get_mut(pos) {
            *c = if *c == 'A' { 'B' } else { 'A' };
        }
        out.push(chars.into_iter().collect());
    }
    out
}

async fn forged_flood(
    settings: &Settings,
    report: &mut Report,
    rig: &Rig,
    cookie: &str,
) -> BenchResult<()> {
    let real_value = cookie
        .split_once('=')
        .map(|(_, v)| v)
        .ok_or("session cookie without value")?;
    let values = bad_cookie_values(real_value);
    let forged_cookie = format!("axum_oidc_session={}", values[600]);
    rig.expect("/authed", Some(&forged_cookie), 401).await?;
    let mut public = rig.load(settings, "/public", None);
    public.rotate_cookies = values.iter().map(|v| format!("bench_other={v}")).collect();
    let mut forged = rig.load(settings, "/authed", None);
    forged.rotate_cookies = values
        .iter()
        .map(|v| format!("axum_oidc_session={v}"))
        .collect();
    // The same 401 bytes from a handler outside the layer: how much of the gap to
    // `/public` is the larger answer itself rather than the library's work.
    let mut static_401 = rig.load(settings, "/__bench/static401", None);
    static_401.rotate_cookies = forged.rotate_cookies.clone();
    let ops0 = rig
        .server
        .stats(&rig.http)
        .await?
        .counts
        .unwrap_or_default();
    let cmp = compare(settings, &[public, forged, static_401]).await?;
    let ops = rig
        .server
        .stats(&rig.http)
        .await?
        .counts
        .unwrap_or_default()
        .since(&ops0);
    require_clean("/public with a foreign cookie", &cmp.arms[0])?;
    let f = &cmp.arms[1];
    for (label, arm) in [("forged cookies", f), ("static 401", &cmp.arms[2])] {
        if arm.socket_errors > 0 || arm.status_errors != arm.requests {
            return Err(format!(
                "{label}: {} of {} answers were errors (all must be 401), {} socket errors",
                arm.status_errors, arm.requests, arm.socket_errors
            )
            .into());
        }
    }
    report.push(
        Row::new("flood", "/public, random foreign cookie (baseline)")
            .load(&cmp.arms[0])
            .figure("baseline"),
    );
    report.push(
        Row::new("flood", "/authed, random/forged session cookie (all 401)")
            .load(f)
            .figure(cmp.describe(1))
            .goal("≈ public (ratio ≥ 0.90)", cmp.ratios[1] >= 0.90),
    );
    report.push(
        Row::new(
            "flood",
            "/__bench/static401: the same 401 bytes, no layer (reference)",
        )
        .load(&cmp.arms[2])
        .figure(format!(
            "{}; library's forged-cookie answer ÷ this: req/s {:.3}, CPU-cost {:.3}",
            cmp.describe(2),
            cmp.ratios[1] / cmp.ratios[2],
            cmp.cpu_ratios[1] / cmp.cpu_ratios[2]
        )),
    );
    report.push(
        Row::new("flood", "forged cookies: store operations")
            .figure(format!(
                "{} in {} measured requests and their warm-up",
                ops.total(),
                cmp.arms.iter().map(|a| a.requests).sum::<u64>()
            ))
            .goal("0", ops.total() == 0),
    );
    Ok(())
}
