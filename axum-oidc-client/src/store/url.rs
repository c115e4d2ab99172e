//! Choosing a store from one URL, so deployments pick their backend by configuration
//! (for example a `SESSION_STORE` environment variable).

use std::sync::Arc;

use super::two_tier::DEFAULT_L1_TTL_WITH_CHANNEL;
use super::{
    MemoryStore, SharedChannel, SharedStore, StoreError, TwoTierStore, TwoTierStoreConfig,
};
#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "mysql",
    feature = "sqlite"
))]
use crate::session::SessionCodec;
use crate::session::cookies::CookieKey;

/// The prefix that puts a local tier in front of a shared store:
/// `tiered+redis://…`, `tiered+postgres://…`. See [`TwoTierStore`].
pub const TIERED_PREFIX: &str = "tiered+";

/// The backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Memory,
    Redis,
    Postgres,
    MySql,
    Sqlite,
}

impl Scheme {
    /// The backend of `url`, by its scheme (case-insensitive).
    pub(crate) fn of(url: &str) -> Option<Self> {
        let has = |prefix: &str| {
            url.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        if url.eq_ignore_ascii_case("memory") || has("memory://") {
            Some(Self::Memory)
        } else if [
            "redis://",
            "rediss://",
            "redis+cluster://",
            "rediss+cluster://",
        ]
        .into_iter()
        .chain(["redis+sentinel://", "rediss+sentinel://"])
        .any(has)
        {
            Some(Self::Redis)
        } else if has("postgres://") || has("postgresql://") {
            Some(Self::Postgres)
        } else if has("mysql://") || has("mariadb://") {
            Some(Self::MySql)
        } else if has("sqlite:") {
            Some(Self::Sqlite)
        } else {
            None
        }
    }

    /// The Cargo feature the backend needs, and whether it is on.
    fn feature(self) -> Option<(&'static str, bool)> {
        match self {
            Self::Memory => None,
            Self::Redis => Some(("redis", cfg!(feature = "redis"))),
            Self::Postgres => Some(("postgres", cfg!(feature = "postgres"))),
            Self::MySql => Some(("mysql", cfg!(feature = "mysql"))),
            Self::Sqlite => Some(("sqlite", cfg!(feature = "sqlite"))),
        }
    }

    /// The error for a backend whose feature is off.
    fn missing_feature(self) -> StoreError {
        let name = self.feature().map_or("", |(name, _)| name);
        StoreError::Config(format!(
            "{self:?} session store URLs require the `{name}` feature of axum-oidc-client"
        ))
    }

    /// Fails with [`StoreError::Config`] when the backend's feature is off.
    pub(crate) fn require_feature(self) -> Result<(), StoreError> {
        match self.feature() {
            Some((_, false)) => Err(self.missing_feature()),
            _ => Ok(()),
        }
    }
}

/// What errors of the remote and SQLite stores say about the backend.
#[cfg_attr(
    not(any(
        feature = "redis",
        feature = "postgres",
        feature = "mysql",
        feature = "sqlite"
    )),
    allow(dead_code)
)]
impl Scheme {
    /// The backend's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "Redis",
            Self::Postgres => "PostgreSQL",
            Self::MySql => "MySQL",
            Self::Sqlite => "SQLite",
        }
    }

    /// The port the backend's clients use when the URL names none.
    fn default_port(self) -> Option<u16> {
        match self {
            Self::Redis => Some(6379),
            Self::Postgres => Some(5432),
            Self::MySql => Some(3306),
            Self::Memory | Self::Sqlite => None,
        }
    }

    /// [`StoreError::Connect`] for `url`: names the backend and where it was looked
    /// for, never the URL's credentials.
    pub(crate) fn connect_error(
        self,
        url: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError::Connect {
            backend: self.name(),
            address: self.address(url),
            source: source.into(),
        }
    }

    /// `host:port` of a server URL, or the file of an SQLite URL; never credentials.
    pub(crate) fn address(self, url: &str) -> String {
        if self == Self::Sqlite {
            let file = url.get("sqlite:".len()..).unwrap_or_default();
            let file = file.trim_start_matches("//");
            return file.split('?').next().unwrap_or_default().to_owned();
        }
        if self == Self::Redis
            && let Some(nodes) = node_list(url)
        {
            return nodes;
        }
        match url::Url::parse(url) {
            Ok(u) => match (u.host_str(), u.port().or(self.default_port())) {
                (Some(h), Some(p)) if !h.is_empty() => format!("{h}:{p}"),
                (Some(h), None) if !h.is_empty() => h.to_owned(),
                _ => "(no host in the URL)".into(),
            },
            Err(_) => "(an unparsable URL)".into(),
        }
    }
}

