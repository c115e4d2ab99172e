//! The demo's settings: one command line, each flag also read from its environment
//! variable (the library's own names, see `OAuthConfigurationBuilder::from_env`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::builder::Resettable;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, ValueEnum};
use url::{Host, Url};

/// oidc-demo: a small site behind axum-oidc-client.
///
/// Every setting is a flag and an environment variable. Without OIDC_ISSUER the demo
/// runs its own development provider next to it (sign in as alice, bob or carol; the
/// password is the user name). Prefer the environment for secrets: flags are visible
/// in the process list.
#[derive(Parser)]
#[command(name = "oidc-demo", version)]
pub struct Settings {
    /// Issuer URL of the OpenID provider, discovered at start (when it cannot be
    /// reached the demo starts anyway, logins answer 503 until it is discovered, see
    /// /readyz). Unset: the embedded development provider, which needs APP_URL on this
    /// machine (localhost or a loopback address).
    #[arg(long, env = "OIDC_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// Client id registered at the provider (required with OIDC_ISSUER).
    #[arg(long, env = "OIDC_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// Client secret (unset: a public client using PKCE only).
    #[arg(
        long,
        env = "OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Token endpoint authentication (OIDC Core 9): private_key_jwt (with
    /// OIDC_CLIENT_KEY_FILE), client_secret_jwt, client_secret_basic,
    /// client_secret_post or none. Unset: from the key, the secret and the provider's
    /// metadata. Only with OIDC_ISSUER.
    #[arg(long, env = "OIDC_CLIENT_AUTH", value_name = "METHOD")]
    pub client_auth: Option<String>,
    /// PKCS#8 PEM private key (RSA, P-256 or Ed25519) for private_key_jwt; its public
    /// key is served at `{APP_URL}{OIDC_BASE_PATH}/jwks.json`. Only with OIDC_ISSUER.
    #[arg(long, env = "OIDC_CLIENT_KEY_FILE", value_name = "FILE")]
    pub client_key_file: Option<std::path::PathBuf>,
    /// Several providers in one application: comma-separated names such as
    /// `corp,partners` (a-z, 0-9, - and _; upper case is lowered). Each is configured
    /// by `OIDC_<NAME>_ISSUER`, `OIDC_<NAME>_CLIENT_ID` and `OIDC_<NAME>_CLIENT_SECRET`
    /// (NAME upper-cased, - written _; the secret is optional), and returns to
    /// `{APP_URL}{OIDC_BASE_PATH}/callback/<name>`. `/auth/login` then shows a chooser.
    /// Not together with OIDC_ISSUER.
    #[arg(long, env = "OIDC_PROVIDERS", value_name = "NAMES")]
    pub providers: Option<String>,
    /// Public URL of the application, as browsers see it: an origin such as
    /// `https://app.example`, without a path (register
    /// `{APP_URL}{OIDC_BASE_PATH}/callback` at the provider).
    #[arg(long, env = "APP_URL", value_name = "URL", default_value = "http://localhost:3000", value_parser = parse_app_url)]
    pub app_url: Url,
    /// Listen address, IP:PORT such as 0.0.0.0:3000. Default: the port of APP_URL on
    /// its host when that is an IP address, else on 127.0.0.1.
    #[arg(long, env = "BIND", value_name = "IP:PORT", value_parser = parse_bind)]
    pub bind: Option<SocketAddr>,
    /// Space-separated scopes.
    #[arg(
        long,
        env = "OIDC_SCOPES",
        value_name = "SCOPES",
        default_value = "openid profile email offline_access"
    )]
    pub scopes: String,
    /// Session store URL (default memory): memory, redis://, postgres://, mysql://, sqlite:, tiered+redis://, ...
    #[arg(
        long,
        env = "SESSION_STORE",
        value_name = "URL",
        default_value = "memory",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub session_store: String,
    /// TTL of the local tier of a `tiered+…` SESSION_STORE, in seconds (default 300).
    /// Revocations reach every instance at once over the store's invalidation channel;
    /// while that channel is down, this is the longest a session revoked on another
    /// instance keeps working on this one.
    #[arg(long, env = "SESSION_LOCAL_TTL_SECS", value_name = "SECS", value_parser = parse_local_ttl)]
    pub session_local_ttl_secs: Option<u64>,
    /// Cookie secret, shared by every instance: `openssl rand -base64 48` (unset: random
    /// per process, so sessions die with it).
    #[arg(
        long,
        env = "COOKIE_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub cookie_key: Option<String>,
    /// PEM file of an extra CA to trust for the provider's TLS.
    #[arg(long, env = "OIDC_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<String>,
    /// Base path of the login routes (default /auth).
    #[arg(long, env = "OIDC_BASE_PATH", value_name = "PATH", value_parser = parse_base_path)]
    pub base_path: Option<String>,
    /// Refresh access tokens this many seconds before they expire (default 30).
    #[arg(long, env = "OIDC_REFRESH_MARGIN_SECS", value_name = "SECS", value_parser = parse_refresh_margin)]
    pub refresh_margin_secs: Option<u64>,
    /// Audience /api/me requires in bearer tokens (default: the client id).
    #[arg(long, env = "API_AUDIENCE", value_name = "AUD")]
    pub api_audience: Option<String>,
    /// How recent a login `/sensitive` requires, in seconds since the provider's
    /// `auth_time` (default 300). An older session logs in again with `max_age`
    /// (OIDC Core 3.1.2.1); the library's clock-skew leeway (60 s) is allowed on top.
    #[arg(long, env = "STEP_UP_MAX_AGE_SECS", value_name = "SECS", default_value_t = 300, value_parser = parse_step_up_max_age)]
    pub step_up_max_age_secs: u64,
    /// Push every authorization request to the provider (RFC 9126 PAR): OIDC_PAR=1.
    /// Providers that require it are pushed to anyway; one without a PAR endpoint is
    /// refused.
    #[arg(
        long = "par",
        env = "OIDC_PAR",
        value_name = "BOOL",
        num_args = 0..=1,
        default_value = "false",
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub par: bool,
    /// A multi-tenant issuer template (with OIDC_ISSUER at the provider's common
    /// endpoint), e.g. `https://login.microsoftonline.com/{tenantid}/v2.0`: each
    /// token's `iss` must be the template filled with its own `tid`.
    #[arg(long, env = "OIDC_ISSUER_TEMPLATE", value_name = "TEMPLATE")]
    pub issuer_template: Option<String>,
    /// Comma-separated tenant ids allowed under OIDC_ISSUER_TEMPLATE (default: every
    /// tenant).
    #[arg(
        long,
        env = "OIDC_ALLOWED_TENANTS",
        value_name = "IDS",
        value_delimiter = ','
    )]
    pub allowed_tenants: Vec<String>,
    /// Bind every session's tokens to a DPoP key of its own (RFC 9449): OIDC_DPOP=1.
    /// The provider must support DPoP (the embedded one does).
    #[arg(
        long = "dpop",
        env = "OIDC_DPOP",
        value_name = "BOOL",
        num_args = 0..=1,
        default_value = "false",
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub dpop: bool,
    /// A security profile preset: OIDC_PROFILE=fapi2 (the FAPI 2.0 Security Profile:
    /// PAR, PKCE S256, private_key_jwt, DPoP and the RFC 9207 `iss` check; weaker
    /// settings are refused at start).
    #[arg(long, env = "OIDC_PROFILE", value_name = "PROFILE", value_parser = parse_profile)]
    pub profile: Option<axum_oidc_client::SecurityProfile>,
    /// Port of the embedded development provider (default: the listen port + 1).
    #[arg(long, env = "DEV_PROVIDER_PORT", value_name = "PORT", value_parser = parse_dev_provider_port)]
    pub dev_provider_port: Option<u16>,
    /// Log format: text for people, json for one JSON object a line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, e.g. info or debug,axum_oidc_client=trace (sqlx is at warn unless
    /// named).
    #[arg(
        long = "log",
        env = "RUST_LOG",
        value_name = "FILTER",
        default_value = "info"
    )]
    pub log_filter: String,
}

