//! `jti` replay detection across instances (RFC 9449 section 11.1), through the
//! store's one-time values ([`AuthCache::insert_once`]).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::DpopError;
use super::verify::VerifiedProof;
use crate::store::{AuthCache, StoreError};

/// How long a store call may take before the request is answered 503.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The store value that marks `proof`'s `jti` as used: namespaced, and a hash of
/// the key's thumbprint and the `jti` (so a `jti` is scoped to its key, and neither
/// an attacker-chosen `jti` nor its length reaches the store).
pub(crate) fn replay_marker(proof: &VerifiedProof) -> String {
    let mut h = Sha256::new();
    h.update(proof.jkt.as_bytes());
    h.update([0u8]);
    h.update(proof.jti.as_bytes());
    format!("dpop-jti:{}", URL_SAFE_NO_PAD.encode(h.finalize()))
}

/// Records `proof`'s `jti` for `window`; [`DpopError::Replayed`] when it was
/// recorded already, by this instance or another sharing the store.
pub(crate) async fn remember_jti(
    store: &dyn AuthCache,
    proof: &VerifiedProof,
    window: Duration,
) -> Result<(), DpopError> {
    let marker = replay_marker(proof);
    let first = tokio::time::timeout(STORE_TIMEOUT, store.insert_once(&marker, window))
        .await
        .map_err(|_| DpopError::Store(StoreError::Timeout))?
        .map_err(DpopError::Store)?;
    if first {
        Ok(())
    } else {
        Err(DpopError::Replayed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn proof(jti: &str, jkt: &str) -> VerifiedProof {
        VerifiedProof {
            jti: jti.into(),
            jkt: jkt.into(),
            iat: 0,
        }
    }

    #[tokio::test]
    async fn a_jti_is_accepted_once_then_refused_as_replayed() {
        let store = MemoryStore::default();
        let p = proof("j1", "k1");
        remember_jti(&store, &p, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(matches!(
            remember_jti(&store, &p, Duration::from_secs(60)).await,
            Err(DpopError::Replayed)
        ));
        // The same jti with another key is another proof.
        remember_jti(&store, &proof("j1", "k2"), Duration::from_secs(60))
            .await
            .unwrap();
    }

    #[test]
    fn the_marker_is_namespaced_and_hides_the_jti() {
        let m = replay_marker(&proof("a-very-secret-jti", "k"));
        assert!(m.starts_with("dpop-jti:"));
        assert!(!m.contains("a-very-secret-jti"));
        assert_ne!(m, replay_marker(&proof("a-very-secret-jt", "ik")));
    }
}
