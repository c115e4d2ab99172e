//! [`BearerError`] (why a request's bearer token was refused), its HTTP form
//! [`BearerRejection`] (RFC 6750 section 3). Configuration errors are the crate's
//! [`ConfigError`](crate::ConfigError).

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::dpop::DpopError;
use crate::jose::JoseError;
use crate::jose::JwksError;
use crate::pages;

/// Why a request's bearer token was refused. One variant per rule, so a test can
/// match the exact rule that failed.
///
/// [`status`](Self::status) and [`error_code`](Self::error_code) give the RFC 6750
/// section 3 mapping; the `Display` text never contains the token.
///
/// ```
/// use axum_oidc_client::bearer::BearerError;
/// use http::StatusCode;
///
/// assert_eq!(BearerError::Expired.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(BearerError::Expired.error_code(), Some("invalid_token"));
/// assert_eq!(BearerError::MissingToken.error_code(), None);
/// assert_eq!(BearerError::EmptyToken.status(), StatusCode::BAD_REQUEST);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// The request has no `Authorization` header. RFC 6750 section 3: 401 without an
    /// error code.
    #[error("no bearer token")]
    MissingToken,
    /// The `Authorization` header uses another scheme than `Bearer` (RFC 6750
    /// section 3: "an unsupported authentication method"), 401 without an error code.
    #[error("authorization scheme is not Bearer")]
    UnsupportedScheme,
    /// `Authorization: Bearer` with no token after it (`invalid_request`, 400).
    #[error("empty bearer token")]
    EmptyToken,
    /// The credentials are not `b64token` syntax (RFC 6750 section 2.1), for example
    /// they contain a space or a non-ASCII byte (`invalid_request`, 400).
    #[error("malformed Authorization header")]
    MalformedHeader,
    /// The request repeats the `Authorization` header (`invalid_request`, 400).
    #[error("more than one Authorization header")]
    MultipleAuthorizationHeaders,
    /// The token is not an acceptable compact JWS: too large, not three parts, bad
    /// base64url, `alg` `none` or outside the allow-list (RFC 8725 sections 3.1, 3.2),
    /// unknown `crit`, wrong `typ` (RFC 8725 section 3.11, RFC 9068 section 4),
    /// unknown `kid` even after a refetch, or a bad signature.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// `iss` names no configured issuer (RFC 7519 section 4.1.1, RFC 8725 section
    /// 3.8; exact string comparison).
    #[error("untrusted issuer")]
    UnknownIssuer,
    /// `iss` is an issuer of a configured multi-tenant template, and the token breaks
    /// the template's rule: `tid` missing or not plain, `iss` of another tenant than
    /// `tid`, or `tid` outside the allow-list. The cause names the rule.
    #[error("the token's issuer does not fit its tenant")]
    Tenant(#[source] crate::IssuerError),
    /// A claim that is required is absent or `null`: `iss` and `exp` always (RFC 8725
    /// section 3.10 asks for expiry), `aud` when audiences are configured, the RFC 9068
    /// section 2.2 claims in that mode, and any claim set with
    /// [`with_required_claims`](super::JwtConfigurationBuilder::with_required_claims).
    #[error("required claim {0} is missing")]
    MissingClaim(String),
    /// A registered claim has the wrong JSON type (for example `exp` as a string,
    /// RFC 7519 section 4.1).
    #[error("claim {0} has an invalid value")]
    InvalidClaim(&'static str),
    /// A claim this library checks appears twice in the payload (RFC 7519 section 4).
    #[error("claim {0} appears more than once")]
    DuplicateClaim(String),
    /// `aud` contains none of the configured audiences (RFC 7519 section 4.1.3,
    /// RFC 9068 section 4).
    #[error("wrong audience")]
    WrongAudience,
    /// The token is an OpenID Connect ID token, not an access token: it is not typed
    /// `at+jwt` (RFC 9068 section 2.1) and carries `nonce`, `at_hash`, `c_hash`, or
    /// `auth_time` with its audience as `azp` and no `scope` (OIDC Core 2). See
    /// [`insecure_accept_id_tokens`](super::JwtConfigurationBuilder::insecure_accept_id_tokens).
    #[error("an ID token is not an access token")]
    IdToken,
    /// `exp` is in the past, beyond the leeway (RFC 7519 section 4.1.4).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway (RFC 7519 section 4.1.5).
    #[error("token not yet valid")]
    NotYetValid,
    /// The token lacks a scope the route requires (RFC 6750 section 3.1
    /// `insufficient_scope`, 403).
    #[error("insufficient scope")]
    InsufficientScope,
    /// The token's claims do not meet the route's access rule
    /// ([`JwtLayer::require`](super::JwtLayer::require)): RFC 6750 section 3.1
    /// `insufficient_scope` ("requires higher privileges"), 403. The cause names the
    /// rule that failed.
    #[error("the token's claims do not meet the route's access rule")]
    InsufficientClaims(#[source] crate::access::AccessError),
    /// The token's `auth_time` or `acr` does not meet the route's step-up rule
    /// ([`JwtLayer::require_step_up`](super::JwtLayer::require_step_up)): 401 with
    /// RFC 9470 `insufficient_user_authentication` and the rule's `acr_values` /
    /// `max_age`. The cause names the rule that failed.
    #[error("the token's authentication does not meet the route's step-up rule")]
    InsufficientUserAuthentication(#[source] crate::access::StepUpError),
    /// The verified claims do not deserialize into the type the handler asked for.
    #[error("token claims do not have the expected shape")]
    ClaimsMismatch,
    /// The issuer's keys could not be fetched: a provider fault, 503.
    #[error("signing keys unavailable")]
    KeysUnavailable(#[source] JwksError),
    /// The DPoP rules (RFC 9449 section 7): the proof is invalid
    /// (`invalid_dpop_proof`), the token's binding does not fit (`invalid_token`),
    /// a DPoP-bound token came with the `Bearer` scheme, or the replay store failed
    /// (503). The cause names the rule.
    #[error(transparent)]
    Dpop(#[from] DpopError),
    /// A bearer extractor is used on a route without a [`JwtLayer`](super::JwtLayer):
    /// a programming error, 500.
    #[error("no JwtLayer in front of this route")]
    LayerMissing,
}

impl BearerError {
    /// The HTTP status for this error (RFC 6750 section 3.1).
    ///
    /// ```
    /// # use axum_oidc_client::bearer::BearerError;
    /// assert_eq!(BearerError::InsufficientScope.status(), http::StatusCode::FORBIDDEN);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self.error_code() {
            Some("invalid_request") => StatusCode::BAD_REQUEST,
            Some("insufficient_scope") => StatusCode::FORBIDDEN,
            Some(_) | None => match self {
                Self::KeysUnavailable(_) | Self::Dpop(DpopError::Store(_)) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                Self::LayerMissing | Self::Dpop(DpopError::Key(_)) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                _ => StatusCode::UNAUTHORIZED,
            },
        }
    }

    /// The RFC 6750 section 3.1 error code, or `None` when the challenge carries none
    /// (no credentials) or the failure is not the client's (503, 500).
    ///
    /// ```
    /// # use axum_oidc_client::bearer::BearerError;
    /// assert_eq!(BearerError::WrongAudience.error_code(), Some("invalid_token"));
    /// ```
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken
            | Self::UnsupportedScheme
            | Self::KeysUnavailable(_)
            | Self::LayerMissing => None,
            Self::EmptyToken | Self::MalformedHeader | Self::MultipleAuthorizationHeaders => {
                Some("invalid_request")
            }
            Self::InsufficientScope | Self::InsufficientClaims(_) => Some("insufficient_scope"),
            Self::InsufficientUserAuthentication(_) => Some("insufficient_user_authentication"),
            Self::Dpop(e) => e.error_code(),
            _ => Some("invalid_token"),
        }
    }

    /// A short, fixed `error_description` for the rule. It never contains any part of
    /// the token.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::BearerError;
    /// assert_eq!(BearerError::Expired.description(), "the access token expired");
    /// ```
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingToken | Self::UnsupportedScheme => "a bearer token is required",
            Self::EmptyToken => "the bearer token is empty",
            Self::MalformedHeader => "the Authorization header is malformed",
            Self::MultipleAuthorizationHeaders => "more than one Authorization header",
            Self::Jose(j) => match j {
                JoseError::AlgNone | JoseError::AlgNotAllowed(_) => {
                    "the signing algorithm is not allowed"
                }
                JoseError::WrongType => "the token type is not accepted",
                JoseError::UnknownKid | JoseError::AmbiguousKey => "unknown signing key",
                JoseError::BadSignature | JoseError::KeyAlgMismatch => "the signature is invalid",
                JoseError::TooLarge => "the access token is too large",
                _ => "the access token is malformed",
            },
            Self::UnknownIssuer => "untrusted issuer",
            Self::Tenant(_) => "untrusted issuer or tenant",
            Self::MissingClaim(_) => "a required claim is missing",
            Self::InvalidClaim(_) | Self::DuplicateClaim(_) => "a claim is invalid",
            Self::WrongAudience => "the access token is not meant for this resource",
            Self::IdToken => "an ID token is not an access token",
            Self::Expired => "the access token expired",
            Self::NotYetValid => "the access token is not yet valid",
            Self::InsufficientScope => "the access token lacks a required scope",
            Self::InsufficientClaims(_) => "the access token lacks a required claim",
            Self::InsufficientUserAuthentication(_) => {
                "a more recent or stronger authentication is required"
            }
            Self::ClaimsMismatch => "the access token claims are not usable here",
            Self::KeysUnavailable(_) => "signing keys are temporarily unavailable",
            Self::LayerMissing => "bearer authentication is not configured",
            Self::Dpop(e) => e.description(),
        }
    }

    fn body_code(&self) -> &'static str {
        match self {
            Self::KeysUnavailable(_) | Self::Dpop(DpopError::Store(_)) => "temporarily_unavailable",
            Self::LayerMissing => "bearer_layer_missing",
            other => other.error_code().unwrap_or("unauthorized"),
        }
    }
}

