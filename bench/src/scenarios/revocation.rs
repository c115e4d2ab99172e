//! `revocation`: how long a revocation made on one instance takes to reach the local
//! tier of another, over each store's invalidation channel.
//!
//! Two processes share one `tiered+` store with a 300 s local TTL, so nothing
//! expires during the run: this process (instance A) and a peer (this same binary
//! with `__revocation_peer`, instance B). A writes the sessions; B reads each once,
//! which leaves a copy in its local tier. Then, one at a time, A revokes a session,
//! cycling through `remove` (logout, "sign out everywhere"), `remove_by_sid` and
//! `remove_by_sub` (back-channel logout) and `replace` (a refresh). B watches its
//! local copy and reports when it is gone. The latency is from just before A's call
//! to B seeing it gone (both read the same system clock), so it includes A's write
//! to the shared store, the publish, the delivery and B dropping its copy.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_oidc_client::CookieKey;
use axum_oidc_client::store::{
    AuthCache, SessionKey, SessionRecord, TwoTierStoreConfig, two_tier_from_url,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;

/// First argument of the peer process.
pub const PEER_ARG: &str = "__revocation_peer";

/// Revocations per store.
const REVOCATIONS: usize = 200;
/// The cookie secret both instances share (the store encrypts records with a key
/// derived from it).
const SECRET: &[u8] = b"revocation-bench-cookie-secret-0123456789-abcdefghijklmnopqrstuv";
/// The local TTL: long enough that no copy expires during the run.
const LOCAL_TTL: Duration = Duration::from_secs(300);
/// Longest a revocation may take before the run gives up on it.
const GIVE_UP: Duration = Duration::from_secs(10);

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn key() -> BenchResult<CookieKey> {
    CookieKey::derive(SECRET).ok_or_else(|| "cookie secret too short".into())
}

fn config() -> TwoTierStoreConfig {
    TwoTierStoreConfig::default().with_l1_ttl(LOCAL_TTL)
}

/// Session `i` of the run `run`: its own subject and provider session id.
fn record(run: &str, i: usize, access_token: &str) -> BenchResult<SessionRecord> {
    let now = (now_ns() / 1_000_000_000) as i64;
    Ok(serde_json::from_value(serde_json::json!({
        "created_at": now, "last_seen": now,
        "tokens": {"access_token": access_token, "token_type": "Bearer", "id_token": "h.p.s",
                   "scope": "openid", "expires_at": now + 3600},
        "claims": {"iss": "http://127.0.0.1:9", "sub": format!("{run}-user-{i}"), "aud": "bench",
                   "exp": now + 3600, "iat": now, "sid": format!("{run}-sid-{i}")}
    }))?)
}

fn store_cases(settings: &Settings) -> Vec<(&'static str, String)> {
    let mut cases = Vec::new();
    if let Some(u) = &settings.redis {
        cases.push(("redis", u.clone()));
    }
    if let Ok(u) = std::env::var("BENCH_REDIS_CLUSTER_URL") {
        cases.push(("redis cluster", u));
    }
    if let Ok(u) = std::env::var("BENCH_REDIS_SENTINEL_URL") {
        cases.push(("redis sentinel", u));
    }
    if let Some(u) = &settings.postgres {
        cases.push(("postgres", u.clone()));
    }
    if let Some(u) = &settings.mysql {
        cases.push(("mysql", u.clone()));
    }
    cases.push(("sqlite", settings.sqlite.clone()));
    cases
}

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    if !cfg!(feature = "remote-stores") {
        report.note("revocation: built without the remote-stores feature; skipped");
        return Ok(());
    }
    for (label, url) in store_cases(settings) {
        eprintln!("  store {label}");
        match measure(&url).await {
            Ok(mut ms) => {
                ms.sort_by(f64::total_cmp);
                let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
                let (p50, p99, max) = (at(0.50), at(0.99), at(1.0));
                report.push(
                    Row::new(
                        "revocation",
                        format!("two-tier over {label}: {REVOCATIONS} revocations, channel up"),
                    )
                    .figure(format!("p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"))
                    .goal("p99 ≤ 100 ms", p99 <= 100.0),
                );
            }
            Err(e) => report.note(format!("revocation/{label}: could not run: {e}")),
        }
    }
    Ok(())
}