/// One provider of OIDC_PROVIDERS, from its own variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedProvider {
    /// The name, as in OIDC_PROVIDERS (lower case).
    pub name: String,
    /// `OIDC_<NAME>_ISSUER`.
    pub issuer: String,
    /// `OIDC_<NAME>_CLIENT_ID`.
    pub client_id: String,
    /// `OIDC_<NAME>_CLIENT_SECRET`, when set.
    pub client_secret: Option<String>,
}

/// The variable prefix of a provider: `OIDC_<NAME>_`, NAME upper-cased, `-` as `_`.
pub fn provider_var(name: &str, what: &str) -> String {
    format!(
        "OIDC_{}_{what}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

impl Settings {
    /// Parses the command line and the environment. A variable set to an empty (or
    /// blank) value counts as unset, as in the library's `from_env`.
    pub fn load() -> Self {
        let blank = |name: &std::ffi::OsStr| {
            std::env::var_os(name).is_some_and(|v| v.to_string_lossy().trim().is_empty())
        };
        let command = Self::command().mut_args(|arg| {
            if arg.get_env().is_some_and(blank) {
                arg.env(Resettable::Reset)
            } else {
                arg
            }
        });
        let mut matches = command.get_matches();
        Self::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
    }

    /// The listen address: `BIND`, else the port of APP_URL on the loopback (or on the
    /// IP address APP_URL names). Names are never resolved: APP_URL is the public URL,
    /// which may well point at a proxy.
    pub fn listen_addr(&self) -> SocketAddr {
        if let Some(bind) = self.bind {
            return bind;
        }
        let port = self.app_url.port_or_known_default().unwrap_or(80);
        let ip = match self.app_url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        SocketAddr::new(ip, port)
    }

    /// APP_URL without its trailing slash, as the library takes it.
    pub fn app_origin(&self) -> String {
        self.app_url.as_str().trim_end_matches('/').to_owned()
    }

    /// The refresh margin, when set.
    pub fn refresh_margin(&self) -> Option<Duration> {
        self.refresh_margin_secs.map(Duration::from_secs)
    }

    /// How recent a login `/sensitive` requires.
    pub fn step_up_max_age(&self) -> Duration {
        Duration::from_secs(self.step_up_max_age_secs)
    }

    /// The providers of OIDC_PROVIDERS with their variables, read through `var` (the
    /// environment); empty without OIDC_PROVIDERS. An error names the variable to set.
    pub fn named_providers(
        &self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<NamedProvider>, String> {
        let Some(list) = &self.providers else {
            return Ok(Vec::new());
        };
        if self.issuer.is_some() {
            return Err(
                "set either OIDC_ISSUER (one provider) or OIDC_PROVIDERS (several), not both"
                    .into(),
            );
        }
        let mut names: Vec<String> = Vec::new();
        for raw in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = raw.to_ascii_lowercase();
            let valid = name.len() <= 32
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return Err(format!(
                    "OIDC_PROVIDERS={list:?}: {raw:?} is not a provider name: use 1 to 32 of a-z, 0-9, - and _"
                ));
            }
            if names.contains(&name) {
                return Err(format!("OIDC_PROVIDERS={list:?} names {name:?} twice"));
            }
            names.push(name);
        }
        if names.is_empty() {
            return Err(format!(
                "OIDC_PROVIDERS={list:?} names no provider: write e.g. OIDC_PROVIDERS=corp,partners"
            ));
        }
        let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        names
            .into_iter()
            .map(|name| {
                let required = |what: &str, hint: &str| {
                    let key = provider_var(&name, what);
                    var(&key).ok_or_else(|| {
                        format!(
                            "{key} is required: OIDC_PROVIDERS names {name:?}; set {key} to {hint}"
                        )
                    })
                };
                Ok(NamedProvider {
                    issuer: required("ISSUER", "its issuer URL")?,
                    client_id: required("CLIENT_ID", "the client id registered there")?,
                    client_secret: var(&provider_var(&name, "CLIENT_SECRET")),
                    name,
                })
            })
            .collect()
    }

    /// The store for logs: its scheme and host only, never credentials or database.
    pub fn store_for_logs(&self) -> String {
        store_for_logs(&self.session_store)
    }
}

/// `url` reduced to `scheme://host`, or to its scheme.
pub fn store_for_logs(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => match u.host_str() {
            Some(h) if !h.is_empty() => format!("{}://{h}", u.scheme()),
            _ => u.scheme().to_owned(),
        },
        Err(_) => url.split(':').next().unwrap_or_default().to_owned(),
    }
}

