//! A user's sessions over real HTTP against the embedded provider: the
//! [`UserSessions`] extractor behind demo-style routes (a JSON list, `POST` forms to
//! end one session or all of them, guarded by [`SameOrigin`]), and the layer's
//! [`UserSessionsAdmin`](axum_oidc_client::UserSessionsAdmin).
//!
//! Each test runs on one thread (current-thread runtime), so the metrics recorder
//! and the log capture of that thread see everything the app does.

#[path = "support/app.rs"]
mod app;
#[path = "support/faulty_store.rs"]
mod faulty_store;
#[path = "support/logs.rs"]
mod logs;

use std::sync::Arc;
use std::time::Duration;

use app::{Browser, bind, location, memory, set_cookies};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{
    AuthRejection, AuthSession, AuthenticationLayer, OAuthConfigurationBuilder, SameOrigin,
    SessionInfo, UnauthenticatedBehavior, UserSessions,
};
use faulty_store::FaultyStore;
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;

const SECRET: &str = "sessions-client-secret";

#[derive(serde::Deserialize)]
struct End {
    id: String,
}

/// The demo's routes, with a JSON list instead of the HTML page.
fn routes() -> Router {
    async fn list(sessions: UserSessions) -> Result<Json<Vec<SessionInfo>>, AuthRejection> {
        Ok(Json(sessions.list().await?))
    }
    async fn end(
        _: SameOrigin,
        sessions: UserSessions,
        Form(form): Form<End>,
    ) -> Result<Response, AuthRejection> {
        let current = form.id == sessions.current_id();
        let ended = sessions.end(&form.id).await?;
        let to = if ended && current { "/" } else { "/sessions" };
        Ok(Redirect::to(to).into_response())
    }
    async fn end_all(_: SameOrigin, sessions: UserSessions) -> Result<Redirect, AuthRejection> {
        sessions.end_all().await?;
        Ok(Redirect::to("/"))
    }
    Router::new()
        .route("/sessions", get(list))
        .route("/sessions/end", post(end))
        .route("/sessions/end-all", post(end_all))
        .route(
            "/me",
            get(|s: AuthSession| async move { s.sub().unwrap_or_default().to_owned() }),
        )
        .layer(Extension(UnauthenticatedBehavior::Unauthorized))
}

struct Setup {
    op: RunningProvider,
    origin: String,
    layer: AuthenticationLayer,
    _server: tokio::task::JoinHandle<()>,
}

async fn setup_with(store: SharedStore) -> Setup {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let client =
        ClientRegistration::confidential("sessions", SECRET, format!("{origin}/auth/callback"));
    let op = DevProvider::start(DevProviderConfig::default().with_client(client))
        .await
        .expect("dev provider");
    let config = OAuthConfigurationBuilder::default()
        .with_client_id("sessions")
        .with_client_secret(SECRET)
        .with_app_url(&origin)
        .with_scopes(["openid", "profile", "offline_access"])
        .with_issuer(op.issuer())
        .await
        .expect("discovery")
        .build()
        .expect("config");
    let layer = AuthenticationLayer::with_store(config, store);
    let app = routes().layer(layer.clone());
    let listener = bound.listener;
    let server = tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Setup {
        op,
        origin,
        layer,
        _server: server,
    }
}

async fn setup() -> Setup {
    setup_with(memory()).await
}

impl Setup {
    /// A new browser (its own cookie jar and `User-Agent`) signed in as `user`.
    async fn signed_in(&self, user: &str, agent: &str) -> Browser {
        let browser = Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(agent)
                .build()
                .unwrap(),
            origin: self.origin.clone(),
        };
        let done = browser.login_as(user, "/me").await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "login of {user}");
        assert!(signed_in(&browser).await, "{user} is signed in");
        browser
    }
}

async fn signed_in(b: &Browser) -> bool {
    let r = b.get("/me").await;
    match r.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("/me answered {other}"),
    }
}

