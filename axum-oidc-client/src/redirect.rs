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
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_safe(n) => n.to_owned(),
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
    if !local_path(&percent_decode(next.as_bytes())) {
        return false;
    }
    // Last line of defence: resolving against a base must keep the origin.
    let Ok(base) = url::Url::parse("http://app.invalid/") else {
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

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
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
}
