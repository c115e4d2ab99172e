//! The scenarios, and what they share: starting a provider and a server, and
//! comparing arms under wrk.

mod bearer;
mod bff;
mod flood;
mod login;
mod memory;
mod profile;
mod public;
mod refresh;
pub mod revocation;
mod serve;
mod session;

use oidc_dev_provider::DevProviderConfig;

use crate::BenchResult;
use crate::child::ChildServer;
use crate::provider::Provider;
use crate::report::Report;
use crate::server::ServerSetup;
use crate::settings::Settings;
use crate::wrk::{self, Load, Outcome, Summary, median};

pub async fn run(name: &str, settings: &Settings, report: &mut Report) -> BenchResult<()> {
    report.note(format!(
        "{name}: started with 1-min load average {}",
        crate::procfs::loadavg()
    ));
    match name {
        "session" => session::run(settings, report).await,
        "public" => public::run(settings, report).await,
        "login" => login::run(settings, report).await,
        "flood" => flood::run(settings, report).await,
        "memory" => memory::run(settings, report).await,
        "refresh" => refresh::run(settings, report).await,
        "bearer" => bearer::run(settings, report).await,
        "bff" => bff::run(settings, report).await,
        "revocation" => revocation::run(settings, report).await,
        "profile" => profile::run(settings, report).await,
        "serve" => serve::run(settings, report).await,
        other => Err(format!("unknown scenario {other}").into()),
    }
}

/// A provider, an application server (child process) that trusts it, and a client.
pub struct Rig {
    pub provider: Provider,
    pub server: ChildServer,
    pub http: reqwest::Client,
}

/// How to build a [`Rig`].
pub struct RigOptions {
    pub store: String,
    pub count: bool,
    pub memory_capacity: Option<u64>,
}

impl RigOptions {
    pub fn memory() -> Self {
        Self {
            store: "memory".into(),
            count: false,
            memory_capacity: None,
        }
    }
}

impl Rig {
    pub async fn start(
        settings: &Settings,
        options: RigOptions,
        tweak: impl FnOnce(DevProviderConfig) -> DevProviderConfig,
    ) -> BenchResult<Self> {
        let mut server = ChildServer::spawn("oidc", settings.pin).await?;
        let provider = Provider::start(&format!("{}/auth/callback", server.origin), tweak).await?;
        server
            .configure(&ServerSetup {
                issuer: provider.issuer(),
                store: options.store,
                count: options.count,
                memory_capacity: options.memory_capacity,
            })
            .await?;
        Ok(Self {
            provider,
            server,
            http: crate::login::client(64)?,
        })
    }

    /// Logs `user` in over HTTP; returns the `axum_oidc_session=...` pair.
    pub async fn login(&self, user: &str) -> BenchResult<String> {
        crate::login::login(&self.http, &self.server.origin, user).await
    }

    /// Fails unless `path` answers `want`.
    pub async fn expect(&self, path: &str, cookie: Option<&str>, want: u16) -> BenchResult<()> {
        let got = crate::login::probe(&self.http, &self.server.origin, path, cookie).await?;
        if got == want {
            Ok(())
        } else {
            Err(format!("{path} answered {got}, expected {want}").into())
        }
    }

    /// A wrk load on `path` with `Accept: application/json` and, if any, a cookie.
    pub fn load(&self, settings: &Settings, path: &str, cookie: Option<&str>) -> Load {
        let mut l = load(settings, &self.server.origin, path, cookie);
        l.server_pid = Some(self.server.pid);
        l
    }
}

pub fn load(settings: &Settings, origin: &str, path: &str, cookie: Option<&str>) -> Load {
    let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
    if let Some(c) = cookie {
        headers.push(("Cookie".to_owned(), c.to_owned()));
    }
    Load {
        origin: origin.to_owned(),
        path: path.to_owned(),
        headers,
        rotate_cookies: Vec::new(),
        connections: settings.connections,
        duration: settings.duration,
        pin: settings.pin,
        server_pid: None,
    }
}

