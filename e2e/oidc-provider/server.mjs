// Test-only OpenID Provider for axum-oidc-client's interop tests.
//
// Wraps the `oidc-provider` npm package (an OpenID Certified implementation)
// with a configuration surface small enough to drive from Rust tests:
//
//   OP_CONFIG='{"port":0,"clients":[...]}' node e2e/oidc-provider/server.mjs
//   node e2e/oidc-provider/server.mjs '{"clients":[...]}'     # JSON argument
//   node e2e/oidc-provider/server.mjs ./some-config.json      # file argument
//
// Contract with the caller:
//   * stdout carries exactly one line, `READY <issuer>`, once the server is
//     listening. Everything else (oidc-provider notices included) goes to
//     stderr.
//   * the process exits when its stdin reaches EOF (so a crashed test runner
//     never leaves it behind), on SIGINT / SIGTERM, or on a fatal error.
//     Set OP_KEEP_STDIN_CLOSED=1 to keep running with a closed stdin (e.g. when
//     started from a shell script with `</dev/null`).
//
// NEVER use this configuration outside tests: it disables SSRF protection for
// loopback addresses, accepts any username/password and trusts every client.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

// oidc-provider prints its "NOTICE" lines with console.info, which is stdout.
// stdout is reserved for the READY line, so route all console output to stderr
// before the library is loaded.
for (const level of ['log', 'info', 'debug']) {
  console[level] = (...args) => console.error(...args);
}

// Startup progress on stderr, so that a start that stalls on a busy machine
// shows in the caller's report which step it reached.
const startedAt = Date.now();
function progress(step) {
  console.error(`[server.mjs] +${Date.now() - startedAt} ms ${step}`);
}

const { default: Provider, errors } = await import('oidc-provider');
progress('oidc-provider loaded');

// ---------------------------------------------------------------------------
// configuration
// ---------------------------------------------------------------------------

function readConfig() {
  let raw = process.argv[2] ?? process.env.OP_CONFIG ?? '{}';
  raw = raw.trim();
  if (raw !== '' && !raw.startsWith('{')) {
    raw = fs.readFileSync(raw, 'utf8');
  }
  const parsed = raw === '' ? {} : JSON.parse(raw);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TypeError('OP_CONFIG must be a JSON object');
  }
  return parsed;
}

const config = readConfig();

const KNOWN_KEYS = new Set([
  'port', 'clients', 'accessTokenTtl', 'idTokenTtl', 'refreshTokenTtl', 'sessionTtl',
  'rotateRefreshToken', 'refreshTokenPolicy', 'jwtAccessTokens', 'claims',
  'requirePushedAuthorizationRequests', 'pushedAuthorizationRequests', 'dpop', 'fapi',
]);
for (const key of Object.keys(config)) {
  if (!KNOWN_KEYS.has(key)) {
    throw new TypeError(`unknown OP_CONFIG key ${JSON.stringify(key)}; known keys: ${[...KNOWN_KEYS].join(', ')}`);
  }
}

function seconds(name, fallback) {
  const value = config[name];
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`OP_CONFIG.${name} must be a positive integer (seconds)`);
  }
  return value;
}

const port = config.port ?? 0;
const accessTokenTtl = seconds('accessTokenTtl', 3600);
const idTokenTtl = seconds('idTokenTtl', 3600);
const refreshTokenTtl = seconds('refreshTokenTtl', 24 * 3600);
const sessionTtl = seconds('sessionTtl', 24 * 3600);
const rotateRefreshToken = config.rotateRefreshToken ?? (config.fapi !== '2.0');
// 'always': any client allowed the refresh_token grant gets a refresh token
//           from the authorization_code grant, with or without offline_access.
// 'offline_access': stock oidc-provider behaviour, a refresh token only when
//           the offline_access scope survived (which needs prompt=consent).
const refreshTokenPolicy = config.refreshTokenPolicy ?? 'always';
if (!['always', 'offline_access'].includes(refreshTokenPolicy)) {
  throw new TypeError('OP_CONFIG.refreshTokenPolicy must be "always" or "offline_access"');
}

