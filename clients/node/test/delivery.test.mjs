// What the client does with each answer a collector can give.
import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Telemetry } from '../index.mjs';
import { timed, within } from './helpers/timing.mjs';
import { startCollector, startBlackHole, project, listFiles } from './helpers/collector.mjs';

function client(p, endpoint, extra = {}) {
  // A generous budget where delivery must succeed on a loaded machine; the
  // budget tests set their own.
  return new Telemetry({ product: 'demo', version: '1.2.3', endpoint, dir: p.dir, stateDir: p.stateDir, closeBudget: 5000, ...extra });
}

function balanced(s) {
  assert.equal(s.tracked, s.sent + s.rejected + s.spooled + s.dropped + s.printed, `counts do not add up: ${JSON.stringify(s)}`);
  assert.equal(s.dropped, Object.values(s.droppedBy).reduce((a, b) => a + b, 0));
  assert.equal(s.pending, 0);
}

function spooledEvents(p) {
  return listFiles(path.join(p.stateDir, 'spool')).length;
}

async function withCollector(answer, fn) {
  const p = project();
  const c = await startCollector(answer);
  try {
    await fn(p, c);
  } finally {
    await c.close();
    p.cleanup();
  }
}

test('400: the batch is dropped, counted, and not spooled', () => withCollector(() => ({ status: 400, body: { error: 'events[0].event: expected a name' } }), async (p, c) => {
  const t = client(p, c.url);
  t.track('a');
  t.track('b');
  await t.close();
  const s = t.status();
  assert.equal(c.requests.length, 1);
  assert.equal(s.droppedBy.refused, 2);
  assert.equal(s.spooled, 0);
  assert.match(s.lastError, /collector answered 400: events\[0\]\.event: expected a name/);
  assert.equal(spooledEvents(p), 0);
  balanced(s);
}));

for (const status of [500, 503, 408]) {
  test(`${status}: the events are spooled for the next run`, () => withCollector(() => ({ status, body: { error: 'busy' } }), async (p, c) => {
    const t = client(p, c.url);
    t.track('a');
    await t.close();
    const s = t.status();
    assert.equal(s.spooled, 1);
    assert.match(s.lastError, new RegExp(`collector answered ${status}`));
    assert.equal(spooledEvents(p), 1);
    balanced(s);
  }));
}

test('429 with Retry-After: no second attempt before it, spooled at close', () => withCollector(() => ({ status: 429, headers: { 'Retry-After': '120' }, body: { error: 'slow down' } }), async (p, c) => {
  const t = client(p, c.url);
  t.track('a');
  await t.close();
  assert.equal(c.requests.length, 1);
  assert.equal(t.status().spooled, 1);
  balanced(t.status());
}));

