//! The `htu` rule (RFC 9449 sections 4.2 and 4.3 check 9): the request URI without
//! query and fragment, compared after syntax- and scheme-based normalisation
//! (RFC 3986 sections 6.2.2 and 6.2.3).

/// `uri` without its query and fragment (RFC 9449 section 4.2), unchanged otherwise.
pub(crate) fn strip_query_and_fragment(uri: &str) -> &str {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    &uri[..end]
}

/// The normalised form of an absolute http(s) URI for comparing `htu`: scheme and
/// host lower-cased, the default port dropped, an empty path as `/` and dot
/// segments removed (by the `url` crate's parser), then percent-encodings of
/// unreserved characters decoded and the others upper-cased (RFC 3986 section
/// 6.2.2.2); query and fragment dropped. `None` for anything else.
pub(crate) fn normalise(uri: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = normalise_percent_encoding(url.path());
    url.set_path(&path);
    Some(url.into())
}

/// RFC 3986 section 6.2.2.2: `%XX` of an unreserved character decoded, other
/// percent-encodings in upper case.
fn normalise_percent_encoding(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            let v = hex(b[i + 1]) * 16 + hex(b[i + 2]);
            if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                out.push(v as char);
            } else {
                out.push('%');
                out.push(b[i + 1].to_ascii_uppercase() as char);
                out.push(b[i + 2].to_ascii_uppercase() as char);
            }
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The external URI of a request: `origin` (scheme, host and port the clients use,
/// for example `https://api.example`) joined with the request's path.
pub(crate) fn request_htu(origin: &str, path: &str) -> Option<String> {
    let origin = origin.trim_end_matches('/');
    let path = if path.starts_with('/') { path } else { "/" };
    normalise(&format!("{origin}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_query_and_the_fragment() {
        assert_eq!(strip_query_and_fragment("https://a/b?c#d"), "https://a/b");
        assert_eq!(strip_query_and_fragment("https://a/b#d?c"), "https://a/b");
        assert_eq!(strip_query_and_fragment("https://a/b"), "https://a/b");
    }

    #[test]
    fn normalises_scheme_host_case_default_port_and_empty_path() {
        let n = |u| normalise(u).unwrap();
        assert_eq!(n("HTTPS://API.Example:443"), "https://api.example/");
        assert_eq!(n("http://api.example:80/a?b#c"), "http://api.example/a");
        assert_eq!(
            n("https://api.example:8443/a"),
            "https://api.example:8443/a"
        );
        assert_eq!(
            n("https://api.example/%7Euser/./x"),
            n("https://api.example/~user/x")
        );
        assert_eq!(n("https://api.example/a%2fb"), "https://api.example/a%2Fb");
        assert_ne!(n("https://api.example/A"), n("https://api.example/a"));
    }

    #[test]
    fn refuses_what_is_not_an_absolute_http_uri() {
        assert!(normalise("/relative").is_none());
        assert!(normalise("urn:x:y").is_none());
        assert!(normalise("https://user:pw@api.example/").is_none());
    }

    #[test]
    fn the_request_uri_joins_the_origin_and_the_path() {
        assert_eq!(
            request_htu("https://API.example/", "/orders").unwrap(),
            "https://api.example/orders"
        );
    }
}