/// The `host:port` list of a Redis Cluster or Sentinel URL (the nodes it names, not
/// every node the deployment has), without credentials; `None` for other URLs.
fn node_list(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.contains('+') {
        return None;
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(hosts.to_owned())
}

/// Opens the store a URL names. Remote stores encrypt records at rest with
/// [`CookieKey::at_rest_key`] (AES-256-GCM, see [`crate::session::SessionCodec`]), so
/// every instance must share the cookie secret.
///
/// | URL | store | feature |
/// |---|---|---|
/// | `memory`, `memory://` | [`MemoryStore`] (one process only) | — |
/// | `redis://host:6379/0`, `rediss://…` (TLS) | `RedisStore` | `redis` |
/// | `redis+cluster://host:port,host:port,…`, `rediss+cluster://…` | `RedisStore` on Redis Cluster | `redis` |
/// | `redis+sentinel://host:port,…/service-name`, `rediss+sentinel://…` | `RedisStore` on the primary Sentinel names | `redis` |
/// | `postgres://…`, `postgresql://…` | `SqlStore` | `postgres` |
/// | `mysql://…`, `mariadb://…` | `SqlStore` | `mysql` |
/// | `sqlite://sessions.db`, `sqlite::memory:` | `SqlStore` | `sqlite` |
/// | `tiered+` followed by a Redis or SQL URL | [`TwoTierStore`] in front of it | as above |
///
/// Backends use their default settings (key prefix `axum_oidc:`, tables `axum_oidc_*`).
/// A `tiered+` store subscribes to its backend's invalidation channel (Redis pub/sub,
/// PostgreSQL `LISTEN`/`NOTIFY`, a polled revocation log for MySQL and SQLite), so
/// revocations reach every instance at once; its local TTL, the bound while the
/// channel is down, is [`DEFAULT_L1_TTL_WITH_CHANNEL`]. [`from_url_with`] sets the
/// local tier's settings, or build the store yourself to change the others.
///
/// Fails with [`StoreError::Config`] for an unknown scheme or a backend whose feature
/// is off, and with [`StoreError::Connect`] when the server cannot be reached.
/// Error messages never repeat the URL, which may hold a password.
///
/// ```
/// use axum_oidc_client::CookieKey;
/// use axum_oidc_client::store::from_url;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
/// let key = CookieKey::generate();
/// let url = std::env::var("SESSION_STORE").unwrap_or_else(|_| "memory".into());
/// let store = from_url(&url, &key).await?;
/// # Ok(()) }
/// ```
pub async fn from_url(url: &str, key: &CookieKey) -> Result<SharedStore, StoreError> {
    open_url(url, key, None).await
}

/// [`from_url`] with the local tier's settings for a `tiered+…` URL (its TTL bounds how
/// long a session revoked elsewhere keeps working on this instance). A URL without
/// `tiered+` is refused with [`StoreError::Config`] when `tiered` is not the default,
/// since the settings would be silently ignored.
///
/// ```
/// use std::time::Duration;
/// use axum_oidc_client::{CookieKey, TwoTierStoreConfig};
/// use axum_oidc_client::store::from_url_with;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let key = CookieKey::generate();
/// let local = TwoTierStoreConfig::default().with_l1_ttl(Duration::from_secs(300));
/// let refused = from_url_with("memory", &key, local).await;
/// assert!(refused.is_err(), "a local tier needs a tiered+ URL");
/// # }
/// ```
pub async fn from_url_with(
    url: &str,
    key: &CookieKey,
    tiered: TwoTierStoreConfig,
) -> Result<SharedStore, StoreError> {
    open_url(url, key, Some(tiered)).await
}

/// [`from_url_with`], where no local tier settings means the defaults: a local TTL
/// of [`DEFAULT_L1_TTL_WITH_CHANNEL`] when the backend has an invalidation channel.
async fn open_url(
    url: &str,
    key: &CookieKey,
    tiered: Option<TwoTierStoreConfig>,
) -> Result<SharedStore, StoreError> {
    let Some(shared_url) = strip_tiered(url) else {
        if tiered.is_some_and(|t| t != TwoTierStoreConfig::default()) {
            return Err(StoreError::Config(format!(
                "local tier settings (SESSION_LOCAL_TTL_SECS, TwoTierStoreConfig) apply to `{TIERED_PREFIX}…` store URLs only: use `{TIERED_PREFIX}` before a Redis or SQL URL, or leave them unset"
            )));
        }
        return Ok(open(url, key).await?.store);
    };
    Ok(Arc::new(two_tier_from_url(shared_url, key, tiered).await?))
}

/// The [`TwoTierStore`] a `tiered+…` URL names, as its own type (for
/// [`TwoTierStore::is_cached_locally`] and
/// [`invalidation_health`](super::AuthCache::invalidation_health)); the `tiered+`
/// prefix is optional here. `tiered` as for [`from_url_with`]; `None` for the
/// defaults of [`from_url`].
///
/// ```no_run
/// use axum_oidc_client::CookieKey;
/// use axum_oidc_client::store::two_tier_from_url;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), axum_oidc_client::StoreError> {
/// let store = two_tier_from_url("tiered+redis://127.0.0.1:6379", &CookieKey::generate(), None).await?;
/// # let _ = store;
/// # Ok(()) }
/// ```
pub async fn two_tier_from_url(
    url: &str,
    key: &CookieKey,
    tiered: Option<TwoTierStoreConfig>,
) -> Result<TwoTierStore, StoreError> {
    let shared_url = strip_tiered(url).unwrap_or(url);
    match Scheme::of(shared_url) {
        Some(Scheme::Memory) | None => Err(StoreError::Config(format!(
            "`{TIERED_PREFIX}` must be followed by a Redis or SQL URL"
        ))),
        Some(_) => {
            let opened = open(shared_url, key).await?;
            let defaults = TwoTierStoreConfig::default();
            Ok(match opened.channel {
                Some(channel) => {
                    let tiered =
                        tiered.unwrap_or_else(|| defaults.with_l1_ttl(DEFAULT_L1_TTL_WITH_CHANNEL));
                    TwoTierStore::with_channel(opened.store, channel, tiered).await
                }
                None => TwoTierStore::new(opened.store, tiered.unwrap_or(defaults)),
            })
        }
    }
}

/// The URL after a `tiered+` prefix (any case), if it has one.
fn strip_tiered(url: &str) -> Option<&str> {
    url.get(..TIERED_PREFIX.len())
        .filter(|head| head.eq_ignore_ascii_case(TIERED_PREFIX))
        .map(|_| &url[TIERED_PREFIX.len()..])
}

/// An opened backend, and its invalidation channel for a local tier in front of it.
struct Opened {
    store: SharedStore,
    channel: Option<SharedChannel>,
}

async fn open(url: &str, key: &CookieKey) -> Result<Opened, StoreError> {
    let scheme = Scheme::of(url).ok_or_else(|| {
        StoreError::Config(
            "unknown session store URL scheme (expected memory, redis://, rediss://, \
             redis+cluster://, redis+sentinel://, postgres://, postgresql://, mysql://, \
             mariadb://, sqlite: or tiered+…)"
                .into(),
        )
    })?;
    scheme.require_feature()?;
    #[cfg(any(
        feature = "redis",
        feature = "postgres",
        feature = "mysql",
        feature = "sqlite"
    ))]
    let codec = || SessionCodec::encrypted(key.at_rest_key());
    #[cfg(not(any(
        feature = "redis",
        feature = "postgres",
        feature = "mysql",
        feature = "sqlite"
    )))]
    let _ = key;
    match scheme {
        Scheme::Memory => Ok(Opened {
            store: Arc::new(MemoryStore::default()),
            channel: None,
        }),
        #[cfg(feature = "redis")]
        Scheme::Redis => {
            let store = super::RedisStore::connect(url, codec()).await?;
            let channel = redis_channel(&store);
            Ok(Opened {
                store: Arc::new(store),
                channel,
            })
        }
        #[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
        Scheme::Postgres | Scheme::MySql | Scheme::Sqlite => {
            let store =
                super::SqlStore::connect(url, codec(), super::SqlStoreConfig::default()).await?;
            let channel = sql_channel(&store);
            Ok(Opened {
                store: Arc::new(store),
                channel,
            })
        }
        // Only reachable for a backend whose feature is off, refused above.
        #[allow(unreachable_patterns)]
        other => Err(other.missing_feature()),
    }
}

