//! The provider chooser: what `GET {base}/login` shows when several providers are
//! configured and the request names none (as mod_auth_openidc's discovery page, or
//! Spring Security's generated login page, do).

use std::sync::Arc;

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

use crate::config::providers::Providers;

/// One provider offered by the chooser page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderChoice {
    /// The provider's name (`[a-z0-9_-]{1,32}`).
    pub name: String,
    /// What to show for it ([`ProviderSettings::with_display_name`](crate::ProviderSettings::with_display_name),
    /// else the name).
    pub display_name: String,
    /// The link that starts a login there: `{base}/login?provider=NAME&next=...`,
    /// keeping the request's `next`.
    pub login_url: String,
}

/// Renders the chooser page from the choices, in configuration order: see
/// [`AuthenticationLayer::with_provider_chooser`](crate::AuthenticationLayer::with_provider_chooser).
pub(crate) type ChooserFn = Arc<dyn Fn(&[ProviderChoice]) -> Response + Send + Sync>;

/// The choices for a login that returns to `next` (already checked).
pub(crate) fn choices(providers: &Providers, base: &str, next: &str) -> Vec<ProviderChoice> {
    providers
        .all()
        .iter()
        .filter_map(|e| {
            let name = e.name()?;
            let mut login_url = format!("{base}/login?provider={name}&next=");
            login_url.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
            Some(ProviderChoice {
                name: name.to_owned(),
                display_name: e.display_name.to_string(),
                login_url,
            })
        })
        .collect()
}

/// The library's own chooser page: a list of links, `200`, never cached.
pub(crate) fn default_page(choices: &[ProviderChoice]) -> Response {
    let mut body = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in</title></head>\
         <body><h1>Sign in with</h1><ul>",
    );
    for c in choices {
        body.push_str("<li><a href=\"");
        escape_into(&mut body, &c.login_url);
        body.push_str("\">");
        escape_into(&mut body, &c.display_name);
        body.push_str("</a></li>");
    }
    body.push_str("</ul></body></html>");
    (StatusCode::OK, Html(body)).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_page_escapes_display_names_and_links() {
        let page = default_page(&[ProviderChoice {
            name: "a".into(),
            display_name: "<b>A & co</b>".into(),
            login_url: "/auth/login?provider=a&next=%2F".into(),
        }]);
        assert_eq!(page.status(), StatusCode::OK);
        let body = futures_body(page);
        assert!(body.contains("&lt;b&gt;A &amp; co&lt;/b&gt;"), "{body}");
        assert!(
            body.contains("href=\"/auth/login?provider=a&amp;next=%2F\""),
            "{body}"
        );
    }

    fn futures_body(r: Response) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(axum::body::to_bytes(r.into_body(), 1 << 16))
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
