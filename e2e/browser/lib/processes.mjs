// Child processes for the browser tests: the demo and the test providers.
//
// Every child is registered so that it is killed in test teardown, and again
// (SIGKILL) when this test process exits for any reason, including a failed
// before() hook or an uncaught error. run-browser-tests.sh additionally kills
// the whole process group afterwards.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPO_DIR = path.resolve(E2E_DIR, '..');
export const DEMO_BIN = path.join(REPO_DIR, 'target', 'debug', 'oidc-demo');
export const OP_SERVER = path.join(E2E_DIR, 'oidc-provider', 'server.mjs');

const live = new Set();

function killAllNow() {
  for (const child of live) {
    try {
      child.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAllNow();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

/** A free TCP port on 127.0.0.1 (bound to port 0, then released). */
export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** `count` distinct free ports. */
export async function freePorts(count) {
  const ports = new Set();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * A running child process whose stdout/stderr go to `logFile` (and are kept
 * in memory so failures can quote them).
 */
export class Child {
  constructor(name, command, args, { env, logFile }) {
    this.name = name;
    this.output = '';
    this.exited = false;
    this.exitCode = null;
    this.log = fs.createWriteStream(logFile);
    this.logFile = logFile;
    this.proc = spawn(command, args, {
      cwd: REPO_DIR,
      env,
      // stdin stays an open pipe: the oidc-provider harness exits when it closes,
      // so even a SIGKILLed test process leaves no provider behind.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    const capture = (chunk) => {
      const text = chunk.toString();
      this.output += text;
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
      this.log.write(text);
    };
    this.proc.stdout.on('data', capture);
    this.proc.stderr.on('data', capture);
    this.exitPromise = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code ?? signal;
        live.delete(this);
        resolve();
      });
      this.proc.once('error', (err) => {
        this.output += `\nspawn error: ${err.message}\n`;
        this.exited = true;
        this.exitCode = 'spawn-error';
        live.delete(this);
        resolve();
      });
    });
  }

  tail(lines = 30) {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  async stop(graceMs = 3000) {
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.exited) this.proc.kill('SIGKILL');
      }, graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    this.proc.stdin.destroy();
    await new Promise((resolve) => this.log.end(resolve));
  }
}

/** Polls `url` until it answers with a status below 500. */
export async function waitForHttp(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child?.exited) {
      throw new Error(`${child.name} exited (${child.exitCode}) before ${url} answered:\n${child.tail()}`);
    }
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return res;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${last})${child ? `:\n${child.tail()}` : ''}`);
}

/**
 * Starts oidc-demo. `appUrl` decides where it listens; `env` adds variables
 * (OIDC_ISSUER etc., or DEV_PROVIDER_PORT for the embedded provider).
 */
export async function startDemo({ appUrl, env = {}, logDir }) {
  if (!fs.existsSync(DEMO_BIN)) {
    throw new Error(`${DEMO_BIN} is missing: run cargo build -p oidc-demo`);
  }
  const childEnv = { ...process.env };
  for (const name of ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_SCOPES',
    'SESSION_STORE', 'COOKIE_KEY', 'DEV_PROVIDER_PORT', 'API_AUDIENCE']) {
    delete childEnv[name];
  }
  Object.assign(childEnv, { RUST_LOG: 'info', NO_COLOR: '1', ...env, APP_URL: appUrl });
  const demo = new Child('oidc-demo', DEMO_BIN, [], {
    env: childEnv,
    logFile: path.join(logDir, 'oidc-demo.log'),
  });
  await waitForHttp(`${appUrl}/`, demo);
  return demo;
}

/**
 * Starts e2e/oidc-provider/server.mjs with `config` (OP_CONFIG) and waits for
 * its READY line. Returns { child, issuer }.
 */
export async function startOidcProvider({ config, logDir }) {
  const child = new Child('oidc-provider', process.execPath, [OP_SERVER], {
    env: { ...process.env, OP_CONFIG: JSON.stringify(config) },
    logFile: path.join(logDir, 'oidc-provider.log'),
  });
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const match = /^READY (\S+)$/m.exec(child.output);
    if (match) {
      await waitForHttp(`${match[1]}/.well-known/openid-configuration`, child);
      return { child, issuer: match[1] };
    }
    if (child.exited) break;
    await sleep(50);
  }
  await child.stop();
  throw new Error(`oidc-provider did not print READY:\n${child.tail()}`);
}
