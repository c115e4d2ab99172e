//! The provider as the layer sees it now: fixed at `build()`, or discovered (OIDC
//! Discovery 1.0 section 4) and discovered again in the background.
//!
//! A configuration whose provider could not be reached at start-up still builds: its
//! cell starts empty, the background task retries with capped back-off, and a login
//! that finds the cell empty may try once more itself (at most once a second, one
//! attempt at a time). Until a discovery succeeds, only what needs the provider
//! (starting a login, a callback, a refresh) answers 503; sessions already in a
//! shared store keep working while their tokens are valid.
//!
//! Once discovered, the metadata is fetched again when its `Cache-Control: max-age`
//! runs out (at least daily, at most every five minutes); a failed refresh keeps the
//! last good copy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use super::ProviderConfig;
use super::builder::ProviderInputs;
use crate::discovery::DiscoveryError;
use crate::health::DiscoveryHealth;

/// First wait after a failed discovery; doubled per failure up to [`BACKOFF_MAX`].
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Longest wait between two attempts while the provider cannot be reached.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long discovered metadata is used without a `Cache-Control` (and at most).
const REFRESH_MAX: Duration = Duration::from_secs(24 * 3600);
/// The shortest `Cache-Control: max-age` honoured.
const REFRESH_MIN: Duration = Duration::from_secs(300);
/// The background task never wakes more often than this.
const MIN_TASK_PAUSE: Duration = Duration::from_secs(1);
/// A login that finds no provider tries discovery itself at most this often.
const INLINE_ATTEMPT_INTERVAL: Duration = Duration::from_secs(1);

/// The provider, swapped whole when it is discovered again.
#[derive(Clone)]
pub(crate) struct ProviderCell(Arc<Cell>);

struct Cell {
    current: ArcSwapOption<ProviderConfig>,
    /// The configured issuer and client id; they never change.
    issuer: Option<String>,
    client_id: String,
    /// The requested scopes and the token lifetime assumed when a response says
    /// nothing; configured, never discovered.
    scopes: Vec<String>,
    token_max_age: Duration,
    discovery: Option<Discovery>,
}

/// What discovering again needs, and how it went.
struct Discovery {
    inputs: ProviderInputs,
    state: Mutex<State>,
    /// One attempt at a time.
    attempt: tokio::sync::Mutex<()>,
    /// Whether the background task runs.
    task_started: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    discovered_at: Option<Instant>,
    /// How long the current metadata is used before it is fetched again.
    fresh_for: Duration,
    /// Failed attempts since the last success.
    failures: u32,
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

impl std::fmt::Debug for ProviderCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCell")
            .field("issuer", &self.0.issuer)
            .field("health", &self.health())
            .finish()
    }
}

impl ProviderCell {
    /// A provider that is never discovered again (explicit endpoints).
    pub fn fixed(provider: ProviderConfig) -> Self {
        Self(Arc::new(Cell {
            issuer: provider.issuer.clone(),
            client_id: provider.client_id.clone(),
            scopes: provider.scopes.clone(),
            token_max_age: provider.token_max_age,
            current: ArcSwapOption::from_pointee(provider),
            discovery: None,
        }))
    }

    /// A provider discovered at start-up, discovered again when `max_age` (the
    /// document's `Cache-Control`) runs out.
    pub fn discovered(
        provider: ProviderConfig,
        inputs: ProviderInputs,
        max_age: Option<Duration>,
    ) -> Self {
        let state = State {
            discovered_at: Some(Instant::now()),
            fresh_for: fresh_for(max_age),
            ..State::default()
        };
        Self::with_discovery(Some(provider), inputs, state)
    }

    /// A provider to be discovered in the background.
    pub fn pending(inputs: ProviderInputs) -> Self {
        Self::with_discovery(None, inputs, State::default())
    }

    fn with_discovery(
        provider: Option<ProviderConfig>,
        inputs: ProviderInputs,
        state: State,
    ) -> Self {
        Self(Arc::new(Cell {
            issuer: inputs.issuer.clone(),
            client_id: inputs.client_id.clone(),
            scopes: inputs.scopes.clone(),
            token_max_age: inputs.token_max_age,
            current: ArcSwapOption::new(provider.map(Arc::new)),
            discovery: Some(Discovery {
                inputs,
                state: Mutex::new(state),
                attempt: tokio::sync::Mutex::new(()),
                task_started: AtomicBool::new(false),
            }),
        }))
    }

