//! The application server, run as a child process (`bench __server <mode>`) on a
//! single-threaded tokio runtime so that it uses exactly one core.
//!
//! Protocol on stdout/stdin, one line each:
//! 1. child: `LISTEN <port>` as soon as 127.0.0.1:0 is bound;
//! 2. orchestrator (mode `oidc`): a JSON [`ServerSetup`]; (mode `bearer`): nothing;
//! 3. child: `TOKEN <alg> <jwt>` lines (mode `bearer`), then `READY`.
//!
//! The child exits when its stdin closes.
//!
//! Routes of mode `oidc`:
//! - `/plain` and `/__bench/*`: outside the layer;
//! - `/public` (no extractor), `/authed` ([`AccessToken`]), `/authed-session`
//!   ([`AuthSession`]): behind [`AuthenticationLayer`], as are the library's `/auth/*`.
//!
//! Routes of mode `bearer`: `/plain`; `/jwt` behind a [`JwtLayer`] with the default
//! verified-token cache; `/jwt-nocache` behind one whose cache is off.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_oidc_client::__private::session::{SessionKey, SessionRecord, new_session_id};
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::bearer::{JwtConfiguration, JwtLayer};
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{AccessToken, AuthenticationLayer, MemoryStore, OAuthConfigurationBuilder};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::TcpListener;

use crate::BenchResult;
use crate::counting::{CountingStore, Counts, CountsSnapshot};
use crate::keys::{SigningKey, jwks};
use crate::provider::{CLIENT_ID, CLIENT_SECRET};

/// First argument that makes this binary a server.
pub const SERVER_ARG: &str = "__server";

/// The cookie secret of every benchmark server.
pub const COOKIE_SECRET: &str = "uVc7AtIwnt/itQlhICxJdj0UWhCIR8IpzJOmbjHJi6d6K2GkaqW6ic9ooBl+lAPZ";

/// Issuer and audience of the bearer tokens.
pub const BEARER_ISSUER: &str = "https://issuer.bench.invalid";
pub const BEARER_AUDIENCE: &str = "https://api.bench.invalid";

/// How the orchestrator wants the `oidc` server built.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerSetup {
    /// The provider's issuer.
    pub issuer: String,
    /// `memory` or a store URL for `axum_oidc_client::store::from_url`.
    pub store: String,
    /// Wrap the store in a [`CountingStore`].
    pub count: bool,
    /// Capacity of the memory store (default: the library's).
    pub memory_capacity: Option<u64>,
}

/// What `/__bench/stats` answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerStats {
    pub counts: Option<CountsSnapshot>,
    pub sessions: Option<u64>,
    /// Length of the JSON form of the last session written, and of its tokens.
    pub record_json_len: Option<usize>,
    pub access_token_len: Option<usize>,
    pub id_token_len: Option<usize>,
    pub refresh_token_len: Option<usize>,
    /// Bytes in use on the server's heap ([`crate::procfs::heap_in_use`]).
    #[serde(default)]
    pub heap_bytes: u64,
}

#[derive(Clone)]
struct Admin {
    counts: Option<Arc<Counts>>,
    last_put: Option<Arc<Mutex<Option<Arc<SessionRecord>>>>>,
    memory: Option<MemoryStore>,
    store: SharedStore,
}