/// The arms of a comparison after warm-up and `rounds` interleaved runs each.
pub struct Comparison {
    pub arms: Vec<Summary>,
    /// For each arm, the median over rounds of (this arm's req/s ÷ arm 0's req/s in
    /// the same round): adjacent runs share the machine's state, so this is steadier
    /// than a ratio of medians.
    pub ratios: Vec<f64>,
    /// For each arm, the lowest and highest per-round ratio.
    pub ratio_ranges: Vec<(f64, f64)>,
    /// For each arm, arm 0's server CPU per request ÷ this arm's, median over rounds:
    /// the throughput ratio a server that has its core to itself would show.
    pub cpu_ratios: Vec<f64>,
}

impl Comparison {
    /// `ratio 0.93 (rounds 0.91–0.95); CPU/request 31.2 µs, CPU ratio 0.94`.
    pub fn describe(&self, arm: usize) -> String {
        let (lo, hi) = self.ratio_ranges[arm];
        format!(
            "req/s ratio {:.3} (rounds {lo:.3}–{hi:.3}); server CPU {:.1} µs/request, CPU-cost ratio {:.3}",
            self.ratios[arm], self.arms[arm].cpu_us, self.cpu_ratios[arm]
        )
    }
}

/// Warms every arm up, then runs them in turn `rounds` times.
pub async fn compare(settings: &Settings, arms: &[Load]) -> BenchResult<Comparison> {
    for arm in arms {
        let mut warm = arm.clone();
        warm.duration = settings.warmup;
        wrk::run(&warm).await?;
    }
    let mut outcomes: Vec<Vec<Outcome>> = vec![Vec::new(); arms.len()];
    for round in 0..settings.rounds {
        // Alternate the order so neither arm always runs first.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..arms.len()).collect()
        } else {
            (0..arms.len()).rev().collect()
        };
        for i in order {
            let o = wrk::run(&arms[i]).await?;
            eprintln!(
                "    {} round {}: {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, {:.1} µs server CPU/request, server busy {:.0} %, wrk busy {:.0} %, {} status errors",
                arms[i].path,
                round + 1,
                o.rps(),
                o.p50_us,
                o.p99_us,
                o.cpu_us_per_request(),
                o.server_cpu_ns as f64 / o.duration_us.max(1) as f64 / 10.0,
                o.wrk_cpu_ns as f64 / o.duration_us.max(1) as f64 / 10.0,
                o.status_errors
            );
            outcomes[i].push(o);
        }
    }
    let mut ratios = Vec::new();
    let mut ratio_ranges = Vec::new();
    let mut cpu_ratios = Vec::new();
    for arm in &outcomes {
        let per_round_cpu: Vec<f64> = arm
            .iter()
            .zip(&outcomes[0])
            .map(|(a, base)| base.cpu_us_per_request() / a.cpu_us_per_request())
            .collect();
        cpu_ratios.push(median(&per_round_cpu));
        let per_round: Vec<f64> = arm
            .iter()
            .zip(&outcomes[0])
            .map(|(a, base)| a.rps() / base.rps())
            .collect();
        ratios.push(median(&per_round));
        ratio_ranges.push((
            per_round.iter().copied().fold(f64::INFINITY, f64::min),
            per_round.iter().copied().fold(0.0, f64::max),
        ));
    }
    Ok(Comparison {
        arms: outcomes.iter().map(|o| Summary::of(o)).collect(),
        ratios,
        ratio_ranges,
        cpu_ratios,
    })
}

/// Fails when wrk saw error statuses or socket errors on an arm that should have none.
pub fn require_clean(label: &str, s: &Summary) -> BenchResult<()> {
    if s.status_errors > 0 || s.socket_errors > 0 {
        return Err(format!(
            "{label}: {} error statuses and {} socket errors in {} requests",
            s.status_errors, s.socket_errors, s.requests
        )
        .into());
    }
    Ok(())
}
