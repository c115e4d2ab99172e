//! [`OidcClaims`]: a ready claims type for access tokens from OpenID providers.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::claims::{NumericDate, StrOrList};
use crate::id_token::Audiences;

/// The usual claims of a JWT access token (RFC 9068 section 2.2, RFC 7519 section
/// 4.1, OIDC Core 5.1), with every other claim in [`additional`](Self::additional).
///
/// Use it as `JwtClaims<OidcClaims>` (the default type of
/// [`JwtClaims`](super::JwtClaims)). `iss`, `sub` and `exp` are required: a token
/// without `sub` (some client-credentials tokens) fails this extractor with 401;
/// use your own type or `serde_json::Map` for those.
///
/// ```
/// use axum_oidc_client::bearer::OidcClaims;
///
/// let c: OidcClaims = serde_json::from_str(
///     r#"{"iss":"https://op","sub":"u1","aud":"api","exp":2000000000,
///         "scope":"read write","email":"u@example.com","tenant":"t1"}"#,
/// ).unwrap();
/// assert!(c.has_scope("write"));
/// assert_eq!(c.email.as_deref(), Some("u@example.com"));
/// assert_eq!(c.additional["tenant"], "t1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcClaims {
    /// Issuer (RFC 7519 section 4.1.1).
    pub iss: String,
    /// Subject: the user, or the client for client-credentials tokens (section 4.1.2).
    pub sub: String,
    /// Audiences (section 4.1.3); empty when the token has none.
    #[serde(default = "no_audience", skip_serializing_if = "is_empty")]
    pub aud: Audiences,
    /// Expiry, seconds since the epoch (section 4.1.4).
    #[serde(deserialize_with = "numeric_date")]
    pub exp: i64,
    /// Issue time, seconds since the epoch (section 4.1.6).
    #[serde(
        default,
        deserialize_with = "opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    /// Not-before time, seconds since the epoch (section 4.1.5).
    #[serde(
        default,
        deserialize_with = "opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// Granted scopes, from the space-separated `scope` claim (RFC 9068 section
    /// 2.2.3) or a `scope` array. Serialized back as one space-separated string.
    #[serde(
        default,
        deserialize_with = "scope_list",
        serialize_with = "scope_string",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scope: Vec<String>,
    /// The OAuth client the token was issued to (RFC 8693 section 4.3, RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Authorized party (OIDC Core 2; Keycloak puts the client here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// E-mail address (OIDC Core 5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Full name (OIDC Core 5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Preferred username (OIDC Core 5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Every other claim (`jti`, `scp`, `roles`, `groups`, custom ones...).
    #[serde(flatten)]
    pub additional: serde_json::Map<String, serde_json::Value>,
}

impl OidcClaims {
    /// Whether `scope` is granted by `scope` or by a `scp` string or array
    /// (case-sensitive, RFC 6749 section 3.3).
    ///
    /// ```
    /// # use axum_oidc_client::bearer::OidcClaims;
    /// let c: OidcClaims = serde_json::from_str(
    ///     r#"{"iss":"i","sub":"s","exp":1,"scp":["orders.read"]}"#).unwrap();
    /// assert!(c.has_scope("orders.read"));
    /// assert!(!c.has_scope("orders.write"));
    /// ```
    pub fn has_scope(&self, scope: &str) -> bool {
        if self.scope.iter().any(|s| s == scope) {
            return true;
        }
        match self.additional.get("scp") {
            Some(serde_json::Value::String(s)) => s.split(' ').any(|s| s == scope),
            Some(serde_json::Value::Array(a)) => a.iter().any(|s| s.as_str() == Some(scope)),
            _ => false,
        }
    }

    /// A string claim from [`additional`](Self::additional).
    ///
    /// ```
    /// # use axum_oidc_client::bearer::OidcClaims;
    /// let c: OidcClaims = serde_json::from_str(
    ///     r#"{"iss":"i","sub":"s","exp":1,"jti":"abc"}"#).unwrap();
    /// assert_eq!(c.get_str("jti"), Some("abc"));
    /// ```
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.additional
            .get(name)
            .and_then(serde_json::Value::as_str)
    }
}

fn no_audience() -> Audiences {
    Audiences(Vec::new())
}

fn is_empty(a: &Audiences) -> bool {
    a.0.is_empty()
}

fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    NumericDate::deserialize(d).map(|n| n.0)
}

fn opt_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<NumericDate>::deserialize(d).map(|n| n.map(|n| n.0))
}

fn scope_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<StrOrList<'de>>::deserialize(d)? {
        None => Vec::new(),
        Some(StrOrList::Str(s)) => {
            s.0.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        }
        Some(StrOrList::List(l)) => l.into_iter().map(|s| s.0.into_owned()).collect(),
    })
}

fn scope_string<S: Serializer>(scope: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&scope.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_array_and_fractional_dates_are_accepted() {
        let c: OidcClaims = serde_json::from_str(
            r#"{"iss":"i","sub":"s","aud":["a","b"],"exp":1.5e9,"scope":["x","y"]}"#,
        )
        .unwrap();
        assert_eq!(c.exp, 1_500_000_000);
        assert_eq!(c.scope, ["x", "y"]);
        assert!(c.aud.contains("b"));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["scope"], "x y");
    }

    #[test]
    fn missing_sub_does_not_deserialize() {
        assert!(serde_json::from_str::<OidcClaims>(r#"{"iss":"i","exp":1}"#).is_err());
    }
}
