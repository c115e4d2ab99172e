// OP_CONFIG for server.mjs: reads it (environment, JSON argument or file
// argument), refuses unknown keys and bad values, and turns it into the
// settings the provider is built from. Importing this module has no side
// effects; server.mjs calls readSettings() once, at start-up.

import * as fs from 'node:fs';

// FAPI 2.0 Security Profile section 5.4: the algorithms allowed with fapi "2.0".
export const FAPI2_ALGS = ['PS256', 'ES256', 'Ed25519', 'EdDSA'];

const KNOWN_KEYS = new Set([
  'port', 'clients', 'accessTokenTtl', 'idTokenTtl', 'refreshTokenTtl', 'sessionTtl',
  'rotateRefreshToken', 'refreshTokenPolicy', 'jwtAccessTokens', 'claims',
  'requirePushedAuthorizationRequests', 'pushedAuthorizationRequests', 'dpop', 'fapi',
]);

const DEFAULT_CLIENTS = [{
  client_id: 'test-client',
  client_secret: 'test-client-secret-0123456789abcdef',
  redirect_uris: ['http://127.0.0.1:3000/auth/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1:3000/'],
}];

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

function seconds(config, name, fallback) {
  const value = config[name];
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`OP_CONFIG.${name} must be a positive integer (seconds)`);
  }
  return value;
}

// Reads and checks OP_CONFIG; throws a TypeError naming the bad key.
export function readSettings() {
  const config = readConfig();

  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new TypeError(`unknown OP_CONFIG key ${JSON.stringify(key)}; known keys: ${[...KNOWN_KEYS].join(', ')}`);
    }
  }

  const port = config.port ?? 0;
  const accessTokenTtl = seconds(config, 'accessTokenTtl', 3600);
  const idTokenTtl = seconds(config, 'idTokenTtl', 3600);
  const refreshTokenTtl = seconds(config, 'refreshTokenTtl', 24 * 3600);
  const sessionTtl = seconds(config, 'sessionTtl', 24 * 3600);
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
  // harness adds with fapi "2.0" (see provider-options.mjs):
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

  // RFC 9068 JWT access tokens for one resource (RFC 8707 resource indicator).
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

  return {
    port,
    clients,
    accessTokenTtl,
    idTokenTtl,
    refreshTokenTtl,
    sessionTtl,
    rotateRefreshToken,
    refreshTokenPolicy,
    parEnabled,
    requirePar,
    dpopEnabled,
    dpopNonce,
    fapi,
    resourceServer,
    // extra or overriding claims per subject
    profileClaims: config.claims ?? {},
  };
}
