//! The relying party under test, wired to one adversary case, and the steps of a
//! browser login against it.

use std::sync::Arc;

use axum_oidc_client::{
    AuthenticationLayer, MemoryStore, OAuthConfiguration, OAuthConfigurationBuilder,
};
use reqwest::{Response, StatusCode};

pub use crate::adversary::{
    Adversary, Behavior, CLIENT_ID, CLIENT_SECRET, Echo, Key, Seen, Sig, TokenReply,
};
pub use crate::app::{Browser, location, set_cookies};

pub const COOKIE_KEY: &str = "Ya1MKbYwuY7TEro/4nV2aWW5EW9e45x1oClUUbYZwAvoB96GWvjcMIiHEhPnjsIL";
pub const SESSION_COOKIE: &str = "axum_oidc_session";

/// Prints the library's debug logs when `RUST_LOG` is set.
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// The builder every relying party starts from: our client, the adversary's clock.
pub fn builder(adv: &Adversary, origin: &str) -> OAuthConfigurationBuilder {
    OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_client_secret(CLIENT_SECRET)
        .with_app_url(origin)
        .with_private_cookie_key(COOKIE_KEY)
        .with_clock(adv.clock().clone())
}

/// A running relying party: the test app of `support/app.rs` behind the layer.
pub struct Rp {
    pub origin: String,
    pub store: Arc<MemoryStore>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Rp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Rp {
    /// Discovers `issuer`, builds the configuration (`configure` runs before
    /// discovery), and serves the app with a memory store and the `layer` changes.
    pub async fn start(
        adv: &Adversary,
        issuer: &str,
        configure: impl FnOnce(OAuthConfigurationBuilder) -> OAuthConfigurationBuilder,
        layer: impl FnOnce(AuthenticationLayer) -> AuthenticationLayer,
    ) -> Self {
        init_tracing();
        let bound = crate::app::bind().await;
        let origin = bound.origin.clone();
        let config: OAuthConfiguration = configure(builder(adv, &origin))
            .with_issuer(issuer)
            .await
            .expect("discovery")
            .build()
            .expect("configuration");
        let store = Arc::new(MemoryStore::default());
        let shared: axum_oidc_client::store::SharedStore = store.clone();
        let server = crate::app::serve(bound, layer(crate::app::layer(config, shared)));
        Self {
            origin,
            store,
            server,
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.origin)
    }

    /// Live sessions in the store.
    pub async fn sessions(&self) -> u64 {
        self.store.session_count().await
    }
}

/// One adversary case and a relying party configured for it: most tests need no more.
pub struct Trial {
    pub adv: Adversary,
    pub case: &'static str,
    pub rp: Rp,
    pub browser: Browser,
}

impl Trial {
    pub async fn new(behavior: Behavior) -> Self {
        Self::with(behavior, |b| b).await
    }

    pub async fn with(
        behavior: Behavior,
        configure: impl FnOnce(OAuthConfigurationBuilder) -> OAuthConfigurationBuilder,
    ) -> Self {
        Self::with_layer(behavior, configure, |l| l).await
    }

    pub async fn with_layer(
        behavior: Behavior,
        configure: impl FnOnce(OAuthConfigurationBuilder) -> OAuthConfigurationBuilder,
        layer: impl FnOnce(AuthenticationLayer) -> AuthenticationLayer,
    ) -> Self {
        let adv = Adversary::start().await;
        let case = "case";
        let issuer = adv.case(case, behavior);
        let rp = Rp::start(&adv, &issuer, configure, layer).await;
        let browser = rp.browser();
        Self {
            adv,
            case,
            rp,
            browser,
        }
    }

    pub fn seen(&self) -> Seen {
        self.adv.seen(self.case)
    }

    pub fn update(&self, f: impl FnOnce(&mut Behavior)) {
        self.adv.update(self.case, f);
    }

    /// A full login of the trial's browser returning to `next`: the callback's answer.
    pub async fn login(&self, next: &str) -> Response {
        login(&self.browser, next).await
    }

    /// Logs in and asserts that a session was created.
    pub async fn login_ok(&self) {
        login_ok(&self.browser).await;
    }

    /// Logs in and asserts that the callback answers `status`, sets no session
    /// cookie, and that the browser stays anonymous.
    pub async fn login_is_refused(&self, status: StatusCode) -> Response {
        let r = self.login("/me").await;
        assert_eq!(r.status(), status, "callback status");
        assert!(
            !sets_session(&r),
            "a refused login must not set a session cookie: {:?}",
            set_cookies(&r)
        );
        assert_eq!(me(&self.browser).await, StatusCode::UNAUTHORIZED);
        assert_eq!(self.rp.sessions().await, 0, "no session may be stored");
        r
    }
}

/// Runs the browser through login: app → provider (auto-approves) → app callback.
pub async fn login(browser: &Browser, next: &str) -> Response {
    let authorization_url = browser.start_login(next).await;
    let approved = browser.get(&authorization_url).await;
    assert_eq!(
        approved.status(),
        StatusCode::SEE_OTHER,
        "the adversary's authorize endpoint redirects"
    );
    browser.finish_login(&location(&approved)).await
}

/// Logs in and asserts the session: 303 to `/me`, a session cookie, `/me` answers 200.
pub async fn login_ok(browser: &Browser) {
    let r = login(browser, "/me").await;
    let status = r.status();
    let cookies = set_cookies(&r);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "login must succeed: {}",
        r.text().await.unwrap_or_default()
    );
    assert!(
        cookies.iter().any(|c| is_session_cookie(c)),
        "a session cookie must be set: {cookies:?}"
    );
    assert_eq!(me(browser).await, StatusCode::OK);
}

fn is_session_cookie(set_cookie: &str) -> bool {
    set_cookie
        .strip_prefix(SESSION_COOKIE)
        .and_then(|rest| rest.strip_prefix('='))
        .is_some_and(|rest| !rest.starts_with(';') && !rest.is_empty())
}

/// Whether the response sets a (non-empty) session cookie.
pub fn sets_session(r: &Response) -> bool {
    set_cookies(r).iter().any(|c| is_session_cookie(c))
}

/// Status of `GET /me` (JSON, 401 when anonymous).
pub async fn me(browser: &Browser) -> StatusCode {
    browser.get("/me").await.status()
}

/// `GET /me`'s body; asserts 200.
pub async fn me_json(browser: &Browser) -> serde_json::Value {
    let r = browser.get("/me").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("JSON")
}
