//! Generic responses for rejections: no token, no internal detail, ever.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// `{base}/login?next=<next>`: a link that starts a new login returning to `next`.
pub(crate) fn login_link(base: &str, next: &str) -> String {
    let mut url = String::with_capacity(base.len() + 12 + next.len() * 3);
    url.push_str(base);
    url.push_str("/login?next=");
    url.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
    url
}

/// A JSON error body `{"error": code}`.
///
/// `code` is one of the library's fixed error codes (ASCII letters and `_`), so the
/// body is written without a JSON serializer.
pub(crate) fn json(status: StatusCode, code: &'static str) -> Response {
    debug_assert!(code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let mut body = String::with_capacity(code.len() + 12);
    body.push_str("{\"error\":\"");
    body.push_str(code);
    body.push_str("\"}");
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(&mut r);
    r
}

pub(crate) fn no_store(r: &mut Response) {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Keeps a response that sets a cookie out of shared caches: a session id in a cached
/// response would be handed to the next visitor (RFC 9111 section 5.2.2.7 `private`,
/// section 5.2.2.5 `no-store`; RFC 9110 section 12.5.5 `Vary`).
///
/// `Cache-Control` becomes `private, no-store` unless it already says `no-store` (so an
/// application's `public, max-age=…` is replaced), and `Vary` gains `Cookie`.
pub(crate) fn never_shared_cacheable(r: &mut Response) {
    let headers = r.headers_mut();
    let has_no_store = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"));
    if !has_no_store {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    let varies_on_cookie = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| {
            let d = d.trim();
            d == "*" || d.eq_ignore_ascii_case("cookie")
        });
    if !varies_on_cookie {
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
    }
}

pub(crate) fn retry_after(r: &mut Response, secs: u32) {
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
}

/// 303 See Other to `location` with `Cache-Control: no-store`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    no_store(&mut r);
    r
}

pub(crate) fn append_cookie(r: &mut Response, set_cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(set_cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether the request comes from script rather than a top-level navigation: it
/// accepts JSON, carries `X-Requested-With`, or has a `Sec-Fetch-Mode` other than
/// `navigate`.
pub(crate) fn is_api_request(headers: &http::HeaderMap) -> bool {
    let accept_json = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/json"));
    let xrw = headers.contains_key("x-requested-with");
    let fetch_mode = headers
        .get("sec-fetch-mode")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| m != "navigate");
    accept_json || xrw || fetch_mode
}
