//! Validation of the post-login `next` target against open redirects
//! (RFC 9700 section 4.11).

/// Longest `next` accepted.
pub const MAX_NEXT_LEN: usize = 2048;

/// Returns `next` when it is a same-origin relative path, otherwise `/`.
///
/// Accepted: a path starting with a single `/`, without backslashes, whitespace or
/// control characters, also after one round of percent-decoding. Rejected, falling back
/// to `/`: `//host`, `/\host`, `%2F%2Fhost`, `%5C`, absolute URLs, `javascript:`,
/// tabs and newlines (which browsers strip, turning `/\t/host` into `//host`).
///
/// The result is used as a `Location`, which must be ASCII (RFC 9110 section 10.2.2,
/// RFC 3986 section 2.1): non-ASCII characters are percent-encoded as UTF-8. The
/// result is at most [`MAX_NEXT_LEN`] bytes long, encoding included.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_safe(n) => {
            // Control characters are refused above, so this encodes exactly the
            // non-ASCII bytes.
            let encoded =
                percent_encoding::utf8_percent_encode(n, percent_encoding::CONTROLS).to_string();
            if encoded.len() <= MAX_NEXT_LEN {
                encoded
            } else {
                "/".to_owned()
            }
        }
        _ => "/".to_owned(),
    }
}

fn is_safe(next: &str) -> bool {
    if next.is_empty()
        || next.len() > MAX_NEXT_LEN
        || !local_path(next.as_bytes())
        || next.contains(' ')
    {
        return false;
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode(next.as_bytes()).collect();
    if !local_path(&decoded) {
        return false;
    }
    // Last line of defence: resolving against a base must keep the origin.
    static BASE: std::sync::LazyLock<Option<url::Url>> =
        std::sync::LazyLock::new(|| url::Url::parse("http://app.invalid/").ok());
    let Some(base) = BASE.as_ref() else {
        return false;
    };
    matches!(base.join(next), Ok(u) if u.origin() == base.origin())
}

/// Starts with exactly one `/`, and has no backslash or control character.
fn local_path(b: &[u8]) -> bool {
    b.first() == Some(&b'/')
        && b.get(1) != Some(&b'/')
        && !b.iter().any(|&c| c == b'\\' || c.is_ascii_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_relative_paths() {
        assert_eq!(
            safe_next(Some("/protected?x=1#frag")),
            "/protected?x=1#frag"
        );
        assert_eq!(safe_next(Some("/a/b%20c")), "/a/b%20c");
    }

    #[test]
    fn percent_encodes_non_ascii_paths_for_the_location_header() {
        let next = safe_next(Some("/café?q=ü#ç"));
        assert_eq!(next, "/caf%C3%A9?q=%C3%BC#%C3%A7");
        assert!(http::HeaderValue::from_str(&next).unwrap().to_str().is_ok());
    }

    #[test]
    fn rejects_each_open_redirect_variant() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "https://evil.example/",
            "http:evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%00",
            " /x",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?} must fall back to /");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            safe_next(Some(&format!("/{}", "a".repeat(MAX_NEXT_LEN)))),
            "/"
        );
    }

    #[test]
    fn the_length_bound_holds_after_percent_encoding() {
        // 1,000 two-byte characters: 2,001 bytes as given, 6,001 once encoded.
        let long = format!("/{}", "é".repeat(1000));
        assert!(long.len() <= MAX_NEXT_LEN);
        assert_eq!(safe_next(Some(&long)), "/");
        let fits = format!("/{}", "é".repeat((MAX_NEXT_LEN - 1) / 6));
        assert_eq!(
            safe_next(Some(&fits)).len(),
            1 + 6 * ((MAX_NEXT_LEN - 1) / 6)
        );
    }
}
