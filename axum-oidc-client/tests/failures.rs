//! Failures that explain themselves: the page a browser gets, the JSON an API caller
//! gets, and the one log line the operator gets, for each class of failure.

#[path = "support/app.rs"]
mod app;
#[path = "support/faulty_store.rs"]
mod faulty_store;
#[path = "support/logs.rs"]
mod logs;

use std::sync::Arc;

use app::{Browser, bind, layer, location, memory, no_redirect_client, serve, set_cookies};
use axum::response::{Html, IntoResponse as _};
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{
    AuthenticationLayer, ErrorPage, FailureClass, OAuthConfiguration, OAuthConfigurationBuilder,
};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;

const SECRET: &str = "failures-client-secret";

async fn provider(redirect_origin: &str) -> RunningProvider {
    let client = ClientRegistration::confidential(
        "failures",
        SECRET,
        format!("{redirect_origin}/auth/callback"),
    );
    DevProvider::start(DevProviderConfig::default().with_client(client))
        .await
        .expect("dev provider")
}

async fn config(op: &RunningProvider, app_url: &str, secret: &str) -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id("failures")
        .with_client_secret(secret)
        .with_app_url(app_url)
        .with_issuer(op.issuer())
        .await
        .expect("discovery")
        .build()
        .expect("config")
}

struct Setup {
    _op: RunningProvider,
    origin: String,
    browser: Browser,
    _server: tokio::task::JoinHandle<()>,
}

async fn setup(
    secret: &str,
    store: SharedStore,
    tweak: impl FnOnce(AuthenticationLayer) -> AuthenticationLayer,
) -> Setup {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let op = provider(&origin).await;
    let cfg = config(&op, &origin, secret).await;
    let server = serve(bound, tweak(layer(cfg, store)));
    Setup {
        _op: op,
        browser: Browser::new(&origin),
        origin,
        _server: server,
    }
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A top-level navigation, as a browser sends it.
async fn navigate(browser: &Browser, method: reqwest::Method, path: &str) -> reqwest::Response {
    browser
        .client
        .request(method, format!("{}{path}", browser.origin))
        .header("accept", "text/html,application/xhtml+xml")
        .header("sec-fetch-mode", "navigate")
        .header("origin", &browser.origin)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_wrong_client_secret_shows_the_configuration_page_and_logs_invalid_client() {
    let logs = logs::capture();
    let s = setup("not-the-registered-secret", memory(), |l| l).await;
    let done = s.browser.login_as("alice", "/protected").await;
    let status = done.status();
    let cookies = set_cookies(&done);
    let body = done.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "the configuration page, not a 400 'start again': {body}"
    );
    assert!(!body.contains("start again"), "{body}");
    assert!(body.contains("client credentials"), "{body}");
    assert!(body.contains("operator"), "{body}");
    assert!(!body.contains("Sign in again"), "no new-login link: {body}");
    assert!(
        cookies.iter().all(|c| !c.starts_with("axum_oidc_session=")),
        "{cookies:?}"
    );

    let lines = logs.library_lines_with("invalid_client");
    assert_eq!(lines.len(), 1, "logged once: {:#?}", logs.lines());
    let line = &lines[0];
    eprintln!("{line}");
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("reason=\"invalid_client\"") || line.contains("reason=invalid_client"),
        "{line}"
    );
    assert!(
        line.contains("token endpoint refused the client: invalid_client: "),
        "the cause chain with the provider's error_description: {line}"
    );
    assert!(!line.contains("not-the-registered-secret"), "{line}");
}

