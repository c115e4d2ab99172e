//! An OpenID provider that misbehaves on purpose, served in-process on 127.0.0.1:0.
//!
//! Every *case* lives under its own issuer path, `http://127.0.0.1:PORT/<case>`, with
//! its own discovery document, JWKS, authorization, token, UserInfo and end-session
//! endpoints. A case is configured by a [`Behavior`]: a well-behaved provider by
//! default, with one knob per fault. Behaviour can change while a test runs
//! ([`Adversary::update`]), and every endpoint records what it saw ([`Seen`]) so tests
//! can assert from the outside, for example that a replayed callback reached the
//! token endpoint only once.
//!
//! Tokens are signed with real keys committed under `tests/fixtures/` (two RSA 2048
//! keys for rotation, one EC P-256 key). Forgeries (`alg: none`, HS256 keyed with the
//! RSA public key, tampered payloads, foreign keys, `crit`, embedded `jwk`/`jku`) are
//! built by [`Sig`]. Times come from a shared [`Clock`], the same one the relying
//! party under test uses, so tests move time forward without sleeping.

#![allow(dead_code)]

#[path = "adversary/behavior.rs"]
mod behavior;
#[path = "adversary/dpop.rs"]
mod dpop;
#[path = "adversary/forge.rs"]
mod forge;
#[path = "adversary/par.rs"]
mod par;
#[path = "adversary/token.rs"]
mod token;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_oidc_client::Clock;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::Digest as _;

pub use behavior::{Behavior, Echo, ParReply, Seen, TokenCall, TokenReply};
#[allow(unused_imports)] // not every test binary uses DPoP
pub use dpop::{DpopReply, ProofSeen, read_proof};
use forge::b64;
pub use forge::{Key, Sig, at_hash, sign};
use token::client_authenticated;

/// The client registered at every case.
pub const CLIENT_ID: &str = "conformance-client";
/// Its secret (`client_secret_basic`).
pub const CLIENT_SECRET: &str = "conformance-secret";
/// The back-channel logout event (Back-Channel Logout 1.0 section 2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What an authorization code or refresh token stands for.
#[derive(Clone, Debug)]
struct Grant {
    sub: String,
    nonce: Option<String>,
    sid: String,
    code_challenge: Option<String>,
    redirect_uri: Option<String>,
}

#[derive(Default)]
struct Case {
    behavior: Behavior,
    seen: Seen,
    codes: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, Grant>,
    /// Refresh tokens already used (rotated away), with their grant's `sid`.
    used_refresh_tokens: HashMap<String, String>,
    access_tokens: HashMap<String, String>,
    /// Pushed authorization requests by `request_uri` (RFC 9126), used once.
    pushed: HashMap<String, HashMap<String, String>>,
    /// DPoP nonces handed out (RFC 9449 section 8); the last is current.
    dpop_nonces: u64,
}

struct Inner {
    origin: String,
    clock: Clock,
    cases: Mutex<HashMap<String, Case>>,
}

/// The misbehaving provider. Dropping it stops the server.
pub struct Adversary {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Adversary {
    fn drop(&mut self) {
        self.server.abort();
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Sets each member of `patch` on `target`; a `null` member removes the claim.
fn apply_patch(target: &mut Value, patch: &Value) {
    let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) else {
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            t.insert(k.clone(), v.clone());
        }
    }
}

impl Adversary {
    /// Starts the provider with a manual clock set to the current time.
    pub async fn start() -> Self {
        Self::start_with_clock(Clock::manual(chrono::Utc::now().timestamp())).await
    }

