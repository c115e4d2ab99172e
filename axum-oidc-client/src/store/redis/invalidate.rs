//! The invalidation channel of a [`RedisStore`]: Redis
//! [pub/sub](https://redis.io/docs/latest/develop/interact/pubsub/) on the channel
//! `{key prefix}invalidate`.
//!
//! - *Publish*: `PUBLISH` through the store's own connection (the server, the
//!   Sentinel primary, or any node of a cluster: a cluster forwards every `PUBLISH`
//!   to the subscribers of every node).
//! - *Subscribe*: a dedicated pub/sub connection (RESP2), to the URL's server, to
//!   the primary the sentinels name at that moment (so a failover is followed at
//!   the next subscription), or to the first reachable seed node of a cluster.
//!   [`subscribe`](InvalidationChannel::subscribe) returns once the server has
//!   confirmed `SUBSCRIBE`. The subscription ends when the connection drops, and
//!   yields an error when a keep-alive `PING` (every [`KEEPALIVE_INTERVAL`]) is not
//!   answered within the store's response timeout: a server that hangs without
//!   closing the connection (a stopped or partitioned primary) is noticed too.
//!
//! Pub/sub channels are server-wide, not per database: two applications with the
//! same key prefix on different database numbers of one server see each other's
//! messages. That only costs extra local misses (dropping more is always safe);
//! give them distinct prefixes to avoid it.

use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{PubSubSink, PubSubStream};
use ::redis::sentinel::SentinelClient;
use ::redis::{Client, RedisError, Value};
use async_trait::async_trait;
use futures_util::StreamExt;

use super::conn::Connection;
use super::{RedisStore, StoreError};
use crate::store::invalidation::{InvalidationChannel, SharedChannel, Subscription};

/// How often an idle subscription checks that its server still answers.
pub(crate) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// Where a subscription connects, kept by the store when it was built from a URL.
pub(crate) struct PubSubSource {
    servers: Servers,
    connect_timeout: Duration,
    response_timeout: Duration,
}

/// The server(s) a subscription may use, per deployment.
pub(crate) enum Servers {
    /// The URL's server.
    Single(Client),
    /// The seed nodes, tried in turn.
    Cluster(Vec<Client>),
    /// Asked for the current primary at every subscription.
    Sentinel(tokio::sync::Mutex<SentinelClient>),
}