/// A refused request as an HTTP response (RFC 6750 section 3): status,
/// `WWW-Authenticate: Bearer realm="…"[, error="…", error_description="…"][, scope="…"]`,
/// a generic JSON body `{"error":"<code>"}` and `Cache-Control: no-store`.
/// `Retry-After` is added to 503 answers.
///
/// It is the rejection of the bearer extractors and what [`JwtLayer`](super::JwtLayer)
/// answers with.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_oidc_client::bearer::{BearerError, BearerRejection};
///
/// let r = BearerRejection::new(BearerError::Expired, "api").into_response();
/// assert_eq!(r.status(), http::StatusCode::UNAUTHORIZED);
/// assert_eq!(
///     r.headers()["www-authenticate"],
///     r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#
/// );
/// ```
#[derive(Debug)]
pub struct BearerRejection {
    error: BearerError,
    realm: Arc<str>,
    scope: Option<Arc<[Box<str>]>>,
    /// Boxed: only step-up routes have one, and it keeps the rejection small.
    step_up: Option<Box<crate::access::StepUp>>,
    dpop: Option<Arc<DpopChallenge>>,
}

/// What a layer configured for DPoP adds to its challenges (RFC 9449 section 7.1).
#[derive(Debug, Clone)]
pub(crate) struct DpopChallenge {
    /// The accepted proof algorithms, space-separated.
    pub(crate) algs: String,
    /// Whether only the `DPoP` scheme is accepted.
    pub(crate) required: bool,
}

