//! Metrics and audit events of full flows against the embedded provider: a login, a
//! shared refresh, a refused refresh, each kind of logout.
//!
//! Each test runs on one thread (`#[tokio::test]`'s current-thread runtime: the app,
//! the provider and the client all run on it), with a metrics recorder of its own for
//! that thread and the capture of that thread's log lines.

#[path = "support/app.rs"]
mod app;
#[path = "support/logs.rs"]
mod logs;

use std::collections::HashMap;
use std::time::Duration;

use app::{Browser, bind, location, memory, serve, set_cookies};
use axum_oidc_client::{AuthenticationLayer, OAuthConfiguration, OAuthConfigurationBuilder};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;

const SECRET: &str = "observe-client-secret";
const AUDIT: &str = "axum_oidc_client::audit";

/// The metrics and the log lines of this thread while it lives.
struct Observed {
    snapshotter: Snapshotter,
    counters: HashMap<String, u64>,
    logs: logs::Logs,
    _metrics: metrics::LocalRecorderGuard<'static>,
}

impl Observed {
    fn start() -> Self {
        let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
        Self {
            snapshotter: recorder.snapshotter(),
            counters: HashMap::new(),
            logs: logs::capture(),
            _metrics: metrics::set_default_local_recorder(recorder),
        }
    }

    /// A counter's value, `name{k="v",...}` with the labels in recording order.
    fn counter(&mut self, name: &str, labels: &[(&str, &str)]) -> u64 {
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            let (kind, key) = key.into_parts();
            if let (MetricKind::Counter, DebugValue::Counter(n)) = (kind, value) {
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={:?}", l.key(), l.value()))
                    .collect();
                let id = format!("{}{{{}}}", key.name(), labels.join(","));
                *self.counters.entry(id).or_default() += n;
            }
        }
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        let id = format!("{name}{{{}}}", labels.join(","));
        self.counters.get(&id).copied().unwrap_or(0)
    }

    fn lines(&self) -> Vec<String> {
        self.logs.lines()
    }

    /// The log lines that contain every one of `parts`.
    fn matching(&self, parts: &[&str]) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .collect()
    }
}

fn client(origin: &str) -> ClientRegistration {
    ClientRegistration::confidential("observe", SECRET, format!("{origin}/auth/callback"))
        .with_post_logout_redirect_uri(format!("{origin}/auth/logout/callback"))
}

/// The provider of most tests: the client, without a back-channel logout URI.
fn default_provider(origin: &str) -> DevProviderConfig {
    DevProviderConfig::default().with_client(client(origin))
}

async fn config(issuer: &str, origin: &str) -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id("observe")
        .with_client_secret(SECRET)
        .with_app_url(origin)
        .with_scopes(["openid", "profile", "offline_access"])
        .with_refresh_margin(Duration::from_secs(1))
        .with_issuer(issuer)
        .await
        .expect("discovery")
        .build()
        .expect("config")
}

/// An app behind the layer `make` builds, with the embedded provider.
async fn start(
    provider: impl FnOnce(&str) -> DevProviderConfig,
    make: impl FnOnce(OAuthConfiguration) -> AuthenticationLayer,
) -> (RunningProvider, Browser, tokio::task::JoinHandle<()>) {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = DevProvider::start(provider(&origin))
        .await
        .expect("dev provider");
    let layer = make(config(op.issuer(), &origin).await);
    let server = serve(bound, layer);
    (op, Browser::new(&origin), server)
}

fn default_layer(c: OAuthConfiguration) -> AuthenticationLayer {
    AuthenticationLayer::with_store(c, memory())
}

