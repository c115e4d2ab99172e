//! The SQL text of each engine, built once per store from the validated table names.
//!
//! Statements are written with `?` placeholders; PostgreSQL's `$n` are filled in by
//! [`Dialect::finish`]. Times are the database's clock in Unix milliseconds, so every
//! instance compares leases against one clock and clock skew between application
//! hosts cannot hand one lease to two owners.

/// The SQL engine of a store. Every dialect is compiled and unit-tested whichever
/// engine features are on; only the enabled ones are ever constructed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(all(feature = "postgres", feature = "mysql", feature = "sqlite")),
    allow(dead_code)
)]
pub(crate) enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

/// The table names of a store: `{prefix}_sessions`, `{prefix}_leases`, `{prefix}_once`,
/// `{prefix}_invalidations` (MySQL and SQLite), and the PostgreSQL `NOTIFY` channel
/// `{prefix}_invalidate`.
#[derive(Debug, Clone)]
pub(super) struct Tables {
    sessions: String,
    leases: String,
    once: String,
    invalidations: String,
    channel: String,
}

/// Longest accepted table prefix: the longest derived name (`{prefix}_sessions_expires_idx`)
/// stays within PostgreSQL's 63-byte identifier limit.
pub(super) const MAX_PREFIX_LEN: usize = 40;

impl Tables {
    /// The tables of a prefix, which must be an SQL identifier `[A-Za-z_][A-Za-z0-9_]*`
    /// of at most [`MAX_PREFIX_LEN`] bytes: it is pasted into statements, so nothing
    /// else may get through.
    pub(super) fn new(prefix: &str) -> Option<Self> {
        let mut chars = prefix.chars();
        let valid = prefix.len() <= MAX_PREFIX_LEN
            && chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        valid.then(|| Self {
            sessions: format!("{prefix}_sessions"),
            leases: format!("{prefix}_leases"),
            once: format!("{prefix}_once"),
            invalidations: format!("{prefix}_invalidations"),
            channel: format!("{prefix}_invalidate"),
        })
    }
}

/// Every statement a store runs.
pub(super) struct Queries {
    /// Idempotent schema creation, in order.
    pub schema: Vec<String>,
    /// `session_key` -> `data`, live rows only.
    pub get: String,
    /// Upsert of `session_key, data, sid, sub, ttl_ms`.
    pub put: String,
    /// `data, sid, sub, ttl_ms, session_key, data read`: rewrites a live session only
    /// if it still holds the bytes read; affects one row if it wrote.
    pub replace: String,
    /// `session_key`.
    pub remove: String,
    /// `sid`; live rows only, so the count is of sessions ended.
    pub remove_by_sid: String,
    /// `sub`; live rows only.
    pub remove_by_sub: String,
    /// `sub`; live rows with no `sid` only.
    pub remove_by_sub_without_sid: String,
    /// `sub` -> `session_key, data` of its live rows (through the `sub` index).
    pub sessions_of: String,
    /// `name`: drops an expired lease.
    pub lease_clear_expired: String,
    /// `name, owner, lease_ms`; affects no row when the name is taken.
    pub lease_insert: String,
    /// `lease_ms, name, owner`: extends a lease its owner holds.
    pub lease_extend: String,
    /// `name, owner`.
    pub unlock: String,
    /// `once_value`: drops an expired one-time value.
    pub once_clear_expired: String,
    /// `once_value, ttl_ms`; affects no row when the value is recorded.
    pub once_insert: String,
    /// One bounded batch of expired rows per table (and of old invalidations).
    pub purge: Vec<String>,
    /// How the store's invalidation channel talks to the database.
    pub invalidation: InvalidationSql,
}

/// How long the revocation log keeps a row, in seconds: far longer than any reader
/// lags behind, so the purge never takes a row a reader still needs.
pub(super) const LOG_KEEP_SECS: u32 = 600;

/// Most rows one read of the revocation log returns.
const LOG_READ_LIMIT: u32 = 1000;

/// The invalidation channel of an engine.
pub(super) enum InvalidationSql {
    /// PostgreSQL: `pg_notify(channel, message)` and `LISTEN channel`.
    Notify {
        /// The channel name.
        channel: String,
    },
    /// MySQL and SQLite: a revocation log table, polled.
    Log(LogSql),
}

