//! What a failed login, callback or logout tells the user, the operator and the metrics.
//!
//! Every failure has a stable snake_case reason code (a log field and the `outcome`
//! label of `axum_oidc_logins_total`) and a [`FailureClass`] that picks the page, the
//! status and the log level:
//!
//! | class | status | page | JSON `error` | log |
//! |---|---|---|---|---|
//! | [`User`](FailureClass::User) | 400 (403 for `access_denied`) | a link that starts a new login | `login_failed` | WARN |
//! | [`Configuration`](FailureClass::Configuration) | 500 | what the operator must fix | `misconfigured` | ERROR |
//! | [`Outage`](FailureClass::Outage) | 503 + `Retry-After` | try again shortly | `temporarily_unavailable` | ERROR (provider), WARN (store) |
//! | [`Forbidden`](FailureClass::Forbidden) | 403 | access denied | `forbidden` | DEBUG |
//!
//! A configuration fault answers 500, not 502: the provider answered correctly (it
//! refused this application's credentials or redirect URI), so the fault is this
//! server's setup, not a bad gateway.
//! The one exception is `par_refused` (502): the provider refused a pushed
//! authorization request (RFC 9126 section 2.3) while the user only asked to log in.

mod page;
pub(crate) use page::{error_page, failure, rerender};

use axum::response::Response;
use http::StatusCode;

/// Who can fix a failure; it picks the page, the status and the log level.
///
/// ```
/// use axum_oidc_client::FailureClass;
/// use http::StatusCode;
///
/// assert_eq!(FailureClass::User.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(FailureClass::Configuration.json_code(), "misconfigured");
/// assert_eq!(FailureClass::Outage.status(), StatusCode::SERVICE_UNAVAILABLE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureClass {
    /// The user's side: the login expired, was already used, was forged or did not
    /// start in this browser, or the user declined. A new login helps, so the page
    /// links to one.
    User,
    /// The application's configuration: client credentials refused, redirect URI not
    /// registered, issuer or audience mismatch, clocks apart. Starting again does
    /// not help; the operator must fix the setup.
    Configuration,
    /// The identity provider or the session store is down or failing: 503 with
    /// `Retry-After`.
    Outage,
    /// The user is signed in, but a route's access rule
    /// ([`access`](crate::access)) refuses their claims: 403. Signing in again does
    /// not help until the provider grants what the rule asks.
    Forbidden,
}

impl FailureClass {
    /// The HTTP status of the class's page.
    pub fn status(self) -> StatusCode {
        match self {
            Self::User => StatusCode::BAD_REQUEST,
            Self::Configuration => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Outage => StatusCode::SERVICE_UNAVAILABLE,
            Self::Forbidden => StatusCode::FORBIDDEN,
        }
    }

    /// The `error` code of the JSON body an API caller gets: `login_failed`,
    /// `misconfigured`, `temporarily_unavailable` or `forbidden`.
    pub fn json_code(self) -> &'static str {
        match self {
            Self::User => "login_failed",
            Self::Configuration => "misconfigured",
            Self::Outage => "temporarily_unavailable",
            Self::Forbidden => "forbidden",
        }
    }
}

/// A classified failure: its reason code and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    reason: &'static str,
    class: FailureClass,
    /// Logged at ERROR: a configuration fault or a provider outage.
    severe: bool,
}

/// Seconds in the `Retry-After` of an outage page.
pub(crate) const OUTAGE_RETRY_AFTER: u32 = 5;

impl Failure {
    /// The user's side (WARN).
    pub(crate) const fn user(reason: &'static str) -> Self {
        Self {
            reason,
            class: FailureClass::User,
            severe: false,
        }
    }

    /// The application's configuration (ERROR).
    pub(crate) const fn configuration(reason: &'static str) -> Self {
        Self {
            reason,
            class: FailureClass::Configuration,
            severe: true,
        }
    }

    /// A signed-in user refused by an access rule (logged by the rule, at DEBUG).
    pub(crate) const fn forbidden(reason: &'static str) -> Self {
        Self {
            reason,
            class: FailureClass::Forbidden,
            severe: false,
        }
    }

    /// The provider is down or failing (ERROR).
    pub(crate) const fn provider_outage(reason: &'static str) -> Self {
        Self {
            reason,
            class: FailureClass::Outage,
            severe: true,
        }
    }

    /// The store is down, this process sheds load, or the provider is not discovered
    /// yet (WARN: the store and the discovery task report their own faults).
    pub(crate) const fn local_outage(reason: &'static str) -> Self {
        Self {
            reason,
            class: FailureClass::Outage,
            severe: false,
        }
    }

    /// The stable snake_case reason code, e.g. `invalid_client` or `state_mismatch`.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The class.
    pub fn class(&self) -> FailureClass {
        self.class
    }

