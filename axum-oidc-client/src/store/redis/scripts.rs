//! The Lua scripts of the multi-key operations. Each runs atomically
//! ([Redis scripting](https://redis.io/docs/latest/develop/interact/programmability/eval-intro/));
//! every key one script touches, declared or built from a prefix, is in one group of
//! the [`KeyLayout`](super::keys::KeyLayout), so in a cluster in one hash slot.

use std::sync::LazyLock;

use ::redis::Script;

/// An index set larger than this is pruned of members whose session has expired when
/// it is next written, so a long-lived subject's set does not grow without bound.
pub(crate) const PRUNE_ABOVE: usize = 64;

/// `KEYS[1]` session, `KEYS[2..]` index sets; `ARGV`: encoded record, TTL in ms, the
/// session key (the set member), the session key prefix, the prune threshold.
/// Index sets live at least as long as the session they point to.
const PUT_BODY: &str = r"
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do
  local index = KEYS[i]
  redis.call('SADD', index, ARGV[3])
  if redis.call('SCARD', index) > tonumber(ARGV[5]) then
    for _, member in ipairs(redis.call('SMEMBERS', index)) do
      if redis.call('EXISTS', ARGV[4] .. member) == 0 then
        redis.call('SREM', index, member)
      end
    end
  end
  if redis.call('PTTL', index) < ttl then
    redis.call('PEXPIRE', index, ttl)
  end
end
return 1
";

/// [`PUT_BODY`].
pub(crate) static PUT: LazyLock<Script> = LazyLock::new(|| Script::new(PUT_BODY));

/// [`PUT_BODY`] with one more argument, `ARGV[6]`: the stored bytes the caller read.
/// Writes only if the session still holds exactly those bytes (an absent or expired
/// key reads as `false`, which never equals them); returns 1 if it wrote, else 0.
pub(crate) static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "if redis.call('GET', KEYS[1]) ~= ARGV[6] then\n  return 0\nend\n{PUT_BODY}"
    ))
});

/// `KEYS` sessions, `ARGV` the bytes read from each. Deletes each session that still
/// holds exactly those bytes; returns how many it deleted.
pub(crate) static REMOVE_UNCHANGED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local removed = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    removed = removed + redis.call('DEL', KEYS[i])
  end
end
return removed
",
    )
});

/// `KEYS[1]` index set; `ARGV[1]` session key prefix. Deletes every session in the
/// set, then the set; returns how many sessions existed.
pub(crate) static REMOVE_INDEXED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local removed = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  removed = removed + redis.call('DEL', ARGV[1] .. member)
end
redis.call('DEL', KEYS[1])
return removed
",
    )
});

/// `KEYS[1]` lease; `ARGV`: owner, lease in ms. Takes a free lease or extends our own.
pub(crate) static LOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
",
    )
});

/// `KEYS[1]` lease; `ARGV[1]` owner. Deletes the lease only if `owner` holds it.
pub(crate) static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});