impl PubSubSource {
    pub(crate) fn new(
        servers: Servers,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Self {
        Self {
            servers,
            connect_timeout,
            response_timeout,
        }
    }

    /// Opens a pub/sub connection and subscribes it to `channel`: on the first seed
    /// node that works, in a cluster.
    async fn subscribe(&self, channel: &str) -> Result<(PubSubSink, PubSubStream), RedisError> {
        match &self.servers {
            Servers::Single(client) => self.subscribe_on(client, channel).await,
            Servers::Sentinel(sentinels) => {
                let client = {
                    let mut sentinels = sentinels.lock().await;
                    tokio::time::timeout(self.connect_timeout, sentinels.async_get_client())
                        .await
                        .map_err(|_| {
                            timed_out("finding the Redis primary through Sentinel timed out")
                        })??
                };
                self.subscribe_on(&client, channel).await
            }
            Servers::Cluster(seeds) => {
                let mut last = None;
                for client in seeds {
                    match self.subscribe_on(client, channel).await {
                        Ok(subscribed) => return Ok(subscribed),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| {
                    RedisError::from((::redis::ErrorKind::InvalidClientConfig, "no seed nodes"))
                }))
            }
        }
    }

    async fn subscribe_on(
        &self,
        client: &Client,
        channel: &str,
    ) -> Result<(PubSubSink, PubSubStream), RedisError> {
        let pubsub = tokio::time::timeout(self.connect_timeout, client.get_async_pubsub())
            .await
            .map_err(|_| timed_out("opening a Redis pub/sub connection timed out"))??;
        let (mut sink, stream) = pubsub.split();
        tokio::time::timeout(self.response_timeout, sink.subscribe(channel))
            .await
            .map_err(|_| timed_out("Redis did not confirm SUBSCRIBE in time"))??;
        Ok((sink, stream))
    }
}

fn timed_out(what: &'static str) -> RedisError {
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// The channel name of a key prefix: `{prefix}invalidate`.
pub(crate) fn channel_name(key_prefix: &str) -> String {
    format!("{key_prefix}invalidate")
}

/// What [`InvalidationChannel::describe`] says: the channel name, which holds no
/// credentials.
fn describe(channel: &str) -> String {
    format!("Redis pub/sub {channel:?}")
}

/// Redis pub/sub as an [`InvalidationChannel`]; see the [module docs](self).
struct RedisChannel {
    conn: Connection,
    source: Arc<PubSubSource>,
    name: String,
}

impl RedisStore {
    /// The store's [invalidation channel](crate::store::invalidation): Redis pub/sub on
    /// `{key prefix}invalidate`, for all three deployments. Give it to
    /// [`TwoTierStore::with_channel`](crate::store::TwoTierStore::with_channel) on every
    /// instance; [`from_url`](crate::store::from_url) does so for a `tiered+` URL.
    ///
    /// `None` for a store made by [`build`](super::RedisStoreBuilder::build) or
    /// [`build_cluster`](super::RedisStoreBuilder::build_cluster): a connection the
    /// application opened does not say how to open the dedicated pub/sub connection.
    /// Use [`connect`](super::RedisStoreBuilder::connect) or
    /// [`connect_lazy`](super::RedisStoreBuilder::connect_lazy) to have one.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use axum_oidc_client::store::{RedisStore, SessionCodec, TwoTierStore, TwoTierStoreConfig};
    ///
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let redis = RedisStore::connect("redis://127.0.0.1:6379", SessionCodec::encrypted(at_rest_key)).await?;
    /// let channel = redis.invalidation_channel().expect("built from a URL");
    /// assert_eq!(channel.describe(), r#"Redis pub/sub "axum_oidc:invalidate""#);
    /// let store = TwoTierStore::with_channel(Arc::new(redis), channel, TwoTierStoreConfig::default()).await;
    /// # Ok(()) }
    /// ```
    pub fn invalidation_channel(&self) -> Option<SharedChannel> {
        let source = self.pubsub.clone()?;
        Some(Arc::new(RedisChannel {
            conn: self.conn(),
            source,
            name: channel_name(self.key_prefix()),
        }))
    }
}

#[async_trait]
impl InvalidationChannel for RedisChannel {
    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        ::redis::cmd("PUBLISH")
            .arg(&self.name)
            .arg(message)
            .query_async::<i64>(&mut self.conn.clone())
            .await
            .map(drop)
            .map_err(StoreError::unavailable)
    }

    async fn subscribe(&self) -> Result<Subscription, StoreError> {
        let (sink, messages) = self
            .source
            .subscribe(&self.name)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(watched(
            sink,
            messages,
            self.name.clone(),
            KEEPALIVE_INTERVAL,
            self.source.response_timeout,
        ))
    }

    fn describe(&self) -> String {
        describe(&self.name)
    }
}

/// The messages of `channel`, ending when the connection drops and failing when a
/// keep-alive `PING` sent every `interval` of silence is not answered in `deadline`.
fn watched(
    sink: PubSubSink,
    messages: PubSubStream,
    channel: String,
    interval: Duration,
    deadline: Duration,
) -> Subscription {
    struct State {
        sink: PubSubSink,
        messages: PubSubStream,
        channel: String,
        interval: Duration,
        deadline: Duration,
    }
    let state = State {
        sink,
        messages,
        channel,
        interval,
        deadline,
    };
    let stream = futures_util::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        loop {
            let next = tokio::time::timeout(s.interval, s.messages.next()).await;
            match next {
                Ok(Some(msg)) => {
                    if msg.get_channel_name() != s.channel {
                        continue;
                    }
                    // A payload that is not UTF-8 is not ours: ignored, like any
                    // foreign message.
                    let Ok(payload) = std::str::from_utf8(msg.get_payload_bytes()) else {
                        continue;
                    };
                    return Some((Ok(payload.to_owned()), Some(s)));
                }
                Ok(None) => return None,
                Err(_silence) => {
                    let ping = tokio::time::timeout(s.deadline, s.sink.ping::<Value>()).await;
                    let error = match ping {
                        Ok(Ok(_)) => continue,
                        Ok(Err(e)) => StoreError::unavailable(e),
                        Err(_) => StoreError::unavailable(timed_out(
                            "the Redis pub/sub connection did not answer PING in time",
                        )),
                    };
                    // The error ends the subscription: nothing follows it.
                    return Some((Err(error), None));
                }
            }
        }
    });
    Box::pin(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_is_named_after_the_key_prefix() {
        assert_eq!(channel_name("axum_oidc:"), "axum_oidc:invalidate");
        assert_eq!(channel_name("shop:auth:"), "shop:auth:invalidate");
        assert_ne!(channel_name("app-a:"), channel_name("app-b:"));
    }

    #[tokio::test]
    async fn describe_names_the_channel_and_never_the_password() {
        let store = RedisStore::builder(crate::store::SessionCodec::plain())
            .with_key_prefix("app-a:")
            .connect_lazy("redis://:hunter2@127.0.0.1:1/0")
            .unwrap();
        let channel = store.invalidation_channel().expect("built from a URL");
        assert_eq!(channel.describe(), r#"Redis pub/sub "app-a:invalidate""#);
        for url in [
            "redis+cluster://:hunter2@127.0.0.1:1,127.0.0.1:2",
            "redis+sentinel://:hunter2@127.0.0.1:1/svc?sentinel_password=hunter2",
            "rediss://user:hunter2@127.0.0.1:1",
        ] {
            let store = RedisStore::builder(crate::store::SessionCodec::plain())
                .connect_lazy(url)
                .unwrap();
            let described = store.invalidation_channel().unwrap().describe();
            assert_eq!(
                described, r#"Redis pub/sub "axum_oidc:invalidate""#,
                "{url}"
            );
            assert!(!described.contains("hunter2"));
        }
    }

    #[tokio::test]
    async fn a_store_built_from_the_applications_connection_has_no_channel() {
        let client = Client::open("redis://127.0.0.1:1").unwrap();
        let config = ::redis::aio::ConnectionManagerConfig::new();
        let manager =
            ::redis::aio::ConnectionManager::new_lazy_with_config(client, config).unwrap();
        let store = RedisStore::builder(crate::store::SessionCodec::plain()).build(manager);
        assert!(store.invalidation_channel().is_none());
    }

    #[test]
    fn describe_escapes_a_prefix_with_quotes() {
        assert_eq!(describe("a\"b"), r#"Redis pub/sub "a\"b""#);
    }

    #[tokio::test]
    async fn subscribing_to_a_dead_server_fails_within_the_connect_timeout() {
        let store = RedisStore::builder(crate::store::SessionCodec::plain())
            .with_connect_timeout(Duration::from_millis(300))
            .connect_lazy("redis://127.0.0.1:1")
            .unwrap();
        let channel = store.invalidation_channel().unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(
            channel.subscribe().await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(channel.publish("v1 o all ").await.is_err());
    }
}