    /// The configured multi-tenant issuer template, if any.
    pub fn issuer_template(&self) -> Option<crate::issuer::IssuerTemplate> {
        match &self.0.discovery {
            Some(d) => d.inputs.issuer_template.clone(),
            None => self.get().and_then(|p| p.issuer_template.clone()),
        }
    }

    /// The public JWKs of the configured `private_key_jwt` keys.
    pub fn client_public_jwks(&self) -> Vec<serde_json::Value> {
        let jwks = |keys: &[crate::client_auth::ClientSigningKey]| {
            keys.iter()
                .map(crate::client_auth::ClientSigningKey::public_jwk)
                .collect()
        };
        match &self.0.discovery {
            Some(d) => jwks(&d.inputs.client_keys),
            None => self.get().map(|p| jwks(&p.client_keys)).unwrap_or_default(),
        }
    }

    /// The configured issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.0.client_id
    }

    /// The requested scopes.
    pub fn scopes(&self) -> &[String] {
        &self.0.scopes
    }

    /// The token lifetime assumed when a token response has no `expires_in`.
    pub fn token_max_age(&self) -> Duration {
        self.0.token_max_age
    }

    /// The provider as last discovered; `None` until a discovery succeeds.
    pub fn get(&self) -> Option<Arc<ProviderConfig>> {
        self.0.current.load_full()
    }

    /// The provider, trying discovery once more first when there is none and the
    /// last attempt is older than a second (a login after the provider came back
    /// need not wait for the background task's back-off).
    pub async fn ready(&self) -> Option<Arc<ProviderConfig>> {
        if let Some(p) = self.get() {
            return Some(p);
        }
        let d = self.0.discovery.as_ref()?;
        self.start_background();
        let due = d
            .state()
            .last_attempt
            .is_none_or(|t| t.elapsed() >= INLINE_ATTEMPT_INTERVAL);
        if due {
            self.attempt().await;
        }
        self.get()
    }

    /// Starts the background task that discovers (again) on schedule, once, when a
    /// Tokio runtime is at hand; without one, discovery happens on use.
    pub fn start_background(&self) {
        let Some(d) = &self.0.discovery else { return };
        if d.task_started.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(run(Arc::downgrade(&self.0)));
            }
            Err(_) => d.task_started.store(false, Ordering::Release),
        }
    }

    /// How discovery stands.
    pub fn health(&self) -> DiscoveryHealth {
        let Some(d) = &self.0.discovery else {
            return DiscoveryHealth::Configured;
        };
        let s = d.state();
        match (self.0.current.load().is_some(), s.discovered_at) {
            (true, Some(at)) => DiscoveryHealth::Discovered {
                age: at.elapsed(),
                failed_refreshes: s.failures,
                last_error: s.last_error.clone(),
            },
            _ => DiscoveryHealth::Pending {
                failed_attempts: s.failures,
                last_error: s.last_error.clone(),
            },
        }
    }

    /// One discovery attempt; a concurrent caller waits for the running one instead.
    async fn attempt(&self) {
        let Some(d) = &self.0.discovery else { return };
        let Ok(_one) = d.attempt.try_lock() else {
            // Another attempt is running: its outcome is this caller's too.
            let _wait = d.attempt.lock().await;
            return;
        };
        let issuer = self.0.issuer.as_deref().unwrap_or_default();
        d.state().last_attempt = Some(Instant::now());
        let document_issuer = d.inputs.document_issuer(issuer);
        let discovered =
            crate::discovery::discover_document_as(&d.inputs.http, issuer, &document_issuer);
        let outcome = match discovered.await {
            Ok((meta, max_age)) => {
                let previous = self.get();
                d.inputs
                    .make(Some(&meta), previous.as_deref())
                    .map(|p| (p, max_age))
                    .map_err(Failure::Config)
            }
            Err(e) => Err(Failure::Discovery(e)),
        };
        match outcome {
            Ok((provider, max_age)) => {
                let jwks = provider.jwks.clone();
                self.0.current.store(Some(Arc::new(provider)));
                let was_failing = {
                    let mut s = d.state();
                    let was = s.failures > 0 || s.discovered_at.is_none();
                    *s = State {
                        discovered_at: Some(Instant::now()),
                        fresh_for: fresh_for(max_age),
                        last_attempt: s.last_attempt,
                        ..State::default()
                    };
                    was
                };
                if was_failing {
                    tracing::info!(issuer, "OpenID provider discovered");
                }
                // Fetch the keys now, so the first login after start-up does not wait
                // for them; a failure here is retried on use.
                if let Some(jwks) = jwks {
                    let _ = jwks.keys().await;
                }
            }
            Err(failure) => {
                let (failures, serving) = {
                    let mut s = d.state();
                    s.failures = s.failures.saturating_add(1);
                    s.last_error = Some(crate::observe::error_chain(&failure));
                    (s.failures, s.discovered_at.is_some())
                };
                let retry_in = backoff(failures).as_secs();
                let error = crate::observe::error_chain(&failure);
                if failure.is_transient() {
                    tracing::warn!(
                        issuer,
                        reason = "discovery_failed",
                        error,
                        failures,
                        retry_in_secs = retry_in,
                        serving_last_good = serving,
                        "OpenID discovery failed; retrying"
                    );
                } else {
                    tracing::error!(
                        issuer,
                        reason = "discovery_invalid",
                        error,
                        failures,
                        retry_in_secs = retry_in,
                        serving_last_good = serving,
                        "OpenID discovery failed; check OIDC_ISSUER and the provider's metadata; retrying"
                    );
                }
            }
        }
    }

    /// The key cache of the provider as last discovered.
    fn jwks(&self) -> Option<crate::jose::JwksCache> {
        self.get()?.jwks.clone()
    }

    /// How long the background task sleeps before its next attempt.
    fn next_wait(&self) -> Duration {
        let Some(d) = &self.0.discovery else {
            return REFRESH_MAX;
        };
        let s = d.state();
        match s.discovered_at {
            _ if s.failures > 0 => {
                let since = s.last_attempt.map_or(Duration::MAX, |t| t.elapsed());
                backoff(s.failures).saturating_sub(since)
            }
            Some(at) => s.fresh_for.saturating_sub(at.elapsed()),
            None => Duration::ZERO,
        }
    }
}

