//! Generic responses for rejections: no token, no internal detail, ever.

use axum::body::Body;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// A small HTML page with a fixed title and message.
pub(crate) fn html(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>{title}</h1><p>{message}</p>\
         <p><a href=\"/\">Home</a></p></body></html>"
    );
    let mut r = (status, Html(body)).into_response();
    no_store(&mut r);
    r
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
