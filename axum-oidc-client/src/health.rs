//! Readiness: whether the layer can serve logins now ([`Readiness`], from
//! [`AuthenticationLayer::readiness`](crate::AuthenticationLayer::readiness)).

use std::time::Duration;

/// How discovery of the provider stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryHealth {
    /// The endpoints were configured explicitly: nothing to discover.
    Configured,
    /// Discovered `age` ago. `failed_refreshes` counts the failed attempts to fetch
    /// it again since (the last good copy is still used), with the last error.
    Discovered {
        /// Since the last successful discovery.
        age: Duration,
        /// Failed refreshes since.
        failed_refreshes: u32,
        /// The last refresh's error, if it failed.
        last_error: Option<String>,
    },
    /// Not discovered yet: logins answer 503 until it is.
    Pending {
        /// Failed attempts so far.
        failed_attempts: u32,
        /// The last attempt's error, with its causes.
        last_error: Option<String>,
    },
}

/// Whether the session store answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreHealth {
    /// A read answered within the store timeout.
    Reachable,
    /// A read failed or timed out.
    Unreachable {
        /// The error, with its causes (no credentials: store errors never carry them).
        error: String,
    },
}

/// The layer's readiness: the provider's discovery, the store, and the store's
/// invalidation channel.
///
/// A channel that is down does not make the layer unready: sessions still work, and
/// a revocation made on another instance is then bounded by the local tier's TTL
/// instead of arriving at once: [`is_degraded`](Self::is_degraded).
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::{DiscoveryHealth, Readiness, StoreHealth};
/// use axum_oidc_client::store::InvalidationHealth;
///
/// let ready = Readiness {
///     discovery: DiscoveryHealth::Configured,
///     store: StoreHealth::Reachable,
///     invalidation: None,
/// };
/// assert!(ready.is_ready());
/// assert_eq!(ready.reason(), None);
///
/// let pending = Readiness {
///     discovery: DiscoveryHealth::Pending { failed_attempts: 3, last_error: None },
///     store: StoreHealth::Reachable,
///     invalidation: None,
/// };
/// assert_eq!(pending.reason(), Some("discovery_pending"));
///
/// let degraded = Readiness {
///     discovery: DiscoveryHealth::Configured,
///     store: StoreHealth::Reachable,
///     invalidation: Some(InvalidationHealth::Down {
///         channel: "Redis pub/sub".into(),
///         failed_attempts: 2,
///         last_error: "connection refused".into(),
///     }),
/// };
/// assert!(degraded.is_ready() && degraded.is_degraded());
/// assert_eq!(degraded.reason(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The provider's discovery.
    pub discovery: DiscoveryHealth,
    /// The session store.
    pub store: StoreHealth,
    /// The store's invalidation channel, for a two-tier store that has one.
    pub invalidation: Option<crate::store::InvalidationHealth>,
}

impl Readiness {
    /// Whether logins can be served: the provider is known and the store answers.
    pub fn is_ready(&self) -> bool {
        self.reason().is_none()
    }

    /// Whether the layer works with a weaker guarantee: the invalidation channel is
    /// down, so revocations made elsewhere wait for the local TTL.
    pub fn is_degraded(&self) -> bool {
        self.invalidation.as_ref().is_some_and(|i| !i.is_up())
    }

    /// Why not ready, as a stable code: `discovery_pending` or `store_unreachable`.
    pub fn reason(&self) -> Option<&'static str> {
        if matches!(self.discovery, DiscoveryHealth::Pending { .. }) {
            Some("discovery_pending")
        } else if matches!(self.store, StoreHealth::Unreachable { .. }) {
            Some("store_unreachable")
        } else {
            None
        }
    }
}
