// End to end: the real abacus binary, built from this repository and started
// on a free port with a fresh data directory; six projects track from the
// Node.js SDK, and their feature use shows in `abacus report features` and in
// GET /api/v1/reports/features (k = 5 projects per published bucket).
// ABACUS_BIN names a binary already built, to skip the build.
import { home } from './helpers/env.mjs';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Telemetry, createProject } from '../index.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-node-e2e-'));
const TOKEN = 'node-sdk-e2e-admin-token-0123456789abcdef';
let bin = process.env.ABACUS_BIN;
let server;
let url;
let logs = '';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

test('go commands run by the tests use the user\'s Go caches, not the test\'s temporary home', () => {
  const out = execFileSync('go', ['env', 'GOCACHE', 'GOMODCACHE'], { cwd: repo, encoding: 'utf8' }).trim().split('\n');
  assert.equal(out.length, 2);
  for (const dir of out) assert.ok(!dir.startsWith(home + path.sep), `${dir} is inside the temporary home ${home}`);
});

before(async () => {
  if (!bin) {
    bin = path.join(tmp, 'abacus');
    execFileSync('go', ['build', '-o', bin, './cmd/abacus'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  url = `http://127.0.0.1:${await freePort()}`;
  server = spawn(bin, ['serve', '--addr', url.slice(7), '--data', path.join(tmp, 'data'), '--rate-ip', '-1', '--rate-project', '-1',
    '--rate-ip-events', '-1', '--rate-ip-new-projects', '-1'], { env: { ...process.env, ABACUS_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => { logs += d; });
  server.stderr.on('data', (d) => { logs += d; });
  const deadline = Date.now() + 60000;
  for (;;) {
    assert.equal(server.exitCode, null, `abacus serve exited at start:\n${logs}`);
    try {
      const r = await fetch(url + '/readyz');
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() < deadline, `abacus serve not ready after 60 s:\n${logs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('events tracked from Node.js appear in abacus report features', async () => {
  const features = ['content-manager', 'content-manager', 'content-manager', 'content-manager', 'content-manager', 'content-manager'];
  let sent = 0;
  for (let i = 0; i < features.length; i++) {
    const dir = path.join(tmp, `project-${i}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `site-${i}`, version: '0.1.0' }, null, 2) + '\n');
    await createProject(dir, 'strapi');
    const t = new Telemetry({ product: 'strapi', version: '5.3.1', endpoint: url, dir, stateDir: path.join(tmp, 'state'), build: { plugins: ['i18n'], typescript: i % 2 === 0 }, closeBudget: 5000 });
    t.track('willCreateProject', { quickstart: true });
    t.track('didUseFeature', { feature: features[i] });
    t.track('didStartServer', { durationMs: 1000 + i });
    await t.close();
    const s = t.status();
    assert.equal(s.rejected, 0, s.lastError);
    sent += s.sent;
  }
  assert.equal(sent, 18);
  // The store is written after the acknowledgement: wait for the report.
  let rows = [];
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const out = execFileSync(bin, ['report', 'features', '--server', url, '--format', 'json'], { env: { ...process.env, ABACUS_TOKEN: TOKEN }, encoding: 'utf8' });
    rows = JSON.parse(out).rows || [];
    if (rows.some((r) => r.feature === 'content-manager' && r.projects === 6)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const row = rows.find((r) => r.feature === 'content-manager');
  assert.ok(row, `no content-manager row in abacus report features: ${JSON.stringify(rows)}\n${logs}`);
  assert.equal(row.projects, 6);
  const api = await fetch(url + '/api/v1/reports/features', { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(api.status, 200);
  const body = await api.json();
  assert.equal(body.rows.find((r) => r.feature === 'content-manager').projects, 6);
});
