// Admin endpoints of server.mjs (test only), served by the provider's own koa
// app under /__: GET /__stats, POST /__stats/reset, POST /__logout?sub= and
// GET /__sessions. The same middleware hands every other request to the
// provider and then counts its response (stats.mjs).

import { countResponse, resetStats, stats } from './stats.mjs';
import { liveSessions } from './store.mjs';

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

// Ends every session of `sub` the way the confirm step of RP-initiated logout
// (OpenID Connect RP-Initiated Logout 1.0 section 2) does with logout=yes:
// back-channel logout (OpenID Connect Back-Channel Logout 1.0 section 2.5) to
// each client of the session that registered a backchannel_logout_uri, revoke
// the grants, drop the session. Like oidc-provider itself, grants whose tokens
// outlive the session (an offline_access grant: `persistsLogout`) are kept
// unless revokeOffline is set.
async function logoutSubject(provider, sub, revokeOffline) {
  const sessions = liveSessions(sub);
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

// The koa middleware for `provider.use(...)`, placed in front of the
// provider's routes.
export function adminMiddleware(provider) {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/__')) {
      await next();
      countResponse(ctx);
      return;
    }

    if (ctx.method === 'GET' && ctx.path === '/__stats') {
      return json(ctx, 200, stats);
    }
    if (ctx.method === 'POST' && ctx.path === '/__stats/reset') {
      return json(ctx, 200, resetStats());
    }
    if (ctx.method === 'POST' && ctx.path === '/__logout') {
      const sub = ctx.query.sub;
      if (typeof sub !== 'string' || sub === '') {
        return json(ctx, 400, { error: 'sub query parameter required' });
      }
      const revokeOffline = ['1', 'true', 'yes'].includes(String(ctx.query.revoke_offline ?? ''));
      return json(ctx, 200, await logoutSubject(provider, sub, revokeOffline));
    }
    if (ctx.method === 'GET' && ctx.path === '/__sessions') {
      const list = liveSessions(ctx.query.sub).map((session) => ({
        sub: session.accountId ?? null,
        clients: Object.fromEntries(Object.entries(session.authorizations ?? {})
          .map(([clientId, a]) => [clientId, { sid: a.sid ?? null, grant_id: a.grantId ?? null }])),
      }));
      return json(ctx, 200, list);
    }
    return json(ctx, 404, { error: 'unknown admin endpoint' });
  };
}