// RFC 9126. `pushedAuthorizationRequests: false` turns the PAR endpoint off
// (discovery then has no pushed_authorization_request_endpoint), for tests of a
// client that needs PAR against a provider without it.
const parEnabled = config.pushedAuthorizationRequests ?? true;
if (typeof parEnabled !== 'boolean') {
  throw new TypeError('OP_CONFIG.pushedAuthorizationRequests must be a boolean');
}

// RFC 9449 (DPoP).
//   absent          oidc-provider's default: DPoP on, no nonce.
//   true            DPoP on, no nonce (the same, said explicitly).
//   {nonce: true}   DPoP on, and every proof must carry a server nonce
//                   (RFC 9449 section 8): a proof without one is answered with
//                   `400 use_dpop_nonce` and a `DPoP-Nonce` header.
//   false           DPoP off: discovery has no dpop_signing_alg_values_supported
//                   and a DPoP header is ignored.
const dpop = config.dpop ?? true;
if (!(typeof dpop === 'boolean' || (dpop !== null && typeof dpop === 'object' && !Array.isArray(dpop)))) {
  throw new TypeError('OP_CONFIG.dpop must be true, false or {"nonce": true}');
}
for (const key of Object.keys(typeof dpop === 'object' ? dpop : {})) {
  if (key !== 'nonce') throw new TypeError(`unknown OP_CONFIG.dpop key ${JSON.stringify(key)}; known keys: nonce`);
}
const dpopEnabled = dpop !== false;
const dpopNonce = typeof dpop === 'object' && dpop.nonce === true;

// FAPI 2.0 Security Profile (https://openid.net/specs/fapi-security-profile-2_0-final.html,
// section 5.3.1: authorization servers; 5.4: cryptography). `fapi: "2.0"` sets
// oidc-provider's `features.fapi` profile '2.0', which by itself only enforces:
// PKCE on every authorization request (S256 being the only method it has);
// `aud` of a private_key_jwt assertion equal to the issuer identifier, not the
// token endpoint; `redirect_uri` sent even when only one is registered;
// `exp`/`nbf`/`aud` in request objects; no access token in a query string.
// Everything else the profile asks of a server is configuration, which this
// harness adds with fapi "2.0":
//   * PAR required (an explicit `requirePushedAuthorizationRequests: false` or
//     `pushedAuthorizationRequests: false` is refused);
//   * sender-constrained access tokens: DPoP stays on (mTLS needs TLS, not
//     served here) and clients default to `dpop_bound_access_tokens: true`
//     (`false` is refused), so a token request without a DPoP proof fails;
//   * confidential clients with private_key_jwt only (`clientAuthMethods`);
//   * PS256, ES256, EdDSA only (client assertions, ID tokens, request objects,
//     userinfo, DPoP proofs); ID tokens and JWT access tokens default to ES256;
//   * no refresh token rotation unless `rotateRefreshToken` says so (the profile:
//     "shall not use refresh token rotation except in extraordinary circumstances").
// Always on in oidc-provider 9: `iss` in the authorization response (RFC 9207);
// authorization codes live 60 s here (the profile's maximum).
const fapi = config.fapi ?? null;
if (fapi !== null && fapi !== '2.0') {
  throw new TypeError('OP_CONFIG.fapi must be "2.0" (the FAPI 2.0 Security Profile)');
}
const FAPI2_ALGS = ['PS256', 'ES256', 'Ed25519', 'EdDSA'];
if (fapi) {
  if (!dpopEnabled) {
    throw new TypeError('OP_CONFIG.fapi "2.0" needs a sender constraint: leave dpop on');
  }
  if (!parEnabled || config.requirePushedAuthorizationRequests === false) {
    throw new TypeError('OP_CONFIG.fapi "2.0" requires pushed authorization requests');
  }
}
const requirePar = fapi ? true : config.requirePushedAuthorizationRequests === true;
if (requirePar && !parEnabled) {
  throw new TypeError('OP_CONFIG.requirePushedAuthorizationRequests needs pushedAuthorizationRequests on');
}

