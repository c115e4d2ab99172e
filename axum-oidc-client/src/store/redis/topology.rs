//! The Redis deployments a URL can name: one server, a Redis Cluster, or a primary
//! found through Redis Sentinel.
//!
//! | URL | deployment |
//! |---|---|
//! | `redis://[user:password@]host[:port][/db]`, `rediss://…` | one server (or a primary with replicas) |
//! | `redis+cluster://[user:password@]host[:port],host[:port],…`, `rediss+cluster://…` | [Redis Cluster](https://redis.io/docs/latest/operate/oss_and_stack/management/scaling/); the nodes are seeds, the rest is discovered |
//! | `redis+sentinel://[user:password@]host[:port],…/service-name[/db]`, `rediss+sentinel://…` | the primary that [Sentinel](https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/) names for `service-name` |
//!
//! Ports default to 6379 (servers, cluster nodes) and 26379 (sentinels). The user
//! and password in a cluster or sentinel URL are those of the Redis servers; when the
//! sentinels require a password of their own, give it as the query parameters
//! `sentinel_username` and `sentinel_password`. With `rediss+sentinel://`, both the
//! sentinels and the servers are reached over TLS.

use super::StoreError;

/// Default port of a Redis server or cluster node.
const REDIS_PORT: u16 = 6379;
/// Default port of a sentinel.
const SENTINEL_PORT: u16 = 26379;

/// A parsed Redis URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Topology {
    /// One server: the URL, handed to the redis crate as it is.
    Standalone(String),
    /// Seed nodes of a cluster, each as a `redis://` or `rediss://` URL with the
    /// credentials.
    Cluster(Vec<String>),
    /// Sentinels and the service they watch.
    Sentinel(SentinelTarget),
}

/// Where Sentinel is asked for the primary, and how to talk to that primary.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SentinelTarget {
    /// Each sentinel as a `redis://` or `rediss://` URL, with the sentinel credentials.
    pub(crate) sentinels: Vec<String>,
    /// The name the sentinels monitor (`sentinel monitor <name> …`).
    pub(crate) service: String,
    /// The database on the primary.
    pub(crate) db: i64,
    /// The user on the primary, if any.
    pub(crate) username: Option<String>,
    /// The password on the primary, if any.
    pub(crate) password: Option<String>,
    /// TLS to the sentinels and the primary.
    pub(crate) tls: bool,
}

/// Only the shape: URLs carry passwords.
impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Standalone(_) => f.write_str("Standalone"),
            Self::Cluster(nodes) => write!(f, "Cluster({} seed nodes)", nodes.len()),
            Self::Sentinel(t) => write!(f, "Sentinel({} sentinels)", t.sentinels.len()),
        }
    }
}

impl Topology {
    /// Parses any Redis URL form; fails with [`StoreError::Config`], whose message never
    /// repeats the URL.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Ok(Self::Standalone(url.to_owned()));
        };
        let (tls, kind) = match scheme.to_ascii_lowercase().as_str() {
            "redis+cluster" => (false, Kind::Cluster),
            "rediss+cluster" => (true, Kind::Cluster),
            "redis+sentinel" => (false, Kind::Sentinel),
            "rediss+sentinel" => (true, Kind::Sentinel),
            _ => return Ok(Self::Standalone(url.to_owned())),
        };
        let base = if tls { "rediss" } else { "redis" };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let default_port = match kind {
            Kind::Cluster => REDIS_PORT,
            Kind::Sentinel => SENTINEL_PORT,
        };
        let hosts = hosts
            .split(',')
            .map(|h| host_port(h, default_port))
            .collect::<Result<Vec<_>, _>>()?;
        let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match kind {
            Kind::Cluster => {
                if !query.is_empty() || path.iter().any(|p| *p != "0") {
                    return Err(config(
                        "Redis Cluster URLs take no database and no query (a cluster has only database 0)",
                    ));
                }
                let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
                Ok(Self::Cluster(
                    hosts
                        .iter()
                        .map(|h| format!("{base}://{userinfo}{h}"))
                        .collect(),
                ))
            }
            Kind::Sentinel => {
                let (service, db) = match path.as_slice() {
                    [service] => (*service, 0),
                    [service, db] => (
                        *service,
                        db.parse().map_err(|_| {
                            config("the database of a Sentinel URL must be a number")
                        })?,
                    ),
                    _ => {
                        return Err(config(
                            "a Sentinel URL needs the service name as its path: \
                             redis+sentinel://host:port,…/service-name[/db]",
                        ));
                    }
                };
                let (username, password) = credentials(userinfo)?;
                let mut sentinel_auth = String::new();
                let (mut s_user, mut s_password) = (None, None);
                for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                    match &*k {
                        "sentinel_username" => s_user = Some(v.into_owned()),
                        "sentinel_password" => s_password = Some(v.into_owned()),
                        _ => return Err(config("unknown query parameter in a Sentinel URL")),
                    }
                }
                if s_user.is_some() || s_password.is_some() {
                    let enc = |s: &str| {
                        url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                    };
                    sentinel_auth = format!(
                        "{}:{}@",
                        enc(s_user.as_deref().unwrap_or_default()),
                        enc(s_password.as_deref().unwrap_or_default())
                    );
                }
                Ok(Self::Sentinel(SentinelTarget {
                    sentinels: hosts
                        .iter()
                        .map(|h| format!("{base}://{sentinel_auth}{h}"))
                        .collect(),
                    service: percent_decode(service)?,
                    db,
                    username,
                    password,
                    tls,
                }))
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Cluster,
    Sentinel,
}

