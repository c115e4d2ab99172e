//! The local tier's side of the invalidation channel: publishing what this instance
//! changed, and dropping what the others changed.
//!
//! Reads that fill the local tier race with invalidations that arrive meanwhile. The
//! subscriber bumps an epoch *before* it drops anything, and a reader that read the
//! shared tier checks the epoch *after* it stored its copy: if it moved, the copy
//! may predate the invalidation and is dropped again. Dropping too much only costs a
//! read of the shared tier.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;

use crate::store::invalidation::{Invalidation, InvalidationHealth, SharedChannel};
use crate::store::{AuthCache, MemoryStore};

/// Backoff between subscription attempts: doubled from the first to the last.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_LAST: Duration = Duration::from_secs(10);
/// How long creating the store waits for the first subscription.
const FIRST_SUBSCRIBE_WAIT: Duration = Duration::from_secs(3);

/// The channel, this instance's origin and the epoch, shared by the store's clones
/// and (weakly) by the subscriber task.
pub(super) struct Sync {
    channel: SharedChannel,
    origin: String,
    epoch: AtomicU64,
    health: Mutex<InvalidationHealth>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Sync {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sync {
    /// Subscribes (waiting a few seconds for the first subscription) and starts the
    /// task that keeps the subscription up.
    pub(super) async fn start(channel: SharedChannel, l1: MemoryStore) -> Arc<Self> {
        let sync = Arc::new(Self {
            origin: crate::secret::random_token(12),
            health: Mutex::new(InvalidationHealth::Down {
                channel: channel.describe(),
                failed_attempts: 0,
                last_error: "not subscribed yet".into(),
            }),
            channel,
            epoch: AtomicU64::new(0),
            task: Mutex::new(None),
        });
        let first = tokio::time::timeout(FIRST_SUBSCRIBE_WAIT, sync.channel.subscribe()).await;
        let first = match first {
            Ok(Ok(subscription)) => {
                sync.mark_up(false);
                Some(subscription)
            }
            Ok(Err(e)) => {
                sync.mark_down(&crate::observe::error_chain(&e));
                None
            }
            Err(_) => {
                sync.mark_down("the first subscription timed out");
                None
            }
        };
        let task = tokio::spawn(run(Arc::downgrade(&sync), l1, first));
        *lock(&sync.task) = Some(task);
        sync
    }

    /// The epoch, read before a read of the shared tier.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Moves the epoch: a change is being made here.
    pub(super) fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn health(&self) -> InvalidationHealth {
        lock(&self.health).clone()
    }

    /// Tells the other instances; a failure is logged, not returned: the change is
    /// made, and the others' local TTL still bounds how long they serve their copy.
    pub(super) async fn publish(&self, invalidation: Invalidation) {
        let message = invalidation.encode(&self.origin);
        match self.channel.publish(&message).await {
            Ok(()) => crate::observe::invalidation("published"),
            Err(e) => {
                crate::observe::invalidation("publish_failed");
                tracing::warn!(
                    target: "axum_oidc_client::store",
                    reason = "invalidation_not_published",
                    channel = %self.channel.describe(),
                    error = %crate::observe::error_chain(&e),
                    "a session change was not published: other instances may serve their local copy until its TTL ends",
                );
            }
        }
    }

    fn mark_up(&self, again: bool) {
        let channel = self.channel.describe();
        crate::observe::invalidation_channel_up(true);
        if again {
            tracing::info!(
                target: "axum_oidc_client::store",
                channel = %channel,
                "invalidation channel subscribed again; local tier flushed",
            );
        }
        *lock(&self.health) = InvalidationHealth::Up { channel };
    }

    fn mark_down(&self, error: &str) {
        crate::observe::invalidation_channel_up(false);
        let mut health = lock(&self.health);
        let failed_attempts = match &*health {
            InvalidationHealth::Down {
                failed_attempts, ..
            } => failed_attempts + 1,
            _ => 1,
        };
        // Logged when it drops, then once in a while, not at every retry.
        if failed_attempts == 1 || failed_attempts % 20 == 0 {
            tracing::warn!(
                target: "axum_oidc_client::store",
                reason = "invalidation_channel_down",
                channel = %self.channel.describe(),
                failed_attempts,
                error = %error,
                "invalidation channel down: sessions revoked on other instances keep working here until the local TTL ends; retrying",
            );
        }
        *health = InvalidationHealth::Down {
            channel: self.channel.describe(),
            failed_attempts,
            last_error: error.to_owned(),
        };
    }

    /// Drops everything from the local tier: messages may have been missed.
    async fn flush(&self, l1: &MemoryStore) {
        self.bump();
        l1.clear().await;
    }

    /// Applies one message from another instance.
    async fn apply(&self, message: &str, l1: &MemoryStore) {
        let Some((origin, invalidation)) = Invalidation::decode(message) else {
            return;
        };
        if origin == self.origin {
            return;
        }
        crate::observe::invalidation("applied");
        self.bump();
        // The local tier is memory: these cannot fail.
        let _ = match invalidation {
            Invalidation::Session(key) => l1.remove(&key).await.map(|()| 0),
            Invalidation::Sid(sid) => l1.remove_by_sid(&sid).await,
            Invalidation::Sub(sub) => l1.remove_by_sub(&sub).await,
            Invalidation::All => {
                l1.clear().await;
                Ok(0)
            }
        };
    }
}

/// Keeps a subscription up until the store is dropped: applies messages, and on a
/// drop resubscribes with backoff and flushes the local tier.
async fn run(
    sync: Weak<Sync>,
    l1: MemoryStore,
    mut subscription: Option<crate::store::invalidation::Subscription>,
) {
    let mut backoff = BACKOFF_FIRST;
    let mut again = false;
    loop {
        if let Some(mut messages) = subscription.take() {
            backoff = BACKOFF_FIRST;
            if again {
                let Some(s) = sync.upgrade() else { return };
                s.flush(&l1).await;
                s.mark_up(true);
            }
            let error = loop {
                let next = messages.next().await;
                let Some(s) = sync.upgrade() else { return };
                match next {
                    Some(Ok(message)) => s.apply(&message, &l1).await,
                    Some(Err(e)) => break crate::observe::error_chain(&e),
                    None => break "the subscription ended".to_owned(),
                }
            };
            let Some(s) = sync.upgrade() else { return };
            s.mark_down(&error);
        }
        again = true;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_LAST);
        let Some(s) = sync.upgrade() else { return };
        let channel = s.channel.clone();
        drop(s);
        match channel.subscribe().await {
            Ok(messages) => subscription = Some(messages),
            Err(e) => {
                let Some(s) = sync.upgrade() else { return };
                s.mark_down(&crate::observe::error_chain(&e));
            }
        }
    }
}
