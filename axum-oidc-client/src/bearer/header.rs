//! Reading the `Authorization: Bearer` request header (RFC 6750 section 2.1), and
//! `Authorization: DPoP` (RFC 9449 section 7.1, the same `token68` syntax).
//!
//! Only the header method is supported: tokens in the query string (section 2.3)
//! end up in logs and caches, and form-encoded bodies (section 2.2) would need the
//! body buffered before the handler runs.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::error::BearerError;
use crate::jose::MAX_JWS_LEN;

/// What the `Authorization` header holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No `Authorization` header.
    None,
    /// Another scheme, such as `Basic`.
    OtherScheme,
    /// A bearer token in `b64token` syntax.
    Bearer(&'a str),
    /// A DPoP-bound access token (`Authorization: DPoP`, RFC 9449 section 7.1), in
    /// the same syntax.
    Dpop(&'a str),
}

impl Credentials<'_> {
    /// The `DPoP` scheme counts as another scheme where DPoP is not configured.
    pub(crate) fn unless_dpop_enabled(self, enabled: bool) -> Self {
        match self {
            Self::Dpop(_) if !enabled => Self::OtherScheme,
            other => other,
        }
    }
}

/// Reads the bearer credentials from `headers`.
///
/// The scheme is case-insensitive (RFC 9110 section 11.1); one or more spaces may
/// separate it from the token. Errors: repeated header, `Bearer` without a token,
/// or a token outside `b64token` (RFC 6750 section 2.1) are `invalid_request`;
/// a token longer than the JWS limit is an invalid token.
pub(crate) fn credentials(headers: &HeaderMap) -> Result<Credentials<'_>, BearerError> {
    let mut all = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = all.next() else {
        return Ok(Credentials::None);
    };
    if all.next().is_some() {
        return Err(BearerError::MultipleAuthorizationHeaders);
    }
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|b| *b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i..]),
        None => (bytes, &[][..]),
    };
    let dpop = scheme.eq_ignore_ascii_case(b"dpop");
    if !dpop && !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(Credentials::OtherScheme);
    }
    let token = rest.trim_ascii();
    if token.is_empty() {
        return Err(BearerError::EmptyToken);
    }
    if token.len() > MAX_JWS_LEN {
        return Err(BearerError::Jose(crate::jose::JoseError::TooLarge));
    }
    if !is_b64token(token) {
        return Err(BearerError::MalformedHeader);
    }
    // b64token is ASCII, so this cannot fail.
    let token = std::str::from_utf8(token).map_err(|_| BearerError::MalformedHeader)?;
    Ok(if dpop {
        Credentials::Dpop(token)
    } else {
        Credentials::Bearer(token)
    })
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(t: &[u8]) -> bool {
    let body = t.len() - t.iter().rev().take_while(|b| **b == b'=').count();
    body > 0
        && t[..body]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// The credentials as text: `<none>`, `<other>` or the token.
    fn read(values: &[&[u8]]) -> Result<String, BearerError> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        Ok(match credentials(&h)? {
            Credentials::None => "<none>".into(),
            Credentials::OtherScheme => "<other>".into(),
            Credentials::Bearer(t) => t.into(),
            Credentials::Dpop(t) => format!("dpop:{t}"),
        })
    }

    #[test]
    fn reads_a_dpop_token_with_any_scheme_case() {
        assert_eq!(read(&[b"DPoP a.b.c"]).unwrap(), "dpop:a.b.c");
        assert_eq!(read(&[b"dpop  a.b.c"]).unwrap(), "dpop:a.b.c");
        assert!(matches!(read(&[b"DPoP"]), Err(BearerError::EmptyToken)));
        assert!(matches!(
            read(&[b"DPoP a b"]),
            Err(BearerError::MalformedHeader)
        ));
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("DPoP a.b.c"));
        let c = credentials(&h).unwrap();
        assert_eq!(c.unless_dpop_enabled(false), Credentials::OtherScheme);
        assert_eq!(c.unless_dpop_enabled(true), Credentials::Dpop("a.b.c"));
    }

    #[test]
    fn reads_a_bearer_token_with_any_scheme_case() {
        assert_eq!(read(&[b"Bearer a.b.c"]).unwrap(), "a.b.c");
        assert_eq!(read(&[b"bEaReR   a.b.c "]).unwrap(), "a.b.c");
        assert_eq!(read(&[b"Bearer abc=="]).unwrap(), "abc==");
    }

    #[test]
    fn other_schemes_and_no_header_are_not_credentials() {
        assert_eq!(read(&[]).unwrap(), "<none>");
        assert_eq!(read(&[b"Basic dTpw"]).unwrap(), "<other>");
        assert_eq!(read(&[b"Bearerx a.b.c"]).unwrap(), "<other>");
    }

    #[test]
    fn rejects_malformed_headers_as_invalid_request() {
        assert!(matches!(read(&[b"Bearer"]), Err(BearerError::EmptyToken)));
        assert!(matches!(
            read(&[b"Bearer   "]),
            Err(BearerError::EmptyToken)
        ));
        assert!(matches!(
            read(&[b"Bearer a b"]),
            Err(BearerError::MalformedHeader)
        ));
        assert!(matches!(
            read(&[b"Bearer a=b"]),
            Err(BearerError::MalformedHeader)
        ));
        assert!(matches!(
            read(&[b"Bearer ==="]),
            Err(BearerError::MalformedHeader)
        ));
        assert!(matches!(
            read(&[b"Bearer a\xffb"]),
            Err(BearerError::MalformedHeader)
        ));
        assert!(matches!(
            read(&[b"Bearer a", b"Bearer b"]),
            Err(BearerError::MultipleAuthorizationHeaders)
        ));
        let huge = format!("Bearer {}", "a".repeat(MAX_JWS_LEN + 1));
        assert!(matches!(
            read(&[huge.as_bytes()]),
            Err(BearerError::Jose(crate::jose::JoseError::TooLarge))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_header_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut raw = b"Bearer ".to_vec();
            raw.extend_from_slice(&bytes);
            for v in [&bytes[..], &raw[..]] {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    let mut h = HeaderMap::new();
                    h.insert(AUTHORIZATION, v);
                    if let Ok(Credentials::Bearer(t) | Credentials::Dpop(t)) = credentials(&h) {
                        proptest::prop_assert!(is_b64token(t.as_bytes()));
                    }
                }
            }
        }
    }
}
