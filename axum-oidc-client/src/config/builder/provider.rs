//! The provider half of `build()`: the settings that, with the provider's metadata,
//! make a [`ProviderConfig`]. Kept apart so that a configuration whose discovery runs
//! later (in the background) makes its provider from the same inputs and the same
//! checks as one discovered at start-up.

use std::time::Duration;

use url::Url;

use crate::config::{
    ClientAuthMethod, ConfigError, IdentityMode, ProviderConfig, url_is_acceptable,
};
use crate::discovery::ProviderMetadata;
use crate::jose::{JwksCache, SigningAlgorithm};
use crate::pkce::CodeChallengeMethod;
use crate::secret::ClientSecret;

/// What the builder was told about the provider and the client's registration.
#[derive(Debug)]
pub(crate) struct ProviderInputs {
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
    pub client_auth: Option<ClientAuthMethod>,
    /// The keys for `private_key_jwt`, the signing one first.
    pub client_keys: Vec<crate::client_auth::ClientSigningKey>,
    pub issuer: Option<String>,
    /// The multi-tenant issuer template (`with_issuer_template`), parsed.
    pub issuer_template: Option<crate::issuer::IssuerTemplate>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub jwks_refetch_interval: Duration,
    pub scopes: Vec<String>,
    pub auth_params: Vec<(String, String)>,
    pub pkce: CodeChallengeMethod,
    pub token_max_age: Duration,
    pub leeway: Duration,
    pub algorithms: Vec<SigningAlgorithm>,
    pub additional_audiences: Vec<String>,
    pub http: reqwest::Client,
    pub identity: IdentityMode,
    pub fetch_userinfo: bool,
    /// Push authorization requests even when the provider does not require it.
    pub pushed_authorization_requests: bool,
    /// Bind tokens to a per-session DPoP key (RFC 9449).
    pub dpop: bool,
    /// Require `iss` in authorization responses (RFC 9207) whatever the metadata says.
    pub require_response_iss: bool,
    pub insecure_http: bool,
}

impl ProviderInputs {
    fn oidc(&self) -> bool {
        self.identity == IdentityMode::OpenIdConnect
    }

    fn url(&self, name: &'static str, v: &str) -> Result<Url, ConfigError> {
        let u = Url::parse(v).map_err(|_| ConfigError::InvalidUrl {
            name,
            value: v.to_owned(),
        })?;
        if !self.insecure_http && !url_is_acceptable(&u) {
            return Err(ConfigError::InsecureUrl(name));
        }
        Ok(u)
    }

    /// The explicit endpoint `explicit` when set, else the discovered one.
    fn endpoint(
        &self,
        name: &'static str,
        explicit: &Option<String>,
        discovered: Option<&Url>,
    ) -> Result<Option<Url>, ConfigError> {
        match explicit {
            Some(v) => self.url(name, v).map(Some),
            None => Ok(discovered.cloned()),
        }
    }

    /// The checks that need no metadata: what `build()` refuses even when discovery
    /// runs later.
    pub fn check_static(&self) -> Result<(), ConfigError> {
        if let IdentityMode::OAuth2Only { user_endpoint, .. } = &self.identity
            && user_endpoint.scheme() == "invalid"
        {
            return Err(ConfigError::InvalidUrl {
                name: "user_endpoint",
                value: String::new(),
            });
        }
        if self.oidc() && self.issuer.is_none() {
            return Err(ConfigError::Missing(
                "issuer (OpenID Connect mode needs with_issuer)",
            ));
        }
        for (name, v) in [
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("end_session_endpoint", &self.end_session_endpoint),
            ("revocation_endpoint", &self.revocation_endpoint),
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("jwks_uri", &self.jwks_uri),
        ] {
            if let Some(v) = v {
                self.url(name, v)?;
            }
        }
        if let Some(m) = self.client_auth {
            self.check_credentials(m)?;
        }
        Ok(())
    }

    /// What `method` needs: a signing key for `private_key_jwt`, a secret for the
    /// others but `none`.
    fn check_credentials(&self, method: ClientAuthMethod) -> Result<(), ConfigError> {
        match method {
            ClientAuthMethod::None => Ok(()),
            ClientAuthMethod::PrivateKeyJwt if self.client_keys.is_empty() => {
                Err(ConfigError::Missing(
                    "a client signing key for private_key_jwt (with_client_signing_key_pem, \
                     with_client_signing_jwk)",
                ))
            }
            ClientAuthMethod::PrivateKeyJwt => Ok(()),
            _ if self.client_secret.is_none() => Err(ConfigError::Missing(
                "client_secret (or ClientAuthMethod::None)",
            )),
            _ => Ok(()),
        }
    }