const DEFAULT_CLIENTS = [{
  client_id: 'test-client',
  client_secret: 'test-client-secret-0123456789abcdef',
  redirect_uris: ['http://127.0.0.1:3000/auth/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1:3000/'],
}];
const clients = config.clients ?? DEFAULT_CLIENTS;
if (!Array.isArray(clients)) {
  throw new TypeError('OP_CONFIG.clients must be an array of client metadata objects');
}
if (fapi) {
  for (const client of clients) {
    if (client?.dpop_bound_access_tokens === false) {
      throw new TypeError(`OP_CONFIG.fapi "2.0": client ${JSON.stringify(client.client_id)} must not set dpop_bound_access_tokens: false`);
    }
  }
}

let resourceServer;
if (config.jwtAccessTokens) {
  const jat = config.jwtAccessTokens;
  if (typeof jat.resource !== 'string' || !URL.canParse(jat.resource)) {
    throw new TypeError('OP_CONFIG.jwtAccessTokens.resource must be an absolute URI');
  }
  resourceServer = {
    resource: jat.resource,
    audience: jat.audience ?? jat.resource,
    scope: jat.scope ?? 'api:read api:write',
    alg: jat.alg ?? (fapi ? 'ES256' : 'RS256'),
    // apply the resource even when the client does not send `resource=`
    byDefault: jat.default ?? true,
  };
}

// ---------------------------------------------------------------------------
// storage: a plain in-memory adapter. We keep our own (instead of the
// built-in one) so that the admin endpoint can enumerate sessions by subject.
// ---------------------------------------------------------------------------

const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }

function alive(entry) {
  return entry !== undefined && (entry.expiresAt === undefined || entry.expiresAt > Date.now());
}

