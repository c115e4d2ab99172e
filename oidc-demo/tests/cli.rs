//! The `oidc-demo` program as a deployer meets it: its command line, its settings,
//! its logs, its health endpoint and its shutdown (its refusals at start-up are in
//! `startup_errors.rs`).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use tokio::io::AsyncBufReadExt as _;
use tokio::process::Child;

use support::{demo, free_port, run_to_exit, text};

const CLIENT_ID: &str = "cli-test";
const CLIENT_SECRET: &str = "cli-test-client-secret-0123456789";

#[tokio::test]
async fn help_lists_every_setting_and_exits_without_serving() {
    let out = run_to_exit(&["--help"], &[]).await;
    let help = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for name in [
        "BIND",
        "APP_URL",
        "SESSION_LOCAL_TTL_SECS",
        "OIDC_ISSUER",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        "OIDC_CLIENT_AUTH",
        "OIDC_CLIENT_KEY_FILE",
        "OIDC_SCOPES",
        "COOKIE_KEY",
        "OIDC_CA_CERT",
        "OIDC_BASE_PATH",
        "OIDC_REFRESH_MARGIN_SECS",
        "SESSION_STORE",
        "DEV_PROVIDER_PORT",
        "API_AUDIENCE",
        "LOG_FORMAT",
        "RUST_LOG",
    ] {
        assert!(
            help.contains(name),
            "--help does not mention {name}:\n{help}"
        );
    }
}

#[tokio::test]
async fn help_never_shows_the_value_of_a_secret() {
    let out = run_to_exit(
        &["--help"],
        &[
            ("OIDC_CLIENT_SECRET", "client-secret-in-env"),
            ("COOKIE_KEY", "cookie-key-in-env"),
            ("SESSION_STORE", "redis://:store-password@127.0.0.1:1"),
        ],
    )
    .await;
    let help = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for secret in [
        "client-secret-in-env",
        "cookie-key-in-env",
        "store-password",
    ] {
        assert!(!help.contains(secret), "--help shows {secret}");
    }
}

#[tokio::test]
async fn version_prints_the_package_version() {
    let out = run_to_exit(&["--version"], &[]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text(&out.stdout).trim(),
        format!("oidc-demo {}", env!("CARGO_PKG_VERSION"))
    );
}

/// A running demo with its output collected.
struct Running {
    child: Child,
    out: Arc<Mutex<String>>,
    origin: String,
}

