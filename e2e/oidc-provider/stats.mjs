// Test statistics for server.mjs, served by GET /__stats (admin.mjs): the
// counters, and the oidc-provider event hooks and response check that fill
// them. Also the stderr log lines for pushed requests and issued access tokens,
// which never carry a token value.

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

// The counters since start or the last reset. A live binding: importers see
// the fresh object after resetStats().
export let stats = freshStats();

// POST /__stats/reset: zero the counters (the log line numbers go on).
export function resetStats() {
  stats = freshStats();
  return stats;
}

// Log line numbers count since the start (stats resets do not restart them).
let pushedSinceStart = 0;
let accessTokensSinceStart = 0;

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

// Subscribes the counters to the provider's events.
export function countProviderEvents(provider) {
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
  provider.on('pushed_authorization_request.success', (ctx, client) => {
    stats.pushed_authorization_requests += 1;
    pushedSinceStart += 1;
    const jkt = ctx.oidc?.entities?.PushedAuthorizationRequest?.dpopJkt ?? null;
    stats.pushed_dpop_jkts.push(jkt);
    console.error(`[server.mjs] pushed authorization request #${pushedSinceStart} `
      + `client=${client.clientId} ${jkt ? `dpop_jkt=${jkt}` : 'no dpop_jkt'}`);
  });
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
}

// Counts what the events do not tell, from a provider response once it is
// complete (called by the koa middleware in admin.mjs for every non-admin
// request).
export function countResponse(ctx) {
  if (ctx.status >= 400 && ctx.response.get('DPoP-Nonce')) {
    stats.dpop_nonce_challenges.push({ endpoint: ctx.oidc?.route ?? ctx.path, status: ctx.status });
  }
  if (ctx.method === 'POST' && ctx.path === '/token/revocation' && ctx.status === 200) {
    stats.revocations += 1;
  }
}
