import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Telemetry } from '../index.mjs';
import { timed, within } from './helpers/timing.mjs';
import { startCollector, startBlackHole, project, listFiles, noFilesSoon } from './helpers/collector.mjs';

const UUID = '7b581c0d-89b7-479e-b379-a76ab90b8754';

function client(p, endpoint, extra = {}) {
  // A generous budget where delivery must succeed on a loaded machine; the
  // budget tests set their own.
  return new Telemetry({ product: 'demo', version: '1.2.3', endpoint, dir: p.dir, stateDir: p.stateDir, closeBudget: 5000, ...extra });
}

function balanced(s) {
  assert.equal(s.tracked, s.sent + s.rejected + s.spooled + s.dropped + s.printed, `counts do not add up: ${JSON.stringify(s)}`);
  assert.equal(s.dropped, Object.values(s.droppedBy).reduce((a, b) => a + b, 0));
}

test('delivers tracked events in one gzip batch at close', async () => {
  const p = project();
  const c = await startCollector();
  try {
    const t = client(p, c.url);
    t.track('didStartServer', { durationMs: 1234, plugins: ['i18n', 'graphql'], email: 'ada@example.com' });
    t.track('didCreateProject');
    await t.close();
    assert.equal(c.requests.length, 1);
    const r = c.requests[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/v1/batch');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(c.events.map((e) => e.event), ['didStartServer', 'didCreateProject']);
    const ev = c.events[0];
    assert.equal(ev.projectId, UUID);
    assert.match(ev.machineId, /^[0-9a-f]{64}$/);
    assert.deepEqual(ev.properties, { durationMs: 1234, email: '[redacted]', plugins: ['i18n', 'graphql'] });
    assert.equal(ev.context.runtime, 'node');
    assert.equal(ev.context.runtimeVersion, process.versions.node);
    assert.equal(ev.context.sdk, 'abacus-node/0.1.0');
    assert.deepEqual(ev.product, { name: 'demo', version: '1.2.3' });
    const s = t.status();
    assert.equal(s.sent, 2);
    assert.equal(s.tracked, 2);
    balanced(s);
    // The record of what was sent is byte for byte what the collector received.
    const sentRaw = JSON.parse(r.body).events.map((e) => JSON.stringify(e));
    assert.deepEqual(t.recent(), sentRaw);
    assert.ok(r.body.includes(t.recent()[0]));
  } finally {
    await c.close();
    p.cleanup();
  }
});

test('track after close is a no-op', async () => {
  const p = project();
  const c = await startCollector();
  try {
    const t = client(p, c.url);
    await t.close();
    t.track('late');
    assert.equal(t.status().tracked, 0);
    await t.close();
    assert.equal(c.events.length, 0);
  } finally {
    await c.close();
    p.cleanup();
  }
});

test('close keeps its budget with a black-holed endpoint, and spools', () => timed(async () => {
  const p = project();
  const bh = await startBlackHole();
  try {
    const t = client(p, bh.url, { closeBudget: 300 });
    for (let i = 0; i < 10; i++) t.track('didStartServer', { n: i });
    const t0 = performance.now();
    await t.close();
    const ms = performance.now() - t0;
    within(ms, 320, 'close');
    assert.ok(bh.accepted() >= 1, 'the request reached the black hole');
    const s = t.status();
    assert.equal(s.spooled, 10);
    balanced(s);
    const files = listFiles(path.join(p.stateDir, 'spool'));
    assert.equal(files.length, 1);
    assert.match(files[0], /^[0-9a-f]{16}\/[0-9]+-[0-9a-f]{8}\.jsonl$/);
    const st = fs.statSync(path.join(p.stateDir, 'spool', files[0]));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(path.join(p.stateDir, 'spool', files[0]))).mode & 0o777, 0o700);
  } finally {
    await bh.close();
    p.cleanup();
  }
}));

test('the next run delivers the spool, then removes it', async () => {
  const p = project();
  const bh = await startBlackHole();
  const c = await startCollector();
  try {
    const t1 = client(p, bh.url, { closeBudget: 300 });
    t1.track('first', { n: 1 });
    await t1.close();
    assert.equal(t1.status().spooled, 1);
    const t2 = client(p, c.url);
    t2.track('second');
    await t2.close();
    assert.deepEqual(c.events.map((e) => e.event).sort(), ['first', 'second']);
    const s = t2.status();
    assert.equal(s.resent, 1);
    assert.equal(s.sent, 1);
    // A delivered spool file is deleted in the background.
    assert.deepEqual(await noFilesSoon(path.join(p.stateDir, 'spool')), []);
  } finally {
    await bh.close();
    await c.close();
    p.cleanup();
  }
});
