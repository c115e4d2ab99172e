//! `login`: the CPU cost of completing a login, JWKS warm.
//!
//! A. Over HTTP: N logins are approved at the provider first; then their callbacks
//!    are sent one after another while the server process's CPU time is read from
//!    `/proc/<pid>/task/*/schedstat`. The provider runs in this (another) process,
//!    so the server's CPU is ours alone; the provider's own time in its token
//!    endpoint is measured by a middleware and reported apart.
//! B. In process, broken down: the steps of the callback called through the
//!    library's public functions, on a thread of their own (current-thread runtime),
//!    timed in wall time and in that thread's CPU time. The provider runs on other
//!    threads, so the token exchange's thread CPU is our client side only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_oidc_client::__private::callback::{
    REPLAY_TTL, check_response, parse_callback_query, replay_marker,
};
use axum_oidc_client::__private::cookies::{CookieSettings, session_cookie};
use axum_oidc_client::__private::id_token::{
    Expectations, IdTokenClaims, NonceCheck, validate_claims, verify_at_hash, verify_id_token,
};
use axum_oidc_client::__private::jose::UnverifiedJws;
use axum_oidc_client::__private::secret::{AccessTokenValue, IdTokenValue, RefreshTokenValue};
use axum_oidc_client::__private::session::{SessionKey, SessionRecord, TokenSet, new_session_id};
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{
    MemoryStore, OAuthConfiguration, OAuthConfigurationBuilder, SigningAlgorithm,
};
use http::HeaderMap;

use super::{Rig, RigOptions};
use crate::BenchResult;
use crate::procfs::thread_cpu;
use crate::provider::{CLIENT_ID, CLIENT_SECRET, Provider};
use crate::report::{Report, Row};
use crate::server::COOKIE_SECRET;
use crate::settings::Settings;
use crate::wrk::median;

/// Logins per part.
const LOGINS: usize = 200;
const WARM: usize = 5;
/// Bound on each part's loop.
const PART_TIME_CAP: Duration = Duration::from_secs(120);
const OWN_CPU_GOAL: Duration = Duration::from_millis(1);

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    over_http(settings, report).await?;
    broken_down(settings, report).await
}

async fn over_http(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let rig = Rig::start(settings, RigOptions::memory(), |c| c).await?;
    for _ in 0..WARM {
        rig.login("alice").await?;
    }
    let deadline = Instant::now() + PART_TIME_CAP;
    let mut pending = Vec::with_capacity(LOGINS);
    while pending.len() < LOGINS && Instant::now() < deadline {
        pending.push(crate::login::authorize(&rig.http, &rig.server.origin, "alice").await?);
    }
    let cpu0 = rig.server.cpu_ns();
    let t0 = rig.provider.token_time();
    let mut walls = Vec::with_capacity(pending.len());
    for p in &pending {
        let (_, took) = crate::login::complete(&rig.http, p).await?;
        walls.push(took.as_secs_f64() * 1e6);
    }
    let cpu = rig.server.cpu_ns() - cpu0;
    let provider = rig.provider.token_time().since(&t0);
    let n = pending.len().max(1) as f64;
    let cpu_per = cpu as f64 / n / 1000.0;
    let provider_per = provider.busy.as_secs_f64() * 1e6 / provider.calls.max(1) as f64;
    report.push(
        Row {
            p50_us: Some(median(&walls)),
            ..Row::new("login", format!("HTTP /auth/callback × {}, server process CPU", pending.len()))
        }
        .figure(format!(
            "{cpu_per:.0} µs server CPU per login (all threads); wall p50 {:.0} µs incl. provider token endpoint {provider_per:.0} µs per call (provider time excluded from the CPU figure)",
            median(&walls)
        ))
        .goal("< 1 ms own CPU", cpu_per < OWN_CPU_GOAL.as_secs_f64() * 1e6),
    );
    rig.server.stop().await;
    Ok(())
}

/// Wall and thread-CPU time of each step, microseconds.
#[derive(Default)]
struct Step {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

struct Timer {
    wall: Instant,
    cpu: Duration,
}

impl Timer {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: thread_cpu(),
        }
    }

    fn stop(self, step: &mut Step) {
        step.wall.push(self.wall.elapsed().as_secs_f64() * 1e6);
        step.cpu
            .push((thread_cpu().saturating_sub(self.cpu)).as_secs_f64() * 1e6);
    }
}

