//! Key names, and which keys share a Redis Cluster hash slot.

use super::super::remote::once_digest;
use crate::session::SessionKey;

/// How many slot groups a clustered store spreads its sessions over. Sixteen spreads
/// them over up to sixteen primaries while keeping `remove_by_sid`/`remove_by_sub` at
/// sixteen small scripts.
pub(crate) const CLUSTER_GROUPS: usize = 16;

/// The key names under one prefix.
///
/// A session and the index entries that point to it live in one *group*: on one
/// server there is one group, whose keys carry no hash tag (the names are those of
/// earlier releases); in a cluster there are [`CLUSTER_GROUPS`], each with its own
/// [hash tag](https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags)
/// `{g0}` … `{g15}` (hex), so every key of a group hashes to one slot.
pub(crate) struct KeyLayout {
    pub(crate) prefix: String,
    /// Per group: the prefix of its session keys, `{prefix}[{gN}]session:` (also
    /// passed to the scripts, which build session keys from set members).
    sessions: Vec<String>,
    /// Per group: `{prefix}[{gN}]`.
    groups: Vec<String>,
}

impl KeyLayout {
    /// One untagged group (one server or Sentinel).
    pub(crate) fn standalone(prefix: String) -> Self {
        Self::with_groups(prefix.clone(), vec![prefix])
    }

    /// [`CLUSTER_GROUPS`] hash-tagged groups.
    pub(crate) fn cluster(prefix: String) -> Self {
        let groups = (0..CLUSTER_GROUPS)
            .map(|g| format!("{prefix}{{g{g:x}}}"))
            .collect();
        Self::with_groups(prefix, groups)
    }

    fn with_groups(prefix: String, groups: Vec<String>) -> Self {
        let sessions = groups.iter().map(|g| format!("{g}session:")).collect();
        Self {
            prefix,
            sessions,
            groups,
        }
    }

    /// The groups, by index.
    pub(crate) fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The group of a session: FNV-1a of its key (SessionKeys are uniform digests,
    /// so any stable hash spreads them evenly).
    pub(crate) fn group_of(&self, key: &SessionKey) -> usize {
        let mut h: u32 = 0x811c_9dc5;
        for b in key.as_str().bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        h as usize % self.groups.len()
    }

    /// The session-key prefix of group `g`.
    pub(crate) fn session_prefix(&self, g: usize) -> &str {
        &self.sessions[g]
    }

    pub(crate) fn session(&self, key: &SessionKey) -> String {
        format!("{}{}", self.sessions[self.group_of(key)], key.as_str())
    }

    pub(crate) fn sid(&self, g: usize, sid: &str) -> String {
        format!("{}sid:{sid}", self.groups[g])
    }

    pub(crate) fn sub(&self, g: usize, sub: &str) -> String {
        format!("{}sub:{sub}", self.groups[g])
    }

    pub(crate) fn lease(&self, name: &str) -> String {
        format!("{}lease:{name}", self.prefix)
    }

    pub(crate) fn once(&self, value: &str) -> String {
        format!("{}once:{}", self.prefix, once_digest(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::new_session_id;

    /// The hash tag of a key as Redis Cluster reads it: the part between the first
    /// `{` and the next `}`, if not empty.
    fn hash_tag(key: &str) -> &str {
        if let Some(open) = key.find('{')
            && let Some(len) = key[open + 1..].find('}')
            && len > 0
        {
            return &key[open + 1..open + 1 + len];
        }
        key
    }

    #[test]
    fn standalone_keys_keep_their_untagged_names() {
        let keys = KeyLayout::standalone("p:".into());
        let k = SessionKey::from_stored("abc");
        assert_eq!(keys.group_count(), 1);
        assert_eq!(keys.session(&k), "p:session:abc");
        assert_eq!(keys.sub(0, "alice"), "p:sub:alice");
        assert_eq!(keys.sid(0, "s1"), "p:sid:s1");
        assert_eq!(keys.session_prefix(0), "p:session:");
        assert_eq!(keys.lease("l"), "p:lease:l");
    }

    #[test]
    fn a_clustered_session_and_its_index_entries_share_one_hash_tag() {
        let keys = KeyLayout::cluster("axum_oidc:".into());
        for _ in 0..100 {
            let k = SessionKey::of(&new_session_id());
            let g = keys.group_of(&k);
            let session = keys.session(&k);
            assert!(session.starts_with(keys.session_prefix(g)), "{session}");
            assert_eq!(hash_tag(&session), hash_tag(&keys.sub(g, "alice")));
            assert_eq!(hash_tag(&session), hash_tag(&keys.sid(g, "{odd}")));
            assert_eq!(hash_tag(&session), format!("g{g:x}"));
        }
    }

    #[test]
    fn clustered_sessions_spread_over_every_group() {
        let keys = KeyLayout::cluster("p:".into());
        let mut seen = [0usize; CLUSTER_GROUPS];
        for _ in 0..1600 {
            seen[keys.group_of(&SessionKey::of(&new_session_id()))] += 1;
        }
        assert!(seen.iter().all(|&n| n > 40), "{seen:?}");
    }
}
