//! The pure rules of forwarding a request upstream: the target URL, and the headers
//! that go upstream and come back (RFC 9110 section 7.6.1 hop-by-hop fields, section
//! 7.6.3 intermediaries; RFC 10017 section 6.1.3.1: the browser's credentials stay
//! with the backend-for-frontend).

use http::{HeaderMap, HeaderName, HeaderValue, header};
use url::Url;

/// Why a request path cannot be forwarded; the proxy answers it with 400
/// `{"error":"invalid_path"}`.
///
/// ```
/// use axum_oidc_client::bff::ForwardPathError;
///
/// assert_eq!(ForwardPathError::DotSegment.to_string(), "the path has a dot segment");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardPathError {
    /// A `.` or `..` segment (also percent-encoded), which would leave the upstream
    /// base path once the upstream normalises it.
    #[error("the path has a dot segment")]
    DotSegment,
    /// A backslash or an encoded slash, read as a separator by some servers.
    #[error("the path has a backslash or an encoded slash")]
    AmbiguousSeparator,
}

/// `base` + `path` + `?query`: the request path (below the proxy's mount point) under
/// the upstream's base path. Paths that could climb out of the base are refused.
pub(crate) fn upstream_url(
    base: &Url,
    path: &str,
    query: Option<&str>,
) -> Result<Url, ForwardPathError> {
    for segment in path.split('/') {
        let lower = segment.to_ascii_lowercase();
        let decoded = lower.replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return Err(ForwardPathError::DotSegment);
        }
        if lower.contains('\\') || lower.contains("%2f") || lower.contains("%5c") {
            return Err(ForwardPathError::AmbiguousSeparator);
        }
    }
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(query);
    Ok(url)
}

/// The hop-by-hop fields of RFC 9110 section 7.6.1 (and the obsolete ones proxies
/// still remove), never forwarded in either direction.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes the hop-by-hop fields, and those the `Connection` field names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::try_from(n.trim()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove("proxy-connection");
}

/// What the proxy adds about the browser's request (the de-facto `X-Forwarded-*`
/// fields).
#[derive(Debug, Clone, Default)]
pub(crate) struct Forwarded<'a> {
    /// The browser's address, as this server saw it.
    pub client_ip: Option<std::net::IpAddr>,
    /// The scheme of the application's public URL.
    pub proto: &'a str,
    /// The `Host` the browser asked for.
    pub host: Option<&'a HeaderValue>,
}

/// How the session's access token goes upstream: as a bearer token, or with the
/// `DPoP` scheme and a proof of the session's key (RFC 9449 section 7.1).
pub(crate) struct Credentials<'a> {
    pub access_token: &'a str,
    pub dpop_proof: Option<String>,
}

/// The headers sent upstream: the browser's, without hop-by-hop fields, its cookies,
/// its `Authorization`, `DPoP` and `Host`, with `Authorization: Bearer
/// <access_token>` (or `DPoP <access_token>` and the `DPoP` proof) and
/// `X-Forwarded-For`/`-Proto`/`-Host`. An `X-Forwarded-For` from the browser is kept
/// (this server may be behind a proxy) and the browser's address appended; the other
/// two are replaced.
pub(crate) fn upstream_headers(
    browser: &HeaderMap,
    credentials: &Credentials<'_>,
    forwarded: &Forwarded<'_>,
) -> Result<HeaderMap, header::InvalidHeaderValue> {
    let mut h = browser.clone();
    remove_hop_by_hop(&mut h);
    let dpop = HeaderName::from_static("dpop");
    for name in [
        header::COOKIE,
        header::AUTHORIZATION,
        header::HOST,
        header::FORWARDED,
        dpop.clone(),
    ] {
        h.remove(name);
    }
    let token = credentials.access_token;
    let mut authorization = HeaderValue::try_from(match &credentials.dpop_proof {
        Some(_) => format!("DPoP {token}"),
        None => format!("Bearer {token}"),
    })?;
    authorization.set_sensitive(true);
    h.insert(header::AUTHORIZATION, authorization);
    if let Some(proof) = &credentials.dpop_proof {
        let mut proof = HeaderValue::try_from(proof.as_str())?;
        proof.set_sensitive(true);
        h.insert(dpop, proof);
    }

    let xff = HeaderName::from_static("x-forwarded-for");
    if let Some(ip) = forwarded.client_ip {
        let prior: Vec<&str> = browser
            .get_all(&xff)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let mut value = prior.join(", ");
        if !value.is_empty() {
            value.push_str(", ");
        }
        value.push_str(&ip.to_string());
        h.insert(xff, HeaderValue::try_from(value)?);
    }
    h.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::try_from(forwarded.proto)?,
    );
    h.remove("x-forwarded-host");
    if let Some(host) = forwarded.host {
        h.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
    }
    Ok(h)
}

