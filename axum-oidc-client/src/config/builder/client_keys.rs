//! The builder's client authentication keys, for `private_key_jwt` (RFC 7523
//! section 2.2, OIDC Core 9); see [`crate::client_auth`].

use super::OAuthConfigurationBuilder;
use crate::client_auth::{ClientAuthError, ClientSigningKey};
use crate::config::{ClientAuthMethod, ConfigError};

impl OAuthConfigurationBuilder {
    /// Adds a key for `private_key_jwt`. The first key added signs the client
    /// assertions; every key is published at `{base}/jwks.json`, so that a new key can
    /// be published before it signs and an old one kept until the provider forgets it.
    ///
    /// With a key and no [`with_client_auth_method`](Self::with_client_auth_method),
    /// the method is `private_key_jwt` when the provider lists it (or lists nothing).
    ///
    /// ```
    /// use axum_oidc_client::OAuthConfigurationBuilder;
    /// use axum_oidc_client::client_auth::ClientSigningKey;
    ///
    /// let pem = "-----BEGIN PRIVATE KEY-----
    /// MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
    /// -----END PRIVATE KEY-----";
    /// let builder = OAuthConfigurationBuilder::default()
    ///     .with_client_signing_key(ClientSigningKey::from_pkcs8_pem(pem, Some("2026-12"))?);
    /// # let _ = builder; Ok::<(), axum_oidc_client::client_auth::ClientAuthError>(())
    /// ```
    pub fn with_client_signing_key(mut self, key: ClientSigningKey) -> Self {
        self.client_keys.push(key);
        self
    }

    /// Adds a key for `private_key_jwt` from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`):
    /// RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA). Without `kid`, the key's RFC 7638
    /// thumbprint. An unreadable key makes `build()` fail with
    /// [`ConfigError::Invalid`] naming `client_signing_key`. See
    /// [`with_client_signing_key`](Self::with_client_signing_key).
    pub fn with_client_signing_key_pem(self, pem: &str, kid: Option<&str>) -> Self {
        self.add_key(ClientSigningKey::from_pkcs8_pem(pem, kid))
    }

    /// Adds a key for `private_key_jwt` from a private JWK (RFC 7517); see
    /// [`ClientSigningKey::from_jwk`]. An unreadable key makes `build()` fail.
    pub fn with_client_signing_jwk(self, jwk: &str) -> Self {
        self.add_key(ClientSigningKey::from_jwk(jwk))
    }

