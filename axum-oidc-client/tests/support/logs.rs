//! Captures what the library logs at the default level (INFO and above), as plain
//! text lines, for the duration of a test on a current-thread runtime.
//!
//! One global subscriber is installed for the test binary (a scoped one per test
//! would race on tracing's per-callsite interest cache when tests run in parallel);
//! it writes each line to the capture of the thread that logs it, and every task of
//! a `#[tokio::test]` runs on the test's thread.

#![allow(dead_code)]

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

type Buffer = Arc<Mutex<Vec<u8>>>;

thread_local! {
    static CURRENT: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

/// The lines logged on this thread since [`capture`]; capturing stops when dropped.
pub struct Logs {
    buffer: Buffer,
}

impl Drop for Logs {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|c| {
            if let Some(b) = c.borrow().as_ref() {
                b.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing this thread's log lines at INFO and above, without colours.
pub fn capture() -> Logs {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_target(true)
            .with_writer(|| Sink)
            .try_init()
            .expect("no other global subscriber in this test binary");
    });
    let buffer = Buffer::default();
    CURRENT.with(|c| *c.borrow_mut() = Some(buffer.clone()));
    Logs { buffer }
}

impl Logs {
    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.buffer.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The lines of the library (target `axum_oidc_client`) that contain `needle`.
    pub fn library_lines_with(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains("axum_oidc_client") && l.contains(needle))
            .collect()
    }
}
