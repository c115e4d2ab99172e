//! Zero-copy reading of the claims this layer checks (RFC 7519 section 4.1).
//!
//! The payload is parsed once, before the signature check, to route the token to its
//! issuer; the same view is then validated. Strings borrow from the payload unless
//! they contain escapes, unknown claims are skipped without allocation, and the
//! registered claims are type-checked so each bad claim has its own error.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::BearerError;
use crate::jose::JoseError;

/// A string that borrows from the input when it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl AsRef<str> for CowStr<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The `aud` claim, borrowing from the payload (RFC 7519 section 4.1.3).
pub(crate) type Audience<'a> = crate::jose::Audience<CowStr<'a>>;

/// A list of strings given either as one space-separated string or as an array
/// (`scope`, RFC 9068 section 2.2.3 and RFC 8693 section 4.2; `scp` as some
/// providers send it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrOrList<'a> {
    Str(CowStr<'a>),
    List(Vec<CowStr<'a>>),
}

struct StrOrListVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for StrOrListVisitor<'a> {
    type Value = StrOrList<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(StrOrList::Str(CowStr(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(StrOrList::Str(CowStr(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(StrOrList::Str(CowStr(Cow::Owned(v))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(16));
        while let Some(s) = seq.next_element::<CowStr<'a>>()? {
            all.push(s);
        }
        Ok(StrOrList::List(all))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StrOrList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrOrListVisitor(std::marker::PhantomData))
    }
}

/// A NumericDate (RFC 7519 section 2): seconds since the epoch, integer or fraction
/// (rounded down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumericDate(pub(crate) i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                Ok(NumericDate(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() {
                    // `as` saturates at the i64 bounds.
                    Ok(NumericDate(v.floor() as i64))
                } else {
                    Err(E::custom("not a finite number"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The claims the layer checks, borrowed from the payload.
#[derive(Debug, Default)]
pub(crate) struct ClaimsView<'a> {
    pub(crate) iss: Option<CowStr<'a>>,
    pub(crate) aud: Option<Audience<'a>>,
    pub(crate) exp: Option<i64>,
    pub(crate) nbf: Option<i64>,
    /// `tid`, the tenant of a multi-tenant issuer, when a string.
    pub(crate) tid: Option<String>,
    /// `azp` (OIDC Core 2), read to tell ID tokens from access tokens.
    pub(crate) azp: Option<CowStr<'a>>,
    /// Which of the [`markers`] are present and not `null`.
    pub(crate) markers: u8,
    /// Bit `i` is set when `required[i]` is present and not `null`.
    pub(crate) present: u64,
}

/// Claims that tell an OIDC ID token from an access token, one bit each in
/// [`ClaimsView::markers`].
pub(crate) mod markers {
    /// `nonce` (OIDC Core 2, 3.1.3.7 step 11): only ID tokens carry it.
    pub(crate) const NONCE: u8 = 1;
    /// `at_hash` (OIDC Core 3.1.3.6, 3.3.2.11).
    pub(crate) const AT_HASH: u8 = 1 << 1;
    /// `c_hash` (OIDC Core 3.3.2.11).
    pub(crate) const C_HASH: u8 = 1 << 2;
    /// `auth_time` (OIDC Core 2).
    pub(crate) const AUTH_TIME: u8 = 1 << 3;
    /// `scope` or `scp` (RFC 9068 section 2.2.3): access tokens carry it.
    pub(crate) const SCOPE: u8 = 1 << 4;

    /// The marker bit of a claim name, 0 for other claims.
    pub(crate) fn of(name: &str) -> u8 {
        match name {
            "nonce" => NONCE,
            "at_hash" => AT_HASH,
            "c_hash" => C_HASH,
            "auth_time" => AUTH_TIME,
            "scope" | "scp" => SCOPE,
            _ => 0,
        }
    }
}

/// Most required claims supported (one bit each in [`ClaimsView::present`]).
pub(crate) const MAX_REQUIRED_CLAIMS: usize = 64;

/// Parses `payload` into a [`ClaimsView`], noting which of `required` are present.
///
/// Errors: [`JoseError::BadPayload`] when the payload is not a JSON object,
/// [`BearerError::InvalidClaim`] for a registered claim of the wrong type,
/// [`BearerError::DuplicateClaim`] for a repeated checked claim.
pub(crate) fn parse<'a>(
    payload: &'a [u8],
    required: &[Box<str>],
) -> Result<ClaimsView<'a>, BearerError> {
    debug_assert!(required.len() <= MAX_REQUIRED_CLAIMS);
    // RFC 7519 section 7.2 step 10: the claims set is UTF-8; the parser alone would
    // skip unread members without checking.
    let payload =
        std::str::from_utf8(payload).map_err(|_| BearerError::Jose(JoseError::BadPayload))?;
    let problem = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(payload);
    let seed = Seed {
        required,
        problem: &problem,
    };
    match seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(_) => Err(problem
            .take()
            .unwrap_or(BearerError::Jose(JoseError::BadPayload))),
    }
}

struct Seed<'r> {
    required: &'r [Box<str>],
    problem: &'r Cell<Option<BearerError>>,
}

impl Seed<'_> {
    fn fail<E: de::Error>(&self, e: BearerError) -> E {
        self.problem.set(Some(e));
        E::custom("claim rejected")
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = ClaimsView<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// The registered claims that are type-checked, one bit each for duplicate detection.
const CHECKED: [&str; 8] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id"];

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = ClaimsView<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut view = ClaimsView::default();
        let mut seen = 0u8;
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let key = key.0;
            let present = match CHECKED.iter().position(|c| *c == key) {
                Some(i) => {
                    let name = CHECKED[i];
                    if seen & (1 << i) != 0 {
                        return Err(self.fail(BearerError::DuplicateClaim(name.to_owned())));
                    }
                    seen |= 1 << i;
                    let bad = |_| self.fail::<A::Error>(BearerError::InvalidClaim(name));
                    match name {
                        "iss" => {
                            view.iss = map.next_value().map_err(bad)?;
                            view.iss.is_some()
                        }
                        "aud" => {
                            view.aud = map.next_value().map_err(bad)?;
                            view.aud.is_some()
                        }
                        "exp" => {
                            let d: Option<NumericDate> = map.next_value().map_err(bad)?;
                            view.exp = d.map(|d| d.0);
                            d.is_some()
                        }
                        "nbf" => {
                            let d: Option<NumericDate> = map.next_value().map_err(bad)?;
                            view.nbf = d.map(|d| d.0);
                            d.is_some()
                        }
                        "iat" => map
                            .next_value::<Option<NumericDate>>()
                            .map_err(bad)?
                            .is_some(),
                        // sub, jti, client_id: strings (RFC 7519 4.1.2, 4.1.7; RFC 8693 4.3).
                        _ => map
                            .next_value::<Option<CowStr<'de>>>()
                            .map_err(bad)?
                            .is_some(),
                    }
                }
                None if key == "tid" => {
                    let v: Option<serde_json::Value> = map.next_value()?;
                    view.tid = match &v {
                        Some(serde_json::Value::String(s)) => Some(s.clone()),
                        _ => None,
                    };
                    v.is_some()
                }
                None if key == "azp" => {
                    view.azp = map
                        .next_value()
                        .map_err(|_| self.fail::<A::Error>(BearerError::InvalidClaim("azp")))?;
                    view.azp.is_some()
                }
                None => {
                    let present = map.next_value::<Option<IgnoredAny>>()?.is_some();
                    if present {
                        view.markers |= markers::of(&key);
                    }
                    present
                }
            };
            if present && let Some(i) = self.required.iter().position(|r| **r == *key) {
                if view.present & (1 << i) != 0 {
                    return Err(self.fail(BearerError::DuplicateClaim(key.into_owned())));
                }
                view.present |= 1 << i;
            }
        }
        Ok(view)
    }
}