impl Discovery {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Discovery(DiscoveryError),
    #[error("the discovered metadata does not fit the configuration")]
    Config(#[source] super::ConfigError),
}

impl Failure {
    /// Whether waiting may fix it: the provider could not be reached or answered
    /// with a server error. A wrong document is a configuration fault.
    fn is_transient(&self) -> bool {
        matches!(self, Self::Discovery(e) if is_transient(e))
    }
}

/// Whether a discovery error may go away by itself (connection, timeout, 5xx, 429).
pub(crate) fn is_transient(e: &DiscoveryError) -> bool {
    match e {
        DiscoveryError::Http { .. } => true,
        DiscoveryError::Status { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// The wait after `failures` consecutive failures: 1 s, 2 s, 4 s, ... up to a minute.
fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    BACKOFF_INITIAL.saturating_mul(1u32 << exp).min(BACKOFF_MAX)
}

/// How long metadata with this `max-age` is used: five minutes to a day.
fn fresh_for(max_age: Option<Duration>) -> Duration {
    max_age
        .unwrap_or(REFRESH_MAX)
        .clamp(REFRESH_MIN, REFRESH_MAX)
}

/// The background task: sleeps until discovery or the provider's keys are due, then
/// fetches what is due (the keys when their `Cache-Control` runs out, so requests
/// seldom wait for a fetch; a failure keeps the last good keys); ends when the
/// configuration is dropped.
async fn run(cell: Weak<Cell>) {
    loop {
        let wait = match cell.upgrade() {
            Some(c) => {
                let c = ProviderCell(c);
                let keys = c.jwks().map_or(REFRESH_MAX, |j| j.next_refresh_in());
                c.next_wait().min(keys).max(MIN_TASK_PAUSE)
            }
            None => return,
        };
        tokio::time::sleep(wait).await;
        let Some(c) = cell.upgrade() else { return };
        let c = ProviderCell(c);
        if c.next_wait().is_zero() {
            c.attempt().await;
        }
        if let Some(jwks) = c.jwks() {
            // A failure is logged by the cache, once per run of failures.
            let _ = jwks.refresh_if_stale().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU8;

    use super::*;

    /// A provider whose discovery document is served as `mode` says: 0 the document
    /// with `Cache-Control: max-age=600`, 1 a 500, 2 the document with another token
    /// endpoint and no `Cache-Control`.
    async fn provider(mode: Arc<AtomicU8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let doc = {
            let issuer = issuer.clone();
            move |token: &str| {
                serde_json::json!({
                    "issuer": issuer,
                    "authorization_endpoint": format!("{issuer}/authorize"),
                    "token_endpoint": format!("{issuer}/{token}"),
                    "jwks_uri": format!("{issuer}/jwks"),
                })
                .to_string()
            }
        };
        let app = axum::Router::new().route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let mode = mode.load(Ordering::SeqCst);
                let doc = doc.clone();
                async move {
                    use axum::response::IntoResponse as _;
                    let json = [("content-type", "application/json")];
                    match mode {
                        0 => {
                            (json, [("cache-control", "max-age=600")], doc("token")).into_response()
                        }
                        1 => http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                        _ => (json, doc("token2")).into_response(),
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        issuer
    }

    #[tokio::test]
    async fn a_failed_rediscovery_keeps_the_last_good_provider_and_a_new_one_replaces_it() {
        let mode = Arc::new(AtomicU8::new(0));
        let issuer = provider(mode.clone()).await;
        let config = crate::OAuthConfigurationBuilder::default()
            .with_client_id("c")
            .with_client_secret("s")
            .with_app_url("http://localhost:3000")
            .with_issuer(&issuer)
            .await
            .unwrap()
            .build()
            .unwrap();
        let cell = &config.inner.providers.first().cell;
        let first = cell.get().unwrap();
        let wait = cell.next_wait();
        assert!(
            wait > Duration::from_secs(590) && wait <= Duration::from_secs(600),
            "the document's max-age sets the next discovery: {wait:?}"
        );

        mode.store(1, Ordering::SeqCst);
        cell.attempt().await;
        assert!(
            Arc::ptr_eq(&first, &cell.get().unwrap()),
            "the last good copy stays"
        );
        assert!(
            matches!(cell.health(), DiscoveryHealth::Discovered { failed_refreshes: 1, last_error: Some(e), .. } if e.contains("500")),
            "{:?}",
            cell.health()
        );
        let wait = cell.next_wait();
        assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "a failure retries a second after the attempt: {wait:?}"
        );

        mode.store(2, Ordering::SeqCst);
        cell.attempt().await;
        let second = cell.get().unwrap();
        assert_eq!(second.token_endpoint.path(), "/token2");
        assert!(matches!(
            cell.health(),
            DiscoveryHealth::Discovered {
                failed_refreshes: 0,
                last_error: None,
                ..
            }
        ));
        assert!(
            cell.next_wait() > Duration::from_secs(23 * 3600),
            "no max-age: a day"
        );
    }

    #[test]
    fn the_back_off_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn metadata_is_fetched_again_within_five_minutes_and_a_day() {
        assert_eq!(fresh_for(None), REFRESH_MAX);
        assert_eq!(fresh_for(Some(Duration::ZERO)), REFRESH_MIN);
        assert_eq!(
            fresh_for(Some(Duration::from_secs(3600))),
            Duration::from_secs(3600)
        );
        assert_eq!(
            fresh_for(Some(Duration::from_secs(10 * 86400))),
            REFRESH_MAX
        );
    }

    #[test]
    fn only_an_unreachable_provider_or_a_server_error_is_transient() {
        let status = |status| DiscoveryError::Status {
            url: "https://op.example/.well-known/openid-configuration".into(),
            status,
        };
        assert!(is_transient(&status(503)));
        assert!(is_transient(&status(429)));
        assert!(!is_transient(&status(404)));
        assert!(!is_transient(&DiscoveryError::IssuerMismatch {
            expected: "a".into(),
            found: "b".into()
        }));
    }
}
