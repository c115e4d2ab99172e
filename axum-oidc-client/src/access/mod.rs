//! Access rules on claims, per route: [`Requirement`], its combinators, the route
//! layer [`RequireLayer`] for signed-in browsers, and the [`Claims<T>`] extractor.
//!
//! A [`Requirement`] is a pure rule over a JSON claims set: [`claim`] with
//! [`contains`](Claim::contains), [`equals`](Claim::equals) or
//! [`exists`](Claim::exists), [`email_domain`], and [`any_of`] / [`all_of`] (or
//! [`and`](Requirement::and) / [`or`](Requirement::or)) to compose them. The same
//! value protects
//!
//! - a session route, with [`require`] as its `route_layer`: checked against the
//!   session's verified ID token claims (merged with UserInfo claims when the layer
//!   fetches them). A signed-in user who fails it gets 403: an HTML page a browser
//!   (replaceable with
//!   [`AuthenticationLayer::with_error_pages`](crate::AuthenticationLayer::with_error_pages),
//!   class [`FailureClass::Forbidden`](crate::FailureClass::Forbidden)), JSON
//!   `{"error":"forbidden"}` an API caller. Without a session the route answers as
//!   the [`AuthSession`](crate::AuthSession) extractor does: a redirect to login, or
//!   401;
//! - a bearer route, with [`JwtLayer::require`](crate::bearer::JwtLayer::require):
//!   checked against the access token's claims; a token that fails it gets 403
//!   `error="insufficient_scope"` (RFC 6750 section 3.1).
//!
//! ```
//! use axum::{Router, routing::get};
//! use axum_oidc_client::access::{any_of, claim, email_domain, require};
//!
//! let admins = claim("groups").contains("admin");
//! let editors = any_of([
//!     claim("realm_access.roles").contains("editor"),            // Keycloak
//!     claim(["https://example.com/roles"]).contains("editor"),   // Auth0 namespace
//! ]);
//! let app: Router = Router::new()
//!     .route("/admin", get(|| async { "admin" }).route_layer(require(admins)))
//!     .route("/edit", get(|| async { "edit" }).route_layer(require(editors.and(email_domain(["example.com"])))));
//! // ... then `.layer(AuthenticationLayer::new(config))` around it all.
//! # let _ = app;
//! ```

mod claims;
mod layer;
mod path;
mod step_up;
mod step_up_layer;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

pub use claims::{Claims, ClaimsRejection};
pub(crate) use layer::take_ready;
pub use layer::{Require, RequireLayer, ResponseFuture, require};
pub use path::{ClaimPath, ClaimPathError};
pub use step_up::{
    MAX_ACR_LEN, MAX_ACR_VALUES, MAX_MAX_AGE, StepUp, StepUpError, acr_values, max_age,
};
pub use step_up_layer::{StepUpLayer, StepUpService, step_up};

/// A rule a request's claims must meet. Cheap to clone (one `Arc`); build it with
/// [`claim`], [`email_domain`], [`any_of`] and [`all_of`].
///
/// [`check`](Self::check) is a pure function of the claims: it says which rule
/// failed, so a test can match it.
///
/// ```
/// use axum_oidc_client::access::{AccessError, all_of, claim};
/// use serde_json::json;
///
/// let rule = all_of([claim("groups").contains("staff"), claim("tenant").equals("t1")]);
/// assert!(rule.is_met(&json!({"groups": ["staff"], "tenant": "t1"})));
/// assert!(matches!(
///     rule.check(&json!({"groups": ["staff"], "tenant": "t2"})),
///     Err(AccessError::NotEqual { .. })
/// ));
/// ```
#[derive(Clone)]
pub struct Requirement(Arc<Rule>);

enum Rule {
    Exists(ClaimPath),
    Equals(ClaimPath, Value),
    Contains(ClaimPath, Value),
    EmailDomain {
        domains: Box<[Box<str>]>,
        require_verified: bool,
    },
    AllOf(Box<[Requirement]>),
    AnyOf(Box<[Requirement]>),
}