    /// The status of the page: the class's, except 403 when the user declined and 502
    /// when the provider refused a pushed authorization request (`par_refused`).
    pub fn status(&self) -> StatusCode {
        match self.reason {
            "access_denied" | "cross_site_logout" | "cross_site_request" => StatusCode::FORBIDDEN,
            "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
            // The provider refused a pushed authorization request (RFC 9126 section
            // 2.3): an upstream's answer, not this server failing.
            "par_refused" => StatusCode::BAD_GATEWAY,
            _ => self.class.status(),
        }
    }

    /// The default title and message of the page: general words, nothing an
    /// attacker could use.
    pub fn text(&self) -> (&'static str, &'static str) {
        match (self.class, self.reason) {
            (_, "access_denied") => (
                "Sign-in cancelled",
                "The identity provider did not sign you in.",
            ),
            (FailureClass::User, "method_not_allowed") => (
                "Not allowed",
                "This address does not accept this kind of request.",
            ),
            (FailureClass::User, "cross_site_logout") => {
                ("Forbidden", "Cross-site logout requests are refused.")
            }
            (FailureClass::User, "cross_site_request") => {
                ("Forbidden", "Requests from other sites are refused.")
            }
            (FailureClass::User, "logout_state_mismatch") => (
                "Signed out",
                "You are signed out. The provider's response could not be verified.",
            ),
            (FailureClass::User, _) => (
                "Sign-in failed",
                "This sign-in attempt expired, was already used, or did not start in this \
                 browser. Please sign in again.",
            ),
            (FailureClass::Configuration, "invalid_client" | "unauthorized_client") => (
                "Sign-in is misconfigured",
                "The identity provider refused this site's client credentials. Starting \
                 again will not help: the site's operator must check the client ID and \
                 secret.",
            ),
            (FailureClass::Configuration, "redirect_uri_mismatch") => (
                "Sign-in is misconfigured",
                "The identity provider does not accept this site's redirect URI. Starting \
                 again will not help: the site's operator must register it at the provider.",
            ),
            (FailureClass::Configuration, "id_token_wrong_issuer" | "id_token_wrong_audience") => (
                "Sign-in is misconfigured",
                "The identity provider's answer does not match this site's configured \
                 issuer or client. Starting again will not help: the site's operator must \
                 check the issuer and client settings.",
            ),
            (FailureClass::Configuration, "dpop_not_bound" | "dpop_binding_mismatch") => (
                "Sign-in is misconfigured",
                "The identity provider did not bind this site's tokens to its key (DPoP). \
                 Starting again will not help: the site's operator must register the \
                 client for DPoP-bound tokens at the provider, or turn DPoP off.",
            ),
            (FailureClass::Configuration, "id_token_clock_skew") => (
                "Sign-in is misconfigured",
                "This server's clock and the identity provider's disagree. Starting again \
                 will not help: the site's operator must synchronise the server's clock.",
            ),
            (FailureClass::Configuration, _) => (
                "Sign-in is misconfigured",
                "This site's sign-in is not set up correctly. Starting again will not help: \
                 the site's operator must check its identity provider settings.",
            ),
            (FailureClass::Outage, "provider_not_discovered") => (
                "Sign-in temporarily unavailable",
                "The identity provider cannot be reached right now. Please try again shortly.",
            ),
            (FailureClass::Outage, "claims_enrichment_unavailable") => (
                "Sign-in temporarily unavailable",
                "Your account's details could not be loaded right now. Please try again \
                 shortly.",
            ),
            (FailureClass::Outage, _) if self.severe => (
                "Sign-in temporarily unavailable",
                "The identity provider is not answering correctly right now. Please try again \
                 shortly.",
            ),
            (FailureClass::Outage, _) => (
                "Temporarily unavailable",
                "Sign-in is unavailable for a moment. Please try again shortly.",
            ),
            (FailureClass::Forbidden, "claims_enrichment_denied") => (
                "Access denied",
                "The identity provider signed you in, but this site does not grant your \
                 account access.",
            ),
            (FailureClass::Forbidden, _) => (
                "Access denied",
                "You are signed in, but your account does not have access to this page.",
            ),
        }
    }

    /// Logs the failure once: WARN for the user's side and a store outage, ERROR for
    /// a configuration fault or a provider outage. `error` is logged with its whole
    /// cause chain; no error of this crate carries a token, code, secret, cookie or
    /// session id in its text.
    pub(crate) fn log(&self, what: &'static str, error: &(dyn std::error::Error + 'static)) {
        let chain = crate::observe::error_chain(error);
        if self.severe {
            tracing::error!(reason = self.reason, error = %chain, "{what}");
        } else {
            tracing::warn!(reason = self.reason, error = %chain, "{what}");
        }
    }

    /// [`log`](Self::log) for a failure without an error value.
    pub(crate) fn note(&self, what: &'static str) {
        if self.severe {
            tracing::error!(reason = self.reason, "{what}");
        } else {
            tracing::warn!(reason = self.reason, "{what}");
        }
    }
}