class TestAdapter {
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

function sessionsOf(sub) {
  const out = [];
  for (const [key, entry] of store) {
    if (key.startsWith('Session:') && alive(entry) && entry.payload.accountId === sub) {
      out.push(entry.payload);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// signing keys: fresh per process, one of each family so that any
// id_token_signed_response_alg a test registers (RS*, PS*, ES256, EdDSA) works.
// The first key (RSA) is the default for RS256.
// ---------------------------------------------------------------------------

function jwk(type, options) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const key = privateKey.export({ format: 'jwk' });
  key.use = 'sig';
  return key;
}

const jwks = {
  keys: [
    jwk('rsa', { modulusLength: 2048 }),
    jwk('ec', { namedCurve: 'P-256' }),
    jwk('ed25519'),
  ],
};
progress('signing keys generated');

// ---------------------------------------------------------------------------
// test statistics, exposed by GET /__stats
// ---------------------------------------------------------------------------

function freshStats() {
  return {
    authorization_code_grants: 0,
    refresh_grants: 0,
    grant_errors: [],
    refresh_tokens_consumed: 0,
    revocations: 0,
    grants_revoked: 0,
    end_sessions: 0,
    backchannel_logouts_sent: 0,
    backchannel_logouts: [],
    backchannel_errors: [],
    pushed_authorization_requests: 0,
    // RFC 9449 section 10: the dpop_jkt each pushed request was bound to (the
    // thumbprint of the DPoP proof sent to the PAR endpoint), null if none.
    pushed_dpop_jkts: [],
    // every access token issued (any grant), and those bound to a DPoP key
    // (`cnf.jkt`, token_type DPoP) with their jkt values in issue order
    access_tokens_issued: 0,
    dpop_bound_access_tokens: 0,
    dpop_jkts: [],
    // error answers that carried a DPoP-Nonce header (RFC 9449 sections 8, 9):
    // [{endpoint, status}], endpoint being oidc-provider's route name
    // ("token", "pushed_authorization_request", "userinfo", ...)
    dpop_nonce_challenges: [],
  };
}
let stats = freshStats();

// ---------------------------------------------------------------------------
// the provider
// ---------------------------------------------------------------------------

// Bind first so that port 0 resolves to a real port before the issuer (which
// must contain it) is fixed.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;
progress(`listening on ${issuer}`);

const profileClaims = config.claims ?? {};

const provider = new Provider(issuer, {
  adapter: TestAdapter,
  clients,
  clientDefaults: {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: fapi ? 'private_key_jwt' : 'client_secret_basic',
    id_token_signed_response_alg: fapi ? 'ES256' : 'RS256',
    ...(fapi ? { dpop_bound_access_tokens: true } : {}),
  },
  ...(fapi ? {
    clientAuthMethods: ['private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: FAPI2_ALGS,
      idTokenSigningAlgValues: FAPI2_ALGS,
      requestObjectSigningAlgValues: FAPI2_ALGS,
      userinfoSigningAlgValues: FAPI2_ALGS,
      dPoPSigningAlgValues: FAPI2_ALGS,
    },
  } : {}),
  jwks,
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
  },
  responseTypes: ['code'],
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    sid: null,
    acr: null,
    auth_time: null,
  },
  async findAccount(ctx, sub) {
    // devInteractions: whatever was typed as "login" becomes the subject.
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: sub,
          preferred_username: sub,
          email: `${sub}@example.test`,
          email_verified: true,
          ...(profileClaims[sub] ?? {}),
        };
      },
    };
  },
  pkce: {
    // Every client must use PKCE; oidc-provider only implements S256.
    required: () => true,
  },
  features: {
    devInteractions: { enabled: true },
    // RFC 9126; OP_CONFIG.requirePushedAuthorizationRequests refuses the front channel.
    pushedAuthorizationRequests: {
      enabled: parEnabled,
      requirePushedAuthorizationRequests: requirePar,
    },
    // RFC 9449; see OP_CONFIG.dpop above
    dPoP: {
      enabled: dpopEnabled,
      ...(dpopNonce ? {
        nonceSecret: crypto.randomBytes(32),
        requireNonce: () => true,
      } : {}),
    },
    // FAPI 2.0 Security Profile; see OP_CONFIG.fapi above
    fapi: fapi ? { enabled: true, profile: '2.0' } : { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // Bare-bones pages (the stock ones print a notice on every use). The
      // "sign out?" page keeps oidc-provider's form (id op.logoutForm, hidden
      // xsrf); the user confirms with logout=yes.
      async logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html><html><head><title>Sign out</title></head><body>
<h1>Sign out of ${escapeHtml(ctx.host)}?</h1>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>
</body></html>`;
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'html';
        ctx.body = '<!DOCTYPE html><html><head><title>Signed out</title></head><body><h1 id="op-signed-out">Signed out</h1></body></html>';
      },
    },
    backchannelLogout: { enabled: true },
    revocation: {
      enabled: true,
      // A client may revoke its own tokens (the library's default asks for a
      // stricter policy and prints a notice every time).
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        return resourceServer?.byDefault ? resourceServer.resource : undefined;
      },
      // Without this, a code obtained for `openid` + resource would still get
      // an opaque (userinfo) access token unless the token request repeats
      // `resource=`. With it, the access token follows the granted resource.
      async useGrantedResource() {
        return resourceServer !== undefined;
      },
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceServer && resourceIndicator === resourceServer.resource) {
          return {
            scope: resourceServer.scope,
            audience: resourceServer.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: resourceServer.alg } },
          };
        }
        throw new errors.InvalidTarget();
      },
    },
  },
  async issueRefreshToken(ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    if (refreshTokenPolicy === 'always') return true;
    return code.scopes.has('offline_access');
  },
  rotateRefreshToken,
  ttl: {
    AccessToken: () => accessTokenTtl,
    IdToken: idTokenTtl,
    RefreshToken: (ctx, token) => {
      // a rotated refresh token inherits what was left of its predecessor
      const rotated = ctx?.oidc?.entities?.RotatedRefreshToken;
      return rotated ? Math.max(rotated.remainingTTL, 1) : refreshTokenTtl;
    },
    AuthorizationCode: 60,
    Interaction: 600,
    Session: sessionTtl,
    Grant: refreshTokenTtl,
  },
  // TEST HARNESS ONLY: oidc-provider hands every outgoing request (back-channel
  // logout POSTs, jwks_uri / sector_identifier_uri fetches) a custom undici
  // dispatcher via `options.dispatcher`; that dispatcher destroys any socket
  // whose peer is a special-use address (127.0.0.0/8, ::1, RFC 1918, ...).
  // The test relying parties all listen on 127.0.0.1, so drop the dispatcher
  // and use Node's default one. A real deployment must never do this.
  fetch(url, options) {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  renderError(ctx, out) {
    // plain, parseable error page (tests look at the text, not the HTML)
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>oidc-provider error</title></head><body><pre id="op-error">${
      Object.entries(out).map(([k, v]) => `${escapeHtml(k)}: ${escapeHtml(String(v))}`).join('\n')
    }</pre></body></html>`;
  },
});

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

