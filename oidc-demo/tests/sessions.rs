//! "Your sessions" across a fleet: two `oidc-demo` processes over one shared store and
//! one cookie key, the embedded development provider, and two browsers (cookie jars)
//! signed in as the same user. Ending one browser's session from `/sessions` on A
//! signs it out on B too and leaves the other browser signed in; "Sign out everywhere"
//! ends both, on both instances.

use std::process::Stdio;
use std::time::{Duration, Instant};

use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use tokio::process::{Child, Command};

const SECRET: &str = "sessions-fleet-client-secret";
const COOKIE_KEY: &str = "q0c8xWJ0m6bH2v4C3kqZ1y7l5pT9sR8eN2aF4dG6hJ1kL3zX5cV7bN9mQ2wE4rT6";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The store URL from the environment, or `None` (skipped locally, a failure in CI).
fn store_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false") => {
            panic!("{var} must be set in CI")
        }
        _ => {
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

struct Demo {
    _child: Child,
    origin: String,
}

impl Demo {
    async fn start(port: u16, env: &[(String, String)]) -> Demo {
        let origin = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_oidc-demo"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("APP_URL", &origin)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn oidc-demo");
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        while http.get(format!("{origin}/healthz")).send().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "oidc-demo did not start on {origin}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Demo {
            _child: child,
            origin,
        }
    }
}

struct Fleet {
    _op: RunningProvider,
    a: Demo,
    b: Demo,
}

