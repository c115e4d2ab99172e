//! Interop test support: runs the `oidc-provider` npm package (an OpenID
//! Certified provider) from `e2e/oidc-provider/server.mjs` and plays the
//! user's part of the login and logout flows against it.
//!
//! Include it from an integration test with
//!
//! ```ignore
//! #[path = "support/node_provider.rs"]
//! mod node_provider;
//! ```
//!
//! and guard every test with
//!
//! ```ignore
//! if !node_provider::should_run() { return; }
//! ```
//!
//! which skips the test (with a message) when Node or `e2e/node_modules` is
//! missing on a developer machine, and fails it when `CI` is set.
//!
//! Needs tokio's `process`, `io-util`, `time`, `rt` features (plus `macros`
//! for `#[tokio::test]`), reqwest with `json`, `form` and `cookies`,
//! serde_json and url. See `e2e/oidc-provider/README.md` for the provider's
//! configuration keys and admin endpoints.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;
use url::Url;

const READY_TIMEOUT: Duration = Duration::from_secs(40);
/// How many times [`NodeProvider::start`] tries before it gives up.
pub const START_ATTEMPTS: u32 = 3;
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_HOPS: usize = 25;
/// Password typed into the devInteractions login form (any value is accepted).
pub const TEST_PASSWORD: &str = "any-password";

/// `<workspace>/e2e`, located from this crate's manifest directory
/// (`$CARGO_MANIFEST_DIR/../e2e`); the `OIDC_E2E_DIR` environment variable
/// overrides it.
pub fn e2e_dir() -> PathBuf {
    match std::env::var_os("OIDC_E2E_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("e2e"),
    }
}

fn server_script() -> PathBuf {
    e2e_dir().join("oidc-provider").join("server.mjs")
}

fn node_on_path() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn node_modules_installed() -> bool {
    e2e_dir()
        .join("node_modules")
        .join("oidc-provider")
        .join("package.json")
        .is_file()
}

/// `node` runs and `e2e/node_modules/oidc-provider` is installed.
pub fn node_available() -> bool {
    node_on_path() && node_modules_installed()
}

fn running_in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
}

/// Whether a test that needs the Node provider should run.
///
/// * provider available: `true`;
/// * unavailable and `CI` unset: prints the skip notice, returns `false`;
/// * unavailable and `CI` set: panics (a missing dependency in CI is a failure).
pub fn should_run() -> bool {
    if node_available() {
        return true;
    }
    if running_in_ci() {
        panic!(
            "oidc-provider interop tests cannot run: {} (CI is set, so this is a failure; \
             run `npm ci --prefix e2e`)",
            missing_reason()
        );
    }
    eprintln!("skipped: oidc-provider not installed (run npm ci --prefix e2e)");
    false
}

fn missing_reason() -> String {
    if !node_on_path() {
        "`node` was not found on PATH (Node.js 20 or newer is required)".to_string()
    } else if !node_modules_installed() {
        format!(
            "{} is missing",
            e2e_dir().join("node_modules/oidc-provider").display()
        )
    } else {
        "unknown".to_string()
    }
}

/// Why one start attempt failed.
enum Start {
    /// The script exited before `READY`: a configuration error, not retried.
    Exited(String),
    /// No `READY` line in time: retried.
    Stalled(String),
}

