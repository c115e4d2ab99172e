//! The `aud` claim: one audience or several (RFC 7519 section 4.1.3).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer, StringDeserializer};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The `aud` claim: a string or an array of strings (RFC 7519 section 4.1.3), the one
/// type for ID tokens, logout tokens and bearer access tokens.
///
/// `S` is the string type: `String` for claims that are kept, or a type borrowing
/// from the payload where the claim is only checked.
///
/// ```
/// use axum_oidc_client::Audience;
/// let one: Audience = serde_json::from_str(r#""api""#).unwrap();
/// let many: Audience = serde_json::from_str(r#"["api","web"]"#).unwrap();
/// assert!(one.contains("api") && many.contains("web") && !many.contains("other"));
/// assert_eq!(serde_json::to_string(&one).unwrap(), r#""api""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience<S = String>(pub Vec<S>);

impl<S: AsRef<str>> Audience<S> {
    /// Whether `aud` contains `who` (exact comparison).
    ///
    /// ```
    /// use axum_oidc_client::Audience;
    ///
    /// let aud: Audience = serde_json::from_str(r#"["my-app", "api"]"#).unwrap();
    /// assert!(aud.contains("api"));
    /// assert!(!aud.contains("API"), "exact comparison");
    /// ```
    pub fn contains(&self, who: &str) -> bool {
        self.0.iter().any(|a| a.as_ref() == who)
    }

    /// The audiences.
    ///
    /// ```
    /// use axum_oidc_client::Audience;
    ///
    /// let aud: Audience = serde_json::from_str(r#"["my-app", "api"]"#).unwrap();
    /// assert_eq!(aud.iter().collect::<Vec<_>>(), ["my-app", "api"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(AsRef::as_ref)
    }

    /// Number of audiences.
    ///
    /// ```
    /// use axum_oidc_client::Audience;
    ///
    /// let aud: Audience = serde_json::from_str(r#"["my-app", "api"]"#).unwrap();
    /// assert_eq!(aud.len(), 2);
    /// let one: Audience = serde_json::from_str(r#""my-app""#).unwrap();
    /// assert_eq!(one.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no audience.
    ///
    /// ```
    /// use axum_oidc_client::Audience;
    ///
    /// let none: Audience = serde_json::from_str("[]").unwrap();
    /// assert!(none.is_empty() && !none.contains("my-app"));
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Serialize> Serialize for Audience<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }
}

impl<'de, S: Deserialize<'de>> Deserialize<'de> for Audience<S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneOrMany<S>(PhantomData<S>);
        impl<'de, S: Deserialize<'de>> Visitor<'de> for OneOrMany<S> {
            type Value = Audience<S>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Audience(vec![S::deserialize(
                    BorrowedStrDeserializer::new(v),
                )?]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Audience(vec![S::deserialize(StrDeserializer::new(v))?]))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Audience(vec![S::deserialize(StringDeserializer::new(v))?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(16));
                while let Some(a) = seq.next_element()? {
                    all.push(a);
                }
                Ok(Audience(all))
            }
        }
        d.deserialize_any(OneOrMany(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_from_a_string_or_an_array_of_strings_only() {
        let a: Audience = serde_json::from_str(r#""x""#).unwrap();
        assert_eq!(a, Audience(vec!["x".to_owned()]));
        let a: Audience = serde_json::from_str(r#"["x","y"]"#).unwrap();
        assert_eq!(a.iter().collect::<Vec<_>>(), ["x", "y"]);
        assert!(serde_json::from_str::<Audience>("3").is_err());
        assert!(serde_json::from_str::<Audience>("[1]").is_err());
        assert!(serde_json::from_str::<Audience>(r#"{"a":"b"}"#).is_err());
    }

    #[test]
    fn borrows_from_the_input_when_the_string_type_does() {
        let a: Audience<&str> = serde_json::from_str(r#"["x","y"]"#).unwrap();
        assert!(a.contains("y"));
    }
}