/// Why claims failed a [`Requirement`]: one variant per rule. The text names the
/// claim, never its value.
///
/// ```
/// use axum_oidc_client::access::{AccessError, claim};
/// use serde_json::json;
///
/// let err = claim("groups").contains("admin").check(&json!({"groups": ["staff"]})).unwrap_err();
/// assert!(matches!(err, AccessError::NotContained { .. }));
/// assert_eq!(err.to_string(), "claim groups does not contain the required value");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The claim is absent or `null`.
    #[error("claim {path} is missing")]
    Missing {
        /// Where the claim was looked for.
        path: ClaimPath,
    },
    /// The claim does not equal the required value ([`Claim::equals`]).
    #[error("claim {path} does not have the required value")]
    NotEqual {
        /// The claim.
        path: ClaimPath,
    },
    /// The claim neither is nor contains the required value ([`Claim::contains`]).
    #[error("claim {path} does not contain the required value")]
    NotContained {
        /// The claim.
        path: ClaimPath,
    },
    /// `email_verified` is not `true` (OIDC Core 5.1), so the `email` domain proves
    /// nothing ([`email_domain`]).
    #[error("the email address is not verified")]
    EmailNotVerified,
    /// `email` is not an address in an allowed domain ([`email_domain`]).
    #[error("the email domain is not allowed")]
    EmailDomainNotAllowed,
    /// None of the alternatives of [`any_of`] is met; why each failed, in order.
    #[error("none of {} alternatives is met", .0.len())]
    NoneMet(Vec<AccessError>),
}

/// A claim to test: the start of a [`Requirement`].
///
/// `path` is a [`ClaimPath`]: a `&str` in the dotted syntax (`"groups"`,
/// `"realm_access.roles"`), an array of segments (`["https://example.com/roles"]`),
/// or a path built with [`ClaimPath::name`].
///
/// # Panics
///
/// When `path` is a `&str` that the dotted syntax refuses (see [`ClaimPath::parse`]).
///
/// ```
/// use axum_oidc_client::access::{ClaimPath, claim};
/// use serde_json::json;
///
/// let claims = json!({"realm_access": {"roles": ["admin"]}, "https://example.com/roles": ["ops"]});
/// assert!(claim("realm_access.roles").contains("admin").is_met(&claims));
/// assert!(claim(["https://example.com/roles"]).contains("ops").is_met(&claims));
/// assert!(claim(ClaimPath::name("https://example.com/roles")).contains("ops").is_met(&claims));
/// ```
pub fn claim(path: impl Into<ClaimPath>) -> Claim {
    Claim { path: path.into() }
}

/// A claim to test, from [`claim`]; each method makes the [`Requirement`].
///
/// ```
/// use axum_oidc_client::access::claim;
///
/// let rule = claim("email_verified").equals(true);
/// # let _ = rule;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Claim {
    path: ClaimPath,
}

impl Claim {
    /// The claim is present and not `null`.
    ///
    /// ```
    /// use axum_oidc_client::access::claim;
    /// use serde_json::json;
    ///
    /// assert!(claim("tenant").exists().is_met(&json!({"tenant": "t1"})));
    /// assert!(!claim("tenant").exists().is_met(&json!({"tenant": null})));
    /// ```
    pub fn exists(self) -> Requirement {
        Requirement::new(Rule::Exists(self.path))
    }

    /// The claim equals `value` (exact JSON equality: `"true"` is not `true`).
    ///
    /// ```
    /// use axum_oidc_client::access::claim;
    /// use serde_json::json;
    ///
    /// assert!(claim("acr").equals("urn:mfa").is_met(&json!({"acr": "urn:mfa"})));
    /// assert!(!claim("acr").equals("urn:mfa").is_met(&json!({"acr": "urn:pwd"})));
    /// ```
    pub fn equals(self, value: impl Into<Value>) -> Requirement {
        Requirement::new(Rule::Equals(self.path, value.into()))
    }

    /// The claim is an array holding `value`, or is `value` itself (some providers
    /// send a one-element list as a plain string, as RFC 7519 allows for `aud`).
    /// Comparison is exact and case-sensitive; a space-separated string is not split.
    ///
    /// ```
    /// use axum_oidc_client::access::claim;
    /// use serde_json::json;
    ///
    /// let admins = claim("groups").contains("admin");
    /// assert!(admins.is_met(&json!({"groups": ["admin", "staff"]})));
    /// assert!(admins.is_met(&json!({"groups": "admin"})));
    /// assert!(!admins.is_met(&json!({"groups": ["Admin"]})));
    /// assert!(!admins.is_met(&json!({"groups": "admin staff"})));
    /// ```
    pub fn contains(self, value: impl Into<Value>) -> Requirement {
        Requirement::new(Rule::Contains(self.path, value.into()))
    }

