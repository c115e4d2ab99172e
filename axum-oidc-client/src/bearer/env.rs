//! [`JwtConfigurationBuilder::from_env`]: configuration from environment variables.

use std::time::Duration;

use super::JwtConfigurationBuilder;
use crate::config::ConfigError;

impl JwtConfigurationBuilder {
    /// Reads the configuration from the environment and discovers the issuers:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `OIDC_ISSUER` or `JWT_ISSUER` | issuer URL(s), comma or space separated | required |
    /// | `JWT_AUDIENCE` | accepted audience(s), comma or space separated | required |
    /// | `JWT_REQUIRE_AT_JWT` | `true` for the RFC 9068 profile | `false` |
    /// | `JWT_LEEWAY_SECS` | leeway in seconds | `60` |
    ///
    /// The result is a builder, so more options can follow.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
    /// use axum_oidc_client::bearer::JwtConfigurationBuilder;
    /// let config = JwtConfigurationBuilder::from_env().await?.build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok()).await
    }

    async fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let list = |v: &str| {
            v.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let issuers = var("OIDC_ISSUER")
            .or_else(|| var("JWT_ISSUER"))
            .ok_or(ConfigError::MissingEnv("OIDC_ISSUER or JWT_ISSUER"))?;
        let mut b = Self::new();
        if let Some(a) = var("JWT_AUDIENCE") {
            b = b.with_audiences(list(&a));
        }
        if let Some(v) = var("JWT_REQUIRE_AT_JWT") {
            let on = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::InvalidEnv {
                        name: "JWT_REQUIRE_AT_JWT",
                        value: v,
                    });
                }
            };
            b = b.with_rfc9068_profile(on);
        }
        if let Some(v) = var("JWT_LEEWAY_SECS") {
            let secs = v
                .trim()
                .parse::<u64>()
                .map_err(|_| ConfigError::InvalidEnv {
                    name: "JWT_LEEWAY_SECS",
                    value: v.clone(),
                })?;
            b = b.with_leeway(Duration::from_secs(secs));
        }
        for issuer in list(&issuers) {
            b = b.try_with_issuer(issuer).await?;
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<JwtConfigurationBuilder, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(JwtConfigurationBuilder::from_lookup(lookup))
    }

    #[test]
    fn from_env_requires_an_issuer() {
        let e = from(&[("JWT_AUDIENCE", "api")]).unwrap_err();
        assert!(matches!(e, ConfigError::MissingEnv(_)), "{e:?}");
    }

    #[test]
    fn from_env_names_the_variable_with_a_bad_value() {
        let e = from(&[
            ("OIDC_ISSUER", "https://op"),
            ("JWT_REQUIRE_AT_JWT", "maybe"),
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::InvalidEnv {
                    name: "JWT_REQUIRE_AT_JWT",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = from(&[("JWT_ISSUER", "https://op"), ("JWT_LEEWAY_SECS", "-1")]).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::InvalidEnv {
                    name: "JWT_LEEWAY_SECS",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn from_env_refuses_a_plain_http_issuer_elsewhere_than_localhost() {
        let e = from(&[
            ("JWT_ISSUER", "http://op.example"),
            ("JWT_AUDIENCE", "a b,c"),
        ])
        .unwrap_err();
        assert!(matches!(e, ConfigError::InsecureUrl("issuer")), "{e:?}");
    }
}
