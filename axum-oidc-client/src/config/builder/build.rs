//! `build()`: every setting validated, then the configuration by concern.

use std::sync::Arc;
use std::time::Duration;

use cookie::SameSite;
use url::Url;

use super::provider::ProviderInputs;
use super::{DEFAULT_SCOPES, OAuthConfigurationBuilder, ProviderSettings};
use crate::config::providers::{ProviderEntry, Providers, check_name};
use crate::config::{
    ConfigError, ConfigInner, IdentityMode, OAuthConfiguration, ProviderCell, Routes,
    url_is_acceptable,
};
use crate::jose::SigningAlgorithm;
use crate::pkce::CodeChallengeMethod;
use crate::session::cookies::{CookieKey, CookieSettings};

impl OAuthConfigurationBuilder {
    pub(super) fn http_client(&self) -> Result<reqwest::Client, ConfigError> {
        let mut b = reqwest::Client::builder()
            .timeout(self.http_timeout.unwrap_or(Duration::from_secs(10)))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("axum-oidc-client/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &self.ca_cert {
            b = add_custom_ca(b, path)?;
        }
        b.build().map_err(ConfigError::Http)
    }

    /// Validates everything and builds the configuration.
    pub fn build(mut self) -> Result<OAuthConfiguration, ConfigError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.named.is_empty() {
            self.apply_security_profile()?;
        } else if self.security_profile.is_some() {
            // The profile's shared parts (PKCE, algorithms) apply to every provider;
            // its client and PAR rules are checked on each provider's settings.
            let mut shared = OAuthConfigurationBuilder {
                security_profile: self.security_profile,
                client_auth: Some(crate::config::ClientAuthMethod::PrivateKeyJwt),
                pkce: self.pkce,
                insecure_plain_pkce: self.insecure_plain_pkce,
                algorithms: self.algorithms.take(),
                dpop: self.dpop,
                par_disabled: self.par_disabled,
                ..Default::default()
            };
            shared.apply_security_profile()?;
            (self.pkce, self.algorithms) = (shared.pkce, shared.algorithms);
        }
        let http = self.http_client()?;
        let insecure = self.insecure_http;
        let url = |name: &'static str, v: &str| -> Result<Url, ConfigError> {
            let u = Url::parse(v).map_err(|_| ConfigError::InvalidUrl {
                name,
                value: v.to_owned(),
            })?;
            if !insecure && !url_is_acceptable(&u) {
                return Err(ConfigError::InsecureUrl(name));
            }
            Ok(u)
        };
        if self.named.is_empty() {
            self.client_id
                .as_ref()
                .filter(|c| !c.is_empty())
                .ok_or(ConfigError::Missing("client_id"))?;
        } else {
            self.check_no_single_provider_settings()?;
        }

        let base_path = normalize_base_path(self.base_path.as_deref().unwrap_or("/auth"))?;
        let app_url = match (&self.app_url, &self.redirect_uri) {
            (Some(a), _) => url("app_url", a)?,
            (None, Some(r)) => {
                let r = url("redirect_uri", r)?;
                Url::parse(&r.origin().ascii_serialization())
                    .map_err(|_| ConfigError::Missing("app_url"))?
            }
            (None, None) => return Err(ConfigError::Missing("app_url (or redirect_uri)")),
        };
        let origin = app_url.origin().ascii_serialization();
        let redirect_uri = match &self.redirect_uri {
            Some(r) => url("redirect_uri", r)?,
            None => url("redirect_uri", &format!("{origin}{base_path}/callback"))?,
        };
        // The layer answers the callback at `{base_path}/callback`, and the login cookie
        // is scoped to the base path: a redirect URI elsewhere could never complete.
        if !redirect_uri
            .path()
            .ends_with(&format!("{base_path}/callback"))
        {
            return Err(ConfigError::Invalid {
                name: "redirect_uri",
                reason: format!("its path must end with {base_path}/callback (see with_base_path)"),
            });
        }
        let post_logout_redirect_uri = match &self.post_logout_redirect_uri {
            Some(r) => url("post_logout_redirect_uri", r)?,
            None => url(
                "post_logout_redirect_uri",
                &format!("{origin}{base_path}/logout/callback"),
            )?,
        };

        let pkce = self.pkce.unwrap_or_default();
        if pkce == CodeChallengeMethod::InsecurePlain && !self.insecure_plain_pkce {
            return Err(ConfigError::Invalid {
                name: "code_challenge_method",
                reason: "plain is only available through insecure_with_plain_pkce()".into(),
            });
        }
        let cookie_key = match &self.cookie_secret {
            Some(s) => {
                if s.len() >= crate::session::cookies::MIN_SECRET_LEN
                    && let Some(reason) = crate::session::cookies::secret_weakness(s)
                {
                    return Err(ConfigError::Invalid {
                        name: "COOKIE_KEY",
                        reason,
                    });
                }
                CookieKey::derive(s.as_bytes()).ok_or(ConfigError::CookieKeyTooShort)?
            }
            None => {
                tracing::warn!(
                    "no cookie key configured: generated a random one; sessions will not survive a restart nor work across instances"
                );
                CookieKey::generate()
            }
        };

        let algorithms = self
            .algorithms
            .take()
            .unwrap_or_else(|| SigningAlgorithm::ALL.to_vec());
        if algorithms.is_empty() {
            return Err(ConfigError::Invalid {
                name: "allowed_algorithms",
                reason: "empty".into(),
            });
        }
        let session_max_age = self
            .session_max_age
            .unwrap_or(Duration::from_secs(12 * 3600));
        let idle_timeout = self
            .idle_timeout
            .unwrap_or(Duration::from_secs(3600))
            .min(session_max_age);
        if idle_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid {
                name: "idle_timeout",
                reason: "must be at least one second".into(),
            });
        }
        let session_name = self
            .session_cookie_name
            .take()
            .unwrap_or_else(|| "axum_oidc_session".into());
        if session_name.is_empty()
            || !session_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::Invalid {
                name: "session_cookie_name",
                reason: "use letters, digits, - and _".into(),
            });
        }

        let shared = Shared {
            http,
            pkce,
            algorithms,
            token_max_age: self.token_max_age.unwrap_or(Duration::from_secs(300)),
            leeway: self.leeway.unwrap_or(Duration::from_secs(60)),
            jwks_refetch_interval: self
                .jwks_refetch_interval
                .unwrap_or(Duration::from_secs(10)),
            insecure,
        };
        let named = std::mem::take(&mut self.named);
        let entries = if named.is_empty() {
            let display_name = self
                .issuer
                .as_deref()
                .and_then(|i| Url::parse(i).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "default".into());
            vec![ProviderEntry {
                name: None,
                display_name: display_name.into(),
                cell: make_cell(&mut self, &shared)?,
                redirect_uri: redirect_uri.clone(),
            }]
        } else {
            self.named_entries(named, &origin, &base_path, &shared)?
        };

        Ok(OAuthConfiguration {
            inner: Arc::new(ConfigInner {
                providers: Providers::new(entries),
                routes: Routes {
                    redirect_uri,
                    post_logout_redirect_uri,
                    token_request_redirect_uri: self.token_request_redirect_uri.unwrap_or(true),
                    logout_via_get: self.logout_via_get.unwrap_or(false),
                    base_path: base_path.clone(),
                },
                cookie_key,
                cookies: CookieSettings {
                    session_name,
                    login_prefix: "axum_oidc_login_".into(),
                    secure: app_url.scheme() == "https",
                    login_path: base_path,
                    same_site: SameSite::Lax,
                },
                policy: crate::session::SessionPolicy::new(idle_timeout, session_max_age)
                    .with_refresh_margin(self.refresh_margin.unwrap_or(Duration::from_secs(30))),
                store_timeout: self.store_timeout.unwrap_or(Duration::from_secs(2)),
                revoke_on_logout: self.revoke_on_logout.unwrap_or(true),
                clock: self.clock.unwrap_or_default(),
            }),
        })
    }
}