    /// Starts the provider with `clock` (share it with the relying party).
    pub async fn start_with_clock(clock: Clock) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind adversary");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let inner = Arc::new(Inner {
            origin,
            clock,
            cases: Mutex::default(),
        });
        let app = Router::new()
            .route("/{case}/.well-known/openid-configuration", get(discovery))
            .route("/{case}/jwks", get(jwks))
            .route("/{case}/attacker-jwks", get(attacker_jwks))
            .route("/{case}/authorize", get(authorize))
            .route("/{case}/token", post(token::token))
            .route("/{case}/par", post(par::par))
            .route("/{case}/userinfo", get(userinfo))
            .route("/{case}/end_session", get(end_session))
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("adversary server");
        });
        Self { inner, server }
    }

    /// The shared clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Now, by the shared clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Moves the shared clock forward.
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    /// The issuer of case `name` (whether or not it is registered).
    pub fn issuer(&self, name: &str) -> String {
        format!("{}/{name}", self.inner.origin)
    }

    /// Registers case `name` and returns its issuer.
    pub fn case(&self, name: &str, behavior: Behavior) -> String {
        let case = Case {
            behavior,
            ..Case::default()
        };
        self.lock().insert(name.to_owned(), case);
        self.issuer(name)
    }

    /// Changes the behaviour of a running case.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut Behavior)) {
        let mut cases = self.lock();
        f(&mut cases.get_mut(name).expect("unknown case").behavior);
    }

    /// What case `name` has seen so far.
    pub fn seen(&self, name: &str) -> Seen {
        self.lock().get(name).expect("unknown case").seen.clone()
    }

    /// The claims of a valid logout token of case `name` (Back-Channel Logout 1.0
    /// section 2.4), without `sid` or `sub`: patch in the target.
    pub fn logout_claims(&self, name: &str) -> Value {
        let now = self.now();
        json!({
            "iss": self.issuer(name),
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 120,
            "jti": unique("jti"),
            "events": { LOGOUT_EVENT: {} },
        })
    }

    /// A logout token of case `name`: the valid claims with `patch` applied, signed
    /// as `sig`, typed `logout+jwt`.
    pub fn logout_token(&self, name: &str, sig: &Sig, patch: Value) -> String {
        let mut claims = self.logout_claims(name);
        apply_patch(&mut claims, &patch);
        sign(sig, "logout+jwt", &claims)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Case>> {
        self.inner.cases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn issuer(&self, name: &str) -> String {
        format!("{}/{name}", self.origin)
    }

    /// Runs `f` on case `name`, or answers 404 when there is no such case.
    fn with_case<T>(&self, name: &str, f: impl FnOnce(&mut Case) -> T) -> Option<T> {
        let mut cases = self.cases.lock().unwrap_or_else(|p| p.into_inner());
        cases.get_mut(name).map(f)
    }

    /// Builds and records an ID token for `grant`.
    fn id_token(
        &self,
        name: &str,
        case: &mut Case,
        grant: &Grant,
        access_token: &str,
        refresh: bool,
    ) -> String {
        let now = self.clock.now();
        let b = &case.behavior;
        let mut claims = json!({
            "iss": b.issued_iss.clone().unwrap_or_else(|| self.issuer(name)),
            "sub": grant.sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "auth_time": now,
            "sid": grant.sid,
            "at_hash": at_hash(access_token),
            "email": format!("{}@example.test", grant.sub),
        });
        if !refresh && let Some(nonce) = &grant.nonce {
            claims["nonce"] = nonce.clone().into();
        }
        let (sig, patch) = if refresh {
            (&b.refresh_id_token_sig, &b.refresh_id_token_claims)
        } else {
            (&b.id_token_sig, &b.id_token_claims)
        };
        apply_patch(&mut claims, patch);
        let token = sign(sig, "JWT", &claims);
        case.seen.id_tokens.push(token.clone());
        token
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such case").into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

async fn discovery(State(s): State<Arc<Inner>>, Path(name): Path<String>) -> Response {
    let issuer = s.issuer(&name);
    s.with_case(&name, |case| {
        case.seen.discovery += 1;
        let b = &case.behavior;
        let mut doc = json!({
            "issuer": b.discovery_issuer.clone().unwrap_or_else(|| issuer.clone()),
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "end_session_endpoint": format!("{issuer}/end_session"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": b.token_auth_methods,
            "authorization_response_iss_parameter_supported": b.advertise_iss,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
        });
        if b.par.is_some() {
            doc["pushed_authorization_request_endpoint"] = json!(format!("{issuer}/par"));
        }
        doc["require_pushed_authorization_requests"] = json!(b.require_par);
        if b.dpop.is_some() {
            doc["dpop_signing_alg_values_supported"] = json!(["ES256"]);
        }
        Json(doc).into_response()
    })
    .unwrap_or_else(not_found)
}

async fn jwks(State(s): State<Arc<Inner>>, Path(name): Path<String>) -> Response {
    s.with_case(&name, |case| {
        case.seen.jwks += 1;
        let b = &case.behavior;
        if b.jwks_status != StatusCode::OK {
            return (b.jwks_status, "unavailable").into_response();
        }
        let keys: Vec<Value> = match (&b.jwks_raw, &b.jwks_after_first_fetch) {
            (Some(raw), _) => raw.clone(),
            (None, Some(later)) if case.seen.jwks > 1 => later.iter().map(|k| k.jwk()).collect(),
            _ => b.jwks.iter().map(|k| k.jwk()).collect(),
        };
        Json(json!({ "keys": keys })).into_response()
    })
    .unwrap_or_else(not_found)
}

/// The key set an attacker would like the relying party to trust (`jku` target).
async fn attacker_jwks(State(s): State<Arc<Inner>>, Path(name): Path<String>) -> Response {
    s.with_case(&name, |case| {
        case.seen.attacker_jwks += 1;
        Json(json!({ "keys": [Key::Rsa2.jwk()] })).into_response()
    })
    .unwrap_or_else(not_found)
}

/// Auto-approves: redirects to `redirect_uri` with a code, `state` and `iss` as the
/// case dictates.
async fn authorize(
    State(s): State<Arc<Inner>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let case_issuer = s.issuer(&name);
    s.with_case(&name, |case| {
        case.seen.authorize.push(q.clone());
        // RFC 9126 section 4: the pushed parameters stand for the request.
        let q = match q.get("request_uri") {
            Some(uri) => match case.pushed.remove(uri) {
                Some(pushed) if pushed.get("client_id") == q.get("client_id") => pushed,
                _ => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request_uri"),
            },
            None if case.behavior.require_par => {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            }
            None => q,
        };
        let issuer = case.behavior.issued_iss.clone().unwrap_or(case_issuer);
        let Some(redirect_uri) = q.get("redirect_uri") else {
            return (StatusCode::BAD_REQUEST, "redirect_uri missing").into_response();
        };
        let Ok(mut back) = url::Url::parse(redirect_uri) else {
            return (StatusCode::BAD_REQUEST, "redirect_uri invalid").into_response();
        };
        let b = case.behavior.clone();
        {
            let mut pairs = back.query_pairs_mut();
            match b.authorize_error {
                Some(error) => {
                    pairs.append_pair("error", error);
                }
                None => {
                    let code = unique("code");
                    let sid = unique("sid");
                    case.seen.sids.push(sid.clone());
                    case.codes.insert(
                        code.clone(),
                        Grant {
                            sub: b.sub.clone(),
                            nonce: q.get("nonce").cloned(),
                            sid,
                            code_challenge: q.get("code_challenge").cloned(),
                            redirect_uri: Some(redirect_uri.clone()),
                        },
                    );
                    pairs.append_pair("code", &code);
                }
            }
            match (b.authorize_state, q.get("state")) {
                (Echo::Same, Some(state)) => {
                    pairs.append_pair("state", state);
                }
                (Echo::Changed, Some(state)) => {
                    pairs.append_pair("state", &format!("{state}x"));
                }
                _ => {}
            }
            match b.authorize_iss {
                Echo::Same => {
                    pairs.append_pair("iss", &issuer);
                }
                Echo::Changed => {
                    pairs.append_pair("iss", &format!("{issuer}-evil"));
                }
                Echo::Dropped => {}
            }
        }
        see_other(back.as_str())
    })
    .unwrap_or_else(not_found)
}

async fn userinfo(
    State(s): State<Arc<Inner>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let dpop_token = authorization.and_then(|v| v.strip_prefix("DPoP "));
    let bearer = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(dpop_token)
        .map(str::to_owned);
    let proof = dpop_token.and_then(|_| read_proof(&headers));
    s.with_case(&name, |case| {
        case.seen.userinfo += 1;
        case.seen.userinfo_dpop.extend(proof);
        let Some(sub) = bearer.and_then(|t| case.access_tokens.get(&t).cloned()) else {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
        };
        let mut doc = json!({ "sub": sub, "email": format!("{sub}@example.test") });
        apply_patch(&mut doc, &case.behavior.userinfo_claims);
        Json(doc).into_response()
    })
    .unwrap_or_else(not_found)
}

/// RP-Initiated Logout 1.0: back to `post_logout_redirect_uri` with `state` as the
/// case dictates.
async fn end_session(
    State(s): State<Arc<Inner>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    s.with_case(&name, |case| {
        case.seen.end_session.push(q.clone());
        let Some(Ok(mut back)) = q
            .get("post_logout_redirect_uri")
            .map(|u| url::Url::parse(u))
        else {
            return (StatusCode::OK, "signed out").into_response();
        };
        match (case.behavior.end_session_state, q.get("state")) {
            (Echo::Same, Some(state)) => {
                back.query_pairs_mut().append_pair("state", state);
            }
            (Echo::Changed, Some(state)) => {
                back.query_pairs_mut()
                    .append_pair("state", &format!("{state}x"));
            }
            _ => {}
        }
        see_other(back.as_str())
    })
    .unwrap_or_else(not_found)
}
