//! The answer a browser or an API caller gets for a [`Failure`]: the library's HTML
//! page (carrying its [`ErrorPage`] for an application's hook), or the class's JSON.

use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, header};

use super::{ErrorPage, ErrorPages, Failure};
use crate::pages::{json, no_store, retry_after};

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

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::pages::login_link;

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
