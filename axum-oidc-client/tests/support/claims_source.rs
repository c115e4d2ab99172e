//! A claims source for distributed claims tests (OIDC Core 5.6.2), served on
//! 127.0.0.1:0: a plain endpoint and one shaped like Microsoft Graph's
//! `getMemberObjects`, answering as told and recording what they were sent.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// What the groups endpoint answers.
#[derive(Clone)]
pub enum Reply {
    Json(Value),
    Jwt(String),
    /// A JWT served as `text/plain`.
    JwtPlain(String),
    Status(u16),
    /// Answers after 30 s.
    Hang,
}

/// A claims source on 127.0.0.1:0 that records the bearer tokens it is sent: a
/// distributed claims endpoint (`GET /users/alice/groups`) and one shaped like
/// Microsoft Graph's (`POST /v1.0/users/oid/getMemberObjects`).
pub struct Source {
    pub origin: String,
    pub seen: Arc<SourceSeen>,
    _server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
pub struct SourceSeen {
    pub tokens: Mutex<Vec<String>>,
    pub bodies: Mutex<Vec<String>>,
}

type SourceState = (Arc<SourceSeen>, Reply);

async fn answer(seen: &SourceSeen, reply: Reply, headers: &HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    seen.tokens.lock().unwrap().push(bearer);
    match reply {
        Reply::Json(v) => Json(v).into_response(),
        Reply::Jwt(t) => ([(header::CONTENT_TYPE, "application/jwt")], t).into_response(),
        Reply::JwtPlain(t) => t.into_response(),
        Reply::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(json!({})).into_response()
        }
    }
}

impl Source {
    pub async fn start(reply: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(SourceSeen::default());
        let state: SourceState = (seen.clone(), reply);
        let app =
            Router::new()
                .route(
                    "/users/alice/groups",
                    get(
                        |State((seen, reply)): State<SourceState>, headers: HeaderMap| async move {
                            answer(&seen, reply, &headers).await
                        },
                    ),
                )
                .route(
                    "/v1.0/users/oid/getMemberObjects",
                    post(
                        |State((seen, reply)): State<SourceState>,
                         headers: HeaderMap,
                         body: String| async move {
                            seen.bodies.lock().unwrap().push(body);
                            answer(&seen, reply, &headers).await
                        },
                    ),
                )
                .with_state(state);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            origin,
            seen,
            _server: server,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("{}/users/alice/groups", self.origin)
    }

    pub fn tokens(&self) -> Vec<String> {
        self.seen.tokens.lock().unwrap().clone()
    }
}
