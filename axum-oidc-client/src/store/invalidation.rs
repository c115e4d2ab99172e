//! The invalidation channel: how one instance tells the local tiers of the others
//! that a session changed, so a revocation is not bounded by the local TTL.
//!
//! A [`TwoTierStore`](super::TwoTierStore) with a channel publishes an
//! [`Invalidation`] after every write or removal it makes in the shared tier, and
//! drops what the others publish from its own local tier. Each shared backend has
//! its own channel:
//!
//! | store | channel |
//! |---|---|
//! | Redis (single, Cluster, Sentinel) | pub/sub |
//! | PostgreSQL | `LISTEN` / `NOTIFY` |
//! | MySQL / MariaDB, SQLite | a revocation log table, polled |
//!
//! Messages are at most once: a subscription that drops loses what was published
//! meanwhile. The local tier therefore flushes itself whenever it subscribes again,
//! and while it is down its TTL is the bound (see
//! [`InvalidationHealth`]). [`LocalChannel`] is an in-process channel for tests and
//! single-host setups.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use super::StoreError;
use crate::session::SessionKey;

/// What the other instances must drop from their local tier.
///
/// Dropping more than needed is always safe (the next read goes to the shared
/// tier), so a subscriber may widen a message but never narrow it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation {
    /// One session, written, replaced (refreshed) or removed.
    Session(SessionKey),
    /// Every session with this provider session id (back-channel logout).
    Sid(String),
    /// Every session of this subject (back-channel logout, "sign out everywhere").
    Sub(String),
    /// Everything.
    All,
}

/// The version tag every message starts with.
const WIRE_V1: &str = "v1";

impl Invalidation {
    /// The message published for this invalidation, sent by `origin` (an instance
    /// id without spaces, so an instance can skip its own messages).
    ///
    /// ```
    /// use axum_oidc_client::store::{Invalidation, SessionKey};
    ///
    /// let m = Invalidation::Sub("alice smith".into()).encode("i-1");
    /// assert_eq!(m, "v1 i-1 sub alice smith");
    /// let (origin, decoded) = Invalidation::decode(&m).unwrap();
    /// assert_eq!((origin, decoded), ("i-1", Invalidation::Sub("alice smith".into())));
    /// ```
    pub fn encode(&self, origin: &str) -> String {
        let (kind, value) = match self {
            Self::Session(key) => ("key", key.as_str()),
            Self::Sid(sid) => ("sid", sid.as_str()),
            Self::Sub(sub) => ("sub", sub.as_str()),
            Self::All => ("all", ""),
        };
        format!("{WIRE_V1} {origin} {kind} {value}")
    }

    /// Reads a message back: its origin and what to drop. `None` for anything else
    /// (another version, a foreign message on the same channel), which the
    /// subscriber ignores.
    ///
    /// ```
    /// use axum_oidc_client::store::Invalidation;
    ///
    /// assert_eq!(Invalidation::decode("v1 i-2 all "), Some(("i-2", Invalidation::All)));
    /// assert_eq!(Invalidation::decode("v9 i-2 all "), None);
    /// assert_eq!(Invalidation::decode("v1 i-2 key "), None, "an empty key names nothing");
    /// ```
    pub fn decode(message: &str) -> Option<(&str, Self)> {
        let mut parts = message.splitn(4, ' ');
        if parts.next()? != WIRE_V1 {
            return None;
        }
        let origin = parts.next().filter(|o| !o.is_empty())?;
        let kind = parts.next()?;
        let value = parts.next()?;
        let named = || Some(value.to_owned()).filter(|v| !v.is_empty());
        let invalidation = match kind {
            "key" => Self::Session(SessionKey::from_stored(named()?)),
            "sid" => Self::Sid(named()?),
            "sub" => Self::Sub(named()?),
            "all" => Self::All,
            _ => return None,
        };
        Some((origin, invalidation))
    }
}

/// The messages of one subscription, in the order the channel delivers them.
///
/// The stream ending, or yielding an error, means the subscription dropped: the
/// subscriber flushes its local tier and subscribes again with backoff.
pub type Subscription = BoxStream<'static, Result<String, StoreError>>;

/// A broadcast channel between the instances sharing a store.
///
/// Delivery is at most once and to every subscriber, including the publishing
/// instance's own (which skips it by its origin).
#[async_trait]
pub trait InvalidationChannel: Send + Sync + 'static {
    /// Sends one message to every current subscriber.
    async fn publish(&self, message: &str) -> Result<(), StoreError>;

    /// Opens a subscription. It is active when this returns: every message
    /// published afterwards is delivered, unless the subscription drops.
    async fn subscribe(&self) -> Result<Subscription, StoreError>;

    /// What the channel is, for logs and health: for example
    /// `Redis pub/sub "axum_oidc:invalidate"`.
    fn describe(&self) -> String;
}

/// The name the rest of the crate uses for a shared channel.
pub type SharedChannel = Arc<dyn InvalidationChannel>;

/// How the invalidation channel of a [`TwoTierStore`](super::TwoTierStore) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidationHealth {
    /// Subscribed: revocations made elsewhere reach the local tier at once.
    Up {
        /// The channel.
        channel: String,
    },
    /// Not subscribed: a session revoked elsewhere keeps working here for up to the
    /// local TTL. The subscriber retries with backoff.
    Down {
        /// The channel.
        channel: String,
        /// Failed attempts since it was last up.
        failed_attempts: u32,
        /// The last error, with its causes.
        last_error: String,
    },
}

impl InvalidationHealth {
    /// Whether the channel is subscribed.
    ///
    /// ```
    /// use axum_oidc_client::store::InvalidationHealth;
    ///
    /// let up = InvalidationHealth::Up { channel: "test".into() };
    /// assert!(up.is_up());
    /// ```
    pub fn is_up(&self) -> bool {
        matches!(self, Self::Up { .. })
    }
}

