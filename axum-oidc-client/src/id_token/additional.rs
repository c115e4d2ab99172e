//! [`AdditionalClaims`]: the claims of an ID token without a field of their own, in
//! the least memory a session can keep them in.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Claim names common enough to be kept without an allocation of their own: the
/// standard claims of OIDC Core 5.1 and 2, and a few that providers often add.
const KNOWN: &[&str] = &[
    "acr",
    "address",
    "amr",
    "birthdate",
    "c_hash",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "groups",
    "idp",
    "jti",
    "locale",
    "middle_name",
    "name",
    "nbf",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "roles",
    "s_hash",
    "scope",
    "session_state",
    "tid",
    "typ",
    "updated_at",
    "website",
    "zoneinfo",
];

fn name_of(name: String) -> Cow<'static, str> {
    match KNOWN.binary_search(&name.as_str()) {
        Ok(i) => Cow::Borrowed(KNOWN[i]),
        Err(_) => Cow::Owned(name.into_boxed_str().into_string()),
    }
}

/// The claims of an ID token (or merged from UserInfo) besides those with a field
/// in [`IdTokenClaims`](crate::IdTokenClaims): `name`, `email`, `groups`, ...
///
/// A read-only map from claim name to JSON value, in name order, with the lookups of
/// a `serde_json::Map`. Every session keeps one, so it is stored compactly: one
/// allocation for all the entries, and none for the name of a standard claim. It
/// serializes as a JSON object, exactly as a `serde_json::Map` does.
///
/// ```
/// use axum_oidc_client::{AdditionalClaims, IdTokenClaims};
///
/// let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://op.example", "sub": "alice", "aud": "my-app", "exp": 2, "iat": 1,
///     "email": "alice@example.com", "groups": ["staff"], "tenant": "t1"
/// }))
/// .unwrap();
/// let extra: &AdditionalClaims = &claims.additional;
/// assert_eq!(extra["email"], "alice@example.com");
/// assert_eq!(extra.get("groups").unwrap()[0], "staff");
/// assert!(extra["missing"].is_null(), "absent claims index as null");
/// assert_eq!(extra.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["email", "groups", "tenant"]);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct AdditionalClaims(Box<[(Cow<'static, str>, Value)]>);

impl AdditionalClaims {
    /// No claims.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// assert!(AdditionalClaims::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(name))
    }

    /// The value of claim `name`, if present.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let extra: AdditionalClaims = serde_json::from_str(r#"{"email_verified": true}"#).unwrap();
    /// assert_eq!(extra.get("email_verified"), Some(&serde_json::Value::Bool(true)));
    /// assert_eq!(extra.get("email"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).ok().map(|i| &self.0[i].1)
    }

    /// Whether claim `name` is present.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let extra: AdditionalClaims = serde_json::from_str(r#"{"tenant": "t1"}"#).unwrap();
    /// assert!(extra.contains_key("tenant") && !extra.contains_key("name"));
    /// ```
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Number of claims.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let extra: AdditionalClaims = serde_json::from_str(r#"{"a": 1, "b": 2}"#).unwrap();
    /// assert_eq!(extra.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no claims.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// assert!(AdditionalClaims::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The claims in name order.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let extra: AdditionalClaims = serde_json::from_str(r#"{"z": 1, "a": 2}"#).unwrap();
    /// let names: Vec<&str> = extra.iter().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["a", "z"]);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The claim names, in order.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let extra: AdditionalClaims = serde_json::from_str(r#"{"z": 1, "a": 2}"#).unwrap();
    /// assert_eq!(extra.keys().collect::<Vec<_>>(), ["a", "z"]);
    /// ```
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// The claim values, in the order of their names.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let extra: AdditionalClaims = serde_json::from_str(r#"{"z": 1, "a": 2}"#).unwrap();
    /// assert_eq!(extra.values().collect::<Vec<_>>(), [2, 1]);
    /// ```
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Sets claim `name`, returning its previous value.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let mut extra = AdditionalClaims::new();
    /// assert_eq!(extra.insert("tenant", "t1".into()), None);
    /// assert_eq!(extra.insert("tenant", "t2".into()), Some("t1".into()));
    /// assert_eq!(extra["tenant"], "t2");
    /// ```
    pub fn insert(&mut self, name: impl Into<String>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.position(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                let mut entries = std::mem::take(&mut self.0).into_vec();
                entries.insert(i, (name_of(name), value));
                self.0 = entries.into_boxed_slice();
                None
            }
        }
    }

    /// Removes claim `name`, returning its value.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let mut extra: AdditionalClaims = serde_json::from_str(r#"{"c_hash": "x"}"#).unwrap();
    /// assert_eq!(extra.remove("c_hash"), Some("x".into()));
    /// assert!(extra.is_empty());
    /// ```
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.position(name).ok()?;
        let mut entries = std::mem::take(&mut self.0).into_vec();
        let (_, value) = entries.remove(i);
        self.0 = entries.into_boxed_slice();
        Some(value)
    }

    /// The claims as a `serde_json::Map`.
    ///
    /// ```
    /// use axum_oidc_client::AdditionalClaims;
    ///
    /// let extra: AdditionalClaims = serde_json::from_str(r#"{"tenant": "t1"}"#).unwrap();
    /// assert_eq!(extra.to_map()["tenant"], "t1");
    /// ```
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }
}

