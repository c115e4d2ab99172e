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
// This file is the entry point: it loads oidc-provider, binds the port,
// builds the provider and runs the process. The rest sits beside it:
//   config.mjs            OP_CONFIG: reading, checking, defaults
//   keys.mjs              signing keys, fresh per process
//   store.mjs             the in-memory storage adapter
//   provider-options.mjs  the oidc-provider configuration
//   stats.mjs             GET /__stats counters, event hooks, log lines
//   admin.mjs             the /__ admin endpoints
//
// NEVER use this configuration outside tests: it disables SSRF protection for
// loopback addresses, accepts any username/password and trusts every client.

import * as http from 'node:http';

// None of these loads oidc-provider or has side effects when imported.
import { adminMiddleware } from './admin.mjs';
import { readSettings } from './config.mjs';
import { generateJwks } from './keys.mjs';
import { providerOptions } from './provider-options.mjs';
import { countProviderEvents } from './stats.mjs';

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

const settings = readSettings();

const jwks = generateJwks();
progress('signing keys generated');

// Bind first so that port 0 resolves to a real port before the issuer (which
// must contain it) is fixed.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(settings.port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;
progress(`listening on ${issuer}`);

const provider = new Provider(issuer, providerOptions({ settings, jwks, errors }));

countProviderEvents(provider);
provider.on('server_error', (ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

// admin endpoints (test only), served by the same koa app under /__
provider.use(adminMiddleware(provider));

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