const STEPS: [&str; 9] = [
    "login start (state, nonce, PKCE, encrypted cookie)",
    "callback checks: parse query + decrypt login cookie",
    "replay marker (store insert_once)",
    "token exchange round trip (our client side)",
    "ID token signature check (JWKS warm)",
    "ID token claims + at_hash",
    "session record + store write (memory)",
    "session id + signed session cookie",
    "store write (remote, BENCH_REDIS_URL)",
];

async fn broken_down(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let provider = Provider::start("http://127.0.0.1:9/auth/callback", |c| c).await?;
    let issuer = provider.issuer();
    let redis = settings.redis.clone();
    let provider = Arc::new(provider);
    let timing = provider.clone();
    let handle = std::thread::Builder::new()
        .name("login-steps".into())
        .spawn(move || -> Result<_, String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(steps(&issuer, redis.as_deref(), &timing))
                .map_err(|e| e.to_string())
        })?;
    let (steps, exchange_wall, provider_per_call) =
        tokio::task::spawn_blocking(move || handle.join())
            .await?
            .map_err(|_| "breakdown thread panicked")??;
    let mut total_cpu = 0.0;
    for (i, step) in steps.iter().enumerate() {
        if step.cpu.is_empty() {
            continue;
        }
        let cpu = median(&step.cpu);
        if i != 0 && i != 8 {
            total_cpu += cpu;
        }
        report.push(
            Row::new("login", format!("step: {}", STEPS[i])).figure(format!(
                "CPU {cpu:.1} µs, wall {:.1} µs (medians of {})",
                median(&step.wall),
                step.cpu.len()
            )),
        );
    }
    report.push(Row::new("login", "step: provider token endpoint (not ours, excluded)").figure(
        format!(
            "{provider_per_call:.0} µs per call; exchange wall p50 {exchange_wall:.0} µs, so the loopback HTTP round trip minus the provider is {:.0} µs",
            exchange_wall - provider_per_call
        ),
    ));
    report.push(
        Row::new(
            "login",
            "callback steps 2–8, sum of CPU medians (own CPU per login)",
        )
        .figure(format!("{total_cpu:.0} µs"))
        .goal(
            "< 1 ms own CPU",
            total_cpu < OWN_CPU_GOAL.as_secs_f64() * 1e6,
        ),
    );
    Ok(())
}

fn cookie_settings() -> CookieSettings {
    CookieSettings {
        session_name: "axum_oidc_session".into(),
        login_prefix: "axum_oidc_login_".into(),
        secure: false,
        login_path: "/auth".into(),
        same_site: cookie::SameSite::Lax,
    }
}

async fn config(issuer: &str) -> BenchResult<OAuthConfiguration> {
    Ok(OAuthConfigurationBuilder::default()
        .with_client_id(CLIENT_ID)
        .with_client_secret(CLIENT_SECRET)
        .with_app_url("http://127.0.0.1:9")
        .with_scopes(["openid", "profile", "email", "offline_access"])
        .with_private_cookie_key(COOKIE_SECRET)
        .with_issuer(issuer)
        .await?
        .build()?)
}

type Steps = (Vec<Step>, f64, f64);