/// The load average and available memory, for the report of a stalled start.
fn machine_load() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let available = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))
        .unwrap_or("")
        .to_string();
    format!(
        "loadavg {}; {}",
        load.trim(),
        available.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// A running `oidc-provider` child process.
///
/// Dropping it kills the process; the process also exits on its own when its
/// stdin closes, i.e. when the test process dies.
pub struct NodeProvider {
    /// `http://127.0.0.1:<port>`, exactly as printed by the server.
    pub issuer: String,
    child: Child,
    stdin: Option<ChildStdin>,
    log: Arc<Mutex<String>>,
    _stdout_task: JoinHandle<()>,
    _stderr_task: JoinHandle<()>,
    admin: reqwest::Client,
    browser: ProviderBrowser,
}

impl NodeProvider {
    /// Starts `node e2e/oidc-provider/server.mjs` with `OP_CONFIG=<config>`
    /// and waits (up to 40 s) for its `READY <issuer>` line.
    ///
    /// A start that prints no `READY` line in time is retried (up to
    /// [`START_ATTEMPTS`] times in all), each failed attempt reported on stderr
    /// with the script's own progress lines and the machine's load, so that a
    /// stall of the third-party server on a busy CI machine does not fail a
    /// test that never reached our code. A script that exits early is not
    /// retried: that is a configuration error.
    ///
    /// Panics with an explanation when Node or `e2e/node_modules` is missing,
    /// when the script exits early (its stderr is included) or when every
    /// attempt timed out.
    pub async fn start(config: serde_json::Value) -> NodeProvider {
        if !node_available() {
            panic!(
                "cannot start oidc-provider: {}; run `npm ci --prefix e2e` \
                 (guard tests with node_provider::should_run())",
                missing_reason()
            );
        }
        let mut stalls = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match Self::start_once(&config).await {
                Ok(provider) => {
                    if !stalls.is_empty() {
                        eprintln!("oidc-provider started on attempt {attempt} after:\n{stalls}");
                    }
                    return provider;
                }
                Err(Start::Exited(why)) => panic!("{why}"),
                Err(Start::Stalled(why)) => {
                    eprintln!("oidc-provider attempt {attempt}/{START_ATTEMPTS}: {why}");
                    stalls.push_str(&format!("attempt {attempt}: {why}\n"));
                }
            }
        }
        panic!("oidc-provider never became ready.\n{stalls}");
    }

    async fn start_once(config: &serde_json::Value) -> Result<NodeProvider, Start> {
        let started = std::time::Instant::now();
        let mut child = Command::new("node")
            .arg(server_script())
            .current_dir(e2e_dir())
            .env("OP_CONFIG", config.to_string())
            .env_remove("OP_KEEP_STDIN_CLOSED")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("failed to spawn `node {}`: {e}", server_script().display())
            });

        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");

        let log = Arc::new(Mutex::new(String::new()));
        let echo = std::env::var_os("NODE_PROVIDER_LOG").is_some();
        let stderr_task = {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if echo {
                        eprintln!("[oidc-provider] {line}");
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };

        let mut lines = BufReader::new(stdout).lines();
        let waited = tokio::time::timeout(READY_TIMEOUT, async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        if let Some(issuer) = line.strip_prefix("READY ") {
                            return Ok(issuer.trim().to_string());
                        }
                        let mut log = log.lock().unwrap();
                        log.push_str("[stdout] ");
                        log.push_str(&line);
                        log.push('\n');
                    }
                    Ok(None) => return Err("stdout closed before READY".to_string()),
                    Err(e) => return Err(format!("reading stdout failed: {e}")),
                }
            }
        })
        .await;

        let issuer = match waited {
            Ok(Ok(issuer)) => issuer,
            Ok(Err(why)) => {
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                let _ = tokio::time::timeout(Duration::from_secs(2), stderr_task).await;
                return Err(Start::Exited(format!(
                    "oidc-provider did not start ({why}; exit: {status:?}).\nconfig: {config}\nstderr:\n{}",
                    log.lock().unwrap()
                )));
            }
            Err(_) => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                return Err(Start::Stalled(format!(
                    "no READY line within {:?}; machine: {}\nconfig: {config}\nstderr:\n{}",
                    started.elapsed(),
                    machine_load(),
                    log.lock().unwrap()
                )));
            }
        };

        // keep draining stdout so the child can never block on a full pipe
        let stdout_task = {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().unwrap();
                    log.push_str("[stdout] ");
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };

        let issuer_url = Url::parse(&issuer)
            .unwrap_or_else(|e| panic!("oidc-provider printed an invalid issuer {issuer:?}: {e}"));

        Ok(NodeProvider {
            issuer,
            child,
            stdin,
            log,
            _stdout_task: stdout_task,
            _stderr_task: stderr_task,
            admin: plain_client(),
            browser: ProviderBrowser::new(issuer_url),
        })
    }

    /// `<issuer>/.well-known/openid-configuration`
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// Everything the provider wrote to stderr so far.
    pub fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `GET /__stats`: grant / revocation / back-channel logout counters.
    pub async fn stats(&self) -> serde_json::Value {
        self.admin_json(reqwest::Method::GET, "/__stats").await
    }

    /// Waits up to 5 s for the provider to have accepted a token revocation (a
    /// logout revokes in the background), and asserts that it did.
    pub async fn assert_revoked(&self) {
        for _ in 0..100 {
            if self.stats().await["revocations"].as_u64().unwrap_or(0) >= 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the provider accepted no revocation: {}",
            self.stats().await
        );
    }

    /// `POST /__stats/reset`: zero all counters.
    pub async fn reset_stats(&self) -> serde_json::Value {
        self.admin_json(reqwest::Method::POST, "/__stats/reset")
            .await
    }

    /// `POST /__logout?sub=`: ends every provider session of `sub` as if the
    /// user had confirmed an RP-initiated logout: back-channel logout tokens
    /// go to the clients of those sessions that registered a
    /// `backchannel_logout_uri` (already delivered when this returns), and
    /// grants are revoked, except (as in oidc-provider) grants holding
    /// `offline_access` refresh tokens, which outlive the session.
    /// Returns `{ "sub", "sessions_ended", "backchannel": [{ "client_id", "sid", "ok", "error"? }] }`.
    pub async fn logout_sub(&self, sub: &str) -> serde_json::Value {
        let path = format!("/__logout?sub={}", encode_component(sub));
        self.admin_json(reqwest::Method::POST, &path).await
    }

    /// Like [`logout_sub`](Self::logout_sub) but also revokes `offline_access`
    /// grants (`/__logout?sub=..&revoke_offline=1`): every refresh token of
    /// those sessions stops working, as when an account is disabled.
    pub async fn logout_sub_revoking_offline(&self, sub: &str) -> serde_json::Value {
        let path = format!("/__logout?sub={}&revoke_offline=1", encode_component(sub));
        self.admin_json(reqwest::Method::POST, &path).await
    }

    /// `GET /__sessions`: the live provider sessions, `[{ "sub", "clients": { id: { "sid", "grant_id" } } }]`.
    pub async fn sessions(&self) -> serde_json::Value {
        self.admin_json(reqwest::Method::GET, "/__sessions").await
    }

    async fn admin_json(&self, method: reqwest::Method, path: &str) -> serde_json::Value {
        let url = format!("{}{}", self.issuer, path);
        let resp = self
            .admin
            .request(method, &url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}\nprovider stderr:\n{}", self.logs()));
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            panic!("{url}: HTTP {status}: {body}");
        }
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: invalid JSON ({e}): {body}"))
    }

    /// A separate user agent with its own, empty cookie jar.
    pub fn browser(&self) -> ProviderBrowser {
        ProviderBrowser::new(Url::parse(&self.issuer).expect("issuer is a URL"))
    }

    /// Plays the user at the provider for `authorization_url` (the full URL our
    /// app redirected the browser to): logs in as `sub` through the
    /// devInteractions form, confirms consent, and returns the redirect that
    /// leaves the provider (the app's `redirect_uri?code=..&state=..&iss=..`,
    /// or `?error=..`).
    ///
    /// Uses this provider's default [`ProviderBrowser`]: like a real browser
    /// it keeps the provider session, so a second call with the same `sub`
    /// goes through single sign-on; a call with a different `sub` starts from
    /// an empty cookie jar.
    pub async fn authorize(&self, authorization_url: &str, sub: &str) -> String {
        self.browser.authorize(authorization_url, sub).await
    }

    /// RP-initiated logout in the default browser: opens `end_session_url`,
    /// confirms the "sign out?" form, and returns the post-logout redirect
    /// (`post_logout_redirect_uri?state=..`) if there is one, `None` when the
    /// provider shows its own "signed out" page. Back-channel logout tokens
    /// have been POSTed by the time this returns.
    pub async fn end_session(&self, end_session_url: &str) -> Option<String> {
        self.browser.end_session(end_session_url).await
    }
}

