//! `BENCH_METRICS=prometheus`: the application server (`__server`) and the in-process
//! hot path (`__hotpath`) run with the Prometheus recorder installed, as an
//! application that serves `/metrics` would; unset, the library's metrics go to the
//! facade's no-op recorder. Compare the two to see what recording costs.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The variable that turns the recorder on.
pub const VAR: &str = "BENCH_METRICS";

/// Whether this run asks for the recorder.
pub fn wanted() -> bool {
    std::env::var(VAR).is_ok_and(|v| v == "prometheus")
}

/// Installs the recorder when [`wanted`]; its handle renders what was recorded.
pub fn install_from_env() -> Option<PrometheusHandle> {
    if !wanted() {
        return None;
    }
    match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => Some(handle),
        Err(e) => {
            eprintln!("{VAR}: cannot install the Prometheus recorder: {e}");
            std::process::exit(2);
        }
    }
}
