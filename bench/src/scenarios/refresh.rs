//! `refresh`: a refresh storm. One session whose access token is inside the refresh
//! margin gets 1,000 concurrent requests; the provider must see exactly one refresh
//! grant and every request must be answered within the provider's latency plus the
//! time the server needs to answer 1,000 concurrent requests anyway (measured just
//! before on the same session while its token was still fresh: the control storm).
//!
//! The client is this process (not the server's) with 1,000 connections opened
//! beforehand, so connection set-up is not counted. Run once as is and once with an
//! artificial provider delay on the token endpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Rig, RigOptions};
use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;
use crate::wrk::median;

const STORM: usize = 1000;
/// Token lifetime at login: just above the default 30 s refresh margin.
const SHORT_TTL: Duration = Duration::from_secs(32);

struct Storm {
    latencies: Vec<Duration>,
    non_200: usize,
}

impl Storm {
    fn max(&self) -> Duration {
        self.latencies.iter().copied().max().unwrap_or_default()
    }

    fn pct(&self, p: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// `STORM` concurrent GETs released together.
async fn storm(http: &reqwest::Client, url: &str, cookie: &str) -> BenchResult<Storm> {
    let gate = Arc::new(tokio::sync::Barrier::new(STORM + 1));
    let mut tasks = Vec::with_capacity(STORM);
    for _ in 0..STORM {
        let (http, url, cookie, gate) = (
            http.clone(),
            url.to_owned(),
            cookie.to_owned(),
            gate.clone(),
        );
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            let started = Instant::now();
            let mut req = http.get(url).header("accept", "application/json");
            if !cookie.is_empty() {
                req = req.header("cookie", cookie);
            }
            let status = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            (started.elapsed(), status)
        }));
    }
    gate.wait().await;
    let mut out = Storm {
        latencies: Vec::with_capacity(STORM),
        non_200: 0,
    };
    for t in tasks {
        let (took, status) = tokio::time::timeout(Duration::from_secs(60), t).await??;
        out.latencies.push(took);
        if status != 200 {
            out.non_200 += 1;
        }
    }
    Ok(out)
}

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let rig = Rig::start(
        settings,
        RigOptions {
            count: true,
            ..RigOptions::memory()
        },
        |c| c.with_access_token_ttl(SHORT_TTL),
    )
    .await?;
    let http = crate::login::client(STORM * 2)?;
    for delay in [Duration::ZERO, Duration::from_millis(200)] {
        one_storm(settings, report, &rig, &http, delay).await?;
    }
    rig.server.stop().await;
    Ok(())
}

async fn one_storm(
    _settings: &Settings,
    report: &mut Report,
    rig: &Rig,
    http: &reqwest::Client,
    delay: Duration,
) -> BenchResult<()> {
    let origin = &rig.server.origin;
    rig.provider.set_token_delay(Duration::ZERO);
    rig.provider.state.set_access_token_ttl(SHORT_TTL);
    let cookie = rig.login("alice").await?;
    let logged_in = Instant::now();
    rig.provider
        .state
        .set_access_token_ttl(Duration::from_secs(3600));
    // Open the connections, then the control storm while the token is still fresh.
    storm(http, &format!("{origin}/plain"), "").await?;
    let grants0 = rig.provider.stats().refresh_grants;
    let control = storm(http, &format!("{origin}/authed"), &cookie).await?;
    if rig.provider.stats().refresh_grants != grants0 || control.non_200 > 0 {
        return Err(
            "the control storm refreshed or failed: the machine is too slow for a 32 s token"
                .into(),
        );
    }
    // Wait until the token is inside the 30 s margin (whole seconds on both sides).
    let stale_at = logged_in + Duration::from_millis(3300);
    tokio::time::sleep_until(stale_at.into()).await;
    storm(http, &format!("{origin}/plain"), "").await?;
    rig.provider.set_token_delay(delay);
    let grants0 = rig.provider.stats().refresh_grants;
    let time0 = rig.provider.token_time();
    let ops0 = rig
        .server
        .stats(&rig.http)
        .await?
        .counts
        .unwrap_or_default();
    let s = storm(http, &format!("{origin}/authed"), &cookie).await?;
    let grants = rig.provider.stats().refresh_grants - grants0;
    let provider_time = rig.provider.token_time().since(&time0);
    let ops = rig
        .server
        .stats(&rig.http)
        .await?
        .counts
        .unwrap_or_default()
        .since(&ops0);
    rig.provider.set_token_delay(Duration::ZERO);
    let provider_latency = provider_time.busy + delay * provider_time.calls as u32;
    let bound = provider_latency + control.max() + Duration::from_millis(10);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let lat_us: Vec<f64> = s.latencies.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    let case = format!(
        "{STORM} concurrent requests, expired token, provider delay {} ms",
        delay.as_millis()
    );
    report.push(
        Row {
            p50_us: Some(median(&lat_us)),
            p99_us: Some(s.pct(0.99).as_secs_f64() * 1e6),
            ..Row::new("refresh", case)
        }
        .figure(format!(
            "refresh grants {grants}; non-200 {}; max {:.1} ms; provider {:.1} ms (its handler {:.2} ms + delay); control storm (fresh token) max {:.1} ms; store ops: {} get, {} get_fresh, {} put, {} lock",
            s.non_200,
            ms(s.max()),
            ms(provider_latency),
            ms(provider_time.busy),
            ms(control.max()),
            ops.get,
            ops.get_fresh,
            ops.put,
            ops.lock,
        ))
        .goal(
            format!("1 grant, all 200, max ≤ provider + control max + 10 ms = {:.1} ms", ms(bound)),
            grants == 1 && s.non_200 == 0 && s.max() <= bound,
        ),
    );
    Ok(())
}