impl Drop for NodeProvider {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "---- oidc-provider ({}) stderr ----\n{}",
                self.issuer,
                self.log.lock().map(|l| l.clone()).unwrap_or_default()
            );
        }
    }
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("reqwest client")
}

fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("reqwest client")
}

/// The user's browser as far as the provider is concerned: a cookie jar and
/// manual redirect following. Cheap to clone (clones share the jar).
#[derive(Clone)]
pub struct ProviderBrowser {
    issuer: Url,
    state: Arc<Mutex<BrowserState>>,
}

struct BrowserState {
    client: reqwest::Client,
    /// subject of the provider session held in the jar, if any
    signed_in_as: Option<String>,
}

enum Step {
    Get(Url),
    Post(Url, Vec<(String, String)>),
}

impl ProviderBrowser {
    fn new(issuer: Url) -> Self {
        ProviderBrowser {
            issuer,
            state: Arc::new(Mutex::new(BrowserState {
                client: cookie_client(),
                signed_in_as: None,
            })),
        }
    }

    fn on_provider(&self, url: &Url) -> bool {
        url.scheme() == self.issuer.scheme()
            && url.host_str() == self.issuer.host_str()
            && url.port_or_known_default() == self.issuer.port_or_known_default()
    }

    /// Forget the provider session (fresh cookie jar).
    pub fn clear_cookies(&self) {
        let mut state = self.state.lock().unwrap();
        state.client = cookie_client();
        state.signed_in_as = None;
    }