/// The `scope` and `scp` claims of a payload.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Scopes<'a> {
    #[serde(borrow, default)]
    scope: Option<StrOrList<'a>>,
    #[serde(borrow, default)]
    scp: Option<StrOrList<'a>>,
}

impl<'a> Scopes<'a> {
    /// Reads `scope` / `scp` from a payload.
    pub(crate) fn parse(payload: &'a [u8]) -> Result<Self, BearerError> {
        serde_json::from_slice(payload).map_err(|_| BearerError::InvalidClaim("scope"))
    }

    /// Every scope value: `scope` and `scp`, each split on spaces when a string.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        fn values<'s>(v: &'s Option<StrOrList<'_>>) -> Box<dyn Iterator<Item = &'s str> + 's> {
            match v {
                None => Box::new(std::iter::empty()),
                Some(StrOrList::Str(s)) => Box::new(s.0.split(' ').filter(|s| !s.is_empty())),
                Some(StrOrList::List(l)) => Box::new(l.iter().map(|s| &*s.0)),
            }
        }
        values(&self.scope).chain(values(&self.scp))
    }

    /// Whether the token has `scope` (case-sensitive, RFC 6749 section 3.3).
    pub(crate) fn contains(&self, scope: &str) -> bool {
        if scope.is_empty() {
            return false;
        }
        let has = |v: &Option<StrOrList<'_>>| match v {
            None => false,
            Some(StrOrList::Str(s)) => s.0.split(' ').any(|s| s == scope),
            Some(StrOrList::List(l)) => l.iter().any(|s| s.0 == scope),
        };
        has(&self.scope) || has(&self.scp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(names: &[&str]) -> Vec<Box<str>> {
        names.iter().map(|n| Box::from(*n)).collect()
    }

    #[test]
    fn reads_registered_claims_and_borrows_strings() {
        let p = br#"{"iss":"https://op","aud":["a","b"],"exp":10,"nbf":5.9,"x":{"y":[1]}}"#;
        let v = parse(p, &[]).unwrap();
        assert!(matches!(v.iss, Some(CowStr(Cow::Borrowed("https://op")))));
        assert!(v.aud.as_ref().unwrap().contains("b"));
        assert!(!v.aud.as_ref().unwrap().contains("c"));
        assert_eq!((v.exp, v.nbf), (Some(10), Some(5)));
    }

    #[test]
    fn rejects_payload_that_is_not_an_object() {
        assert!(matches!(
            parse(b"[1,2]", &[]),
            Err(BearerError::Jose(JoseError::BadPayload))
        ));
        assert!(matches!(
            parse(b"{} x", &[]),
            Err(BearerError::Jose(JoseError::BadPayload))
        ));
    }

    #[test]
    fn rejects_payload_that_is_not_utf8() {
        assert!(matches!(
            parse(b"{\"iss\":\"https://op\",\"x\":\"\xff\"}", &[]),
            Err(BearerError::Jose(JoseError::BadPayload))
        ));
        assert!(parse("{\"iss\":\"https://op\",\"x\":\"\u{e9}\"}".as_bytes(), &[]).is_ok());
    }

    #[test]
    fn rejects_registered_claim_of_the_wrong_type() {
        for (p, name) in [
            (&br#"{"exp":"tomorrow"}"#[..], "exp"),
            (br#"{"iss":1}"#, "iss"),
            (br#"{"aud":[1]}"#, "aud"),
            (br#"{"sub":{}}"#, "sub"),
            (br#"{"nbf":true}"#, "nbf"),
        ] {
            assert!(
                matches!(parse(p, &[]), Err(BearerError::InvalidClaim(n)) if n == name),
                "{name}"
            );
        }
    }

    #[test]
    fn rejects_duplicate_checked_claims() {
        let p = br#"{"aud":"evil","aud":"api"}"#;
        assert!(matches!(parse(p, &[]), Err(BearerError::DuplicateClaim(n)) if n == "aud"));
        let p = br#"{"role":"a","role":"b"}"#;
        assert!(
            matches!(parse(p, &req(&["role"])), Err(BearerError::DuplicateClaim(n)) if n == "role")
        );
    }

    #[test]
    fn null_counts_as_absent_for_required_claims() {
        let r = req(&["sub", "tenant", "scope"]);
        let v = parse(br#"{"sub":"u","tenant":null,"scope":"a"}"#, &r).unwrap();
        assert_eq!(v.present, 0b101);
    }

    #[test]
    fn scopes_come_from_scope_string_or_scp_array() {
        let s = Scopes::parse(br#"{"scope":"read  write","scp":["admin"]}"#).unwrap();
        assert!(s.contains("read") && s.contains("write") && s.contains("admin"));
        assert!(!s.contains("Read") && !s.contains(""));
        assert_eq!(s.iter().collect::<Vec<_>>(), ["read", "write", "admin"]);
        assert!(Scopes::parse(br#"{"scope":3}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
                              json in "\\{(\"[a-z_]{1,9}\":(-?[0-9.e]{1,24}|\"[ -~]{0,6}\"|\\[[0-9\",a-z]{0,9}\\]|null|\\{\\}),?){0,8}\\}") {
            let required = req(&["sub", "scope", "aud"]);
            let _ = parse(&bytes, &required);
            let _ = parse(json.as_bytes(), &required);
            let _ = Scopes::parse(&bytes);
            let _ = Scopes::parse(json.as_bytes());
        }
    }
}
