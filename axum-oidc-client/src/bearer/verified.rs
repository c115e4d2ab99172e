//! [`VerifiedJwt`]: a token that passed every rule, as the layer stores it.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::claims::Scopes;

/// The verified claims of a bearer token. Cheap to clone (one `Arc`).
///
/// [`JwtLayer`](super::JwtLayer) verifies the token once and stores this in the
/// request extensions; the extractors deserialize the claims from the raw JSON
/// payload kept here, so no token is re-verified and no intermediate JSON tree is
/// built. The token itself is not kept.
///
/// It is also an extractor, for handlers that want the raw payload or several
/// claim types:
///
/// ```
/// use axum_oidc_client::bearer::{OidcClaims, VerifiedJwt};
///
/// async fn handler(jwt: VerifiedJwt) -> String {
///     let claims: OidcClaims = jwt.claims().expect("claims");
///     format!("{} from {}", claims.sub, jwt.issuer())
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(handler);
/// ```
#[derive(Clone)]
pub struct VerifiedJwt(Arc<Inner>);

struct Inner {
    issuer: Arc<str>,
    payload: Vec<u8>,
    exp: i64,
    nbf: Option<i64>,
}

impl std::fmt::Debug for VerifiedJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedJwt")
            .field("issuer", &self.0.issuer)
            .field("exp", &self.0.exp)
            .finish_non_exhaustive()
    }
}

impl VerifiedJwt {
    pub(crate) fn new(issuer: Arc<str>, payload: Vec<u8>, exp: i64, nbf: Option<i64>) -> Self {
        Self(Arc::new(Inner {
            issuer,
            payload,
            exp,
            nbf,
        }))
    }

    /// The issuer that signed the token (its `iss`, exactly as configured).
    ///
    /// ```
    /// # fn f(jwt: axum_oidc_client::bearer::VerifiedJwt) {
    /// println!("token from {}", jwt.issuer());
    /// # }
    /// ```
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// `exp`, seconds since the epoch.
    ///
    /// ```
    /// # fn f(jwt: axum_oidc_client::bearer::VerifiedJwt) {
    /// let seconds_left = jwt.exp() - chrono::Utc::now().timestamp();
    /// # let _ = seconds_left; }
    /// ```
    pub fn exp(&self) -> i64 {
        self.0.exp
    }

    /// `nbf`, when the token has one.
    ///
    /// ```
    /// # fn f(jwt: axum_oidc_client::bearer::VerifiedJwt) {
    /// assert!(jwt.nbf().is_none_or(|nbf| nbf <= jwt.exp()));
    /// # }
    /// ```
    pub fn nbf(&self) -> Option<i64> {
        self.0.nbf
    }

    /// The verified payload: the JSON claims set (RFC 7519 section 4).
    ///
    /// ```
    /// # fn f(jwt: axum_oidc_client::bearer::VerifiedJwt) {
    /// let raw: serde_json::Value = serde_json::from_slice(jwt.payload()).unwrap();
    /// # let _ = raw; }
    /// ```
    pub fn payload(&self) -> &[u8] {
        &self.0.payload
    }

    /// Deserializes the claims into `C` (any `serde` type, such as
    /// [`OidcClaims`](super::OidcClaims), your own struct, or
    /// `serde_json::Map<String, serde_json::Value>`).
    ///
    /// ```
    /// # fn f(jwt: axum_oidc_client::bearer::VerifiedJwt) {
    /// #[derive(serde::Deserialize)]
    /// struct Tenant { tenant_id: String }
    /// let tenant: Tenant = jwt.claims().unwrap();
    /// # let _ = tenant.tenant_id; }
    /// ```
    pub fn claims<C: DeserializeOwned>(&self) -> Result<C, serde_json::Error> {
        serde_json::from_slice(&self.0.payload)
    }

    /// Whether the token grants `scope`: a value of the space-separated `scope` claim
    /// (RFC 9068 section 2.2.3, RFC 8693 section 4.2) or of a `scp` string or array.
    /// Comparison is case-sensitive (RFC 6749 section 3.3).
    ///
    /// ```
    /// # fn f(jwt: axum_oidc_client::bearer::VerifiedJwt) {
    /// if jwt.has_scope("admin") { /* ... */ }
    /// # }
    /// ```
    pub fn has_scope(&self, scope: &str) -> bool {
        Scopes::parse(&self.0.payload).is_ok_and(|s| s.contains(scope))
    }

    /// Every scope the token grants (`scope` then `scp`).
    ///
    /// ```
    /// # fn f(jwt: axum_oidc_client::bearer::VerifiedJwt) {
    /// for scope in jwt.scopes() { println!("{scope}"); }
    /// # }
    /// ```
    pub fn scopes(&self) -> Vec<String> {
        Scopes::parse(&self.0.payload)
            .map(|s| s.iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Whether the token grants every scope in `required`. `Err` when `scope`/`scp`
    /// is not a string or an array of strings.
    pub(crate) fn check_scopes(
        &self,
        required: &[Box<str>],
    ) -> Result<bool, super::error::BearerError> {
        let scopes = Scopes::parse(&self.0.payload)?;
        Ok(required.iter().all(|r| scopes.contains(r)))
    }
}
