//! `bench __hotpath <case> <n>`: `n` requests of one kind through a `Router` with
//! `tower::ServiceExt::oneshot`, in process, no network. Meant to run under
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on what else
//! the machine is doing: the per-request cost is the difference between two runs
//! with different `n`, divided by the difference in `n`.
//!
//! Cases: `plain` (no layer), `public` (behind the layer, no cookie), `authed`
//! (`AccessToken`, warm session), `authed-session` (`AuthSession`), `forged` (a forged
//! session cookie, 401), `anonymous` (no cookie on a protected route, 401).
//!
//! With `BENCH_METRICS=prometheus` the Prometheus recorder is installed first, and
//! what it recorded is printed at the end.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_oidc_client::__private::cookies::{CookieSettings, session_cookie};
use axum_oidc_client::__private::id_token::IdTokenClaims;
use axum_oidc_client::__private::secret::{AccessTokenValue, IdTokenValue, RefreshTokenValue};
use axum_oidc_client::__private::session::{SessionKey, SessionRecord, TokenSet, new_session_id};
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::{AccessToken, AuthenticationLayer, MemoryStore, OAuthConfigurationBuilder};
use http::{Request, header};
use tower::ServiceExt as _;

use crate::BenchResult;

/// First argument of this mode.
pub const HOTPATH_ARG: &str = "__hotpath";

fn fixed(len: usize, fill: char) -> String {
    std::iter::repeat_n(fill, len).collect()
}

/// A session shaped like the development provider's (token sizes from the `memory`
/// scenario's real login).
fn record(now: i64) -> BenchResult<SessionRecord> {
    let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
        "iss": "http://127.0.0.1:9", "sub": "user-alice", "aud": "bench", "exp": now + 300,
        "iat": now, "auth_time": now, "nonce": fixed(43, 'n'), "sid": fixed(43, 's'),
        "at_hash": fixed(22, 'h'), "name": "Alice Anderson", "email": "alice@example.com",
        "email_verified": true, "preferred_username": "alice"
    }))?;
    Ok(SessionRecord {
        tokens: TokenSet {
            access_token: AccessTokenValue::new(fixed(844, 'a')),
            token_type: "Bearer".into(),
            refresh_token: Some(RefreshTokenValue::new(fixed(43, 'r'))),
            id_token: Some(IdTokenValue::new(fixed(957, 'i'))),
            scope: "openid profile email offline_access".into(),
            expires_at: now + 3600,
            dpop_key: None,
        },
        claims: claims.into(),
        created_at: now,
        last_seen: now,
        user_agent: None,
        enriched_claims: Vec::new(),
        provider: None,
    })
}

pub fn main(args: &[String]) -> ExitCode {
    let metrics = crate::recorder::install_from_env();
    let case = args.first().map(String::as_str).unwrap_or("authed");
    let n: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(case, n)) {
        Ok(()) => {
            if let Some(handle) = metrics {
                // Empty when the requests recorded nothing.
                eprintln!("metrics recorded:\n{}", handle.render());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hotpath: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(case: &str, n: u64) -> BenchResult<()> {
    let config = OAuthConfigurationBuilder::default()
        .with_client_id("bench")
        .with_client_secret("bench-secret")
        .with_app_url("http://127.0.0.1:3000")
        .with_authorization_endpoint("http://127.0.0.1:9/authorize")
        .with_token_endpoint("http://127.0.0.1:9/token")
        .with_oauth2_only("http://127.0.0.1:9/user", "id")
        .with_private_cookie_key(crate::server::COOKIE_SECRET)
        .build()?;
    let now = config.clock().now();
    let store = MemoryStore::default();
    let id = new_session_id();
    axum_oidc_client::store::AuthCache::put(
        &store,
        &SessionKey::of(&id),
        Arc::new(record(now)?),
        Duration::from_secs(3600),
    )
    .await?;
    let settings = CookieSettings {
        session_name: "axum_oidc_session".into(),
        login_prefix: "axum_oidc_login_".into(),
        secure: false,
        login_path: "/auth".into(),
        same_site: cookie::SameSite::Lax,
    };
    let set = session_cookie(config.cookie_key(), &settings, &id, 3600);
    let valid = set.split(';').next().unwrap_or_default().to_owned();
    let forged = format!("axum_oidc_session={}", fixed(87, 'A'));
    let app = Router::new()
        .route("/public", get(|| async { "ok" }))
        .route("/authed", get(|_t: AccessToken| async { "ok" }))
        .route("/authed-session", get(|_s: AuthSession| async { "ok" }))
        .layer(AuthenticationLayer::with_store(config, Arc::new(store)))
        .merge(Router::new().route("/plain", get(|| async { "ok" })));
    let (path, cookie, want) = match case {
        "plain" => ("/plain", Some(valid.as_str()), 200),
        "public" => ("/public", None, 200),
        "authed" => ("/authed", Some(valid.as_str()), 200),
        "authed-session" => ("/authed-session", Some(valid.as_str()), 200),
        "forged" => ("/authed", Some(forged.as_str()), 401),
        "anonymous" => ("/authed", None, 401),
        other => return Err(format!("unknown case {other}").into()),
    };
    for _ in 0..n {
        let mut req = Request::get(path).header(header::ACCEPT, "application/json");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = app.clone().oneshot(req.body(Body::empty())?).await?;
        if resp.status().as_u16() != want {
            return Err(format!("{path} answered {}", resp.status()).into());
        }
    }
    Ok(())
}
