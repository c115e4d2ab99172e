// The two identity providers the demo runs against, behind one interface:
//
//   start({ appHost, logDir }) -> { appUrl, providerOrigin, stop() }
//   loginForm(page)            -> locator of the provider's login form field
//   submitLogin(page, user)    -> fills and submits the login form
//   consentButton(page)        -> locator of the consent button (null: no consent step)
//   logoutConfirmButton(page)  -> locator of the "sign out?" confirmation (null: none)
//   users                      -> { alice: { login, password, name, sub } }
//   cookieNames                -> cookie names the provider itself sets
//   checkAfterLogout(env)      -> provider-side assertions after RP-initiated logout

import assert from 'node:assert/strict';
import { freePorts, startDemo, startOidcProvider } from './processes.mjs';

/** oidc-demo with no OIDC_ISSUER: it starts oidc-dev-provider on DEV_PROVIDER_PORT. */
export const embeddedProvider = {
  label: 'the embedded development provider',
  users: {
    alice: { login: 'alice', password: 'alice', name: 'Alice Anderson', sub: 'user-alice' },
  },
  // oidc-dev-provider keeps no browser state: no cookies, no SSO.
  cookieNames: [],
  hasSso: false,
  // Its access tokens are JWTs the demo's /api reads, so /bff/api works.
  bffApi: true,

  async start({ appHost, logDir }) {
    const [appPort, providerPort] = await freePorts(2);
    const appUrl = `http://${appHost}:${appPort}`;
    const demo = await startDemo({
      appUrl,
      env: { DEV_PROVIDER_PORT: String(providerPort) },
      logDir,
    });
    return {
      appUrl,
      // the demo gives its embedded provider the host of APP_URL
      providerOrigin: `http://${appHost}:${providerPort}`,
      children: [demo],
      async stop() {
        await demo.stop();
      },
    };
  },

  loginForm(page) {
    return page.locator('form[action="login"] input#username');
  },

  async submitLogin(page, user) {
    await page.locator('input#username').fill(user.login);
    await page.locator('input#password').fill(user.password);
    await page.locator('form[action="login"] button[type="submit"]').click();
  },

  consentButton() {
    return null;
  },

  logoutConfirmButton() {
    return null;
  },

  async beforeLogout() {},
  async checkAfterLogout() {},
};

const OP_CLIENT_ID = 'oidc-demo-browser-e2e';
const OP_CLIENT_SECRET = 'browser-e2e-secret-0123456789abcdef';

/** The `oidc-provider` npm package through e2e/oidc-provider/server.mjs. */
export const npmOidcProvider = {
  label: 'oidc-provider (npm)',
  users: {
    // devInteractions: the login name becomes sub, name and preferred_username
    alice: { login: 'alice', password: 'any-password', name: 'alice', sub: 'alice' },
  },
  cookieNames: [
    '_session', '_session.sig', '_session.legacy', '_session.legacy.sig',
    '_interaction', '_interaction.sig', '_interaction.legacy', '_interaction.legacy.sig',
    '_interaction_resume', '_interaction_resume.sig',
    '_interaction_resume.legacy', '_interaction_resume.legacy.sig',
  ],
  hasSso: true,

  async start({ appHost, logDir }) {
    const [appPort] = await freePorts(1);
    const appUrl = `http://${appHost}:${appPort}`;
    const op = await startOidcProvider({
      config: {
        port: 0,
        clients: [{
          client_id: OP_CLIENT_ID,
          client_secret: OP_CLIENT_SECRET,
          redirect_uris: [`${appUrl}/auth/callback`],
          post_logout_redirect_uris: [`${appUrl}/auth/logout/callback`],
          backchannel_logout_uri: `${appUrl}/auth/backchannel-logout`,
          backchannel_logout_session_required: true,
        }],
      },
      logDir,
    });
    let demo;
    try {
      demo = await startDemo({
        appUrl,
        env: {
          OIDC_ISSUER: op.issuer,
          OIDC_CLIENT_ID: OP_CLIENT_ID,
          OIDC_CLIENT_SECRET: OP_CLIENT_SECRET,
        },
        logDir,
      });
    } catch (err) {
      await op.child.stop();
      throw err;
    }
    return {
      appUrl,
      providerOrigin: op.issuer,
      children: [demo, op.child],
      async stop() {
        await demo.stop();
        await op.child.stop();
      },
    };
  },

  loginForm(page) {
    return page.locator('form input[name="login"]');
  },

  async submitLogin(page, user) {
    await page.locator('form input[name="login"]').fill(user.login);
    await page.locator('form input[name="password"]').fill(user.password);
    await page.locator('form:has(input[name="prompt"][value="login"]) button[type="submit"]').click();
  },

  consentButton(page) {
    return page.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]');
  },

  logoutConfirmButton(page) {
    return page.locator('button[form="op.logoutForm"][value="yes"]');
  },

  async beforeLogout(env) {
    const res = await fetch(`${env.providerOrigin}/__stats/reset`, { method: 'POST' });
    assert.equal(res.status, 200, 'POST /__stats/reset failed');
  },

  // RP-initiated logout must have ended exactly this browser's provider
  // session, and the provider's back-channel logout to the demo must have
  // been accepted (oidc-provider sends it before redirecting back).
  async checkAfterLogout(env) {
    const res = await fetch(`${env.providerOrigin}/__stats`);
    const stats = await res.json();
    const dump = JSON.stringify(stats);
    assert.equal(stats.end_sessions, 1, `expected one confirmed end_session: ${dump}`);
    assert.deepEqual(stats.backchannel_errors, [],
      `the demo refused the provider's back-channel logout: ${dump}`);
    assert.equal(stats.backchannel_logouts.length, 1, `expected one back-channel logout: ${dump}`);
    assert.equal(stats.backchannel_logouts[0].client_id, OP_CLIENT_ID);
    assert.ok(stats.backchannel_logouts[0].sid, `back-channel logout without sid: ${dump}`);
  },
};
