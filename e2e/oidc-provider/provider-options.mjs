// oidc-provider configuration for server.mjs: turns the checked OP_CONFIG
// settings (config.mjs) into the options object of `new Provider(issuer,
// options)`: clients and their defaults, features (PAR, DPoP, FAPI 2.0,
// logout, revocation, introspection, resource indicators), token lifetimes,
// and the bare-bones logout and error pages.

import * as crypto from 'node:crypto';

import { FAPI2_ALGS } from './config.mjs';
import { TestAdapter } from './store.mjs';

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// `settings` from readSettings(), `jwks` from generateJwks(), `errors` the
// error classes exported by oidc-provider (loaded by server.mjs).
export function providerOptions({ settings, jwks, errors }) {
  const {
    clients, fapi, parEnabled, requirePar, dpopEnabled, dpopNonce, resourceServer,
    accessTokenTtl, idTokenTtl, refreshTokenTtl, sessionTtl, rotateRefreshToken,
    refreshTokenPolicy, profileClaims,
  } = settings;

  return {
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
      // RFC 9449; see OP_CONFIG.dpop in config.mjs
      dPoP: {
        enabled: dpopEnabled,
        ...(dpopNonce ? {
          nonceSecret: crypto.randomBytes(32),
          requireNonce: () => true,
        } : {}),
      },
      // FAPI 2.0 Security Profile; see OP_CONFIG.fapi in config.mjs
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
  };
}