impl fmt::Debug for AdditionalClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Absent claims index as `null`, as a missing key of a `serde_json::Value` does.
impl std::ops::Index<&str> for AdditionalClaims {
    type Output = Value;

    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

/// From any claims; a name given twice keeps its last value, as JSON parsers do.
impl FromIterator<(String, Value)> for AdditionalClaims {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut entries: Vec<(String, Value)> = iter.into_iter().collect();
        // Stable: among equal names, the last one given ends up last.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Cow<'static, str>, Value)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some((last, value)) if last.as_ref() == k => *value = v,
                _ => out.push((name_of(k), v)),
            }
        }
        Self(out.into_boxed_slice())
    }
}

impl From<Map<String, Value>> for AdditionalClaims {
    fn from(map: Map<String, Value>) -> Self {
        map.into_iter().collect()
    }
}

impl From<AdditionalClaims> for Map<String, Value> {
    fn from(claims: AdditionalClaims) -> Self {
        claims
            .0
            .into_vec()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }
}

impl<'a> IntoIterator for &'a AdditionalClaims {
    type Item = (&'a str, &'a Value);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'a str, &'a Value)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl Serialize for AdditionalClaims {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AdditionalClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = AdditionalClaims;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_sorted_so_the_search_finds_them() {
        assert!(KNOWN.windows(2).all(|w| w[0] < w[1]));
        assert!(matches!(name_of("email".into()), Cow::Borrowed("email")));
        assert!(matches!(name_of("tenant".into()), Cow::Owned(_)));
    }

    #[test]
    fn serializes_exactly_as_a_json_map_does() {
        let json = r#"{"zeta":1,"email":"a@example.com","address":{"country":"DE"},"groups":["x"],"n":null}"#;
        let map: Map<String, Value> = serde_json::from_str(json).unwrap();
        let compact: AdditionalClaims = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::to_string(&compact).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(compact.to_map(), map);
        assert_eq!(AdditionalClaims::from(map.clone()), compact);
        assert_eq!(Map::from(compact), map);
    }

    #[test]
    fn a_name_given_twice_keeps_its_last_value_as_a_json_map_does() {
        let json = r#"{"name":"first","name":"second"}"#;
        let map: Map<String, Value> = serde_json::from_str(json).unwrap();
        let compact: AdditionalClaims = serde_json::from_str(json).unwrap();
        assert_eq!(compact.len(), 1);
        assert_eq!(compact["name"], map["name"]);
        assert_eq!(compact["name"], "second");
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        assert!(serde_json::from_str::<AdditionalClaims>("[]").is_err());
        assert!(serde_json::from_str::<AdditionalClaims>(r#""x""#).is_err());
    }

    #[test]
    fn insert_and_remove_keep_the_names_in_order() {
        let mut c = AdditionalClaims::new();
        for n in ["m", "z", "a", "tenant", "email"] {
            assert_eq!(c.insert(n, Value::from(n)), None);
        }
        let names: Vec<&str> = c.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["a", "email", "m", "tenant", "z"]);
        assert_eq!(c.remove("m"), Some(Value::from("m")));
        assert_eq!(c.remove("m"), None);
        assert!(c.contains_key("z") && !c.contains_key("m"));
        assert_eq!(c.len(), 4);
    }
}