    /// The claim contains at least one of `values`: [`any_of`] of
    /// [`contains`](Self::contains).
    ///
    /// # Panics
    ///
    /// When `values` is empty.
    ///
    /// ```
    /// use axum_oidc_client::access::claim;
    /// use serde_json::json;
    ///
    /// let rule = claim("roles").contains_any(["admin", "owner"]);
    /// assert!(rule.is_met(&json!({"roles": ["owner"]})));
    /// assert!(!rule.is_met(&json!({"roles": ["viewer"]})));
    /// ```
    pub fn contains_any<I, V>(self, values: I) -> Requirement
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        any_of(values.into_iter().map(|v| self.clone().contains(v)))
    }
}

/// Every requirement must be met. An empty list would allow everyone, so it is
/// refused.
///
/// # Panics
///
/// When `requirements` is empty.
///
/// ```
/// use axum_oidc_client::access::{all_of, claim};
/// use serde_json::json;
///
/// let rule = all_of([claim("groups").contains("staff"), claim("email_verified").equals(true)]);
/// assert!(rule.is_met(&json!({"groups": ["staff"], "email_verified": true})));
/// assert!(!rule.is_met(&json!({"groups": ["staff"], "email_verified": false})));
/// ```
pub fn all_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
    let list: Box<[Requirement]> = requirements.into_iter().collect();
    assert!(!list.is_empty(), "all_of needs at least one requirement");
    Requirement::new(Rule::AllOf(list))
}

/// At least one requirement must be met.
///
/// # Panics
///
/// When `requirements` is empty.
///
/// ```
/// use axum_oidc_client::access::{any_of, claim};
/// use serde_json::json;
///
/// let rule = any_of([claim("groups").contains("admin"), claim("sub").equals("root")]);
/// assert!(rule.is_met(&json!({"sub": "root"})));
/// assert!(!rule.is_met(&json!({"sub": "bob", "groups": []})));
/// ```
pub fn any_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
    let list: Box<[Requirement]> = requirements.into_iter().collect();
    assert!(!list.is_empty(), "any_of needs at least one requirement");
    Requirement::new(Rule::AnyOf(list))
}

/// The `email` claim is an address in one of `domains` (exact domain, ASCII
/// case-insensitive: `example.com` does not allow `sub.example.com`), and
/// `email_verified` is `true` (OIDC Core 5.1): an unverified address proves nothing
/// about its domain.
///
/// # Panics
///
/// When `domains` is empty, or a domain is empty or contains `@` or whitespace.
///
/// ```
/// use axum_oidc_client::access::email_domain;
/// use serde_json::json;
///
/// let staff = email_domain(["example.com", "example.org"]);
/// assert!(staff.is_met(&json!({"email": "alice@Example.COM", "email_verified": true})));
/// assert!(!staff.is_met(&json!({"email": "carol@example.com", "email_verified": false})));
/// assert!(!staff.is_met(&json!({"email": "eve@example.com.evil", "email_verified": true})));
/// ```
pub fn email_domain<I, S>(domains: I) -> Requirement
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    email_rule(domains, true)
}

/// [`email_domain`] without the `email_verified` check, for a provider that verifies
/// every address but does not say so. Anyone who can set an unverified address at
/// the provider passes it.
///
/// # Panics
///
/// As [`email_domain`].
///
/// ```
/// use axum_oidc_client::access::insecure_email_domain_unverified;
/// use serde_json::json;
///
/// let rule = insecure_email_domain_unverified(["example.com"]);
/// assert!(rule.is_met(&json!({"email": "carol@example.com"})));
/// ```
pub fn insecure_email_domain_unverified<I, S>(domains: I) -> Requirement
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    email_rule(domains, false)
}

fn email_rule<I, S>(domains: I, require_verified: bool) -> Requirement
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let domains: Box<[Box<str>]> = domains
        .into_iter()
        .map(|d| {
            let d = d.as_ref();
            assert!(
                !d.is_empty() && !d.contains('@') && !d.contains(char::is_whitespace),
                "invalid email domain {d:?}"
            );
            Box::from(d.to_ascii_lowercase())
        })
        .collect();
    assert!(
        !domains.is_empty(),
        "email_domain needs at least one domain"
    );
    Requirement::new(Rule::EmailDomain {
        domains,
        require_verified,
    })
}

impl Requirement {
    fn new(rule: Rule) -> Self {
        Self(Arc::new(rule))
    }

