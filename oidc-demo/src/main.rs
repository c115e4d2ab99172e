//! `oidc-demo`: a small site behind `axum-oidc-client`.
//!
//! With no `OIDC_ISSUER` it starts the embedded development provider on the next
//! port, so `cargo run -p oidc-demo` shows a whole login with no setup. Every setting
//! is a flag and an environment variable: `oidc-demo --help`.

mod admin;
mod app;
mod client_auth;
mod pages;
mod sensitive;
mod settings;
mod spa;

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::time::Duration;

use axum_oidc_client::client_auth::ClientSigningKey;
use axum_oidc_client::{
    AuthenticationLayer, OAuthConfigurationBuilder, OidcLogoutHandler, ProviderSettings,
    SecurityProfile,
};
use oidc_dev_provider::{
    ClientRegistration, DevProvider, DevProviderConfig, RunningProvider, SigningAlg,
};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, Settings};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long in-flight requests get after SIGTERM or SIGINT before the process exits.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

fn main() {
    let settings = Settings::load();
    init_logs(&settings);
    let format = settings.log_format;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => fail(format, &e),
    };
    if let Err(e) = runtime.block_on(run(settings)) {
        fail(format, e.as_ref());
    }
}

/// Logs on stdout: text (no ANSI colours unless stdout is a terminal and NO_COLOR is
/// unset) or JSON lines; `RUST_LOG` filters, with sqlx at `warn` unless named (it logs
/// PostgreSQL's notices at `info` on every start).
fn init_logs(s: &Settings) {
    let filter = EnvFilter::builder().parse_lossy(format!("sqlx=warn,{}", s.log_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match s.log_format {
        LogFormat::Json => builder.json().with_ansi(false).init(),
        LogFormat::Text => {
            let colour = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(colour).init();
        }
    }
}

/// Prints a start-up error with its whole cause chain, each cause once, and exits 1.
fn fail(format: LogFormat, e: &(dyn std::error::Error + 'static)) -> ! {
    let mut chain: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        // A message that already quotes its source's text says it once.
        if !chain.last().is_some_and(|prev| prev.contains(&text)) {
            chain.push(text);
        }
        next = err.source();
    }
    match format {
        LogFormat::Json => {
            tracing::error!(error = chain.join(": "), "oidc-demo cannot start");
        }
        LogFormat::Text => {
            eprintln!("oidc-demo: error: {}", chain[0]);
            for cause in &chain[1..] {
                eprintln!("  caused by: {cause}");
            }
        }
    }
    std::process::exit(1);
}

async fn run(settings: Settings) -> Result<(), BoxError> {
    app::install_metrics()?;
    let listen = settings.listen_addr();
    let app_url = settings.app_origin();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} (set BIND to another address): {e}"))?;
    let listen = listener.local_addr()?;

    // Keep the embedded provider alive for the life of the process.
    let mut _provider: Option<RunningProvider> = None;
    let named = settings.named_providers(|k| std::env::var(k).ok())?;
    if settings.issuer.is_none()
        && (settings.client_auth.is_some() || settings.client_key_file.is_some())
    {
        return Err(
            "OIDC_CLIENT_AUTH and OIDC_CLIENT_KEY_FILE need OIDC_ISSUER (neither the \
                    embedded provider nor OIDC_PROVIDERS takes them)"
                .into(),
        );
    }
    let builder = match &settings.issuer {
        // OIDC_PROVIDERS: every provider discovered in the background, so that one
        // that is down stops neither the start nor the others (see /readyz).
        None if !named.is_empty() => {
            let mut b = base_builder(&settings);
            for p in named {
                let mut provider = ProviderSettings::new()
                    .with_issuer(p.issuer)
                    .with_client_id(p.client_id);
                if let Some(secret) = p.client_secret {
                    provider = provider.with_client_secret(secret);
                }
                b = b.with_provider(p.name, provider);
            }
            b
        }
        Some(issuer) => {
            let mut b = base_builder(&settings).with_client_id(
                settings
                    .client_id
                    .clone()
                    .ok_or("OIDC_CLIENT_ID (--client-id) is required with OIDC_ISSUER")?,
            );
            if let Some(secret) = &settings.client_secret {
                b = b.with_client_secret(secret.clone());
            }
            b = client_auth::apply(
                b,
                settings.client_auth.as_deref(),
                settings.client_key_file.as_deref(),
            )?;
            if let Some(template) = &settings.issuer_template {
                b = b.with_issuer_template(template.clone());
            }
            if !settings.allowed_tenants.is_empty() {
                b = b.with_allowed_tenants(settings.allowed_tenants.iter().map(|t| t.trim()));
            }
            // A provider that cannot be reached does not stop the start: logins answer
            // 503 until it is discovered in the background (see /readyz).
            b.with_issuer_or_retry_in_background(issuer.clone()).await?
        }
        None => {
            let (provider, client_key) = start_dev_provider(&settings, listen).await?;
            let b = match client_key {
                // OIDC_PROFILE=fapi2: private_key_jwt with the key the provider knows.
                Some(key) => base_builder(&settings).with_client_signing_key(key),
                None => base_builder(&settings).with_client_secret(DEV_CLIENT_SECRET),
            };
            let b = b
                .with_client_id(DEV_CLIENT_ID)
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
    let config = builder.build().map_err(|e| -> BoxError {
        match &e {
            // The library names its own settings; say which variables they came from.
            axum_oidc_client::ConfigError::Provider { name, .. } => format!(
                "{e} (provider {name} of OIDC_PROVIDERS is set by {}, {} and {})",
                settings::provider_var(name, "ISSUER"),
                settings::provider_var(name, "CLIENT_ID"),
                settings::provider_var(name, "CLIENT_SECRET"),
            )
            .into(),
            axum_oidc_client::ConfigError::Invalid {
                name: "pushed_authorization_requests",
                ..
            } if settings.par => format!("{e} (OIDC_PAR=1 asks for it)").into(),
            axum_oidc_client::ConfigError::Invalid {
                name: "security_profile",
                ..
            } => format!(
                "{e} (OIDC_PROFILE=fapi2 asks for it: set OIDC_CLIENT_AUTH=private_key_jwt \
                 with OIDC_CLIENT_KEY_FILE, and leave OIDC_PAR and OIDC_DPOP unset or on)"
            )
            .into(),
            _ => e.into(),
        }
    })?;
    let issuer = match config.provider_names().as_slice() {
        [] => config.issuer().unwrap_or_default().to_owned(),
        names => names
            .iter()
            .map(|n| format!("{n}={}", config.provider_issuer(n).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    // Unset: the library's defaults (a 5-minute local tier for `tiered+` URLs, whose
    // invalidation channel carries revocations; the TTL is the bound while it is down).
    let store = match settings.session_local_ttl_secs {
        Some(secs) => {
            let local_tier = axum_oidc_client::TwoTierStoreConfig::default()
                .with_l1_ttl(Duration::from_secs(secs));
            axum_oidc_client::store::from_url_with(
                &settings.session_store,
                config.cookie_key(),
                local_tier,
            )
            .await
        }
        None => {
            axum_oidc_client::store::from_url(&settings.session_store, config.cookie_key()).await
        }
    }
    .map_err(|e| store_error(&settings, e))?;
    let layer = AuthenticationLayer::with_store(config, store.clone())
        .with_logout_handler(OidcLogoutHandler);
    let api = app::api_layer(&settings, layer.config(), store).await?;
    let router = app::router(layer, api, settings.step_up_max_age());
    tracing::info!(
        issuer,
        store = settings.store_for_logs(),
        listen = %listen,
        public_url = app_url,
        "oidc-demo serving {app_url}: issuer {issuer}, listening on {listen}"
    );

    // SIGTERM/SIGINT: stop accepting, let in-flight requests finish (at most
    // SHUTDOWN_GRACE), then exit 0.
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: finishing in-flight requests");
        let _ = stopping_tx.send(());
    });
    tokio::select! {
        served = serve => served?,
        () = async {
            if stopping_rx.await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("requests still running {}s after the signal; exiting", SHUTDOWN_GRACE.as_secs());
        }
    }
    tracing::info!("oidc-demo stopped");
    Ok(())
}

/// A start-up error with the setting to fix; its source keeps the cause chain (which
/// `fail` prints without repeating the text this message already quotes).
#[derive(Debug)]
struct Fix {
    message: String,
    source: BoxError,
}

impl std::fmt::Display for Fix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fix {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// A session store that cannot be opened, with SESSION_STORE named (never its
/// credentials: the library's message holds the scheme and host only).
fn store_error(s: &Settings, e: axum_oidc_client::StoreError) -> BoxError {
    let message = match &e {
        axum_oidc_client::StoreError::Connect { .. } => {
            format!("{e}: check SESSION_STORE and that the server is running")
        }
        _ => format!("SESSION_STORE ({}): {e}", s.store_for_logs()),
    };
    Box::new(Fix {
        message,
        source: Box::new(e),
    })
}

const DEV_CLIENT_ID: &str = "oidc-demo";
const DEV_CLIENT_SECRET: &str = "oidc-demo-development-secret";

fn base_builder(s: &Settings) -> OAuthConfigurationBuilder {
    let mut b = OAuthConfigurationBuilder::default()
        .with_app_url(s.app_origin())
        .with_scopes(s.scopes.split_whitespace())
        // The demo's sign-out links and the checks run against it use `GET /auth/logout`;
        // the library still refuses a GET the browser marks cross-site.
        .with_logout_via_get(true);
    if let Some(k) = &s.cookie_key {
        b = b.with_private_cookie_key(k.clone());
    }
    if let Some(m) = s.refresh_margin() {
        b = b.with_refresh_margin(m);
    }
    if let Some(ca) = &s.ca_cert {
        b = b.with_custom_ca_cert(ca.clone());
    }
    if let Some(p) = &s.base_path {
        b = b.with_base_path(p.clone());
    }
    if s.par {
        // Every provider's default, named ones included.
        b = b.with_pushed_authorization_requests(true);
    }
    if s.dpop {
        b = b.with_dpop(true);
    }
    if let Some(profile) = s.profile {
        b = b.with_security_profile(profile);
    }
    let external = s.issuer.is_some() || s.providers.is_some();
    if s.scopes.split_whitespace().any(|x| x == "offline_access") && external {
        // Many providers issue refresh tokens for offline_access only with consent.
        b = b.with_auth_param("prompt", "consent");
    }
    b
}

/// The embedded provider listens next to the app (the listen IP, the next port or
/// DEV_PROVIDER_PORT); its issuer uses APP_URL's host.
///
/// Its client `oidc-demo` follows the demo's settings: with OIDC_DPOP it is registered
/// for DPoP-bound tokens only (RFC 9449 section 5.2). With OIDC_PROFILE=fapi2 it
/// authenticates with `private_key_jwt` (RFC 7523 section 2.2) with an ephemeral P-256
/// key made here, returned for the library (no secret), must push its authorization
/// requests (RFC 9126 section 6) and get DPoP-bound tokens, and the provider signs ID
/// tokens with ES256 (FAPI 2.0 Security Profile section 5.4.1 refuses RS256).
async fn start_dev_provider(
    s: &Settings,
    listen: SocketAddr,
) -> Result<(RunningProvider, Option<ClientSigningKey>), BoxError> {
    let app = s.app_origin();
    if !is_local(&s.app_url) {
        // The embedded provider speaks plain http, which the library accepts from this
        // machine only.
        return Err(format!(
            "APP_URL={app} is not on this machine, and the embedded development provider \
             (used without OIDC_ISSUER) only works at http://localhost: set OIDC_ISSUER, \
             OIDC_CLIENT_ID and OIDC_CLIENT_SECRET to your provider, or use \
             APP_URL=http://localhost:{}",
            listen.port()
        )
        .into());
    }
    let base = s
        .base_path
        .as_deref()
        .unwrap_or("/auth")
        .trim_end_matches('/');
    let redirect_uri = format!("{app}{base}/callback");
    let fapi2 = s.profile == Some(SecurityProfile::Fapi2);
    let (client, client_key) = if fapi2 {
        let key = ephemeral_client_key()?;
        let client =
            ClientRegistration::private_key_jwt(DEV_CLIENT_ID, key.public_jwk(), redirect_uri)
                .with_require_pushed_authorization_requests(true);
        (client, Some(key))
    } else {
        let client =
            ClientRegistration::confidential(DEV_CLIENT_ID, DEV_CLIENT_SECRET, redirect_uri);
        (client, None)
    };
    let client = client
        .with_post_logout_redirect_uri(format!("{app}{base}/logout/callback"))
        .with_backchannel_logout_uri(format!("{app}{base}/backchannel-logout"))
        .with_dpop_bound_access_tokens(s.dpop || fapi2);
    let host = s.app_url.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = s
        .dev_provider_port
        .unwrap_or(listen.port().saturating_add(1));
    let bind = SocketAddr::new(listen.ip(), port);
    let mut config = DevProviderConfig::default()
        .with_bind(bind)
        .with_issuer(format!("http://{host}:{port}"))
        .with_client(client);
    if fapi2 {
        config = config.with_signing_alg(SigningAlg::ES256);
    }
    let provider = DevProvider::start(config).await.map_err(|e| {
        format!("cannot start the embedded provider on {bind} (set DEV_PROVIDER_PORT): {e}")
    })?;
    if let Some(key) = &client_key {
        tracing::info!(
            kid = key.kid(),
            "OIDC_PROFILE=fapi2: the embedded provider knows client {DEV_CLIENT_ID} by an \
             ephemeral ES256 key (private_key_jwt, no secret), requires PAR and DPoP, and \
             signs ID tokens with ES256"
        );
    } else if s.dpop {
        tracing::info!(
            "OIDC_DPOP=1: the embedded provider issues client {DEV_CLIENT_ID} DPoP-bound tokens only"
        );
    }
    Ok((provider, client_key))
}

/// A fresh P-256 key for `private_key_jwt`, for the life of the process (the
/// embedded provider forgets its registration at exit too).
fn ephemeral_client_key() -> Result<ClientSigningKey, BoxError> {
    let pair = axum_oidc_client::dpop::DpopKey::generate()?;
    Ok(ClientSigningKey::from_pkcs8_der(pair.to_pkcs8_der(), None)?)
}

/// Whether `url` names this machine: `localhost` or a loopback address.
fn is_local(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