    fn client_for(&self, sub: Option<&str>) -> reqwest::Client {
        let mut state = self.state.lock().unwrap();
        // a different user: start over with an empty jar, as if another
        // browser were used (otherwise SSO would sign in the previous user)
        if let Some(sub) = sub
            && state
                .signed_in_as
                .as_deref()
                .is_some_and(|current| current != sub)
        {
            state.client = cookie_client();
            state.signed_in_as = None;
        }
        state.client.clone()
    }

    fn provider_url(&self, what: &str, raw: &str) -> Url {
        let url = Url::parse(raw).unwrap_or_else(|e| panic!("{what} {raw:?} is not a URL: {e}"));
        if !self.on_provider(&url) {
            panic!("{what} {raw} is not on the provider {}", self.issuer);
        }
        url
    }

    async fn send(
        client: &reqwest::Client,
        step: &Step,
    ) -> (reqwest::StatusCode, Url, Option<String>, String) {
        let (url, req) = match step {
            Step::Get(url) => (url, client.get(url.clone())),
            Step::Post(url, form) => (url, client.post(url.clone()).form(form)),
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to {url} failed: {e}"));
        let status = resp.status();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| v.to_str().expect("ASCII Location header").to_string());
        let body = resp.text().await.unwrap_or_default();
        (status, url.clone(), location, body)
    }

    /// See [`NodeProvider::authorize`].
    pub async fn authorize(&self, authorization_url: &str, sub: &str) -> String {
        let client = self.client_for(Some(sub));
        let mut step = Step::Get(self.provider_url("authorization URL", authorization_url));
        let mut trail = Vec::new();
        for _ in 0..MAX_HOPS {
            let (status, url, location, body) = Self::send(&client, &step).await;
            trail.push(format!(
                "{} {url} -> {status}",
                if matches!(step, Step::Get(_)) {
                    "GET"
                } else {
                    "POST"
                }
            ));
            if status.is_redirection() {
                let location =
                    location.unwrap_or_else(|| panic!("{status} without Location from {url}"));
                let next = url
                    .join(&location)
                    .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
                if !self.on_provider(&next) {
                    self.state.lock().unwrap().signed_in_as = Some(sub.to_string());
                    return next.to_string();
                }
                step = Step::Get(next);
                continue;
            }
            let form = match (status.is_success(), Form::parse(&body)) {
                (true, Some(form)) => form,
                _ => panic!(
                    "authorize: unexpected {status} from {url}\n{}\ntrail:\n  {}",
                    page_summary(&body),
                    trail.join("\n  ")
                ),
            };
            let action = url
                .join(&form.action)
                .unwrap_or_else(|e| panic!("bad form action {:?}: {e}", form.action));
            if !self.on_provider(&action) {
                panic!(
                    "authorize: the provider answered with a form POST to {action} (response_mode=form_post?); \
                     only redirect-based responses are supported"
                );
            }
            let mut fields = form.fields.clone();
            match form.field("prompt") {
                Some("login") => {
                    set_field(&mut fields, "login", sub);
                    set_field(&mut fields, "password", TEST_PASSWORD);
                }
                Some("consent") => {}
                other => panic!(
                    "authorize: unknown interaction form (prompt={other:?}) at {url}\n{}",
                    page_summary(&body)
                ),
            }
            step = Step::Post(action, fields);
        }
        panic!(
            "authorize: more than {MAX_HOPS} hops\ntrail:\n  {}",
            trail.join("\n  ")
        );
    }

