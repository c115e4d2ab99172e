//! Which `iss` a token may carry: one exact issuer (OIDC Core 3.1.3.7 step 2), or, for
//! a multi-tenant provider, an issuer template such as Entra ID's
//! `https://login.microsoftonline.com/{tenantid}/v2.0`.
//!
//! The discovery documents of Entra ID's `common` and `organizations` endpoints name
//! such a template as their `issuer`; each token then carries the issuer of the user's
//! tenant, and that tenant's id in the `tid` claim. A template is only ever used when
//! configured ([`with_issuer_template`](crate::OAuthConfigurationBuilder::with_issuer_template)),
//! never inferred from a document. With one, a token's `iss` must be exactly the
//! template with `{tenantid}` replaced by the token's own `tid`, and `tid` must be in
//! the allow-list when there is one.
//!
//! [`issuer_matches`] is the pure rule for any token's `iss`: ID tokens at login and
//! refresh use it; the bearer layer applies [`IssuerTemplate::check`] to tokens of a
//! template's shape; a logout token's `iss` can be checked the same way.

/// The placeholder an issuer template holds, once.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The longest tenant id accepted (an Entra tenant id, a GUID, has 36 characters).
const MAX_TENANT_LEN: usize = 64;

/// Which rule of the issuer check a token broke. Each variant is one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// `iss` is not the issuer, nor the template filled with any tenant (OIDC Core
    /// 3.1.3.7 step 2).
    #[error("wrong issuer")]
    WrongIssuer,
    /// With a template: the token has no `tid` claim, or not a non-empty string.
    #[error("tenant id (tid) missing")]
    MissingTenant,
    /// With a template: `tid` is not a plain tenant id (ASCII letters, digits, `-` and
    /// `_`, at most 64 of them), so it cannot name a tenant of the template.
    #[error("tenant id (tid) is not a plain tenant id")]
    InvalidTenant,
    /// With a template: `iss` is the template filled with another tenant than the
    /// token's `tid`.
    #[error("issuer does not match the tenant id (tid)")]
    TenantMismatch,
    /// With an allow-list of tenants: `tid` is not in it.
    #[error("tenant not allowed")]
    TenantNotAllowed,
    /// A refreshed ID token names another issuer (another tenant) than the login's
    /// ID token (OIDC Core 12.2).
    #[error("issuer changed")]
    IssuerChanged,
}

/// A template or a tenant list that cannot be used, with the setting it came from;
/// configuration reports it as an invalid value of that setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {setting}: {reason}")]
pub struct TemplateError {
    /// The environment variable of the setting.
    pub setting: &'static str,
    /// What is wrong, with the value.
    pub reason: String,
}

/// A multi-tenant issuer: a template holding [`TENANT_PLACEHOLDER`] once, and an
/// optional allow-list of tenant ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerTemplate {
    /// The text before the placeholder.
    prefix: String,
    /// The text after the placeholder.
    suffix: String,
    /// Tenants whose tokens are accepted; `None` accepts every tenant.
    allowed_tenants: Option<Vec<String>>,
}