    /// The provider from these inputs and, when discovered, its metadata. `previous`
    /// is the provider this one replaces after a new discovery: its key cache is kept
    /// when the JWKS URI is the same, with the keys it holds.
    pub fn make(
        &self,
        meta: Option<&ProviderMetadata>,
        previous: Option<&ProviderConfig>,
    ) -> Result<ProviderConfig, ConfigError> {
        self.check_static()?;
        let authorization_endpoint = self
            .endpoint(
                "authorization_endpoint",
                &self.authorization_endpoint,
                meta.map(|m| &m.authorization_endpoint),
            )?
            .ok_or(ConfigError::Missing(
                "authorization_endpoint (or with_issuer)",
            ))?;
        let token_endpoint = self
            .endpoint(
                "token_endpoint",
                &self.token_endpoint,
                meta.map(|m| &m.token_endpoint),
            )?
            .ok_or(ConfigError::Missing("token_endpoint (or with_issuer)"))?;
        let end_session_endpoint = self.endpoint(
            "end_session_endpoint",
            &self.end_session_endpoint,
            meta.and_then(|m| m.end_session_endpoint.as_ref()),
        )?;
        let revocation_endpoint = self.endpoint(
            "revocation_endpoint",
            &self.revocation_endpoint,
            meta.and_then(|m| m.revocation_endpoint.as_ref()),
        )?;
        let userinfo_endpoint = self.endpoint(
            "userinfo_endpoint",
            &self.userinfo_endpoint,
            meta.and_then(|m| m.userinfo_endpoint.as_ref()),
        )?;
        let jwks_uri = self.endpoint(
            "jwks_uri",
            &self.jwks_uri,
            meta.and_then(|m| m.jwks_uri.as_ref()),
        )?;
        let jwks = match (self.oidc(), jwks_uri) {
            (true, Some(u)) => Some(
                match previous
                    .and_then(|p| p.jwks.as_ref())
                    .filter(|j| j.uri() == Some(&u))
                {
                    Some(same) => same.clone(),
                    None => JwksCache::new(u, self.http.clone())
                        .with_min_refetch_interval(self.jwks_refetch_interval),
                },
            ),
            (true, None) => return Err(ConfigError::Missing("jwks_uri")),
            (false, _) => None,
        };
        let client_auth = client_auth_method(
            self.client_auth,
            Credentials {
                secret: self.client_secret.is_some(),
                keys: !self.client_keys.is_empty(),
            },
            meta.map_or(&[][..], |m| &m.token_endpoint_auth_methods_supported),
        )?;
        self.check_credentials(client_auth)?;
        let par_endpoint = pushed_authorization_endpoint(
            self.pushed_authorization_requests,
            meta.and_then(|m| m.pushed_authorization_request_endpoint.as_ref()),
            meta.is_some_and(|m| m.require_pushed_authorization_requests),
        )?;
        if self.dpop
            && let Some(meta) = meta
        {
            check_dpop_support(meta.dpop_signing_alg_values_supported.as_deref())?;
        }
        Ok(ProviderConfig {
            par_endpoint,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            client_auth,
            client_keys: self.client_keys.clone().into(),
            iss_parameter_required: self.require_response_iss
                || meta.is_some_and(|m| m.authorization_response_iss_parameter_supported),
            dpop: self.dpop,
            dpop_nonce: Default::default(),
            issuer: self.issuer.clone(),
            issuer_template: self.issuer_template.clone(),
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            end_session_endpoint,
            revocation_endpoint,
            jwks,
            scopes: self.scopes.clone(),
            auth_params: self.auth_params.clone(),
            pkce: self.pkce,
            token_max_age: self.token_max_age,
            leeway: self.leeway,
            algorithms: self.algorithms.clone(),
            additional_audiences: self.additional_audiences.clone(),
            http: self.http.clone(),
            identity: self.identity.clone(),
            fetch_userinfo: self.fetch_userinfo,
        })
    }
}

/// A DPoP client (RFC 9449) needs a provider that takes ES256 proofs: its metadata's
/// `dpop_signing_alg_values_supported` (section 5.1) lists ES256. One that does not
/// would issue bearer tokens to every login, so it is refused when discovered rather
/// than at each login.
fn check_dpop_support(algs: Option<&[String]>) -> Result<(), ConfigError> {
    match algs {
        Some(algs) if algs.iter().any(|a| a == "ES256") => Ok(()),
        Some(_) => Err(ConfigError::Invalid {
            name: "dpop",
            reason: "the provider's dpop_signing_alg_values_supported does not list ES256, \
                     the algorithm of the sessions' DPoP keys (RFC 9449 section 5.1)"
                .into(),
        }),
        None => Err(ConfigError::Invalid {
            name: "dpop",
            reason: "DPoP is on (with_dpop, OIDC_DPOP, OIDC_PROFILE=fapi2) but the \
                     provider's metadata has no dpop_signing_alg_values_supported: it does \
                     not support DPoP (RFC 9449 section 5.1)"
                .into(),
        }),
    }
}

