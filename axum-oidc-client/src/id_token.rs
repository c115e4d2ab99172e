//! ID token claims and their validation (OIDC Core 3.1.3.7, and 12.2 for refresh).
//!
//! [`validate_claims`] is a pure function of the claims, the expectations and the
//! clock, so every rule has a unit test without a server.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::issuer::{IssuerError, IssuerExpectation, issuer_matches};
use crate::jose::time::{TimeError, TimeRules};
use crate::jose::{
    HashLen, JoseError, JwksCache, JwksError, SignatureError, SigningAlgorithm, UnverifiedJws,
    from_json_object,
};
use crate::secret::constant_time_eq;

/// The `aud` claim (RFC 7519 section 4.1.3): the JOSE core's [`Audience`](crate::jose::Audience).
pub use crate::jose::Audience as Audiences;

mod additional;
pub use additional::AdditionalClaims;

/// The verified claims of an ID token (OIDC Core 2), available to handlers.
///
/// ```
/// use axum_oidc_client::IdTokenClaims;
///
/// // As an extractor: the claims of the signed-in user (redirect or 401 without a session).
/// async fn me(claims: IdTokenClaims) -> String {
///     format!("{} at {}", claims.sub, claims.iss)
/// }
///
/// let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://op.example", "sub": "alice", "aud": ["my-app", "api"],
///     "exp": 1_700_000_600, "iat": 1_700_000_000, "sid": "s-1", "email": "alice@example.com"
/// }))
/// .unwrap();
/// assert_eq!(claims.sub, "alice");
/// assert!(claims.aud.contains("api") && claims.aud.len() == 2);
/// assert_eq!(claims.sid.as_deref(), Some("s-1"));
/// assert_eq!(claims.additional["email"], "alice@example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer identifier.
    pub iss: String,
    /// Subject identifier: the user's id at the issuer.
    pub sub: String,
    /// Audiences.
    pub aud: Audiences,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// The nonce sent in the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Authorized party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Time of the end-user authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Provider session id (OpenID Connect Back-Channel Logout 1.0 section 2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Access token hash (OIDC Core 3.1.3.6). [`verify_id_token`] checks it against
    /// the access token of the same response and then clears it: it says nothing
    /// once checked, and sessions need not keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Every other claim (name, email, ...).
    #[serde(flatten)]
    pub additional: AdditionalClaims,
}

impl IdTokenClaims {
    /// The claims with a field of their own; every other claim is in
    /// [`additional`](Self::additional).
    pub const NAMED: &'static [&'static str] = &[
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nonce",
        "azp",
        "auth_time",
        "sid",
        "at_hash",
    ];

    /// A string claim from the additional claims, such as `email` or `name`.
    ///
    /// ```
    /// use axum_oidc_client::IdTokenClaims;
    ///
    /// let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
    ///     "iss": "https://op.example", "sub": "alice", "aud": "my-app", "exp": 2, "iat": 1,
    ///     "email": "alice@example.com", "email_verified": true
    /// }))
    /// .unwrap();
    /// assert_eq!(claims.get_str("email"), Some("alice@example.com"));
    /// assert_eq!(claims.get_str("email_verified"), None, "not a string");
    /// assert_eq!(claims.get_str("name"), None);
    /// ```
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.additional
            .get(name)
            .and_then(serde_json::Value::as_str)
    }
}