/// The provider and two instances over `store`, with `extra` settings.
async fn fleet(store: &str, extra: &[(&str, &str)]) -> Fleet {
    let (pa, pb) = (free_port(), free_port());
    let (a, b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    let client = ClientRegistration::confidential("demo", SECRET, format!("{a}/auth/callback"))
        .with_redirect_uri(format!("{b}/auth/callback"));
    let op = DevProvider::start(DevProviderConfig::default().with_client(client))
        .await
        .expect("dev provider");
    let env: Vec<(String, String)> = [
        ("OIDC_ISSUER", op.issuer()),
        ("OIDC_CLIENT_ID", "demo"),
        ("OIDC_CLIENT_SECRET", SECRET),
        ("OIDC_SCOPES", "openid profile offline_access"),
        ("SESSION_STORE", store),
        ("COOKIE_KEY", COOKIE_KEY),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let (da, db) = tokio::join!(Demo::start(pa, &env), Demo::start(pb, &env));
    Fleet {
        _op: op,
        a: da,
        b: db,
    }
}

/// A browser: its own cookie jar and `User-Agent`, no redirects followed.
fn browser(agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(agent)
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Signs `browser` in as `user` on `demo`, through the provider's `login_hint`.
async fn login(browser: &reqwest::Client, demo: &Demo, user: &str) {
    let r = browser
        .get(format!("{}/auth/login?next=/", demo.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let provider = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = provider
        .get(format!("{}&login_hint={user}", location(&r)))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection(),
        "provider answered {}",
        r.status()
    );
    let done = browser.get(location(&r)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "login of {user}");
}

async fn me(browser: &reqwest::Client, demo: &Demo) -> StatusCode {
    browser
        .get(format!("{}/me", demo.origin))
        .send()
        .await
        .unwrap()
        .status()
}

/// Waits until `browser` is signed out on `demo`, at most `bound` (zero: at once).
async fn signed_out_within(browser: &reqwest::Client, demo: &Demo, bound: Duration, who: &str) {
    let since = Instant::now();
    loop {
        match me(browser, demo).await {
            StatusCode::UNAUTHORIZED => return,
            StatusCode::OK => assert!(
                since.elapsed() <= bound,
                "{} still serves {who}'s ended session after {:?}",
                demo.origin,
                since.elapsed()
            ),
            other => panic!("/me answered {other}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The rows of `/sessions`: (id, current) in page order.
async fn sessions_page(browser: &reqwest::Client, demo: &Demo) -> Vec<(String, bool)> {
    let r = browser
        .get(format!("{}/sessions", demo.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    html.split(r#"<tr class="session" data-id=""#)
        .skip(1)
        .map(|row| {
            let (id, rest) = row.split_once('"').unwrap();
            (id.to_owned(), rest.starts_with(r#" data-current="true""#))
        })
        .collect()
}

async fn post(
    browser: &reqwest::Client,
    demo: &Demo,
    path: &str,
    origin: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post(format!("{}{path}", demo.origin))
        .header("origin", origin)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The whole story on one store; `bound` is how long the other instance may still
/// serve an ended session (zero for a plain shared store, or a local tier with a
/// working invalidation channel).
async fn sessions_end_on_every_instance(store: &str, extra: &[(&str, &str)], bound: Duration) {
    let f = fleet(store, extra).await;
    // A user agent is the browser's to choose: the page must escape it.
    let (laptop, phone) = (
        browser("laptop-browser/1.0"),
        browser("phone-browser/2.0 <img src=x onerror=alert(1)>"),
    );
    login(&laptop, &f.a, "alice").await;
    login(&phone, &f.b, "alice").await;
    // Both work on both instances (and sit in each one's local tier, if any).
    for demo in [&f.a, &f.b] {
        assert_eq!(me(&laptop, demo).await, StatusCode::OK);
        assert_eq!(me(&phone, demo).await, StatusCode::OK);
    }

    // The page on A lists both, this browser first, with the user agents.
    let rows = sessions_page(&laptop, &f.a).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].1 && !rows[1].1, "{rows:?}");
    let html = laptop
        .get(format!("{}/sessions", f.a.origin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("laptop-browser/1.0") && html.contains("phone-browser/2.0"));
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"), "the user agent is escaped");
    assert_eq!(sessions_page(&phone, &f.b).await.len(), 2);

    // A form posted from another origin (even B's) ends nothing.
    let forged = post(&laptop, &f.a, "/sessions/end-all", &f.b.origin, &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&laptop, &f.a).await, StatusCode::OK);

    // Ending the phone's session from the laptop, on A.
    let phone_id = rows[1].0.clone();
    let r = post(
        &laptop,
        &f.a,
        "/sessions/end",
        &f.a.origin,
        &[("id", &phone_id)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/sessions");
    signed_out_within(&phone, &f.b, bound, "the phone").await;
    assert_eq!(me(&phone, &f.a).await, StatusCode::UNAUTHORIZED);
    for demo in [&f.a, &f.b] {
        assert_eq!(me(&laptop, demo).await, StatusCode::OK, "the laptop stays");
    }
    let rows = sessions_page(&laptop, &f.b).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].1);

    // The phone signs in again, then signs out everywhere from B.
    login(&phone, &f.b, "alice").await;
    for demo in [&f.a, &f.b] {
        assert_eq!(me(&phone, demo).await, StatusCode::OK);
    }
    let r = post(&phone, &f.b, "/sessions/end-all", &f.b.origin, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    assert_eq!(me(&phone, &f.b).await, StatusCode::UNAUTHORIZED);
    signed_out_within(&laptop, &f.a, bound, "the laptop").await;
    signed_out_within(&laptop, &f.b, bound, "the laptop").await;
    signed_out_within(&phone, &f.a, bound, "the phone").await;
}

#[tokio::test]
async fn sessions_end_on_both_instances_through_redis() {
    let Some(url) = store_url("AXUM_OIDC_TEST_REDIS_URL") else {
        return;
    };
    sessions_end_on_every_instance(&url, &[], Duration::ZERO).await;
}

#[tokio::test]
async fn sessions_end_on_both_instances_through_postgres() {
    let Some(url) = store_url("AXUM_OIDC_TEST_POSTGRES_URL") else {
        return;
    };
    sessions_end_on_every_instance(&url, &[], Duration::ZERO).await;
}

/// With a five-minute local tier, only the invalidation channel can end the session
/// on the other instance in time.
#[tokio::test]
async fn sessions_end_on_both_instances_through_tiered_redis_with_a_long_local_ttl() {
    let Some(url) = store_url("AXUM_OIDC_TEST_REDIS_URL") else {
        return;
    };
    sessions_end_on_every_instance(
        &format!("tiered+{url}"),
        &[("SESSION_LOCAL_TTL_SECS", "300")],
        Duration::from_secs(2),
    )
    .await;
}