/// Checks APP_URL: an absolute http(s) origin that browsers can reach.
fn parse_app_url(value: &str) -> Result<Url, String> {
    let value = value.trim();
    let with_scheme = |scheme: &str| format!("set APP_URL={scheme}://{value}");
    let url = match Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        // `localhost:3000` parses as scheme `localhost`; `app.example` does not parse.
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => {
            let scheme = if value.starts_with("localhost") || value.starts_with("127.") {
                "http"
            } else {
                "https"
            };
            return Err(format!(
                "APP_URL={value:?} is not an http(s) URL: add the scheme, {}",
                with_scheme(scheme)
            ));
        }
        Err(e) => return Err(format!("APP_URL={value:?} is not a URL ({e})")),
    };
    let host = url.host_str().unwrap_or_default();
    if matches!(
        url.host(),
        Some(Host::Ipv4(ip)) if ip.is_unspecified()
    ) || matches!(url.host(), Some(Host::Ipv6(ip)) if ip.is_unspecified())
    {
        let port = url.port_or_known_default().unwrap_or(80);
        return Err(format!(
            "APP_URL={value:?}: {host} is a listen address, not a public host: set APP_URL to the URL browsers use (e.g. http://localhost:{port}) and BIND={host}:{port} to listen on every interface"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("APP_URL must not hold a user name or password".into());
    }
    if url.path() != "/" {
        return Err(format!(
            "APP_URL={value:?} has the path {:?}: APP_URL is the origin only ({}); put the base path in OIDC_BASE_PATH, e.g. OIDC_BASE_PATH={}/auth",
            url.path(),
            url.origin().ascii_serialization(),
            url.path().trim_end_matches('/')
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        let extra = &value[value.find(['?', '#']).unwrap_or(value.len())..];
        return Err(format!(
            "APP_URL={value:?} has {extra:?}: APP_URL is the origin only, set APP_URL={}",
            url.origin().ascii_serialization()
        ));
    }
    Ok(url)
}

/// Checks OIDC_BASE_PATH: an absolute path (the library checks the rest).
fn parse_base_path(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.starts_with('/') && !value.contains(['?', '#', ' ']) && !value.contains("//") {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "OIDC_BASE_PATH={value:?} is not an absolute path: write e.g. OIDC_BASE_PATH=/{}",
            value.trim_matches('/')
        ))
    }
}

/// Checks OIDC_REFRESH_MARGIN_SECS: a whole number of seconds.
fn parse_refresh_margin(value: &str) -> Result<u64, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "OIDC_REFRESH_MARGIN_SECS={value:?} is not a whole number of seconds: write e.g. OIDC_REFRESH_MARGIN_SECS=30"
        )
    })
}

