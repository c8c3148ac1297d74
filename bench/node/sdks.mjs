// The three SDKs under test, each behind the few calls the benchmarks need,
// and the server each is made for. Every SDK tracks the same event with the
// same two properties.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import zlib from 'node:zlib';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const EVENT = 'didStartServer';
export const PROPS = { durationMs: 1234, feature: 'i18n' };
export const PRODUCT = 'bench';
export const PROJECT_UUID = '7b581c0d-89b7-479e-b379-a76ab90b8754';

// project makes a project directory whose package.json carries the product's
// uuid (without it the Abacus client is disabled), and a state directory.
export function project() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-bench-node-'));
  const dir = path.join(root, 'project');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'bench', [PRODUCT]: { uuid: PROJECT_UUID } }, null, 2) + '\n');
  return { root, dir, stateDir: path.join(root, 'state') };
}

// isolatedEnv is the environment of every child: no opt-out variable, and
// config and cache directories of its own, so no consent file or spool of the
// machine's user is read or written.
export function isolatedEnv(root, extra = {}) {
  const env = { ...process.env, ...extra };
  for (const k of Object.keys(env)) {
    if (k === 'DO_NOT_TRACK' || k.endsWith('_TELEMETRY_DISABLED') || k.endsWith('_TELEMETRY_DEBUG')) delete env[k];
  }
  env.XDG_CONFIG_HOME = path.join(root, 'config');
  env.XDG_CACHE_HOME = path.join(root, 'cache');
  return env;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// collector starts a loopback server for one SDK: it reads each batch posted
// to the SDK's route (gunzipping it when the SDK compressed it), counts its
// events and answers as the SDK's own server does. Any other request gets 404.
export async function collector(sdk) {
  const s = SDKS[sdk];
  const state = { received: 0, batches: 0, refused: 0 };
  const server = http.createServer(async (req, res) => {
    try {
      if (req.method !== 'POST' || req.url !== s.route) {
        state.refused++;
        res.writeHead(404).end();
        return;
      }
      let body = await readBody(req);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      const batch = JSON.parse(body.toString('utf8'));
      const n = (batch.events || batch.batch || []).length;
      state.received += n;
      state.batches++;
      s.answer(res, n);
    } catch (err) {
      state.refused++;
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end(String(err));
    }
  });
  server.keepAliveTimeout = 60000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    state,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function version(pkg) {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules', pkg, 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

// Each SDK: its package, its server's route and answer, and a client made
// with the defaults its users get, except flushInterval when given.
// acked counts the events the SDK saw acknowledged; dropped the events it
// lost or failed; idle says nothing is left in its queue.
export const SDKS = {
  abacus: {
    pkg: '@abacushq/telemetry',
    route: '/v1/batch',
    answer: (res, n) => json(res, 202, { accepted: n, duplicates: 0, rejected: [] }),
    async make({ endpoint, dir, stateDir, flushInterval }) {
      const { Telemetry } = await import('@abacushq/telemetry');
      const opts = { product: PRODUCT, version: '1.0.0', endpoint, dir, stateDir };
      if (flushInterval) opts.flushInterval = flushInterval;
      const t = new Telemetry(opts);
      const s = t.status();
      if (!s.enabled) throw new Error(`abacus client disabled: ${s.reason}`);
      return {
        track: () => t.track(EVENT, PROPS),
        acked: () => t.status().sent,
        dropped: () => t.status().dropped,
        idle: () => t.status().pending === 0,
        close: () => t.close(),
      };
    },
  },
  posthog: {
    pkg: 'posthog-node',
    route: '/batch/',
    answer: (res) => json(res, 200, { status: 'Ok' }),
    async make({ endpoint, flushInterval }) {
      const { PostHog } = await import('posthog-node');
      const opts = { host: endpoint };
      if (flushInterval) opts.flushInterval = flushInterval;
      const ph = new PostHog('phc_bench', opts);
      let acked = 0;
      let failed = 0;
      ph.on('flush', (msgs) => { acked += msgs.length; });
      ph.on('error', () => { failed++; });
      return {
        track: () => ph.capture({ distinctId: 'machine', event: EVENT, properties: PROPS }),
        acked: () => acked,
        dropped: () => failed,
        idle: () => true,
        close: () => ph.shutdown(),
      };
    },
  },
  segment: {
    pkg: '@segment/analytics-node',
    route: '/v1/batch',
    answer: (res) => json(res, 200, { success: true }),
    async make({ endpoint, flushInterval }) {
      const { Analytics } = await import('@segment/analytics-node');
      const opts = { writeKey: 'bench', host: endpoint };
      if (flushInterval) opts.flushInterval = flushInterval;
      const a = new Analytics(opts);
      let acked = 0;
      let failed = 0;
      a.on('track', () => { acked++; });
      a.on('error', () => { failed++; });
      return {
        track: () => a.track({ userId: 'machine', event: EVENT, properties: PROPS }),
        acked: () => acked,
        dropped: () => failed,
        idle: () => true,
        close: () => a.closeAndFlush(),
      };
    },
  },
};

export function versionOf(sdk) {
  return version(SDKS[sdk].pkg);
}
