//! Running `wrk` (a separate process) with a generated Lua script, and reading back
//! its figures from the script's `done` hook.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

use crate::BenchResult;

/// One wrk run.
#[derive(Debug, Clone)]
pub struct Load {
    pub origin: String,
    pub path: String,
    /// Headers sent on every request.
    pub headers: Vec<(String, String)>,
    /// Cookie values to cycle through, one per request, as `name=value` pairs.
    pub rotate_cookies: Vec<String>,
    pub connections: u32,
    pub duration: Duration,
    pub pin: bool,
    /// The server process, whose CPU time is read before and after the run.
    pub server_pid: Option<u32>,
}

/// What a run measured. Latencies are in microseconds.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Outcome {
    pub requests: u64,
    pub duration_us: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Responses with status >= 400 (wrk's own count).
    pub status_errors: u64,
    pub socket_errors: u64,
    /// CPU time the server process used during the run, nanoseconds.
    #[serde(default)]
    pub server_cpu_ns: u64,
    /// CPU time wrk itself used, nanoseconds.
    #[serde(default)]
    pub wrk_cpu_ns: u64,
}

impl Outcome {
    /// Server CPU time per request, microseconds.
    pub fn cpu_us_per_request(&self) -> f64 {
        if self.requests == 0 {
            return 0.0;
        }
        self.server_cpu_ns as f64 / 1000.0 / self.requests as f64
    }

    pub fn rps(&self) -> f64 {
        if self.duration_us == 0 {
            return 0.0;
        }
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }
}

pub fn available() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
}

fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn script(load: &Load) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "wrk.method = \"GET\"");
    let _ = writeln!(s, "wrk.path = {}", lua_string(&load.path));
    for (k, v) in &load.headers {
        let _ = writeln!(s, "wrk.headers[{}] = {}", lua_string(k), lua_string(v));
    }
    if !load.rotate_cookies.is_empty() {
        let _ = writeln!(s, "local cookies = {{");
        for c in &load.rotate_cookies {
            let _ = writeln!(s, "  {},", lua_string(c));
        }
        let _ = writeln!(s, "}}");
        let _ = writeln!(s, "local n = 0");
        let _ = writeln!(s, "request = function()");
        let _ = writeln!(s, "  n = n + 1");
        let _ = writeln!(s, "  local h = {{}}");
        let _ = writeln!(s, "  for k, v in pairs(wrk.headers) do h[k] = v end");
        let _ = writeln!(s, "  h[\"Cookie\"] = cookies[(n % #cookies) + 1]");
        let _ = writeln!(s, "  return wrk.format(nil, nil, h)");
        let _ = writeln!(s, "end");
    }
    let _ = writeln!(
        s,
        r#"done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {{"requests":%d,"duration_us":%d,"p50_us":%f,"p99_us":%f,"status_errors":%d,"socket_errors":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end"#
    );
    s
}

/// Runs `load` again and again until at least `count` requests were made (at most
/// `max_runs` runs).
pub async fn run_count(load: &Load, count: u64, max_runs: usize) -> BenchResult<Vec<Outcome>> {
    let mut runs = Vec::new();
    let mut done = 0;
    while done < count && runs.len() < max_runs {
        let o = run(load).await?;
        done += o.requests;
        runs.push(o);
    }
    Ok(runs)
}

/// Runs wrk with one thread (the server has the other core).
pub async fn run(load: &Load) -> BenchResult<Outcome> {
    let path = std::env::temp_dir().join(format!(
        "axum-oidc-bench-{}-{}.lua",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::write(&path, script(load))?;
    let mut cmd = if load.pin {
        let mut c = tokio::process::Command::new("taskset");
        c.args(["-c", "1", "wrk"]);
        c
    } else {
        tokio::process::Command::new("wrk")
    };
    cmd.arg("-t1")
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&path)
        .arg(format!("{}{}", load.origin, load.path))
        .kill_on_drop(true);
    let cpu = |pid: Option<u32>| pid.and_then(crate::procfs::cpu_ns).unwrap_or(0);
    let cpu0 = cpu(load.server_pid);
    let wrk0 = crate::procfs::children_cpu();
    // wrk ends by itself after -d; the outer bound only guards against a hang.
    let out = tokio::time::timeout(load.duration + Duration::from_secs(30), cmd.output())
        .await
        .map_err(|_| "wrk did not finish in time")??;
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCHJSON "))
        .ok_or_else(|| {
            format!(
                "wrk gave no figures: {}{}",
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let mut outcome: Outcome = serde_json::from_str(json)?;
    outcome.server_cpu_ns = cpu(load.server_pid).saturating_sub(cpu0);
    outcome.wrk_cpu_ns = crate::procfs::children_cpu()
        .saturating_sub(wrk0)
        .as_nanos() as u64;
    Ok(outcome)
}

/// Several runs of one arm, summarised by medians.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Server CPU time per request, microseconds (median over runs).
    pub cpu_us: f64,
    pub requests: u64,
    pub status_errors: u64,
    pub socket_errors: u64,
}

pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

impl Summary {
    pub fn of(outcomes: &[Outcome]) -> Self {
        let pick = |f: fn(&Outcome) -> f64| median(&outcomes.iter().map(f).collect::<Vec<_>>());
        Self {
            rps: pick(Outcome::rps),
            p50_us: pick(|o| o.p50_us),
            p99_us: pick(|o| o.p99_us),
            cpu_us: pick(Outcome::cpu_us_per_request),
            requests: outcomes.iter().map(|o| o.requests).sum(),
            status_errors: outcomes.iter().map(|o| o.status_errors).sum(),
            socket_errors: outcomes.iter().map(|o| o.socket_errors).sum(),
        }
    }
}