pub fn main(args: &[String]) -> ExitCode {
    let metrics = crate::recorder::install_from_env();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("server runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    crate::procfs::raise_fd_limit();
    let mode = args.first().map(String::as_str).unwrap_or("oidc");
    match rt.block_on(run(mode, metrics)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn ok() -> &'static str {
    "ok"
}

async fn run(
    mode: &str,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> BenchResult<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    say(&format!("LISTEN {port}"));
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let app = match mode {
        "oidc" => {
            let line = stdin.next_line().await?.ok_or("no setup line")?;
            let setup: ServerSetup = serde_json::from_str(&line)?;
            oidc_app(&setup, port).await?
        }
        "bearer" => bearer_app()?,
        other => return Err(format!("unknown server mode {other}").into()),
    };
    // What the recorder holds, to check by hand what a run recorded.
    let app = match metrics {
        Some(handle) => app.route(
            "/__bench/metrics",
            get(move || std::future::ready(handle.render())),
        ),
        None => app,
    };
    say("READY");
    tokio::spawn(async move {
        // The orchestrator closing our stdin (or dying) ends the server.
        while let Ok(Some(_)) = stdin.next_line().await {}
        std::process::exit(0);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn oidc_app(setup: &ServerSetup, port: u16) -> BenchResult<Router> {
    let config = OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_client_secret(CLIENT_SECRET)
        .with_app_url(format!("http://127.0.0.1:{port}"))
        .with_scopes(["openid", "profile", "email", "offline_access"])
        .with_private_cookie_key(COOKIE_SECRET)
        .with_issuer(&setup.issuer)
        .await?
        .build()?;
    let (store, memory): (SharedStore, Option<MemoryStore>) = if setup.store == "memory" {
        let m = setup
            .memory_capacity
            .map_or_else(MemoryStore::default, MemoryStore::new);
        (Arc::new(m.clone()), Some(m))
    } else {
        let s = axum_oidc_client::store::from_url(&setup.store, config.cookie_key()).await?;
        (s, None)
    };
    let mut admin = Admin {
        counts: None,
        last_put: None,
        memory,
        store: store.clone(),
    };
    let layer_store: SharedStore = if setup.count {
        let counting = CountingStore::new(store);
        admin.counts = Some(counting.counts());
        admin.last_put = Some(counting.last_put());
        Arc::new(counting)
    } else {
        store
    };
    let protected = Router::new()
        .route("/public", get(ok))
        .route("/authed", get(|_t: AccessToken| ok()))
        .route("/authed-session", get(|_s: AuthSession| ok()))
        // An explicit fallback, so that it stays the layered one after `merge` below:
        // the library's own `/auth/*` routes are answered by the layer on the way to it.
        // `bff`: the same upstream handler as `/__bench/upstream`, through the proxy.
        .merge(
            Router::new()
                .nest_service(
                    "/bff/api",
                    axum_oidc_client::bff::ApiProxy::new(format!(
                        "http://127.0.0.1:{port}/__bench"
                    ))?,
                )
                .layer(axum_oidc_client::bff::CsrfLayer::new()),
        )
        .fallback(|| async { http::StatusCode::NOT_FOUND })
        .layer(AuthenticationLayer::with_store(config, layer_store));
    let outside = Router::new()
        .route("/plain", get(ok))
        .route("/__bench/upstream", get(ok))
        .route("/__bench/static401", get(static_401))
        .route("/__bench/stats", get(stats))
        .route("/__bench/fill", post(fill))
        .route("/__bench/probe", post(probe))
        .route("/__bench/trim", post(trim))
        .with_state(admin);
    Ok(protected.merge(outside))
}

/// The same bytes as the library's answer to a forged session cookie, made without
/// any library code: tells HTTP cost from library cost.
async fn static_401() -> impl axum::response::IntoResponse {
    (
        http::StatusCode::UNAUTHORIZED,
        [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
            (
                "www-authenticate",
                "Session realm=\"axum-oidc-client\", login_url=\"/auth/login?next=%2Fauthed\"",
            ),
            (
                "set-cookie",
                "axum_oidc_session=; HttpOnly; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            ),
        ],
        "{\"error\":\"unauthenticated\"}",
    )
}

async fn stats(State(admin): State<Admin>) -> Json<ServerStats> {
    let sessions = match &admin.memory {
        Some(m) => Some(m.session_count().await),
        None => None,
    };
    let last = admin
        .last_put
        .as_ref()
        .and_then(|l| l.lock().unwrap_or_else(|p| p.into_inner()).clone());
    Json(ServerStats {
        counts: admin.counts.as_ref().map(|c| c.snapshot()),
        sessions,
        record_json_len: last
            .as_ref()
            .and_then(|r| serde_json::to_vec(r.as_ref()).ok())
            .map(|v| v.len()),
        access_token_len: last.as_ref().map(|r| r.tokens.access_token.secret().len()),
        id_token_len: last
            .as_ref()
            .and_then(|r| r.tokens.id_token.as_ref().map(|t| t.secret().len())),
        refresh_token_len: last
            .as_ref()
            .and_then(|r| r.tokens.refresh_token.as_ref().map(|t| t.secret().len())),
        heap_bytes: crate::procfs::heap_in_use(),
    })
}

#[derive(Deserialize)]
struct FillQuery {
    n: u64,
}

/// Writes `n` copies of the last real session, each with its own id, subject and
/// provider session id and its own heap copies of every string.
async fn fill(State(admin): State<Admin>, Query(q): Query<FillQuery>) -> Json<serde_json::Value> {
    let n = q.n.min(1_000_000);
    let template = admin
        .last_put
        .as_ref()
        .and_then(|l| l.lock().unwrap_or_else(|p| p.into_inner()).clone());
    let Some(template) = template else {
        return Json(serde_json::json!({"error": "no session was written yet"}));
    };
    let mut inserted = 0u64;
    for i in 0..n {
        let record = copy_of(&template, i);
        let key = SessionKey::of(&new_session_id());
        if admin
            .store
            .put(&key, Arc::new(record), Duration::from_secs(3600))
            .await
            .is_ok()
        {
            inserted += 1;
        }
    }
    let sessions = match &admin.memory {
        Some(m) => Some(m.session_count().await),
        None => None,
    };
    Json(serde_json::json!({ "inserted": inserted, "sessions": sessions }))
}

/// Hands the allocator's free pages back to the kernel (`malloc_trim(3)`), so that
/// `VmRSS` afterwards tells the heap's free memory apart from what is in use.
async fn trim() -> &'static str {
    // SAFETY: `malloc_trim` takes a plain integer and only touches the allocator's state.
    unsafe { libc::malloc_trim(0) };
    "trimmed"
}

/// Heap in use per copy of the last real session's parts, without any store: `n`
/// records made as `fill` makes them, then `n` copies of their claims alone and of
/// their tokens alone, each set held while the heap is read, then dropped.
async fn probe(State(admin): State<Admin>, Query(q): Query<FillQuery>) -> Json<serde_json::Value> {
    let n = q.n.clamp(1, 1_000_000);
    let template = admin
        .last_put
        .as_ref()
        .and_then(|l| l.lock().unwrap_or_else(|p| p.into_inner()).clone());
    let Some(template) = template else {
        return Json(serde_json::json!({"error": "no session was written yet"}));
    };
    let per = |f: &mut dyn FnMut(u64) -> Box<dyn std::any::Any>| {
        let before = crate::procfs::heap_in_use();
        let held: Vec<_> = (0..n).map(&mut *f).collect();
        let after = crate::procfs::heap_in_use();
        drop(held);
        // The `Vec` of boxes itself: 8 + 16 per item (a fat pointer and its box's
        // own allocation) is not the record's; take it away.
        (after.saturating_sub(before) as f64 / n as f64) - 16.0
    };
    let records = per(&mut |i| Box::new(Arc::new(copy_of(&template, i))));
    let claims = per(&mut |i| Box::new(copy_of(&template, i).claims));
    let tokens = per(&mut |_| Box::new(template.tokens.clone()));
    let keys = per(&mut |_| Box::new(SessionKey::of(&new_session_id())));
    Json(serde_json::json!({
        "record": records, "claims": claims, "tokens": tokens, "key": keys,
    }))
}

/// A copy of `template` with its own subject and provider session id, every string
/// in its own allocation, as `fill` writes them.
fn copy_of(template: &SessionRecord, i: u64) -> SessionRecord {
    let mut record: SessionRecord = template.clone();
    let claims = Arc::make_mut(&mut record.claims);
    claims.sub = format!("user-{i:08}");
    claims.sid = Some(format!("sid-{i:08}-{}", new_session_id().secret()));
    record
}

fn bearer_app() -> BenchResult<Router> {
    let rsa = SigningKey::rsa("bench-rsa")?;
    let ec = SigningKey::ec("bench-ec")?;
    let set = jwks(&[&rsa, &ec]);
    let cached = JwtConfiguration::builder()
        .with_jwks_json(BEARER_ISSUER, set.clone())
        .with_audience(BEARER_AUDIENCE)
        .build()?;
    let uncached = JwtConfiguration::builder()
        .with_jwks_json(BEARER_ISSUER, set)
        .with_audience(BEARER_AUDIENCE)
        .with_token_cache_capacity(0)
        .build()?;
    say(&format!(
        "TOKEN RS256 {}",
        rsa.access_token(BEARER_ISSUER, BEARER_AUDIENCE)?
    ));
    say(&format!(
        "TOKEN ES256 {}",
        ec.access_token(BEARER_ISSUER, BEARER_AUDIENCE)?
    ));
    let with_cache = Router::new()
        .route("/jwt", get(ok))
        .layer(JwtLayer::new(cached));
    let without_cache = Router::new()
        .route("/jwt-nocache", get(ok))
        .layer(JwtLayer::new(uncached));
    Ok(Router::new()
        .route("/plain", get(ok))
        .merge(with_cache)
        .merge(without_cache))
}
