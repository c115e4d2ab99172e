//! The library's own routes and the URLs the provider sends the browser back to.

use url::Url;

/// The routes under the base path and the registered redirect URIs.
#[derive(Debug)]
pub(crate) struct Routes {
    /// Where the library's routes live (default `/auth`).
    pub base_path: String,
    /// `redirect_uri` (RFC 6749 section 3.1.2), always `{base_path}/callback`.
    pub redirect_uri: Url,
    /// `post_logout_redirect_uri` (RP-Initiated Logout 1.0 section 3).
    pub post_logout_redirect_uri: Url,
    /// Send `redirect_uri` in the token request too (RFC 6749 section 4.1.3).
    pub token_request_redirect_uri: bool,
    /// `GET {base_path}/logout` logs out too (it is POST-only by default).
    pub logout_via_get: bool,
}

impl Routes {
    /// The `redirect_uri` to repeat in the token request, when configured to
    /// (RFC 6749 section 4.1.3).
    pub fn token_request_redirect_uri(&self) -> Option<&Url> {
        self.token_request_redirect_uri
            .then_some(&self.redirect_uri)
    }
}
