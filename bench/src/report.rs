//! The table printed at the end of a run (Markdown, so it can be pasted as is).

use crate::settings::Settings;
use crate::wrk::Summary;

/// One line of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: &'static str,
    pub case: String,
    pub rps: Option<f64>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub cpu_us: Option<f64>,
    /// The scenario's own figure (ratio, bytes, count...).
    pub figure: String,
    pub goal: String,
    pub met: Option<bool>,
}

impl Row {
    pub fn new(scenario: &'static str, case: impl Into<String>) -> Self {
        Self {
            scenario,
            case: case.into(),
            ..Self::default()
        }
    }

    pub fn load(mut self, o: &Summary) -> Self {
        self.rps = Some(o.rps);
        self.p50_us = Some(o.p50_us);
        self.p99_us = Some(o.p99_us);
        self.cpu_us = Some(o.cpu_us);
        self
    }

    pub fn figure(mut self, f: impl Into<String>) -> Self {
        self.figure = f.into();
        self
    }

    pub fn goal(mut self, goal: impl Into<String>, met: bool) -> Self {
        self.goal = goal.into();
        self.met = Some(met);
        self
    }
}

pub struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

fn fmt_us(v: Option<f64>) -> String {
    match v {
        Some(us) if us >= 10_000.0 => format!("{:.1} ms", us / 1000.0),
        Some(us) => format!("{us:.0} µs"),
        None => String::new(),
    }
}

impl Report {
    pub fn new(s: &Settings) -> Self {
        Self {
            rows: Vec::new(),
            notes: vec![
                format!("machine: {}", crate::procfs::machine()),
                format!(
                    "load: wrk -t1 -c{} -d{}s after a {}s warm-up, {} interleaved rounds per arm (median); \
                     server: one process, tokio current_thread runtime (1 thread){}",
                    s.connections,
                    s.duration.as_secs(),
                    s.warmup.as_secs(),
                    s.rounds,
                    if s.pin {
                        ", pinned to CPU 0, wrk to CPU 1"
                    } else {
                        ", not pinned"
                    }
                ),
            ],
        }
    }

    pub fn push(&mut self, row: Row) {
        eprintln!(
            "  {} / {}: {} {} {}",
            row.scenario,
            row.case,
            row.rps.map(|r| format!("{r:.0} req/s")).unwrap_or_default(),
            row.figure,
            match row.met {
                Some(true) => "(goal met)",
                Some(false) => "(goal NOT met)",
                None => "",
            }
        );
        self.rows.push(row);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("  note: {note}");
        self.notes.push(note);
    }

    pub fn print(&self) {
        println!();
        println!("| scenario | case | req/s | p50 | p99 | server CPU/req | figure | goal | met |");
        println!("|---|---|---:|---:|---:|---:|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.scenario,
                r.case,
                r.rps.map(|v| format!("{v:.0}")).unwrap_or_default(),
                fmt_us(r.p50_us),
                fmt_us(r.p99_us),
                r.cpu_us.map(|v| format!("{v:.1} µs")).unwrap_or_default(),
                r.figure,
                r.goal,
                match r.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                }
            );
        }
        println!();
        for n in &self.notes {
            println!("- {n}");
        }
    }
}
