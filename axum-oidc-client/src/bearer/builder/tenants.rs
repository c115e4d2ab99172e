//! Multi-tenant issuers of the bearer builder: an issuer template such as Entra ID's
//! `https://login.microsoftonline.com/{tenantid}/v2.0`, and the tenants accepted.

use super::JwtConfigurationBuilder;
use super::sources::{IssuerSpec, Source, TemplateSpec};
use crate::config::ConfigError;
use crate::issuer::IssuerTemplate;

impl JwtConfigurationBuilder {
    /// Trusts a multi-tenant issuer: tokens whose `iss` is `template` with
    /// `{tenantid}` replaced by the token's own `tid` claim, verified with the keys at
    /// `jwks_uri` (for Entra ID `https://login.microsoftonline.com/common/discovery/v2.0/keys`).
    /// A token of the template's shape with `tid` missing, not plain, of another tenant
    /// than its `iss`, or outside [`with_allowed_tenants`](Self::with_allowed_tenants)
    /// is refused with [`BearerError::Tenant`](super::super::BearerError::Tenant).
    /// `build()` refuses a template without `{tenantid}` exactly once.
    ///
    /// [`with_oauth_configuration`](Self::with_oauth_configuration) shares the login
    /// side's template, with its allow-list, by itself.
    ///
    /// ```
    /// use axum_oidc_client::bearer::JwtConfiguration;
    ///
    /// let config = JwtConfiguration::builder()
    ///     .with_issuer_template(
    ///         "https://login.microsoftonline.com/{tenantid}/v2.0",
    ///         "https://login.microsoftonline.com/common/discovery/v2.0/keys",
    ///     )
    ///     .with_allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"])
    ///     .with_audience("api-client-id")
    ///     .build()?;
    /// assert_eq!(
    ///     config.issuers().collect::<Vec<_>>(),
    ///     ["https://login.microsoftonline.com/{tenantid}/v2.0"]
    /// );
    /// # Ok::<(), axum_oidc_client::ConfigError>(())
    /// ```
    pub fn with_issuer_template(
        self,
        template: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> Self {
        self.add_template(
            template.into(),
            Source::JwksUri(jwks_uri.into()),
            TemplateSpec::Configured,
        )
    }

    /// Accepts only the tokens of these tenants (`tid`, compared exactly) from the
    /// issuer templates of [`with_issuer_template`](Self::with_issuer_template).
    /// `build()` refuses it without such a template, empty, or naming a tenant id
    /// that is not plain (ASCII letters, digits, `-` and `_`).
    ///
    /// ```
    /// use axum_oidc_client::bearer::JwtConfiguration;
    ///
    /// let without_template = JwtConfiguration::builder()
    ///     .with_jwks_uri("https://op.example", "https://op.example/jwks")
    ///     .with_allowed_tenants(["t1"])
    ///     .with_audience("api")
    ///     .build();
    /// assert!(without_template.is_err());
    /// ```
    pub fn with_allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tenants = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// An allow-list needs a configured template to apply to.
    pub(super) fn check_allowed_tenants(&self) -> Result<(), ConfigError> {
        let configured = self
            .issuers
            .iter()
            .any(|s| matches!(s.template, Some(TemplateSpec::Configured)));
        if self.allowed_tenants.is_some() && !configured {
            return Err(ConfigError::Invalid {
                name: "OIDC_ALLOWED_TENANTS",
                reason: "tenants are only checked with an issuer template \
                         (with_issuer_template)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The parsed template of a multi-tenant issuer; `None` for an exact one.
    pub(super) fn template_of(
        &self,
        spec: &IssuerSpec,
    ) -> Result<Option<IssuerTemplate>, ConfigError> {
        match &spec.template {
            None => Ok(None),
            Some(TemplateSpec::Login(template)) => Ok(Some(template.clone())),
            Some(TemplateSpec::Configured) => {
                let template = IssuerTemplate::new(&spec.issuer, self.insecure_http)?;
                match &self.allowed_tenants {
                    Some(list) => template
                        .with_allowed_tenants(list.iter().cloned())
                        .map(Some)
                        .map_err(ConfigError::from),
                    None => Ok(Some(template)),
                }
            }
        }
    }
}