/// The statements of the revocation log.
#[derive(Clone)]
#[cfg_attr(not(any(feature = "mysql", feature = "sqlite")), allow(dead_code))]
pub(super) struct LogSql {
    /// The table name.
    pub table: String,
    /// `message`: appends one row.
    pub insert: String,
    /// No argument: the highest seq, 0 when the table is empty.
    pub max_seq: String,
    /// `after`: `seq, message` of the rows above it, in seq order, bounded.
    pub read_after: String,
}

impl Dialect {
    /// The database's current time in Unix milliseconds.
    fn now_ms(self) -> &'static str {
        match self {
            Self::Postgres => "CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)",
            // sqlx sets the session time zone to UTC, so there is no DST fold.
            Self::MySql => "CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)",
            // julianday('now') has millisecond precision on every SQLite version.
            Self::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        }
    }

    /// The database's current time in Unix seconds.
    fn now_s(self) -> &'static str {
        match self {
            Self::Postgres => "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
            Self::MySql => "UNIX_TIMESTAMP()",
            Self::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
        }
    }

    /// Numbers the placeholders for PostgreSQL.
    fn finish(self, sql: String) -> String {
        if self != Self::Postgres {
            return sql;
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    fn schema(self, t: &Tables) -> Vec<String> {
        let Tables {
            sessions: s,
            leases: l,
            once: o,
            invalidations: i,
            ..
        } = t;
        match self {
            // MySQL has no `CREATE INDEX IF NOT EXISTS`, so indexes are declared inline.
            // Binary strings compare byte for byte: the default collations are case- and
            // trailing-space-insensitive, which would let `remove_by_sub("Alice")` end
            // the sessions of `alice`.
            Self::MySql => vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {s} (\
                     session_key VARBINARY(64) NOT NULL PRIMARY KEY, \
                     data MEDIUMBLOB NOT NULL, \
                     sid VARBINARY(1024) NULL, \
                     sub VARBINARY(1024) NOT NULL, \
                     expires_at_ms BIGINT NOT NULL, \
                     INDEX {s}_sid_idx (sid), \
                     INDEX {s}_sub_idx (sub), \
                     INDEX {s}_expires_idx (expires_at_ms)) ENGINE=InnoDB"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {l} (\
                     name VARBINARY(512) NOT NULL PRIMARY KEY, \
                     owner VARBINARY(255) NOT NULL, \
                     expires_at_ms BIGINT NOT NULL, \
                     INDEX {l}_expires_idx (expires_at_ms)) ENGINE=InnoDB"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {o} (\
                     once_value VARBINARY(64) NOT NULL PRIMARY KEY, \
                     expires_at_ms BIGINT NOT NULL, \
                     INDEX {o}_expires_idx (expires_at_ms)) ENGINE=InnoDB"
                ),
                // The revocation log; `seq` is assigned at insert, so rows may commit
                // out of order (see `log_cursor`). MySQL scopes index names to their
                // table, and `{i}_created_idx` could pass its 64-byte limit.
                format!(
                    "CREATE TABLE IF NOT EXISTS {i} (\
                     seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                     message VARBINARY(8000) NOT NULL, \
                     created_at BIGINT NOT NULL, \
                     INDEX created_idx (created_at)) ENGINE=InnoDB"
                ),
            ],
            Self::Postgres | Self::Sqlite => {
                let blob = if self == Self::Postgres {
                    "BYTEA"
                } else {
                    "BLOB"
                };
                let mut statements = vec![
                    format!(
                        "CREATE TABLE IF NOT EXISTS {s} (\
                         session_key TEXT NOT NULL PRIMARY KEY, \
                         data {blob} NOT NULL, \
                         sid TEXT NULL, \
                         sub TEXT NOT NULL, \
                         expires_at_ms BIGINT NOT NULL)"
                    ),
                    format!("CREATE INDEX IF NOT EXISTS {s}_sid_idx ON {s} (sid)"),
                    format!("CREATE INDEX IF NOT EXISTS {s}_sub_idx ON {s} (sub)"),
                    format!("CREATE INDEX IF NOT EXISTS {s}_expires_idx ON {s} (expires_at_ms)"),
                    format!(
                        "CREATE TABLE IF NOT EXISTS {l} (\
                         name TEXT NOT NULL PRIMARY KEY, \
                         owner TEXT NOT NULL, \
                         expires_at_ms BIGINT NOT NULL)"
                    ),
                    format!("CREATE INDEX IF NOT EXISTS {l}_expires_idx ON {l} (expires_at_ms)"),
                    format!(
                        "CREATE TABLE IF NOT EXISTS {o} (\
                         once_value TEXT NOT NULL PRIMARY KEY, \
                         expires_at_ms BIGINT NOT NULL)"
                    ),
                    format!("CREATE INDEX IF NOT EXISTS {o}_expires_idx ON {o} (expires_at_ms)"),
                ];
                // SQLite: the revocation log. AUTOINCREMENT, so a seq is never reused
                // after the purge deletes the highest row. PostgreSQL has `NOTIFY`.
                if self == Self::Sqlite {
                    statements.extend([
                        format!(
                            "CREATE TABLE IF NOT EXISTS {i} (\
                             seq INTEGER PRIMARY KEY AUTOINCREMENT, \
                             message BLOB NOT NULL, \
                             created_at BIGINT NOT NULL)"
                        ),
                        format!("CREATE INDEX IF NOT EXISTS {i}_created_idx ON {i} (created_at)"),
                    ]);
                }
                statements
            }
        }
    }

    /// `INSERT` that affects no row on a key conflict. MySQL's `INSERT IGNORE` would
    /// also swallow other errors (and truncate), so MySQL runs a plain `INSERT` whose
    /// duplicate-key error the store reads as "no row".
    fn insert_if_absent(self, table: &str, columns: &str, values: &str) -> String {
        match self {
            Self::MySql => format!("INSERT INTO {table} ({columns}) VALUES ({values})"),
            Self::Postgres | Self::Sqlite => {
                format!("INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING")
            }
        }
    }

    fn upsert_session(self, s: &str, now: &str) -> String {
        let insert = format!(
            "INSERT INTO {s} (session_key, data, sid, sub, expires_at_ms) \
             VALUES (?, ?, ?, ?, {now} + ?)"
        );
        match self {
            Self::MySql => format!(
                "{insert} ON DUPLICATE KEY UPDATE data = VALUES(data), sid = VALUES(sid), \
                 sub = VALUES(sub), expires_at_ms = VALUES(expires_at_ms)"
            ),
            Self::Postgres | Self::Sqlite => format!(
                "{insert} ON CONFLICT (session_key) DO UPDATE SET data = excluded.data, \
                 sid = excluded.sid, sub = excluded.sub, expires_at_ms = excluded.expires_at_ms"
            ),
        }
    }

    /// Deletes at most `batch` expired rows. PostgreSQL and SQLite (without its
    /// optional `DELETE ... LIMIT`) go through the primary key; MySQL cannot `LIMIT` an
    /// `IN` subquery but has `DELETE ... LIMIT`.
    fn purge(self, table: &str, key: &str, now: &str, batch: u32) -> String {
        match self {
            Self::MySql => {
                format!("DELETE FROM {table} WHERE expires_at_ms <= {now} LIMIT {batch}")
            }
            Self::Postgres | Self::Sqlite => format!(
                "DELETE FROM {table} WHERE {key} IN \
                 (SELECT {key} FROM {table} WHERE expires_at_ms <= {now} LIMIT {batch})"
            ),
        }
    }

    /// The invalidation channel's statements, and the purge of old log rows.
    fn invalidation(self, t: &Tables, batch: u32) -> (InvalidationSql, Option<String>) {
        let i = &t.invalidations;
        let now = self.now_s();
        let purge = match self {
            Self::Postgres => {
                let channel = t.channel.clone();
                return (InvalidationSql::Notify { channel }, None);
            }
            Self::MySql => {
                format!("DELETE FROM {i} WHERE created_at < {now} - {LOG_KEEP_SECS} LIMIT {batch}")
            }
            Self::Sqlite => format!(
                "DELETE FROM {i} WHERE seq IN (SELECT seq FROM {i} \
                 WHERE created_at < {now} - {LOG_KEEP_SECS} LIMIT {batch})"
            ),
        };
        let log = LogSql {
            table: i.clone(),
            insert: format!("INSERT INTO {i} (message, created_at) VALUES (?, {now})"),
            max_seq: format!("SELECT COALESCE(MAX(seq), 0) FROM {i}"),
            read_after: format!(
                "SELECT seq, message FROM {i} WHERE seq > ? ORDER BY seq LIMIT {LOG_READ_LIMIT}"
            ),
        };
        (InvalidationSql::Log(log), Some(purge))
    }

    pub(super) fn queries(self, t: &Tables, batch: u32) -> Queries {
        let now = self.now_ms();
        let Tables {
            sessions: s,
            leases: l,
            once: o,
            ..
        } = t;
        let (invalidation, purge_log) = self.invalidation(t, batch);
        let q = |sql: String| self.finish(sql);
        Queries {
            schema: self.schema(t),
            get: q(format!(
                "SELECT data FROM {s} WHERE session_key = ? AND expires_at_ms > {now}"
            )),
            put: q(self.upsert_session(s, now)),
            replace: q(format!(
                "UPDATE {s} SET data = ?, sid = ?, sub = ?, expires_at_ms = {now} + ? \
                 WHERE session_key = ? AND data = ? AND expires_at_ms > {now}"
            )),
            remove: q(format!("DELETE FROM {s} WHERE session_key = ?")),
            remove_by_sid: q(format!(
                "DELETE FROM {s} WHERE sid = ? AND expires_at_ms > {now}"
            )),
            remove_by_sub: q(format!(
                "DELETE FROM {s} WHERE sub = ? AND expires_at_ms > {now}"
            )),
            remove_by_sub_without_sid: q(format!(
                "DELETE FROM {s} WHERE sub = ? AND sid IS NULL AND expires_at_ms > {now}"
            )),
            sessions_of: q(format!(
                "SELECT session_key, data FROM {s} WHERE sub = ? AND expires_at_ms > {now}"
            )),
            lease_clear_expired: q(format!(
                "DELETE FROM {l} WHERE name = ? AND expires_at_ms <= {now}"
            )),
            lease_insert: q(self.insert_if_absent(
                l,
                "name, owner, expires_at_ms",
                &format!("?, ?, {now} + ?"),
            )),
            lease_extend: q(format!(
                "UPDATE {l} SET expires_at_ms = {now} + ? WHERE name = ? AND owner = ?"
            )),
            unlock: q(format!("DELETE FROM {l} WHERE name = ? AND owner = ?")),
            once_clear_expired: q(format!(
                "DELETE FROM {o} WHERE once_value = ? AND expires_at_ms <= {now}"
            )),
            once_insert: q(self.insert_if_absent(
                o,
                "once_value, expires_at_ms",
                &format!("?, {now} + ?"),
            )),
            purge: [
                self.purge(s, "session_key", now, batch),
                self.purge(l, "name", now, batch),
                self.purge(o, "once_value", now, batch),
            ]
            .into_iter()
            .chain(purge_log)
            .collect(),
            invalidation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_prefixes_must_be_plain_identifiers() {
        for ok in ["axum_oidc", "_x", "A1_b2", &"a".repeat(MAX_PREFIX_LEN)] {
            assert!(Tables::new(ok).is_some(), "{ok}");
        }
        let too_long = "a".repeat(MAX_PREFIX_LEN + 1);
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "a;DROP TABLE x",
            "a\"b",
            "a.b",
            "é",
            &too_long,
        ] {
            assert!(Tables::new(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        let t = Tables::new("t").unwrap();
        let q = Dialect::Postgres.queries(&t, 10);
        assert!(q.put.contains("VALUES ($1, $2, $3, $4, "), "{}", q.put);
        assert!(q.put.contains(" + $5)"), "{}", q.put);
        assert!(!q.lease_extend.contains('?'));
        let m = Dialect::MySql.queries(&t, 10);
        assert!(m.put.contains("VALUES (?, ?, ?, ?, "));
    }

    #[test]
    fn purges_are_bounded_by_the_batch_size() {
        let t = Tables::new("t").unwrap();
        for d in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            for sql in d.queries(&t, 123).purge {
                assert!(sql.contains("LIMIT 123"), "{sql}");
            }
        }
    }

    #[test]
    fn mysql_and_sqlite_keep_a_revocation_log_and_postgres_notifies() {
        let t = Tables::new("p").unwrap();
        for d in [Dialect::MySql, Dialect::Sqlite] {
            let q = d.queries(&t, 10);
            assert!(
                q.schema
                    .iter()
                    .any(|s| s.contains("EXISTS p_invalidations")),
                "{d:?}"
            );
            let InvalidationSql::Log(log) = &q.invalidation else {
                panic!("{d:?} has no log");
            };
            assert_eq!(log.table, "p_invalidations");
            let purge = q.purge.last().unwrap();
            assert!(
                purge.contains("p_invalidations") && purge.contains(&format!("- {LOG_KEEP_SECS}")),
                "{purge}"
            );
        }
        let pg = Dialect::Postgres.queries(&t, 10);
        assert!(!pg.schema.iter().any(|s| s.contains("invalidations")));
        assert_eq!(pg.purge.len(), 3);
        assert!(
            matches!(&pg.invalidation, InvalidationSql::Notify { channel } if channel == "p_invalidate")
        );
    }
}
