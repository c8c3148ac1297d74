// The host process: it exits naturally with telemetry active, loses nothing
// to process.exit(), and a debug run prints instead of sending.
import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Telemetry } from '../index.mjs';
import { timed, within } from './helpers/timing.mjs';
import { startCollector, startBlackHole, project, listFiles, noFilesSoon } from './helpers/collector.mjs';
import { runNode } from './helpers/child.mjs';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'index.js');

function script(body) {
  return ['-e', `const { Telemetry } = require(${JSON.stringify(pkg)});\n${body}`];
}

function opts(p, url) {
  return JSON.stringify({ product: 'demo', version: '1.0.0', endpoint: url, dir: p.dir, stateDir: p.stateDir });
}

test('process.exit() right after track loses nothing: spooled, sent by the next run', async () => {
  const p = project();
  const c = await startCollector();
  try {
    const r = await runNode(script(`const t = new Telemetry(${opts(p, c.url)});
t.track('didStartServer', { durationMs: 5 });
t.track('didUseFeature', { feature: 'x' });
process.exit(3);`), { env: p.env });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(c.requests.length, 0, 'an exit handler cannot wait for the network');
    assert.equal(listFiles(path.join(p.stateDir, 'spool')).length, 1);
    const t = new Telemetry({ product: 'demo', endpoint: c.url, dir: p.dir, stateDir: p.stateDir });
    await t.close();
    assert.deepEqual(c.events.map((e) => e.event), ['didStartServer', 'didUseFeature']);
    assert.equal(t.status().resent, 2);
    assert.deepEqual(await noFilesSoon(path.join(p.stateDir, 'spool')), []);
  } finally {
    await c.close();
    p.cleanup();
  }
});

// held measures, inside the child, how long the host waited for telemetry
// after its own work was done: from the end of the script to the exit event.
const held = `const done = performance.now();
process.on('exit', () => process.stdout.write(JSON.stringify({ heldMs: performance.now() - done }) + '\\n'));`;

test('a black-holed endpoint holds a host that never calls close for the budget at most', () => timed(async () => {
  const p = project();
  const bh = await startBlackHole();
  try {
    const r = await runNode(script(`const t = new Telemetry(${opts(p, bh.url)});
for (let i = 0; i < 10; i++) t.track('didStartServer', { i });
${held}`), { env: p.env });
    assert.equal(r.code, 0, r.stderr);
    const { heldMs } = JSON.parse(r.stdout.trim().split('\n').pop());
    within(heldMs, 350, 'the host\'s wait for telemetry');
    assert.ok(heldMs >= 150, `the host waited ${heldMs.toFixed(0)} ms: beforeExit did not try to send`);
    assert.equal(listFiles(path.join(p.stateDir, 'spool')).length, 1);
  } finally {
    await bh.close();
    p.cleanup();
  }
}));

test('a host awaiting close against a black hole exits within the budget', () => timed(async () => {
  const p = project();
  const bh = await startBlackHole();
  try {
    const r = await runNode(script(`const t = new Telemetry(${opts(p, bh.url)});
for (let i = 0; i < 10; i++) t.track('didStartServer', { i });
${held}
t.close().then(() => console.log(JSON.stringify(t.status())));`), { env: p.env });
    assert.equal(r.code, 0, r.stderr);
    const [status, exit] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(status.spooled, 10);
    within(exit.heldMs, 350, 'the host\'s wait for telemetry');
  } finally {
    await bh.close();
    p.cleanup();
  }
}));

test('a host that never calls close exits by itself, and beforeExit delivers', () => timed(async () => {
  const p = project();
  const c = await startCollector();
  try {
    const r = await runNode(script(`const t = new Telemetry(${opts(p, c.url)});
t.track('didStartServer', { durationMs: 5 });
${held}`), { env: p.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(c.events.length, 1);
    assert.deepEqual(listFiles(path.join(p.stateDir, 'spool')), []);
    const { heldMs } = JSON.parse(r.stdout.trim());
    within(heldMs, 300, 'the host\'s wait for telemetry');
  } finally {
    await c.close();
    p.cleanup();
  }
}));

test('debug mode prints the JSON that would be sent, and sends and writes nothing', async () => {
  const p = project();
  const c = await startCollector();
  try {
    const r = await runNode(script(`const t = new Telemetry(${opts(p, c.url)});
t.track('didStartServer', { durationMs: 5, path: '/home/ada/secret-project' });
t.close();`), { env: { ...p.env, DEMO_TELEMETRY_DEBUG: '1' } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1);
    const ev = JSON.parse(lines[0]);
    assert.equal(ev.event, 'didStartServer');
    assert.deepEqual(ev.properties, { durationMs: 5, path: '[redacted]' });
    assert.equal(c.requests.length, 0);
    assert.deepEqual(listFiles(p.stateDir).filter((f) => f !== 'machine-id'), []);
  } finally {
    await c.close();
    p.cleanup();
  }
});
