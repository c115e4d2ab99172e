//! `build()`: every setting validated, then the configuration by concern.

use std::sync::Arc;
use std::time::Duration;

use cookie::SameSite;
use url::Url;

use super::{DEFAULT_SCOPES, OAuthConfigurationBuilder};
use crate::config::{
    ClientAuthMethod, ConfigError, ConfigInner, IdentityMode, OAuthConfiguration, ProviderConfig,
    Routes, url_is_acceptable,
};
use crate::jose::{JwksCache, SigningAlgorithm};
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
        let opt_url = |name: &'static str, explicit: &Option<String>, discovered: Option<&Url>| {
            match explicit {
                Some(v) => url(name, v).map(Some),
                None => Ok(discovered.cloned()),
            }
        };
        let meta = self.metadata.as_ref();
        let client_id = self
            .client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(ConfigError::Missing("client_id"))?;
        let authorization_endpoint = opt_url(
            "authorization_endpoint",
            &self.authorization_endpoint,
            meta.map(|m| &m.authorization_endpoint),
        )?
        .ok_or(ConfigError::Missing(
            "authorization_endpoint (or with_issuer)",
        ))?;
        let token_endpoint = opt_url(
            "token_endpoint",
            &self.token_endpoint,
            meta.map(|m| &m.token_endpoint),
        )?
        .ok_or(ConfigError::Missing("token_endpoint (or with_issuer)"))?;
        let end_session_endpoint = opt_url(
            "end_session_endpoint",
            &self.end_session_endpoint,
            meta.and_then(|m| m.end_session_endpoint.as_ref()),
        )?;
        let revocation_endpoint = opt_url(
            "revocation_endpoint",
            &self.revocation_endpoint,
            meta.and_then(|m| m.revocation_endpoint.as_ref()),
        )?;
        let userinfo_endpoint = opt_url(
            "userinfo_endpoint",
            &self.userinfo_endpoint,
            meta.and_then(|m| m.userinfo_endpoint.as_ref()),
        )?;
        let jwks_uri = opt_url(
            "jwks_uri",
            &self.jwks_uri,
            meta.and_then(|m| m.jwks_uri.as_ref()),
        )?;

        let oidc = self.identity == IdentityMode::OpenIdConnect;
        if let IdentityMode::OAuth2Only { user_endpoint, .. } = &self.identity
            && user_endpoint.scheme() == "invalid"
        {
            return Err(ConfigError::InvalidUrl {
                name: "user_endpoint",
                value: String::new(),
            });
        }
        if oidc && self.issuer.is_none() {
            return Err(ConfigError::Missing(
                "issuer (OpenID Connect mode needs with_issuer)",
            ));
        }
        let jwks = match (oidc, jwks_uri) {
            (true, Some(u)) => Some(
                JwksCache::new(u, http.clone()).with_min_refetch_interval(
                    self.jwks_refetch_interval
                        .unwrap_or(Duration::from_secs(10)),
                ),
            ),
            (true, None) => return Err(ConfigError::Missing("jwks_uri")),
            (false, _) => None,
        };

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
        let client_auth = client_auth_method(
            self.client_auth,
            self.client_secret.is_some(),
            meta.map_or(&[][..], |m| &m.token_endpoint_auth_methods_supported),
        )?;
        if client_auth != ClientAuthMethod::None && self.client_secret.is_none() {
            return Err(ConfigError::Missing(
                "client_secret (or ClientAuthMethod::None)",
            ));
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

        Ok(OAuthConfiguration {
            inner: Arc::new(ConfigInner {
                provider: ProviderConfig {
                    client_id,
                    client_secret: self.client_secret,
                    client_auth,
                    iss_parameter_required: meta
                        .is_some_and(|m| m.authorization_response_iss_parameter_supported),
                    issuer: self.issuer,
                    authorization_endpoint,
                    token_endpoint,
                    userinfo_endpoint,
                    end_session_endpoint,
                    revocation_endpoint,
                    jwks,
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
                },
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

/// The client authentication method at the token endpoint (OIDC Core 9), checked
/// against the provider's `token_endpoint_auth_methods_supported` (OIDC Discovery 1.0
/// section 3; empty when absent or not discovered, which means `client_secret_basic`).
///
/// - Configured: kept, but refused when a non-empty list does not name it. A public
///   client (`none`) is kept whatever the list says: many providers accept public
///   clients with PKCE without listing `none`.
/// - Not configured, with a secret: `client_secret_basic` when the list is empty or
///   names it, else `client_secret_post` when listed, else refused.
/// - Not configured, without a secret: a public client.
fn client_auth_method(
    configured: Option<ClientAuthMethod>,
    has_secret: bool,
    supported: &[String],
) -> Result<ClientAuthMethod, ConfigError> {
    let listed = |name: &str| supported.is_empty() || supported.iter().any(|m| m == name);
    let refused = |what: &str| ConfigError::Invalid {
        name: "client_auth_method",
        reason: format!(
            "{what}; the provider supports {:?} (token_endpoint_auth_methods_supported)",
            supported
        ),
    };
    match configured {
        Some(ClientAuthMethod::ClientSecretBasic) if !listed("client_secret_basic") => {
            Err(refused("client_secret_basic is configured"))
        }
        Some(ClientAuthMethod::ClientSecretPost) if !listed("client_secret_post") => {
            Err(refused("client_secret_post is configured"))
        }
        Some(method) => Ok(method),
        None if !has_secret => Ok(ClientAuthMethod::None),
        None if listed("client_secret_basic") => Ok(ClientAuthMethod::ClientSecretBasic),
        None if listed("client_secret_post") => Ok(ClientAuthMethod::ClientSecretPost),
        None => Err(refused(
            "neither client_secret_basic nor client_secret_post is supported",
        )),
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

#[cfg(test)]
mod client_auth_tests {
    use super::*;

    fn supported(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_absent_list_means_client_secret_basic() {
        let m = client_auth_method(None, true, &[]).unwrap();
        assert_eq!(m, ClientAuthMethod::ClientSecretBasic);
        let m = client_auth_method(Some(ClientAuthMethod::ClientSecretPost), true, &[]).unwrap();
        assert_eq!(m, ClientAuthMethod::ClientSecretPost);
    }

    #[test]
    fn a_post_only_provider_gets_client_secret_post() {
        let list = supported(&["client_secret_post", "private_key_jwt"]);
        let m = client_auth_method(None, true, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::ClientSecretPost);
    }

    #[test]
    fn rejects_a_configured_method_the_provider_does_not_list() {
        let list = supported(&["client_secret_post"]);
        let e =
            client_auth_method(Some(ClientAuthMethod::ClientSecretBasic), true, &list).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { name: "client_auth_method", reason } if reason.contains("client_secret_post")),
            "{e:?}"
        );
    }

    #[test]
    fn a_public_client_is_kept_when_the_provider_does_not_list_none() {
        let list = supported(&["client_secret_basic"]);
        let m = client_auth_method(Some(ClientAuthMethod::None), false, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::None);
        let m = client_auth_method(None, false, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::None);
    }
}