/// Whether `tenant` is a plain tenant id: 1 to 64 ASCII letters, digits, `-` or `_`.
/// Nothing that could reshape the issuer URL it fills (`/`, `?`, `#`, `.`, `%`, `@`,
/// `:`) passes.
pub fn is_plain_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= MAX_TENANT_LEN
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl IssuerTemplate {
    /// Parses a template. It must hold [`TENANT_PLACEHOLDER`] exactly once, after the
    /// scheme, and be a URL once filled; `https` unless `insecure_http`.
    ///
    /// The error names `OIDC_ISSUER_TEMPLATE`, the setting it comes from.
    pub fn new(template: &str, insecure_http: bool) -> Result<Self, TemplateError> {
        let invalid = |reason: &str| TemplateError {
            setting: "OIDC_ISSUER_TEMPLATE",
            reason: format!("{template:?} (with_issuer_template): {reason}"),
        };
        let mut parts = template.split(TENANT_PLACEHOLDER);
        let (Some(prefix), Some(suffix), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid("must hold {tenantid} exactly once"));
        };
        if !prefix.contains("://") {
            return Err(invalid("{tenantid} must come after the scheme"));
        }
        let url = url::Url::parse(&format!("{prefix}tenant{suffix}"))
            .map_err(|_| invalid("not a URL once filled"))?;
        if !insecure_http && !crate::http_util::url_is_acceptable(&url) {
            return Err(invalid("must use https (or insecure_allow_http)"));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            allowed_tenants: None,
        })
    }

    /// Accepts only the tokens of these tenants. Each must be a plain tenant id
    /// ([`is_plain_tenant`]), and the list not empty; the error names
    /// `OIDC_ALLOWED_TENANTS`.
    pub fn with_allowed_tenants<I, S>(mut self, tenants: I) -> Result<Self, TemplateError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tenants: Vec<String> = tenants.into_iter().map(Into::into).collect();
        let invalid = |reason: String| TemplateError {
            setting: "OIDC_ALLOWED_TENANTS",
            reason: format!("{reason} (with_allowed_tenants)"),
        };
        if tenants.is_empty() {
            return Err(invalid("the list of tenants is empty".into()));
        }
        if let Some(bad) = tenants.iter().find(|t| !is_plain_tenant(t)) {
            return Err(invalid(format!(
                "{bad:?} is not a plain tenant id (ASCII letters, digits, - and _)"
            )));
        }
        self.allowed_tenants = Some(tenants);
        Ok(self)
    }

    /// The template as configured, `{tenantid}` included: what a multi-tenant
    /// discovery document names as its `issuer`.
    pub fn template(&self) -> String {
        format!("{}{TENANT_PLACEHOLDER}{}", self.prefix, self.suffix)
    }

    /// The allow-list, when there is one.
    pub fn allowed_tenants(&self) -> Option<&[String]> {
        self.allowed_tenants.as_deref()
    }

    /// Whether the allow-list (if any) admits `tenant`; compared exactly.
    pub fn allows(&self, tenant: &str) -> bool {
        self.allowed_tenants
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tenant))
    }

    /// The issuer of `tenant`: the template filled with it, when it is plain.
    pub fn issuer_for(&self, tenant: &str) -> Option<String> {
        is_plain_tenant(tenant).then(|| format!("{}{tenant}{}", self.prefix, self.suffix))
    }

    /// The tenant `iss` names, when `iss` is the template filled with a plain tenant.
    pub fn tenant_of<'i>(&self, iss: &'i str) -> Option<&'i str> {
        let tenant = iss
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        is_plain_tenant(tenant).then_some(tenant)
    }

    /// The template rule for a token with issuer `iss` and tenant claim `tid`:
    /// `tid` present and plain, `iss` the template filled with it, and `tid` allowed.
    pub fn check(&self, iss: &str, tid: Option<&str>) -> Result<(), IssuerError> {
        let tid = tid
            .filter(|t| !t.is_empty())
            .ok_or(IssuerError::MissingTenant)?;
        let expected = self.issuer_for(tid).ok_or(IssuerError::InvalidTenant)?;
        if iss != expected {
            return Err(if self.tenant_of(iss).is_some() {
                IssuerError::TenantMismatch
            } else {
                IssuerError::WrongIssuer
            });
        }
        if !self.allows(tid) {
            return Err(IssuerError::TenantNotAllowed);
        }
        Ok(())
    }
}

/// What a token's `iss` is checked against.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum IssuerExpectation<'a> {
    /// Exactly this issuer (OIDC Core 3.1.3.7 step 2; Back-Channel Logout 1.0
    /// section 2.6 step 3; RFC 9068 section 4).
    Exact(&'a str),
    /// The template filled with the token's `tid`, which the allow-list admits.
    Template(&'a IssuerTemplate),
    /// A refreshed ID token under a template: the template rule, and `iss` the
    /// login's (OIDC Core 12.2: the same tenant).
    Refreshed {
        /// The configured template.
        template: &'a IssuerTemplate,
        /// The `iss` of the login's ID token.
        original: &'a str,
    },
}

impl<'a> From<&'a str> for IssuerExpectation<'a> {
    fn from(issuer: &'a str) -> Self {
        Self::Exact(issuer)
    }
}

impl<'a> From<&'a String> for IssuerExpectation<'a> {
    fn from(issuer: &'a String) -> Self {
        Self::Exact(issuer)
    }
}

/// Checks a token's `iss`, given its `tid` claim (`None` when absent or not a
/// string), against `expected`. Shared by every token the library verifies.
///
/// ```
/// use axum_oidc_client::__private::issuer::*;
///
/// let t = IssuerTemplate::new("https://login.example/{tenantid}/v2.0", false)
///     .unwrap()
///     .with_allowed_tenants(["t1"])
///     .unwrap();
/// let ok = issuer_matches(IssuerExpectation::Template(&t), "https://login.example/t1/v2.0", Some("t1"));
/// assert_eq!(ok, Ok(()));
/// let other = issuer_matches(IssuerExpectation::Template(&t), "https://login.example/t1/v2.0", Some("t2"));
/// assert_eq!(other, Err(IssuerError::TenantMismatch));
/// ```
pub fn issuer_matches(
    expected: IssuerExpectation<'_>,
    iss: &str,
    tid: Option<&str>,
) -> Result<(), IssuerError> {
    match expected {
        IssuerExpectation::Exact(issuer) if iss == issuer => Ok(()),
        IssuerExpectation::Exact(_) => Err(IssuerError::WrongIssuer),
        IssuerExpectation::Template(template) => template.check(iss, tid),
        IssuerExpectation::Refreshed { template, original } => {
            template.check(iss, tid)?;
            if iss != original {
                return Err(IssuerError::IssuerChanged);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
#[path = "issuer_tests.rs"]
mod tests;
