//! Building redirects back to relying parties.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::ProviderState;

/// Redirects to `base` with `params` appended to its query, keeping any
/// query the registered URI already has (RFC 6749 3.1.2).
pub(crate) fn redirect_with(base: &str, params: &[(&str, &str)], status: StatusCode) -> Response {
    let Ok(mut url) = url::Url::parse(base) else {
        // Registered URIs are validated at start-up; this cannot normally happen.
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid registered redirect URI",
        )
            .into_response();
    };
    if !params.is_empty() {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    match HeaderValue::from_str(url.as_str()) {
        Ok(location) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "unencodable redirect").into_response(),
    }
}

/// An authorization error response delivered to the client's redirect URI
/// (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6), with `state` echoed and `iss`
/// added when advertised (RFC 9207 2).
pub(crate) fn authorization_error(
    provider: &ProviderState,
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    if provider.config().advertise_iss_parameter {
        params.push(("iss", provider.issuer()));
    }
    redirect_with(redirect_uri, &params, StatusCode::FOUND)
}
