//! The multi-tenant settings of the builder (`with_issuer_template`,
//! `with_allowed_tenants`), checked by `build()`.

use super::{OAuthConfigurationBuilder, ProviderInputs};
use crate::config::{ConfigError, IdentityMode};
use crate::issuer::IssuerTemplate;

impl OAuthConfigurationBuilder {
    /// `OIDC_ISSUER_TEMPLATE` and `OIDC_ALLOWED_TENANTS` (comma-separated) through
    /// `var`, for `from_env`.
    pub(super) fn with_tenants_from(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(t) = var("OIDC_ISSUER_TEMPLATE") {
            self = self.with_issuer_template(t);
        }
        if let Some(list) = var("OIDC_ALLOWED_TENANTS") {
            let tenants = list.split(',').map(str::trim).filter(|t| !t.is_empty());
            self = self.with_allowed_tenants(tenants);
        }
        self
    }

    /// The issuer template, parsed with its allow-list; `None` without one.
    pub(super) fn issuer_template(&self) -> Result<Option<IssuerTemplate>, ConfigError> {
        let Some(raw) = self.issuer_template.as_deref() else {
            return match self.allowed_tenants {
                Some(_) => Err(ConfigError::Invalid {
                    name: "OIDC_ALLOWED_TENANTS",
                    reason: "tenants are only checked with an issuer template \
                             (OIDC_ISSUER_TEMPLATE, with_issuer_template)"
                        .into(),
                }),
                None => Ok(None),
            };
        };
        let invalid = |reason: String| ConfigError::Invalid {
            name: "OIDC_ISSUER_TEMPLATE",
            reason,
        };
        if self.identity != IdentityMode::OpenIdConnect {
            return Err(invalid(
                "an issuer template needs OpenID Connect mode (ID tokens)".into(),
            ));
        }
        let mut template = IssuerTemplate::new(raw, self.insecure_http)?;
        if let Some(tenants) = &self.allowed_tenants {
            template = template.with_allowed_tenants(tenants.iter().cloned())?;
        }
        // The template must be what the discovered document names: one set after
        // `with_issuer` was not used to accept the document.
        if let Some(meta) = &self.metadata
            && meta.issuer != raw
        {
            return Err(invalid(format!(
                "the discovery document names the issuer {:?}, not the template {raw:?}; \
                 set the template before with_issuer",
                meta.issuer
            )));
        }
        Ok(Some(template))
    }
}

impl ProviderInputs {
    /// The `issuer` the discovery document of `issuer` must name (Discovery 1.0
    /// section 4.3): the configured template, else `issuer` itself.
    pub(crate) fn document_issuer(&self, issuer: &str) -> String {
        self.issuer_template
            .as_ref()
            .map_or_else(|| issuer.to_owned(), IssuerTemplate::template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_env_reads_the_template_and_the_comma_separated_tenants() {
        let env = |k: &str| match k {
            "OIDC_ISSUER_TEMPLATE" => Some("https://login.example/{tenantid}/v2.0".to_owned()),
            "OIDC_ALLOWED_TENANTS" => Some(" t1, t2 ,,".to_owned()),
            _ => None,
        };
        let b = OAuthConfigurationBuilder::default().with_tenants_from(env);
        let t = b.issuer_template().unwrap().expect("a template");
        assert_eq!(t.template(), "https://login.example/{tenantid}/v2.0");
        assert_eq!(
            t.allowed_tenants(),
            Some(&["t1".to_owned(), "t2".to_owned()][..])
        );
        let none = OAuthConfigurationBuilder::default().with_tenants_from(|_| None);
        assert_eq!(none.issuer_template().unwrap(), None);
    }

    #[test]
    fn an_issuer_template_needs_openid_connect_mode() {
        let e = OAuthConfigurationBuilder::default()
            .with_oauth2_only("https://api.example/user", "id")
            .with_issuer_template("https://login.example/{tenantid}/v2.0")
            .issuer_template()
            .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { name: "OIDC_ISSUER_TEMPLATE", reason } if reason.contains("OpenID Connect")),
            "{e:?}"
        );
    }
}