/// Where authorization requests are pushed (RFC 9126 section 2), `None` when they go
/// through the browser: pushed when `configured` or when the provider's metadata says
/// `require_pushed_authorization_requests` (section 5); either without a
/// `pushed_authorization_request_endpoint` is a configuration error, never a silent
/// fallback to the front channel.
fn pushed_authorization_endpoint(
    configured: bool,
    endpoint: Option<&Url>,
    required: bool,
) -> Result<Option<Url>, ConfigError> {
    if !configured && !required {
        return Ok(None);
    }
    endpoint
        .cloned()
        .map(Some)
        .ok_or_else(|| ConfigError::Invalid {
            name: "pushed_authorization_requests",
            reason: if configured {
                "pushed authorization requests are configured, but the provider's metadata \
             names no pushed_authorization_request_endpoint (RFC 9126 section 5)"
            } else {
                "the provider requires pushed authorization requests, but its metadata \
             names no pushed_authorization_request_endpoint (RFC 9126 section 5)"
            }
            .into(),
        })
}

/// The client authentication method at the token endpoint (OIDC Core 9), checked
/// against the provider's `token_endpoint_auth_methods_supported` (OIDC Discovery 1.0
/// section 3; empty when absent or not discovered, which means `client_secret_basic`).
///
/// - Configured: kept, but refused when a non-empty list does not name it. A public
///   client (`none`) is kept whatever the list says: many providers accept public
///   clients with PKCE without listing `none`.
/// - Not configured, with a signing key: `private_key_jwt` (RFC 7523 section 2.2)
///   when the list is empty or names it, else as without a key.
/// - Not configured, with a secret: `client_secret_basic` when the list is empty or
///   names it, else `client_secret_post` when listed, else `client_secret_jwt` when
///   listed, else refused.
/// - Not configured, with neither: a public client.
fn client_auth_method(
    configured: Option<ClientAuthMethod>,
    has: Credentials,
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
        Some(
            m @ (ClientAuthMethod::ClientSecretPost
            | ClientAuthMethod::PrivateKeyJwt
            | ClientAuthMethod::ClientSecretJwt),
        ) if !listed(m.as_str()) => Err(refused(&format!("{} is configured", m.as_str()))),
        Some(method) => Ok(method),
        None if has.keys && listed("private_key_jwt") => Ok(ClientAuthMethod::PrivateKeyJwt),
        None if !has.secret && has.keys => Err(refused(
            "a client signing key is configured but private_key_jwt is not supported",
        )),
        None if !has.secret => Ok(ClientAuthMethod::None),
        None if listed("client_secret_basic") => Ok(ClientAuthMethod::ClientSecretBasic),
        None if listed("client_secret_post") => Ok(ClientAuthMethod::ClientSecretPost),
        None if listed("client_secret_jwt") => Ok(ClientAuthMethod::ClientSecretJwt),
        None => Err(refused(
            "none of client_secret_basic, client_secret_post, client_secret_jwt is supported",
        )),
    }
}

/// Which client credentials are configured.
#[derive(Debug, Clone, Copy, Default)]
struct Credentials {
    secret: bool,
    keys: bool,
}

#[cfg(test)]
mod par_tests {
    use super::*;

