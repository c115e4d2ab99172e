//! [`ClaimPath`]: where a claim sits in a JSON claims set (RFC 7519 section 4).
//!
//! A path is a list of member names, from the top-level object down. Claim names may
//! contain dots and slashes (Auth0's namespaced `https://example.com/roles`), so the
//! list of segments is the only unambiguous form; the dotted syntax
//! (`realm_access.roles`) is a convenience for the simple case and refuses any name
//! it cannot express without doubt.

use std::fmt;

use serde_json::Value;

/// Where a claim sits: a list of JSON object member names, from the top-level claims
/// set down (`["realm_access", "roles"]`).
///
/// - [`ClaimPath::name`] takes one top-level claim name verbatim, dots and slashes
///   included: `ClaimPath::name("https://example.com/roles")`.
/// - [`ClaimPath::segments`] (or an array, `["realm_access", "roles"].into()`) takes the
///   member names one by one.
/// - [`ClaimPath::parse`] (or a `&str`, `"realm_access.roles".into()`) splits on dots,
///   and only accepts names made of ASCII letters, digits, `_` and `-`, so that a dot
///   always means "one level down".
///
/// ```
/// use axum_oidc_client::access::ClaimPath;
/// use serde_json::json;
///
/// let claims = json!({
///     "realm_access": { "roles": ["admin"] },
///     "https://example.com/roles": ["editor"],
/// });
/// let keycloak = ClaimPath::parse("realm_access.roles").unwrap();
/// assert_eq!(keycloak, ClaimPath::segments(["realm_access", "roles"]));
/// assert_eq!(keycloak.lookup(&claims), Some(&json!(["admin"])));
///
/// let auth0 = ClaimPath::name("https://example.com/roles");
/// assert_eq!(auth0.lookup(&claims), Some(&json!(["editor"])));
/// // The dotted syntax refuses what it cannot express unambiguously.
/// assert!(ClaimPath::parse("https://example.com/roles").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath(Box<[Box<str>]>);

/// Why a dotted claim path was refused by [`ClaimPath::parse`].
///
/// ```
/// use axum_oidc_client::access::{ClaimPath, ClaimPathError};
///
/// assert!(matches!(ClaimPath::parse(""), Err(ClaimPathError::Empty)));
/// assert!(matches!(ClaimPath::parse("a..b"), Err(ClaimPathError::EmptySegment { .. })));
/// assert!(matches!(ClaimPath::parse("a/b"), Err(ClaimPathError::Ambiguous { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimPathError {
    /// The path is empty.
    #[error("a claim path is empty")]
    Empty,
    /// The path has an empty segment (`a..b`, `.a`, `a.`).
    #[error("claim path {path:?} has an empty segment")]
    EmptySegment {
        /// The path as given.
        path: String,
    },
    /// A segment has a character other than an ASCII letter, digit, `_` or `-`: the
    /// dotted syntax cannot tell whether a dot in such a name means a level. Use
    /// [`ClaimPath::name`] or [`ClaimPath::segments`].
    #[error(
        "claim path {path:?} is ambiguous in the dotted syntax; use ClaimPath::name or ClaimPath::segments"
    )]
    Ambiguous {
        /// The path as given.
        path: String,
    },
}

fn is_simple(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl ClaimPath {
    /// One top-level claim, by its exact name (which may contain dots and slashes).
    ///
    /// ```
    /// use axum_oidc_client::access::ClaimPath;
    ///
    /// let p = ClaimPath::name("https://example.com/roles");
    /// assert_eq!(p.as_segments().len(), 1);
    /// ```
    pub fn name(name: impl Into<String>) -> Self {
        Self(Box::new([name.into().into_boxed_str()]))
    }

    /// A path by its member names, from the top.
    ///
    /// # Panics
    ///
    /// When `segments` is empty: a path must name a claim.
    ///
    /// ```
    /// use axum_oidc_client::access::ClaimPath;
    ///
    /// let p = ClaimPath::segments(["resource_access", "my-app", "roles"]);
    /// assert_eq!(p.to_string(), "resource_access.my-app.roles");
    /// ```
    pub fn segments<I, S>(segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segments: Box<[Box<str>]> = segments
            .into_iter()
            .map(|s| s.into().into_boxed_str())
            .collect();
        assert!(
            !segments.is_empty(),
            "a claim path needs at least one segment"
        );
        Self(segments)
    }

    /// Parses the dotted syntax: `realm_access.roles`. Each segment must be made of
    /// ASCII letters, digits, `_` and `-`.
    ///
    /// ```
    /// use axum_oidc_client::access::ClaimPath;
    ///
    /// assert_eq!(ClaimPath::parse("groups").unwrap(), ClaimPath::name("groups"));
    /// assert!(ClaimPath::parse("realm_access..roles").is_err());
    /// ```
    pub fn parse(dotted: &str) -> Result<Self, ClaimPathError> {
        if dotted.is_empty() {
            return Err(ClaimPathError::Empty);
        }
        let mut segments = Vec::new();
        for segment in dotted.split('.') {
            if segment.is_empty() {
                return Err(ClaimPathError::EmptySegment {
                    path: dotted.to_owned(),
                });
            }
            if !is_simple(segment) {
                return Err(ClaimPathError::Ambiguous {
                    path: dotted.to_owned(),
                });
            }
            segments.push(Box::from(segment));
        }
        Ok(Self(segments.into_boxed_slice()))
    }

    /// The member names, from the top.
    ///
    /// ```
    /// use axum_oidc_client::access::ClaimPath;
    ///
    /// let p = ClaimPath::parse("realm_access.roles").unwrap();
    /// assert_eq!(p.as_segments().iter().map(|s| &**s).collect::<Vec<_>>(), ["realm_access", "roles"]);
    /// ```
    pub fn as_segments(&self) -> &[Box<str>] {
        &self.0
    }

    /// The value at this path in `claims`, if every level is an object holding the
    /// next member. Arrays are not traversed.
    ///
    /// ```
    /// use axum_oidc_client::access::ClaimPath;
    /// use serde_json::json;
    ///
    /// let claims = json!({"realm_access": {"roles": ["admin"]}, "groups": ["a"]});
    /// assert!(ClaimPath::parse("realm_access.roles").unwrap().lookup(&claims).is_some());
    /// assert!(ClaimPath::parse("groups.a").unwrap().lookup(&claims).is_none());
    /// ```
    pub fn lookup<'v>(&self, claims: &'v Value) -> Option<&'v Value> {
        self.0
            .iter()
            .try_fold(claims, |v, segment| v.as_object()?.get(&**segment))
    }
}

