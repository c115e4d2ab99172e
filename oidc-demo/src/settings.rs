//! The demo's environment.

use std::net::{SocketAddr, ToSocketAddrs};

/// Settings read from the environment (see the README).
#[derive(Debug)]
pub struct Settings {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub app_url: String,
    pub bind: SocketAddr,
    pub scopes: String,
    pub session_store: String,
    pub cookie_key: Option<String>,
    pub dev_provider_port: Option<u16>,
    pub api_audience: Option<String>,
    pub refresh_margin: Option<std::time::Duration>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let app_url = var("APP_URL").unwrap_or_else(|| "http://localhost:3000".into());
        let parsed =
            url::Url::parse(&app_url).map_err(|_| format!("APP_URL is not a URL: {app_url:?}"))?;
        let host = parsed.host_str().ok_or("APP_URL has no host")?;
        let port = parsed
            .port_or_known_default()
            .ok_or("APP_URL has no port")?;
        // Bind to the host of APP_URL; `localhost` means the IPv4 loopback here.
        let host = if host == "localhost" {
            "127.0.0.1"
        } else {
            host.trim_matches(['[', ']'])
        };
        let bind = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .next()
            .ok_or("APP_URL host does not resolve")?;
        let dev_provider_port = match var("DEV_PROVIDER_PORT") {
            Some(p) => Some(
                p.parse()
                    .map_err(|_| "DEV_PROVIDER_PORT must be a port number")?,
            ),
            None => None,
        };
        let refresh_margin = match var("OIDC_REFRESH_MARGIN_SECS") {
            Some(m) => Some(std::time::Duration::from_secs(
                m.parse()
                    .map_err(|_| "OIDC_REFRESH_MARGIN_SECS must be a number of seconds")?,
            )),
            None => None,
        };
        Ok(Self {
            refresh_margin,
            issuer: var("OIDC_ISSUER"),
            client_id: var("OIDC_CLIENT_ID"),
            client_secret: var("OIDC_CLIENT_SECRET"),
            app_url: app_url.trim_end_matches('/').to_owned(),
            bind,
            scopes: var("OIDC_SCOPES")
                .unwrap_or_else(|| "openid profile email offline_access".into()),
            session_store: var("SESSION_STORE").unwrap_or_else(|| "memory".into()),
            cookie_key: var("COOKIE_KEY"),
            dev_provider_port,
            api_audience: var("API_AUDIENCE"),
        })
    }

    /// The store's scheme, for logs (never the URL: it may hold a password).
    pub fn store_kind(&self) -> &str {
        self.session_store.split(':').next().unwrap_or("memory")
    }
}
