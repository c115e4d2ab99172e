//! Step-up rules: how recent the end-user's authentication must be (`max_age`) and
//! how strong (`acr_values`), OIDC Core 3.1.2.1 and 3.1.3.7 steps 11-12, with the
//! RFC 9470 challenge for API callers.
//!
//! [`StepUp::check`] is a pure function of the claims, the clock and the leeway: the
//! route layer ([`step_up`](super::step_up)), the login callback and the bearer layer
//! all apply it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::id_token::IdTokenClaims;

/// Most `acr_values` a step-up may ask for.
pub const MAX_ACR_VALUES: usize = 8;
/// Longest `acr` value accepted, bytes.
pub const MAX_ACR_LEN: usize = 128;
/// Largest `max_age` a login request may carry, seconds (about 136 years: any value
/// only makes the login stricter).
pub const MAX_MAX_AGE: u64 = u32::MAX as u64;

/// How recent and how strong the end-user's authentication must be: OIDC Core
/// 3.1.2.1 `max_age` (seconds since `auth_time`) and `acr_values` (the accepted
/// Authentication Context Class References, most preferred first).
///
/// Build it with [`max_age`] or [`acr_values`], combine with
/// [`and_max_age`](Self::and_max_age) / [`and_acr_values`](Self::and_acr_values), and
/// put it on a route with [`step_up`](super::step_up) (sessions) or
/// [`JwtLayer::require_step_up`](crate::bearer::JwtLayer::require_step_up) (bearer
/// tokens). Failing it is not a 403: a browser logs in again with these parameters,
/// an API caller gets 401 `insufficient_user_authentication` (RFC 9470).
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::access::{StepUpError, max_age};
///
/// let fresh = max_age(Duration::from_secs(300)).and_acr_values(["urn:example:mfa"]);
/// let claims = serde_json::from_value(serde_json::json!({
///     "iss": "https://op.example", "sub": "alice", "aud": "app", "exp": 2_000, "iat": 1_000,
///     "auth_time": 1_000, "acr": "urn:example:mfa"
/// })).unwrap();
/// assert_eq!(fresh.check(&claims, 1_200, Duration::ZERO), Ok(()));
/// assert_eq!(fresh.check(&claims, 1_400, Duration::ZERO), Err(StepUpError::LoginTooOld));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct StepUp {
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    max_age: Option<u64>,
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    acr_values: Vec<String>,
}

/// Why an authentication does not meet a [`StepUp`]: one variant per rule.
///
/// ```
/// use axum_oidc_client::access::StepUpError;
///
/// assert_eq!(StepUpError::MissingAuthTime.to_string(), "auth_time is missing although max_age was requested");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepUpError {
    /// `max_age` was requested and the claims carry no `auth_time` (OIDC Core 2:
    /// REQUIRED then; 3.1.3.7 step 12).
    #[error("auth_time is missing although max_age was requested")]
    MissingAuthTime,
    /// `auth_time` lies in the future beyond the leeway.
    #[error("auth_time is in the future")]
    AuthTimeInFuture,
    /// The authentication is older than `max_age` (plus the leeway).
    #[error("the authentication is older than max_age")]
    LoginTooOld,
    /// `acr_values` were requested and the claims carry no `acr` (OIDC Core
    /// 3.1.3.7 step 11).
    #[error("acr is missing although acr_values were requested")]
    MissingAcr,
    /// The `acr` is none of the requested values: a weaker authentication.
    #[error("acr is not one of the requested values")]
    AcrNotAccepted,
}

/// A [`StepUp`] requiring an authentication at most `age` old (OIDC Core 3.1.2.1
/// `max_age`, whole seconds; `Duration::ZERO` asks for a login on every visit).
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::access::max_age;
///
/// assert_eq!(max_age(Duration::from_secs(300)).max_age(), Some(Duration::from_secs(300)));
/// ```
pub fn max_age(age: Duration) -> StepUp {
    StepUp::default().and_max_age(age)
}

