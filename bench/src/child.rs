//! The orchestrator's handle on a server child process.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::BenchResult;
use crate::server::{SERVER_ARG, ServerSetup, ServerStats};

/// A running server; killed when dropped.
pub struct ChildServer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    pub pid: u32,
    pub origin: String,
    pub port: u16,
    /// `TOKEN <alg> <jwt>` lines of a bearer server.
    pub tokens: Vec<(String, String)>,
}

const STARTUP: Duration = Duration::from_secs(60);

impl ChildServer {
    /// Starts `bench __server <mode>`, pinned to CPU 0 when `pin` is set, and waits
    /// for its port.
    pub async fn spawn(mode: &str, pin: bool) -> BenchResult<Self> {
        let exe = std::env::current_exe()?;
        let mut cmd = if pin {
            let mut c = Command::new("taskset");
            c.arg("-c").arg("0").arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.arg(SERVER_ARG)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let pid = child.id().ok_or("server exited at once")?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let mut server = Self {
            child,
            stdin,
            stdout,
            pid,
            origin: String::new(),
            port: 0,
            tokens: Vec::new(),
        };
        let line = server.expect_line("LISTEN ").await?;
        server.port = line.trim().parse()?;
        server.origin = format!("http://127.0.0.1:{}", server.port);
        if pin {
            // taskset execs the server, so the pid is the server's.
            server.pid = pid;
        }
        Ok(server)
    }

    async fn expect_line(&mut self, prefix: &str) -> BenchResult<String> {
        let read = tokio::time::timeout(STARTUP, async {
            loop {
                match self.stdout.next_line().await? {
                    Some(l) if l.starts_with(prefix) => {
                        return Ok::<_, std::io::Error>(Some(l[prefix.len()..].to_owned()));
                    }
                    Some(l) if l.starts_with("TOKEN ") => {
                        let mut parts = l.splitn(3, ' ').skip(1);
                        if let (Some(alg), Some(jwt)) = (parts.next(), parts.next()) {
                            self.tokens.push((alg.to_owned(), jwt.to_owned()));
                        }
                    }
                    Some(_) => {}
                    None => return Ok(None),
                }
            }
        })
        .await
        .map_err(|_| format!("server did not say {prefix:?} in time"))??;
        read.ok_or_else(|| format!("server exited before {prefix:?}").into())
    }

    /// Sends the setup of an `oidc` server and waits until it serves.
    pub async fn configure(&mut self, setup: &ServerSetup) -> BenchResult<()> {
        let mut line = serde_json::to_string(setup)?;
        line.push('\n');
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin.write_all(line.as_bytes()).await?;
        stdin.flush().await?;
        self.expect_line("READY").await?;
        Ok(())
    }

    /// Waits until a server that needs no setup serves.
    pub async fn ready(&mut self) -> BenchResult<()> {
        self.expect_line("READY").await?;
        Ok(())
    }

    pub fn rss_kib(&self) -> u64 {
        crate::procfs::rss_kib(self.pid).unwrap_or(0)
    }

    pub fn cpu_ns(&self) -> u64 {
        crate::procfs::cpu_ns(self.pid).unwrap_or(0)
    }

    pub async fn stats(&self, http: &reqwest::Client) -> BenchResult<ServerStats> {
        Ok(http
            .get(format!("{}/__bench/stats", self.origin))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Closes stdin and waits (bounded) for the child to exit.
    pub async fn stop(mut self) {
        self.stdin.take();
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
        }
    }
}