/// Checks STEP_UP_MAX_AGE_SECS: a whole number of seconds, at most
/// [`MAX_MAX_AGE`](axum_oidc_client::access::MAX_MAX_AGE).
fn parse_step_up_max_age(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(secs) if secs <= axum_oidc_client::access::MAX_MAX_AGE => Ok(secs),
        _ => Err(format!(
            "STEP_UP_MAX_AGE_SECS={value:?} is not a whole number of seconds: write e.g. STEP_UP_MAX_AGE_SECS=300"
        )),
    }
}

/// Checks SESSION_LOCAL_TTL_SECS: a whole number of seconds, at least one.
fn parse_local_ttl(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(secs) if secs >= 1 => Ok(secs),
        _ => Err(format!(
            "SESSION_LOCAL_TTL_SECS={value:?} is not a whole number of seconds of at least 1: write e.g. SESSION_LOCAL_TTL_SECS=300"
        )),
    }
}

/// OIDC_PROFILE's value.
fn parse_profile(v: &str) -> Result<axum_oidc_client::SecurityProfile, String> {
    axum_oidc_client::SecurityProfile::parse(v)
        .ok_or_else(|| format!("{v:?} is not a security profile (known: fapi2)"))
}

/// Checks DEV_PROVIDER_PORT: a TCP port.
fn parse_dev_provider_port(value: &str) -> Result<u16, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "DEV_PROVIDER_PORT={value:?} is not a port number: write e.g. DEV_PROVIDER_PORT=3001"
        )
    })
}

