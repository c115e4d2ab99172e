//! The session policy: idle and absolute timeouts, how often activity is written back,
//! and how early tokens are refreshed. Pure arithmetic on a record and a clock reading.

use std::time::Duration;

use super::SessionRecord;

/// How long a session lives and when its access token is refreshed.
///
/// - **Idle timeout**: a session unused for this long ends (its `last_seen` is
///   written back at most every [`touch_interval`](Self::touch_interval)).
/// - **Absolute timeout** (`max_age`): a session ends this long after its login,
///   however active.
/// - **Refresh margin**: an access token is refreshed this long before it expires.
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::SessionPolicy;
///
/// let policy = SessionPolicy::new(Duration::from_secs(3600), Duration::from_secs(12 * 3600))
///     .with_refresh_margin(Duration::from_secs(30));
/// assert_eq!(policy.touch_interval(), 300);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    idle_timeout: Duration,
    max_age: Duration,
    refresh_margin: Duration,
}

impl SessionPolicy {
    /// A policy with these timeouts and a 30 s refresh margin. The idle timeout is
    /// capped at the absolute one.
    pub fn new(idle_timeout: Duration, max_age: Duration) -> Self {
        Self {
            idle_timeout: idle_timeout.min(max_age),
            max_age,
            refresh_margin: Duration::from_secs(30),
        }
    }

    /// Refresh access tokens this long before they expire.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The absolute timeout, counted from the login.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// How early access tokens are refreshed.
    pub fn refresh_margin(&self) -> Duration {
        self.refresh_margin
    }

    /// Seconds the session may still live at `now`: the earlier of the idle and the
    /// absolute deadline. Zero or less means it has ended.
    pub fn remaining(&self, record: &SessionRecord, now: i64) -> i64 {
        let idle_deadline = record.last_seen + self.idle_timeout.as_secs() as i64;
        let absolute_deadline = record.created_at + self.max_age.as_secs() as i64;
        idle_deadline.min(absolute_deadline) - now
    }

    /// How often `last_seen` is written back: a tenth of the idle timeout, between
    /// 1 s and 5 min. The idle timeout is enforced to within this interval.
    pub fn touch_interval(&self) -> i64 {
        (self.idle_timeout.as_secs() as i64 / 10).clamp(1, 300)
    }

    /// Whether the record's access token stays valid for at least the refresh margin.
    pub fn is_fresh(&self, record: &SessionRecord, now: i64) -> bool {
        record.tokens.expires_at - self.refresh_margin.as_secs() as i64 > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::record;

    const NOW: i64 = 1_800_000_000;

    fn policy() -> SessionPolicy {
        SessionPolicy::new(Duration::from_secs(600), Duration::from_secs(3600))
    }

    #[test]
    fn an_idle_session_ends_after_the_idle_timeout() {
        let mut r = record("alice", None);
        r.created_at = NOW;
        r.last_seen = NOW;
        assert_eq!(policy().remaining(&r, NOW + 599), 1);
        assert!(policy().remaining(&r, NOW + 600) <= 0);
    }

    #[test]
    fn an_active_session_ends_at_the_absolute_timeout() {
        let mut r = record("alice", None);
        r.created_at = NOW;
        r.last_seen = NOW + 3500;
        assert_eq!(policy().remaining(&r, NOW + 3550), 50);
        assert!(policy().remaining(&r, NOW + 3600) <= 0);
    }

    #[test]
    fn the_idle_timeout_never_exceeds_the_absolute_one() {
        let p = SessionPolicy::new(Duration::from_secs(7200), Duration::from_secs(3600));
        assert_eq!(p.idle_timeout(), Duration::from_secs(3600));
    }

    #[test]
    fn the_touch_interval_is_a_tenth_of_the_idle_timeout_within_bounds() {
        assert_eq!(policy().touch_interval(), 60);
        let short = SessionPolicy::new(Duration::from_secs(5), Duration::from_secs(3600));
        assert_eq!(short.touch_interval(), 1);
        let long = SessionPolicy::new(Duration::from_secs(86400), Duration::from_secs(86400));
        assert_eq!(long.touch_interval(), 300);
    }

    #[test]
    fn a_token_is_refreshed_within_the_margin_of_its_expiry() {
        let mut r = record("alice", None);
        r.tokens.expires_at = NOW + 30;
        assert!(!policy().is_fresh(&r, NOW));
        assert!(policy().is_fresh(&r, NOW - 1));
    }
}