/// What every provider of a configuration shares.
struct Shared {
    http: reqwest::Client,
    pkce: CodeChallengeMethod,
    algorithms: Vec<SigningAlgorithm>,
    token_max_age: Duration,
    leeway: Duration,
    jwks_refetch_interval: Duration,
    insecure: bool,
}

impl OAuthConfigurationBuilder {
    /// A configuration with named providers takes every provider setting from them.
    fn check_no_single_provider_settings(&self) -> Result<(), ConfigError> {
        let single = self.client_id.is_some()
            || self.client_secret.is_some()
            || self.issuer.is_some()
            || self.metadata.is_some()
            || self.authorization_endpoint.is_some()
            || self.token_endpoint.is_some()
            || self.redirect_uri.is_some()
            || self.identity != IdentityMode::OpenIdConnect;
        if single {
            return Err(ConfigError::Invalid {
                name: "with_provider",
                reason: "a configuration with named providers takes the issuer, client and \
                         endpoints from each provider's ProviderSettings, not from the \
                         builder (nor with_redirect_uri: each gets {base}/callback/NAME)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The named providers, each with its redirect URI `{origin}{base}/callback/NAME`.
    fn named_entries(
        &mut self,
        named: Vec<(String, ProviderSettings)>,
        origin: &str,
        base_path: &str,
        shared: &Shared,
    ) -> Result<Vec<ProviderEntry>, ConfigError> {
        let mut entries: Vec<ProviderEntry> = Vec::with_capacity(named.len());
        for (name, settings) in named {
            check_name(&name)?;
            if entries.iter().any(|e| e.name() == Some(name.as_str())) {
                return Err(ConfigError::Invalid {
                    name: "provider name",
                    reason: format!("{name:?} is configured twice"),
                });
            }
            let in_provider = |e| ConfigError::Provider {
                name: name.clone(),
                source: Box::new(e),
            };
            let mut b = settings.inner;
            // The builder's scopes, extra parameters and PAR are every provider's default.
            if b.scopes.is_none() {
                b.scopes.clone_from(&self.scopes);
            }
            let mut auth_params = self.auth_params.clone();
            auth_params.append(&mut b.auth_params);
            b.auth_params = auth_params;
            b.pushed_authorization_requests |= self.pushed_authorization_requests;
            b.par_disabled |= self.par_disabled;
            b.dpop = b.dpop.or(self.dpop);
            b.security_profile = b.security_profile.or(self.security_profile);
            b.apply_security_profile().map_err(in_provider)?;
            b.client_id
                .as_ref()
                .filter(|c| !c.is_empty())
                .ok_or(ConfigError::Missing("client_id"))
                .map_err(in_provider)?;
            let cell = make_cell(&mut b, shared).map_err(in_provider)?;
            let redirect_uri = Url::parse(&format!("{origin}{base_path}/callback/{name}"))
                .map_err(|_| ConfigError::InvalidUrl {
                    name: "redirect_uri",
                    value: format!("{origin}{base_path}/callback/{name}"),
                })?;
            entries.push(ProviderEntry {
                display_name: settings.display_name.unwrap_or_else(|| name.clone()).into(),
                name: Some(name.into()),
                cell,
                redirect_uri,
            });
        }
        Ok(entries)
    }
}

/// The provider of `b`'s provider settings (client, issuer, endpoints, scopes),
/// fixed, discovered at start-up, or to be discovered in the background.
fn make_cell(
    b: &mut OAuthConfigurationBuilder,
    shared: &Shared,
) -> Result<ProviderCell, ConfigError> {
    if let Some(e) = b.pending.take() {
        return Err(e);
    }
    let issuer_template = b.issuer_template()?;
    if b.lazy_discovery
        && let Some(issuer) = &b.issuer
    {
        let parsed = Url::parse(issuer).map_err(|_| ConfigError::InvalidUrl {
            name: "issuer",
            value: issuer.clone(),
        })?;
        if !shared.insecure && !url_is_acceptable(&parsed) {
            return Err(ConfigError::InsecureUrl("issuer"));
        }
    }
    let client_id = b
        .client_id
        .take()
        .filter(|c| !c.is_empty())
        .ok_or(ConfigError::Missing("client_id"))?;
    let oidc = b.identity == IdentityMode::OpenIdConnect;
    let mut scopes = b
        .scopes
        .take()
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    if oidc && !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    let inputs = ProviderInputs {
        client_id,
        client_secret: b.client_secret.take(),
        client_auth: b.client_auth,
        client_keys: std::mem::take(&mut b.client_keys),
        issuer: b.issuer.take(),
        issuer_template,
        authorization_endpoint: b.authorization_endpoint.take(),
        token_endpoint: b.token_endpoint.take(),
        end_session_endpoint: b.end_session_endpoint.take(),
        revocation_endpoint: b.revocation_endpoint.take(),
        userinfo_endpoint: b.userinfo_endpoint.take(),
        jwks_uri: b.jwks_uri.take(),
        jwks_refetch_interval: shared.jwks_refetch_interval,
        scopes,
        auth_params: std::mem::take(&mut b.auth_params),
        pkce: shared.pkce,
        token_max_age: shared.token_max_age,
        leeway: shared.leeway,
        algorithms: shared.algorithms.clone(),
        additional_audiences: std::mem::take(&mut b.additional_audiences),
        http: shared.http.clone(),
        identity: std::mem::take(&mut b.identity),
        fetch_userinfo: b.fetch_userinfo,
        pushed_authorization_requests: b.pushed_authorization_requests,
        dpop: b.dpop.unwrap_or(false),
        require_response_iss: b.requires_response_iss(),
        insecure_http: shared.insecure,
    };
    Ok(match (b.metadata.take(), b.lazy_discovery) {
        (Some(meta), _) => {
            let first = inputs.make(Some(&meta), None)?;
            ProviderCell::discovered(first, inputs, b.metadata_max_age)
        }
        (None, true) => {
            inputs.check_static()?;
            ProviderCell::pending(inputs)
        }
        (None, false) => ProviderCell::fixed(inputs.make(None, None)?),
    })
}

pub(super) fn normalize_base_path(p: &str) -> Result<String, ConfigError> {
    let trimmed = p.trim_end_matches('/');
    let ok = trimmed.starts_with('/')
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
        && !trimmed.contains("//");
    if !ok {
        return Err(ConfigError::Invalid {
            name: "base_path",
            reason: format!("{p:?} is not a plain absolute path"),
        });
    }
    Ok(trimmed.to_owned())
}

/// Adds the certificates of a PEM file as trusted roots.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn add_custom_ca(
    mut b: reqwest::ClientBuilder,
    path: &str,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    let err = |reason: String| ConfigError::CaCert {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate found".into()));
    }
    for c in certs {
        b = b.add_root_certificate(c);
    }
    Ok(b)
}

/// Without a TLS backend there is nothing to trust a CA for.
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn add_custom_ca(
    _: reqwest::ClientBuilder,
    path: &str,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    Err(ConfigError::CaCert {
        path: path.to_owned(),
        reason: "built without a TLS feature (rustls or native-tls)".into(),
    })
}
