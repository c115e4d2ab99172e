//! What anonymous callbacks can make this process send to the provider.
//!
//! The login cookie that lets a callback reach the code exchange is free
//! (`GET /auth/login`), so the exchange is the first step that costs anything. Two
//! bounds hold before it, both in memory and without touching the session store:
//!
//! - **One exchange per login `state`** (RFC 6749 section 10.5: a code is used once).
//!   While an exchange for a `state` runs, further callbacks for that `state` are
//!   refused as replays instead of starting their own; once it has run, the `state`
//!   is remembered as used until its login cookie has expired, so a replay in this
//!   process never reaches the provider again. Only an exchange that failed through
//!   the provider's fault (unreachable, 5xx) leaves the `state` usable for a retry.
//! - **At most [`MAX_CODE_EXCHANGES_IN_FLIGHT`] exchanges at once per token endpoint.**
//!   Beyond that the callback is answered 503 with `Retry-After` and the provider is
//!   not called.
//!
//! Across instances, a replay is refused by the provider (which redeems a code once)
//! and, should it redeem it again, by the replay marker written to the shared store
//! after a successful exchange.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use sha2::{Digest as _, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Most code exchanges in flight at once towards one token endpoint.
pub const MAX_CODE_EXCHANGES_IN_FLIGHT: usize = 32;

/// Most login states remembered as used; beyond it, expired entries go first, then
/// every used entry (a replay then still meets the provider's one-time code).
const MAX_REMEMBERED_STATES: usize = 65_536;

/// A login `state` with an exchange running, or already exchanged.
enum Slot {
    InFlight,
    /// Used; remembered until this time (seconds since the epoch).
    Used(i64),
}

type StateKey = [u8; 32];

static STATES: LazyLock<Mutex<HashMap<StateKey, Slot>>> = LazyLock::new(Default::default);
static ENDPOINTS: LazyLock<Mutex<HashMap<String, Arc<Semaphore>>>> =
    LazyLock::new(Default::default);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why no exchange may start.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// This `state` is being exchanged or was exchanged already.
    StateUsed,
    /// The token endpoint already has the most exchanges in flight.
    Busy,
}

/// The right to exchange the code of one login `state`. Dropping it records the
/// `state` as used, unless [`ExchangeClaim::retryable`] was called; a cancelled
/// exchange may have redeemed the code, so it counts as used.
pub(crate) struct ExchangeClaim {
    key: StateKey,
    used_until: i64,
    retryable: bool,
    _permit: OwnedSemaphorePermit,
}

impl ExchangeClaim {
    /// The exchange failed through the provider's fault: the code may still be good,
    /// so a retry of the same callback may exchange it.
    pub(crate) fn retryable(&mut self) {
        self.retryable = true;
    }
}

impl Drop for ExchangeClaim {
    fn drop(&mut self) {
        let mut states = lock(&STATES);
        if self.retryable {
            states.remove(&self.key);
        } else {
            states.insert(self.key, Slot::Used(self.used_until));
        }
    }
}

/// Claims the single exchange of `state` towards `token_endpoint`. `used_until` is
/// when the login cookie of `state` expires, after which the callback is refused
/// anyway; `now` is the current time, for forgetting expired entries.
pub(crate) fn claim_exchange(
    state: &str,
    token_endpoint: &str,
    used_until: i64,
    now: i64,
) -> Result<ExchangeClaim, Refusal> {
    let key: StateKey = Sha256::digest(state.as_bytes()).into();
    let mut states = lock(&STATES);
    match states.get(&key) {
        Some(Slot::InFlight) => return Err(Refusal::StateUsed),
        Some(Slot::Used(until)) if *until >= now => return Err(Refusal::StateUsed),
        _ => {}
    }
    let permit = lock(&ENDPOINTS)
        .entry(token_endpoint.to_owned())
        .or_insert_with(|| Arc::new(Semaphore::new(MAX_CODE_EXCHANGES_IN_FLIGHT)))
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refusal::Busy)?;
    if states.len() >= MAX_REMEMBERED_STATES {
        states.retain(|_, slot| match slot {
            Slot::InFlight => true,
            Slot::Used(until) => *until >= now,
        });
        if states.len() >= MAX_REMEMBERED_STATES {
            states.retain(|_, slot| matches!(slot, Slot::InFlight));
        }
    }
    states.insert(key, Slot::InFlight);
    Ok(ExchangeClaim {
        key,
        used_until,
        retryable: false,
        _permit: permit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENDPOINT: &str = "https://op.example/gate-tests/token";

    #[test]
    fn a_state_is_exchanged_once_unless_the_provider_failed() {
        let claim = claim_exchange("gate-state-1", ENDPOINT, 100, 0).unwrap();
        assert_eq!(
            claim_exchange("gate-state-1", ENDPOINT, 100, 0).err(),
            Some(Refusal::StateUsed),
            "while in flight"
        );
        drop(claim);
        assert_eq!(
            claim_exchange("gate-state-1", ENDPOINT, 100, 50).err(),
            Some(Refusal::StateUsed),
            "once used"
        );
        assert!(
            claim_exchange("gate-state-1", ENDPOINT, 100, 101).is_ok(),
            "expired"
        );

        let mut failed = claim_exchange("gate-state-2", ENDPOINT, 100, 0).unwrap();
        failed.retryable();
        drop(failed);
        assert!(claim_exchange("gate-state-2", ENDPOINT, 100, 0).is_ok());
    }

    #[test]
    fn exchanges_in_flight_per_token_endpoint_are_bounded() {
        let endpoint = "https://op.example/gate-bound/token";
        let claims: Vec<_> = (0..MAX_CODE_EXCHANGES_IN_FLIGHT)
            .map(|i| claim_exchange(&format!("bound-{i}"), endpoint, 100, 0).unwrap())
            .collect();
        assert_eq!(
            claim_exchange("bound-extra", endpoint, 100, 0).err(),
            Some(Refusal::Busy)
        );
        assert!(claim_exchange("bound-other", "https://op.example/other", 100, 0).is_ok());
        drop(claims);
        assert!(
            claim_exchange("bound-extra", endpoint, 100, 0).is_ok(),
            "a refused state stays usable"
        );
    }
}