/// The upstream's response headers handed to the browser: without hop-by-hop fields
/// and without `Set-Cookie`, which would set the upstream's cookies on the
/// application's origin.
pub(crate) fn downstream_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut h = upstream.clone();
    remove_hop_by_hop(&mut h);
    h.remove(header::SET_COOKIE);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://api.example/v1/").unwrap()
    }

    #[test]
    fn joins_the_path_and_query_under_the_base_path() {
        let u = upstream_url(&base(), "/me/items", Some("a=1&b=%20")).unwrap();
        assert_eq!(u.as_str(), "https://api.example/v1/me/items?a=1&b=%20");
        let root = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            upstream_url(&root, "/x", None).unwrap().as_str(),
            "http://127.0.0.1:8080/x"
        );
    }

    #[test]
    fn refuses_dot_segments_plain_or_encoded() {
        for p in ["/../admin", "/a/..", "/%2e%2e/admin", "/.%2E/x", "/./x"] {
            assert_eq!(
                upstream_url(&base(), p, None),
                Err(ForwardPathError::DotSegment),
                "{p}"
            );
        }
    }

    #[test]
    fn refuses_encoded_slashes_and_backslashes() {
        for p in ["/a%2f..%2fadmin", "/a\\b", "/a%5cb"] {
            assert_eq!(
                upstream_url(&base(), p, None),
                Err(ForwardPathError::AmbiguousSeparator),
                "{p}"
            );
        }
    }

    fn browser() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("cookie", "session=abc; other=1"),
            ("authorization", "Bearer from-the-browser"),
            ("host", "app.example"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "hop"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("accept", "application/json"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-host", "spoofed.example"),
            ("x-csrf", "1"),
        ] {
            h.append(k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn upstream_gets_the_bearer_token_and_none_of_the_browsers_credentials() {
        let host = HeaderValue::from_static("app.example");
        let f = Forwarded {
            client_ip: Some("198.51.100.7".parse().unwrap()),
            proto: "https",
            host: Some(&host),
        };
        let bearer = Credentials {
            access_token: "at-1",
            dpop_proof: None,
        };
        let h = upstream_headers(&browser(), &bearer, &f).unwrap();
        assert_eq!(h["authorization"], "Bearer at-1");
        assert!(!h.contains_key("dpop"));
        assert_eq!(h.get_all("authorization").iter().count(), 1);
        assert!(h["authorization"].is_sensitive());
        for gone in [
            "cookie",
            "host",
            "connection",
            "x-private",
            "keep-alive",
            "te",
        ] {
            assert!(!h.contains_key(gone), "{gone} forwarded");
        }
        assert_eq!(h["accept"], "application/json");
        assert_eq!(h["x-forwarded-for"], "203.0.113.9, 198.51.100.7");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "app.example");
    }

    #[test]
    fn a_spoofed_forwarded_host_is_dropped_without_a_host() {
        let f = Forwarded {
            client_ip: None,
            proto: "http",
            host: None,
        };
        let bearer = Credentials {
            access_token: "at-1",
            dpop_proof: None,
        };
        let h = upstream_headers(&browser(), &bearer, &f).unwrap();
        assert!(!h.contains_key("x-forwarded-host"));
        assert_eq!(h["x-forwarded-for"], "203.0.113.9");
    }

    #[test]
    fn a_dpop_bound_token_goes_with_the_dpop_scheme_and_the_sessions_proof_only() {
        let f = Forwarded {
            client_ip: None,
            proto: "https",
            host: None,
        };
        let mut browser = browser();
        browser.insert("dpop", "a-proof-from-the-browser".parse().unwrap());
        let bound = Credentials {
            access_token: "at-1",
            dpop_proof: Some("the-sessions-proof".into()),
        };
        let h = upstream_headers(&browser, &bound, &f).unwrap();
        assert_eq!(h["authorization"], "DPoP at-1");
        assert_eq!(h.get_all("dpop").iter().count(), 1);
        assert_eq!(h["dpop"], "the-sessions-proof");
        assert!(h["dpop"].is_sensitive());
        let bearer = Credentials {
            access_token: "at-1",
            dpop_proof: None,
        };
        let h = upstream_headers(&browser, &bearer, &f).unwrap();
        assert!(
            !h.contains_key("dpop"),
            "the browser's proof is never forwarded"
        );
    }

    #[test]
    fn downstream_drops_hop_by_hop_and_set_cookie() {
        let mut up = HeaderMap::new();
        up.insert("set-cookie", "upstream=1".parse().unwrap());
        up.insert("transfer-encoding", "chunked".parse().unwrap());
        up.insert("content-type", "application/json".parse().unwrap());
        let h = downstream_headers(&up);
        assert!(!h.contains_key("set-cookie") && !h.contains_key("transfer-encoding"));
        assert_eq!(h["content-type"], "application/json");
    }
}
