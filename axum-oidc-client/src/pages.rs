//! Generic responses for rejections: no token, no internal detail, ever.

use axum::body::Body;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::failure::{ErrorPage, ErrorPages, Failure};

/// The HTML page of an [`ErrorPage`], with the page itself in the response
/// extensions so that the layer can hand it to an application's
/// [`ErrorPages`](crate::failure::ErrorPages) hook.
pub(crate) fn error_page(page: &ErrorPage) -> Response {
    let mut body = String::with_capacity(512);
    body.push_str("<!doctype html><html><head><meta charset=\"utf-8\"><title>");
    escape_into(&mut body, page.title);
    body.push_str(
        "</title></head><body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>",
    );
    escape_into(&mut body, page.title);
    body.push_str("</h1><p>");
    escape_into(&mut body, page.message);
    body.push_str("</p>");
    if let Some(retry) = &page.retry {
        body.push_str("<p><a href=\"");
        escape_into(&mut body, retry);
        body.push_str("\">Sign in again</a></p>");
    }
    body.push_str("<p><a href=\"/\">Home</a></p></body></html>");
    let mut r = (page.status, Html(body)).into_response();
    no_store(&mut r);
    if let Some(secs) = page.retry_after {
        retry_after(&mut r, secs);
    }
    r.extensions_mut().insert(page.clone());
    r
}

fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `resp` as an application's hook renders it, when it is one of the library's error
/// pages (it carries its [`ErrorPage`]); else `resp` unchanged. The library's
/// `Set-Cookie` headers stay, an outage keeps a `Retry-After`, and the page is
/// `no-store` unless the hook chose a `Cache-Control`.
pub(crate) fn rerender(hook: &dyn ErrorPages, mut resp: Response) -> Response {
    let Some(page) = resp.extensions_mut().remove::<ErrorPage>() else {
        return resp;
    };
    let mut new = hook.render(&page);
    let headers = new.headers_mut();
    for cookie in resp.headers().get_all(header::SET_COOKIE) {
        headers.append(header::SET_COOKIE, cookie.clone());
    }
    if let Some(secs) = page.retry_after {
        headers
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from(secs));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    new
}

/// The answer to `failure`: for an API caller the class's JSON `{"error": code}`, for
/// a browser the HTML page (with `retry`, a new-login link, for the user's side).
/// An outage carries `Retry-After` either way.
pub(crate) fn failure(api: bool, failure: Failure, retry: Option<String>) -> Response {
    let page = ErrorPage::of(failure, retry);
    if api {
        let mut r = json(page.status, page.class.json_code());
        if let Some(secs) = page.retry_after {
            retry_after(&mut r, secs);
        }
        r
    } else {
        error_page(&page)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_page_escapes_its_link_and_carries_itself_for_the_hook() {
        let page = ErrorPage::of(
            Failure::user("replayed"),
            Some(login_link("/auth", "/a?b=\"<x>&c")),
        );
        let r = error_page(&page);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            r.extensions().get::<ErrorPage>().unwrap().reason,
            "replayed"
        );
        assert_eq!(
            page.retry.as_deref(),
            Some("/auth/login?next=%2Fa%3Fb%3D%22%3Cx%3E%26c")
        );
    }

    #[test]
    fn an_api_caller_gets_the_class_code_and_an_outage_its_retry_after() {
        let r = failure(true, Failure::provider_outage("x"), None);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key(header::RETRY_AFTER));
        assert!(r.extensions().get::<ErrorPage>().is_none());
        let r = failure(false, Failure::configuration("invalid_client"), None);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}
