//! Backend-for-frontend for single-page apps (OAuth 2.0 for Browser-Based
//! Applications, RFC 10017 section 6.1): the app never sees a token. The browser
//! holds only the session cookie; this server keeps the tokens and forwards the
//! app's API calls with the access token attached.
//!
//! - [`CsrfLayer`]: requires `X-CSRF: 1` (and a same-origin request) on the API
//!   routes, so another site cannot make the browser call them.
//! - [`ApiProxy`]: forwards `/bff/api/<path>` to `<upstream>/<path>` with
//!   `Authorization: Bearer <access token>`, kept fresh by the layer.
//! - `GET {base}/session` (answered by the [`AuthenticationLayer`](crate::AuthenticationLayer)):
//!   who is signed in, a subset of the claims ([`SessionEndpoint`]), until when, and
//!   how to log out; 401 JSON when no one is.
//! - `POST {base}/logout` with the CSRF header answers JSON
//!   `{"signed_out":true,"redirect_to":...}`: where the app sends the browser next
//!   (the provider's end-session endpoint when RP-initiated logout is on).
//!
//! ```
//! use axum::Router;
//! use axum_oidc_client::bff::{ApiProxy, CsrfLayer};
//!
//! let api = ApiProxy::new("https://api.example/v1").unwrap();
//! let app: Router = Router::new()
//!     .nest_service("/bff/api", api)
//!     .layer(CsrfLayer::new());
//! // ... then `.layer(AuthenticationLayer::new(config))` around it all.
//! # let _ = app;
//! ```
//!
//! In the app: `fetch("/bff/api/me", { credentials: "include", headers: { "X-CSRF": "1" } })`.

mod body;
mod csrf;
mod forward;
mod proxy;
mod retry;
mod session;

pub use csrf::{
    CSRF_HEADER_VALUE, Csrf, CsrfError, CsrfLayer, DEFAULT_CSRF_HEADER, ResponseFuture, check_csrf,
};
pub use forward::ForwardPathError;
pub use proxy::{ApiProxy, ApiProxyError, ProxyFuture, REPLAYABLE_BODY};
pub use session::{DEFAULT_SESSION_CLAIMS, SessionEndpoint};

pub(crate) use session::{logout_answer, session};
