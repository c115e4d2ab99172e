//! The multi-tenant settings of the builder (`with_issuer_template`,
//! `with_allowed_tenants`), checked by `build()`.

use super::{OAuthConfigurationBuilder, ProviderInputs};
use crate::config::{ConfigError, IdentityMode};
use crate::issuer::IssuerTemplate;

impl OAuthConfigurationBuilder {
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
