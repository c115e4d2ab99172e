//! Start-up errors and OAuth 2.0 error responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why the provider could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DevProviderError {
    /// The listen socket could not be bound or inspected.
    #[error("cannot bind the provider listener: {0}")]
    Bind(#[from] std::io::Error),
    /// A signing key could not be generated.
    #[error("cannot generate signing keys: {0}")]
    Keys(String),
    /// The HTTP client for back-channel logout could not be built.
    #[error("cannot build the back-channel HTTP client: {0}")]
    HttpClient(String),
    /// The configuration is inconsistent.
    #[error("invalid provider configuration: {0}")]
    InvalidConfig(String),
}

/// An OAuth 2.0 error answered as JSON (RFC 6749 5.2), with
/// `Cache-Control: no-store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status of the response.
    pub status: StatusCode,
    /// The `error` code, e.g. `invalid_request`.
    pub error: &'static str,
    /// Human readable `error_description`. Never contains secrets.
    pub description: String,
    /// Value of a `WWW-Authenticate` header, if any (RFC 6749 5.2 for
    /// `invalid_client`, RFC 6750 3 for bearer errors).
    pub www_authenticate: Option<String>,
}

impl OAuthError {
    /// An error with status 400.
    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            www_authenticate: None,
        }
    }

    /// `invalid_request` with status 400.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_request", description)
    }

    /// `invalid_grant` with status 400.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_grant", description)
    }

    /// `invalid_client` with status 401 and a Basic challenge
    /// (RFC 6749 5.2).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            www_authenticate: Some("Basic realm=\"oidc-dev-provider\"".into()),
        }
    }

    /// `invalid_token` with status 401 and a Bearer challenge (RFC 6750 3.1).
    pub fn invalid_token(description: impl Into<String>) -> Self {
        let description = description.into();
        let challenge = format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            description.replace(['"', '\\'], "'")
        );
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description,
            www_authenticate: Some(challenge),
        }
    }

    /// The JSON body `{"error": ..., "error_description": ...}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.error, "error_description": self.description })
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