test('a retry honours Retry-After, then delivers', () => withCollector((batch, req, n) => (n === 1 ? { status: 503, headers: { 'Retry-After': '1' } } : undefined) || { status: 202, body: { accepted: batch.events.length, duplicates: 0, rejected: [] } }, async (p, c) => {
  const t = client(p, c.url, { flushInterval: 50 });
  t.track('a');
  const t0 = Date.now();
  while (t.status().sent === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  const waited = Date.now() - t0;
  assert.equal(t.status().sent, 1);
  assert.equal(c.requests.length, 2);
  assert.ok(waited >= 950, `retried after ${waited} ms, before the 1 s Retry-After`);
  assert.equal(c.requests[0].batch.events[0].id, c.requests[1].batch.events[0].id, 'a retry resends the same event id');
  await t.close();
  balanced(t.status());
}));

test('202 with rejections: rejected events are counted and never resent', () => withCollector((batch) => ({ status: 202, body: { accepted: batch.events.length - 1, duplicates: 0, rejected: [{ index: 0, error: 'event "a" is not in the tracking plan' }] } }), async (p, c) => {
  const t = client(p, c.url);
  t.track('a');
  t.track('b');
  await t.close();
  const s = t.status();
  assert.equal(s.sent, 1);
  assert.equal(s.rejected, 1);
  assert.equal(s.dropped, 0, 'a rejected event is counted as rejected, not dropped');
  assert.match(s.lastError, /rejected 1 events, first: event "a" is not in the tracking plan/);
  assert.equal(spooledEvents(p), 0);
  assert.equal(t.recent().length, 2, 'the record holds the batch the collector acknowledged');
  balanced(s);
}));

test('413: the batch is split until it fits', () => withCollector((batch) => (batch.events.length > 1 ? { status: 413, body: { error: 'too large' } } : { status: 202, body: { accepted: 1, duplicates: 0, rejected: [] } }), async (p, c) => {
  const t = client(p, c.url, { closeBudget: 2000 });
  for (let i = 0; i < 4; i++) t.track('e', { i });
  await t.close();
  assert.equal(t.status().sent, 4);
  balanced(t.status());
}));

test('a reset connection: the events are spooled', () => withCollector(() => 'reset', async (p, c) => {
  const t = client(p, c.url);
  t.track('a');
  await t.close();
  assert.equal(t.status().spooled, 1);
  assert.match(t.status().lastError, /cannot send batch/);
  balanced(t.status());
}));

test('a collector that never answers: close keeps its budget', () => timed(() => withCollector(() => 'hang', async (p, c) => {
  const t = client(p, c.url, { closeBudget: 300 });
  t.track('a');
  const t0 = performance.now();
  await t.close();
  const ms = performance.now() - t0;
  within(ms, 320, 'close');
  assert.equal(t.status().spooled, 1);
  balanced(t.status());
})));

test('a black hole with a 50 ms budget: close takes 50 ms', () => timed(async () => {
  const p = project();
  const bh = await startBlackHole();
  try {
    const t = client(p, bh.url, { closeBudget: 50 });
    t.track('a');
    const t0 = performance.now();
    await t.close();
    const ms = performance.now() - t0;
    within(ms, 70, 'close');
    assert.equal(t.status().spooled, 1);
  } finally {
    await bh.close();
    p.cleanup();
  }
}));

for (const status of [301, 302, 303, 307, 308]) {
  test(`${status} redirect: never followed, a failed delivery`, async () => {
    const elsewhere = await startCollector();
    try {
      await withCollector(() => ({ status, headers: { Location: elsewhere.url + '/v1/batch' } }), async (p, c) => {
        const t = client(p, c.url);
        t.track('a', { n: 1 });
        await t.close();
        assert.equal(elsewhere.requests.length, 0, 'nothing reached the other host');
        const s = t.status();
        assert.equal(s.sent, 0);
        assert.equal(s.spooled, 1);
        assert.ok(s.lastError.startsWith(`collector answered ${status}, a redirect to "${elsewhere.url}/v1/batch", which is never followed`), s.lastError);
        assert.deepEqual(t.recent(), []);
        balanced(s);
      });
    } finally {
      await elsewhere.close();
    }
  });
}

test('a full queue drops the newest events and counts them', () => withCollector(undefined, async (p, c) => {
  const t = client(p, c.url, { queueSize: 10 });
  for (let i = 0; i < 25; i++) t.track('e', { i });
  await t.close();
  const s = t.status();
  assert.equal(s.tracked, 25);
  assert.equal(s.droppedBy.queueFull, 15);
  assert.equal(s.sent, 10);
  assert.deepEqual(c.events.map((e) => e.properties.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  balanced(s);
}));

test('invalid event names and values are dropped and counted', () => withCollector(undefined, async (p, c) => {
  const t = client(p, c.url);
  t.track('', {});
  t.track('has space');
  t.track('ok', { good: 1, 'bad key': 1, nested: { a: 1 }, nan: NaN, list: [1, 'a', true], badList: [1, {}], nul: null });
  await t.close();
  const s = t.status();
  assert.equal(s.droppedBy.invalidName, 2);
  assert.equal(s.droppedValues, 5);
  assert.deepEqual(c.events[0].properties, { good: 1, list: [1, 'a', true] });
  balanced(s);
}));

test('properties beyond 64 keys are dropped, in key order', () => withCollector(undefined, async (p, c) => {
  const t = client(p, c.url);
  const props = {};
  for (let i = 0; i < 300; i++) props['k' + String(i).padStart(3, '0')] = i;
  t.track('wide', props);
  await t.close();
  const got = Object.keys(c.events[0].properties);
  assert.equal(got.length, 64);
  assert.equal(got[0], 'k000');
  assert.equal(got[63], 'k063');
  assert.equal(t.status().droppedValues, 300 - 64);
}));