/// An in-process [`InvalidationChannel`] on a tokio broadcast channel: for tests,
/// and for several local tiers in one process.
///
/// [`drop_subscriptions`](Self::drop_subscriptions) ends every open subscription,
/// as a store's connection loss would.
///
/// ```
/// use axum_oidc_client::store::{InvalidationChannel, LocalChannel};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
/// let channel = LocalChannel::default();
/// let mut messages = channel.subscribe().await?;
/// channel.publish("hello").await?;
/// assert_eq!(messages.next().await.unwrap()?, "hello");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LocalChannel {
    inner: Arc<LocalInner>,
}

struct LocalInner {
    messages: tokio::sync::broadcast::Sender<Arc<str>>,
    /// Bumped to end every open subscription.
    generation: tokio::sync::watch::Sender<u64>,
    /// Whether `subscribe` and `publish` fail, as a store that is down.
    down: std::sync::atomic::AtomicBool,
}

impl Default for LocalChannel {
    fn default() -> Self {
        Self {
            inner: Arc::new(LocalInner {
                messages: tokio::sync::broadcast::channel(4096).0,
                generation: tokio::sync::watch::channel(0).0,
                down: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }
}

impl std::fmt::Debug for LocalChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChannel").finish_non_exhaustive()
    }
}

impl LocalChannel {
    /// Ends every open subscription, as a dropped connection would.
    ///
    /// ```
    /// use axum_oidc_client::store::{InvalidationChannel, LocalChannel};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
    /// let channel = LocalChannel::default();
    /// let mut messages = channel.subscribe().await?;
    /// channel.drop_subscriptions();
    /// assert!(messages.next().await.is_none());
    /// # Ok(()) }
    /// ```
    pub fn drop_subscriptions(&self) {
        self.inner.generation.send_modify(|g| *g += 1);
    }

    /// Makes `subscribe` and `publish` fail (`true`) or work again (`false`), and
    /// ends the open subscriptions when going down.
    ///
    /// ```
    /// use axum_oidc_client::store::{InvalidationChannel, LocalChannel};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let channel = LocalChannel::default();
    /// channel.set_down(true);
    /// assert!(channel.subscribe().await.is_err());
    /// # }
    /// ```
    pub fn set_down(&self, down: bool) {
        self.inner
            .down
            .store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            self.drop_subscriptions();
        }
    }

    fn check_up(&self) -> Result<(), StoreError> {
        if self.inner.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::unavailable(std::io::Error::other(
                "local channel is down",
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl InvalidationChannel for LocalChannel {
    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        self.check_up()?;
        // No subscriber is not an error: nobody has anything to drop.
        let _ = self.inner.messages.send(Arc::from(message));
        Ok(())
    }

    async fn subscribe(&self) -> Result<Subscription, StoreError> {
        self.check_up()?;
        let messages = self.inner.messages.subscribe();
        let mut generation = self.inner.generation.subscribe();
        generation.mark_unchanged();
        let stream = futures_util::stream::unfold(
            (messages, generation),
            |(mut messages, mut generation)| async move {
                let item = tokio::select! {
                    _ = generation.changed() => return None,
                    received = messages.recv() => match received {
                        Ok(m) => Ok(m.to_string()),
                        // Messages were lost: the subscription is no longer complete.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            let e = std::io::Error::other(format!("{n} messages lost"));
                            Err(StoreError::unavailable(e))
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    },
                };
                Some((item, (messages, generation)))
            },
        );
        Ok(Box::pin(stream))
    }

    fn describe(&self) -> String {
        "in-process channel".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn every_invalidation_round_trips() {
        for inv in [
            Invalidation::Session(SessionKey::from_stored("abc-_")),
            Invalidation::Sid("s 1".into()),
            Invalidation::Sub("user@example.com".into()),
            Invalidation::All,
        ] {
            let m = inv.encode("origin-1");
            assert_eq!(Invalidation::decode(&m), Some(("origin-1", inv)), "{m}");
        }
    }

    #[test]
    fn foreign_messages_are_ignored() {
        for m in [
            "",
            "v1",
            "v1 o",
            "v1 o key",
            "v1  key k",
            "v2 o key k",
            "v1 o drop k",
            "v1 o sid ",
        ] {
            assert_eq!(Invalidation::decode(m), None, "{m:?}");
        }
    }

    #[tokio::test]
    async fn a_local_channel_delivers_to_every_subscriber_until_dropped() {
        let channel = LocalChannel::default();
        let mut a = channel.subscribe().await.unwrap();
        let mut b = channel.subscribe().await.unwrap();
        channel.publish("m1").await.unwrap();
        assert_eq!(a.next().await.unwrap().unwrap(), "m1");
        assert_eq!(b.next().await.unwrap().unwrap(), "m1");
        channel.drop_subscriptions();
        assert!(a.next().await.is_none());
        // A new subscription works.
        let mut c = channel.subscribe().await.unwrap();
        channel.publish("m2").await.unwrap();
        assert_eq!(c.next().await.unwrap().unwrap(), "m2");
    }

    #[tokio::test]
    async fn a_channel_that_is_down_refuses_and_ends_subscriptions() {
        let channel = LocalChannel::default();
        let mut a = channel.subscribe().await.unwrap();
        channel.set_down(true);
        assert!(a.next().await.is_none());
        assert!(channel.publish("x").await.is_err());
        assert!(channel.subscribe().await.is_err());
        channel.set_down(false);
        assert!(channel.subscribe().await.is_ok());
    }
}