/// Which rule an ID token broke. Each variant is one rule, so tests can match it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The JWS is malformed, unsigned, uses a disallowed algorithm, names an unknown
    /// key or has a bad signature (OIDC Core 3.1.3.7 steps 6-8).
    #[error("ID token signature rejected: {0}")]
    Jose(#[from] JoseError),
    /// The provider's keys could not be fetched: a provider fault.
    #[error("signing keys unavailable")]
    Keys(#[source] JwksError),
    /// The payload lacks a required claim, has one of the wrong type, or has an
    /// empty `sub` (OIDC Core 2: a locally unique identifier of the end-user).
    #[error("ID token claims are malformed")]
    MalformedClaims,
    /// `iss` differs from the issuer (step 2), or, with an issuer template, is not the
    /// template filled with any tenant.
    #[error("wrong issuer")]
    WrongIssuer,
    /// With an issuer template: the token has no `tid` claim, or not a non-empty
    /// string (step 2 cannot be checked without it).
    #[error("tenant id (tid) missing")]
    MissingTenant,
    /// With an issuer template: `tid` is not a plain tenant id (ASCII letters, digits,
    /// `-`, `_`; at most 64).
    #[error("tenant id (tid) is not a plain tenant id")]
    InvalidTenant,
    /// With an issuer template: `iss` is the template filled with another tenant than
    /// the token's `tid` (step 2).
    #[error("issuer does not match the tenant id (tid)")]
    IssuerTenantMismatch,
    /// With an allow-list of tenants: the token's `tid` is not in it.
    #[error("tenant not allowed")]
    TenantNotAllowed,
    /// A refreshed ID token names another issuer, another tenant, than the login's
    /// (OIDC Core 12.2).
    #[error("issuer changed")]
    IssuerChanged,
    /// `aud` does not contain the client id (step 3).
    #[error("wrong audience")]
    WrongAudience,
    /// Several audiences but no `azp` (step 3 and 4).
    #[error("multiple audiences without azp")]
    MissingAzp,
    /// `azp` is present and not the client id (step 5).
    #[error("wrong authorized party")]
    WrongAzp,
    /// An extra audience is not trusted (step 3).
    #[error("untrusted additional audience")]
    UntrustedAudience,
    /// `exp` has passed (step 9).
    #[error("ID token expired")]
    Expired,
    /// `iat` lies in the future beyond the leeway (step 10).
    #[error("ID token issued in the future")]
    IssuedInFuture,
    /// `iat` is older than the configured maximum age (step 10).
    #[error("ID token issued too long ago")]
    IssuedTooLongAgo,
    /// A nonce was sent and the token carries none (step 11).
    #[error("nonce missing")]
    MissingNonce,
    /// The token's nonce differs from the one sent (step 11).
    #[error("nonce mismatch")]
    NonceMismatch,
    /// `at_hash` does not match the access token (OIDC Core 3.1.3.8).
    #[error("at_hash mismatch")]
    AtHashMismatch,
    /// A refreshed ID token names another subject (OIDC Core 12.2).
    #[error("subject changed")]
    SubjectChanged,
    /// The login asked for `max_age` or `acr_values` and the ID token's `auth_time`
    /// or `acr` does not meet them (OIDC Core 3.1.3.7 steps 11-12); the cause names
    /// the rule.
    #[error("the authentication does not meet the requested max_age or acr_values")]
    Authentication(#[source] crate::access::StepUpError),
}

impl From<SignatureError> for IdTokenError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Jose(j) => Self::Jose(j),
            SignatureError::Keys(k) => Self::Keys(k),
        }
    }
}

impl From<IssuerError> for IdTokenError {
    fn from(e: IssuerError) -> Self {
        match e {
            IssuerError::MissingTenant => Self::MissingTenant,
            IssuerError::InvalidTenant => Self::InvalidTenant,
            IssuerError::TenantMismatch => Self::IssuerTenantMismatch,
            IssuerError::TenantNotAllowed => Self::TenantNotAllowed,
            IssuerError::IssuerChanged => Self::IssuerChanged,
            _ => Self::WrongIssuer,
        }
    }
}

impl IdTokenError {
    /// Whether this is a fault on the provider's side rather than a bad token.
    pub fn is_provider_fault(&self) -> bool {
        matches!(self, Self::Keys(_))
    }
}

/// What the nonce check expects.
#[derive(Debug, Clone, Copy)]
pub enum NonceCheck<'a> {
    /// Login: the token must carry exactly this nonce (OIDC Core 3.1.3.7 step 11).
    Required(&'a str),
    /// Refresh: a nonce is optional but must equal the original when present
    /// (OIDC Core 12.2).
    IfPresent(Option<&'a str>),
}

/// Everything [`validate_claims`] compares the claims against.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The issuer: an identifier compared exactly, or a multi-tenant template
    /// checked against the token's `tid` (see [`issuer_matches`]). `&str` converts.
    pub issuer: IssuerExpectation<'a>,
    /// Our client id.
    pub client_id: &'a str,
    /// Audiences besides ours that may appear in `aud`.
    pub additional_audiences: &'a [String],
    /// The nonce rule.
    pub nonce: NonceCheck<'a>,
    /// Tolerance for clock skew applied to `exp` and `iat`.
    pub leeway: Duration,
    /// Reject tokens whose `iat` is older than this.
    pub max_age: Option<Duration>,
    /// For refresh: the subject of the session.
    pub subject: Option<&'a str>,
    /// Current time, seconds since the epoch.
    pub now: i64,
}