/// What the library is about to show a browser: the input of an [`ErrorPages`] hook.
///
/// It travels in the extensions of the default response, so a hook set with
/// [`AuthenticationLayer::with_error_pages`](crate::AuthenticationLayer::with_error_pages)
/// can replace the page.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ErrorPage {
    /// The status of the default page.
    pub status: StatusCode,
    /// Who can fix it.
    pub class: FailureClass,
    /// The stable reason code.
    pub reason: &'static str,
    /// The default title.
    pub title: &'static str,
    /// The default message.
    pub message: &'static str,
    /// For a failure on the user's side: `{base}/login?next=…`, a link that starts a
    /// new login returning to the same place. Percent-encoded.
    pub retry: Option<String>,
    /// For an outage: the seconds of the `Retry-After` header (kept on a replaced
    /// page that sets none).
    pub retry_after: Option<u32>,
}

impl ErrorPage {
    /// The page of `failure`, with an optional new-login link.
    pub(crate) fn of(failure: Failure, retry: Option<String>) -> Self {
        let (title, message) = failure.text();
        Self {
            status: failure.status(),
            class: failure.class(),
            reason: failure.reason(),
            title,
            message,
            retry: retry.filter(|_| failure.class() == FailureClass::User),
            // A shed code exchange may go again at once; anything else waits a little.
            retry_after: match (failure.class(), failure.reason()) {
                (FailureClass::Outage, "busy") => Some(1),
                (FailureClass::Outage, _) => Some(OUTAGE_RETRY_AFTER),
                _ => None,
            },
        }
    }

    /// The library's own HTML page for this description.
    pub fn default_response(&self) -> Response {
        error_page(self)
    }
}

/// Renders the library's error pages for browsers: set it with
/// [`AuthenticationLayer::with_error_pages`](crate::AuthenticationLayer::with_error_pages).
///
/// A closure `Fn(&ErrorPage) -> Response` is one. The library keeps its `Set-Cookie`
/// headers on the replaced page, adds `Retry-After` for an outage when the page sets
/// none, and `Cache-Control: no-store` when it sets no `Cache-Control`. API callers
/// keep getting the JSON bodies.
pub trait ErrorPages: Send + Sync + 'static {
    /// The response for `page`.
    fn render(&self, page: &ErrorPage) -> Response;
}

impl<F> ErrorPages for F
where
    F: Fn(&ErrorPage) -> Response + Send + Sync + 'static,
{
    fn render(&self, page: &ErrorPage) -> Response {
        self(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_status_and_json_code() {
        assert_eq!(FailureClass::User.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            FailureClass::Configuration.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            FailureClass::Outage.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(FailureClass::User.json_code(), "login_failed");
        assert_eq!(FailureClass::Outage.json_code(), "temporarily_unavailable");
    }

    #[test]
    fn a_configuration_page_never_says_start_again() {
        for reason in [
            "invalid_client",
            "redirect_uri_mismatch",
            "dpop_not_bound",
            "anything",
        ] {
            let (_, message) = Failure::configuration(reason).text();
            assert!(message.contains("operator"), "{reason}: {message}");
            assert!(!message.contains("Please sign in again"), "{reason}");
        }
    }

    #[test]
    fn only_a_user_failure_links_to_a_new_login() {
        let link = || Some("/auth/login?next=%2F".to_owned());
        assert!(
            ErrorPage::of(Failure::user("replayed"), link())
                .retry
                .is_some()
        );
        assert!(
            ErrorPage::of(Failure::configuration("invalid_client"), link())
                .retry
                .is_none()
        );
        let outage = ErrorPage::of(Failure::provider_outage("x"), link());
        assert!(outage.retry.is_none());
        assert_eq!(outage.retry_after, Some(OUTAGE_RETRY_AFTER));
    }

    #[test]
    fn an_unbound_dpop_answer_names_dpop_on_the_page() {
        for reason in ["dpop_not_bound", "dpop_binding_mismatch"] {
            let (_, message) = Failure::configuration(reason).text();
            assert!(message.contains("DPoP"), "{reason}: {message}");
        }
    }

    #[test]
    fn access_denied_is_the_users_choice_with_403() {
        let f = Failure::user("access_denied");
        assert_eq!(f.status(), StatusCode::FORBIDDEN);
        assert_eq!(f.text().0, "Sign-in cancelled");
    }
}
