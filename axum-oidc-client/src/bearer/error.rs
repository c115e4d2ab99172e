//! [`BearerError`] (why a request's bearer token was refused), its HTTP form
//! [`BearerRejection`] (RFC 6750 section 3), and [`BearerConfigError`].

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::discovery::DiscoveryError;
use crate::jose::JoseError;
use crate::jwks::JwksError;
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
    /// The verified claims do not deserialize into the type the handler asked for.
    #[error("token claims do not have the expected shape")]
    ClaimsMismatch,
    /// The issuer's keys could not be fetched: a provider fault, 503.
    #[error("signing keys unavailable")]
    KeysUnavailable(#[source] JwksError),
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
                Self::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
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
            Self::InsufficientScope => Some("insufficient_scope"),
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
            Self::MissingClaim(_) => "a required claim is missing",
            Self::InvalidClaim(_) | Self::DuplicateClaim(_) => "a claim is invalid",
            Self::WrongAudience => "the access token is not meant for this resource",
            Self::IdToken => "an ID token is not an access token",
            Self::Expired => "the access token expired",
            Self::NotYetValid => "the access token is not yet valid",
            Self::InsufficientScope => "the access token lacks a required scope",
            Self::ClaimsMismatch => "the access token claims are not usable here",
            Self::KeysUnavailable(_) => "signing keys are temporarily unavailable",
            Self::LayerMissing => "bearer authentication is not configured",
        }
    }

    fn body_code(&self) -> &'static str {
        match self {
            Self::KeysUnavailable(_) => "temporarily_unavailable",
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
        }
    }

    pub(crate) fn with_scope(mut self, scope: Option<Arc<[Box<str>]>>) -> Self {
        self.scope = scope;
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

    fn challenge(&self) -> Option<String> {
        let realm = &self.realm;
        match self.error.error_code() {
            None if self.error.status() == StatusCode::UNAUTHORIZED => {
                Some(format!("Bearer realm=\"{realm}\""))
            }
            None => None,
            Some(code) => {
                let mut c = format!(
                    "Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{}\"",
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
        if let Some(v) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            pages::retry_after(&mut r, RETRY_AFTER_SECS);
        }
        r
    }
}

/// A bearer-layer configuration mistake, reported by
/// [`JwtConfigurationBuilder::build`](super::JwtConfigurationBuilder::build) (or by
/// the async discovery methods) with the input that caused it.
///
/// ```
/// use axum_oidc_client::bearer::{BearerConfigError, JwtConfiguration};
///
/// let err = JwtConfiguration::builder()
///     .with_hmac_secret("svc", axum_oidc_client::bearer::HmacAlgorithm::HS256, "short")
///     .with_audience("api")
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, BearerConfigError::HmacSecretTooShort { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BearerConfigError {
    /// No issuer is trusted: configure at least one key source.
    #[error("no issuer configured")]
    NoIssuer,
    /// No audience is configured and
    /// [`insecure_skip_audience`](super::JwtConfigurationBuilder::insecure_skip_audience)
    /// was not called (RFC 8725 section 3.9).
    #[error("no audience configured (with_audience)")]
    MissingAudience,
    /// An audience is empty.
    #[error("invalid audience {0:?}")]
    InvalidAudience(String),
    /// An issuer identifier is empty or, where it must be a URL, not one.
    #[error("invalid issuer {0:?}")]
    InvalidIssuer(String),
    /// A URL setting is not a valid absolute URL.
    #[error("{name} is not a valid absolute URL: {value:?}")]
    InvalidUrl {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// A URL uses plain http towards a host that is not this machine.
    #[error("{name} must use https (plain http is only accepted for localhost): {value:?}")]
    InsecureUrl {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// The same issuer was given two kinds of key source (for example a JWKS URI and
    /// an HMAC secret), or two JWKS sources.
    #[error("issuer {0:?} has conflicting key sources")]
    ConflictingKeySources(String),
    /// A static key (PEM or JWK JSON) could not be parsed.
    #[error("key for issuer {issuer:?} is invalid: {reason}")]
    InvalidKey {
        /// The issuer.
        issuer: String,
        /// Why.
        reason: String,
    },
    /// Static keys were given for an issuer but none is a usable signature key.
    #[error("issuer {0:?} has no usable verification key")]
    NoUsableKeys(String),
    /// The HMAC secret is shorter than the hash output (RFC 7518 section 3.2).
    #[error("HMAC secret for issuer {issuer:?} must be at least {min} bytes")]
    HmacSecretTooShort {
        /// The issuer.
        issuer: String,
        /// Minimum length in bytes.
        min: usize,
    },
    /// The HMAC secret looks like a PEM key: a public key must never be an HMAC
    /// secret (RFC 8725 section 2.1).
    #[error("HMAC secret for issuer {0:?} looks like a PEM key")]
    HmacSecretLooksLikeKey(String),
    /// The algorithm allow-list is empty.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// A required claim name is empty.
    #[error("invalid required claim name {0:?}")]
    InvalidRequiredClaim(String),
    /// More than 64 distinct required claims.
    #[error("at most 64 required claims are supported")]
    TooManyRequiredClaims,
    /// The leeway is larger than five minutes.
    #[error("leeway of {0} s is larger than 300 s")]
    LeewayTooLarge(u64),
    /// The realm contains characters that cannot appear in a quoted string.
    #[error("invalid realm {0:?}")]
    InvalidRealm(String),
    /// An environment variable is missing.
    #[error("missing environment variable {0}")]
    MissingEnv(&'static str),
    /// An environment variable has an invalid value.
    #[error("invalid value for {name}: {value:?}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// The value.
        value: String,
    },
    /// Discovery of an issuer failed.
    #[error("OpenID discovery of {issuer:?} failed")]
    Discovery {
        /// The issuer.
        issuer: String,
        /// The cause.
        #[source]
        source: DiscoveryError,
    },
    /// The discovery document of an issuer has no `jwks_uri`.
    #[error("issuer {0:?} publishes no jwks_uri")]
    NoJwksUri(String),
    /// An issuer's keys could not be fetched (from
    /// [`JwtConfiguration::fetch_keys`](super::JwtConfiguration::fetch_keys)).
    #[error("could not fetch the signing keys of {issuer:?}")]
    Jwks {
        /// The issuer.
        issuer: String,
        /// The cause.
        #[source]
        source: JwksError,
    },
    /// The login configuration given to
    /// [`with_oauth_configuration`](super::JwtConfigurationBuilder::with_oauth_configuration)
    /// has no issuer or no key cache (plain OAuth 2.0 mode).
    #[error("the login configuration has no issuer or no JWKS")]
    NoSharedKeys,
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Http(#[source] reqwest::Error),
    /// Background key refresh was requested outside a Tokio runtime.
    #[error("background key refresh needs a Tokio runtime")]
    NoRuntime,
}
