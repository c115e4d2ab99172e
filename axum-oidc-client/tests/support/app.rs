//! A small application behind `AuthenticationLayer`, served on 127.0.0.1:0, and a
//! browser-like client that keeps cookies and never follows redirects.

#![allow(dead_code)]

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Json, Router};
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{
    AccessToken, AuthenticationLayer, OAuthConfiguration, OptionalAuthSession,
    UnauthenticatedBehavior,
};
use reqwest::StatusCode;
use tokio::net::TcpListener;

/// A bound listener and the origin it serves.
pub struct Bound {
    pub listener: TcpListener,
    pub origin: String,
}

pub async fn bind() -> Bound {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().unwrap());
    Bound { listener, origin }
}

/// The routes the demo has: `/` public, `/protected` HTML, `/me` JSON (401 when
/// anonymous), `/token` the fresh access token; and `/cacheable`, public with an
/// application's `Cache-Control: public, max-age=600`.
pub fn routes() -> Router {
    let api = Router::new()
        .route(
            "/me",
            get(|s: AuthSession| async move {
                let claims = s.claims().cloned();
                Json(serde_json::json!({
                    "sub": s.sub(),
                    "claims": claims,
                    "expires": s.expires.to_rfc3339(),
                }))
            }),
        )
        .route("/token", get(|t: AccessToken| async move { t.0 }))
        .layer(Extension(UnauthenticatedBehavior::Unauthorized));
    Router::new()
        .route(
            "/",
            get(|OptionalAuthSession(s): OptionalAuthSession| async move {
                match s.and_then(|s| s.sub().map(str::to_owned)) {
                    Some(sub) => format!("signed in as {sub}"),
                    None => "anonymous".to_owned(),
                }
            }),
        )
        .route(
            "/cacheable",
            get(|OptionalAuthSession(s): OptionalAuthSession| async move {
                (
                    [("cache-control", "public, max-age=600")],
                    if s.is_some() {
                        "signed in"
                    } else {
                        "anonymous"
                    },
                )
            }),
        )
        .route(
            "/protected",
            get(|s: AuthSession| async move { format!("protected for {:?}", s.sub()) }),
        )
        .merge(api)
}

pub fn serve(bound: Bound, layer: AuthenticationLayer) -> tokio::task::JoinHandle<()> {
    let app = routes().layer(layer);
    tokio::spawn(async move {
        axum::serve(bound.listener, app).await.expect("serve");
    })
}

/// An application under test with a browser pointed at it; the server stops when
/// dropped.
pub struct RunningApp {
    pub origin: String,
    pub browser: Browser,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves [`routes`] behind `layer` and hands out a browser for it.
pub fn start(bound: Bound, layer: AuthenticationLayer) -> RunningApp {
    let origin = bound.origin.clone();
    let server = serve(bound, layer);
    RunningApp {
        browser: Browser::new(&origin),
        origin,
        server,
    }
}

pub fn layer(config: OAuthConfiguration, store: SharedStore) -> AuthenticationLayer {
    AuthenticationLayer::with_store(config, store)
}

pub fn memory() -> SharedStore {
    Arc::new(axum_oidc_client::MemoryStore::default())
}

/// An HTTP client that follows no redirects and keeps no cookies: the provider's side
/// of a browser, or an attacker's hand-made requests.
pub fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// A browser: keeps cookies, follows no redirects.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub origin: String,
}

impl Browser {
    pub fn new(origin: &str) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            origin: origin.to_owned(),
        }
    }

    pub async fn get(&self, path_or_url: &str) -> reqwest::Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.origin)
        };
        self.client.get(url).send().await.expect("request")
    }

    /// Signs out the way the application's own page does: a `POST {base}/logout` from
    /// the application's origin.
    pub async fn logout(&self) -> reqwest::Response {
        self.logout_at("/auth/logout").await
    }

    /// [`logout`](Self::logout) at another path (a moved base path).
    pub async fn logout_at(&self, path: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.origin))
            .header("origin", &self.origin)
            .send()
            .await
            .expect("request")
    }

    /// GET with `Accept: application/json`.
    pub async fn get_json(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.origin))
            .header("accept", "application/json")
            .send()
            .await
            .expect("request")
    }

    /// Starts a login and returns the provider URL it redirects to.
    pub async fn start_login(&self, next: &str) -> String {
        let r = self
            .get(&format!("/auth/login?next={}", urlencode(next)))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "login start must be a 303"
        );
        location(&r)
    }

    /// Starts a login at the named `provider` and returns the provider URL it
    /// redirects to.
    pub async fn start_login_at(&self, provider: &str, next: &str) -> String {
        let r = self
            .get(&format!(
                "/auth/login?provider={provider}&next={}",
                urlencode(next)
            ))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "login start at {provider}"
        );
        location(&r)
    }

    /// Logs `user` in at the embedded development provider through its `login_hint`
    /// shortcut, from `/auth/login?next=…` to the callback; returns the callback answer.
    pub async fn login_as(&self, user: &str, next: &str) -> reqwest::Response {
        let auth = self.start_login(next).await;
        let back = authorize_with_hint(&auth, user).await;
        self.finish_login(&back).await
    }

    /// Follows the provider's redirect back into the app and returns the callback answer.
    pub async fn finish_login(&self, callback_url: &str) -> reqwest::Response {
        assert!(
            callback_url.starts_with(&self.origin),
            "provider sent the browser elsewhere: {callback_url}"
        );
        self.get(callback_url).await
    }
}

/// Has the embedded development provider at `auth` sign `user` in at once (its
/// `login_hint` shortcut); returns where it sends the browser.
pub async fn authorize_with_hint(auth: &str, user: &str) -> String {
    let r = no_redirect_client()
        .get(format!("{auth}&login_hint={user}"))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection(),
        "provider answered {}",
        r.status()
    );
    location(&r)
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("location header")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// All `Set-Cookie` headers of a response.
pub fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}
