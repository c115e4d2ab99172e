//! What the tests of the `oidc-demo` binary share: running it with a clean
//! environment.

#![allow(dead_code)]

use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_oidc-demo");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command with an empty environment but `env`, so settings of the shell running
/// the tests never leak in.
pub fn demo(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs a command that must exit by itself within 15 seconds (and not serve).
pub async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> Output {
    // Whatever it does, it must not take the ports a server would use by default.
    let app_url = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port().to_string();
    let mut all: Vec<(&str, &str)> = vec![("APP_URL", &app_url), ("DEV_PROVIDER_PORT", &op_port)];
    all.extend_from_slice(env);
    let child = demo(args, &all).spawn().expect("oidc-demo");
    match tokio::time::timeout(Duration::from_secs(15), child.wait_with_output()).await {
        Ok(out) => out.expect("oidc-demo output"),
        Err(_) => panic!("oidc-demo {args:?} did not exit: it is serving instead"),
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