/// Seconds a client should wait after a 503 before retrying.
const RETRY_AFTER_SECS: u32 = 5;

impl BearerRejection {
    /// A rejection for `error`, challenging with `realm`.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{BearerError, BearerRejection};
    /// let r = BearerRejection::new(BearerError::MissingToken, "api");
    /// assert!(matches!(r.error(), BearerError::MissingToken));
    /// ```
    pub fn new(error: BearerError, realm: impl Into<Arc<str>>) -> Self {
        Self {
            error,
            realm: realm.into(),
            scope: None,
            step_up: None,
            dpop: None,
        }
    }

    /// Challenges with the `DPoP` scheme too (RFC 9449 section 7.1).
    pub(crate) fn with_dpop(mut self, dpop: Option<Arc<DpopChallenge>>) -> Self {
        self.dpop = dpop;
        self
    }

    pub(crate) fn with_scope(mut self, scope: Option<Arc<[Box<str>]>>) -> Self {
        self.scope = scope;
        self
    }

    /// The step-up rule whose `acr_values` / `max_age` an
    /// `insufficient_user_authentication` challenge names (RFC 9470 section 3).
    pub(crate) fn with_step_up(mut self, step_up: Option<crate::access::StepUp>) -> Self {
        self.step_up = step_up.map(Box::new);
        self
    }

