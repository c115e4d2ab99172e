//! [`DpopError`]: why a DPoP proof was refused, or a key or proof could not be made.

use crate::store::StoreError;

/// Why a DPoP proof (RFC 9449) was refused, or why a [`DpopKey`](super::DpopKey) or a
/// proof could not be made. One variant per rule of RFC 9449 sections 4.3 and 7.1,
/// so a test can match the exact rule that failed. The `Display` text never contains
/// a token or a proof.
///
/// ```
/// use axum_oidc_client::dpop::DpopError;
///
/// assert_eq!(DpopError::Replayed.to_string(), "the DPoP proof's jti was already used");
/// assert_eq!(DpopError::Replayed.error_code(), Some("invalid_dpop_proof"));
/// assert_eq!(DpopError::KeyMismatch.error_code(), Some("invalid_token"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The request has no `DPoP` header (RFC 9449 section 4.3, check 1).
    #[error("no DPoP proof")]
    MissingProof,
    /// The request has more than one `DPoP` header (RFC 9449 section 4.3, check 1).
    #[error("more than one DPoP header")]
    MultipleProofs,
    /// The proof is not one well-formed compact JWS with JSON header and claims
    /// (RFC 9449 section 4.3, checks 2 and 3), or is larger than 8 KiB.
    #[error("the DPoP proof is not a well-formed JWT")]
    Malformed,
    /// The header's `typ` is not `dpop+jwt` (RFC 9449 section 4.3, check 4).
    #[error("the DPoP proof's typ is not dpop+jwt")]
    WrongType,
    /// The header's `alg` is `none`, symmetric (`HS*`) or not on the allow-list
    /// (RFC 9449 section 4.3, check 5). Holds at most 16 characters of `alg`.
    #[error("the DPoP proof's algorithm {0:?} is not allowed")]
    AlgNotAllowed(String),
    /// The header has no `jwk`, or one that is not a usable public key of the
    /// `alg`'s type (RFC 9449 section 4.3, check 7).
    #[error("the DPoP proof's jwk is missing or not a usable public key")]
    InvalidJwk,
    /// The header's `jwk` holds private key members (`d`, `p`, `q`, ...) or is a
    /// symmetric key (RFC 9449 section 4.3, check 7: "does not contain a private key").
    #[error("the DPoP proof's jwk contains a private key")]
    PrivateKeyInJwk,
    /// The signature does not verify with the header's `jwk` (RFC 9449 section 4.3,
    /// check 6).
    #[error("the DPoP proof's signature is invalid")]
    BadSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`, or `ath` with an access token)
    /// is absent or not a string/number as required (RFC 9449 section 4.2).
    #[error("the DPoP proof lacks a valid {0} claim")]
    MissingClaim(&'static str),
    /// `htm` is not the request's method (RFC 9449 section 4.3, check 8).
    #[error("the DPoP proof's htm does not match the request method")]
    WrongMethod,
    /// `htu` is not the request's URI without query and fragment, after the
    /// normalisation of RFC 9449 section 4.3 check 9 (RFC 3986 sections 6.2.2, 6.2.3).
    #[error("the DPoP proof's htu does not match the request URI")]
    WrongUri,
    /// `iat` is older than the accepted window (RFC 9449 section 4.3, check 11).
    #[error("the DPoP proof is too old")]
    Stale,
    /// `iat` is further in the future than the leeway (RFC 9449 section 4.3, check 11).
    #[error("the DPoP proof's iat is in the future")]
    IssuedInFuture,
    /// The `jti` was already used within the window (RFC 9449 section 11.1).
    #[error("the DPoP proof's jti was already used")]
    Replayed,
    /// `ath` is not the base64url SHA-256 of the presented access token (RFC 9449
    /// section 4.3, check 12).
    #[error("the DPoP proof's ath does not match the access token")]
    WrongAth,
    /// The access token's `cnf.jkt` is not the thumbprint of the proof's key
    /// (RFC 9449 sections 6.1, 7.1).
    #[error("the access token is not bound to the DPoP proof's key")]
    KeyMismatch,
    /// The access token, presented with the `DPoP` scheme, has no `cnf.jkt`
    /// (RFC 9449 section 7.1: the token must be bound to the proof's key).
    #[error("the access token is not DPoP-bound")]
    UnboundToken,
    /// A DPoP-bound access token (one with `cnf.jkt`) was presented with the `Bearer`
    /// scheme (RFC 9449 section 7.2).
    #[error("a DPoP-bound access token was presented as a bearer token")]
    BoundTokenAsBearer,
    /// DPoP is required and the request used the `Bearer` scheme (RFC 9449 section
    /// 7.1): answered like a missing token, with a `DPoP` challenge.
    #[error("the DPoP scheme is required")]
    DpopRequired,
    /// The store that remembers used `jti`s failed: a fault of the server, 503.
    #[error("the DPoP replay store is unavailable")]
    Store(#[source] StoreError),
    /// A key could not be generated, read from PKCS#8 or used to sign.
    #[error("DPoP key error: {0}")]
    Key(&'static str),
}

impl DpopError {
    /// The error code of the `WWW-Authenticate: DPoP` challenge (RFC 9449 section
    /// 7.1): `invalid_dpop_proof` for the proof's rules, `invalid_token` for the
    /// token's binding, `None` for faults of the server.
    ///
    /// ```
    /// # use axum_oidc_client::dpop::DpopError;
    /// assert_eq!(DpopError::WrongUri.error_code(), Some("invalid_dpop_proof"));
    /// ```
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::KeyMismatch | Self::UnboundToken | Self::BoundTokenAsBearer => {
                Some("invalid_token")
            }
            Self::Store(_) | Self::Key(_) | Self::DpopRequired => None,
            _ => Some("invalid_dpop_proof"),
        }
    }

    /// A short, fixed `error_description`. Never contains any part of a token.
    ///
    /// ```
    /// # use axum_oidc_client::dpop::DpopError;
    /// assert_eq!(DpopError::Stale.description(), "the DPoP proof is too old");
    /// ```
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingProof => "a DPoP proof is required",
            Self::MultipleProofs => "exactly one DPoP proof is required",
            Self::Malformed => "the DPoP proof is malformed",
            Self::WrongType => "the DPoP proof type is not accepted",
            Self::AlgNotAllowed(_) => "the DPoP proof algorithm is not allowed",
            Self::InvalidJwk | Self::PrivateKeyInJwk => "the DPoP proof key is not acceptable",
            Self::BadSignature => "the DPoP proof signature is invalid",
            Self::MissingClaim(_) => "the DPoP proof lacks a required claim",
            Self::WrongMethod => "the DPoP proof is for another method",
            Self::WrongUri => "the DPoP proof is for another URI",
            Self::Stale => "the DPoP proof is too old",
            Self::IssuedInFuture => "the DPoP proof is not yet valid",
            Self::Replayed => "the DPoP proof was already used",
            Self::WrongAth => "the DPoP proof is for another access token",
            Self::KeyMismatch => "the access token is bound to another key",
            Self::UnboundToken => "the access token is not DPoP-bound",
            Self::BoundTokenAsBearer => "a DPoP-bound access token needs the DPoP scheme",
            Self::DpopRequired => "a DPoP-bound access token is required",
            Self::Store(_) => "DPoP replay protection is temporarily unavailable",
            Self::Key(_) => "DPoP key error",
        }
    }
}