fn config(msg: &str) -> StoreError {
    StoreError::Config(msg.to_owned())
}

/// `host:port` of one node of a list, checked by the URL parser; the default port
/// when it names none.
fn host_port(node: &str, default_port: u16) -> Result<String, StoreError> {
    let bad = || config("invalid node in a Redis Cluster or Sentinel URL (expected host[:port])");
    if node.is_empty() || node.contains(['/', '?', '#', '@']) {
        return Err(bad());
    }
    let parsed = url::Url::parse(&format!("redis://{node}")).map_err(|_| bad())?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(bad)?;
    Ok(format!("{host}:{}", parsed.port().unwrap_or(default_port)))
}

/// The decoded user and password of `user:password`.
fn credentials(userinfo: Option<&str>) -> Result<(Option<String>, Option<String>), StoreError> {
    let Some(userinfo) = userinfo else {
        return Ok((None, None));
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    let user = Some(percent_decode(user)?).filter(|u| !u.is_empty());
    let password = password
        .map(percent_decode)
        .transpose()?
        .filter(|p| !p.is_empty());
    Ok((user, password))
}

fn percent_decode(s: &str) -> Result<String, StoreError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| config("invalid percent-encoding in a Redis URL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentinel(url: &str) -> SentinelTarget {
        match Topology::parse(url).unwrap() {
            Topology::Sentinel(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_redis_urls_are_one_server() {
        for url in ["redis://h:1/2", "rediss://:pw@h", "REDIS://h", "redis:/x"] {
            assert_eq!(
                Topology::parse(url).unwrap(),
                Topology::Standalone(url.into())
            );
        }
    }

    #[test]
    fn cluster_urls_list_their_seed_nodes_with_credentials_and_default_ports() {
        assert_eq!(
            Topology::parse("redis+cluster://u:p%40ss@a:7001,b,[::1]:7003").unwrap(),
            Topology::Cluster(vec![
                "redis://u:p%40ss@a:7001".into(),
                "redis://u:p%40ss@b:6379".into(),
                "redis://u:p%40ss@[::1]:7003".into(),
            ])
        );
        assert_eq!(
            Topology::parse("RediSS+Cluster://a:1/0").unwrap(),
            Topology::Cluster(vec!["rediss://a:1".into()])
        );
    }

    #[test]
    fn sentinel_urls_name_the_service_the_database_and_the_primary_credentials() {
        let t = sentinel("redis+sentinel://app:s3cr%2Ft@s1,s2:26380/my-primary/2");
        assert_eq!(t.sentinels, ["redis://s1:26379", "redis://s2:26380"]);
        assert_eq!(t.service, "my-primary");
        assert_eq!(t.db, 2);
        assert_eq!(t.username.as_deref(), Some("app"));
        assert_eq!(t.password.as_deref(), Some("s3cr/t"));
        assert!(!t.tls);

        let t = sentinel("rediss+sentinel://:pw@s1:1/svc?sentinel_password=x%26y");
        assert_eq!(t.sentinels, ["rediss://:x%26y@s1:1"]);
        assert_eq!((t.username, t.password.as_deref()), (None, Some("pw")));
        assert_eq!(t.db, 0);
        assert!(t.tls);
    }

    #[test]
    fn malformed_cluster_and_sentinel_urls_are_configuration_errors_without_the_password() {
        for url in [
            "redis+cluster://",
            "redis+cluster://a:1,,b:2",
            "redis+cluster://:hunter2@a:99999",
            "redis+cluster://a:1/3",
            "redis+cluster://a:1?x=1",
            "redis+sentinel://:hunter2@s1:1",
            "redis+sentinel://s1:1/svc/notadb",
            "redis+sentinel://s1:1/svc/0/extra",
            "redis+sentinel://s1:1/svc?password=hunter2",
            "redis+sentinel://s1:x/svc",
        ] {
            match Topology::parse(url) {
                Err(StoreError::Config(msg)) => assert!(!msg.contains("hunter2"), "{msg}"),
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn debug_output_never_shows_urls() {
        let t = Topology::parse("redis+cluster://:hunter2@a:1").unwrap();
        assert_eq!(format!("{t:?}"), "Cluster(1 seed nodes)");
        let t = Topology::parse("redis+sentinel://:hunter2@a:1/s").unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