#[tokio::test]
async fn a_login_started_on_another_host_is_sent_to_app_url_and_then_succeeds() {
    let logs = logs::capture();
    let bound = bind().await;
    let on_ip = bound.origin.clone();
    let port = on_ip.rsplit(':').next().unwrap().to_owned();
    let app_url = format!("http://localhost:{port}");
    let op = provider(&app_url).await;
    let cfg = config(&op, &app_url, SECRET).await;
    let _server = serve(bound, layer(cfg, memory()));

    let browser = Browser::new(&on_ip);
    let r = browser.get("/auth/login?next=%2Fprotected").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to_app = location(&r);
    assert_eq!(
        to_app,
        format!("{app_url}/auth/login?next=%2Fprotected&host_checked=1"),
        "the same path and query on APP_URL's origin"
    );
    assert!(
        set_cookies(&r).is_empty(),
        "no login cookie on the wrong host"
    );
    let warned = logs.library_lines_with("host_mismatch");
    assert_eq!(warned.len(), 1, "{:#?}", logs.lines());
    eprintln!("{}", warned[0]);
    assert!(warned[0].contains("WARN"), "{}", warned[0]);
    assert!(
        warned[0].contains(&format!("127.0.0.1:{port}")),
        "{}",
        warned[0]
    );
    assert!(
        warned[0].contains(&format!("localhost:{port}")),
        "{}",
        warned[0]
    );

    // The browser follows the redirect and logs in on APP_URL's host.
    let browser = Browser::new(&app_url);
    let r = browser.get(&to_app).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let authorize = location(&r);
    assert!(authorize.starts_with(op.issuer()), "{authorize}");
    let back = no_redirect_client()
        .get(format!("{authorize}&login_hint=alice"))
        .send()
        .await
        .unwrap();
    let done = browser.finish_login(&location(&back)).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/protected");
    assert_eq!(browser.get("/protected").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_store_outage_gives_browsers_an_html_503_and_api_calls_json_at_every_endpoint() {
    let flaky = faulty_store::FaultyStore::new(memory());
    let s = setup(SECRET, Arc::new(flaky.clone()), |l| l).await;
    assert_eq!(
        s.browser.login_as("alice", "/").await.status(),
        StatusCode::SEE_OTHER
    );
    flaky.set_down(true);

    // Logout from a page of the application, and from script.
    let page = navigate(&s.browser, reqwest::Method::POST, "/auth/logout").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.headers().contains_key("retry-after"));
    assert!(
        content_type(&page).starts_with("text/html"),
        "{}",
        content_type(&page)
    );
    assert!(page.text().await.unwrap().contains("try again shortly"));
    let api = s
        .browser
        .client
        .post(format!("{}/auth/logout", s.origin))
        .header("origin", &s.origin)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(api.headers().contains_key("retry-after"));
    assert_eq!(content_type(&api), "application/json");
    assert_eq!(
        api.text().await.unwrap(),
        r#"{"error":"temporarily_unavailable"}"#
    );

    // A login that comes back while the store is down.
    let other = Browser::new(&s.origin);
    let done = other.login_as("bob", "/").await;
    assert_eq!(done.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(done.headers().contains_key("retry-after"));
    assert!(content_type(&done).starts_with("text/html"));
}

#[tokio::test]
async fn a_wrong_method_on_a_library_route_is_a_page_for_a_browser_and_json_for_script() {
    let s = setup(SECRET, memory(), |l| l).await;
    let page = navigate(&s.browser, reqwest::Method::GET, "/auth/logout").await;
    assert_eq!(page.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(page.headers()["allow"], "POST");
    assert!(
        content_type(&page).starts_with("text/html"),
        "{}",
        content_type(&page)
    );
    let api = s.browser.get_json("/auth/logout").await;
    assert_eq!(api.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        api.text().await.unwrap(),
        r#"{"error":"method_not_allowed"}"#
    );
}

#[tokio::test]
async fn a_replayed_callback_offers_a_new_login_to_the_same_next_and_is_logged_once() {
    let logs = logs::capture();
    let s = setup(SECRET, memory(), |l| l).await;
    let auth = s.browser.start_login("/protected?x=1").await;
    let back = no_redirect_client()
        .get(format!("{auth}&login_hint=alice"))
        .send()
        .await
        .unwrap();
    let callback = location(&back);
    assert_eq!(
        s.browser.finish_login(&callback).await.status(),
        StatusCode::SEE_OTHER
    );
    // The same callback again: the login cookie is gone, so `next` is unknown.
    let again = s.browser.get(&callback).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let body = again.text().await.unwrap();
    assert!(
        body.contains("href=\"/auth/login?next=%2F\""),
        "a link that starts a new login: {body}"
    );
    let warned = logs.library_lines_with("login callback failed");
    assert_eq!(warned.len(), 1, "{:#?}", logs.lines());
    assert!(warned[0].contains("WARN"), "{}", warned[0]);
    assert!(warned[0].contains("state_mismatch"), "{}", warned[0]);

    let api = s
        .browser
        .client
        .get(&callback)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api.text().await.unwrap(), r#"{"error":"login_failed"}"#);
}

#[tokio::test]
async fn a_declined_login_links_to_a_new_login_to_the_same_next() {
    let s = setup(SECRET, memory(), |l| l).await;
    let auth = s.browser.start_login("/protected?x=1").await;
    let back = no_redirect_client()
        .get(format!("{auth}&login_hint=alice"))
        .send()
        .await
        .unwrap();
    // The provider reports that the user declined, for this browser's `state`.
    let callback = url::Url::parse(&location(&back)).unwrap();
    let mut declined = callback.clone();
    declined
        .query_pairs_mut()
        .clear()
        .extend_pairs(callback.query_pairs().filter(|(k, _)| k != "code"))
        .append_pair("error", "access_denied");
    let denied = s.browser.get(declined.as_str()).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let body = denied.text().await.unwrap();
    assert!(body.contains("Sign-in cancelled"), "{body}");
    assert!(
        body.contains("href=\"/auth/login?next=%2Fprotected%3Fx%3D1\""),
        "a new login to the same next: {body}"
    );
}

#[tokio::test]
async fn an_error_pages_hook_replaces_the_callback_page_and_the_extractors_503() {
    let flaky = faulty_store::FaultyStore::new(memory());
    let s = setup(SECRET, Arc::new(flaky.clone()), |l| {
        l.with_error_pages(|page: &ErrorPage| {
            let class = match page.class {
                FailureClass::User => "user",
                FailureClass::Configuration => "configuration",
                _ => "outage",
            };
            (
                page.status,
                Html(format!(
                    "custom {class} {} retry={}",
                    page.reason,
                    page.retry.as_deref().unwrap_or("-")
                )),
            )
                .into_response()
        })
    })
    .await;
    let forged = s.browser.get("/auth/callback?state=forged&code=x").await;
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        forged.text().await.unwrap(),
        "custom user state_mismatch retry=/auth/login?next=%2F"
    );

    // A signed-in browser while the store is down.
    assert_eq!(
        s.browser.login_as("alice", "/").await.status(),
        StatusCode::SEE_OTHER
    );
    flaky.set_down(true);
    let page = navigate(&s.browser, reqwest::Method::GET, "/").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.headers().contains_key("retry-after"),
        "kept on a replaced page"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(
        page.text().await.unwrap(),
        "custom outage session_unavailable retry=-"
    );
    // API callers keep the JSON.
    let api = s.browser.get_json("/me").await;
    assert_eq!(
        api.text().await.unwrap(),
        r#"{"error":"temporarily_unavailable"}"#
    );
}