/// A [`StepUp`] requiring an `acr` among `values` (OIDC Core 3.1.2.1 `acr_values`).
///
/// # Panics
///
/// When `values` is empty or longer than [`MAX_ACR_VALUES`], or a value is empty,
/// longer than [`MAX_ACR_LEN`], or holds a character outside printable ASCII, a
/// space, `"` or `\`.
///
/// ```
/// use axum_oidc_client::access::acr_values;
///
/// let mfa = acr_values(["urn:example:mfa", "urn:example:hwk"]);
/// assert_eq!(mfa.acr_values(), ["urn:example:mfa", "urn:example:hwk"]);
/// ```
pub fn acr_values<I, S>(values: I) -> StepUp
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    StepUp::default().and_acr_values(values)
}

/// Whether `value` may be an `acr` value here: it must fit a space-separated list and
/// a quoted header parameter.
pub(crate) fn valid_acr(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_ACR_LEN
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl StepUp {
    /// Also requires an authentication at most `age` old (whole seconds, capped at
    /// [`MAX_MAX_AGE`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::access::acr_values;
    ///
    /// let rule = acr_values(["urn:example:mfa"]).and_max_age(Duration::from_secs(60));
    /// assert_eq!(rule.max_age(), Some(Duration::from_secs(60)));
    /// ```
    pub fn and_max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age.as_secs().min(MAX_MAX_AGE));
        self
    }

    /// Also requires an `acr` among `values` (replacing earlier ones).
    ///
    /// # Panics
    ///
    /// As [`acr_values`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::access::max_age;
    ///
    /// let rule = max_age(Duration::from_secs(60)).and_acr_values(["urn:example:mfa"]);
    /// assert_eq!(rule.acr_values(), ["urn:example:mfa"]);
    /// ```
    pub fn and_acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let values: Vec<String> = values.into_iter().map(|v| v.as_ref().to_owned()).collect();
        assert!(
            !values.is_empty() && values.len() <= MAX_ACR_VALUES,
            "acr_values needs 1 to {MAX_ACR_VALUES} values"
        );
        for v in &values {
            assert!(valid_acr(v), "invalid acr value {v:?}");
        }
        self.acr_values = values;
        self
    }

    /// The required recency, if any.
    ///
    /// ```
    /// use axum_oidc_client::access::acr_values;
    ///
    /// assert_eq!(acr_values(["urn:example:mfa"]).max_age(), None);
    /// ```
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age.map(Duration::from_secs)
    }

    /// The accepted `acr` values (empty when any will do).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::access::max_age;
    ///
    /// assert!(max_age(Duration::from_secs(1)).acr_values().is_empty());
    /// ```
    pub fn acr_values(&self) -> &[String] {
        &self.acr_values
    }

    /// Whether the rule asks for nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.max_age.is_none() && self.acr_values.is_empty()
    }

    /// Whether `claims` meet the rule at `now` (seconds since the epoch), with
    /// `leeway` for clock skew, and if not, which rule failed:
    ///
    /// - with `max_age`: `auth_time` must be present (OIDC Core 2), not in the future,
    ///   and at most `max_age` seconds old (3.1.3.7 step 12);
    /// - with `acr_values`: `acr` must be one of them (3.1.3.7 step 11; a weaker
    ///   class is refused).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::access::{StepUpError, acr_values};
    ///
    /// let mfa = acr_values(["urn:example:mfa"]);
    /// let pwd = serde_json::from_value(serde_json::json!({
    ///     "iss": "i", "sub": "s", "aud": "a", "exp": 9, "iat": 1, "acr": "urn:example:pwd"
    /// })).unwrap();
    /// assert_eq!(mfa.check(&pwd, 5, Duration::ZERO), Err(StepUpError::AcrNotAccepted));
    /// ```
    pub fn check(
        &self,
        claims: &IdTokenClaims,
        now: i64,
        leeway: Duration,
    ) -> Result<(), StepUpError> {
        self.check_parts(claims.auth_time, claims.additional.get("acr"), now, leeway)
    }

    /// [`check`](Self::check) on any JSON claims set, such as an access token's
    /// (RFC 9470 section 4: `auth_time` and `acr` in a JWT access token). An
    /// `auth_time` that is not an integer counts as missing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_oidc_client::access::{StepUpError, max_age};
    /// use serde_json::json;
    ///
    /// let rule = max_age(Duration::from_secs(60));
    /// assert_eq!(rule.check_json(&json!({"auth_time": 100}), 150, Duration::ZERO), Ok(()));
    /// assert_eq!(rule.check_json(&json!({"auth_time": "100"}), 150, Duration::ZERO), Err(StepUpError::MissingAuthTime));
    /// ```
    pub fn check_json(
        &self,
        claims: &serde_json::Value,
        now: i64,
        leeway: Duration,
    ) -> Result<(), StepUpError> {
        let auth_time = claims.get("auth_time").and_then(serde_json::Value::as_i64);
        self.check_parts(auth_time, claims.get("acr"), now, leeway)
    }

    fn check_parts(
        &self,
        auth_time: Option<i64>,
        acr: Option<&serde_json::Value>,
        now: i64,
        leeway: Duration,
    ) -> Result<(), StepUpError> {
        let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
        if let Some(max_age) = self.max_age {
            let auth_time = auth_time.ok_or(StepUpError::MissingAuthTime)?;
            if auth_time > now.saturating_add(leeway) {
                return Err(StepUpError::AuthTimeInFuture);
            }
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            if now.saturating_sub(auth_time) > max_age.saturating_add(leeway) {
                return Err(StepUpError::LoginTooOld);
            }
        }
        if !self.acr_values.is_empty() {
            let acr = match acr {
                None | Some(serde_json::Value::Null) => return Err(StepUpError::MissingAcr),
                Some(v) => v.as_str().ok_or(StepUpError::AcrNotAccepted)?,
            };
            if !self.acr_values.iter().any(|v| v == acr) {
                return Err(StepUpError::AcrNotAccepted);
            }
        }
        Ok(())
    }

    /// The authorization request parameters (OIDC Core 3.1.2.1): `max_age` and
    /// `acr_values` (space-separated).
    pub(crate) fn request_params(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let max_age = self.max_age.map(|m| ("max_age", m.to_string()));
        let acr = (!self.acr_values.is_empty()).then(|| ("acr_values", self.acr_values.join(" ")));
        max_age.into_iter().chain(acr)
    }

    /// Reads the step-up a login request asks for from its query: `max_age` (a whole
    /// number up to [`MAX_MAX_AGE`]) and `acr_values` (up to [`MAX_ACR_VALUES`] valid
    /// values). Anyone can send these, and they only make the login stricter, so a
    /// malformed parameter is ignored rather than refused. `None` when neither is set.
    pub(crate) fn from_login_query(query: &str) -> Option<Self> {
        let mut rule = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "max_age" => {
                    rule.max_age = v.parse::<u64>().ok().filter(|m| *m <= MAX_MAX_AGE);
                }
                "acr_values" => {
                    let values: Vec<String> = v.split(' ').map(str::to_owned).collect();
                    rule.acr_values =
                        if values.len() <= MAX_ACR_VALUES && values.iter().all(|v| valid_acr(v)) {
                            values
                        } else {
                            Vec::new()
                        };
                }
                _ => {}
            }
        }
        (!rule.is_empty()).then_some(rule)
    }

    /// The RFC 9470 section 3 challenge parameters after `error`: `acr_values` and
    /// `max_age`, quoted.
    pub(crate) fn challenge_params(&self) -> String {
        let mut c = String::new();
        if !self.acr_values.is_empty() {
            c.push_str(", acr_values=\"");
            c.push_str(&self.acr_values.join(" "));
            c.push('"');
        }
        if let Some(m) = self.max_age {
            c.push_str(", max_age=\"");
            c.push_str(&m.to_string());
            c.push('"');
        }
        c
    }
}

impl fmt::Debug for StepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepUp")
            .field("max_age", &self.max_age)
            .field("acr_values", &self.acr_values)
            .finish()
    }
}

#[cfg(test)]
#[path = "step_up_tests.rs"]
mod tests;