    /// Both `self` and `other`.
    ///
    /// ```
    /// use axum_oidc_client::access::{claim, email_domain};
    ///
    /// let rule = claim("groups").contains("admin").and(email_domain(["example.com"]));
    /// # let _ = rule;
    /// ```
    #[must_use]
    pub fn and(self, other: Requirement) -> Requirement {
        all_of([self, other])
    }

    /// `self` or `other`.
    ///
    /// ```
    /// use axum_oidc_client::access::claim;
    /// use serde_json::json;
    ///
    /// let rule = claim("groups").contains("admin").or(claim("groups").contains("owner"));
    /// assert!(rule.is_met(&json!({"groups": ["owner"]})));
    /// ```
    #[must_use]
    pub fn or(self, other: Requirement) -> Requirement {
        any_of([self, other])
    }

    /// Whether `claims` (a JSON claims set) meet the rule, and if not, which rule
    /// failed.
    ///
    /// ```
    /// use axum_oidc_client::access::{AccessError, claim};
    /// use serde_json::json;
    ///
    /// let rule = claim("groups").contains("admin");
    /// assert_eq!(rule.check(&json!({"groups": ["admin"]})), Ok(()));
    /// assert!(matches!(rule.check(&json!({})), Err(AccessError::Missing { .. })));
    /// ```
    pub fn check(&self, claims: &Value) -> Result<(), AccessError> {
        match &*self.0 {
            Rule::Exists(path) => present(path, claims).map(|_| ()),
            Rule::Equals(path, value) => {
                if present(path, claims)? == value {
                    Ok(())
                } else {
                    Err(AccessError::NotEqual { path: path.clone() })
                }
            }
            Rule::Contains(path, value) => {
                let found = present(path, claims)?;
                let holds = match found {
                    Value::Array(items) => items.contains(value),
                    other => other == value,
                };
                if holds {
                    Ok(())
                } else {
                    Err(AccessError::NotContained { path: path.clone() })
                }
            }
            Rule::EmailDomain {
                domains,
                require_verified,
            } => check_email(claims, domains, *require_verified),
            Rule::AllOf(list) => list.iter().try_for_each(|r| r.check(claims)),
            Rule::AnyOf(list) => {
                let mut errors = Vec::with_capacity(list.len());
                for r in list.iter() {
                    match r.check(claims) {
                        Ok(()) => return Ok(()),
                        Err(e) => errors.push(e),
                    }
                }
                Err(AccessError::NoneMet(errors))
            }
        }
    }

    /// Whether `claims` meet the rule.
    ///
    /// ```
    /// use axum_oidc_client::access::claim;
    /// use serde_json::json;
    ///
    /// assert!(claim("groups").contains("admin").is_met(&json!({"groups": ["admin"]})));
    /// ```
    pub fn is_met(&self, claims: &Value) -> bool {
        self.check(claims).is_ok()
    }
}

fn present<'v>(path: &ClaimPath, claims: &'v Value) -> Result<&'v Value, AccessError> {
    match path.lookup(claims) {
        None | Some(Value::Null) => Err(AccessError::Missing { path: path.clone() }),
        Some(v) => Ok(v),
    }
}

fn check_email(
    claims: &Value,
    domains: &[Box<str>],
    require_verified: bool,
) -> Result<(), AccessError> {
    let email_path = || ClaimPath::name("email");
    let email = match claims.get("email") {
        None | Some(Value::Null) => return Err(AccessError::Missing { path: email_path() }),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(AccessError::EmailDomainNotAllowed),
    };
    if require_verified && claims.get("email_verified") != Some(&Value::Bool(true)) {
        return Err(AccessError::EmailNotVerified);
    }
    // The domain is what follows the last `@` (a quoted local part may hold one).
    let allowed = email.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    });
    if allowed {
        Ok(())
    } else {
        Err(AccessError::EmailDomainNotAllowed)
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Rule::Exists(p) => write!(f, "claim({p}).exists()"),
            Rule::Equals(p, v) => write!(f, "claim({p}).equals({v})"),
            Rule::Contains(p, v) => write!(f, "claim({p}).contains({v})"),
            Rule::EmailDomain {
                domains,
                require_verified,
            } => {
                let name = if *require_verified {
                    "email_domain"
                } else {
                    "insecure_email_domain_unverified"
                };
                write!(f, "{name}({domains:?})")
            }
            Rule::AllOf(list) => write!(f, "all_of({list:?})"),
            Rule::AnyOf(list) => write!(f, "any_of({list:?})"),
        }
    }
}

#[cfg(test)]
mod tests;
