//! The time claims of a JWT with a leeway for clock skew: `exp` (RFC 7519 section
//! 4.1.4), `nbf` (section 4.1.5) and `iat` (section 4.1.6; OIDC Core 3.1.3.7 steps 9
//! and 10). One set of rules for ID tokens, logout tokens and bearer access tokens;
//! each caller maps a [`TimeError`] to its own error.

use std::time::Duration;

/// Which time rule a token fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// `exp` has passed, beyond the leeway.
    #[error("expired")]
    Expired,
    /// `nbf` lies in the future, beyond the leeway.
    #[error("not yet valid")]
    NotYetValid,
    /// `iat` lies in the future, beyond the leeway.
    #[error("issued in the future")]
    IssuedInFuture,
    /// `iat` is older than the accepted age plus the leeway.
    #[error("issued too long ago")]
    IssuedTooLongAgo,
}

/// The current time and the tolerated clock skew, in seconds.
///
/// ```
/// use axum_oidc_client::__private::jose::time::{TimeError, TimeRules};
/// let t = TimeRules::new(1_000, std::time::Duration::from_secs(60));
/// assert_eq!(t.check_exp(941), Ok(()));
/// assert_eq!(t.check_exp(940), Err(TimeError::Expired));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRules {
    /// Now, seconds since the epoch.
    pub now: i64,
    /// Clock skew tolerated, seconds.
    pub leeway: i64,
}

impl TimeRules {
    /// Rules at `now` with `leeway`.
    pub fn new(now: i64, leeway: Duration) -> Self {
        Self {
            now,
            leeway: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// `exp` must lie after `now - leeway` (RFC 7519 section 4.1.4; OIDC Core
    /// 3.1.3.7 step 9).
    pub fn check_exp(&self, exp: i64) -> Result<(), TimeError> {
        if self.now.saturating_sub(self.leeway) >= exp {
            Err(TimeError::Expired)
        } else {
            Ok(())
        }
    }

    /// `nbf` must lie at or before `now + leeway` (RFC 7519 section 4.1.5).
    pub fn check_nbf(&self, nbf: i64) -> Result<(), TimeError> {
        if self.now.saturating_add(self.leeway) < nbf {
            Err(TimeError::NotYetValid)
        } else {
            Ok(())
        }
    }

    /// `iat` must not lie after `now + leeway` (OIDC Core 3.1.3.7 step 10) and, with
    /// `max_age`, not before `now - max_age - leeway`.
    pub fn check_iat(&self, iat: i64, max_age: Option<Duration>) -> Result<(), TimeError> {
        if iat > self.now.saturating_add(self.leeway) {
            return Err(TimeError::IssuedInFuture);
        }
        if let Some(max_age) = max_age {
            let age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            if iat < self.now.saturating_sub(age.saturating_add(self.leeway)) {
                return Err(TimeError::IssuedTooLongAgo);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TimeRules = TimeRules {
        now: 1_000,
        leeway: 30,
    };

    #[test]
    fn exp_passes_until_the_leeway_is_used_up() {
        assert_eq!(T.check_exp(971), Ok(()));
        assert_eq!(T.check_exp(970), Err(TimeError::Expired));
        assert_eq!(T.check_exp(i64::MIN), Err(TimeError::Expired));
        assert_eq!(T.check_exp(i64::MAX), Ok(()));
    }

    #[test]
    fn nbf_may_lie_up_to_the_leeway_in_the_future() {
        assert_eq!(T.check_nbf(1_030), Ok(()));
        assert_eq!(T.check_nbf(1_031), Err(TimeError::NotYetValid));
    }

    #[test]
    fn iat_may_lie_up_to_the_leeway_in_the_future_and_not_beyond_the_max_age() {
        assert_eq!(T.check_iat(1_030, None), Ok(()));
        assert_eq!(T.check_iat(1_031, None), Err(TimeError::IssuedInFuture));
        let age = Some(Duration::from_secs(100));
        assert_eq!(T.check_iat(870, age), Ok(()));
        assert_eq!(T.check_iat(869, age), Err(TimeError::IssuedTooLongAgo));
        assert_eq!(T.check_iat(i64::MIN, None), Ok(()));
        assert_eq!(
            T.check_iat(0, Some(Duration::MAX)),
            Ok(()),
            "no overflow with a huge max age"
        );
    }
}
