//! Knobs read from the environment, with the defaults the issue asks for.

use std::time::Duration;

/// How long and how hard each load run is, and which remote stores exist.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Length of one measured wrk run.
    pub duration: Duration,
    /// Length of the warm-up run before each arm.
    pub warmup: Duration,
    /// Open connections of wrk.
    pub connections: u32,
    /// Measured runs per arm; arms alternate, the median is reported.
    pub rounds: usize,
    /// Pin the server to CPU 0 and wrk to CPU 1.
    pub pin: bool,
    /// Nice value of the benchmark's processes (`BENCH_NICE`, default -10).
    pub nice: i32,
    /// `BENCH_REDIS_URL`.
    pub redis: Option<String>,
    /// `BENCH_POSTGRES_URL`.
    pub postgres: Option<String>,
    /// `BENCH_MYSQL_URL`.
    pub mysql: Option<String>,
    /// `BENCH_SQLITE_URL`, else a temporary file.
    pub sqlite: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    var(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Settings {
    /// Reads `BENCH_*`.
    pub fn from_env() -> Self {
        let duration = number("BENCH_DURATION", 5u64).clamp(1, 60);
        let sqlite = var("BENCH_SQLITE_URL").unwrap_or_else(|| {
            let path =
                std::env::temp_dir().join(format!("axum-oidc-bench-{}.db", std::process::id()));
            format!("sqlite://{}?mode=rwc", path.display())
        });
        Self {
            duration: Duration::from_secs(duration),
            warmup: Duration::from_secs(number("BENCH_WARMUP", 1u64).clamp(1, 10)),
            connections: number("BENCH_CONNECTIONS", 32u32).clamp(1, 1000),
            rounds: number("BENCH_ROUNDS", 3usize).clamp(1, 9),
            pin: var("BENCH_PIN").is_some_and(|v| v != "0"),
            nice: number("BENCH_NICE", -10i32).clamp(-20, 19),
            redis: var("BENCH_REDIS_URL"),
            postgres: var("BENCH_POSTGRES_URL"),
            mysql: var("BENCH_MYSQL_URL"),
            sqlite,
        }
    }
}
