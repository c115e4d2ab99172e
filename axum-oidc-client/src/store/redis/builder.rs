//! [`RedisStoreBuilder`]: settings, and the connection for each URL form.

use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClient;
use ::redis::cluster_async::ClusterConnection;
use ::redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use ::redis::{AsyncConnectionConfig, Client, RedisConnectionInfo};

use super::conn::{self, Connection};
use super::invalidate::{PubSubSource, Servers};
use super::keys::KeyLayout;
use super::topology::{SentinelTarget, Topology};
use super::{RedisStore, StoreError};
use crate::session::SessionCodec;

/// Settings of a [`RedisStore`]; made by [`RedisStore::builder`].
///
/// ```no_run
/// use axum_oidc_client::store::SessionCodec;
/// use axum_oidc_client::store::RedisStore;
///
/// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
/// // Starts even when Redis is down; the first operation connects.
/// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
///     .connect_lazy("redis://127.0.0.1:6379")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    codec: SessionCodec,
    key_prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl std::fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("codec", &self.codec)
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl RedisStoreBuilder {
    pub(super) fn new(codec: SessionCodec) -> Self {
        Self {
            codec,
            key_prefix: super::DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: super::DEFAULT_CONNECT_TIMEOUT,
            response_timeout: super::DEFAULT_RESPONSE_TIMEOUT,
        }
    }

    /// Sets the prefix of every key (default [`DEFAULT_KEY_PREFIX`](super::DEFAULT_KEY_PREFIX)). Applications
    /// sharing one Redis database need distinct prefixes.
    ///
    /// ```
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// let builder = RedisStore::builder(SessionCodec::plain()).with_key_prefix("app-a:");
    /// ```
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets the time allowed to open a connection (default
    /// [`DEFAULT_CONNECT_TIMEOUT`](super::DEFAULT_CONNECT_TIMEOUT)).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// let builder = RedisStore::builder(SessionCodec::plain()).with_connect_timeout(Duration::from_millis(500));
    /// ```
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the time allowed for one reply (default [`DEFAULT_RESPONSE_TIMEOUT`](super::DEFAULT_RESPONSE_TIMEOUT)).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// let builder = RedisStore::builder(SessionCodec::plain()).with_response_timeout(Duration::from_secs(1));
    /// ```
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Connects now; fails with [`StoreError::Connect`] if Redis cannot be reached,
    /// and with [`StoreError::Config`] for a malformed URL. Takes every URL form of
    /// [`topology`](super::topology): one server, `redis+cluster://…` or `redis+sentinel://…`.
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
    ///     .connect("redis://:password@127.0.0.1:6379/0")
    ///     .await?;
    /// let clustered = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
    ///     .connect("redis+cluster://:password@10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379")
    ///     .await?;
    /// let failover = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
    ///     .connect("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/sessions")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self, url: &str) -> Result<RedisStore, StoreError> {
        let connect_error = |e| super::super::url::Scheme::Redis.connect_error(url, e);
        let (opened, pubsub) = self.open(url)?;
        let conn = match opened {
            Opened::Single(single) => Connection::Single(
                ConnectionManager::new_with_config(single.0, single.1)
                    .await
                    .map_err(connect_error)?,
            ),
            Opened::Other(conn) => {
                match &conn {
                    Connection::Cluster(c) => drop(c.connection().await.map_err(connect_error)?),
                    Connection::Sentinel(s) => drop(s.primary().await.map_err(connect_error)?),
                    Connection::Single(_) => {}
                }
                conn
            }
        };
        Ok(self.finish(conn, Some(pubsub)))
    }

    /// Returns at once without contacting Redis; the first operation connects. Use it
    /// when the application must start while Redis is down.
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), axum_oidc_client::StoreError> {
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key))
    ///     .connect_lazy("redis://127.0.0.1:6379")?;
    /// # Ok(()) }
    /// ```
    pub fn connect_lazy(self, url: &str) -> Result<RedisStore, StoreError> {
        let (opened, pubsub) = self.open(url)?;
        let conn = match opened {
            Opened::Single(single) => Connection::Single(
                ConnectionManager::new_lazy_with_config(single.0, single.1)
                    .map_err(StoreError::unavailable)?,
            ),
            Opened::Other(conn) => conn,
        };
        Ok(self.finish(conn, Some(pubsub)))
    }

    /// Uses a connection the application already has; its own timeouts apply.
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let conn = client.get_connection_manager().await?;
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key)).build(conn);
    /// # Ok(()) }
    /// ```
    pub fn build(self, connection: ConnectionManager) -> RedisStore {
        self.finish(Connection::Single(connection), None)
    }

    /// Uses a Redis Cluster connection the application already has; its own
    /// timeouts apply. Keys are laid out for a cluster (see the [module docs](crate::store::redis)).
    ///
    /// ```no_run
    /// # use axum_oidc_client::store::{RedisStore, SessionCodec};
    /// # async fn run(at_rest_key: &[u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::cluster::ClusterClient::new(vec!["redis://10.0.0.1:6379"])?;
    /// let conn = client.get_async_connection().await?;
    /// let store = RedisStore::builder(SessionCodec::encrypted(at_rest_key)).build_cluster(conn)?;
    /// # Ok(()) }
    /// ```
    pub fn build_cluster(self, connection: ClusterConnection) -> Result<RedisStore, StoreError> {
        self.check_cluster_prefix()?;
        let conn = Connection::Cluster(conn::Cluster::from_connection(connection));
        Ok(self.finish(conn, None))
    }

    /// The store; `pubsub` opens its invalidation channel's subscriptions (`None`
    /// for a connection the application opened: nothing says how to open another).
    fn finish(self, conn: Connection, pubsub: Option<PubSubSource>) -> RedisStore {
        let keys = match conn {
            Connection::Cluster(_) => KeyLayout::cluster(self.key_prefix),
            Connection::Single(_) | Connection::Sentinel(_) => {
                KeyLayout::standalone(self.key_prefix)
            }
        };
        RedisStore {
            conn,
            codec: self.codec,
            keys: Arc::new(keys),
            pubsub: pubsub.map(Arc::new),
        }
    }

    /// A prefix with braces would put its own hash tag before the group's.
    fn check_cluster_prefix(&self) -> Result<(), StoreError> {
        if self.key_prefix.contains(['{', '}']) {
            return Err(StoreError::Config(
                "the key prefix of a Redis Cluster store must not contain `{` or `}`".into(),
            ));
        }
        Ok(())
    }

    /// The client of `url`, not yet connected, and where its invalidation channel
    /// subscribes.
    fn open(&self, url: &str) -> Result<(Opened, PubSubSource), StoreError> {
        if url
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("rediss"))
        {
            ensure_crypto_provider();
        }
        let invalid =
            |e: ::redis::RedisError| StoreError::Config(format!("invalid Redis URL: {e}"));
        match Topology::parse(url)? {
            Topology::Standalone(url) => {
                let client = Client::open(url).map_err(invalid)?;
                // No retry loop inside a (re)connection attempt: every failed operation
                // starts the next attempt, so retrying inside would only delay the
                // error (each try can take the whole connect timeout).
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.connect_timeout))
                    .set_response_timeout(Some(self.response_timeout))
                    .set_number_of_retries(0);
                let pubsub = self.pubsub(Servers::Single(client.clone()));
                Ok((Opened::Single(Box::new((client, config))), pubsub))
            }
            Topology::Cluster(nodes) => {
                self.check_cluster_prefix()?;
                let seeds = nodes.iter().map(|n| Client::open(n.as_str()));
                let seeds = seeds.collect::<Result<_, _>>().map_err(invalid)?;
                // The response timeout bounds a whole operation, redirections and
                // retries included, so a failing cluster still fails fast.
                let client = ClusterClient::builder(nodes)
                    .connection_timeout(self.connect_timeout)
                    .response_timeout(self.response_timeout)
                    .build()
                    .map_err(invalid)?;
                let conn = conn::Cluster::new(client, self.connect_timeout);
                let pubsub = self.pubsub(Servers::Cluster(seeds));
                Ok((Opened::Other(Connection::Cluster(conn)), pubsub))
            }
            Topology::Sentinel(target) => {
                // Its own sentinel client: the store's is held while it asks.
                let sentinels = sentinel_client(&target).map_err(invalid)?;
                let pubsub = self.pubsub(Servers::Sentinel(sentinels.into()));
                Ok((self.sentinel(target).map_err(invalid)?, pubsub))
            }
        }
    }

    fn pubsub(&self, servers: Servers) -> PubSubSource {
        PubSubSource::new(servers, self.connect_timeout, self.response_timeout)
    }

    fn sentinel(&self, t: SentinelTarget) -> Result<Opened, ::redis::RedisError> {
        let client = sentinel_client(&t)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout));
        Ok(Opened::Other(Connection::Sentinel(conn::Sentinel::new(
            client,
            config,
            self.connect_timeout,
            t.db,
        ))))
    }
}