/// The dotted syntax of [`ClaimPath::parse`].
///
/// # Panics
///
/// When [`ClaimPath::parse`] refuses the string: use [`ClaimPath::name`] for a claim
/// name with dots or slashes.
///
/// ```
/// use axum_oidc_client::access::ClaimPath;
///
/// let p: ClaimPath = "realm_access.roles".into();
/// assert_eq!(p.as_segments().len(), 2);
/// ```
impl From<&str> for ClaimPath {
    fn from(dotted: &str) -> Self {
        match Self::parse(dotted) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }
}

/// The segments of [`ClaimPath::segments`].
///
/// ```
/// use axum_oidc_client::access::ClaimPath;
///
/// let p: ClaimPath = ["https://example.com/claims", "roles"].into();
/// assert_eq!(p.as_segments()[0].as_ref(), "https://example.com/claims");
/// ```
impl<const N: usize> From<[&str; N]> for ClaimPath {
    fn from(segments: [&str; N]) -> Self {
        Self::segments(segments)
    }
}

/// The dotted syntax when every segment is simple, else the segments as a JSON array.
impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.iter().all(|s| is_simple(s)) {
            f.write_str(&self.0.join("."))
        } else {
            let list: Vec<&str> = self.0.iter().map(|s| &**s).collect();
            write!(
                f,
                "{}",
                serde_json::to_string(&list).map_err(|_| fmt::Error)?
            )
        }
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimPath({self})")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_dotted_path_reaches_a_nested_keycloak_claim() {
        let claims = json!({"realm_access": {"roles": ["admin", "user"]}});
        let path = ClaimPath::parse("realm_access.roles").unwrap();
        assert_eq!(path.lookup(&claims), Some(&json!(["admin", "user"])));
    }

    #[test]
    fn a_namespaced_claim_name_is_one_top_level_segment() {
        let claims = json!({
            "https://example.com/roles": ["admin"],
            "https://example": {"com/roles": ["intruder"]},
        });
        let path = ClaimPath::name("https://example.com/roles");
        assert_eq!(path.lookup(&claims), Some(&json!(["admin"])));
        assert_eq!(path.to_string(), r#"["https://example.com/roles"]"#);
    }

    #[test]
    fn the_dotted_syntax_refuses_names_it_cannot_express_unambiguously() {
        for bad in ["https://example.com/roles", "a b", "a.b/c", "ä"] {
            assert!(
                matches!(ClaimPath::parse(bad), Err(ClaimPathError::Ambiguous { .. })),
                "{bad}"
            );
        }
        for bad in [".a", "a.", "a..b", "."] {
            assert!(
                matches!(
                    ClaimPath::parse(bad),
                    Err(ClaimPathError::EmptySegment { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(ClaimPath::parse(""), Err(ClaimPathError::Empty));
    }

    #[test]
    #[should_panic(expected = "ambiguous")]
    fn converting_an_ambiguous_str_panics_with_the_way_out() {
        let _ = ClaimPath::from("https://example.com/roles");
    }

    #[test]
    #[should_panic(expected = "at least one segment")]
    fn an_empty_list_of_segments_is_refused() {
        let _ = ClaimPath::segments(Vec::<String>::new());
    }

    #[test]
    fn lookup_does_not_enter_arrays_or_scalars() {
        let claims = json!({"groups": ["admin"], "n": 1, "s": "x"});
        for p in [
            "groups.0",
            "groups.admin",
            "n.x",
            "s.x",
            "missing",
            "missing.x",
        ] {
            assert_eq!(ClaimPath::parse(p).unwrap().lookup(&claims), None, "{p}");
        }
        assert_eq!(ClaimPath::name("").lookup(&json!({"": 1})), Some(&json!(1)));
    }
}
