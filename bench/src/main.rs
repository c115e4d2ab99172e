//! Load and cost benchmarks of `axum-oidc-client`.
//!
//! ```sh
//! cargo run --release -p bench -- <scenario>   # session public login flood memory refresh bearer revocation bff all
//! cargo run --release -p bench -- profile      # perf profiles of the session hot path
//! cargo run --release -p bench -- serve        # a logged-in server to experiment by hand
//! valgrind --tool=callgrind target/release/bench __hotpath authed 501   # see hotpath.rs
//! ```
//!
//! The process that runs this command is the orchestrator: it starts the embedded
//! provider, spawns the application server as a child process (this same binary with
//! `__server`, one tokio thread), logs real sessions in over HTTP and drives load with
//! `wrk` (a third process). Every figure printed comes from the run itself. Traffic
//! stays on 127.0.0.1; every request loop is bounded in count and in time.
//!
//! Environment:
//! - `BENCH_DURATION` seconds per wrk run (default 5), `BENCH_CONNECTIONS` (32),
//!   `BENCH_ROUNDS` runs per arm, interleaved (3);
//! - `BENCH_REDIS_URL`, `BENCH_POSTGRES_URL`, `BENCH_MYSQL_URL`, `BENCH_SQLITE_URL`
//!   (default: a temporary SQLite file) for the remote stores of `session`;
//! - `BENCH_PIN=1` pins the server to CPU 0 and wrk to CPU 1;
//! - `BENCH_NICE` (default -10) raises the priority of all three on a shared machine;
//! - `BENCH_METRICS=prometheus` installs the Prometheus recorder in the server (and in
//!   `__hotpath`), to measure the cost of recording the library's metrics.

mod child;
mod counting;
mod hotpath;
mod keys;
mod login;
mod procfs;
mod provider;
mod recorder;
mod report;
mod scenarios;
mod server;
mod settings;
mod wrk;

use std::process::ExitCode;

/// What every scenario returns: rows for the final table, or why it could not run.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const SCENARIOS: [&str; 9] = [
    "session",
    "public",
    "login",
    "flood",
    "memory",
    "refresh",
    "bearer",
    "revocation",
    "bff",
];

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo run --release -p bench -- <{}|all>",
        SCENARIOS.join("|")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(first) = args.first() else {
        return usage();
    };
    if first == server::SERVER_ARG {
        return server::main(&args[1..]);
    }
    if first == hotpath::HOTPATH_ARG {
        return hotpath::main(&args[1..]);
    }
    if first == scenarios::revocation::PEER_ARG {
        return scenarios::revocation::peer_main(&args[1..]);
    }
    let chosen: Vec<&str> = match first.as_str() {
        "all" => SCENARIOS.to_vec(),
        s if SCENARIOS.contains(&s) || s == "profile" || s == "serve" => vec![s],
        _ => return usage(),
    };
    if !wrk::available() {
        eprintln!("wrk not found: install it with `apt-get install -y wrk`");
        return ExitCode::FAILURE;
    }
    procfs::raise_fd_limit();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let settings = settings::Settings::from_env();
    let mut report = report::Report::new(&settings);
    if settings.nice != 0 {
        let applied = procfs::set_nice(settings.nice);
        report.note(format!(
            "nice {} for the orchestrator, the server and wrk: {} (scheduler autogroup: {})",
            settings.nice,
            if applied {
                "applied"
            } else {
                "NOT applied (needs root)"
            },
            procfs::autogroup().unwrap_or_else(|| "none".into())
        ));
    }
    if recorder::wanted() {
        report.note(format!(
            "{}=prometheus: the server runs with the Prometheus recorder installed",
            recorder::VAR
        ));
    }
    let mut failed = false;
    for name in chosen {
        eprintln!("== scenario {name} ==");
        let outcome = rt.block_on(scenarios::run(name, &settings, &mut report));
        if let Err(e) = outcome {
            eprintln!("scenario {name} failed: {e}");
            report.note(format!("{name}: FAILED: {e}"));
            failed = true;
        }
    }
    report.print();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