provider.on('grant.success', (ctx) => {
  const gty = ctx.oidc.params?.grant_type;
  if (gty === 'authorization_code') stats.authorization_code_grants += 1;
  if (gty === 'refresh_token') stats.refresh_grants += 1;
});
provider.on('grant.error', (ctx, err) => {
  stats.grant_errors.push({
    grant_type: ctx.oidc?.params?.grant_type ?? null,
    error: err.error ?? err.name,
    error_description: err.error_description ?? err.message,
    // the specific reason, which oidc-provider keeps out of the response
    // (e.g. "refresh token already used")
    error_detail: err.error_detail ?? null,
  });
});
// Log line numbers count since the start (stats resets do not restart them).
let pushedSinceStart = 0;
let accessTokensSinceStart = 0;
provider.on('pushed_authorization_request.success', (ctx, client) => {
  stats.pushed_authorization_requests += 1;
  pushedSinceStart += 1;
  const jkt = ctx.oidc?.entities?.PushedAuthorizationRequest?.dpopJkt ?? null;
  stats.pushed_dpop_jkts.push(jkt);
  console.error(`[server.mjs] pushed authorization request #${pushedSinceStart} `
    + `client=${client.clientId} ${jkt ? `dpop_jkt=${jkt}` : 'no dpop_jkt'}`);
});
// An access token is `saved` when opaque (stored), `issued` when a JWT (not
// stored). Only its jkt (a public key thumbprint) and metadata are logged,
// never its value.
function accessTokenIssued(token) {
  stats.access_tokens_issued += 1;
  accessTokensSinceStart += 1;
  const jkt = token.jkt ?? null;
  if (jkt) {
    stats.dpop_bound_access_tokens += 1;
    stats.dpop_jkts.push(jkt);
  }
  // `gty` lists the grant's history ("authorization_code refresh_token" after a
  // refresh); the last one is the grant that issued this token
  const grant = token.gty?.split(' ').at(-1) ?? '?';
  console.error(`[server.mjs] access token #${accessTokensSinceStart} issued `
    + `client=${token.clientId} grant=${grant} `
    + `${jkt ? `DPoP-bound jkt=${jkt}` : 'NOT DPoP-bound (Bearer)'}`);
}
provider.on('access_token.saved', accessTokenIssued);
provider.on('access_token.issued', accessTokenIssued);
provider.on('refresh_token.consumed', () => { stats.refresh_tokens_consumed += 1; });
provider.on('grant.revoked', () => { stats.grants_revoked += 1; });
provider.on('end_session.success', () => { stats.end_sessions += 1; });
provider.on('backchannel.success', (ctx, client, sub, sid) => {
  stats.backchannel_logouts_sent += 1;
  stats.backchannel_logouts.push({ client_id: client.clientId, sub, sid: sid ?? null });
});
provider.on('backchannel.error', (ctx, err, client, sub, sid) => {
  stats.backchannel_errors.push({
    client_id: client.clientId, sub, sid: sid ?? null, error: String(err?.cause ?? err?.message ?? err),
  });
});
provider.on('server_error', (ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

// ---------------------------------------------------------------------------
// admin endpoints (test only), served by the same koa app under /__
// ---------------------------------------------------------------------------

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

// Ends every session of `sub` the way the confirm step of RP-initiated logout
// does with logout=yes: back-channel logout to each client of the session that
// registered a backchannel_logout_uri, revoke the grants, drop the session.
// Like oidc-provider itself, grants whose tokens outlive the session (an
// offline_access grant: `persistsLogout`) are kept unless revokeOffline is set.
async function logoutSubject(sub, revokeOffline) {
  const sessions = sessionsOf(sub);
  const notified = [];
  for (const session of sessions) {
    for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
      const client = await provider.Client.find(clientId);
      if (!client) continue;
      if (client.backchannelLogoutUri) {
        try {
          await client.backchannelLogout(sub, authorization.sid);
          stats.backchannel_logouts_sent += 1;
          stats.backchannel_logouts.push({ client_id: clientId, sub, sid: authorization.sid ?? null });
          notified.push({ client_id: clientId, sid: authorization.sid ?? null, ok: true });
        } catch (err) {
          const error = String(err?.cause ?? err?.message ?? err);
          stats.backchannel_errors.push({ client_id: clientId, sub, sid: authorization.sid ?? null, error });
          notified.push({ client_id: clientId, sid: authorization.sid ?? null, ok: false, error });
        }
      }
      if (authorization.grantId && (revokeOffline || !authorization.persistsLogout)) {
        await Promise.all([
          provider.AccessToken.revokeByGrantId(authorization.grantId),
          provider.RefreshToken.revokeByGrantId(authorization.grantId),
          provider.AuthorizationCode.revokeByGrantId(authorization.grantId),
          provider.Grant.adapter.destroy(authorization.grantId),
        ]);
        stats.grants_revoked += 1;
      }
    }
    await provider.Session.adapter.destroy(session.jti);
  }
  return { sub, sessions_ended: sessions.length, backchannel: notified };
}

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/__')) {
    await next();
    if (ctx.status >= 400 && ctx.response.get('DPoP-Nonce')) {
      stats.dpop_nonce_challenges.push({ endpoint: ctx.oidc?.route ?? ctx.path, status: ctx.status });
    }
    if (ctx.method === 'POST' && ctx.path === '/token/revocation' && ctx.status === 200) {
      stats.revocations += 1;
    }
    return;
  }

  if (ctx.method === 'GET' && ctx.path === '/__stats') {
    return json(ctx, 200, stats);
  }
  if (ctx.method === 'POST' && ctx.path === '/__stats/reset') {
    stats = freshStats();
    return json(ctx, 200, stats);
  }
  if (ctx.method === 'POST' && ctx.path === '/__logout') {
    const sub = ctx.query.sub;
    if (typeof sub !== 'string' || sub === '') {
      return json(ctx, 400, { error: 'sub query parameter required' });
    }
    const revokeOffline = ['1', 'true', 'yes'].includes(String(ctx.query.revoke_offline ?? ''));
    return json(ctx, 200, await logoutSubject(sub, revokeOffline));
  }
  if (ctx.method === 'GET' && ctx.path === '/__sessions') {
    const sub = ctx.query.sub;
    const list = [];
    for (const [key, entry] of store) {
      if (!key.startsWith('Session:') || !alive(entry)) continue;
      if (typeof sub === 'string' && entry.payload.accountId !== sub) continue;
      list.push({
        sub: entry.payload.accountId ?? null,
        clients: Object.fromEntries(Object.entries(entry.payload.authorizations ?? {})
          .map(([clientId, a]) => [clientId, { sid: a.sid ?? null, grant_id: a.grantId ?? null }])),
      });
    }
    return json(ctx, 200, list);
  }
  return json(ctx, 404, { error: 'unknown admin endpoint' });
});

// ---------------------------------------------------------------------------
// start / stop
// ---------------------------------------------------------------------------

server.on('request', provider.callback());
progress('provider configured');

function shutdown(code) {
  server.close();
  server.closeAllConnections?.();
  process.exit(code);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

if (process.env.OP_KEEP_STDIN_CLOSED !== '1') {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();
}

process.stdout.write(`READY ${issuer}\n`);