/// The invalidation channel of a Redis store.
#[cfg(feature = "redis")]
fn redis_channel(store: &super::RedisStore) -> Option<SharedChannel> {
    store.invalidation_channel()
}

/// The invalidation channel of an SQL store.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
fn sql_channel(store: &super::SqlStore) -> Option<SharedChannel> {
    Some(store.invalidation_channel())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SessionKey, new_session_id};

    #[test]
    fn schemes_are_recognised_case_insensitively() {
        for (url, scheme) in [
            ("memory", Scheme::Memory),
            ("MEMORY://", Scheme::Memory),
            ("redis://127.0.0.1", Scheme::Redis),
            ("rediss://cache:6380/1", Scheme::Redis),
            ("redis+cluster://a:1,b:2", Scheme::Redis),
            ("RedisS+Cluster://a:1", Scheme::Redis),
            ("redis+sentinel://s1,s2/primary", Scheme::Redis),
            ("rediss+sentinel://s1/primary", Scheme::Redis),
            ("postgres://u@h/db", Scheme::Postgres),
            ("PostgreSQL://u@h/db", Scheme::Postgres),
            ("mysql://root@h/db", Scheme::MySql),
            ("mariadb://root@h/db", Scheme::MySql),
            ("sqlite://sessions.db", Scheme::Sqlite),
            ("sqlite::memory:", Scheme::Sqlite),
        ] {
            assert_eq!(Scheme::of(url), Some(scheme), "{url}");
        }
        for url in [
            "",
            "memcached://x",
            "redis:/x",
            "redis+memcached://x",
            "memoryx",
            "http://x",
            "sqlit:x",
        ] {
            assert_eq!(Scheme::of(url), None, "{url}");
        }
    }

    #[test]
    fn store_addresses_name_host_and_port_never_credentials() {
        for (url, address) in [
            (
                "postgres://demo:hunter2@db.internal/sessions",
                "db.internal:5432",
            ),
            (
                "postgresql://demo:hunter2@127.0.0.1:5999/s?sslmode=require",
                "127.0.0.1:5999",
            ),
            ("mysql://root:hunter2@[::1]/test", "[::1]:3306"),
            ("redis://:hunter2@cache:6380/2", "cache:6380"),
            ("rediss://default:hunter2@cache", "cache:6379"),
            ("redis+cluster://:hunter2@a:7001,b:7002", "a:7001,b:7002"),
            (
                "redis+sentinel://u:hunter2@s1,s2:26380/primary/1",
                "s1,s2:26380",
            ),
            ("sqlite://var/sessions.db?mode=rwc", "var/sessions.db"),
            ("sqlite::memory:", ":memory:"),
        ] {
            let scheme = Scheme::of(url).unwrap();
            assert_eq!(scheme.address(url), address, "{url}");
            let e = scheme.connect_error(url, std::io::Error::other("refused"));
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    /// Opens `scheme://user:hunter2@127.0.0.1:<port><path>` on a port nothing listens
    /// on, and checks the error leads with the backend and the address, ends with
    /// the refused connection, and never shows the password.
    #[allow(dead_code)]
    async fn dead_port_error_names_the_store_and_the_refusal(scheme: &str, path: &str) {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("{scheme}://user:hunter2@127.0.0.1:{port}{path}");
        let backend = Scheme::of(&url).unwrap().name();
        let e = from_url(&url, &CookieKey::generate()).await.err().unwrap();
        let mut chain = vec![e.to_string()];
        let mut next = std::error::Error::source(&e);
        while let Some(cause) = next {
            chain.push(cause.to_string());
            next = cause.source();
        }
        let text = chain.join(" / ");
        assert_eq!(
            chain[0],
            format!("cannot connect to the {backend} session store at 127.0.0.1:{port}")
        );
        assert!(
            text.to_ascii_lowercase().contains("connection refused"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("pool timed out"), "{text}");
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn a_postgres_store_on_a_dead_port_names_it_and_the_refusal() {
        dead_port_error_names_the_store_and_the_refusal("postgres", "/sessions").await;
    }

    #[cfg(feature = "mysql")]
    #[tokio::test]
    async fn a_mysql_store_on_a_dead_port_names_it_and_the_refusal() {
        dead_port_error_names_the_store_and_the_refusal("mysql", "/sessions").await;
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn a_redis_store_on_a_dead_port_names_it_and_the_refusal() {
        dead_port_error_names_the_store_and_the_refusal("redis", "/0").await;
    }

    #[tokio::test]
    async fn memory_urls_open_a_working_store() {
        let store = from_url("memory", &CookieKey::generate()).await.unwrap();
        let key = SessionKey::of(&new_session_id());
        assert!(store.get(&key).await.unwrap().is_none());
        assert!(
            store
                .insert_once("x", std::time::Duration::from_secs(5))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn unknown_schemes_are_configuration_errors_that_do_not_echo_the_url() {
        let key = CookieKey::generate();
        for url in [
            "memcached://user:hunter2@h",
            "tiered+memory",
            "tiered+nope://:hunter2@h",
        ] {
            match from_url(url, &key).await.err() {
                Some(StoreError::Config(msg)) => assert!(!msg.contains("hunter2"), "{msg}"),
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[cfg(not(feature = "redis"))]
    #[tokio::test]
    async fn redis_urls_need_the_redis_feature() {
        match from_url("redis://127.0.0.1", &CookieKey::generate())
            .await
            .err()
        {
            Some(StoreError::Config(msg)) => assert!(msg.contains("`redis` feature"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn postgres_urls_need_the_postgres_feature() {
        match from_url("tiered+postgres://u@h/db", &CookieKey::generate())
            .await
            .err()
        {
            Some(StoreError::Config(msg)) => assert!(msg.contains("`postgres` feature"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}
