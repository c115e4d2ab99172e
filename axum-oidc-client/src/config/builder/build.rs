//! `build()`: every setting validated, then the configuration by concern.

use std::sync::Arc;
use std::time::Duration;

use cookie::SameSite;
use url::Url;

use super::provider::ProviderInputs;
use super::{DEFAULT_SCOPES, OAuthConfigurationBuilder};
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
        let http = self.http_client()?;
        let issuer_template = self.issuer_template()?;
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
        let client_id = self
            .client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(ConfigError::Missing("client_id"))?;
        let oidc = self.identity == IdentityMode::OpenIdConnect;

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

        let mut scopes = self
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
        if oidc && !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let algorithms = self
            .algorithms
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

        let inputs = ProviderInputs {
            client_id,
            client_secret: self.client_secret,
            client_auth: self.client_auth,
            issuer: self.issuer,
            issuer_template,
            authorization_endpoint: self.authorization_endpoint,
            token_endpoint: self.token_endpoint,
            end_session_endpoint: self.end_session_endpoint,
            revocation_endpoint: self.revocation_endpoint,
            userinfo_endpoint: self.userinfo_endpoint,
            jwks_uri: self.jwks_uri,
            jwks_refetch_interval: self
                .jwks_refetch_interval
                .unwrap_or(Duration::from_secs(10)),
            scopes,
            auth_params: self.auth_params,
            pkce,
            token_max_age: self.token_max_age.unwrap_or(Duration::from_secs(300)),
            leeway: self.leeway.unwrap_or(Duration::from_secs(60)),
            algorithms,
            additional_audiences: self.additional_audiences,
            http,
            identity: self.identity,
            fetch_userinfo: self.fetch_userinfo,
            insecure_http: insecure,
        };
        let provider = match (self.metadata, self.lazy_discovery) {
            (Some(meta), _) => {
                let first = inputs.make(Some(&meta), None)?;
                ProviderCell::discovered(first, inputs, self.metadata_max_age)
            }
            (None, true) => {
                inputs.check_static()?;
                ProviderCell::pending(inputs)
            }
            (None, false) => ProviderCell::fixed(inputs.make(None, None)?),
        };

        Ok(OAuthConfiguration {
            inner: Arc::new(ConfigInner {
                provider,
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