/// Checks BIND: an IP address and a port.
fn parse_bind(value: &str) -> Result<SocketAddr, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "BIND={value:?} is not IP:PORT: write e.g. BIND=0.0.0.0:3000 (every IPv4 interface), BIND=[::]:3000 or BIND=127.0.0.1:3000"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_for_logs_keeps_scheme_and_host_only() {
        assert_eq!(
            store_for_logs("redis://user:pw@cache.internal:6379/2"),
            "redis://cache.internal"
        );
        assert_eq!(
            store_for_logs("tiered+postgres://u:pw@db/sessions?sslmode=require"),
            "tiered+postgres://db"
        );
        assert_eq!(store_for_logs("memory"), "memory");
        assert_eq!(store_for_logs("sqlite:/var/lib/demo.db"), "sqlite");
    }

    #[test]
    fn the_issuer_template_and_its_tenants_are_read() {
        let s = Settings::parse_from([
            "oidc-demo",
            "--issuer-template",
            "https://login.example/{tenantid}/v2.0",
            "--allowed-tenants",
            "t1,t2",
        ]);
        assert_eq!(
            s.issuer_template.as_deref(),
            Some("https://login.example/{tenantid}/v2.0")
        );
        assert_eq!(s.allowed_tenants, ["t1", "t2"]);
        let command = Settings::command();
        for (id, env) in [
            ("issuer_template", "OIDC_ISSUER_TEMPLATE"),
            ("allowed_tenants", "OIDC_ALLOWED_TENANTS"),
        ] {
            let arg = command.get_arguments().find(|a| a.get_id() == id);
            assert_eq!(
                arg.and_then(|a| a.get_env()),
                Some(std::ffi::OsStr::new(env))
            );
        }
    }

    #[test]
    fn oidc_dpop_and_oidc_profile_are_read_and_checked() {
        let s = Settings::parse_from(["oidc-demo"]);
        assert!(!s.dpop && s.profile.is_none());
        let command = Settings::command();
        for (id, env) in [("dpop", "OIDC_DPOP"), ("profile", "OIDC_PROFILE")] {
            let arg = command.get_arguments().find(|a| a.get_id() == id);
            assert_eq!(
                arg.and_then(|a| a.get_env()),
                Some(std::ffi::OsStr::new(env))
            );
        }
        assert!(Settings::parse_from(["oidc-demo", "--dpop=1"]).dpop);
        assert_eq!(
            Settings::parse_from(["oidc-demo", "--profile", "fapi2"]).profile,
            Some(axum_oidc_client::SecurityProfile::Fapi2)
        );
        let Err(e) = Settings::try_parse_from(["oidc-demo", "--profile", "fapi1"]) else {
            panic!("fapi1 is not a profile");
        };
        let e = e.to_string();
        assert!(e.contains("fapi2"), "{e}");
    }

    #[test]
    fn oidc_par_is_off_by_default_and_on_with_the_flag() {
        assert!(!Settings::parse_from(["oidc-demo"]).par);
        assert!(Settings::parse_from(["oidc-demo", "--par"]).par);
        let command = Settings::command();
        let arg = command.get_arguments().find(|a| a.get_id() == "par");
        assert_eq!(
            arg.and_then(|a| a.get_env()),
            Some(std::ffi::OsStr::new("OIDC_PAR"))
        );
        // `--par=VALUE` goes through the parser the environment's value does.
        let parse = |v: &str| Settings::try_parse_from(["oidc-demo", &format!("--par={v}")]);
        assert!(parse("1").unwrap().par);
        assert!(parse("true").unwrap().par);
        assert!(!parse("0").unwrap().par);
        assert!(parse("nope").is_err());
    }

    #[test]
    fn step_up_max_age_defaults_to_five_minutes_and_refuses_non_numbers() {
        let s = Settings::parse_from(["oidc-demo"]);
        assert_eq!(s.step_up_max_age(), Duration::from_secs(300));
        let s = Settings::parse_from(["oidc-demo", "--step-up-max-age-secs", " 60 "]);
        assert_eq!(s.step_up_max_age(), Duration::from_secs(60));
        for bad in ["-1", "5m", "", "99999999999"] {
            let e = Settings::try_parse_from(["oidc-demo", "--step-up-max-age-secs", bad]);
            assert!(e.is_err(), "{bad:?} must be refused");
        }
        let e = parse_step_up_max_age("5m").unwrap_err();
        assert!(e.contains("STEP_UP_MAX_AGE_SECS=\"5m\""), "{e}");
    }

    #[test]
    fn oidc_providers_reads_each_providers_variables_and_names_a_missing_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let s = Settings::parse_from(["oidc-demo", "--providers", " corp , Partner-2 "]);
        let all = env(&[
            ("OIDC_CORP_ISSUER", "https://corp.example"),
            ("OIDC_CORP_CLIENT_ID", "shop"),
            ("OIDC_CORP_CLIENT_SECRET", "s1"),
            ("OIDC_PARTNER_2_ISSUER", "https://partner.example"),
            ("OIDC_PARTNER_2_CLIENT_ID", "shop-p"),
        ]);
        let got = s.named_providers(all).unwrap();
        assert_eq!(
            got,
            [
                NamedProvider {
                    name: "corp".into(),
                    issuer: "https://corp.example".into(),
                    client_id: "shop".into(),
                    client_secret: Some("s1".into()),
                },
                NamedProvider {
                    name: "partner-2".into(),
                    issuer: "https://partner.example".into(),
                    client_id: "shop-p".into(),
                    client_secret: None,
                },
            ]
        );
        let e = s
            .named_providers(env(&[
                ("OIDC_CORP_ISSUER", "https://corp.example"),
                ("OIDC_CORP_CLIENT_ID", "shop"),
                ("OIDC_PARTNER_2_ISSUER", "https://partner.example"),
                ("OIDC_PARTNER_2_CLIENT_ID", " "),
            ]))
            .unwrap_err();
        assert!(e.starts_with("OIDC_PARTNER_2_CLIENT_ID is required"), "{e}");
        let e = s.named_providers(env(&[])).unwrap_err();
        assert!(e.starts_with("OIDC_CORP_ISSUER is required"), "{e}");

        let bad = Settings::parse_from(["oidc-demo", "--providers", "a/b"]);
        assert!(
            bad.named_providers(env(&[]))
                .unwrap_err()
                .contains("\"a/b\"")
        );
        let twice = Settings::parse_from(["oidc-demo", "--providers", "a,A"]);
        assert!(
            twice
                .named_providers(env(&[]))
                .unwrap_err()
                .contains("twice")
        );
        let both = Settings::parse_from([
            "oidc-demo",
            "--providers",
            "corp",
            "--issuer",
            "https://op.example",
        ]);
        let corp = env(&[
            ("OIDC_CORP_ISSUER", "https://c"),
            ("OIDC_CORP_CLIENT_ID", "x"),
        ]);
        assert!(both.named_providers(corp).unwrap_err().contains("not both"));
        let none = Settings::parse_from(["oidc-demo"]);
        assert!(none.named_providers(env(&[])).unwrap().is_empty());
    }

    #[test]
    fn listen_addr_defaults_to_the_loopback_at_app_url_port() {
        let s = Settings::parse_from(["oidc-demo", "--app-url", "https://app.example"]);
        assert_eq!(s.listen_addr(), "127.0.0.1:443".parse().unwrap());
        let s = Settings::parse_from(["oidc-demo", "--app-url", "http://localhost:3000/"]);
        assert_eq!(s.listen_addr(), "127.0.0.1:3000".parse().unwrap());
        assert_eq!(s.app_origin(), "http://localhost:3000");
        let s = Settings::parse_from(["oidc-demo", "--app-url", "http://[::1]:8080"]);
        assert_eq!(s.listen_addr(), "[::1]:8080".parse().unwrap());
    }
}
