//! The multi-tenant settings of the builder (`with_issuer_template`,
//! `with_allowed_tenants`), checked by `build()`.

use super::{OAuthConfigurationBuilder, ProviderInputs};
use crate::config::{ConfigError, IdentityMode};
use crate::issuer::IssuerTemplate;

impl OAuthConfigurationBuilder {
    /// Accepts a multi-tenant provider, such as Entra ID's `common` or `organizations`
    /// endpoint, whose discovery document names `template` as its `issuer` and whose
    /// tokens each name the issuer of the user's tenant: `template` with `{tenantid}`
    /// replaced by the token's `tid` claim (OIDC Core 3.1.3.7 step 2 per tenant). Set
    /// it before `with_issuer`, which then accepts a document naming exactly
    /// `template` (and nothing else); a template is never inferred from a document.
    ///
    /// Every tenant is accepted unless [`with_allowed_tenants`](Self::with_allowed_tenants)
    /// narrows them: for `common`, any Microsoft account and any organisation can sign
    /// in. `build()` refuses a template without `{tenantid}` exactly once, or not
    /// https. Environment: `OIDC_ISSUER_TEMPLATE`.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), axum_oidc_client::ConfigError> {
    /// use axum_oidc_client::OAuthConfigurationBuilder;
    /// let config = OAuthConfigurationBuilder::default()
    ///     .with_client_id("my-app")
    ///     .with_app_url("https://app.example")
    ///     .with_issuer_template("https://login.microsoftonline.com/{tenantid}/v2.0")
    ///     .with_allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"])
    ///     .with_issuer("https://login.microsoftonline.com/organizations/v2.0")
    ///     .await?
    ///     .build()?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub fn with_issuer_template(mut self, template: impl Into<String>) -> Self {
        self.issuer_template = Some(template.into());
        self
    }

    /// With [`with_issuer_template`](Self::with_issuer_template): accepts only the
    /// tokens whose `tid` is one of `tenants` (compared exactly; Entra tenant ids are
    /// lower-case GUIDs). Environment: `OIDC_ALLOWED_TENANTS`, comma-separated.
    /// `build()` refuses it without a template, empty, or naming a tenant id that is
    /// not plain (ASCII letters, digits, `-` and `_`).
    ///
    /// ```
    /// use axum_oidc_client::{ConfigError, OAuthConfigurationBuilder};
    ///
    /// let builder = || {
    ///     OAuthConfigurationBuilder::default()
    ///         .with_client_id("my-app")
    ///         .with_app_url("https://app.example")
    ///         .with_lazy_issuer("https://login.microsoftonline.com/organizations/v2.0")
    /// };
    /// let config = builder()
    ///     .with_issuer_template("https://login.microsoftonline.com/{tenantid}/v2.0")
    ///     .with_allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"])
    ///     .build();
    /// assert!(config.is_ok());
    /// let without_template = builder().with_allowed_tenants(["72f988bf"]).build();
    /// assert!(matches!(without_template, Err(ConfigError::Invalid { name: "OIDC_ALLOWED_TENANTS", .. })));
    /// ```
    pub fn with_allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tenants = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

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
