//! Test helpers: a metrics recorder and a log capture for the current thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// The metrics recorded on this thread while it lives (a current-thread runtime runs
/// every task on it). Values accumulate across reads.
pub(crate) struct Recorded {
    snapshotter: Snapshotter,
    counters: HashMap<String, u64>,
    samples: HashMap<String, usize>,
    _guard: metrics::LocalRecorderGuard<'static>,
}

/// `name{k="v",...}` with the labels in the order given.
fn id(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

impl Recorded {
    /// Starts recording on this thread.
    pub fn start() -> Self {
        let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
        Self {
            snapshotter: recorder.snapshotter(),
            counters: HashMap::new(),
            samples: HashMap::new(),
            _guard: metrics::set_default_local_recorder(recorder),
        }
    }

    fn take(&mut self) {
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            let (kind, key) = key.into_parts();
            let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
            let id = id(key.name(), &labels);
            match (kind, value) {
                (MetricKind::Counter, DebugValue::Counter(n)) => {
                    *self.counters.entry(id).or_default() += n
                }
                (MetricKind::Histogram, DebugValue::Histogram(v)) => {
                    *self.samples.entry(id).or_default() += v.len()
                }
                _ => {}
            }
        }
    }

    /// A counter's value (0 when never incremented); labels in recording order.
    pub fn counter(&mut self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.take();
        self.counters.get(&id(name, labels)).copied().unwrap_or(0)
    }

    /// How many samples a histogram got.
    pub fn samples(&mut self, name: &str, labels: &[(&str, &str)]) -> usize {
        self.take();
        self.samples.get(&id(name, labels)).copied().unwrap_or(0)
    }

    /// Every counter and histogram seen so far, for failure messages.
    pub fn all(&mut self) -> String {
        self.take();
        let mut lines: Vec<String> = self
            .counters
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .chain(
                self.samples
                    .iter()
                    .map(|(k, v)| format!("{k} ({v} samples)")),
            )
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

/// The log lines written on this thread while it lives, every level, as the `fmt`
/// subscriber writes them (no ANSI colours).
pub(crate) struct Logs {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Starts capturing on this thread.
    pub fn start() -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = Writer(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .finish();
        Self {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// The lines captured so far.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.buf.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The lines that contain every one of `parts`.
    pub fn matching(&self, parts: &[&str]) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .collect()
    }
}
