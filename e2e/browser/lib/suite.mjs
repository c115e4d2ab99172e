// The browser scenarios, defined once and run against each provider.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { launchChromium, newIsolatedContext, screenshot } from './browser.mjs';
import { E2E_DIR } from './processes.mjs';

const SESSION_COOKIE = 'axum_oidc_session';
const LOGIN_COOKIE_PREFIX = 'axum_oidc_login_';
const LOGOUT_COOKIE = 'axum_oidc_logout';
const TEST_TIMEOUT_MS = 60_000;

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

/**
 * Registers the scenarios for one provider.
 *
 * @param {object} options
 * @param {string} options.run      artifacts sub-directory (e2e/artifacts/<run>)
 * @param {string} options.appHost  host of APP_URL (127.0.0.1 or localhost)
 * @param {object} options.provider one of the adapters in providers.mjs
 */
export function browserSuite({ run, appHost, provider }) {
  const artifacts = path.join(E2E_DIR, 'artifacts', run);
  const alice = provider.users.alice;
  let env;
  let browser;

  const appOrigin = () => new URL(env.appUrl).origin;
  const origin = (page) => new URL(page.url()).origin;

  /** Cookies the browser holds for the app's host (any path). */
  async function hostCookies(context) {
    const host = new URL(env.appUrl).hostname;
    return (await context.cookies()).filter((c) => c.domain === host || c.domain === `.${host}`);
  }

  const loginCookies = (cookies) => cookies.filter((c) => c.name.startsWith(LOGIN_COOKIE_PREFIX));

  /** Waits for the provider's login form and checks the page is the provider's. */
  async function expectProviderLogin(page) {
    await provider.loginForm(page).waitFor();
    assert.equal(origin(page), env.providerOrigin,
      `the login form should be served by the provider, not ${page.url()}`);
  }

  /**
   * On the provider's login page: signs in as `user`, confirms consent when the
   * provider asks, and waits until the demo shows the signed-in user.
   */
  async function completeLogin(page, user, { shots = false } = {}) {
    await expectProviderLogin(page);
    await provider.submitLogin(page, user);
    const signedIn = page.locator('#user');
    const consent = provider.consentButton(page);
    if (consent) {
      await signedIn.or(consent).first().waitFor();
      if (await consent.isVisible()) {
        assert.equal(origin(page), env.providerOrigin);
        if (shots) await screenshot(page, artifacts, '03-provider-consent');
        await consent.click();
      }
    }
    await signedIn.waitFor();
    assert.equal(origin(page), appOrigin(), `after login the browser should be back at the demo, not ${page.url()}`);
    assert.equal(await signedIn.textContent(), user.name);
  }

  /** Clicks #sign-out, confirms at the provider if asked, waits for the signed-out home. */
  async function signOut(page, { shots = false } = {}) {
    await page.locator('#sign-out').first().click();
    const signedOut = page.locator('#sign-in');
    const confirm = provider.logoutConfirmButton(page);
    if (confirm) {
      await signedOut.or(confirm).first().waitFor();
      if (await confirm.isVisible()) {
        assert.equal(origin(page), env.providerOrigin);
        if (shots) await screenshot(page, artifacts, '06-provider-logout-confirm');
        await confirm.click();
      }
    }
    await signedOut.waitFor();
  }

  /** A test with a fresh browser context; on failure, screenshots and logs are kept. */
  function browserTest(name, fn) {
    it(name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const context = await newIsolatedContext(browser);
      try {
        const page = await context.newPage();
        await fn({ context, page });
      } catch (err) {
        const pages = context.pages();
        for (const [i, p] of pages.entries()) {
          const base = `FAILED-${slug(name)}-${i}`;
          try {
            await screenshot(p, artifacts, base);
            fs.writeFileSync(path.join(artifacts, `${base}.html`), await p.content());
            t.diagnostic(`page ${i} at ${p.url()}: ${path.join(artifacts, base)}.{png,html}`);
          } catch {
            t.diagnostic(`page ${i} at ${p.url()}: no screenshot`);
          }
        }
        for (const child of env?.children ?? []) {
          t.diagnostic(`${child.name} log: ${child.logFile}; last lines:`);
          for (const line of child.tail(15).split('\n')) t.diagnostic(`  ${line}`);
        }
        throw err;
      } finally {
        await context.close();
      }
    });
  }

  describe(`oidc-demo in chromium with ${provider.label}, APP_URL on ${appHost}`, () => {
    before(async () => {
      fs.rmSync(artifacts, { recursive: true, force: true });
      fs.mkdirSync(artifacts, { recursive: true });
      browser = await launchChromium();
      env = await provider.start({ appHost, logDir: artifacts });
    });

    after(async () => {
      await browser?.close().catch(() => {});
      await env?.stop();
    });

    browserTest('signing in from the home page comes back to / showing the user', async ({ context, page }) => {
      await page.goto(`${env.appUrl}/`);
      await page.locator('#status').waitFor();
      assert.match(await page.locator('#status').textContent(), /not signed in/);
      assert.equal(await page.locator('#user').count(), 0, 'a signed-out home page shows no user');
      assert.equal(await page.locator('#sign-in').getAttribute('href'), '/auth/login?next=/');
      await screenshot(page, artifacts, '01-home-signed-out');

      await page.locator('#sign-in').click();
      await expectProviderLogin(page);
      await screenshot(page, artifacts, '02-provider-login');

      // While the user is at the provider, exactly one login cookie binds this login.
      const during = loginCookies(await hostCookies(context));
      assert.equal(during.length, 1, `one login cookie while at the provider: ${JSON.stringify(during)}`);
      assert.equal(during[0].httpOnly, true, 'login cookie HttpOnly');
      assert.equal(during[0].sameSite, 'Lax', 'login cookie SameSite');
      assert.equal(during[0].secure, false, 'login cookie Secure on http');
      assert.equal(during[0].path, '/auth', 'login cookie path is the auth base path');

      await completeLogin(page, alice, { shots: true });
      assert.equal(page.url(), `${env.appUrl}/`);
      assert.match(await page.locator('#status').textContent(), /Signed in as/);
      assert.equal(await page.locator('#sub').textContent(), alice.sub);
      assert.equal(await page.locator('#sign-out').count(), 1, 'a signed-in home page offers sign-out');
      await screenshot(page, artifacts, '04-home-signed-in');
    });

    browserTest('a signed-out deep link to /protected?x=1 comes back to exactly /protected?x=1 after login', async ({ page }) => {
      const response = await page.goto(`${env.appUrl}/protected?x=1`);
      assert.ok(response.ok(), `the provider's login page loads (HTTP ${response.status()})`);
      await completeLogin(page, alice);
      assert.equal(page.url(), `${env.appUrl}/protected?x=1`);
      assert.equal(await page.locator('#title').textContent(), 'Protected');
      assert.match(await page.locator('#claims').textContent(), new RegExp(`"sub": "${alice.sub}"`));
      await screenshot(page, artifacts, '05-protected');
    });

    browserTest('a login whose next is off-site or not a path ends on / instead', async ({ context, page }) => {
      for (const next of ['https://evil.example/steal', '//evil.example/steal', '/\\evil.example/steal']) {
        await context.clearCookies(); // a full login each time, also at a provider with SSO
        await page.goto(`${env.appUrl}/auth/login?next=${encodeURIComponent(next)}`);
        await completeLogin(page, alice);
        assert.equal(page.url(), `${env.appUrl}/`, `next=${next}`);
      }
      assert.deepEqual(context.blockedRequests.filter((u) => u.includes('evil.example')), [],
        'the browser never went to the off-site next');
    });

    browserTest('the session cookie is HttpOnly, SameSite=Lax, path /, not Secure on http, and no login cookie outlives the login', async ({ context, page }) => {
      await page.goto(`${env.appUrl}/protected?cookies=1`);
      await completeLogin(page, alice);
      const cookies = await hostCookies(context);
      const sessions = cookies.filter((c) => c.name === SESSION_COOKIE);
      assert.equal(sessions.length, 1, `exactly one session cookie: ${JSON.stringify(cookies)}`);
      const [session] = sessions;
      assert.equal(session.domain, new URL(env.appUrl).hostname, 'host-only cookie (no Domain attribute)');
      assert.equal(session.path, '/');
      assert.equal(session.httpOnly, true, 'HttpOnly');
      assert.equal(session.sameSite, 'Lax', 'SameSite');
      assert.equal(session.secure, false, 'not Secure on an http APP_URL');
      assert.ok(session.expires > Date.now() / 1000, `persistent with a future expiry (expires=${session.expires})`);
      assert.ok(session.value.length >= 43, 'the session id is long and opaque');
      assert.deepEqual(loginCookies(cookies), [], 'login cookies are removed by the callback');
      assert.equal(cookies.filter((c) => c.name === LOGOUT_COOKIE).length, 0);
      // Scripts cannot read it.
      assert.doesNotMatch(await page.evaluate(() => document.cookie), new RegExp(SESSION_COOKIE));
    });

    browserTest("the demo's cookie names do not collide with the provider's cookies", async ({ context, page }) => {
      await page.goto(`${env.appUrl}/protected?collide=1`);
      await completeLogin(page, alice);
      const cookies = await hostCookies(context);
      const ours = cookies.filter((c) => c.name.startsWith('axum_oidc_')).map((c) => c.name);
      const theirs = cookies.filter((c) => !c.name.startsWith('axum_oidc_')).map((c) => c.name);
      assert.ok(ours.includes(SESSION_COOKIE));
      for (const name of ours) {
        assert.ok(!provider.cookieNames.includes(name), `${name} is also a provider cookie name`);
      }
      for (const name of theirs) {
        assert.ok(provider.cookieNames.includes(name), `unexpected cookie ${name} on the app host`);
      }
      const names = cookies.map((c) => `${c.name}@${c.path}`);
      // The provider may keep several path-scoped cookies of one name (one per
      // interaction); what must not happen is a name used by both parties, or
      // two cookies of ours with one name.
      assert.equal(new Set(ours).size, ours.length, `one of our cookie names is set twice: ${names}`);
      for (const name of ours) {
        assert.ok(!theirs.includes(name), `${name} is used by the demo and the provider: ${names}`);
      }

      if (new URL(env.providerOrigin).hostname === new URL(env.appUrl).hostname && provider.cookieNames.length > 0) {
        // Same host, other port: the browser sends the provider's cookies to the demo too.
        assert.ok(theirs.includes('_session'),
          `the provider's _session shares the app host's cookie jar (cookies: ${names})`);
      }

      // The demo still recognises its session next to the provider's cookies ...
      await page.goto(`${env.appUrl}/`);
      assert.equal(await page.locator('#user').textContent(), alice.name);

      if (provider.hasSso) {
        // ... and the provider still recognises its own: a second login skips its login form.
        await page.goto(`${env.appUrl}/auth/login?next=${encodeURIComponent('/protected?sso=1')}`);
        const loginForm = provider.loginForm(page);
        const consent = provider.consentButton(page);
        const signedIn = page.locator('#user');
        await signedIn.or(consent).or(loginForm).first().waitFor();
        assert.equal(await loginForm.count(), 0, 'the provider asked for the password again: its session cookie was lost');
        if (await consent.isVisible()) await consent.click();
        await signedIn.waitFor();
        assert.equal(page.url(), `${env.appUrl}/protected?sso=1`);
      }
    });

    browserTest('signing out ends the session: /protected asks for login again and /me answers 401', async ({ context, page }) => {
      await page.goto(`${env.appUrl}/`);
      await page.locator('#sign-in').click();
      await completeLogin(page, alice);

      const me = await page.goto(`${env.appUrl}/me`);
      assert.equal(me.status(), 200, '/me answers while signed in');
      assert.equal((await me.json()).sub, alice.sub);

      const [oldSession] = (await hostCookies(context)).filter((c) => c.name === SESSION_COOKIE);
      assert.ok(oldSession, 'signed in with a session cookie');

      await page.goto(`${env.appUrl}/`);
      await provider.beforeLogout(env);
      await signOut(page, { shots: true });
      assert.equal(page.url(), `${env.appUrl}/`, 'logout ends on the home page');
      assert.match(await page.locator('#status').textContent(), /not signed in/);
      assert.equal(await page.locator('#user').count(), 0);
      await screenshot(page, artifacts, '07-home-signed-out-after-logout');

      const cookies = await hostCookies(context);
      assert.deepEqual(cookies.filter((c) => c.name === SESSION_COOKIE), [], 'session cookie removed');
      assert.deepEqual(cookies.filter((c) => c.name === LOGOUT_COOKIE), [], 'logout state cookie removed');
      await provider.checkAfterLogout(env);

      const after = await page.goto(`${env.appUrl}/me`);
      assert.equal(after.status(), 401, '/me after logout');

      // The session ended on the server too: replaying the old cookie does not revive it.
      await context.addCookies([oldSession]);
      const replay = await page.goto(`${env.appUrl}/me`);
      assert.equal(replay.status(), 401, '/me with the pre-logout session cookie');
      await context.clearCookies({ name: SESSION_COOKIE });

      await page.goto(`${env.appUrl}/protected`);
      await expectProviderLogin(page);
      await screenshot(page, artifacts, '08-protected-after-logout-asks-login');
    });

    // The demo's bearer API reads JWT access tokens; the providers whose access
    // tokens it can read say so with `bffApi`.
    if (provider.bffApi) {
      browserTest('the single-page app at /spa signs in, shows the name from /bff/api/me, signs out', async ({ page }) => {
        await page.goto(`${env.appUrl}/spa`);
        await page.locator('#sign-in').waitFor();
        assert.equal(await page.locator('#status').textContent(), 'Signed out');

        await page.locator('#sign-in').click();
        await completeLogin(page, alice);
        assert.equal(page.url(), `${env.appUrl}/spa`);
        assert.equal(await page.locator('#user').getAttribute('data-sub'), alice.sub);
        await screenshot(page, artifacts, '09-spa-signed-in');

        const call = (csrf) => page.evaluate(async (withHeader) => {
          const r = await fetch('/bff/api/me', { credentials: 'include', headers: withHeader ? { 'X-CSRF': '1' } : {} });
          return r.status;
        }, csrf);
        assert.equal(await call(false), 403, 'no CSRF header: refused');

        await signOut(page);
        assert.equal(await call(true), 401, '/bff/api/me after logout');
      });
    }

    browserTest('two tabs that start login at the same time both complete, each on its own deep link', async ({ context, page: tab1 }) => {
      const tab2 = await context.newPage();
      await Promise.all([
        tab1.goto(`${env.appUrl}/protected?tab=1`),
        tab2.goto(`${env.appUrl}/protected?tab=2`),
      ]);
      await Promise.all([expectProviderLogin(tab1), expectProviderLogin(tab2)]);

      const pending = loginCookies(await hostCookies(context));
      assert.equal(pending.length, 2, `one login cookie per tab: ${pending.map((c) => c.name)}`);
      assert.notEqual(pending[0].name, pending[1].name);

      await completeLogin(tab1, alice);
      const sessionValue = async () =>
        (await hostCookies(context)).find((c) => c.name === SESSION_COOKIE)?.value;
      const first = await sessionValue();
      await completeLogin(tab2, alice);
      assert.notEqual(await sessionValue(), first, 'the second login issues a new session id');
      assert.equal(tab1.url(), `${env.appUrl}/protected?tab=1`);
      assert.equal(tab2.url(), `${env.appUrl}/protected?tab=2`);

      const cookies = await hostCookies(context);
      assert.deepEqual(loginCookies(cookies), [], 'both login cookies are consumed');
      assert.equal(cookies.filter((c) => c.name === SESSION_COOKIE).length, 1);

      // Both tabs share the one (latest) session.
      for (const [tab, n] of [[tab1, 1], [tab2, 2]]) {
        await tab.reload();
        assert.equal(await tab.locator('#user').textContent(), alice.name);
        assert.equal(tab.url(), `${env.appUrl}/protected?tab=${n}`);
      }
    });
  });
}
