//! A bounded set of recently seen `jti` values, for the single-use rules of
//! DPoP proofs (RFC 9449 section 11.1) and client assertions (RFC 7523
//! section 3 point 7).

use std::collections::HashMap;
use std::time::SystemTime;

/// How many `jti`s are remembered at most. When full (after dropping the
/// expired ones), new ones are refused rather than old ones forgotten: a
/// development provider fails closed.
pub(crate) const MAX_REMEMBERED: usize = 100_000;

/// `jti`s with the time until which they must be remembered, at most
/// `capacity` of them.
#[derive(Debug)]
pub(crate) struct ReplaySet {
    seen: HashMap<String, SystemTime>,
    capacity: usize,
}

impl Default for ReplaySet {
    fn default() -> Self {
        Self::with_capacity(MAX_REMEMBERED)
    }
}

/// Why a `jti` was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Seen before.
    Seen,
    /// The set is full.
    Full,
}

impl ReplaySet {
    /// An empty set remembering at most `capacity` values.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            capacity,
        }
    }

    /// Remembers `key` until `until`; fails if it is already remembered or
    /// the set is full.
    pub(crate) fn insert(
        &mut self,
        key: String,
        until: SystemTime,
        now: SystemTime,
    ) -> Result<(), Replay> {
        if self.seen.get(&key).is_some_and(|t| *t > now) {
            return Err(Replay::Seen);
        }
        if self.seen.len() >= self.capacity {
            self.purge(now);
            if self.seen.len() >= self.capacity {
                return Err(Replay::Full);
            }
        }
        self.seen.insert(key, until);
        Ok(())
    }

    /// Forgets what need not be remembered any more.
    pub(crate) fn purge(&mut self, now: SystemTime) {
        self.seen.retain(|_, t| *t > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_jti_is_accepted_once_until_it_may_be_forgotten() {
        let now = SystemTime::now();
        let until = now + Duration::from_secs(10);
        let mut set = ReplaySet::default();
        assert_eq!(set.insert("a".into(), until, now), Ok(()));
        assert_eq!(set.insert("a".into(), until, now), Err(Replay::Seen));
        assert_eq!(set.insert("b".into(), until, now), Ok(()));
        let later = until + Duration::from_secs(1);
        assert_eq!(set.insert("a".into(), later, later), Ok(()));
    }

    #[test]
    fn a_full_set_refuses_new_values_until_old_ones_expire() {
        let now = SystemTime::now();
        let soon = now + Duration::from_secs(1);
        let mut set = ReplaySet::with_capacity(2);
        assert_eq!(set.insert("a".into(), soon, now), Ok(()));
        assert_eq!(set.insert("b".into(), soon, now), Ok(()));
        assert_eq!(set.insert("c".into(), soon, now), Err(Replay::Full));
        let later = soon + Duration::from_secs(1);
        assert_eq!(set.insert("c".into(), later, later), Ok(()));
    }
}