    /// The rule that failed.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{BearerError, BearerRejection};
    /// let r = BearerRejection::new(BearerError::WrongAudience, "api");
    /// assert!(matches!(r.error(), BearerError::WrongAudience));
    /// ```
    pub fn error(&self) -> &BearerError {
        &self.error
    }

    /// The rule that failed, by value.
    ///
    /// ```
    /// # use axum_oidc_client::bearer::{BearerError, BearerRejection};
    /// let e = BearerRejection::new(BearerError::Expired, "api").into_error();
    /// assert!(matches!(e, BearerError::Expired));
    /// ```
    pub fn into_error(self) -> BearerError {
        self.error
    }

    /// The `WWW-Authenticate` values: one `Bearer` challenge (RFC 6750 section 3);
    /// with DPoP, a `DPoP` challenge with `algs` instead (DPoP required, or a DPoP
    /// rule failed) or in addition (RFC 9449 section 7.1).
    fn challenges(&self) -> Vec<String> {
        let Some(params) = self.params() else {
            return Vec::new();
        };
        let Some(dpop) = &self.dpop else {
            return vec![format!("Bearer {params}")];
        };
        let dpop_challenge = |params: &str| format!("DPoP {params}, algs=\"{}\"", dpop.algs);
        if dpop.required || matches!(self.error, BearerError::Dpop(_)) {
            vec![dpop_challenge(&params)]
        } else {
            vec![
                format!("Bearer {params}"),
                dpop_challenge(&format!("realm=\"{}\"", self.realm)),
            ]
        }
    }

    /// The parameters of the challenge, `None` for faults of the server.
    fn params(&self) -> Option<String> {
        let realm = &self.realm;
        match self.error.error_code() {
            None if self.error.status() == StatusCode::UNAUTHORIZED => {
                Some(format!("realm=\"{realm}\""))
            }
            None => None,
            Some(code) => {
                let mut c = format!(
                    "realm=\"{realm}\", error=\"{code}\", error_description=\"{}\"",
                    self.error.description()
                );
                if let (Some(scope), BearerError::InsufficientScope) = (&self.scope, &self.error) {
                    c.push_str(", scope=\"");
                    for (i, s) in scope.iter().enumerate() {
                        if i > 0 {
                            c.push(' ');
                        }
                        c.push_str(s);
                    }
                    c.push('"');
                }
                if let (Some(rule), BearerError::InsufficientUserAuthentication(_)) =
                    (&self.step_up, &self.error)
                {
                    c.push_str(&rule.challenge_params());
                }
                Some(c)
            }
        }
    }
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        tracing::debug!(rule = %self.error, detail = ?self.error, "bearer token refused");
        let status = self.error.status();
        let mut r = pages::json(status, self.error.body_code());
        for c in self.challenges() {
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::WWW_AUTHENTICATE, v);
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            pages::retry_after(&mut r, RETRY_AFTER_SECS);
        }
        r
    }
}

/// The bearer layer's configuration errors, now part of the crate's one
/// [`ConfigError`](crate::ConfigError).
#[deprecated(note = "use `axum_oidc_client::ConfigError`")]
pub type BearerConfigError = crate::config::ConfigError;