    /// `OIDC_CLIENT_AUTH` and `OIDC_CLIENT_KEY_FILE`, read through `var`
    /// ([`from_env`](Self::from_env)).
    pub(super) fn with_client_auth_from(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if let Some(path) = var("OIDC_CLIENT_KEY_FILE") {
            let pem = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                name: "OIDC_CLIENT_KEY_FILE",
                reason: format!("{path}: cannot be read: {e}"),
            })?;
            let key =
                ClientSigningKey::from_pkcs8_pem(&pem, None).map_err(|e| ConfigError::Invalid {
                    name: "OIDC_CLIENT_KEY_FILE",
                    reason: format!("{path}: {e}"),
                })?;
            self = self.with_client_signing_key(key);
        }
        if let Some(name) = var("OIDC_CLIENT_AUTH") {
            let method = [
                ClientAuthMethod::PrivateKeyJwt,
                ClientAuthMethod::ClientSecretJwt,
                ClientAuthMethod::ClientSecretBasic,
                ClientAuthMethod::ClientSecretPost,
                ClientAuthMethod::None,
            ]
            .into_iter()
            .find(|m| m.as_str() == name.trim())
            .ok_or_else(|| ConfigError::Invalid {
                name: "OIDC_CLIENT_AUTH",
                reason: format!(
                    "{name:?}: write private_key_jwt, client_secret_jwt, client_secret_basic, \
                     client_secret_post or none"
                ),
            })?;
            self = self.with_client_auth_method(method);
        }
        Ok(self)
    }

    fn add_key(mut self, key: Result<ClientSigningKey, ClientAuthError>) -> Self {
        match key {
            Ok(key) => self.client_keys.push(key),
            Err(e) => {
                self.pending.get_or_insert(ConfigError::Invalid {
                    name: "client_signing_key",
                    reason: e.to_string(),
                });
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit() -> OAuthConfigurationBuilder {
        OAuthConfigurationBuilder::default()
            .with_client_id("c")
            .with_app_url("http://localhost:3000")
            .with_authorization_endpoint("https://op.example/authorize")
            .with_token_endpoint("https://op.example/token")
            .with_oauth2_only("https://op.example/user", "id")
            .with_private_cookie_key("kD9vR2xQ7mW4zL1pT8nB3cF6hJ0sY5gA")
    }

    const ED_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----";

    #[test]
    fn build_refuses_private_key_jwt_without_a_key() {
        let e = explicit()
            .with_client_auth_method(ClientAuthMethod::PrivateKeyJwt)
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Missing(m) if m.contains("private_key_jwt")),
            "{e:?}"
        );
    }

    #[test]
    fn build_refuses_client_secret_jwt_without_a_secret() {
        let e = explicit()
            .with_client_auth_method(ClientAuthMethod::ClientSecretJwt)
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Missing(m) if m.contains("client_secret")),
            "{e:?}"
        );
    }

    #[test]
    fn build_refuses_an_unreadable_key() {
        let e = explicit()
            .with_client_signing_key_pem("not a key", None)
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { name: "client_signing_key", reason } if reason.contains("PKCS#8")),
            "{e:?}"
        );
        let e = explicit()
            .with_client_signing_jwk(r#"{"kty":"oct","k":"AAAA"}"#)
            .build()
            .unwrap_err();
        assert!(matches!(
            &e,
            ConfigError::Invalid {
                name: "client_signing_key",
                ..
            }
        ));
    }

    #[test]
    fn a_key_alone_selects_private_key_jwt() {
        let c = explicit()
            .with_client_signing_key_pem(ED_PEM, Some("k1"))
            .build()
            .unwrap();
        let p = c.inner.providers.first().cell.get().unwrap();
        assert_eq!(p.client_auth, ClientAuthMethod::PrivateKeyJwt);
        assert_eq!(p.client_keys.len(), 1);
        assert_eq!(p.client_keys[0].kid(), "k1");
    }

    #[test]
    fn debug_of_the_builder_shows_no_key() {
        let b = explicit().with_client_signing_key_pem(ED_PEM, None);
        let debug = format!("{b:?}");
        assert!(!debug.contains("MC4CAQAw"), "{debug}");
        assert!(!debug.contains("content"), "{debug}");
    }

    #[test]
    fn a_named_provider_takes_its_own_keys_and_jwks_json_lists_them_all() {
        use crate::config::builder::ProviderSettings;
        let provider = |kid: &str| {
            ProviderSettings::new()
                .with_client_id("c")
                .with_authorization_endpoint("https://op.example/authorize")
                .with_token_endpoint("https://op.example/token")
                .with_oauth2_only("https://op.example/user", "id")
                .with_client_signing_key_pem(ED_PEM, Some(kid))
        };
        let c = OAuthConfigurationBuilder::default()
            .with_app_url("http://localhost:3000")
            .with_private_cookie_key("kD9vR2xQ7mW4zL1pT8nB3cF6hJ0sY5gA")
            .with_provider("one", provider("k1"))
            .with_provider("two", provider("k2"))
            .build()
            .unwrap();
        for e in c.inner.providers.all() {
            let p = e.cell.get().unwrap();
            assert_eq!(p.client_auth, ClientAuthMethod::PrivateKeyJwt);
        }
        let kids: Vec<serde_json::Value> = c
            .inner
            .providers
            .all()
            .iter()
            .flat_map(|e| e.cell.client_public_jwks())
            .map(|j| j["kid"].clone())
            .collect();
        assert_eq!(kids, ["k1", "k2"]);
    }

    #[test]
    fn a_named_provider_with_an_unreadable_key_is_refused() {
        use crate::config::builder::ProviderSettings;
        let e = OAuthConfigurationBuilder::default()
            .with_app_url("http://localhost:3000")
            .with_private_cookie_key("kD9vR2xQ7mW4zL1pT8nB3cF6hJ0sY5gA")
            .with_provider(
                "one",
                ProviderSettings::new()
                    .with_client_id("c")
                    .with_authorization_endpoint("https://op.example/authorize")
                    .with_token_endpoint("https://op.example/token")
                    .with_oauth2_only("https://op.example/user", "id")
                    .with_client_signing_jwk("{}"),
            )
            .build()
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("one") && text.contains("JWK"), "{text}");
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn oidc_client_auth_and_oidc_client_key_file_are_read() {
        let path = std::env::temp_dir().join(format!("client-key-{}.pem", std::process::id()));
        std::fs::write(&path, ED_PEM).unwrap();
        let path = path.to_str().unwrap();
        let c = explicit()
            .with_client_auth_from(env(&[
                ("OIDC_CLIENT_AUTH", "private_key_jwt"),
                ("OIDC_CLIENT_KEY_FILE", path),
            ]))
            .unwrap()
            .build()
            .unwrap();
        let p = c.inner.providers.first().cell.get().unwrap();
        assert_eq!(p.client_auth, ClientAuthMethod::PrivateKeyJwt);
        assert_eq!(p.client_keys.len(), 1);
    }

    #[test]
    fn a_bad_oidc_client_auth_or_key_file_names_the_variable() {
        let e = explicit()
            .with_client_auth_from(env(&[("OIDC_CLIENT_AUTH", "jwt")]))
            .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::Invalid {
                name: "OIDC_CLIENT_AUTH",
                ..
            }
        ));
        let e = explicit()
            .with_client_auth_from(env(&[("OIDC_CLIENT_KEY_FILE", "/nonexistent/key.pem")]))
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { name: "OIDC_CLIENT_KEY_FILE", reason } if reason.contains("/nonexistent/key.pem")),
            "{e:?}"
        );
    }
}