async fn sessions(b: &Browser) -> Vec<serde_json::Value> {
    let r = b.get_json("/sessions").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn ids(list: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = list
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The id of this browser's own session.
async fn own_id(b: &Browser) -> String {
    let list = sessions(b).await;
    let mine: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(mine.len(), 1, "exactly one current session: {list:?}");
    mine[0]["id"].as_str().unwrap().to_owned()
}

async fn post_form(
    b: &Browser,
    path: &str,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = b.client.post(format!("{}{path}", b.origin)).form(form);
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    req.send().await.expect("request")
}

async fn end(b: &Browser, id: &str) -> reqwest::Response {
    post_form(b, "/sessions/end", Some(&b.origin), &[("id", id)]).await
}

async fn end_all(b: &Browser) -> reqwest::Response {
    post_form(b, "/sessions/end-all", Some(&b.origin), &[]).await
}

#[tokio::test]
async fn two_browsers_of_one_user_each_see_both_sessions_and_no_other_users() {
    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop-browser/1.0").await;
    let phone = s.signed_in("alice", "phone-browser/2.0").await;
    let bob = s.signed_in("bob", "bob-browser/3.0").await;

    let from_laptop = sessions(&laptop).await;
    let from_phone = sessions(&phone).await;
    assert_eq!(from_laptop.len(), 2, "{from_laptop:?}");
    assert_eq!(ids(&from_laptop), ids(&from_phone));
    // This browser's session comes first, marked, with its user agent.
    assert_eq!(from_laptop[0]["current"], true);
    assert_eq!(from_laptop[0]["user_agent"], "laptop-browser/1.0");
    assert_eq!(from_laptop[1]["current"], false);
    assert_eq!(from_laptop[1]["user_agent"], "phone-browser/2.0");
    assert_eq!(from_phone[0]["user_agent"], "phone-browser/2.0");
    assert_ne!(own_id(&laptop).await, own_id(&phone).await);
    for s in &from_laptop {
        assert!(s["created_at"].is_string() && s["last_seen"].is_string());
    }

    let from_bob = sessions(&bob).await;
    assert_eq!(from_bob.len(), 1);
    assert_eq!(from_bob[0]["user_agent"], "bob-browser/3.0");
    assert!(!ids(&from_laptop).contains(&own_id(&bob).await));
}

#[tokio::test]
async fn the_ids_are_not_the_session_cookie_nor_its_store_key() {
    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop").await;
    let listed = serde_json::to_string(&sessions(&laptop).await).unwrap();
    // Log in once more to read the cookie value the browser holds.
    let done = laptop.login_as("alice", "/").await;
    let cookie = set_cookies(&done)
        .into_iter()
        .find(|c| c.starts_with("axum_oidc_session="))
        .unwrap();
    let value = cookie["axum_oidc_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    let listed_now = serde_json::to_string(&sessions(&laptop).await).unwrap();
    assert!(!listed.contains(value) && !listed_now.contains(value));
}

#[tokio::test]
async fn ending_one_session_leaves_the_other_signed_in() {
    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop").await;
    let phone = s.signed_in("alice", "phone").await;
    let phone_id = own_id(&phone).await;

    let r = end(&laptop, &phone_id).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/sessions");
    assert!(
        !set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=")),
        "the laptop keeps its cookie"
    );
    assert!(!signed_in(&phone).await, "the phone is signed out");
    assert!(signed_in(&laptop).await, "the laptop is not");
    let left = sessions(&laptop).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    // Ending it again ends nothing.
    let again = end(&laptop, &phone_id).await;
    assert_eq!(location(&again), "/sessions");
    assert!(signed_in(&laptop).await);
}

#[tokio::test]
async fn ending_the_current_session_signs_this_browser_out() {
    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop").await;
    let phone = s.signed_in("alice", "phone").await;

    let r = end(&laptop, &own_id(&laptop).await).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=") && c.contains("Max-Age=0")),
        "the session cookie is deleted: {:?}",
        set_cookies(&r)
    );
    assert!(!signed_in(&laptop).await);
    assert!(signed_in(&phone).await);
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user_and_no_one_elses() {
    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop").await;
    let phone = s.signed_in("alice", "phone").await;
    let bob = s.signed_in("bob", "bob").await;

    let r = end_all(&laptop).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=") && c.contains("Max-Age=0"))
    );
    assert!(!signed_in(&laptop).await);
    assert!(!signed_in(&phone).await);
    assert!(signed_in(&bob).await, "another user's session is untouched");
    assert_eq!(sessions(&bob).await.len(), 1);
}

#[tokio::test]
async fn an_id_of_another_users_session_ends_nothing() {
    let s = setup().await;
    let alice = s.signed_in("alice", "alice").await;
    let bob = s.signed_in("bob", "bob").await;
    let bobs = own_id(&bob).await;

    let r = end(&alice, &bobs).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/sessions");
    assert!(signed_in(&bob).await);
    assert!(signed_in(&alice).await);
    // Nor does garbage.
    for junk in ["", "x", &"A".repeat(22), &bobs[..21]] {
        end(&alice, junk).await;
    }
    assert!(signed_in(&bob).await && signed_in(&alice).await);
}

#[tokio::test]
async fn a_cross_origin_post_is_refused_with_403_and_ends_nothing() {
    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop").await;
    let id = own_id(&laptop).await;

    let forged = post_form(
        &laptop,
        "/sessions/end-all",
        Some("https://evil.example"),
        &[],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let forged = post_form(&laptop, "/sessions/end", Some("null"), &[("id", &id)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // No Origin and no Fetch Metadata: nothing vouches for the request.
    let bare = post_form(&laptop, "/sessions/end", None, &[("id", &id)]).await;
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let cross = laptop
        .client
        .post(format!("{}/sessions/end-all", laptop.origin))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(signed_in(&laptop).await, "nothing was ended");

    // The same origin, told by Fetch Metadata alone, is accepted.
    let same = laptop
        .client
        .post(format!("{}/sessions/end-all", laptop.origin))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    assert!(!signed_in(&laptop).await);
}

#[tokio::test]
async fn the_sessions_api_needs_a_session() {
    let s = setup().await;
    let stranger = Browser::new(&s.origin);
    assert_eq!(
        stranger.get_json("/sessions").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = post_form(&stranger, "/sessions/end-all", Some(&s.origin), &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_store_failure_answers_503_and_never_reads_as_signed_out() {
    let store = FaultyStore::new(memory());
    let s = setup_with(Arc::new(store.clone())).await;
    let laptop = s.signed_in("alice", "laptop").await;
    let phone = s.signed_in("alice", "phone").await;

    store.fail_next("sessions_of", 1);
    let r = laptop.get_json("/sessions").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));

    store.fail_next("sessions_of", 1);
    let r = end_all(&laptop).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("axum_oidc_session=")),
        "the cookie is kept"
    );

    store.fail_next("remove", 1);
    let r = end(&laptop, &own_id(&phone).await).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(signed_in(&laptop).await && signed_in(&phone).await);
}

/// Counter values by `name{labels}` from this thread's recorder.
fn counter(snapshotter: &metrics_util::debugging::Snapshotter, name: &str, kind: &str) -> u64 {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let (k, key) = key.into_parts();
            let labelled = key.labels().any(|l| l.key() == "kind" && l.value() == kind);
            match (k, value) {
                (MetricKind::Counter, DebugValue::Counter(n)) if key.name() == name && labelled => {
                    Some(n)
                }
                _ => None,
            }
        })
        .sum()
}

#[tokio::test]
async fn ending_sessions_is_audited_counted_once_per_call_and_revokes_their_tokens() {
    let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
    let snapshotter = recorder.snapshotter();
    let _metrics = metrics::set_default_local_recorder(recorder);
    let logs = logs::capture();

    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop").await;
    let phone = s.signed_in("alice", "phone").await;
    let tablet = s.signed_in("alice", "tablet").await;
    let before = s.op.stats().revocations;

    // The recorder's snapshot drains the counters: sum what each one shows.
    let mut logouts = 0;
    let mut logouts_now = || {
        logouts += counter(&snapshotter, "axum_oidc_logouts_total", "local");
        logouts
    };
    let phone_id = own_id(&phone).await;
    assert_eq!(
        end(&laptop, &phone_id).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(logouts_now(), 1);
    assert_eq!(end_all(&laptop).await.status(), StatusCode::SEE_OTHER);
    // One per call, though this call ended two sessions.
    assert_eq!(logouts_now(), 2);
    // Nothing left to end: nothing counted.
    let again = s
        .layer
        .user_sessions()
        .end_all(s.op.issuer(), "user-alice")
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(logouts_now(), 2);
    assert!(!signed_in(&tablet).await);

    let audited: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|l| l.contains("event=\"logout\"") || l.contains("event=logout"))
        .collect();
    assert_eq!(audited.len(), 3, "{audited:?}");
    assert!(
        audited
            .iter()
            .all(|l| l.contains("user-alice") && l.contains("local"))
    );

    // Each of the three sessions' refresh tokens, in the background (the provider
    // counts a grant once: revoking it takes its access tokens along).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while s.op.stats().revocations < before + 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.op.stats().revocations, before + 3);
}

#[tokio::test]
async fn the_layers_admin_handle_lists_and_ends_any_users_sessions() {
    let s = setup().await;
    let laptop = s.signed_in("alice", "laptop").await;
    let phone = s.signed_in("alice", "phone").await;
    let bob = s.signed_in("bob", "bob").await;
    let admin = s.layer.user_sessions();
    let iss = s.op.issuer();

    let listed = admin.list(iss, "user-alice").await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|s| !s.current));
    // Another issuer's user with the same subject has no sessions here.
    assert!(
        admin
            .list("https://other.example", "user-alice")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        admin
            .end_all("https://other.example", "user-alice")
            .await
            .unwrap(),
        0
    );
    assert!(signed_in(&laptop).await);
    // An id is only ended for its own user.
    let phone_id = own_id(&phone).await;
    assert!(!admin.end(iss, "user-bob", &phone_id).await.unwrap());
    assert!(admin.end(iss, "user-alice", &phone_id).await.unwrap());
    assert!(!signed_in(&phone).await && signed_in(&laptop).await);
    assert_eq!(admin.end_all(iss, "user-alice").await.unwrap(), 1);
    assert!(!signed_in(&laptop).await);
    assert!(signed_in(&bob).await);
}
