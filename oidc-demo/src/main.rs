//! `oidc-demo`: a small site behind `axum-oidc-client`.
//!
//! With no `OIDC_ISSUER` it starts the embedded development provider on the next
//! port, so `cargo run -p oidc-demo` shows a whole login with no setup.

mod app;
mod pages;
mod settings;

use std::net::SocketAddr;

use axum_oidc_client::{AuthenticationLayer, OAuthConfigurationBuilder, OidcLogoutHandler};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use tracing_subscriber::EnvFilter;

use crate::settings::Settings;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    if let Err(e) = run().await {
        eprintln!("oidc-demo: {e}");
        let mut source = std::error::Error::source(e.as_ref());
        while let Some(s) = source {
            eprintln!("  caused by: {s}");
            source = s.source();
        }
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;

    // Keep the embedded provider alive for the life of the process.
    let mut _provider: Option<RunningProvider> = None;
    let builder = match &settings.issuer {
        Some(issuer) => {
            let mut b = base_builder(&settings).with_client_id(
                settings
                    .client_id
                    .clone()
                    .ok_or("OIDC_CLIENT_ID is required with OIDC_ISSUER")?,
            );
            if let Some(secret) = &settings.client_secret {
                b = b.with_client_secret(secret.clone());
            }
            b.with_issuer(issuer.clone()).await?
        }
        None => {
            let provider = start_dev_provider(&settings).await?;
            let b = base_builder(&settings)
                .with_client_id(DEV_CLIENT_ID)
                .with_client_secret(DEV_CLIENT_SECRET)
                .with_issuer(provider.issuer().to_owned())
                .await?;
            tracing::info!(
                issuer = provider.issuer(),
                "started the embedded development provider: users alice, bob and carol, password = user name"
            );
            _provider = Some(provider);
            b
        }
    };
    let config = builder.build()?;
    let store =
        axum_oidc_client::store::from_url(&settings.session_store, config.cookie_key()).await?;
    let layer =
        AuthenticationLayer::with_store(config, store).with_logout_handler(OidcLogoutHandler);
    let api = app::api_layer(&settings, layer.config()).await?;
    let router = app::router(layer, api);
    tracing::info!(
        "oidc-demo listening on {} (session store: {})",
        settings.app_url,
        settings.store_kind()
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

const DEV_CLIENT_ID: &str = "oidc-demo";
const DEV_CLIENT_SECRET: &str = "oidc-demo-development-secret";

fn base_builder(s: &Settings) -> OAuthConfigurationBuilder {
    let mut b = OAuthConfigurationBuilder::default()
        .with_app_url(s.app_url.clone())
        .with_scopes(s.scopes.split_whitespace())
        // The demo's sign-out links and the checks run against it use `GET /auth/logout`;
        // the library still refuses a GET the browser marks cross-site.
        .with_logout_via_get(true);
    if let Some(k) = &s.cookie_key {
        b = b.with_private_cookie_key(k.clone());
    }
    if let Some(m) = s.refresh_margin {
        b = b.with_refresh_margin(m);
    }
    if s.scopes.split_whitespace().any(|x| x == "offline_access") && s.issuer.is_some() {
        // Many providers issue refresh tokens for offline_access only with consent.
        b = b.with_auth_param("prompt", "consent");
    }
    b
}

async fn start_dev_provider(s: &Settings) -> Result<RunningProvider, Box<dyn std::error::Error>> {
    let app = s.app_url.trim_end_matches('/');
    let client = ClientRegistration::confidential(
        DEV_CLIENT_ID,
        DEV_CLIENT_SECRET,
        format!("{app}/auth/callback"),
    )
    .with_post_logout_redirect_uri(format!("{app}/auth/logout/callback"))
    .with_backchannel_logout_uri(format!("{app}/auth/backchannel-logout"));
    let host = url::Url::parse(app)?
        .host_str()
        .unwrap_or("127.0.0.1")
        .to_owned();
    let port = s
        .dev_provider_port
        .unwrap_or(s.bind.port().saturating_add(1));
    let bind = SocketAddr::new(s.bind.ip(), port);
    let config = DevProviderConfig::default()
        .with_bind(bind)
        .with_issuer(format!("http://{host}:{port}"))
        .with_client(client);
    Ok(DevProvider::start(config)
        .await
        .map_err(|e| format!("cannot start the embedded provider on {bind}: {e}"))?)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