async fn steps(issuer: &str, redis: Option<&str>, provider: &Provider) -> BenchResult<Steps> {
    let config = config(issuer).await?;
    let jwks = config.jwks().ok_or("no JWKS")?.clone();
    jwks.keys().await?;
    let memory: SharedStore = Arc::new(MemoryStore::default());
    let remote: Option<SharedStore> = match redis {
        Some(url) if cfg!(feature = "remote-stores") => {
            Some(axum_oidc_client::store::from_url(url, config.cookie_key()).await?)
        }
        _ => None,
    };
    let browser = crate::login::client(8)?;
    let settings = cookie_settings();
    let mut steps: Vec<Step> = (0..STEPS.len()).map(|_| Step::default()).collect();
    let mut provider_time = Vec::new();
    let deadline = Instant::now() + PART_TIME_CAP;
    for i in 0..LOGINS + WARM {
        if Instant::now() > deadline {
            break;
        }
        let mut scratch: Vec<Step> = (0..STEPS.len()).map(|_| Step::default()).collect();
        let t = Timer::start();
        let start = axum_oidc_client::__private::start_login(&config, "/".into())
            .ok_or("the provider is not discovered")?;
        t.stop(&mut scratch[0]);

        // The browser's trip through the provider: not ours, not timed.
        let approved = browser
            .get(format!("{}&login_hint=alice", start.authorization_url))
            .send()
            .await?;
        let back = approved
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or("provider did not redirect")?
            .to_owned();
        let query = url::Url::parse(&back)?
            .query()
            .unwrap_or_default()
            .to_owned();
        let mut headers = HeaderMap::new();
        let pair = start.set_cookie.split(';').next().unwrap_or_default();
        headers.insert(http::header::COOKIE, pair.parse()?);

        let t = Timer::start();
        let q = parse_callback_query(Some(&query))?;
        let now = config.clock().now();
        let (login, code) = check_response(&config, &q, &headers, now)?;
        t.stop(&mut scratch[1]);

        let t = Timer::start();
        let fresh = memory
            .insert_once(&replay_marker(login.state.secret()), REPLAY_TTL)
            .await?;
        t.stop(&mut scratch[2]);
        if !fresh {
            return Err("replay marker already present".into());
        }

        let before = provider.token_time();
        let t = Timer::start();
        let response =
            axum_oidc_client::__private::exchange_code(&config, &code, &login.verifier).await?;
        t.stop(&mut scratch[3]);
        let spent = provider.token_time().since(&before);

        let id_token = response.id_token.clone().ok_or("no ID token")?;
        let t = Timer::start();
        let jws = UnverifiedJws::parse(&id_token, &SigningAlgorithm::ALL)?;
        jwks.verify(&jws).await?;
        t.stop(&mut scratch[4]);

        let expect = Expectations {
            issuer: issuer.into(),
            client_id: CLIENT_ID,
            additional_audiences: &[],
            nonce: NonceCheck::Required(login.nonce.secret()),
            leeway: Duration::from_secs(60),
            max_age: None,
            subject: None,
            now,
        };
        let t = Timer::start();
        let claims: IdTokenClaims = serde_json::from_slice(jws.payload())?;
        validate_claims(&claims, &expect)?;
        if let Some(h) = claims.at_hash.as_deref() {
            verify_at_hash(h, &response.access_token, jws.alg)?;
        }
        t.stop(&mut scratch[5]);
        // The library's own composition must agree.
        verify_id_token(
            &id_token,
            &jwks,
            &SigningAlgorithm::ALL,
            &expect,
            Some(&response.access_token),
        )
        .await?;

        let t = Timer::start();
        let record = Arc::new(SessionRecord {
            tokens: TokenSet {
                access_token: AccessTokenValue::new(response.access_token.clone()),
                token_type: response.token_type.clone(),
                refresh_token: response.refresh_token.clone().map(RefreshTokenValue::new),
                id_token: Some(IdTokenValue::new(id_token.clone())),
                scope: response.scope.clone().unwrap_or_default(),
                expires_at: now + response.expires_in.unwrap_or(300) as i64,
                dpop_key: None,
            },
            claims: claims.into(),
            created_at: now,
            last_seen: now,
            user_agent: None,
            enriched_claims: Vec::new(),
            provider: None,
        });
        let id = new_session_id();
        let key = SessionKey::of(&id);
        memory
            .put(&key, record.clone(), Duration::from_secs(3600))
            .await?;
        t.stop(&mut scratch[6]);

        let t = Timer::start();
        let id2 = new_session_id();
        let _ = SessionKey::of(&id2);
        let cookie = session_cookie(config.cookie_key(), &settings, &id2, 3600);
        t.stop(&mut scratch[7]);
        std::hint::black_box(cookie);

        if let Some(remote) = &remote {
            let t = Timer::start();
            remote.put(&key, record, Duration::from_secs(3600)).await?;
            t.stop(&mut scratch[8]);
        }

        if i >= WARM {
            for (into, from) in steps.iter_mut().zip(scratch) {
                into.wall.extend(from.wall);
                into.cpu.extend(from.cpu);
            }
            provider_time.push(spent.busy.as_secs_f64() * 1e6 / spent.calls.max(1) as f64);
        }
    }
    let exchange_wall = median(&steps[3].wall);
    Ok((steps, exchange_wall, median(&provider_time)))
}
