//! The HTTP router and the server lifecycle.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::DevProviderConfig;
use crate::error::DevProviderError;
use crate::state::{ProviderState, ProviderStats};
use crate::{authorize, discovery, login, logout, par, revoke, token, userinfo};

/// Builds the provider's routes for embedding in another server.
///
/// The endpoints are mounted below the path of the issuer (none for
/// `http://host:port`), as required for discovery at
/// `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery
/// 1.0 section 4).
pub fn router(state: ProviderState) -> Router {
    let prefix = url::Url::parse(state.issuer())
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let routes = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/login", post(login::login))
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/revoke", post(revoke::revoke))
        .route("/par", post(par::par))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .with_state(state);
    if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(&prefix, routes)
    }
}

/// Starts a provider on its own listener.
#[derive(Debug, Clone, Copy)]
pub struct DevProvider;

impl DevProvider {
    /// Binds `config.bind`, derives the issuer (`http://{bound addr}` unless
    /// configured), generates keys and serves the provider on a background
    /// task until [`RunningProvider::shutdown`] is called or the handle is
    /// dropped.
    pub async fn start(config: DevProviderConfig) -> Result<RunningProvider, DevProviderError> {
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        // RSA key generation is CPU-bound; keep it off the async workers.
        let state = tokio::task::spawn_blocking(move || ProviderState::new(config, &issuer))
            .await
            .map_err(|e| DevProviderError::Keys(e.to_string()))??;
        let app = router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // Fires on an explicit shutdown and when the handle is dropped.
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "dev provider server stopped with an error");
            }
        });
        tracing::info!(issuer = %state.issuer(), "oidc-dev-provider listening");
        Ok(RunningProvider {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// Handle to a provider started with [`DevProvider::start`]. Dropping it
/// stops the server; keep it alive as long as the provider is needed.
#[derive(Debug)]
pub struct RunningProvider {
    state: ProviderState,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningProvider {
    /// The issuer identifier (no trailing slash).
    pub fn issuer(&self) -> &str {
        self.state.issuer()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state, e.g. to mount [`router`] elsewhere as well.
    pub fn state(&self) -> &ProviderState {
        &self.state
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ProviderStats {
        self.state.stats()
    }

    /// Ends every session of `sub` and sends back-channel logout tokens; see
    /// [`ProviderState::logout_subject`]. Returns the tokens delivered.
    pub async fn logout_subject(&self, sub: &str) -> usize {
        self.state.logout_subject(sub).await
    }

    /// Changes the lifetime of access tokens issued from now on.
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.state.set_access_token_ttl(ttl);
    }

    /// Stops accepting connections and waits (at most 5 s) for open ones to
    /// finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
