//! Small rules shared by the remote backends (Redis, SQL).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;

use crate::session::{SessionCodec, SessionKey, SessionRecord};

/// Longest TTL written to a remote store: 100 years. Longer durations are clamped so
/// that `now + ttl` fits every backend's integer type.
const MAX_TTL_MS: u128 = 100 * 365 * 24 * 60 * 60 * 1000;

/// A TTL in whole milliseconds, at least 1 (Redis refuses `PX 0`) and at most
/// [`MAX_TTL_MS`].
pub(crate) fn ttl_millis(ttl: Duration) -> i64 {
    // The clamp bounds the value far below i64::MAX, so the cast is lossless.
    ttl.as_millis().clamp(1, MAX_TTL_MS) as i64
}

/// The stored form of a one-time value: its SHA-256, base64url. Fixed length whatever
/// the caller passes, and a consumed `state` never lands in the store as is.
pub(crate) fn once_digest(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(value.as_bytes()))
}

/// Decodes a stored entry. An unreadable one (foreign version, other key, tampered)
/// is absent: the user signs in again, the request does not fail.
pub(crate) fn decode_entry(
    codec: &SessionCodec,
    key: &SessionKey,
    bytes: &[u8],
) -> Option<Arc<SessionRecord>> {
    let record = codec.decode(key, bytes);
    if record.is_none() {
        tracing::debug!("unreadable session entry; treating it as absent");
    }
    record.map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_clamped_to_what_backends_accept() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(300)), 1);
        assert_eq!(ttl_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS as i64);
    }

    #[test]
    fn once_digests_have_a_fixed_length_and_differ_per_value() {
        assert_eq!(once_digest("a").len(), 43);
        assert_eq!(once_digest(&"x".repeat(10_000)).len(), 43);
        assert_ne!(once_digest("a"), once_digest("b"));
    }
}
