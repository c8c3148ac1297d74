// The Go and Node.js SDKs on one machine: the same machine ID, the same
// opt-out file, and a spool written by one delivered by the other. The Go side
// is test/gosdk, a small program built from the repository's Go SDK.
import './helpers/env.mjs';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Telemetry, disable, enable } from '../index.mjs';
import { startCollector, startBlackHole, project, listFiles, noFilesSoon } from './helpers/collector.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-gosdk-')), 'gosdk');

before(() => {
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: path.join(here, 'gosdk'), stdio: ['ignore', 'ignore', 'pipe'] });
});
after(() => fs.rmSync(path.dirname(bin), { recursive: true, force: true }));

// goSDK runs the Go SDK: it tracks events and closes; it returns its status and
// the events it printed in debug mode.
function goSDK(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`gosdk exited ${code}: ${err}`));
      resolve({ status: JSON.parse(err.trim().split('\n').pop()), printed: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) });
    });
  });
}

test('both SDKs derive the same machine ID on this machine', async () => {
  const p = project();
  try {
    const env = { DEMO_TELEMETRY_DEBUG: '1' };
    const go = await goSDK(['-product', 'demo', '-dir', p.dir, '-state', p.stateDir, 'hello'], env);
    assert.equal(go.printed.length, 1, JSON.stringify(go.status));
    const lines = [];
    process.env.DEMO_TELEMETRY_DEBUG = '1';
    try {
      const t = new Telemetry({ product: 'demo', version: '1.0.0', dir: p.dir, stateDir: p.stateDir, debug: (l) => lines.push(l) });
      t.track('hello');
      await t.close();
    } finally {
      delete process.env.DEMO_TELEMETRY_DEBUG;
    }
    const node = JSON.parse(lines[0]);
    assert.match(node.machineId, /^[0-9a-f]{64}$/);
    assert.equal(node.machineId, go.printed[0].machineId);
    assert.equal(node.projectId, go.printed[0].projectId);
    // Computed here, independently of both: the HMAC of the OS ID (or of the
    // fallback both keep in StateDir), keyed by the product.
    let raw = '';
    try { raw = fs.readFileSync('/etc/machine-id', 'utf8').trim(); } catch { raw = ''; }
    if (!/^[0-9a-f]{32}$/.test(raw)) raw = fs.readFileSync(path.join(p.stateDir, 'machine-id'), 'utf8').trim();
    assert.equal(node.machineId, crypto.createHmac('sha256', 'demo').update(raw.toLowerCase()).digest('hex'));
    // The same event, field for field, but for what differs by nature.
    const strip = (e) => ({ ...e, id: '', timestamp: '', sessionId: '', properties: undefined, context: { ...e.context, runtime: '', runtimeVersion: '', sdk: '' } });
    assert.deepEqual(strip(node), strip(go.printed[0]));
  } finally {
    p.cleanup();
  }
});

test('a user who opted out from one SDK is opted out of the other', async () => {
  const p = project();
  try {
    await disable();
    const go = await goSDK(['-product', 'demo', '-endpoint', 'http://127.0.0.1:9', '-dir', p.dir, '-state', p.stateDir, 'x']);
    assert.equal(go.status.Enabled, false);
    assert.match(go.status.Reason, /^opt-out file /);
    await enable();
    const back = await goSDK(['-product', 'demo', '-endpoint', 'http://127.0.0.1:9', '-dir', p.dir, '-state', p.stateDir, '-budget', '50ms']);
    assert.equal(back.status.Enabled, true, back.status.Reason);
  } finally {
    await enable();
    p.cleanup();
  }
});

test('a spool written by the Node.js SDK is delivered by the Go SDK', async () => {
  const p = project();
  const bh = await startBlackHole();
  const c = await startCollector();
  try {
    // Written through a symlink to the project; read through its real path.
    const link = path.join(p.root, 'link');
    fs.symlinkSync(p.dir, link);
    const t = new Telemetry({ product: 'demo', endpoint: bh.url, dir: link, stateDir: p.stateDir, closeBudget: 100 });
    for (const n of [1, 2, 3]) t.track('fromNode', { n });
    await t.close();
    assert.equal(t.status().spooled, 3);
    const files = listFiles(path.join(p.stateDir, 'spool'));
    assert.equal(files.length, 1);
    const ids = fs.readFileSync(path.join(p.stateDir, 'spool', files[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id);
    const go = await goSDK(['-product', 'demo', '-endpoint', c.url, '-dir', p.dir, '-state', p.stateDir, '-budget', '5s']);
    assert.equal(go.status.CloseError, '<nil>');
    assert.deepEqual(c.events.map((e) => e.id), ids);
    assert.deepEqual(c.events.map((e) => e.properties.n), [1, 2, 3]);
    assert.deepEqual(listFiles(path.join(p.stateDir, 'spool')), []);
  } finally {
    await bh.close();
    await c.close();
    p.cleanup();
  }
});

test('a spool written by the Go SDK is delivered by the Node.js SDK', async () => {
  const p = project();
  const bh = await startBlackHole();
  const c = await startCollector();
  try {
    const go = await goSDK(['-product', 'demo', '-endpoint', bh.url, '-dir', p.dir, '-state', p.stateDir, '-budget', '100ms', 'fromGo', 'fromGo', 'fromGo']);
    assert.equal(go.status.Spooled, 3, JSON.stringify(go.status));
    const t = new Telemetry({ product: 'demo', endpoint: c.url, dir: p.dir, stateDir: p.stateDir, closeBudget: 5000 });
    t.track('fromNode');
    await t.close();
    const s = t.status();
    assert.equal(s.spoolLoaded, 3);
    assert.equal(s.resent, 3);
    assert.equal(s.sent, 1);
    assert.deepEqual(c.events.map((e) => e.event).sort(), ['fromGo', 'fromGo', 'fromGo', 'fromNode']);
    assert.ok(c.events.filter((e) => e.event === 'fromGo').every((e) => e.context.sdk.startsWith('abacus-go/')));
    assert.deepEqual(await noFilesSoon(path.join(p.stateDir, 'spool')), []);
  } finally {
    await bh.close();
    await c.close();
    p.cleanup();
  }
});