/// Latencies in milliseconds of [`REVOCATIONS`] revocations over `url`.
async fn measure(url: &str) -> BenchResult<Vec<f64>> {
    let key = key()?;
    let a = two_tier_from_url(url, &key, Some(config())).await?;
    match a.invalidation_health() {
        Some(h) if h.is_up() => {}
        other => return Err(format!("instance A's channel is not up: {other:?}").into()),
    }
    let run = format!("rev{}", now_ns() % 1_000_000_000);
    let hour = Duration::from_secs(3600);
    // The sessions are written to the shared store directly: writes through A would
    // publish too, and over a cluster's bus those messages can still be arriving at B
    // while it warms, dropping copies the run then expects.
    let shared = axum_oidc_client::store::from_url(url, &key).await?;
    let mut keys = Vec::with_capacity(REVOCATIONS);
    let mut records = Vec::with_capacity(REVOCATIONS);
    for i in 0..REVOCATIONS {
        let k = SessionKey::from_stored(format!("{run}-key-{i}"));
        let r = Arc::new(record(&run, i, "at-1")?);
        shared.put(&k, r.clone(), hour).await?;
        keys.push(k);
        records.push(r);
    }

    let exe = std::env::current_exe()?;
    let mut peer = tokio::process::Command::new(exe)
        .arg(PEER_ARG)
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut to_peer = peer.stdin.take().ok_or("peer stdin")?;
    let mut from_peer = BufReader::new(peer.stdout.take().ok_or("peer stdout")?).lines();
    let mut expect = async |prefix: &str| -> BenchResult<String> {
        let line = tokio::time::timeout(GIVE_UP, from_peer.next_line())
            .await
            .map_err(|_| format!("the peer did not answer `{prefix}` in time"))??
            .ok_or("the peer exited")?;
        line.strip_prefix(prefix)
            .map(str::to_owned)
            .ok_or_else(|| format!("the peer said {line:?}, expected {prefix}…").into())
    };

    for k in &keys {
        to_peer
            .write_all(format!("warm {}\n", k.as_str()).as_bytes())
            .await?;
    }
    to_peer.write_all(b"warmed?\n").await?;
    let warmed: usize = expect("warm ").await?.trim().parse()?;
    if warmed != REVOCATIONS {
        return Err(format!("the peer cached {warmed} of {REVOCATIONS} sessions").into());
    }

    let mut latencies = Vec::with_capacity(REVOCATIONS);
    for (i, (k, r)) in keys.iter().zip(&records).enumerate() {
        to_peer
            .write_all(format!("watch {}\n", k.as_str()).as_bytes())
            .await?;
        expect("watching").await?;
        let start = now_ns();
        match i % 4 {
            0 => a.remove(k).await?,
            1 => {
                a.remove_by_sid(r.sid().unwrap_or_default()).await?;
            }
            2 => {
                a.remove_by_sub(r.sub()).await?;
            }
            _ => {
                let refreshed = Arc::new(record(&run, i, "at-2")?);
                if !a.replace(k, r, refreshed, hour).await? {
                    return Err("replace lost its race".into());
                }
            }
        }
        let gone: u128 = expect("gone ").await?.trim().parse()?;
        latencies.push(gone.saturating_sub(start) as f64 / 1e6);
    }
    to_peer.write_all(b"quit\n").await?;
    let _ = tokio::time::timeout(Duration::from_secs(5), peer.wait()).await;
    for k in &keys {
        let _ = a.remove(k).await;
    }
    Ok(latencies)
}

/// The peer: instance B. Reads commands on stdin, answers on stdout.
pub fn peer_main(args: &[String]) -> std::process::ExitCode {
    let Some(url) = args.first() else {
        eprintln!("usage: {PEER_ARG} STORE_URL");
        return std::process::ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(peer(url)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("revocation peer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn peer(url: &str) -> BenchResult<()> {
    let b = two_tier_from_url(url, &key()?, Some(config())).await?;
    if std::env::var_os("BENCH_REVOCATION_DEBUG").is_some() {
        let watched = b.clone();
        tokio::spawn(async move {
            let mut last = None;
            loop {
                let now = watched.invalidation_health().map(|h| h.is_up());
                if now != last {
                    eprintln!("revocation peer: channel up = {now:?} at {}", now_ns());
                    last = now;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let mut warmed = 0usize;
    let mut warm_keys: Vec<SessionKey> = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let reply = match verb {
            "warm" => {
                // A read that races with a message (A's own writes, still arriving
                // over a cluster's bus) keeps no copy: read again.
                let k = SessionKey::from_stored(arg);
                for _ in 0..20 {
                    if b.get(&k).await?.is_some() && b.is_cached_locally(&k).await {
                        warmed += 1;
                        warm_keys.push(k.clone());
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                continue;
            }
            "warmed?" => format!("warm {warmed}\n"),
            "watch" => {
                let k = SessionKey::from_stored(arg);
                if !b.is_cached_locally(&k).await {
                    let mut still = 0;
                    for w in &warm_keys {
                        if b.is_cached_locally(w).await {
                            still += 1;
                        }
                    }
                    eprintln!(
                        "revocation peer: {still} of {} warmed sessions still cached",
                        warm_keys.len()
                    );
                    return Err(format!(
                        "session {arg} is not in the local tier (channel: {:?})",
                        b.invalidation_health()
                    )
                    .into());
                }
                out.write_all(b"watching\n").await?;
                out.flush().await?;
                let deadline = std::time::Instant::now() + GIVE_UP;
                // Spin, yielding to the subscriber task on this same thread.
                while b.is_cached_locally(&k).await {
                    if std::time::Instant::now() > deadline {
                        return Err("a revocation did not arrive within 10 s".into());
                    }
                    tokio::task::yield_now().await;
                }
                let gone_at = now_ns();
                if std::env::var_os("BENCH_REVOCATION_DEBUG").is_some() {
                    let mut still = 0;
                    for w in &warm_keys {
                        if b.is_cached_locally(w).await {
                            still += 1;
                        }
                    }
                    eprintln!("revocation peer: after {arg}: {still} cached");
                }
                format!("gone {gone_at}\n")
            }
            "quit" => return Ok(()),
            other => return Err(format!("unknown command {other:?}").into()),
        };
        out.write_all(reply.as_bytes()).await?;
        out.flush().await?;
    }
    Ok(())
}