    #[test]
    fn requests_are_pushed_when_configured_or_required_and_never_without_an_endpoint() {
        let par = Url::parse("https://op.example/par").unwrap();
        assert_eq!(
            pushed_authorization_endpoint(false, Some(&par), false).unwrap(),
            None
        );
        assert_eq!(
            pushed_authorization_endpoint(false, None, false).unwrap(),
            None
        );
        for (configured, required) in [(true, false), (false, true), (true, true)] {
            let got = pushed_authorization_endpoint(configured, Some(&par), required).unwrap();
            assert_eq!(got.as_ref(), Some(&par));
            let e = pushed_authorization_endpoint(configured, None, required).unwrap_err();
            assert!(
                matches!(&e, ConfigError::Invalid { name: "pushed_authorization_requests", reason }
                    if reason.contains("pushed_authorization_request_endpoint")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn the_builders_setting_is_every_named_providers_default() {
        let named = || {
            crate::ProviderSettings::new()
                .with_client_id("c")
                .with_client_secret("s")
                .with_authorization_endpoint("https://op.example/authorize")
                .with_token_endpoint("https://op.example/token")
                .with_oauth2_only("https://op.example/user", "id")
        };
        let build = |builder_par: bool, provider_par: bool| {
            crate::OAuthConfigurationBuilder::default()
                .with_app_url("https://app.example")
                .with_pushed_authorization_requests(builder_par)
                .with_provider(
                    "a",
                    named().with_pushed_authorization_requests(provider_par),
                )
                .build()
        };
        assert!(build(false, false).is_ok());
        for (builder_par, provider_par) in [(true, false), (false, true)] {
            let e = build(builder_par, provider_par).unwrap_err();
            assert!(
                matches!(&e, ConfigError::Provider { source, .. }
                    if matches!(**source, ConfigError::Invalid { name: "pushed_authorization_requests", .. })),
                "{e:?}"
            );
        }
    }
}

#[cfg(test)]
mod client_auth_tests {
    use super::*;

    fn supported(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_absent_list_means_client_secret_basic() {
        let m = client_auth_method(None, SECRET, &[]).unwrap();
        assert_eq!(m, ClientAuthMethod::ClientSecretBasic);
        let m = client_auth_method(Some(ClientAuthMethod::ClientSecretPost), SECRET, &[]).unwrap();
        assert_eq!(m, ClientAuthMethod::ClientSecretPost);
    }

    #[test]
    fn a_post_only_provider_gets_client_secret_post() {
        let list = supported(&["client_secret_post", "private_key_jwt"]);
        let m = client_auth_method(None, SECRET, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::ClientSecretPost);
    }

    #[test]
    fn rejects_a_configured_method_the_provider_does_not_list() {
        let list = supported(&["client_secret_post"]);
        let e = client_auth_method(Some(ClientAuthMethod::ClientSecretBasic), SECRET, &list)
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { name: "client_auth_method", reason } if reason.contains("client_secret_post")),
            "{e:?}"
        );
    }

    #[test]
    fn a_public_client_is_kept_when_the_provider_does_not_list_none() {
        let list = supported(&["client_secret_basic"]);
        let m = client_auth_method(Some(ClientAuthMethod::None), NONE, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::None);
        let m = client_auth_method(None, NONE, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::None);
    }

    const SECRET: Credentials = Credentials {
        secret: true,
        keys: false,
    };
    const NONE: Credentials = Credentials {
        secret: false,
        keys: false,
    };
    const KEYS: Credentials = Credentials {
        secret: false,
        keys: true,
    };

    #[test]
    fn a_signing_key_means_private_key_jwt_when_listed_or_nothing_is_listed() {
        let m = client_auth_method(None, KEYS, &[]).unwrap();
        assert_eq!(m, ClientAuthMethod::PrivateKeyJwt);
        let list = supported(&["client_secret_basic", "private_key_jwt"]);
        let both = Credentials {
            secret: true,
            keys: true,
        };
        assert_eq!(
            client_auth_method(None, both, &list).unwrap(),
            ClientAuthMethod::PrivateKeyJwt
        );
    }

    #[test]
    fn a_signing_key_without_private_key_jwt_support_is_refused() {
        let list = supported(&["client_secret_basic"]);
        let e = client_auth_method(None, KEYS, &list).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { name: "client_auth_method", reason } if reason.contains("private_key_jwt")),
            "{e:?}"
        );
    }

    #[test]
    fn a_configured_jwt_method_the_provider_does_not_list_is_refused() {
        let list = supported(&["client_secret_basic"]);
        for m in [
            ClientAuthMethod::PrivateKeyJwt,
            ClientAuthMethod::ClientSecretJwt,
        ] {
            let e = client_auth_method(Some(m), KEYS, &list).unwrap_err();
            assert!(
                matches!(&e, ConfigError::Invalid { reason, .. } if reason.contains(m.as_str())),
                "{e:?}"
            );
        }
        let list = supported(&["private_key_jwt"]);
        let m = client_auth_method(Some(ClientAuthMethod::PrivateKeyJwt), KEYS, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::PrivateKeyJwt);
    }

    #[test]
    fn a_secret_only_for_client_secret_jwt_gets_it() {
        let list = supported(&["client_secret_jwt", "private_key_jwt"]);
        let m = client_auth_method(None, SECRET, &list).unwrap();
        assert_eq!(m, ClientAuthMethod::ClientSecretJwt);
    }
}