/// Applies the claim rules of OIDC Core 3.1.3.7 steps 2-5 and 9-11. Step 2 under a
/// multi-tenant issuer template: `iss` must be the template filled with the token's
/// own `tid`, which must be plain and, with an allow-list, allowed.
pub fn validate_claims(claims: &IdTokenClaims, exp: &Expectations<'_>) -> Result<(), IdTokenError> {
    if claims.sub.is_empty() {
        return Err(IdTokenError::MalformedClaims);
    }
    let tid = claims.get_str("tid");
    issuer_matches(exp.issuer, &claims.iss, tid)?;
    check_audience(
        &claims.aud,
        claims.azp.as_deref(),
        exp.client_id,
        exp.additional_audiences,
    )?;
    let time = TimeRules::new(exp.now, exp.leeway);
    time.check_exp(claims.exp)
        .and_then(|()| time.check_iat(claims.iat, exp.max_age))
        .map_err(|e| match e {
            TimeError::Expired => IdTokenError::Expired,
            TimeError::IssuedTooLongAgo => IdTokenError::IssuedTooLongAgo,
            _ => IdTokenError::IssuedInFuture,
        })?;
    match (exp.nonce, claims.nonce.as_deref()) {
        (NonceCheck::Required(_), None) => return Err(IdTokenError::MissingNonce),
        (NonceCheck::Required(want), Some(got))
        | (NonceCheck::IfPresent(Some(want)), Some(got)) => {
            if !constant_time_eq(want.as_bytes(), got.as_bytes()) {
                return Err(IdTokenError::NonceMismatch);
            }
        }
        (NonceCheck::IfPresent(None), Some(_)) => return Err(IdTokenError::NonceMismatch),
        (NonceCheck::IfPresent(_), None) => {}
    }
    if let Some(subject) = exp.subject
        && claims.sub != subject
    {
        return Err(IdTokenError::SubjectChanged);
    }
    Ok(())
}

/// The audience rules of OIDC Core 3.1.3.7:
/// - step 3: `aud` must contain the client id, and every other audience must be
///   trusted (`additional_audiences`);
/// - step 4: with several audiences, `azp` must be present;
/// - step 5: when `azp` is present, it must be the client id.
pub fn check_audience(
    aud: &Audiences,
    azp: Option<&str>,
    client_id: &str,
    additional_audiences: &[String],
) -> Result<(), IdTokenError> {
    if !aud.contains(client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    if aud.len() > 1 {
        if azp.is_none() {
            return Err(IdTokenError::MissingAzp);
        }
        let trusted = |a: &str| a == client_id || additional_audiences.iter().any(|t| t == a);
        if !aud.iter().all(trusted) {
            return Err(IdTokenError::UntrustedAudience);
        }
    }
    if azp.is_some_and(|azp| azp != client_id) {
        return Err(IdTokenError::WrongAzp);
    }
    Ok(())
}

/// Checks `at_hash` against the access token (OIDC Core 3.1.3.6): the base64url of the
/// left half of the hash of the token's ASCII octets, with the hash of the ID token's `alg`.
pub fn verify_at_hash(
    at_hash: &str,
    access_token: &str,
    alg: SigningAlgorithm,
) -> Result<(), IdTokenError> {
    let digest: Vec<u8> = match alg.hash_len() {
        HashLen::Sha256 => sha2::Sha256::digest(access_token.as_bytes()).to_vec(),
        HashLen::Sha384 => sha2::Sha384::digest(access_token.as_bytes()).to_vec(),
        HashLen::Sha512 => sha2::Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    let expected = URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]);
    if constant_time_eq(expected.as_bytes(), at_hash.as_bytes()) {
        Ok(())
    } else {
        Err(IdTokenError::AtHashMismatch)
    }
}

/// Verifies an ID token end to end: signature through `keys`, then the claim rules,
/// then `at_hash` when both it and the access token are present.
///
/// The token must come from the token endpoint response (a code exchange or a
/// refresh): the client fetched it itself over TLS (OIDC Core 3.1.3.7 step 6), so an
/// unknown `kid` refetches the keys at once (OIDC Core 10.1.1).
pub async fn verify_id_token(
    token: &str,
    keys: &JwksCache,
    allowed: &[SigningAlgorithm],
    expectations: &Expectations<'_>,
    access_token: Option<&str>,
) -> Result<IdTokenClaims, IdTokenError> {
    let jws = UnverifiedJws::parse(token, allowed)?;
    keys.verify_fetched(&jws).await?;
    let mut claims: IdTokenClaims =
        from_json_object(jws.payload()).ok_or(IdTokenError::MalformedClaims)?;
    validate_claims(&claims, expectations)?;
    if let (Some(h), Some(at)) = (claims.at_hash.as_deref(), access_token) {
        verify_at_hash(h, at, jws.alg)?;
    }
    // Checked or not checkable (no access token): either way of no use afterwards.
    claims.at_hash = None;
    Ok(claims)
}

#[cfg(test)]
mod tests;
