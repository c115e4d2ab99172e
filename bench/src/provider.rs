//! The embedded development provider, served by the orchestrator with a middleware
//! that times its token endpoint (so the provider's own time can be told apart from
//! ours) and can add an artificial delay to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use oidc_dev_provider::{ClientRegistration, DevProviderConfig, ProviderState, ProviderStats};
use tokio::net::TcpListener;

use crate::BenchResult;

/// Client id and secret the benchmark registers.
pub const CLIENT_ID: &str = "bench";
pub const CLIENT_SECRET: &str = "bench-client-secret";

/// Time spent in the provider's token endpoint.
#[derive(Debug, Default)]
pub struct TokenTiming {
    calls: AtomicU64,
    busy_ns: AtomicU64,
    delay_ms: AtomicU64,
}

/// A snapshot of [`TokenTiming`]: calls and the provider's own handling time,
/// without the injected delay.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenTime {
    pub calls: u64,
    pub busy: Duration,
}

impl TokenTime {
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            calls: self.calls - earlier.calls,
            busy: self.busy.saturating_sub(earlier.busy),
        }
    }
}

/// A running provider.
pub struct Provider {
    pub state: ProviderState,
    timing: Arc<TokenTiming>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn time_token_endpoint(
    axum::extract::State(timing): axum::extract::State<Arc<TokenTiming>>,
    req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().ends_with("/token") {
        return next.run(req).await;
    }
    let delay = timing.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let started = Instant::now();
    let resp = next.run(req).await;
    timing
        .busy_ns
        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    timing.calls.fetch_add(1, Ordering::Relaxed);
    resp
}

impl Provider {
    /// Starts a provider on 127.0.0.1 that knows the client with `redirect_uri`.
    pub async fn start(
        redirect_uri: &str,
        tweak: impl FnOnce(DevProviderConfig) -> DevProviderConfig,
    ) -> BenchResult<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let issuer = format!("http://{addr}");
        let config = tweak(DevProviderConfig::default().with_client(
            ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET, redirect_uri),
        ));
        let state =
            tokio::task::spawn_blocking(move || ProviderState::new(config, &issuer)).await??;
        let timing = Arc::new(TokenTiming::default());
        let app = oidc_dev_provider::router(state.clone()).layer(middleware::from_fn_with_state(
            timing.clone(),
            time_token_endpoint,
        ));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            state,
            timing,
            task,
        })
    }

    pub fn issuer(&self) -> String {
        self.state.issuer().to_owned()
    }

    pub fn stats(&self) -> ProviderStats {
        self.state.stats()
    }

    pub fn token_time(&self) -> TokenTime {
        TokenTime {
            calls: self.timing.calls.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.timing.busy_ns.load(Ordering::Relaxed)),
        }
    }

    /// Adds `delay` before every token endpoint call from now on.
    pub fn set_token_delay(&self, delay: Duration) {
        self.timing
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }
}