impl Running {
    async fn start(env: &[(&str, &str)], origin: String) -> Running {
        let mut child = demo(&[], env).spawn().expect("oidc-demo");
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    out.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let running = Running { child, out, origin };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = http.get(format!("{}/healthz", running.origin)).send().await;
            if r.is_ok_and(|r| r.status() == 200) {
                return running;
            }
            assert!(
                Instant::now() < deadline,
                "oidc-demo did not answer /healthz on {}:\n{}",
                running.origin,
                running.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// The line that announces the server (it names the public URL).
    async fn start_line(&self, public_url: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.output();
            if let Some(l) = out
                .lines()
                .find(|l| l.contains("listen") && l.contains(public_url))
            {
                return l.to_owned();
            }
            assert!(Instant::now() < deadline, "no start line:\n{out}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The development provider run by the test, playing an external provider.
async fn provider(app_url: &str) -> RunningProvider {
    let port = free_port();
    let client = ClientRegistration::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        format!("{app_url}/auth/callback"),
    );
    DevProvider::start(
        DevProviderConfig::default()
            .with_bind(([127, 0, 0, 1], port).into())
            .with_issuer(format!("http://127.0.0.1:{port}"))
            .with_client(client),
    )
    .await
    .expect("provider")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn serves_a_public_https_url_behind_a_proxy_on_a_separate_bind_address() {
    let app_url = "https://app.example";
    let op = provider(app_url).await;
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let demo = Running::start(
        &[
            ("APP_URL", app_url),
            ("BIND", &bind),
            ("OIDC_ISSUER", op.issuer()),
            ("OIDC_CLIENT_ID", CLIENT_ID),
            ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
            ("RUST_LOG", "info"),
        ],
        format!("http://{bind}"),
    )
    .await;

    let line = demo.start_line(app_url).await;
    assert!(line.contains(op.issuer()), "no issuer in {line:?}");
    assert!(line.contains(&bind), "no listen address in {line:?}");
    assert!(line.contains("memory"), "no store in {line:?}");

    // As the TLS-terminating proxy forwards it: the public host in X-Forwarded-Host.
    let r = no_redirects()
        .get(format!("{}/auth/login?next=/", demo.origin))
        .header("x-forwarded-host", "app.example")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let location = r.headers()["location"].to_str().unwrap();
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Fcallback"),
        "{location}"
    );
    let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
    assert!(!cookies.is_empty());
    for c in cookies {
        assert!(c.to_str().unwrap().contains("; Secure"), "{c:?}");
    }

    let r = reqwest::get(format!("{}/healthz", demo.origin))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn listens_on_the_loopback_at_app_url_port_when_bind_is_unset() {
    let port = free_port();
    let app_url = format!("https://app.example:{port}");
    let op = provider(&app_url).await;
    let demo = Running::start(
        &[
            ("APP_URL", &app_url),
            ("OIDC_ISSUER", op.issuer()),
            ("OIDC_CLIENT_ID", CLIENT_ID),
            ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ],
        format!("http://127.0.0.1:{port}"),
    )
    .await;
    drop(demo);
}

#[tokio::test]
async fn oidc_base_path_moves_the_login_routes_and_the_redirect_uri() {
    let app_url = "https://app.example";
    let op = provider(app_url).await;
    let bind = format!("127.0.0.1:{}", free_port());
    let demo = Running::start(
        &[
            ("APP_URL", app_url),
            ("BIND", &bind),
            ("OIDC_BASE_PATH", "/shop/auth"),
            ("OIDC_ISSUER", op.issuer()),
            ("OIDC_CLIENT_ID", CLIENT_ID),
            ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ],
        format!("http://{bind}"),
    )
    .await;
    let r = no_redirects()
        .get(format!("{}/shop/auth/login", demo.origin))
        .header("x-forwarded-host", "app.example")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let location = r.headers()["location"].to_str().unwrap();
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Fapp.example%2Fshop%2Fauth%2Fcallback"),
        "{location}"
    );
    let home = reqwest::get(format!("{}/", demo.origin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains(r#"href="/shop/auth/login?next=/""#), "{home}");
}

/// As in the library's `from_env`, a variable set to an empty value is unset.
#[tokio::test]
async fn empty_variables_count_as_unset() {
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let op_port = free_port().to_string();
    let demo = Running::start(
        &[
            ("APP_URL", &origin),
            ("DEV_PROVIDER_PORT", &op_port),
            ("BIND", ""),
            ("OIDC_ISSUER", ""),
            ("OIDC_REFRESH_MARGIN_SECS", ""),
            ("OIDC_BASE_PATH", " "),
            ("COOKIE_KEY", ""),
            ("LOG_FORMAT", ""),
            ("RUST_LOG", ""),
        ],
        origin.clone(),
    )
    .await;
    drop(demo);
}

#[tokio::test]
async fn piped_logs_have_no_ansi_colours() {
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let op_port = free_port().to_string();
    let demo = Running::start(
        &[
            ("APP_URL", &origin),
            ("DEV_PROVIDER_PORT", &op_port),
            ("RUST_LOG", "info"),
        ],
        origin.clone(),
    )
    .await;
    let line = demo.start_line(&origin).await;
    assert!(
        line.contains(&format!("http://127.0.0.1:{op_port}")),
        "{line}"
    );
    assert!(!demo.output().contains('\u{1b}'), "{:?}", demo.output());
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_a_line() {
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let op_port = free_port().to_string();
    let demo = Running::start(
        &[
            ("APP_URL", &origin),
            ("DEV_PROVIDER_PORT", &op_port),
            ("LOG_FORMAT", "json"),
        ],
        origin.clone(),
    )
    .await;
    let line = demo.start_line(&origin).await;
    let out = demo.output();
    for l in out.lines() {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}"));
        assert!(v["level"].is_string(), "{l}");
    }
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["fields"]["public_url"], origin.as_str(), "{line}");
}

/// Starts the demo, sends `signal` and expects a clean exit.
async fn stops_gracefully_on(signal: &str) {
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let op_port = free_port().to_string();
    let mut demo = Running::start(
        &[("APP_URL", &origin), ("DEV_PROVIDER_PORT", &op_port)],
        origin.clone(),
    )
    .await;
    let pid = demo.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let status = tokio::time::timeout(Duration::from_secs(10), demo.child.wait())
        .await
        .expect("still running 10 s after the signal")
        .unwrap();
    assert!(status.success(), "{status:?}:\n{}", demo.output());
    // The readers may still hold the last lines of the closed pipes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(demo.output().contains("shutting down"), "{}", demo.output());
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    stops_gracefully_on("-TERM").await;
}

#[tokio::test]
async fn sigint_stops_the_server_gracefully() {
    stops_gracefully_on("-INT").await;
}

/// sqlx logs PostgreSQL's notices (`relation ... already exists, skipping`) at info
/// on every start; the demo keeps them out of its log unless `RUST_LOG` asks.
#[tokio::test]
async fn postgres_notices_stay_out_of_the_log() {
    let Some(store) = std::env::var("AXUM_OIDC_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "0" || v == "false"),
            "AXUM_OIDC_TEST_POSTGRES_URL must be set in CI"
        );
        eprintln!("skipped: AXUM_OIDC_TEST_POSTGRES_URL not set");
        return;
    };
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let op_port = free_port().to_string();
    // Twice: the second start finds the tables and PostgreSQL sends its notices.
    for _ in 0..2 {
        let demo = Running::start(
            &[
                ("APP_URL", &origin),
                ("DEV_PROVIDER_PORT", &op_port),
                ("SESSION_STORE", &store),
                ("RUST_LOG", "info"),
            ],
            origin.clone(),
        )
        .await;
        let line = demo.start_line(&origin).await;
        assert!(line.contains("postgres://127.0.0.1"), "{line}");
        assert!(!demo.output().contains("sqlx"), "{}", demo.output());
        drop(demo);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