    /// See [`NodeProvider::end_session`].
    pub async fn end_session(&self, end_session_url: &str) -> Option<String> {
        let client = self.client_for(None);
        let mut step = Step::Get(self.provider_url("end_session URL", end_session_url));
        let mut trail = Vec::new();
        for _ in 0..MAX_HOPS {
            let (status, url, location, body) = Self::send(&client, &step).await;
            trail.push(format!(
                "{} {url} -> {status}",
                if matches!(step, Step::Get(_)) {
                    "GET"
                } else {
                    "POST"
                }
            ));
            if status.is_redirection() {
                let location =
                    location.unwrap_or_else(|| panic!("{status} without Location from {url}"));
                let next = url
                    .join(&location)
                    .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
                if !self.on_provider(&next) {
                    self.state.lock().unwrap().signed_in_as = None;
                    return Some(next.to_string());
                }
                step = Step::Get(next);
                continue;
            }
            if !status.is_success() {
                panic!(
                    "end_session: unexpected {status} from {url}\n{}\ntrail:\n  {}",
                    page_summary(&body),
                    trail.join("\n  ")
                );
            }
            match Form::parse(&body) {
                // the "do you want to sign out?" page, or its auto-submitting
                // variant when there is no signed-in user
                Some(form) if form.action.contains("/session/end/confirm") => {
                    let action = url.join(&form.action).expect("form action");
                    let mut fields = form.fields.clone();
                    set_field(&mut fields, "logout", "yes");
                    step = Step::Post(action, fields);
                }
                _ => {
                    // the provider's own "sign-out success" page
                    self.state.lock().unwrap().signed_in_as = None;
                    return None;
                }
            }
        }
        panic!(
            "end_session: more than {MAX_HOPS} hops\ntrail:\n  {}",
            trail.join("\n  ")
        );
    }
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_string(), value.to_string()));
}

/// The first `<form>` of a page with its `<input>` fields (name/value pairs;
/// inputs without a name are skipped). Just enough HTML for oidc-provider's
/// own pages.
#[derive(Debug, Clone)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

impl Form {
    fn parse(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let rest = &html[start..];
        let tag_end = rest.find('>')?;
        let action = attr(&rest[..tag_end], "action")?;
        let body_end = rest.find("</form>").unwrap_or(rest.len());
        let body = &rest[tag_end..body_end];
        let mut fields = Vec::new();
        let mut pos = 0;
        while let Some(i) = body[pos..].find("<input") {
            let tag_start = pos + i;
            let end = body[tag_start..]
                .find('>')
                .map(|e| tag_start + e)
                .unwrap_or(body.len());
            let tag = &body[tag_start..end];
            if let Some(name) = attr(tag, "name") {
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
            pos = end;
        }
        Some(Form { action, fields })
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Value of a double-quoted attribute in a start tag, entity-decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&needle) {
        let at = from + i;
        let preceded_by_space = at > 0 && tag.as_bytes()[at - 1].is_ascii_whitespace();
        let value_start = at + needle.len();
        if preceded_by_space {
            let len = tag[value_start..].find('"')?;
            return Some(decode_entities(&tag[value_start..value_start + len]));
        }
        from = value_start;
    }
    None
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The error text of the provider's error page, else the page's start.
fn page_summary(body: &str) -> String {
    if let Some(i) = body.find("<pre id=\"op-error\">") {
        let from = i + "<pre id=\"op-error\">".len();
        let to = body[from..]
            .find("</pre>")
            .map(|e| from + e)
            .unwrap_or(body.len());
        return format!("provider error:\n{}", decode_entities(&body[from..to]));
    }
    let cut: String = body.chars().take(1500).collect();
    format!("body:\n{cut}")
}

fn encode_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
