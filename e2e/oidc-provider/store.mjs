// Storage for server.mjs: a plain in-memory oidc-provider adapter. We keep our
// own (instead of the built-in one) so that the admin endpoints can enumerate
// sessions by subject (liveSessions). One store per process; a restart forgets
// everything.

const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }

function alive(entry) {
  return entry !== undefined && (entry.expiresAt === undefined || entry.expiresAt > Date.now());
}

// The adapter interface of oidc-provider (its `adapter` configuration option):
// one instance per model name (Session, Grant, AccessToken, ...).
export class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), {
      payload,
      expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
    });
  }

  async find(id) {
    const entry = store.get(this.key(id));
    if (!alive(entry)) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findBy(field, value) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && alive(entry) && entry.payload[field] === value) {
        return entry.payload;
      }
    }
    return undefined;
  }

  findByUid(uid) {
    return this.findBy('uid', uid);
  }

  findByUserCode(userCode) {
    return this.findBy('userCode', userCode);
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && entry.payload.grantId === grantId) {
        store.delete(key);
      }
    }
  }
}

// The payloads of the live provider sessions, in insertion order: those of
// `sub` when it is a string, else all of them.
export function liveSessions(sub) {
  const out = [];
  for (const [key, entry] of store) {
    if (!key.startsWith('Session:') || !alive(entry)) continue;
    if (typeof sub === 'string' && entry.payload.accountId !== sub) continue;
    out.push(entry.payload);
  }
  return out;
}
