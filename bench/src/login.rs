//! Logging in over HTTP the way a browser does, through the provider's
//! `login_hint` shortcut: `/auth/login` → provider `/authorize` → `/auth/callback`.

use std::time::{Duration, Instant};

use crate::BenchResult;

/// A client that follows no redirects and keeps no cookies (we carry them by hand).
pub fn client(pool: usize) -> BenchResult<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(pool)
        .pool_idle_timeout(Duration::from_secs(120))
        .http1_only()
        .timeout(Duration::from_secs(30))
        .build()?)
}

fn location(r: &reqwest::Response) -> BenchResult<String> {
    Ok(r.headers()
        .get("location")
        .ok_or_else(|| format!("no Location in a {} answer", r.status()))?
        .to_str()?
        .to_owned())
}

/// `name=value` of every `Set-Cookie` whose name starts with `prefix`.
fn cookie_pairs(r: &reqwest::Response, prefix: &str) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|pair| pair.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// A login the provider has approved, waiting for its callback.
pub struct PendingCallback {
    pub url: String,
    pub login_cookie: String,
}

/// Starts a login at the app and has the provider approve `user`.
pub async fn authorize(
    http: &reqwest::Client,
    origin: &str,
    user: &str,
) -> BenchResult<PendingCallback> {
    let start = http
        .get(format!("{origin}/auth/login?next=/"))
        .send()
        .await?;
    if start.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(format!("/auth/login answered {}", start.status()).into());
    }
    let login_cookie = cookie_pairs(&start, "axum_oidc_login_")
        .into_iter()
        .next()
        .ok_or("no login cookie")?;
    let authorize = location(&start)?;
    let approved = http
        .get(format!("{authorize}&login_hint={user}"))
        .send()
        .await?;
    if !approved.status().is_redirection() {
        return Err(format!("provider answered {}", approved.status()).into());
    }
    Ok(PendingCallback {
        url: location(&approved)?,
        login_cookie,
    })
}

/// Completes a login; returns the `axum_oidc_session=...` pair and the callback's
/// round-trip time.
pub async fn complete(
    http: &reqwest::Client,
    pending: &PendingCallback,
) -> BenchResult<(String, Duration)> {
    let started = Instant::now();
    let done = http
        .get(&pending.url)
        .header("cookie", &pending.login_cookie)
        .send()
        .await?;
    let took = started.elapsed();
    if done.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(format!("callback answered {}", done.status()).into());
    }
    let session = cookie_pairs(&done, "axum_oidc_session=")
        .into_iter()
        .next()
        .ok_or("no session cookie")?;
    Ok((session, took))
}

/// A whole login; returns the session cookie pair.
pub async fn login(http: &reqwest::Client, origin: &str, user: &str) -> BenchResult<String> {
    let pending = authorize(http, origin, user).await?;
    Ok(complete(http, &pending).await?.0)
}

/// GET `path` with optional cookie, `Accept: application/json`; returns the status.
pub async fn probe(
    http: &reqwest::Client,
    origin: &str,
    path: &str,
    cookie: Option<&str>,
) -> BenchResult<u16> {
    let mut req = http
        .get(format!("{origin}{path}"))
        .header("accept", "application/json");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    Ok(req.send().await?.status().as_u16())
}