#[tokio::test]
async fn a_login_is_counted_and_audited_with_sub_and_iss_and_no_secret() {
    let mut seen = Observed::start();
    let (op, browser, _server) = start(default_provider, default_layer).await;
    let done = browser.login_as("alice", "/").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookies(&done)
        .into_iter()
        .find_map(|c| {
            c.strip_prefix("axum_oidc_session=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .expect("session cookie");
    let access_token = browser.get("/token").await.text().await.unwrap();

    assert_eq!(
        seen.counter("axum_oidc_logins_total", &[("outcome", "success")]),
        1
    );
    let audit = seen.matching(&[AUDIT, "event=\"login\""]);
    assert_eq!(audit.len(), 1, "{:#?}", seen.lines());
    let line = &audit[0];
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("sub=\"user-alice\""), "{line}");
    assert!(line.contains(&format!("iss=\"{}\"", op.issuer())), "{line}");
    let session = line
        .split("session=")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .expect("a session reference");
    assert!(
        session.len() == 16 && session.chars().all(|c| c.is_ascii_hexdigit()),
        "{line}"
    );
    for secret in [cookie.as_str(), access_token.as_str(), SECRET] {
        assert!(
            !seen.lines().iter().any(|l| l.contains(secret)),
            "a secret reached the logs"
        );
    }
}

#[tokio::test]
async fn a_local_logout_is_counted_and_audited() {
    let mut seen = Observed::start();
    let (_op, browser, _server) = start(default_provider, default_layer).await;
    browser.login_as("alice", "/").await;
    let r = browser.logout().await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    assert_eq!(
        seen.counter("axum_oidc_logouts_total", &[("kind", "local")]),
        1
    );
    assert_eq!(
        seen.counter("axum_oidc_logouts_total", &[("kind", "rp_initiated")]),
        0
    );
    let login = seen.matching(&[AUDIT, "event=\"login\""]);
    let logout = seen.matching(&[AUDIT, "event=\"logout\"", "kind=\"local\""]);
    assert_eq!(logout.len(), 1, "{:#?}", seen.lines());
    assert!(logout[0].contains("sub=\"user-alice\""), "{}", logout[0]);
    // The same session reference as at login.
    let reference = |l: &str| l.split("session=").nth(1).unwrap().to_owned();
    assert_eq!(reference(&logout[0]), reference(&login[0]));
    // Signing out again without a session ends nothing and counts nothing.
    browser.logout().await;
    assert_eq!(
        seen.counter("axum_oidc_logouts_total", &[("kind", "local")]),
        1
    );
}

#[tokio::test]
async fn an_rp_initiated_logout_is_counted_and_audited() {
    let mut seen = Observed::start();
    let (op, browser, _server) = start(default_provider, |c| {
        default_layer(c).with_logout_handler(axum_oidc_client::OidcLogoutHandler)
    })
    .await;
    browser.login_as("alice", "/").await;
    let r = browser.logout().await;
    assert!(location(&r).starts_with(op.issuer()), "{}", location(&r));
    assert_eq!(
        seen.counter("axum_oidc_logouts_total", &[("kind", "rp_initiated")]),
        1
    );
    assert_eq!(
        seen.counter("axum_oidc_logouts_total", &[("kind", "local")]),
        0
    );
    let logout = seen.matching(&[AUDIT, "event=\"logout\"", "kind=\"rp_initiated\""]);
    assert_eq!(logout.len(), 1, "{:#?}", seen.lines());
}

#[tokio::test]
async fn a_backchannel_logout_is_counted_and_audited() {
    let mut seen = Observed::start();
    let (op, browser, _server) = start(
        |origin| {
            DevProviderConfig::default().with_client(
                client(origin)
                    .with_backchannel_logout_uri(format!("{origin}/auth/backchannel-logout")),
            )
        },
        default_layer,
    )
    .await;
    browser.login_as("alice", "/").await;
    assert_eq!(
        op.logout_subject("user-alice").await,
        1,
        "logout token delivered"
    );
    assert_eq!(
        browser.get_json("/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        seen.counter("axum_oidc_logouts_total", &[("kind", "backchannel")]),
        1
    );
    let audit = seen.matching(&[AUDIT, "event=\"backchannel_logout\""]);
    assert_eq!(audit.len(), 1, "{:#?}", seen.lines());
    assert!(audit[0].contains("sessions=1"), "{}", audit[0]);
    assert!(
        audit[0].contains(&format!("iss=\"{}\"", op.issuer())),
        "{}",
        audit[0]
    );
}

/// Holds every `refresh_token` grant at the provider's token endpoint for a while, so
/// that concurrent requests pile up behind the first refresh.
async fn slow_refresh(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let form = axum::body::to_bytes(body, 64 * 1024).await.unwrap();
    if url::form_urlencoded::parse(&form).any(|(k, v)| k == "grant_type" && v == "refresh_token") {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    next.run(axum::extract::Request::from_parts(parts, form.into()))
        .await
}

#[tokio::test]
async fn requests_that_join_a_refresh_are_counted_as_shared() {
    let mut seen = Observed::start();
    let bound = bind().await;
    let origin = bound.origin.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let provider_config = DevProviderConfig::default()
        .with_client(client(&origin))
        .with_access_token_ttl(Duration::from_secs(2));
    let state = {
        let issuer = issuer.clone();
        tokio::task::spawn_blocking(move || {
            oidc_dev_provider::ProviderState::new(provider_config, &issuer)
        })
        .await
        .unwrap()
        .unwrap()
    };
    let provider_app =
        oidc_dev_provider::router(state.clone()).layer(axum::middleware::from_fn(slow_refresh));
    let _provider = tokio::spawn(async move {
        let _ = axum::serve(listener, provider_app).await;
    });
    let _server = serve(bound, default_layer(config(&issuer, &origin).await));
    let browser = Browser::new(&origin);
    browser.login_as("alice", "/").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answers = futures_util::future::join_all((0..4).map(|_| browser.get_json("/token"))).await;
    assert!(answers.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(state.stats().refresh_grants, 1);
    assert_eq!(
        seen.counter("axum_oidc_refreshes_total", &[("outcome", "success")]),
        1
    );
    assert_eq!(
        seen.counter("axum_oidc_refreshes_total", &[("outcome", "shared")]),
        3
    );
}

#[tokio::test]
async fn a_refused_refresh_is_counted_logged_once_and_audited() {
    let mut seen = Observed::start();
    // No back-channel logout URI: only the refresh notices the revoked grant.
    let (op, browser, _server) = start(
        |origin| default_provider(origin).with_access_token_ttl(Duration::from_secs(2)),
        default_layer,
    )
    .await;
    browser.login_as("alice", "/").await;
    op.state().logout_subject("user-alice").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answers = futures_util::future::join_all((0..3).map(|_| browser.get_json("/me"))).await;
    assert!(
        answers
            .iter()
            .all(|r| r.status() == StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        seen.counter("axum_oidc_refreshes_total", &[("outcome", "invalid_grant")]),
        1
    );
    let warned = seen.matching(&[
        " WARN ",
        "session refresh failed",
        "reason=\"invalid_grant\"",
    ]);
    let logged: Vec<_> = warned.iter().filter(|l| !l.contains(AUDIT)).collect();
    assert_eq!(logged.len(), 1, "{:#?}", seen.lines());
    assert!(logged[0].contains("error="), "{}", logged[0]);
    let audit = seen.matching(&[AUDIT, "event=\"refresh_failed\"", "sub=\"user-alice\""]);
    assert_eq!(audit.len(), 1, "{:#?}", seen.lines());
}

#[tokio::test]
async fn a_logout_through_an_applications_own_handler_is_counted_and_audited() {
    struct Goodbye;
    #[axum_oidc_client::async_trait]
    impl axum_oidc_client::LogoutHandler for Goodbye {
        async fn handle_logout(
            &self,
            _: axum_oidc_client::LogoutContext<'_>,
        ) -> axum::response::Response {
            axum::response::IntoResponse::into_response(axum::response::Redirect::to("/bye"))
        }
    }
    let mut seen = Observed::start();
    let (_op, browser, _server) = start(default_provider, |c| {
        default_layer(c).with_logout_handler(Goodbye)
    })
    .await;
    browser.login_as("alice", "/").await;
    let r = browser.logout().await;
    assert_eq!(location(&r), "/bye");
    assert_eq!(
        seen.counter("axum_oidc_logouts_total", &[("kind", "local")]),
        1
    );
    let logout = seen.matching(&[AUDIT, "event=\"logout\"", "kind=\"local\""]);
    assert_eq!(logout.len(), 1, "{:#?}", seen.lines());
}