/// A client that asks the sentinels of `t` for the primary.
fn sentinel_client(t: &SentinelTarget) -> Result<SentinelClient, ::redis::RedisError> {
    let mut primary = RedisConnectionInfo::default().set_db(t.db);
    if let Some(user) = &t.username {
        primary = primary.set_username(user);
    }
    if let Some(password) = &t.password {
        primary = primary.set_password(password);
    }
    let mut node = SentinelNodeConnectionInfo::default().set_redis_connection_info(primary);
    if t.tls {
        node = node.set_tls_mode(::redis::TlsMode::Secure);
    }
    SentinelClient::build(
        t.sentinels.clone(),
        &t.service,
        Some(node),
        SentinelServerType::Master,
    )
}

/// A client from [`RedisStoreBuilder::open`].
enum Opened {
    Single(Box<(Client, ConnectionManagerConfig)>),
    Other(Connection),
}

/// `rediss://` connections build their rustls configuration from the process-wide
/// default crypto provider. rustls picks one by itself only when exactly one provider
/// is compiled in; an application that also links `ring` would make every TLS
/// handshake panic. So when the application has installed none, install aws-lc-rs
/// (a provider the application installs itself, before connecting, is kept).
fn ensure_crypto_provider() {
    use rustls::crypto::CryptoProvider;
    if CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a default then exists.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}
